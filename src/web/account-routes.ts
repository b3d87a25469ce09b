/**
 * The signed-in person's own account: `GET/POST /account/password`, for every role. A change goes
 * through `changeOwnPassword` exactly as `POST /v1/me/password` does: the same audit actor, the
 * same denials (a wrong current password, the sign-in limits' 429), and the same per-user
 * `password` limiter, so the page and the API share one budget. The user's other sessions end;
 * this one goes on. Passwords are never shown again in the page, whatever happens.
 */
import { Router, type Request, type Response } from 'express';
import { recordDenied } from '../audit/denied.js';
import { actorOf } from '../auth/context.js';
import { loginLimitSettings } from '../auth/sessions.js';
import { assertPasswordPolicy, changeOwnPassword } from '../auth/users.js';
import { AppError, validationError, type FieldError } from '../errors.js';
import { auditRequestContext, deniedRequestFacts } from '../http/audit-context.js';
import { ChangePasswordBody } from '../http/routes/auth-schemas.js';
import { page, recordPageRefusal, refusalOf, renderPage, type PageSession, type WebContext } from './page.js';
import { formErrors } from './form-errors.js';

/** The form's fields: JSON pointer (as `changeOwnPassword` names them) → the id a summary link focuses. */
const FIELDS: Readonly<Record<string, string>> = { '/currentPassword': 'p-current', '/newPassword': 'p-new', '/confirmPassword': 'p-confirm' };

/** The API's limit on the current password (its request schema), so that the page accepts what the API does. */
const CURRENT_MAX_LENGTH = ChangePasswordBody.properties.currentPassword.maxLength;

/** A posted field as typed (never trimmed: spaces are part of a password), '' when absent or not text. */
function field(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  return typeof v === 'string' ? v : '';
}

/**
 * What the page checks before `changeOwnPassword` (which checks the rest): a current password
 * given, and within the API's limit; a confirmation equal to the new password. Refused, the new
 * password's policy errors come in the same round. Nothing here runs scrypt.
 */
function assertForm(current: string, next: string, confirm: string, email: string): void {
  const errors: FieldError[] = [];
  if (current === '') errors.push({ pointer: '/currentPassword', detail: 'Enter your current password.' });
  else if (current.length > CURRENT_MAX_LENGTH) errors.push({ pointer: '/currentPassword', detail: `The current password must NOT have more than ${CURRENT_MAX_LENGTH} characters.` });
  if (confirm !== next) errors.push({ pointer: '/confirmPassword', detail: 'The confirmation does not match the new password: type the new password twice.' });
  if (errors.length === 0) return;
  try {
    assertPasswordPolicy(next, email, '/newPassword');
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    errors.splice(errors[0]?.pointer === '/currentPassword' ? 1 : 0, 0, ...err.errors);
  }
  throw validationError(errors);
}

/** The account routes. */
export function accountRoutes(ctx: WebContext): Router {
  const router = Router();
  const config = ctx.authContext.config;

  /** Renders the form (always empty: a password is never sent back), with a refusal's errors or the notice of a change. */
  const render = (res: Response, session: PageSession, extra: { error?: AppError; done?: boolean }, status = 200): void => {
    renderPage(ctx, res, session, 'account/password.njk', {
      title: 'Change your password',
      active: 'account',
      ...formErrors(extra.error, FIELDS, 'change-password'),
      done: extra.done === true ? 'Your password was changed; your other sessions were signed out.' : '',
    }, status);
  };

  router.get('/account/password', ...page(ctx, { action: 'self.password' }, (req, res, session) => {
    render(res, session, { done: req.query.done === '1' });
    return Promise.resolve();
  }));

  router.post(
    '/account/password',
    ...page(ctx, {
      action: 'self.password',
      // Each change runs two scrypt hashes: counted per user in the API's `password` limiter.
      rateLimit: 'password',
      // Refused by it (or by the per-principal limit): the form again, empty, with when to retry.
      onRateLimited: (_req, res, session, limited) => {
        render(res, session, { error: new AppError('rate-limited', `Your password cannot be changed again yet: try again in ${limited.retryAfterSeconds} seconds. Nothing was changed.`) }, 429);
        return Promise.resolve();
      },
    }, async (req: Request, res: Response, session: PageSession) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const current = field(body, 'currentPassword');
      const next = field(body, 'newPassword');
      const p = session.principal;
      const actor = actorOf(p, 'self.password');
      try {
        assertForm(current, next, field(body, 'confirmPassword'), p.displayName);
        await changeOwnPassword(
          ctx.db,
          { userId: p.id, sessionId: p.sessionId, currentPassword: current, newPassword: next, cost: config.auth.passwordHashCost, limits: loginLimitSettings(config) },
          { actor, request: auditRequestContext(req), now: ctx.authContext.clock() },
        );
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        if (err.status === 401 || err.status === 429) {
          // A wrong current password (401) and a guess refused by the brute-force limits (429) are
          // denials of this user, recorded as the API records them.
          await recordDenied(ctx.db, { status: err.status, ...deniedRequestFacts(req), reason: err.status === 401 ? 'current_password_invalid' : 'login_rate_limited', actor }, { limitPerMinute: ctx.deniedPerMinute, now: ctx.clock() });
          for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
          const error = err.status === 401 ? validationError([{ pointer: '/currentPassword', detail: 'The current password is not right.' }]) : err;
          render(res, session, { error }, err.status);
          return;
        }
        await recordPageRefusal(ctx, req, refusalOf(err));
        render(res, session, { error: err }, err.status);
        return;
      }
      res.redirect(303, '/account/password?done=1');
    }),
  );

  return router;
}
