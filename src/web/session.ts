/**
 * Sessions for pages. Pages reuse the auth module end to end: `login()` and the session cookies of
 * `POST /v1/auth/login`, `refresh()` for the rotation, and the `authenticate`/`authorize(action)`
 * middleware (which also checks the `_csrf` form field on POSTs). What pages add:
 * - a transparent refresh: a page request whose access cookie is missing or about to expire, or
 *   carries roles an administrator has since changed, but which carries the refresh cookie, is
 *   refreshed first (new cookies on the response), so a form
 *   that takes longer than the access token's 10 minutes still saves. The API does not do this on
 *   purpose (parallel XHRs would each rotate the token); page navigations are sequential, and two
 *   tabs refreshing in the same instant are answered as a concurrent refresh within
 *   REFRESH_REUSE_GRACE_SECONDS instead of tripping reuse detection (see `refresh()`);
 * - a 401 becomes "sign in" (a redirect for GET, the login form for POST: see stash in routes),
 *   a 403 an HTML page, instead of problem+json.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { recordDenied } from '../audit/denied.js';
import { actorOf, type AuthContext } from '../auth/context.js';
import type { Action, Principal } from '../auth/permissions.js';
import { loadUserPrincipal, PrincipalRefused } from '../auth/principal.js';
import { refresh } from '../auth/sessions.js';
import { verifySessionToken } from '../auth/tokens.js';
import { AppError } from '../errors.js';
import { auditRequestContext, deniedRequestFacts } from '../http/audit-context.js';
import { clearSessionCookies, cookieNames, readSessionCookies, setSessionCookies } from '../http/middleware/auth-cookies.js';
import type { AuthMiddleware } from '../http/middleware/auth.js';

/** Refresh when the access token has less than this left (a slow form post must not race it). */
const REFRESH_MARGIN_SECONDS = 30;

/** The outcome of authenticating a page request. */
export type PageAuth =
  | { readonly ok: true; readonly principal: Principal; readonly csrfToken: string }
  | {
      readonly ok: false;
      readonly status: 401 | 403;
      readonly code: string;
      readonly detail: string;
      /** For a CSRF mismatch only: the (valid) session's principal and token, to re-render the form unsaved. */
      readonly session?: { readonly principal: Principal; readonly csrfToken: string };
    };

