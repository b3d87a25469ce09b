/**
 * Browser sessions: login, refresh-token rotation with reuse detection, logout.
 *
 * A session is one refresh-token family. Login creates it with an absolute expiry
 * (SESSION_ABSOLUTE_TIMEOUT_SECONDS) and hands out an access token (≤ 15 min), an opaque refresh
 * token (32 random bytes, stored only as its SHA-256) and the session's CSRF token. Each refresh
 * marks the presented refresh token used and issues a new one; presenting a used token again
 * means it was copied, so the whole session is revoked at once (RFC 9700 §4.14.2), unless it comes
 * within a few seconds of the rotation to a still-valid session: two tabs refreshing at once
 * (REFRESH_REUSE_GRACE_SECONDS; `auth.refresh.concurrent`). A session idle
 * for SESSION_IDLE_TIMEOUT_SECONDS, or past its absolute expiry, cannot be refreshed.
 * Every outcome is an audit event in the same transaction as the change it describes.
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import { recordAuditEvent, type AuditActor, type AuditRequestContext } from '../audit/record.js';
import { recordDenied } from '../audit/denied.js';
import type { DB } from '../db/schema.js';
import { AppError } from '../errors.js';
import { sha256Hex } from '../util/hash.js';
import { ANONYMOUS_ACTOR, type AuthContext } from './context.js';
import { attemptKeys, claimAttempt, clearLoginFailures, loginLimitedError, withdrawClaim, type LoginLimitSettings } from './login-limits.js';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './passwords.js';
import { csrfTokenFor, normalizeRoles } from './principal.js';
import type { Role } from './permissions.js';
import { newId, newSecret, secretSha256 } from './secrets.js';
import { issueSessionToken } from './tokens.js';

/** What a signed-in user sees of themselves. */
export interface SessionUser {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly organizationId: string;
  readonly roles: readonly Role[];
}

/** Everything the HTTP layer needs to set the cookies and answer. Secrets: handle with care. */
export interface IssuedSession {
  readonly user: SessionUser;
  readonly sessionId: string;
  readonly accessToken: string;
  readonly accessTokenMaxAge: number;
  readonly refreshToken: string;
  /** Seconds until the session's absolute expiry: the refresh cookie's Max-Age. */
  readonly refreshTokenMaxAge: number;
  readonly csrfToken: string;
}

/** Normalises an e-mail address for storage and lookup: trimmed, lower-case. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const INVALID_CREDENTIALS = 'Invalid e-mail or password';

/** The brute-force limits of the configuration (shared by sign-in and `POST /v1/me/password`). */
export function loginLimitSettings(config: AuthContext['config']): LoginLimitSettings {
  return { windowSeconds: config.auth.loginFailureWindowSeconds, maxPerAccount: config.auth.loginMaxFailuresPerAccount, maxPerIp: config.auth.loginMaxFailuresPerIp };
}

interface UserRow {
  id: string;
  organization_id: string;
  email: string;
  name: string | null;
  roles: string[];
  authz_version: number;
}

async function openSession(ctx: AuthContext, trx: Transaction<DB>, user: UserRow, request: AuditRequestContext, now: Date): Promise<IssuedSession> {
  const sessionId = newId();
  const csrfKey = randomBytes(32).toString('base64url');
  const absolute = new Date(now.getTime() + ctx.config.auth.sessionAbsoluteTimeoutSeconds * 1000);
  await trx
    .insertInto('auth_sessions')
    .values({ id: sessionId, user_id: user.id, created_at: now, absolute_expires_at: absolute, last_seen_at: now, csrf_key: csrfKey, revoked_at: null, revoked_reason: null, source_ip: request.ip?.slice(0, 64) ?? null, user_agent: request.userAgent?.slice(0, 300) ?? null })
    .execute();
  return issueForSession(ctx, trx, user, { id: sessionId, csrf_key: csrfKey, absolute_expires_at: absolute }, now);
}

