/**
 * The pages for people: forms for compliance officers, views for auditors, administration, and
 * everyone's own password.
 * Rendered on the server from `templates/web/` (nunjucks, autoescaped), styled and lightly
 * enhanced from `templates/static/`; every form works without JavaScript. See docs/web.md.
 *
 * Wiring (src/http/app.ts), BEFORE the API body parser, because pages parse their own
 * `application/x-www-form-urlencoded` bodies:
 *
 *   app.use(pageErrors({ strictTemplates, bodyLimitBytes }));   // after the app-wide checks and limiters, and
 *                                               // again after the last route
 *   app.use('/static', webStatic());
 *   app.use(webRoutes({ config, database, tokenKeys, service, reportKeys, auth, clock, logger }));
 *   app.use(apiBody(...));
 */
import express, { Router, type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { AppError } from '../errors.js';
import { clientProblemOf } from '../http/errors-middleware.js';
import type { AssessmentService } from '../assessments/service.js';
import { createAuthContext } from '../auth/context.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/database.js';
import { createAuthMiddleware, type AuthMiddleware } from '../http/middleware/auth.js';
import type { Logger } from '../logging/logger.js';
import type { KeyRing } from '../signing/key-ring.js';
import type { TokenKeyRing } from '../signing/token-keys.js';
import { accountRoutes } from './account-routes.js';
import { adminRoutes } from './admin-routes.js';
import { assessmentRoutes } from './assessment-routes.js';
import { auditorRoutes } from './auditor-routes.js';
import { loginRoutes } from './login-routes.js';
import { isRecordedRefusal, pageHeaders, problemHeading, recordPageRefusal, refusalOf, renderError, type WebContext } from './page.js';
import { createPageSessions } from './session.js';
import { createViews, WEB_STATIC_DIR } from './view.js';

export { WEB_STATIC_DIR, WEB_TEMPLATES_DIR } from './view.js';

/** What the pages are built from. */
export interface WebDeps {
  readonly config: Config;
  readonly database: Database;
  /** The token ring the auth middleware verifies session tokens with (the app's). */
  readonly tokenKeys: TokenKeyRing;
  /** The assessment use cases (the same instance the API routes use). */
  readonly service: AssessmentService;
  /** The report-signing ring: JWKS for verification, key ids for the keys page. */
  readonly reportKeys: KeyRing<'report'>;
  /** The app's auth middleware; built from the other deps when absent (it is stateless). */
  readonly auth?: AuthMiddleware;
  /** The app's clock (tests move time); the real one by default. */
  readonly clock?: () => Date;
  readonly logger?: Logger;
  /** Templates throw on undefined values (tests: a typo in a template fails loudly). */
  readonly strictTemplates?: boolean;
}

/**
 * The page routes. Guarantees: every page sends a CSP with a fresh nonce and `Cache-Control:
 * no-store`; every POST must be same-origin and carry a CSRF token (the session's, or the
 * sign-in form's own); pages answer HTML (redirect to /login on 401, HTML 403/404), never
 * problem+json; requests to other paths pass through untouched (nothing is parsed for them).
 */
export function webRoutes(deps: WebDeps): Router {
  const authContext = createAuthContext({ database: deps.database, config: deps.config, tokenKeys: deps.tokenKeys, clock: deps.clock });
  const auth = deps.auth ?? createAuthMiddleware(authContext);
  const ctx: WebContext = {
    db: deps.database.db,
    views: createViews({ strict: deps.strictTemplates === true }),
    sessions: createPageSessions(authContext, auth),
    authContext,
    allowedOrigins: deps.config.allowedOrigins,
    bodyLimitBytes: deps.config.bodyLimitBytes,
    deniedPerMinute: deps.config.auth.auditDeniedPerMinute,
    clock: deps.clock ?? ((): Date => new Date()),
    logger: deps.logger,
  };
  const router = Router();
  const assessments = assessmentRoutes(ctx, deps.service);
  router.use(loginRoutes(ctx, assessments.restore));
  router.use(assessments.router);
  router.use(auditorRoutes(ctx, deps.service, deps.reportKeys));
  router.use(adminRoutes(ctx, { reportKeys: deps.reportKeys, tokenKeys: deps.tokenKeys }));
  router.use(accountRoutes(ctx));
  // Errors raised on the way to a page handler (form body too large, not a form, an address
  // whose %-escapes do not decode) or not handled by it: an HTML page, whatever the Accept.
  const headers = pageHeaders();
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const problem = clientProblemOf(err, deps.config.bodyLimitBytes);
    if (problem === undefined || problem.status >= 500) {
      deps.logger?.error({ reqId: req.id, err }, 'page failed');
      headers(req, res, () => renderError(ctx, res, problem?.status ?? 500, problemHeading(500), 'The page could not be shown.'));
      return;
    }
    // A form refused before its handler ran (too large, not a form, unclean text) is recorded as
    // one refused after it would be, with the user behind the session cookie when it is valid.
    const refusal = refusalOf(problem);
    if (!isRecordedRefusal(req, refusal)) {
      sendProblemPage(ctx.views, headers, req, res, problem);
      return;
    }
    auth
      .identify(req)
      .then((principal) => recordPageRefusal(ctx, req, refusal, principal))
      .then(() => sendProblemPage(ctx.views, headers, req, res, problem), next);
  });
  return router;
}

