/**
 * Sign-in and tokens: POST /v1/auth/login, /v1/auth/refresh, /v1/auth/logout, GET /v1/me,
 * POST /v1/me/password, and the OAuth 2.0 token endpoint POST /v1/oauth/token.
 * Handlers parse and authorise, then call the plain functions of src/auth/.
 */
import { Router, type Request, type Response } from 'express';
import { exchangeClientCredentials, OAuthError } from '../../auth/api-clients.js';
import { recordDenied } from '../../audit/denied.js';
import type { AuditActor } from '../../audit/record.js';
import { ANONYMOUS_ACTOR, actorOf, type AuthContext } from '../../auth/context.js';
import { csrfTokenFor, grantedOrganizations, normalizeRoles } from '../../auth/principal.js';
import { login, loginLimitSettings, logout, refresh, sessionOfRefreshToken, type IssuedSession } from '../../auth/sessions.js';
import { safeEqual } from '../../auth/secrets.js';
import { TokenError, verifySessionToken } from '../../auth/tokens.js';
import { changeOwnPassword } from '../../auth/users.js';
import { AppError } from '../../errors.js';
import { auditRequestContext, deniedRequestFacts } from '../audit-context.js';
import { clearSessionCookies, readSessionCookies, setSessionCookies } from '../middleware/auth-cookies.js';
import { CSRF_HEADER, type AuthMiddleware } from '../middleware/auth.js';
import { validateBody } from '../validate.js';
import { ChangePasswordBody, LoginBody, type ChangePasswordInput, type LoginInput } from './auth-schemas.js';

function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

/**
 * Whether a browser request to the cookie-issuing endpoints comes from another site (login CSRF,
 * forced logout): an `Origin` other than PUBLIC_URL's (or `null`), or `Sec-Fetch-Site: cross-site`.
 */
function isCrossSite(req: Request, allowedOrigins: readonly string[]): boolean {
  const origin = req.get('origin');
  const site = req.get('sec-fetch-site');
  return (origin !== undefined && (origin === 'null' || !allowedOrigins.includes(origin))) || site === 'cross-site';
}

function sessionAnswer(issued: IssuedSession): { csrfToken: string; user: IssuedSession['user']; expiresIn: number } {
  return { csrfToken: issued.csrfToken, user: issued.user, expiresIn: issued.accessTokenMaxAge };
}

