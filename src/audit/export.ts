import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { canonicalJson } from '../util/canonical-json.js';
import { viewOfRow } from './query.js';

export const AUDIT_EXPORT_SCHEMA = 'hipaa-ai-risk/audit-export/1';
/** Most events (of any organisation) one export walks; ask for a narrower range beyond it. */
export const MAX_EXPORT_SPAN = 200_000;

/** The range an export covers, as its header states it; `fromSeq` is `toSeq + 1` when it holds no event. */
export interface ExportRange {
  readonly fromSeq: number;
  readonly toSeq: number;
}

/**
 * The range `exportAuditTrail` exports for a requested one: `toSeq` at most the head; `fromSeq`
 * by default the scope's first event (past `toSeq` when the scope has none), and the range at
 * most MAX_EXPORT_SPAN events long.
 */
export async function resolveExportRange(db: Kysely<DB>, scope: 'all' | readonly string[], range: { fromSeq?: number; toSeq?: number } = {}): Promise<ExportRange> {
  const head = await db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const toSeq = Math.min(range.toSeq ?? head?.seq ?? 0, head?.seq ?? 0);
  let fromSeq = Math.max(range.fromSeq ?? 1, 1);
  if (scope !== 'all' && range.fromSeq === undefined) {
    const first = scope.length === 0 ? undefined : await db.selectFrom('audit_events').select('seq').where('organization_id', 'in', scope).orderBy('seq').limit(1).executeTakeFirst();
    fromSeq = first?.seq ?? toSeq + 1;
  }
  fromSeq = Math.max(fromSeq, toSeq - MAX_EXPORT_SPAN + 1, 1);
  return { fromSeq, toSeq };
}

/**
 * How many `event` lines (content of the scope's events) and `link` lines (hashes only) an
 * export of `range` (as resolved) holds: what the `audit.exported` event records, before a byte
 * leaves. Events up to a signed checkpoint never change (append-only, linked at commit).
 */
export async function countExportLines(db: Kysely<DB>, scope: 'all' | readonly string[], range: ExportRange): Promise<{ events: number; links: number }> {
  if (range.fromSeq > range.toSeq) return { events: 0, links: 0 };
  const inRange = db.selectFrom('audit_events').where('seq', '>=', range.fromSeq).where('seq', '<=', range.toSeq);
  const total = Number((await inRange.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  if (scope === 'all') return { events: total, links: 0 };
  const events = scope.length === 0 ? 0 : Number((await inRange.where('organization_id', 'in', scope).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return { events, links: total - events };
}

/**
 * Exports the trail as JSON Lines with its chain proof, for offline verification:
 * - a `header` line (schema, scope, seq range, the hash preceding the range);
 * - for every event in the range: an `event` line (full content and hash) when it belongs to the
 *   scope, else a `link` line (seq, prevHash, hash only: other organisations' content withheld);
 * - every signed `checkpoint` within the range.
 * Anyone holding the export and the JWKS can recompute each event's hash, check every link, and
 * check the checkpoints' signatures (`hipaa-ai-risk audit-verify-export`).
 */
export async function* exportAuditTrail(db: Kysely<DB>, scope: 'all' | readonly string[], range: { fromSeq?: number; toSeq?: number } = {}): AsyncGenerator<string> {
  const { fromSeq, toSeq } = await resolveExportRange(db, scope, range);
  const before = fromSeq > 1 ? await db.selectFrom('audit_events').select('hash').where('seq', '=', fromSeq - 1).executeTakeFirst() : undefined;
  yield canonicalJson({
    type: 'header',
    schema: AUDIT_EXPORT_SCHEMA,
    scope: scope === 'all' ? 'all' : [...scope].sort(),
    fromSeq,
    toSeq,
    prevHash: fromSeq === 1 ? '0'.repeat(64) : (before?.hash ?? null),
  }) + '\n';
  const inScope = (org: string | null): boolean => scope === 'all' || (org !== null && scope.includes(org));
  let next = fromSeq;
  while (next <= toSeq) {
    const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>=', next).where('seq', '<=', toSeq).orderBy('seq').limit(1000).execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      yield inScope(row.organization_id)
        ? canonicalJson({ type: 'event', ...viewOfRow(row) }) + '\n'
        : canonicalJson({ type: 'link', seq: row.seq, prevHash: row.prev_hash, hash: row.hash }) + '\n';
    }
    next = rows.at(-1)!.seq + 1;
  }
  const checkpoints = await db.selectFrom('audit_checkpoints').selectAll().where('seq', '>=', fromSeq).where('seq', '<=', toSeq).orderBy('id').execute();
  for (const cp of checkpoints) {
    yield canonicalJson({ type: 'checkpoint', id: cp.id, seq: cp.seq, hash: cp.hash, createdAt: cp.created_at.toISOString(), payload: cp.payload, jws: cp.jws, kid: cp.kid }) + '\n';
  }
}
