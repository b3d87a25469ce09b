/**
 * `authenticate` and `authorize(action)`: every protected request proven, every role held to its room.
 *
 * - A bearer token (`Authorization: Bearer`) must be an API client token (`at+jwt`); the session
 *   cookie must hold a session token (`session+jwt`). Neither is accepted on the other transport.
 * - The token is verified (tokens.ts), then the principal is re-loaded from the database
 *   (principal.ts): a disabled user, revoked client, changed roles, ended session → 401 at once.
 * - Cookie-authenticated requests that change state (not GET/HEAD/OPTIONS) must carry the
 *   session's CSRF token in `X-CSRF-Token` (or a `_csrf` form field), on top of SameSite=Strict.
 * - `authorize(action)` then checks the permission table: 403 when no role/scope permits it.
 * - Every 401 and 403 is recorded, bounded, in the audit trail (src/audit/denied.ts).
 * No transparent refresh: an expired access token is a 401; the page calls POST /v1/auth/refresh
 * (docs/auth.md explains why: refresh-token rotation with reuse detection and parallel requests).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { recordDenied } from '../../audit/denied.js';
import { ANONYMOUS_ACTOR, actorOf, type AuthContext } from '../../auth/context.js';
import { isPermitted, PERMISSIONS, type Action, type Principal } from '../../auth/permissions.js';
import { loadClientPrincipal, loadUserPrincipal, PrincipalRefused } from '../../auth/principal.js';
import { safeEqual } from '../../auth/secrets.js';
import { TokenError, verifyClientToken, verifySessionToken } from '../../auth/tokens.js';
import { AppError, type ProblemCode } from '../../errors.js';
import { deniedRequestFacts } from '../audit-context.js';
import { readSessionCookies } from './auth-cookies.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The authenticated caller, set by `authenticate`. */
    principal?: Principal;
    /** The session's CSRF token (cookie-authenticated requests only). */
    csrfToken?: string;
    /**
     * The action `authorize` permitted: a refusal or failure recorded later names the roles that
     * permitted it (`actorOf(principal, action)`), as the route's own event would.
     */
    authorizedAction?: Action;
  }
}

/** The header that carries the CSRF token, and the form field that may carry it instead. */
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FORM_FIELD = '_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const REALM = 'hipaa-ai-risk';

/** The 403 detail for an API client: the scope(s) that would allow the action, and the token's. */
function scopeDetail(needed: readonly string[], held: readonly string[]): string {
  const has = held.length === 0 ? 'your token has no scope' : `your token has ${held.join(' ')}`;
  if (needed.length === 0) return `This is not available to API clients (people only); ${has}`;
  return `${needed.length === 1 ? `This needs the scope ${needed[0]!}` : `This needs one of the scopes ${needed.join(' ')}`}; ${has}`;
}

export interface AuthMiddleware {
  /** Requires a valid session cookie or client bearer token; sets `req.principal`. Idempotent. */
  readonly authenticate: RequestHandler;
  /** `authenticate`, then 403 unless the permission table lets the principal perform `action`. */
  readonly authorize: (action: Action) => RequestHandler;
  /** The principal set by `authenticate`; throws (500) if the route forgot to authenticate. */
  readonly principalOf: (req: Request) => Principal;
  /**
   * For the record of a request no route authenticated (its body was refused first): who its
   * credentials name, or undefined when it carries none or they are refused. Authorises nothing and sets nothing on the request: a cookie's CSRF token is
   * not checked, since the body that would hold it may be what was refused (SameSite=Strict
   * cookies still keep another site's requests anonymous). Refused credentials are not recorded
   * here: the request's one event is the caller's, with the status the client was sent.
   */
  readonly identify: (req: Request) => Promise<Principal | undefined>;
}

/**
 * Builds the middleware over an auth context. Guarantees: fails closed — any error while
 * authenticating is a 401 (or a 500 if the database itself fails), never a pass.
 */