/** What an error page says of a problem: the problem's own detail, but in a page's words where it has one. */
function pageDetail(problem: AppError): string {
  switch (problem.code) {
    case 'not-found':
      return 'There is no page at this address. Check the link, or start again from the list of assessments.';
    case 'payload-too-large':
      return 'The form is larger than this service accepts.';
    default:
      return problem.detail;
  }
}

/** The HTML error page of a client's problem, with its status and headers (`Retry-After`). */
function sendProblemPage(views: WebContext['views'], headers: RequestHandler, req: Request, res: Response, problem: AppError): void {
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  void headers(req, res, () => renderError({ views }, res, problem.status, problemHeading(problem.status), pageDetail(problem)));
}

/** Paths that are never pages: the API, its documents, health checks, metrics. */
const NOT_PAGES = /^\/(?:v1|\.well-known|openapi\.json|docs|healthz|readyz|metrics|static)(?:\/|$)/i;

/**
 * Errors raised for a page request outside its page handler (a query string the service
 * refuses; the per-IP or sign-in rate limit on a page; an address that is no page,
 * when mounted after the routes too): an HTML error page with the problem's status, detail and
 * headers (`Retry-After`), instead of problem+json, when the request is for a page and prefers
 * HTML (a browser). Everything else goes on to the API's error handler unchanged. Mount after the
 * app-wide checks and limiters, before the pages, and again after the last route.
 */
export function pageErrors(options: { readonly strictTemplates?: boolean; readonly bodyLimitBytes: number }): ErrorRequestHandler {
  const views = createViews({ strict: options.strictTemplates === true });
  const headers = pageHeaders();
  return (original: unknown, req: Request, res: Response, next: NextFunction) => {
    // express's own client errors too (a path whose %-escapes do not decode), as errorHandler maps them.
    const err = clientProblemOf(original, options.bodyLimitBytes);
    if (err === undefined || err.status >= 500 || res.headersSent || NOT_PAGES.test(req.path)) return next(original);
    if (req.accepts(['application/json', 'application/problem+json', 'text/html']) !== 'text/html') return next(err);
    sendProblemPage(views, headers, req, res, err);
  };
}

/**
 * The static assets (CSS, script, icon) under `/static`: served from `templates/static/`,
 * cacheable for an hour (pages reference them with a content hash query, `?v=`), no index,
 * no dotfiles.
 */
export function webStatic(): RequestHandler {
  return express.static(WEB_STATIC_DIR, { index: false, dotfiles: 'ignore', fallthrough: true, maxAge: '1h', redirect: false });
}
