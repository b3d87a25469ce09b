import type { Kysely, Selectable } from 'kysely';
import type { AuditEventsTable, DB } from '../db/schema.js';
import { canonicalJson } from '../util/canonical-json.js';
import { verifyReport } from '../signing/jws.js';
import { assertDecision } from './events.js';
import { GENESIS_HASH, hashEventContent, type AuditEventContent } from './record.js';
import { checkpointPayloadBytes, type CheckpointRecord } from './checkpoint.js';

export type AuditEventRow = Selectable<AuditEventsTable>;

/** Rebuilds the hashed content of a stored event from its columns. */
export function contentOfRow(row: AuditEventRow): AuditEventContent {
  return {
    seq: row.seq,
    occurredAt: row.occurred_at.toISOString(),
    action: row.action,
    outcome: row.outcome,
    actor: { type: row.actor_type, id: row.actor_id, role: row.actor_role, organizationId: row.actor_organization_id },
    organizationId: row.organization_id,
    target: row.target_type !== null && row.target_id !== null ? { type: row.target_type, id: row.target_id } : null,
    request: { id: row.request_id, ip: row.source_ip, userAgent: row.user_agent },
    inputSha256: row.input_sha256,
    decision: JSON.parse(row.decision_canonical) as unknown,
    prevHash: row.prev_hash,
  };
}

export interface ChainVerification {
  readonly valid: boolean;
  readonly checkedEvents: number;
  readonly checkedCheckpoints: number;
  readonly head: { readonly seq: number; readonly hash: string } | null;
  /** The first sequence number at which the chain is broken, null when valid. */
  readonly brokenAt: number | null;
  readonly reason: string | null;
}

/**
 * One step of the walk: checks an event against its predecessor. Returns the reason it is
 * broken, or null. Shared by the database walk and the offline export check.
 */
export function checkEvent(row: AuditEventRow, expectedSeq: number, prevHash: string): string | null {
  if (row.seq !== expectedSeq) return row.seq > expectedSeq ? `event ${expectedSeq} is missing (next is ${row.seq})` : `event ${row.seq} is out of order`;
  if (row.prev_hash !== prevHash) return `event ${row.seq} does not link to the previous event's hash`;
  let decision: unknown;
  try {
    decision = JSON.parse(row.decision_canonical);
  } catch {
    return `event ${row.seq} has an unreadable decision`;
  }
  if (canonicalJson(row.decision) !== row.decision_canonical) return `event ${row.seq}: the queryable decision differs from the hashed one`;
  try {
    assertDecision(row.action, decision);
  } catch (err) {
    return `event ${row.seq}: ${(err as Error).message}`;
  }
  if (hashEventContent(contentOfRow(row)) !== row.hash) return `event ${row.seq}: content does not match its hash (changed after it was written)`;
  return null;
}

/**
 * Walks the whole chain in sequence order (in pages, so memory stays flat) and then every signed
 * checkpoint. Detects a changed field, a removed or reordered event, and a truncated or rewritten
 * tail (a checkpoint past the head, or whose hash no longer matches the event at its seq).
 * `jwks` holds the report-signing public keys the checkpoints are checked against.
 *
 * Safe on a live system: the walk is bounded by the highest sequence number present when it
 * starts (read after the checkpoints, so every checkpoint read is at or below it). Events
 * appended while it runs are left to the next verification instead of being counted as
 * unlinked. Writers commit in sequence order (they hold the chain-head lock until commit), so
 * every event up to that bound is already visible. No long transaction is held, so on the
 * embedded database (one connection) writers are not blocked for the length of the walk.
 */
/** A chain head kept outside the database (a logged checkpoint's `anchor`, `seq:hash`). */
export interface ChainAnchor {
  readonly seq: number;
  readonly hash: string;
}

/** Parses an anchor as `logCheckpoint` writes it (`seq:hash`), or returns null. */
export function parseAnchor(text: string): ChainAnchor | null {
  const m = /^([1-9]\d{0,14}):([0-9a-f]{64})$/.exec(text.trim());
  return m ? { seq: Number(m[1]), hash: m[2]! } : null;
}

