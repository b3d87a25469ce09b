/**
 * Users: people with roles in one organisation. Passwords are checked against the policy and
 * hashed before any transaction opens (scrypt takes ~0.1 s and must not hold a connection).
 * Every change bumps what it must: roles, organisation or disabled → `authz_version` (tokens
 * minted before are refused at once); disabled or password reset → every session revoked.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { recordAuditEvent, type AuditActor, type AuditRequestContext } from '../audit/record.js';
import type { DB, UsersTable } from '../db/schema.js';
import { AppError, validationError } from '../errors.js';
import { attemptKeys, claimAttempt, clearLoginFailures, loginLimitedError, withdrawClaim, type LoginLimitSettings } from './login-limits.js';
import { isUniqueViolation } from '../db/errors.js';
import { assertOrganizationExists } from './organizations.js';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import type { Role } from './permissions.js';
import { normalizeRoles } from './principal.js';
import { isUuid, newId } from './secrets.js';
import { normalizeEmail, revokeUserSessions } from './sessions.js';

export interface User {
  readonly id: string;
  readonly organizationId: string;
  readonly email: string;
  readonly name: string | null;
  readonly roles: readonly Role[];
  readonly disabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface AuditInfo {
  readonly actor: AuditActor;
  readonly request: AuditRequestContext | null;
  readonly now: Date;
}

type UserRow = Selectable<UsersTable>;

/**
 * The canonical (lower-case) spelling of a UUID a caller typed. The uuid columns accept any case
 * and answer lower case, but the text columns of the audit trail (organisation, target, decision)
 * compare as typed: every id a caller gives is lower-cased before it is stored, compared or
 * recorded, so `652B…` and `652b…` are one organisation everywhere (and a no-op change is one).
 */
export function canonicalUuid(id: string): string {
  return id.toLowerCase();
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    organizationId: row.organization_id,
    email: row.email,
    name: row.name,
    roles: normalizeRoles(row.roles),
    disabled: row.disabled_at !== null,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/**
 * The known roles of a list, in table order; a 422 at `/roles` if none is left (a user holds one
 * or more roles: with none they could sign in to nothing, and no form or route may store that).
 */
function rolesToStore(given: readonly string[]): Role[] {
  const roles = normalizeRoles(given);
  if (roles.length === 0) throw validationError([{ pointer: '/roles', detail: 'must hold at least one role' }]);
  return roles;
}

/** Throws a 422 on `pointer` listing why the password fails the policy. */
export function assertPasswordPolicy(password: string, email: string | null, pointer: string): void {
  const reasons = checkPasswordPolicy(password, { email });
  if (reasons.length > 0) throw validationError(reasons.map((detail) => ({ pointer, detail: `the password ${detail}` })));
}

/** Every user, or those of one organisation, by e-mail. */
export async function listUsers(db: Kysely<DB>, filter: { organizationId?: string } = {}): Promise<User[]> {
  let q = db.selectFrom('users').selectAll();
  if (filter.organizationId !== undefined) {
    if (!isUuid(filter.organizationId)) return [];
    q = q.where('organization_id', '=', canonicalUuid(filter.organizationId));
  }
  return (await q.orderBy('email').execute()).map(toUser);
}

/** One user, or undefined (also for an id that is not a UUID); the id in any case. */
export async function findUser(db: Kysely<DB> | Transaction<DB>, id: string): Promise<User | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await db.selectFrom('users').selectAll().where('id', '=', canonicalUuid(id)).executeTakeFirst();
  return row ? toUser(row) : undefined;
}

export interface NewUser {
  readonly email: string;
  readonly name?: string | null;
  readonly organizationId: string;
  readonly roles: readonly Role[];
  /** Scrypt hash from `hashPassword` (hash before the transaction). */
  readonly passwordHash: string;
}

/** The longest e-mail address stored (RFC 5321's path limit; migrations/0003_auth.sql checks it). */
export const EMAIL_MAX_LENGTH = 254;

/**
 * Creates a user inside the caller's transaction and records `user.created`. Guarantees: the
 * e-mail is stored normalised and unique (409 `conflict`), the organisation exists (422).
 */
export async function createUser(trx: Transaction<DB>, given: NewUser, audit: AuditInfo): Promise<User> {
  const input = { ...given, organizationId: canonicalUuid(given.organizationId) };
  const email = normalizeEmail(input.email);
  // Counted as stored: lower-casing can lengthen an address (`İ` becomes two code points), past
  // what the request's schema checked and the column holds (a 500 before session 13).
  if ([...email].length > EMAIL_MAX_LENGTH) throw validationError([{ pointer: '/email', detail: `must NOT have more than ${EMAIL_MAX_LENGTH} characters once lower-cased` }]);
  await assertOrganizationExists(trx, input.organizationId, '/organizationId');
  const duplicate = (): AppError => new AppError('conflict', 'A user with this e-mail address already exists', { pointer: '/email' });
  const clash = await trx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
  if (clash) throw duplicate();
  const roles = rolesToStore(input.roles);
  const row = {
    id: newId(),
    organization_id: input.organizationId,
    email,
    name: input.name ?? null,
    password_hash: input.passwordHash,
    roles,
    authz_version: 1,
    disabled_at: null,
    created_at: audit.now,
    updated_at: audit.now,
  };
  // A concurrent request for the same e-mail may have inserted it since the check: the unique
  // index decides, and the loser gets the same 409 as the check gives.
  try {
    await trx.insertInto('users').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicate();
    throw err;
  }
  await recordAuditEvent(
    trx,
    { action: 'user.created', outcome: 'success', actor: audit.actor, organizationId: input.organizationId, target: { type: 'user', id: row.id }, request: audit.request, decision: { email, roles: [...roles], organizationId: input.organizationId } },
    audit.now,
  );
  return toUser(row);
}

