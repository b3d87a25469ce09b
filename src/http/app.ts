import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import helmet from 'helmet';
import type { Config } from '../config/index.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import { createAuthContext } from '../auth/context.js';
import type { Action } from '../auth/permissions.js';
import type { TokenKeyRing } from '../signing/token-keys.js';
import { createAuthMiddleware, type AuthMiddleware } from './middleware/auth.js';
import { adminRoutes } from './routes/admin.js';
import { assessmentRoutes } from './routes/assessments.js';
import { auditRoutes } from './routes/audit.js';
import { docsRoutes } from './routes/docs.js';
import { referenceRoutes } from './routes/reference.js';
import { keyRoutes } from './routes/keys.js';
import { buildOpenApi } from './openapi/document.js';
import { assessmentPaths, assessmentSchemas, auditPaths } from './openapi/assessments.js';
import { authOpenApi } from './openapi/auth.js';
import { AssessmentService } from '../assessments/service.js';
import { pageErrors, webRoutes, webStatic } from '../web/index.js';
import { providePageLimiters } from '../web/page.js';
import { PdfReports, type PdfRenderer } from '../reports/pdf-store.js';
import { renderInPool, sharedPdfPoolStats } from '../reports/pdf/pool.js';
import type { PdfSigningIdentity } from '../signing/pdf-cert.js';
import { rulesEvaluator, timedEvaluator } from '../assessments/evaluator.js';
import { inProcessReportBuilder, sharedReportPool, sharedReportPoolStats, workerReportBuilder } from '../assessments/report-builder.js';
import type { ReportBuilder } from '../assessments/report-builder.js';
import type { Evaluator } from '../assessments/types.js';
import type { KeyRing } from '../signing/key-ring.js';
import { authRoutes } from './routes/auth.js';
import { apiBody } from './body.js';
import { cleanQuery } from './clean-input.js';
import { knownQueryParameters } from './query.js';
import { recordFailures, recordRefusals } from './audit-refusals.js';
import { allowedMethodsFrom, errorHandler, notFound } from './errors-middleware.js';
import { healthRoutes } from './health.js';
import { requestId } from './request-id.js';
import { createMetrics, metricsRouter, traceContext, type Metrics } from './metrics/index.js';
import { createRateLimiters, type RateLimiters } from './rate-limit/index.js';

/** The process-wide worker pools, for the `worker_pool_tasks` gauge (src/http/metrics). */
export const SHARED_WORKER_POOLS = { report: sharedReportPoolStats, pdf: sharedPdfPoolStats } as const;

/** What the HTTP app is built from; tests build it in-process with their own database. */
export interface AppDeps {
  readonly config: Config;
  readonly database: Database;
  readonly logger: Logger;
  /** Token-signing key ring (session and API-client access tokens); see loadTokenKeyRingFromEnv. */
  readonly tokenKeys: TokenKeyRing;
  /** Wall clock for tokens, sessions and audit timestamps; tests inject one to move time. */
  readonly clock?: () => Date;
  /** Report-signing key ring (reports, audit checkpoints); its public keys are published in the JWKS. */
  readonly reportKeys: KeyRing<'report'>;
  /**
   * The X.509 identity that signs PDFs; without it `/v1/reports/{id}/pdf` answers 404. Its
   * certificate is published at `/.well-known/pdf-signing-certificate.json` for pinning.
   */
  readonly pdfSigner?: PdfSigningIdentity;
  /** Renders a PDF (default: the worker-thread pool, off the event loop). */
  readonly pdfRenderer?: PdfRenderer;
  /** Templates throw on undefined variables (tests); default: in NODE_ENV=test. */
  readonly strictTemplates?: boolean;
  /** The evaluator behind assessments (default: the rules module). */
  readonly evaluator?: Evaluator;
  /** Evaluates submissions and builds their reports (default: worker threads, see config.reportWorkers). */
  readonly reportBuilder?: ReportBuilder;
  /** Extra routers mounted after the API routes, given the auth middleware (tests' probe routes). */
  readonly extraRoutes?: (auth: AuthMiddleware) => readonly Router[];
  /** Prometheus metrics of this instance (default: a new registry). Pass it to feed and serve it. */
  readonly metrics?: Metrics;
  /** Rate limiters (default: built from config; the caller owns `close()` when it passes them). */
  readonly rateLimits?: RateLimiters;
}

/** The API's version, as published in the OpenAPI document. */
export const API_VERSION = '1.0.0';