async function issueForSession(ctx: AuthContext, trx: Transaction<DB>, user: UserRow, session: { id: string; csrf_key: string; absolute_expires_at: Date }, now: Date): Promise<IssuedSession> {
  const refreshToken = newSecret();
  await trx.insertInto('auth_refresh_tokens').values({ token_sha256: secretSha256(refreshToken), session_id: session.id, created_at: now, used_at: null }).execute();
  const roles = normalizeRoles(user.roles);
  const access = await issueSessionToken(ctx.tokens, { userId: user.id, organizationId: user.organization_id, roles, sessionId: session.id, authzVersion: user.authz_version }, now);
  return {
    user: { id: user.id, email: user.email, name: user.name, organizationId: user.organization_id, roles },
    sessionId: session.id,
    accessToken: access.token,
    accessTokenMaxAge: access.expiresIn,
    refreshToken,
    refreshTokenMaxAge: Math.max(1, Math.floor((new Date(session.absolute_expires_at).getTime() - now.getTime()) / 1000)),
    csrfToken: csrfTokenFor(session),
  };
}

/**
 * Signs a user in. Guarantees:
 * - an unknown e-mail, a wrong password and a disabled user get the same 401 and take about the
 *   same time (a dummy hash is verified when the user is unknown);
 * - failures are counted per account and per IP, each attempt on arrival (so attempts sent at
 *   once cannot all pass the limit; a right password withdraws its count); once a limit is
 *   reached every attempt (even with the right password) gets 429 with Retry-After until the
 *   window slides, and those are recorded as bounded `request.denied` events;
 * - every success and failure below the limit is an audit event (failures carry the SHA-256 of
 *   the e-mail, never the password), in the transaction that records it.
 */
export async function login(ctx: AuthContext, input: { email: string; password: string; request: AuditRequestContext }): Promise<IssuedSession> {
  const { config, database } = ctx;
  const now = ctx.clock();
  const email = normalizeEmail(input.email);
  const emailSha256 = sha256Hex(email);
  const keys = attemptKeys(email, input.request.ip);
  // Counted on arrival, a failure unless the password is right (src/auth/login-limits.ts).
  const limit = await claimAttempt(database.db, keys, loginLimitSettings(config), now);
  if (limit.limited) {
    await recordDenied(database.db, { status: 429, method: 'POST', route: '/v1/auth/login', reason: 'login_rate_limited', actor: ANONYMOUS_ACTOR, request: input.request }, { limitPerMinute: config.auth.auditDeniedPerMinute, now });
    throw loginLimitedError(limit.retryAfterSeconds);
  }
  const user = await database.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  const stored = user?.password_hash ?? (await dummyPasswordHash(config.auth.passwordHashCost));
  const passwordOk = await verifyPassword(input.password, stored);
  if (!user || !passwordOk || user.disabled_at !== null) {
    const reason = user && passwordOk ? 'user_disabled' : 'invalid_credentials';
    // The claim stays: it is this failure's count.
    await database.db.transaction().execute(async (trx) => {
      await recordAuditEvent(
        trx,
        {
          action: 'auth.login.failed',
          outcome: 'denied',
          actor: ANONYMOUS_ACTOR,
          organizationId: user?.organization_id ?? null,
          target: user ? { type: 'user', id: user.id } : null,
          request: input.request,
          decision: { reason, emailSha256 },
        },
        now,
      );
    });
    throw new AppError('unauthenticated', INVALID_CREDENTIALS);
  }
  const rehash = needsRehash(user.password_hash, config.auth.passwordHashCost) ? await hashPassword(input.password, config.auth.passwordHashCost) : undefined;
  return database.db.transaction().execute(async (trx) => {
    await withdrawClaim(trx, limit.claim);
    await clearLoginFailures(trx, keys[0]);
    // A stronger cost is a new hash of the same password: no authz change, sessions stay valid.
    if (rehash !== undefined) await trx.updateTable('users').set({ password_hash: rehash }).where('id', '=', user.id).execute();
    const issued = await openSession(ctx, trx, user, input.request, now);
    await recordAuditEvent(
      trx,
      {
        action: 'auth.login.succeeded',
        outcome: 'success',
        actor: { type: 'user', id: user.id, role: issued.user.roles.join(' ') || null, organizationId: user.organization_id },
        organizationId: user.organization_id,
        target: { type: 'session', id: issued.sessionId },
        request: input.request,
        decision: { sessionId: issued.sessionId, roles: [...issued.user.roles] },
      },
      now,
    );
    return issued;
  });
}

