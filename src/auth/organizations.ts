/**
 * Organisations: the tenants. Every user, API client, assessment and report belongs to exactly
 * one; an auditor reads others only through grants. Administered installation-wide (docs/auth.md).
 */
import type { Kysely, Transaction } from 'kysely';
import { recordAuditEvent, type AuditActor, type AuditRequestContext } from '../audit/record.js';
import type { DB } from '../db/schema.js';
import { AppError } from '../errors.js';
import { isUuid, newId } from './secrets.js';
import { isUniqueViolation } from '../db/errors.js';

export interface Organization {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

function toOrganization(row: { id: string; name: string; created_at: Date }): Organization {
  return { id: row.id, name: row.name, createdAt: new Date(row.created_at).toISOString() };
}

/** Every organisation, by name. */
export async function listOrganizations(db: Kysely<DB>): Promise<Organization[]> {
  const rows = await db.selectFrom('organizations').selectAll().orderBy('name').orderBy('id').execute();
  return rows.map(toOrganization);
}

/**
 * Creates an organisation inside the caller's transaction and records `organization.created`.
 * Guarantees: names are unique case-insensitively (409 `conflict` otherwise, also when two
 * requests for one name race: the unique index decides).
 */
export async function createOrganization(trx: Transaction<DB>, input: { name: string }, audit: { actor: AuditActor; request: AuditRequestContext | null; now: Date }): Promise<Organization> {
  const name = input.name.trim();
  const duplicate = (): AppError => new AppError('conflict', 'An organisation with this name already exists', { pointer: '/name' });
  const clash = await trx.selectFrom('organizations').select('id').where((eb) => eb(eb.fn('lower', ['name']), '=', name.toLowerCase())).executeTakeFirst();
  if (clash) throw duplicate();
  const row = { id: newId(), name, created_at: audit.now };
  // A concurrent request may have inserted the name since the check: the unique index decides.
  try {
    await trx.insertInto('organizations').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicate();
    throw err;
  }
  await recordAuditEvent(trx, { action: 'organization.created', outcome: 'success', actor: audit.actor, organizationId: row.id, target: { type: 'organization', id: row.id }, request: audit.request, decision: { name } }, audit.now);
  return toOrganization(row);
}

/** Throws a 422 naming `pointer` unless the organisation exists. */
export async function assertOrganizationExists(trx: Transaction<DB> | Kysely<DB>, organizationId: string, pointer: string): Promise<void> {
  const row = isUuid(organizationId) ? await trx.selectFrom('organizations').select('id').where('id', '=', organizationId).executeTakeFirst() : undefined;
  if (!row) throw new AppError('validation-failed', 'No such organisation', { errors: [{ pointer, detail: 'no such organisation' }] });
}
