import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { signReport, type ReportSigningKey } from '../signing/jws.js';
import { canonicalJson, canonicalJsonBytes } from '../util/canonical-json.js';
import { viewOfRow } from './query.js';

export const AUDIT_EXPORT_SCHEMA = 'hipaa-ai-risk/audit-export/1';
/** Most events (of any organisation) one export walks; ask for a narrower range beyond it. */
export const MAX_EXPORT_SPAN = 200_000;

/** The `type` of the manifest an export's last line signs (never a line of its own). */
export const AUDIT_EXPORT_MANIFEST_TYPE = 'audit-export';

/**
 * What the export's final `signature` line signs: the SHA-256 of every byte before that line
 * (header, events, links, checkpoints, each with its newline), how many lines those are, and the
 * scope and range the header states.
 */
export interface AuditExportManifest {
  readonly sha256: string;
  readonly scope: 'all' | readonly string[];
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly lines: number;
}

/**
 * The exact bytes the export's signature line signs: canonical JSON (RFC 8785) of
 * `{type: "audit-export", sha256, scope, fromSeq, toSeq, lines}`. Distinct from a checkpoint's
 * payload (which has a `schema` and no `type`), so neither signature can stand for the other.
 */
export function exportManifestBytes(manifest: AuditExportManifest): Buffer {
  return canonicalJsonBytes({ type: AUDIT_EXPORT_MANIFEST_TYPE, sha256: manifest.sha256, scope: manifest.scope, fromSeq: manifest.fromSeq, toSeq: manifest.toSeq, lines: manifest.lines });
}

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
    // The scope's first event comes after the range's end: the range holds none of its events.
    if (fromSeq > toSeq + 1) fromSeq = toSeq + 1;
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
 * - every signed `checkpoint` within the range;
 * - last, a `signature` line: `sha256` (hex SHA-256 of every byte before this line), `scope`,
 *   `fromSeq`, `toSeq`, `lines` (how many lines precede it), `kid` and `jws`, a detached JWS by
 *   `key` (the report-signing key, as for checkpoints) over `exportManifestBytes` of those fields.
 *   It authenticates what the chain alone cannot: the hashes of `link` lines (whose content is
 *   withheld), the header's range, and that nothing was dropped or added.
 * The hash is computed over each line as it is yielded (the export streams); every line is
 * UTF-8 text ending with "\n", and the caller must send the strings exactly as yielded.
 * Anyone holding the export and the JWKS can recompute each event's hash, check every link, the
 * checkpoints' and the export's signatures (`hipaa-ai-risk audit-verify-export`).
 */
export async function* exportAuditTrail(db: Kysely<DB>, scope: 'all' | readonly string[], range: { fromSeq?: number; toSeq?: number }, key: ReportSigningKey): AsyncGenerator<string> {
  const { fromSeq, toSeq } = await resolveExportRange(db, scope, range);
  const before = fromSeq > 1 ? await db.selectFrom('audit_events').select('hash').where('seq', '=', fromSeq - 1).executeTakeFirst() : undefined;
  const headerScope = scope === 'all' ? 'all' : [...scope].sort();
  const sha256 = createHash('sha256');
  let lines = 0;
  const line = (value: unknown): string => {
    const text = canonicalJson(value) + '\n';
    sha256.update(text, 'utf8');
    lines += 1;
    return text;
  };
  yield line({
    type: 'header',
    schema: AUDIT_EXPORT_SCHEMA,
    scope: headerScope,
    fromSeq,
    toSeq,
    prevHash: fromSeq === 1 ? '0'.repeat(64) : (before?.hash ?? null),
  });
  const inScope = (org: string | null): boolean => scope === 'all' || (org !== null && scope.includes(org));
  let next = fromSeq;
  while (next <= toSeq) {
    const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>=', next).where('seq', '<=', toSeq).orderBy('seq').limit(1000).execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      yield inScope(row.organization_id) ? line({ type: 'event', ...viewOfRow(row) }) : line({ type: 'link', seq: row.seq, prevHash: row.prev_hash, hash: row.hash });
    }
    next = rows.at(-1)!.seq + 1;
  }
  const checkpoints = await db.selectFrom('audit_checkpoints').selectAll().where('seq', '>=', fromSeq).where('seq', '<=', toSeq).orderBy('id').execute();
  for (const cp of checkpoints) {
    yield line({ type: 'checkpoint', id: cp.id, seq: cp.seq, hash: cp.hash, createdAt: cp.created_at.toISOString(), payload: cp.payload, jws: cp.jws, kid: cp.kid });
  }
  const manifest: AuditExportManifest = { sha256: sha256.digest('hex'), scope: headerScope, fromSeq, toSeq, lines };
  const jws = await signReport(exportManifestBytes(manifest), key);
  yield canonicalJson({ type: 'signature', ...manifest, kid: key.kid, jws }) + '\n';
}