/** Who a refused refresh is attributed to: the session's user, organisation and session, when the token is known. */
interface RefreshParty {
  readonly actor: AuditActor;
  readonly organizationId: string;
  readonly target: { readonly type: 'session'; readonly id: string };
}

type RefreshOutcome =
  | { ok: true; issued: IssuedSession }
  | { ok: false; status: 'unknown' }
  | { ok: false; status: 'revoked'; party: RefreshParty }
  | { ok: false; status: 'reused' | 'expired' | 'idle' | 'disabled' };

async function revokeSession(trx: Transaction<DB>, sessionId: string, reason: string, now: Date): Promise<void> {
  await trx.updateTable('auth_sessions').set({ revoked_at: now, revoked_reason: reason }).where('id', '=', sessionId).where('revoked_at', 'is', null).execute();
}

/**
 * How long after a refresh token was rotated it may be presented again without being treated as
 * reuse, in seconds (Auth0's "reuse interval", Okta's "grace period"). Two tabs of one browser
 * share the refresh cookie and may refresh in the same instant; the second must not end the
 * session. Kept short: within it a copied token is not detected, after it reuse revokes as always.
 */
export const REFRESH_REUSE_GRACE_SECONDS = 10;

/**
 * Exchanges a refresh token for a new access token, refresh token and CSRF token. Guarantees:
 * - the presented token is marked used and a new one issued in one transaction (rotation);
 * - every decision about a family is taken holding its session row lock (`FOR UPDATE`, taken
 *   before the token row is read), so concurrent refreshes of one family are serialised: only
 *   one of them can find a token unused, and each one sees what the previous one committed;
 * - a token presented again within REFRESH_REUSE_GRACE_SECONDS of its rotation, while the session is
 *   still valid (not revoked, expired or idle; user enabled), is a concurrent refresh (two tabs),
 *   not a theft: it succeeds (`auth.refresh.concurrent`) with a new rotation of the family's
 *   current token. The window runs from the token's first use and does not slide;
 * - a token presented again after that window revokes its whole session (family) and is refused,
 *   as are all the family's other tokens from then on (`auth.refresh.reused`);
 * - a session past its absolute expiry or idle timeout, or of a disabled user, is revoked and
 *   refused; the new access token carries the user's current roles and authz_version.
 * Throws a 401 AppError on any refusal. An unknown token is recorded as a bounded anonymous
 * denial; a token of a revoked session (after logout or reuse detection) as a bounded denial by
 * the session's user, in their organisation, naming the session (`refresh_revoked`).
 *
 * Why the concurrent case rotates again instead of handing out the family's current token: the
 * current token exists only as its SHA-256 (a database reader must not obtain a usable token),
 * so it cannot be returned. Instead the current token is marked used and a new one issued, which
 * keeps exactly one unused refresh token per live family. Whoever holds the superseded token
 * (the other tab's response, if the browser stores it last) still has the grace window; after it
 * that token counts as reused. Browsers apply the responses in the order the server serialised
 * them, so the cookie jar normally ends with the newest token.
 */