export interface UserChanges {
  readonly roles?: readonly Role[];
  readonly disabled?: boolean;
  readonly name?: string | null;
  readonly organizationId?: string;
  /** A new password set by an administrator: scrypt hash (hash before the transaction). */
  readonly passwordHash?: string;
}

/**
 * Key of the transaction-scoped advisory lock that serialises the changes that may remove an
 * enabled administrator (any constant unique to this service; see src/audit/record.ts,
 * src/auth/bootstrap.ts, src/db/migrate.ts for the others).
 */
const ADMINISTRATORS_LOCK = 73_116_405;

async function activeAdminsOtherThan(trx: Transaction<DB>, userId: string): Promise<number> {
  const row = await trx
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('id', '!=', userId)
    .where('disabled_at', 'is', null)
    .where((eb) => eb(eb.val('admin'), '=', eb.fn<string>('any', ['roles'])))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Revokes every auditor grant of a user inside the caller's transaction, recording
 * `auditor_grant.revoked` for each (in the grant's organisation, in grant id order), as
 * `revokeAuditorGrant` does for one.
 */
async function revokeGrantsOf(trx: Transaction<DB>, auditorId: string, audit: AuditInfo): Promise<void> {
  const rows = (await trx.deleteFrom('auditor_grants').where('auditor_id', '=', auditorId).returningAll().execute()).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const row of rows) {
    await recordAuditEvent(trx, { action: 'auditor_grant.revoked', outcome: 'success', actor: audit.actor, organizationId: row.organization_id, target: { type: 'auditor_grant', id: row.id }, request: audit.request, decision: { auditorId: row.auditor_id, organizationId: row.organization_id } }, audit.now);
  }
}

/**
 * Applies an administrator's changes to a user inside the caller's transaction and records
 * `user.updated` (with what changed, never a password), in the user's organisation and, when the
 * user moves, in the previous organisation's too. Guarantees: 404 for an unknown user;
 * 409 if the change would leave no enabled administrator, even under concurrent changes (they are
 * serialised by an advisory lock); roles, organisation or disabled bump
 * `authz_version`; disabling or a password reset revokes every session of the user; removing (or
 * giving) the `auditor` role revokes every grant of the user (`auditor_grant.revoked` each), so a
 * user given the role holds no grant until one is created.
 */
export async function updateUser(trx: Transaction<DB>, givenId: string, given: UserChanges, audit: AuditInfo): Promise<User> {
  if (!isUuid(givenId)) throw new AppError('not-found', 'No such user');
  const id = canonicalUuid(givenId);
  const changes: UserChanges = given.organizationId === undefined ? given : { ...given, organizationId: canonicalUuid(given.organizationId) };
  // A change of roles or a disabling may remove an administrator: such changes run one at a time,
  // so the count below sees every one committed before (READ COMMITTED takes a new snapshot per
  // statement). Locking only the target row would let two administrators demote each other at
  // once, each counting the other as still enabled. Taken before the row lock, so a transaction
  // waiting here holds no lock another one needs.
  if (changes.roles !== undefined || changes.disabled === true) await sql`SELECT pg_advisory_xact_lock(${ADMINISTRATORS_LOCK})`.execute(trx);
  const row = await trx.selectFrom('users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  if (!row) throw new AppError('not-found', 'No such user');
  const before = toUser(row);
  const roles = changes.roles === undefined ? before.roles : rolesToStore(changes.roles);
  const disabled = changes.disabled ?? before.disabled;
  const wasAdmin = before.roles.includes('admin') && !before.disabled;
  const staysAdmin = roles.includes('admin') && !disabled;
  if (wasAdmin && !staysAdmin && (await activeAdminsOtherThan(trx, id)) === 0) {
    // The field that removes the administrator: the roles when they drop `admin`, else the disabling.
    throw new AppError('conflict', 'This change would leave the installation without an enabled administrator', { pointer: roles.includes('admin') ? '/disabled' : '/roles' });
  }
  if (changes.organizationId !== undefined) await assertOrganizationExists(trx, changes.organizationId, '/organizationId');
  const diff: Record<string, unknown> = {};
  if (changes.roles !== undefined && roles.join() !== before.roles.join()) diff.roles = { from: [...before.roles], to: [...roles] };
  if (disabled !== before.disabled) diff.disabled = disabled;
  if (changes.organizationId !== undefined && changes.organizationId !== before.organizationId) diff.organizationId = { from: before.organizationId, to: changes.organizationId };
  if (changes.name !== undefined && changes.name !== before.name) diff.name = true;
  if (changes.passwordHash !== undefined) diff.password = 'reset';
  const authzChanged = 'roles' in diff || 'disabled' in diff || 'organizationId' in diff;
  if (Object.keys(diff).length === 0) return before;
  await trx
    .updateTable('users')
    .set((eb) => ({
      roles: [...roles],
      disabled_at: disabled ? (row.disabled_at ?? audit.now) : null,
      name: changes.name === undefined ? row.name : changes.name,
      organization_id: changes.organizationId ?? row.organization_id,
      password_hash: changes.passwordHash ?? row.password_hash,
      updated_at: audit.now,
      authz_version: authzChanged ? eb('authz_version', '+', 1) : eb.ref('authz_version'),
    }))
    .where('id', '=', id)
    .execute();
  const organizationId = changes.organizationId ?? before.organizationId;
  const updated = { action: 'user.updated', outcome: 'success', actor: audit.actor, target: { type: 'user', id }, request: audit.request, decision: { changes: diff } } as const;
  await recordAuditEvent(trx, { ...updated, organizationId }, audit.now);
  // A user who leaves an organisation is a change of that organisation too: its auditors must see
  // them go, so the same event is also written in the previous organisation's trail.
  if ('organizationId' in diff) await recordAuditEvent(trx, { ...updated, organizationId: before.organizationId }, audit.now);
  // Grants are kept only while the user is an auditor: giving the role back must not silently
  // restore every organisation granted before (grants are then made anew, each recorded). When
  // the role is given, any grant still there is such a leftover (grants need the role; a removal
  // before this rule kept them), so it goes too.
  if (before.roles.includes('auditor') !== roles.includes('auditor')) await revokeGrantsOf(trx, id, audit);
  // After the change it follows from, each session it ends is recorded on its own.
  if (disabled && !before.disabled) await revokeUserSessions(trx, { id, organizationId }, 'user_disabled', audit);
  else if (changes.passwordHash !== undefined) await revokeUserSessions(trx, { id, organizationId }, 'password_reset', audit);
  return (await findUser(trx, id))!;
}

/**
 * A user changes their own password. Guarantees:
 * - the current password is a password guess like a sign-in: once the brute-force limits of its
 *   account or client IP are reached (failed sign-ins and wrong current passwords count alike,
 *   src/auth/login-limits.ts) it is refused with the sign-in's 429 and Retry-After, even when
 *   right; a wrong one is counted against both and refused with 401 (no more said than a failed
 *   sign-in says). The caller records both as denials;
 * - the new password must differ from the current one and pass the policy (422), checked before
 *   any scrypt and any count: the same password again changed nothing, yet cost two hashes,
 *   recorded an event and ended the other sessions, so a loop of it slowed every sign-in;
 * - every other session of the user is revoked; the account's failure counter is cleared;
 *   `user.password_changed` is recorded.
 * The route also limits successful changes per user (`password` in src/http/rate-limit).
 */
export async function changeOwnPassword(
  db: Kysely<DB>,
  input: { userId: string; sessionId?: string; currentPassword: string; newPassword: string; cost: number; limits: LoginLimitSettings },
  audit: AuditInfo,
): Promise<void> {
  const row = await db.selectFrom('users').select(['email', 'password_hash', 'organization_id']).where('id', '=', input.userId).executeTakeFirstOrThrow();
  // Compared as scrypt sees them (NFC), so a differently composed "new" password is the same one.
  if (input.newPassword.normalize('NFC') === input.currentPassword.normalize('NFC')) throw validationError([{ pointer: '/newPassword', detail: 'the new password must differ from the current password' }]);
  assertPasswordPolicy(input.newPassword, row.email, '/newPassword');
  const keys = attemptKeys(row.email, audit.request?.ip);
  // Counted on arrival, a failure unless the current password is right (src/auth/login-limits.ts).
  const limit = await claimAttempt(db, keys, input.limits, audit.now);
  if (limit.limited) throw loginLimitedError(limit.retryAfterSeconds);
  if (!(await verifyPassword(input.currentPassword, row.password_hash))) throw new AppError('unauthenticated', 'The current password is not correct');
  // The current password was right: whatever happens next, the guess was no failure.
  await db.transaction().execute((trx) => withdrawClaim(trx, limit.claim));
  const hash = await hashPassword(input.newPassword, input.cost);
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ password_hash: hash, updated_at: audit.now }).where('id', '=', input.userId).execute();
    await clearLoginFailures(trx, keys[0]);
    await recordAuditEvent(trx, { action: 'user.password_changed', outcome: 'success', actor: audit.actor, organizationId: audit.actor.organizationId, target: { type: 'user', id: input.userId }, request: audit.request, decision: { userId: input.userId } }, audit.now);
    await revokeUserSessions(trx, { id: input.userId, organizationId: row.organization_id }, 'password_changed', audit, input.sessionId);
  });
}
