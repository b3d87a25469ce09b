/**
 * Auditor grants: which organisations' reports and audit trail an auditor may read. Loaded on
 * every request with the principal, so a revoked grant takes effect at once.
 */
import type { Kysely, Transaction } from 'kysely';
import { recordAuditEvent } from '../audit/record.js';
import type { DB } from '../db/schema.js';
import { AppError } from '../errors.js';
import { isUniqueViolation } from '../db/errors.js';
import { assertOrganizationExists } from './organizations.js';
import { isUuid, newId } from './secrets.js';
import { canonicalUuid, type AuditInfo } from './users.js';

export interface AuditorGrant {
  readonly id: string;
  readonly auditorId: string;
  readonly organizationId: string;
  readonly createdAt: string;
}

function toGrant(row: { id: string; auditor_id: string; organization_id: string; created_at: Date }): AuditorGrant {
  return { id: row.id, auditorId: row.auditor_id, organizationId: row.organization_id, createdAt: new Date(row.created_at).toISOString() };
}

/** Every grant, or those of one auditor or one organisation. */
export async function listAuditorGrants(db: Kysely<DB>, filter: { auditorId?: string; organizationId?: string } = {}): Promise<AuditorGrant[]> {
  let q = db.selectFrom('auditor_grants').selectAll();
  for (const [column, value] of [['auditor_id', filter.auditorId], ['organization_id', filter.organizationId]] as const) {
    if (value === undefined) continue;
    if (!isUuid(value)) return [];
    q = q.where(column, '=', canonicalUuid(value));
  }
  return (await q.orderBy('created_at').orderBy('id').execute()).map(toGrant);
}

/**
 * Grants an auditor read access to an organisation, in the caller's transaction, recording
 * `auditor_grant.created`. Guarantees: the user exists and holds the `auditor` role (422
 * otherwise), the organisation exists (422), a grant is unique (409, also when two requests race).
 */
export async function createAuditorGrant(trx: Transaction<DB>, given: { auditorId: string; organizationId: string }, audit: AuditInfo): Promise<AuditorGrant> {
  const input = { auditorId: canonicalUuid(given.auditorId), organizationId: canonicalUuid(given.organizationId) };
  const auditor = !isUuid(input.auditorId) ? undefined : await trx.selectFrom('users').select(['id', 'roles']).where('id', '=', input.auditorId).executeTakeFirst();
  if (!auditor) throw new AppError('validation-failed', 'No such user', { errors: [{ pointer: '/auditorId', detail: 'no such user' }] });
  if (!auditor.roles.includes('auditor')) throw new AppError('validation-failed', 'The user does not hold the auditor role', { errors: [{ pointer: '/auditorId', detail: 'the user does not hold the auditor role' }] });
  await assertOrganizationExists(trx, input.organizationId, '/organizationId');
  const clash = await trx.selectFrom('auditor_grants').select('id').where('auditor_id', '=', input.auditorId).where('organization_id', '=', input.organizationId).executeTakeFirst();
  // Of the organisation: the auditor exists and may hold grants, but already holds this one.
  const duplicate = (): AppError => new AppError('conflict', 'This auditor already holds a grant for this organisation', { pointer: '/organizationId' });
  if (clash) throw duplicate();
  const row = { id: newId(), auditor_id: input.auditorId, organization_id: input.organizationId, created_at: audit.now, created_by: audit.actor.type === 'user' ? audit.actor.id : null };
  // A concurrent request may have granted the same since the check: the unique index decides.
  try {
    await trx.insertInto('auditor_grants').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicate();
    throw err;
  }
  await recordAuditEvent(trx, { action: 'auditor_grant.created', outcome: 'success', actor: audit.actor, organizationId: input.organizationId, target: { type: 'auditor_grant', id: row.id }, request: audit.request, decision: { auditorId: input.auditorId, organizationId: input.organizationId } }, audit.now);
  return toGrant(row);
}

/** Revokes a grant (404 if unknown), recording `auditor_grant.revoked`. Takes effect on the auditor's next request. */
export async function revokeAuditorGrant(trx: Transaction<DB>, givenId: string, audit: AuditInfo): Promise<void> {
  if (!isUuid(givenId)) throw new AppError('not-found', 'No such grant');
  const id = canonicalUuid(givenId);
  const row = await trx.deleteFrom('auditor_grants').where('id', '=', id).returningAll().executeTakeFirst();
  if (!row) throw new AppError('not-found', 'No such grant');
  await recordAuditEvent(trx, { action: 'auditor_grant.revoked', outcome: 'success', actor: audit.actor, organizationId: row.organization_id, target: { type: 'auditor_grant', id }, request: audit.request, decision: { auditorId: row.auditor_id, organizationId: row.organization_id } }, audit.now);
}