export async function refresh(ctx: AuthContext, input: { refreshToken: string; request: AuditRequestContext }): Promise<IssuedSession> {
  const now = ctx.clock();
  const hash = secretSha256(input.refreshToken);
  const outcome = await ctx.database.db.transaction().execute(async (trx): Promise<RefreshOutcome> => {
    // The session row is the family's lock: take it first, then read the token as it is now
    // (a concurrent refresh may have used it while we waited). Token rows are only written
    // under that lock, so the order session → token is the same for every path (no deadlock).
    const found = await trx.selectFrom('auth_refresh_tokens').select('session_id').where('token_sha256', '=', hash).executeTakeFirst();
    if (!found) return { ok: false, status: 'unknown' };
    const session = await trx.selectFrom('auth_sessions').selectAll().where('id', '=', found.session_id).forUpdate().executeTakeFirstOrThrow();
    const token = await trx.selectFrom('auth_refresh_tokens').selectAll().where('token_sha256', '=', hash).forUpdate().executeTakeFirstOrThrow();
    const user = await trx.selectFrom('users').selectAll().where('id', '=', session.user_id).executeTakeFirstOrThrow();
    const actor = { type: 'user' as const, id: user.id, role: normalizeRoles(user.roles).join(' ') || null, organizationId: user.organization_id };
    const party: RefreshParty = { actor, organizationId: user.organization_id, target: { type: 'session', id: session.id } };
    const base = { ...party, request: input.request };
    if (session.revoked_at !== null) return { ok: false, status: 'revoked', party };
    const reusedAfterMs = token.used_at !== null ? now.getTime() - new Date(token.used_at).getTime() : undefined;
    if (reusedAfterMs !== undefined && reusedAfterMs > REFRESH_REUSE_GRACE_SECONDS * 1000) {
      await revokeSession(trx, session.id, 'refresh_token_reused', now);
      await recordAuditEvent(trx, { ...base, action: 'auth.refresh.reused', outcome: 'denied', decision: { sessionId: session.id, revoked: true } }, now);
      return { ok: false, status: 'reused' };
    }
    const fail = async (status: 'expired' | 'idle' | 'disabled', reason: string): Promise<RefreshOutcome> => {
      await revokeSession(trx, session.id, reason, now);
      await recordAuditEvent(trx, { ...base, action: 'auth.refresh.failed', outcome: 'denied', decision: { reason, sessionId: session.id } }, now);
      return { ok: false, status };
    };
    if (new Date(session.absolute_expires_at).getTime() <= now.getTime()) return fail('expired', 'absolute_timeout');
    if (new Date(session.last_seen_at).getTime() + ctx.config.auth.sessionIdleTimeoutSeconds * 1000 <= now.getTime()) return fail('idle', 'idle_timeout');
    if (user.disabled_at !== null) return fail('disabled', 'user_disabled');
    // Normal rotation: the presented token becomes used. Concurrent refresh within the grace
    // window: the presented token stays as it was (its window does not slide) and the family's
    // current token is the one rotated, so exactly one unused token remains.
    if (reusedAfterMs === undefined) await trx.updateTable('auth_refresh_tokens').set({ used_at: now }).where('token_sha256', '=', hash).execute();
    else await trx.updateTable('auth_refresh_tokens').set({ used_at: now }).where('session_id', '=', session.id).where('used_at', 'is', null).execute();
    await trx.updateTable('auth_sessions').set({ last_seen_at: now }).where('id', '=', session.id).execute();
    const issued = await issueForSession(ctx, trx, user, session, now);
    if (reusedAfterMs === undefined) await recordAuditEvent(trx, { ...base, action: 'auth.refresh.succeeded', outcome: 'success', decision: { sessionId: session.id } }, now);
    else await recordAuditEvent(trx, { ...base, action: 'auth.refresh.concurrent', outcome: 'success', decision: { sessionId: session.id, reusedAfterMs: Math.max(0, reusedAfterMs) } }, now);
    return { ok: true, issued };
  });
  if (outcome.ok) return outcome.issued;
  // An unknown token names nobody (anonymous); a revoked session's token names its user, their
  // organisation and the session, so their trail shows the ended session being presented again.
  if (outcome.status === 'unknown' || outcome.status === 'revoked') {
    const who = outcome.status === 'revoked' ? outcome.party : { actor: ANONYMOUS_ACTOR };
    await recordDenied(ctx.database.db, { status: 401, method: 'POST', route: '/v1/auth/refresh', reason: `refresh_${outcome.status}`, request: input.request, ...who }, { limitPerMinute: ctx.config.auth.auditDeniedPerMinute, now });
  }
  const detail: Record<typeof outcome.status, string> = {
    unknown: 'The refresh token is not valid; sign in again',
    revoked: 'The session has ended; sign in again',
    reused: 'The refresh token was already used; the session has been revoked for safety; sign in again',
    expired: 'The session has reached its maximum lifetime; sign in again',
    idle: 'The session expired after inactivity; sign in again',
    disabled: 'The session has ended; sign in again',
  };
  throw new AppError('unauthenticated', detail[outcome.status]);
}