export function createAuthMiddleware(ctx: AuthContext): AuthMiddleware {
  const limitPerMinute = ctx.config.auth.auditDeniedPerMinute;
  const secure = ctx.config.auth.secureCookies;

  async function deny(req: Request, status: 401 | 403, code: ProblemCode, detail: string, reason: string, headers: Record<string, string>, principal?: Principal): Promise<AppError> {
    await recordDenied(
      ctx.database.db,
      { status, ...deniedRequestFacts(req), reason, actor: principal ? actorOf(principal) : ANONYMOUS_ACTOR },
      { limitPerMinute, now: ctx.clock() },
    );
    return new AppError(code, detail, { headers });
  }

  /**
   * The principal the request's credentials name (a bearer token, else the session cookie), with
   * the session's CSRF token for a cookie; the CSRF token the request presents is not checked here.
   * Refused credentials are a 401 (thrown), recorded as a denial unless `record` is false: the
   * caller then records what the client is actually sent (a refusal of the body, say), once.
   */
  async function principalOfCredentials(req: Request, record = true): Promise<{ principal: Principal; csrfToken?: string }> {
    const refuse = (detail: string, reason: string, headers: Record<string, string>): Promise<AppError> =>
      record ? deny(req, 401, 'unauthenticated', detail, reason, headers) : Promise.resolve(new AppError('unauthenticated', detail, { headers }));
    const authorization = req.get('authorization');
    if (authorization !== undefined) {
      const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization.trim());
      if (!m) throw await refuse('The Authorization header must be "Bearer <access token>"', 'malformed_authorization', { 'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_request"` });
      try {
        const claims = await verifyClientToken(ctx.tokens, m[1]!, ctx.clock());
        return { principal: await loadClientPrincipal(ctx, claims) };
      } catch (err) {
        if (!(err instanceof TokenError) && !(err instanceof PrincipalRefused)) throw err;
        const reason = err instanceof TokenError ? `token_${err.reason}` : err.reason;
        const detail = err instanceof TokenError && err.reason === 'expired' ? 'The access token has expired' : 'The access token is not valid';
        throw await refuse(detail, reason, { 'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="${detail}"` });
      }
    }
    const cookies = readSessionCookies(req, secure);
    if (cookies.access === undefined) {
      const detail = cookies.refresh !== undefined ? 'The session access token is missing or expired: POST /v1/auth/refresh' : 'Authentication required: sign in, or send a bearer token';
      throw await refuse(detail, cookies.refresh !== undefined ? 'access_cookie_missing' : 'no_credentials', { 'WWW-Authenticate': `Bearer realm="${REALM}"` });
    }
    try {
      return await loadUserPrincipal(ctx, await verifySessionToken(ctx.tokens, cookies.access, ctx.clock()));
    } catch (err) {
      if (!(err instanceof TokenError) && !(err instanceof PrincipalRefused)) throw err;
      const reason = err instanceof TokenError ? `token_${err.reason}` : err.reason;
      const expired = (err instanceof TokenError && err.reason === 'expired') || err instanceof PrincipalRefused && err.reason === 'authz_changed';
      const detail = expired ? 'The session access token has expired: POST /v1/auth/refresh' : 'The session is not valid: sign in again';
      throw await refuse(detail, reason, { 'WWW-Authenticate': `Bearer realm="${REALM}"` });
    }
  }

  async function authenticateRequest(req: Request): Promise<void> {
    if (req.principal) return;
    const loaded = await principalOfCredentials(req);
    if (loaded.csrfToken !== undefined && !SAFE_METHODS.has(req.method)) {
      const body = req.body as Record<string, unknown> | undefined;
      const fromForm = body !== null && typeof body === 'object' && typeof body[CSRF_FORM_FIELD] === 'string' ? (body[CSRF_FORM_FIELD]) : undefined;
      const presented = req.get(CSRF_HEADER) ?? fromForm;
      if (presented === undefined || !safeEqual(presented, loaded.csrfToken)) {
        throw await deny(req, 403, 'csrf-token-invalid', `State-changing requests authenticated by cookie must send the session's CSRF token in the X-CSRF-Token header (or a ${CSRF_FORM_FIELD} form field)`, 'csrf', {}, loaded.principal);
      }
      if (fromForm !== undefined && body) delete body[CSRF_FORM_FIELD];
    }
    req.principal = loaded.principal;
    if (loaded.csrfToken !== undefined) req.csrfToken = loaded.csrfToken;
  }

  const authenticate: RequestHandler = (req: Request, _res: Response, next: NextFunction) => {
    authenticateRequest(req).then(() => next(), next);
  };

  function authorize(action: Action): RequestHandler {
    if (!Object.hasOwn(PERMISSIONS, action)) throw new Error(`authorize(): unknown action ${String(action)}`);
    return (req: Request, _res: Response, next: NextFunction) => {
      (async () => {
        await authenticateRequest(req);
        const principal = req.principal!;
        if (!isPermitted(principal, action)) {
          const headers: Record<string, string> = principal.type === 'client' ? { 'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope", scope="${PERMISSIONS[action].scopes.join(' ')}"` } : {};
          throw await deny(req, 403, 'forbidden', principal.type === 'client' ? scopeDetail(PERMISSIONS[action].scopes, principal.scopes) : `Your roles do not allow ${action}`, `not_permitted:${action}`, headers, principal);
        }
        req.authorizedAction = action;
      })().then(() => next(), next);
    };
  }

  function principalOf(req: Request): Principal {
    if (!req.principal) throw new AppError('internal-error', 'route is missing authenticate()');
    return req.principal;
  }

  async function identify(req: Request): Promise<Principal | undefined> {
    if (req.principal) return req.principal;
    if (req.get('authorization') === undefined && readSessionCookies(req, secure).access === undefined) return undefined;
    try {
      return (await principalOfCredentials(req, false)).principal;
    } catch (err) {
      if (err instanceof AppError) return undefined;
      throw err;
    }
  }

  return { authenticate, authorize, principalOf, identify };
}
