/**
 * Reading the audit trail in tests: the chain head's sequence number, and the events written after
 * it, straight from `audit_events` (what a test's requests recorded, in chain order).
 */
import type { AuditEventInput } from '../../src/audit/record.js';
import type { Database } from '../../src/db/database.js';

/** One stored event, as the columns the tests compare. */
export interface AuditRow {
  readonly seq: number;
  readonly action: string;
  readonly outcome: string;
  readonly actor_type: string;
  readonly actor_id: string | null;
  readonly actor_role: string | null;
  readonly organization_id: string | null;
  readonly target_type: string | null;
  readonly target_id: string | null;
  readonly input_sha256: string | null;
  readonly decision: Record<string, unknown>;
}

/** The sequence number of the newest event (0 for an empty trail). */
export async function auditHead(database: Pick<Database, 'raw'>): Promise<number> {
  return (await database.raw.query<{ seq: number }>('SELECT coalesce(max(seq), 0)::int AS seq FROM audit_events'))[0]!.seq;
}

/** The events after `seq`, oldest first. */
export function auditEventsAfter(database: Pick<Database, 'raw'>, seq: number): Promise<AuditRow[]> {
  return database.raw.query<AuditRow>(
    'SELECT seq, action, outcome, actor_type, actor_id, actor_role, organization_id, target_type, target_id, input_sha256, decision FROM audit_events WHERE seq > $1 ORDER BY seq',
    [seq],
  );
}

/** A report download by auditor `user-<i>` of organisation `org-a`: a filler event for chain tests. */
export function sampleDownloadEvent(i: number): AuditEventInput {
  return {
    action: 'report.downloaded',
    outcome: 'success',
    actor: { type: 'user', id: `user-${i}`, role: 'auditor', organizationId: 'org-a' },
    organizationId: 'org-a',
    target: { type: 'report', id: `report-${i}` },
    request: { id: `req-${i}`, ip: '127.0.0.1', userAgent: 'jest' },
    inputSha256: null,
    decision: { format: 'json', sha256: 'a'.repeat(64) },
  };
}