/**
 * The session a refresh token belongs to, if the token is known (used or not). For logout when
 * the access token has already expired. Read only.
 */
export async function sessionOfRefreshToken(ctx: AuthContext, refreshToken: string): Promise<{ id: string; csrf_key: string; user_id: string; revoked_at: Date | null } | undefined> {
  return ctx.database.db
    .selectFrom('auth_refresh_tokens as t')
    .innerJoin('auth_sessions as s', 's.id', 't.session_id')
    .select(['s.id', 's.csrf_key', 's.user_id', 's.revoked_at'])
    .where('t.token_sha256', '=', secretSha256(refreshToken))
    .executeTakeFirst();
}

/**
 * Ends a session: every token of its family stops working at once (the principal check reads
 * `revoked_at` on each request). Guarantees: idempotent; the audit event is written only when
 * the session was still open; only the session row is locked (`FOR UPDATE OF s`), never the
 * user's: `updateUser` and `changeOwnPassword` lock the user row and then write the user's
 * sessions, so a logout locking session then user deadlocked with them (PostgreSQL 40P01, a 500,
 * possibly an administrator's disabling lost).
 */
export async function logout(ctx: AuthContext, input: { sessionId: string; request: AuditRequestContext }): Promise<void> {
  const now = ctx.clock();
  await ctx.database.db.transaction().execute(async (trx) => {
    const session = await trx.selectFrom('auth_sessions as s').innerJoin('users as u', 'u.id', 's.user_id').select(['s.id', 's.revoked_at', 'u.id as user_id', 'u.organization_id', 'u.roles']).where('s.id', '=', input.sessionId).forUpdate('s').executeTakeFirst();
    if (!session || session.revoked_at !== null) return;
    await revokeSession(trx, session.id, 'logout', now);
    await recordAuditEvent(
      trx,
      {
        action: 'auth.logout',
        outcome: 'success',
        actor: { type: 'user', id: session.user_id, role: normalizeRoles(session.roles).join(' ') || null, organizationId: session.organization_id },
        organizationId: session.organization_id,
        target: { type: 'session', id: session.id },
        request: input.request,
        decision: { sessionId: session.id },
      },
      now,
    );
  });
}

/**
 * Revokes every open session of a user (after disabling, a password reset or change), inside the
 * caller's transaction, and records each as `auth.session.revoked` (target the session, the
 * reason; by the actor who caused it, in the user's organisation), in session id order. Returns
 * how many were revoked.
 */
export async function revokeUserSessions(
  trx: Transaction<DB>,
  user: { readonly id: string; readonly organizationId: string },
  reason: string,
  audit: { readonly actor: AuditActor; readonly request: AuditRequestContext | null; readonly now: Date },
  exceptSessionId?: string,
): Promise<number> {
  let q = trx.updateTable('auth_sessions').set({ revoked_at: audit.now, revoked_reason: reason }).where('user_id', '=', user.id).where('revoked_at', 'is', null);
  if (exceptSessionId !== undefined) q = q.where('id', '!=', exceptSessionId);
  const revoked = (await q.returning('id').execute()).map((r) => r.id).sort();
  for (const sessionId of revoked) {
    await recordAuditEvent(trx, { action: 'auth.session.revoked', outcome: 'success', actor: audit.actor, organizationId: user.organizationId, target: { type: 'session', id: sessionId }, request: audit.request, decision: { sessionId, reason } }, audit.now);
  }
  return revoked.length;
}