/**
 * Walks the chain and its checkpoints (as below) and checks each anchor kept outside the database:
 * the event at its `seq` must exist and have its hash. A chain cut short before an anchor, or
 * rewritten up to it, is detected even when the checkpoint rows were deleted with the events.
 */
export async function verifyAuditChain(db: Kysely<DB>, jwks: unknown, pageSize = 1000, anchors: readonly ChainAnchor[] = []): Promise<ChainVerification> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let checked = 0;
  const hashes = new Map<number, string>();
  const checkpoints = await db.selectFrom('audit_checkpoints').selectAll().orderBy('id').execute();
  const checkpointSeqs = new Set([...checkpoints.map((c) => c.seq), ...anchors.map((a) => a.seq)]);
  const top = await db.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  const bound = top?.seq === null || top?.seq === undefined ? 0 : Number(top.seq);
  for (;;) {
    const rows = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .where('seq', '<=', bound)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      const problem = checkEvent(row, expectedSeq, prevHash);
      if (problem) return { valid: false, checkedEvents: checked, checkedCheckpoints: 0, head: checked > 0 ? { seq: expectedSeq - 1, hash: prevHash } : null, brokenAt: expectedSeq, reason: problem };
      if (checkpointSeqs.has(row.seq)) hashes.set(row.seq, row.hash);
      prevHash = row.hash;
      expectedSeq += 1;
      checked += 1;
    }
    if (rows.length < pageSize) break;
  }
  // A reordered table can hide events below `expectedSeq`: make sure none remain unread.
  const total = await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('seq', '<=', bound).executeTakeFirstOrThrow();
  if (Number(total.n) !== checked) {
    return { valid: false, checkedEvents: checked, checkedCheckpoints: 0, head: { seq: expectedSeq - 1, hash: prevHash }, brokenAt: expectedSeq, reason: `the table holds ${Number(total.n)} events but the chain links only ${checked}` };
  }
  const head = checked > 0 ? { seq: expectedSeq - 1, hash: prevHash } : null;
  let checkedCheckpoints = 0;
  for (const cp of checkpoints) {
    const problem = await checkCheckpoint(cp, hashes.get(cp.seq), head, jwks);
    if (problem) return { valid: false, checkedEvents: checked, checkedCheckpoints, head, brokenAt: Math.min(cp.seq, (head?.seq ?? 0) + 1), reason: problem };
    checkedCheckpoints += 1;
  }
  for (const anchor of [...anchors].sort((a, b) => a.seq - b.seq)) {
    const at = hashes.get(anchor.seq);
    const broken = (reason: string): ChainVerification => ({ valid: false, checkedEvents: checked, checkedCheckpoints, head, brokenAt: Math.min(anchor.seq, (head?.seq ?? 0) + 1), reason });
    if (at === undefined) return broken(`the chain ends at event ${head?.seq ?? 0}, before the anchor kept for event ${anchor.seq}: events were removed`);
    if (at !== anchor.hash) return broken(`event ${anchor.seq} has hash ${at}, not the ${anchor.hash} of the anchor kept for it: the chain was rewritten`);
  }
  return { valid: true, checkedEvents: checked, checkedCheckpoints, head, brokenAt: null, reason: null };
}

/** Checks one checkpoint: its signature, its payload, and that the chain still holds its head. */
export async function checkCheckpoint(cp: CheckpointRecord, hashAtSeq: string | undefined, head: { seq: number; hash: string } | null, jwks: unknown): Promise<string | null> {
  const bytes = checkpointPayloadBytes({ seq: cp.seq, hash: cp.hash, createdAt: cp.created_at.toISOString() });
  if (Buffer.from(cp.payload, 'utf8').compare(bytes) !== 0) return `checkpoint ${cp.id}: its payload does not match its fields`;
  const sig = await verifyReport(bytes, cp.jws, jwks);
  if (!sig.valid) return `checkpoint ${cp.id}: signature invalid (${sig.reason})`;
  if (head === null || head.seq < cp.seq) return `checkpoint ${cp.id} signed event ${cp.seq}, but the chain ends at ${head?.seq ?? 0}: events were removed from the tail`;
  if (hashAtSeq !== cp.hash) return `checkpoint ${cp.id}: event ${cp.seq} no longer has the hash that was signed (the chain was rewritten)`;
  return null;
}