/** Parses HTTP Basic client credentials (RFC 6749 §2.3.1: form-urlencoded, then Basic). */
function basicCredentials(header: string): { id: string; secret: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const unform = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/** The routes of sign-in, sessions, the caller's identity and the OAuth token endpoint. */
export function authRoutes(ctx: AuthContext, auth: AuthMiddleware): Router {
  const router = Router();
  const secure = ctx.config.auth.secureCookies;

  /** Records a denial of `req` (bounded, src/audit/denied.ts) and returns the error to throw. */
  async function denied(req: Request, status: 401 | 403 | 429, reason: string, actor: AuditActor, error: AppError): Promise<AppError> {
    await recordDenied(ctx.database.db, { status, ...deniedRequestFacts(req), reason, actor }, { limitPerMinute: ctx.config.auth.auditDeniedPerMinute, now: ctx.clock() });
    return error;
  }

  /** Refuses, and records, a cross-site request to sign in, refresh or sign out (anonymous: cookies are not read). */
  async function assertSameOrigin(req: Request): Promise<void> {
    if (isCrossSite(req, ctx.config.allowedOrigins)) throw await denied(req, 403, 'cross_site', ANONYMOUS_ACTOR, new AppError('forbidden', 'Cross-site requests cannot sign in or out'));
  }

  router.post('/v1/auth/login', async (req, res) => {
    await assertSameOrigin(req);
    const body = validateBody<LoginInput>(LoginBody, req.body);
    const issued = await login(ctx, { email: body.email, password: body.password, request: auditRequestContext(req) });
    noStore(res);
    setSessionCookies(res, issued, secure);
    res.status(200).json(sessionAnswer(issued));
  });

  router.post('/v1/auth/refresh', async (req, res) => {
    await assertSameOrigin(req);
    const { refresh: token } = readSessionCookies(req, secure);
    noStore(res);
    if (token === undefined) throw await denied(req, 401, 'no_refresh_token', ANONYMOUS_ACTOR, new AppError('unauthenticated', 'No refresh token: sign in'));
    try {
      const issued = await refresh(ctx, { refreshToken: token, request: auditRequestContext(req) });
      setSessionCookies(res, issued, secure);
      res.status(200).json(sessionAnswer(issued));
    } catch (err) {
      if (err instanceof AppError && err.status === 401) clearSessionCookies(res, secure);
      throw err;
    }
  });

  router.post('/v1/auth/logout', async (req, res) => {
    await assertSameOrigin(req);
    noStore(res);
    const cookies = readSessionCookies(req, secure);
    // Find the session by the refresh token (works after the access token expired) or the access token.
    let session = cookies.refresh !== undefined ? await sessionOfRefreshToken(ctx, cookies.refresh) : undefined;
    if (!session && cookies.access !== undefined) {
      try {
        const claims = await verifySessionToken(ctx.tokens, cookies.access, ctx.clock());
        session = await ctx.database.db.selectFrom('auth_sessions').select(['id', 'csrf_key', 'user_id', 'revoked_at']).where('id', '=', claims.sid).where('user_id', '=', claims.sub).executeTakeFirst();
      } catch (err) {
        // An invalid or expired access cookie simply has no session to end.
        if (!(err instanceof TokenError)) throw err;
      }
    }
    if (session && session.revoked_at === null) {
      const presented = req.get(CSRF_HEADER) ?? (typeof (req.body as Record<string, unknown> | undefined)?._csrf === 'string' ? ((req.body as Record<string, string>)._csrf) : undefined);
      if (presented === undefined || !safeEqual(presented, csrfTokenFor(session))) {
        // The session's user sent the cookie (SameSite=Strict), so the denial names them.
        const user = await ctx.database.db.selectFrom('users').select(['id', 'organization_id', 'roles']).where('id', '=', session.user_id).executeTakeFirst();
        const actor: AuditActor = user ? { type: 'user', id: user.id, role: normalizeRoles(user.roles).join(' ') || null, organizationId: user.organization_id } : ANONYMOUS_ACTOR;
        throw await denied(req, 403, 'csrf', actor, new AppError('csrf-token-invalid', 'Logout must send the session CSRF token in X-CSRF-Token'));
      }
      await logout(ctx, { sessionId: session.id, request: auditRequestContext(req) });
    }
    clearSessionCookies(res, secure);
    res.status(204).end();
  });

  router.get('/v1/me', auth.authorize('self.read'), async (req, res) => {
    const p = auth.principalOf(req);
    noStore(res);
    const org = await ctx.database.db.selectFrom('organizations').select(['id', 'name']).where('id', '=', p.organizationId).executeTakeFirst();
    const base = { type: p.type, id: p.id, organization: org ?? { id: p.organizationId, name: null }, roles: p.roles, scopes: p.scopes };
    if (p.type === 'client') {
      res.json({ ...base, name: p.displayName });
      return;
    }
    const user = await ctx.database.db.selectFrom('users').select(['email', 'name']).where('id', '=', p.id).executeTakeFirstOrThrow();
    res.json({ ...base, email: user.email, name: user.name, grantedOrganizationIds: p.roles.includes('auditor') ? await grantedOrganizations(ctx, p.id) : [], sessionId: p.sessionId, csrfToken: req.csrfToken });
  });

  router.post('/v1/me/password', auth.authorize('self.password'), async (req, res) => {
    const p = auth.principalOf(req);
    const body = validateBody<ChangePasswordInput>(ChangePasswordBody, req.body);
    const actor = actorOf(p, 'self.password');
    try {
      await changeOwnPassword(
        ctx.database.db,
        { userId: p.id, sessionId: p.sessionId, currentPassword: body.currentPassword, newPassword: body.newPassword, cost: ctx.config.auth.passwordHashCost, limits: loginLimitSettings(ctx.config) },
        { actor, request: auditRequestContext(req), now: ctx.clock() },
      );
    } catch (err) {
      // A wrong current password (401) and a guess refused by the brute-force limits (429) are
      // denials of this user, like the sign-in's.
      if (err instanceof AppError && (err.status === 401 || err.status === 429)) throw await denied(req, err.status, err.status === 401 ? 'current_password_invalid' : 'login_rate_limited', actor, err);
      throw err;
    }
    res.status(204).end();
  });

  router.post('/v1/oauth/token', async (req, res) => {
    noStore(res);
    try {
      const body = (req.body ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(body)) {
        if (typeof v !== 'string') throw new OAuthError('invalid_request', `${k} must be a string`);
      }
      const header = req.get('authorization');
      let clientId: string | undefined;
      let clientSecret: string | undefined;
      if (header !== undefined) {
        const basic = basicCredentials(header);
        if (!basic) throw new OAuthError('invalid_client', 'Client authentication must be HTTP Basic');
        if (body.client_id !== undefined || body.client_secret !== undefined) throw new OAuthError('invalid_request', 'Use one client authentication method, not both');
        ({ id: clientId, secret: clientSecret } = basic);
      } else {
        clientId = body.client_id as string | undefined;
        clientSecret = body.client_secret as string | undefined;
      }
      if (body.grant_type === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
      const token = await exchangeClientCredentials(ctx, { grantType: body.grant_type, clientId, clientSecret, scope: body.scope, request: auditRequestContext(req) });
      res.status(200).json(token);
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      // The exchange records a failed client authentication (a denial) and whatever it refuses an
      // authenticated client (oauth.token.denied, naming the client): those come `recorded`. The
      // rest is recorded here, anonymously: a request refused for its form before the client was
      // authenticated (400), or a non-Basic Authorization header (401). Never the body: it holds
      // the secret.
      if (!err.recorded) {
        await recordDenied(ctx.database.db, { status: err.status === 400 ? 400 : 401, method: 'POST', route: '/v1/oauth/token', reason: err.error, actor: ANONYMOUS_ACTOR, request: auditRequestContext(req) }, { limitPerMinute: ctx.config.auth.auditDeniedPerMinute, now: ctx.clock() });
      }
      if (err.error === 'invalid_client') res.setHeader('WWW-Authenticate', 'Basic realm="hipaa-ai-risk", charset="UTF-8"');
      res.status(err.status).json({ error: err.error, error_description: err.description });
    }
  });

  return router;
}