function run(handler: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    const next: NextFunction = (err?: unknown) => (err === undefined || err === null ? resolve() : reject(err instanceof Error ? err : new Error('middleware failed')));
    try {
      void handler(req, res, next);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

/** Seconds since the epoch at which a JWT expires, read without verifying it (only to decide whether to refresh). */
function expiryOf(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Rewrites the request's Cookie header so the middleware sees the refreshed session: every pair
 * named like one of our session cookies is dropped and, when given, the new tokens are put first (the cookie
 * parser keeps the first of duplicate names). Guarantees: the other cookies are kept as sent (trimmed)
 * and never parsed, validated or re-encoded, so a foreign cookie the `cookie` package would refuse
 * to serialise (`a b=1`, `ü=1`) cannot fail a page after its refresh was committed (it answered
 * 500 before). Our tokens are base64url/JWT, cookie-safe as they are; they are URI-encoded anyway,
 * which the parser undoes.
 */
function rewriteSessionCookies(req: Request, names: { readonly access: string; readonly refresh: string }, tokens?: { readonly access: string; readonly refresh: string }): void {
  const ours = new Set([names.access, names.refresh]);
  const foreign = (req.headers.cookie ?? '').split(';').filter((pair) => {
    const eq = pair.indexOf('=');
    const name = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    return name !== '' && !ours.has(name);
  });
  const own = tokens === undefined ? [] : [`${names.access}=${encodeURIComponent(tokens.access)}`, `${names.refresh}=${encodeURIComponent(tokens.refresh)}`];
  const header = [...own, ...foreign.map((pair) => pair.trim())].join('; ');
  if (header === '') delete req.headers.cookie;
  else req.headers.cookie = header;
}

/** Page authentication over the auth module's context and middleware. */
export interface PageSessions {
  /**
   * Authenticates a page request (refreshing first when needed) and checks `action` if given.
   * Guarantees: never lets an unauthenticated or unpermitted request through; a refused refresh
   * clears the cookies; for POSTs the session's CSRF token must be in `_csrf` (403 otherwise).
   */
  authenticate(req: Request, res: Response, action?: Action): Promise<PageAuth>;
}

/** Builds page sessions. */
export function createPageSessions(ctx: AuthContext, auth: AuthMiddleware): PageSessions {
  const secure = ctx.config.auth.secureCookies;
  const names = cookieNames(secure);

  async function refreshIfNeeded(req: Request, res: Response): Promise<void> {
    const cookies = readSessionCookies(req, secure);
    if (cookies.refresh === undefined) return;
    const exp = cookies.access !== undefined ? expiryOf(cookies.access) : undefined;
    if (exp !== undefined && exp - REFRESH_MARGIN_SECONDS > ctx.clock().getTime() / 1000 && !(await authorizationChanged(cookies.access!))) return;
    try {
      const issued = await refresh(ctx, { refreshToken: cookies.refresh, request: auditRequestContext(req) });
      setSessionCookies(res, issued, secure);
      rewriteSessionCookies(req, names, { access: issued.accessToken, refresh: issued.refreshToken });
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 401) throw err;
      clearSessionCookies(res, secure);
      rewriteSessionCookies(req, names);
    }
  }

  /**
   * Whether the access token is otherwise good but carries roles or an organisation that changed
   * since it was issued (an administrator edited the user): the refresh token then gets one with
   * the new ones, silently, as for an expiring token. Without this, a user whose roles changed was
   * sent to sign in on the next page although the session was still valid.
   */
  async function authorizationChanged(access: string): Promise<boolean> {
    try {
      await loadUserPrincipal(ctx, await verifySessionToken(ctx.tokens, access, ctx.clock()));
      return false;
    } catch (err) {
      return err instanceof PrincipalRefused && err.reason === 'authz_changed';
    }
  }

  /** The session behind a request whose CSRF token did not match (the cookie itself is valid). */
  async function sessionOf(req: Request): Promise<{ principal: Principal; csrfToken: string } | undefined> {
    const access = readSessionCookies(req, secure).access;
    if (access === undefined) return undefined;
    try {
      return await loadUserPrincipal(ctx, await verifySessionToken(ctx.tokens, access, ctx.clock()));
    } catch {
      return undefined;
    }
  }

  return {
    async authenticate(req, res, action) {
      const cookies = readSessionCookies(req, secure);
      // No session cookie at all: a first visit, not an attack; nothing to record.
      if (cookies.access === undefined && cookies.refresh === undefined) return { ok: false, status: 401, code: 'unauthenticated', detail: 'Sign in to continue.' };
      await refreshIfNeeded(req, res);
      if (readSessionCookies(req, secure).access === undefined) return { ok: false, status: 401, code: 'unauthenticated', detail: 'Your session has ended. Sign in again to continue.' };
      try {
        await run(action === undefined ? auth.authenticate : auth.authorize(action), req, res);
      } catch (err) {
        if (!(err instanceof AppError) || (err.status !== 401 && err.status !== 403)) throw err;
        if (err.code === 'csrf-token-invalid') return { ok: false, status: 403, code: err.code, detail: err.detail, session: await sessionOf(req) };
        return { ok: false, status: err.status, code: err.code, detail: err.detail };
      }
      const principal = auth.principalOf(req);
      // Pages are for people: a bearer token of an API client does not open them (a denial, recorded as the middleware's are).
      if (principal.type !== 'user') {
        await recordDenied(ctx.database.db, { status: 403, ...deniedRequestFacts(req), reason: 'pages_need_a_user', actor: actorOf(principal) }, { limitPerMinute: ctx.config.auth.auditDeniedPerMinute, now: ctx.clock() });
        return { ok: false, status: 403, code: 'forbidden', detail: 'Pages are for people; API clients use the API.' };
      }
      return { ok: true, principal, csrfToken: req.csrfToken ?? '' };
    },
  };
}