/** Paths whose POST body may be a form (RFC 6749 token requests). */
export const FORM_BODY_PATHS: ReadonlySet<string> = new Set(['/v1/oauth/token']);

function accessLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      logger.info(
        {
          reqId: req.id,
          method: req.method,
          path: req.path,
          route: (req.route as { path?: string } | undefined)?.path,
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
          ip: req.ip,
          traceId: req.trace?.traceId,
        },
        'request',
      );
    });
    next();
  };
}

/** The default `Cache-Control` of every /v1 response (set before the routes, which may override it). */
function noStore(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Cache-Control', 'no-store');
  next();
}

/** `authorize(action)` followed by the per-principal rate limit (the principal is known by then). */
function withPrincipalLimit(authorize: (action: Action) => RequestHandler, limit: RequestHandler): (action: Action) => RequestHandler {
  return (action) => {
    const check = authorize(action);
    return (req, res, next) => {
      check(req, res, (err?: unknown) => (err !== undefined ? next(err) : limit(req, res, next)));
    };
  };
}

/**
 * Builds the express app: security headers, request ids, access logs (never bodies), JSON body
 * limits, the routes, then 404 and the one problem+json error handler.
 */
export function createApp(deps: AppDeps): Express {
  const { config, database, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy === false ? false : config.trustProxy);
  app.set('etag', false);
  // [rate-limit + metrics] Metrics registry and limiters of this instance (src/http/metrics,
  // src/http/rate-limit). Trace context and request metrics wrap everything, health checks and
  // /metrics (token-protected, absent without METRICS_TOKEN) are not rate limited, the per-IP
  // limit applies before any body is parsed.
  const metrics = deps.metrics ?? createMetrics({ database, workerPools: SHARED_WORKER_POOLS });
  const rateLimits = deps.rateLimits ?? createRateLimiters({ config, database, logger, metrics });
  app.use(traceContext());
  app.use(metrics.middleware);
  app.use(requestId());
  app.use(accessLog(logger));
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      strictTransportSecurity: config.publicUrl.startsWith('https:') ? { maxAge: 31536000, includeSubDomains: true } : false,
    }),
  );
  app.use(healthRoutes(database));
  app.use(cleanQuery());
  app.use(metricsRouter(metrics, config.metrics)); // [rate-limit + metrics]
  // Nothing the API answers is kept by a browser or a shared cache: assessments, reports, users,
  // the trail, and the errors, 429s included. A route may set its own value after this (the
  // questionnaire and ruleset definitions, the same for everyone: `private, max-age=300`).
  app.use('/v1', noStore);
  app.use(rateLimits.global); // [rate-limit + metrics]
  // The API's document: served at /openapi.json, and the source of the query parameters each
  // operation takes (others are refused) and of the methods a path allows (405 below).
  const openapi = buildOpenApi(config.publicUrl, API_VERSION, [
    authOpenApi,
    { paths: assessmentPaths, schemas: assessmentSchemas, tags: [{ name: 'Assessments', description: 'Submit, revise and re-evaluate AI use-case assessments' }, { name: 'Reports', description: 'Signed reports, signatures, diffs, verification' }] },
    { paths: auditPaths, schemas: {}, tags: [{ name: 'Audit', description: 'The hash-chained audit trail: read, export, verify, checkpoint' }, { name: 'Keys', description: 'Signing keys' }] },
  ]);
  app.use(knownQueryParameters(openapi.paths as Record<string, unknown>));
  // Authentication: `auth.authorize(action)` / `auth.principalOf(req)` for every protected route.
  const authContext = createAuthContext({ database, config, tokenKeys: deps.tokenKeys, clock: deps.clock });
  const auth = createAuthMiddleware(authContext);
  const evaluator = timedEvaluator(deps.evaluator ?? rulesEvaluator, (ms) => metrics.observeEvaluation(ms));
  // Submissions are evaluated and their reports built in worker threads (src/assessments/
  // report-builder.ts), unless REPORT_WORKERS=0 or an evaluator was given (tests hold or fail it).
  const reportBuilder: ReportBuilder =
    deps.reportBuilder ??
    (deps.evaluator === undefined && config.reportWorkers > 0 ? workerReportBuilder(() => sharedReportPool(config.reportWorkers), (ms) => metrics.observeEvaluation(ms)) : inProcessReportBuilder(evaluator));
  const assessments = new AssessmentService({ db: database.db, evaluator, reportKeys: deps.reportKeys, reportBuilder });
  // Strictest limits on sign-in and token endpoints (per IP), tighter ones on evaluation and
  // submission (per principal, once authenticated), for the API and the forms. The questionnaire
  // forms (and the account page's password change) are counted by their page once the user is
  // known (PageOptions.rateLimit), not here: before authentication the key would be the IP, one
  // budget for a whole hospital behind a NAT.
  app.post(['/v1/auth/login', '/v1/oauth/token', '/login'], rateLimits.login);
  providePageLimiters(app, { evaluate: rateLimits.evaluate, principal: rateLimits.principal(), password: rateLimits.password });
  // What the checks and limiters above refuse, a browser gets as an HTML page, not problem+json
  // (and below, an address that is no page).
  const htmlErrors = pageErrors({ strictTemplates: deps.strictTemplates ?? config.env === 'test', bodyLimitBytes: config.bodyLimitBytes });
  app.use(htmlErrors);
  // Pages for people (forms post urlencoded bodies; they parse their own, before the API's JSON).
  app.use('/static', webStatic());
  app.use(webRoutes({ config, database, tokenKeys: deps.tokenKeys, service: assessments, reportKeys: deps.reportKeys, auth, clock: deps.clock, logger, strictTemplates: deps.strictTemplates ?? config.env === 'test' }));
  app.use(apiBody(config.bodyLimitBytes, FORM_BODY_PATHS));
  app.post(['/v1/evaluate', '/v1/assessments', '/v1/assessments/:id/revisions', '/v1/assessments/:id/revisions/:n/reports'], auth.authenticate, rateLimits.evaluate);
  // A password change runs two scrypt hashes and ends the user's other sessions: per user, a few
  // per sign-in window (src/http/rate-limit; before, only the per-principal 300 a minute applied).
  app.post('/v1/me/password', auth.authenticate, rateLimits.password);
  // Every authenticated API request counts in the per-principal limit, once it is authorised.
  const limited: AuthMiddleware = { ...auth, authorize: withPrincipalLimit(auth.authorize, rateLimits.principal()) };
  app.use(authRoutes(authContext, limited));
  app.use(adminRoutes(authContext, limited));
  // Assessments, reports, audit trail, reference data and the API documentation.
  const pdfs = deps.pdfSigner ? new PdfReports(database.db, deps.pdfSigner, deps.pdfRenderer ?? renderInPool, (ms) => metrics.observePdfRender(ms), deps.clock) : undefined;
  const routeDeps = {
    db: database.db,
    service: assessments,
    evaluator,
    reportKeys: deps.reportKeys,
    authorize: limited.authorize,
    principalOf: auth.principalOf,
    deniedPerMinute: config.auth.auditDeniedPerMinute,
    logger,
    ...(pdfs ? { pdfFor: (report: { id: string; bytes: Uint8Array; jws: string }) => pdfs.pdfFor(report) } : {}),
    ...(deps.pdfSigner ? { pdfCertificate: deps.pdfSigner } : {}),
  };
  app.use(referenceRoutes(limited.authorize));
  app.use(assessmentRoutes(routeDeps));
  app.use(auditRoutes(routeDeps));
  app.use(keyRoutes({ ...routeDeps, tokenKeys: deps.tokenKeys }));
  app.use(docsRoutes(() => openapi));
  for (const router of deps.extraRoutes?.(auth) ?? []) app.use(router);
  app.use(notFound(allowedMethodsFrom(openapi.paths as Record<string, unknown>)));
  // A state-changing API request refused with a client error is recorded in the audit trail.
  app.use(recordRefusals({ db: database.db, bodyLimitBytes: config.bodyLimitBytes, limitPerMinute: config.auth.auditDeniedPerMinute, identify: auth.identify, ...(deps.clock ? { clock: deps.clock } : {}) }));
  // A request the service failed (500) is recorded too: who tried what, and the error's kind.
  app.use(
    recordFailures({
      db: database.db,
      bodyLimitBytes: config.bodyLimitBytes,
      limitPerMinute: config.auth.auditDeniedPerMinute,
      identify: auth.identify,
      onAuditError: (auditErr) => logger.error({ err: auditErr }, 'recording a failed request in the audit trail failed'),
      ...(deps.clock ? { clock: deps.clock } : {}),
    }),
  );
  app.use(htmlErrors);
  app.use(errorHandler(logger, config.bodyLimitBytes));
  return app;
}
