import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { canonicalJson } from '../util/canonical-json.js';
import { viewOfRow } from './query.js';

export const AUDIT_EXPORT_SCHEMA = 'hipaa-ai-risk/audit-export/1';
/** Most events (of any organisation) one export walks; ask for a narrower range beyond it. */
export const MAX_EXPORT_SPAN = 200_000;

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
  const head = await db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const toSeq = Math.min(range.toSeq ?? head?.seq ?? 0, head?.seq ?? 0);
  let fromSeq = Math.max(range.fromSeq ?? 1, 1);
  if (scope !== 'all' && range.fromSeq === undefined) {
    const first = scope.length === 0 ? undefined : await db.selectFrom('audit_events').select('seq').where('organization_id', 'in', scope).orderBy('seq').limit(1).executeTakeFirst();
    fromSeq = first?.seq ?? toSeq + 1;
  }
  fromSeq = Math.max(fromSeq, toSeq - MAX_EXPORT_SPAN + 1, 1);
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
