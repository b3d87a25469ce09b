import type { Kysely, Selectable } from 'kysely';
import type { AuditCheckpointsTable, DB } from '../db/schema.js';
import { signReport, type ReportSigningKey } from '../signing/jws.js';
import type { Logger } from '../logging/logger.js';
import { canonicalJsonBytes } from '../util/canonical-json.js';
import { lockAuditHead, recordAuditEvent, SYSTEM_ACTOR, type AuditActor, type AuditRequestContext } from './record.js';

export type CheckpointRecord = Selectable<AuditCheckpointsTable>;

export const CHECKPOINT_SCHEMA = 'hipaa-ai-risk/audit-checkpoint/1';

/** The exact bytes a checkpoint signs: canonical JSON of the schema, head seq, head hash and time. */
export function checkpointPayloadBytes(head: { seq: number; hash: string; createdAt: string }): Buffer {
  return canonicalJsonBytes({ schema: CHECKPOINT_SCHEMA, seq: head.seq, hash: head.hash, createdAt: head.createdAt });
}

/**
 * Signs the current chain head with the report-signing key and stores the checkpoint, then
 * records an `audit.checkpoint.created` event (which becomes the new head). Returns null when the
 * chain is empty or the head is already checkpointed (nothing new to sign).
 */
export async function createCheckpoint(
  db: Kysely<DB>,
  key: ReportSigningKey,
  options: { now?: Date; actor?: AuditActor; request?: AuditRequestContext | null; force?: boolean } = {},
): Promise<CheckpointRecord | null> {
  const now = options.now ?? new Date();
  return db.transaction().execute(async (trx) => {
    await lockAuditHead(trx);
    const head = await trx.selectFrom('audit_events').select(['seq', 'hash', 'action']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    if (!head) return null;
    const last = await trx.selectFrom('audit_checkpoints').select(['seq']).orderBy('id', 'desc').limit(1).executeTakeFirst();
    // The previous checkpoint's own event is the head: nothing happened since.
    if (!options.force && last && (last.seq === head.seq || (last.seq === head.seq - 1 && head.action === 'audit.checkpoint.created'))) return null;
    const createdAt = now.toISOString();
    const payload = checkpointPayloadBytes({ seq: head.seq, hash: head.hash, createdAt });
    const jws = await signReport(payload, key);
    const row = await trx
      .insertInto('audit_checkpoints')
      .values({ seq: head.seq, hash: head.hash, created_at: now, payload: payload.toString('utf8'), jws, kid: key.kid })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAuditEvent(
      trx,
      {
        action: 'audit.checkpoint.created',
        outcome: 'success',
        actor: options.actor ?? SYSTEM_ACTOR,
        organizationId: null,
        target: { type: 'audit_checkpoint', id: String(row.id) },
        request: options.request ?? null,
        decision: { seq: head.seq, hash: head.hash, kid: key.kid },
      },
      now,
    );
    return row;
  });
}

/**
 * Logs a signed checkpoint: a copy outside the database, where its owner cannot reach it (ship the
 * service's logs to another system). Its `anchor` (`seq:hash`) is what `audit-verify --anchor`
 * takes back: a chain cut short before it, or rewritten up to it, is then detected even if the
 * checkpoint rows themselves were deleted.
 */
export function logCheckpoint(logger: Pick<Logger, 'info'>, cp: CheckpointRecord): void {
  logger.info(
    { auditCheckpoint: { seq: cp.seq, hash: cp.hash, createdAt: new Date(cp.created_at).toISOString(), kid: cp.kid, jws: cp.jws }, anchor: `${cp.seq}:${cp.hash}` },
    'audit checkpoint signed',
  );
}
