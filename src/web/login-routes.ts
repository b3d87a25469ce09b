/**
 * Sign-in and sign-out pages: `GET/POST /login`, `POST /logout`. Sign-in calls the auth module's
 * `login()` and sets the same cookies as `POST /v1/auth/login`.
 *
 * The sign-in form has its own CSRF token (there is no session yet): a random value in a
 * short-lived HttpOnly, SameSite=Strict cookie (`__Host-` prefixed when cookies are secure) that
 * the hidden `_csrf` field must repeat (double submit), on top of the same-origin check.
 */
import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { stringifySetCookie, parseCookie } from 'cookie';
import type { Principal } from '../auth/permissions.js';
import { normalizeRoles } from '../auth/principal.js';
import { safeEqual } from '../auth/secrets.js';
import { login, logout } from '../auth/sessions.js';
import { AppError } from '../errors.js';
import { auditRequestContext } from '../http/audit-context.js';
import { clearSessionCookies, setSessionCookies } from '../http/middleware/auth-cookies.js';
import { formBody, isSameOrigin, organizationNames, page, pageHeaders, pageUserOf, recordPageRefusal, renderError, safeNext, type PageSession, type WebContext } from './page.js';
import { decodeStash, encodeStash, type AnswerStash } from './stash.js';

/** Renders the questionnaire from a stash after sign-in (provided by the assessment pages). */
export type RestoreStash = (req: Request, res: Response, session: PageSession, stash: AnswerStash) => Promise<void>;

const LOGIN_CSRF_MAX_AGE = 3600;

function loginCookieName(secure: boolean): string {
  return secure ? '__Host-hipaa_ai_login' : 'hipaa_ai_login';
}

function loginToken(req: Request, res: Response, secure: boolean): string {
  const name = loginCookieName(secure);
  const existing = req.headers.cookie !== undefined ? parseCookie(req.headers.cookie)[name] : undefined;
  if (existing !== undefined && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const token = randomBytes(32).toString('base64url');
  res.append('Set-Cookie', stringifySetCookie(name, token, { httpOnly: true, secure, sameSite: 'strict', path: '/', maxAge: LOGIN_CSRF_MAX_AGE }));
  return token;
}

/** Renders the sign-in form (with a stash, when a form post found the session ended). */
export function renderLogin(
  ctx: WebContext,
  req: Request,
  res: Response,
  options: { status?: number; next?: string; email?: string; error?: string; notice?: string; stash?: AnswerStash },
): void {
  const token = loginToken(req, res, ctx.authContext.config.auth.secureCookies);
  ctx.views.render(res, options.status ?? 200, 'login.njk', {
    title: 'Sign in',
    user: null,
    csrfToken: token,
    next: options.next ?? '/',
    email: options.email ?? '',
    error: options.error ?? '',
    notice: options.notice ?? '',
    stash: options.stash ? encodeStash(options.stash) : '',
    stashCount: options.stash ? Object.keys(options.stash.answers).length : 0,
  });
}

/** The sign-in and sign-out routes. */
export function loginRoutes(ctx: WebContext, restore: RestoreStash): Router {
  const router = Router();
  const secure = ctx.authContext.config.auth.secureCookies;
  const headers = pageHeaders();
  const body = formBody(ctx.bodyLimitBytes);

  router.get('/login', headers, async (req, res) => {
    const auth = await ctx.sessions.authenticate(req, res);
    const next = safeNext(req.query.next);
    if (auth.ok) {
      res.redirect(303, next);
      return;
    }
    const notice = req.query.signed_out === '1' ? 'You have signed out.' : req.query.next !== undefined ? 'Sign in to continue.' : '';
    renderLogin(ctx, req, res, { next, notice });
  });

  router.post('/login', headers, body, async (req, res) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    const next = safeNext(form.next);
    const email = typeof form.email === 'string' ? form.email.slice(0, 320) : '';
    const password = typeof form.password === 'string' ? form.password.slice(0, 1024) : '';
    const stash = decodeStash(form.stash);
    if (!isSameOrigin(req, ctx.allowedOrigins)) {
      await recordPageRefusal(ctx, req, { status: 403, reason: 'cross_origin' });
      renderError(ctx, res, 403, 'Not allowed', 'Cross-site requests cannot sign in.');
      return;
    }
    const cookie = req.headers.cookie !== undefined ? parseCookie(req.headers.cookie)[loginCookieName(secure)] : undefined;
    const presented = typeof form._csrf === 'string' ? form._csrf : '';
    if (cookie === undefined || !safeEqual(presented, cookie)) {
      await recordPageRefusal(ctx, req, { status: 403, reason: 'csrf' });
      renderLogin(ctx, req, res, { status: 403, next, email, stash, error: 'The sign-in form had expired. Please sign in again.' });
      return;
    }
    if (email === '' || password === '') {
      await recordPageRefusal(ctx, req, { status: 422, reason: 'validation-failed', pointers: [...(email === '' ? ['/email'] : []), ...(password === '' ? ['/password'] : [])] });
      renderLogin(ctx, req, res, { status: 422, next, email, stash, error: 'Enter your e-mail address and your password.' });
      return;
    }
    let issued;
    try {
      issued = await login(ctx.authContext, { email, password, request: auditRequestContext(req) });
    } catch (err) {
      if (!(err instanceof AppError) || (err.status !== 401 && err.status !== 429)) throw err;
      if (err.headers['Retry-After'] !== undefined) res.setHeader('Retry-After', err.headers['Retry-After']);
      renderLogin(ctx, req, res, { status: err.status, next, email, stash, error: err.status === 429 ? err.detail : 'The e-mail address or the password is not right.' });
      return;
    }
    setSessionCookies(res, issued, secure);
    // The sign-in form's token is spent.
    res.append('Set-Cookie', stringifySetCookie(loginCookieName(secure), '', { httpOnly: true, secure, sameSite: 'strict', path: '/', maxAge: 0 }));
    if (stash) {
      const u = issued.user;
      const roles = normalizeRoles(u.roles);
      const organizationName = (await organizationNames(ctx.db, [u.organizationId])).get(u.organizationId) ?? u.organizationId;
      const principal: Principal = { type: 'user', id: u.id, organizationId: u.organizationId, organizationName, roles, scopes: [], grantedOrganizationIds: [], sessionId: issued.sessionId, via: 'cookie', displayName: u.email };
      await restore(req, res, { principal, csrfToken: issued.csrfToken, user: pageUserOf(principal) }, stash);
      return;
    }
    res.redirect(303, next);
  });

  router.post(
    '/logout',
    ...page(ctx, {
      // Signing out is never rate limited: it only takes access away.
      principalLimit: false,
      onSignedOut: (_req, res) => {
        clearSessionCookies(res, secure);
        res.redirect(303, '/login?signed_out=1');
        return Promise.resolve();
      },
    }, async (req, res, session) => {
      if (session.principal.sessionId !== undefined) await logout(ctx.authContext, { sessionId: session.principal.sessionId, request: auditRequestContext(req) });
      clearSessionCookies(res, secure);
      res.redirect(303, '/login?signed_out=1');
    }),
  );

  return router;
}
