/**
 * From a verified token to a principal, re-checked against the database on every request: a
 * token proves who signed in and when, not that they still may. So, at once and whatever the
 * token's remaining lifetime:
 * - a disabled user, a revoked or rotated API client, is refused;
 * - a user whose roles, organisation or password changed since the token was minted is refused
 *   (the token's `av` no longer equals the user's `authz_version`);
 * - a session that was logged out, revoked (refresh-token reuse), idle too long or past its
 *   absolute lifetime is refused;
 * - a client token's scopes are intersected with the client's current scopes (scopes only narrow).
 */
import { ROLES, SCOPES, type Principal, type Role, type Scope } from './permissions.js';
import type { AuthContext } from './context.js';
import type { ClientClaims, SessionClaims } from './tokens.js';
import { hmac, isUuid } from './secrets.js';

/** A session's `last_seen_at` is written at most this often (idle-timeout granularity). */
export const SESSION_TOUCH_INTERVAL_MS = 60_000;

/**
 * How stale `last_seen_at` may get before a request writes it: SESSION_TOUCH_INTERVAL_MS, but at
 * most a quarter of the idle timeout. Guarantee: a session used at least every idle/2 never
 * expires for idleness, since the stored time then lags the last use by less than idle/4 and
 * idle/4 + idle/2 < idle. (With 60 s either way and SESSION_IDLE_TIMEOUT_SECONDS=60, a session
 * used every 15 s was refused at ~60 s: nothing had been written since the sign-in.)
 */
export function sessionTouchIntervalMs(idleTimeoutSeconds: number): number {
  return Math.min(SESSION_TOUCH_INTERVAL_MS, Math.floor((idleTimeoutSeconds * 1000) / 4));
}

/** Why a principal could not be loaded (for the audit trail; the caller only sees 401). */
export type PrincipalRefusal = 'user_unknown' | 'user_disabled' | 'authz_changed' | 'session_revoked' | 'session_expired' | 'session_idle' | 'client_revoked';

/** A verified token whose principal may no longer act (the caller answers 401; `reason` goes to the audit trail). */
export class PrincipalRefused extends Error {
  constructor(readonly reason: PrincipalRefusal) {
    super(`credentials no longer valid: ${reason}`);
    this.name = 'PrincipalRefused';
  }
}

/** The CSRF token of a session: HMAC-SHA256 of its id under the session's own key. */
export function csrfTokenFor(session: { id: string; csrf_key: string }): string {
  return hmac(session.csrf_key, `csrf:${session.id}`);
}

/** Keeps only known roles, in table order. */
export function normalizeRoles(roles: readonly string[]): Role[] {
  return ROLES.filter((r) => roles.includes(r));
}

/** Keeps only known scopes, in table order. */
export function normalizeScopes(scopes: readonly string[]): Scope[] {
  return SCOPES.filter((s) => scopes.includes(s));
}

/** The organisations an auditor was granted, sorted. */
export async function grantedOrganizations(ctx: AuthContext, userId: string): Promise<string[]> {
  const rows = await ctx.database.db.selectFrom('auditor_grants').select('organization_id').where('auditor_id', '=', userId).orderBy('organization_id').execute();
  return rows.map((r) => r.organization_id);
}

/**
 * Loads the user principal of a verified session token. Guarantees: returns only if the user
 * exists and is enabled, its authz_version equals the token's, its organisation is the token's,
 * and the session belongs to it, is not revoked, and is within its absolute and idle limits;
 * throws `PrincipalRefused` otherwise. Also returns the session's CSRF token, and records the
 * session as seen (at most once a minute, or every quarter of the idle timeout if shorter).
 */
export async function loadUserPrincipal(ctx: AuthContext, claims: SessionClaims): Promise<{ principal: Principal; csrfToken: string }> {
  if (!isUuid(claims.sub) || !isUuid(claims.sid)) throw new PrincipalRefused('user_unknown');
  const now = ctx.clock();
  const row = await ctx.database.db
    .selectFrom('users as u')
    .innerJoin('auth_sessions as s', 's.user_id', 'u.id')
    .innerJoin('organizations as o', 'o.id', 'u.organization_id')
    .select(['u.id', 'u.organization_id', 'o.name as organization_name', 'u.email', 'u.roles', 'u.authz_version', 'u.disabled_at', 's.id as session_id', 's.csrf_key', 's.revoked_at', 's.absolute_expires_at', 's.last_seen_at'])
    .where('u.id', '=', claims.sub)
    .where('s.id', '=', claims.sid)
    .executeTakeFirst();
  if (!row) throw new PrincipalRefused('user_unknown');
  if (row.disabled_at !== null) throw new PrincipalRefused('user_disabled');
  if (row.authz_version !== claims.av || row.organization_id !== claims.org) throw new PrincipalRefused('authz_changed');
  if (row.revoked_at !== null) throw new PrincipalRefused('session_revoked');
  if (new Date(row.absolute_expires_at).getTime() <= now.getTime()) throw new PrincipalRefused('session_expired');
  const lastSeen = new Date(row.last_seen_at).getTime();
  if (lastSeen + ctx.config.auth.sessionIdleTimeoutSeconds * 1000 <= now.getTime()) throw new PrincipalRefused('session_idle');
  if (now.getTime() - lastSeen >= sessionTouchIntervalMs(ctx.config.auth.sessionIdleTimeoutSeconds)) {
    await ctx.database.db.updateTable('auth_sessions').set({ last_seen_at: now }).where('id', '=', row.session_id).where('last_seen_at', '<', now).execute();
  }
  const roles = normalizeRoles(row.roles);
  const principal: Principal = {
    type: 'user',
    id: row.id,
    organizationId: row.organization_id,
    organizationName: row.organization_name,
    roles,
    scopes: [],
    grantedOrganizationIds: roles.includes('auditor') ? await grantedOrganizations(ctx, row.id) : [],
    sessionId: row.session_id,
    via: 'cookie',
    displayName: row.email,
  };
  return { principal, csrfToken: csrfTokenFor({ id: row.session_id, csrf_key: row.csrf_key }) };
}

/**
 * Loads the client principal of a verified client token. Guarantees: returns only if the client
 * exists, is not revoked, belongs to the token's organisation and its authz_version (bumped by
 * rotation and revocation) equals the token's; its scopes are the token's ∩ the client's current.
 */
export async function loadClientPrincipal(ctx: AuthContext, claims: ClientClaims): Promise<Principal> {
  if (!isUuid(claims.sub)) throw new PrincipalRefused('client_revoked');
  const row = await ctx.database.db
    .selectFrom('api_clients as c')
    .innerJoin('organizations as o', 'o.id', 'c.organization_id')
    .select(['c.id', 'c.organization_id', 'o.name as organization_name', 'c.name', 'c.scopes', 'c.authz_version', 'c.revoked_at'])
    .where('c.id', '=', claims.sub)
    .executeTakeFirst();
  if (!row || row.revoked_at !== null) throw new PrincipalRefused('client_revoked');
  if (row.authz_version !== claims.av || row.organization_id !== claims.org) throw new PrincipalRefused('authz_changed');
  const current = new Set(row.scopes);
  return {
    type: 'client',
    id: row.id,
    organizationId: row.organization_id,
    organizationName: row.organization_name,
    roles: [],
    scopes: normalizeScopes(claims.scopes.filter((s) => current.has(s))),
    grantedOrganizationIds: [],
    via: 'bearer',
    displayName: row.name,
  };
}
