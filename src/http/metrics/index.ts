/**
 * Prometheus metrics, one registry per app instance (never prom-client's global default
 * registry, so tests can build several apps in one process).
 *
 * - `http_requests_total` and `http_request_duration_seconds` by method, route template and
 *   status. The route is the matched pattern (`/v1/assessments/:id`), never the raw URL; requests
 *   no route matched (404s, early rejections) are `unmatched`, so scanners cannot grow the series.
 * - `evaluation_duration_seconds`, `pdf_render_duration_seconds`: fed by `observeEvaluation` /
 *   `observePdfRender` or the timers.
 * - `db_pool_connections{state}`: from `database.poolStats()` at scrape time.
 * - `worker_pool_tasks{pool,state}`: the worker pools' workers, busy workers and waiting
 *   requests at scrape time (0 for a pool not started yet).
 * - `rate_limit_rejections_total{limiter}`, `rate_limit_store_errors_total{limiter}`,
 *   `audit_denials_unforwarded_total`.
 * - process metrics (CPU, memory, event loop lag, GC, handles) by `collectDefaultMetrics`.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../../db/database.js';
import type { WorkerPoolStats } from '../../util/worker-pool.js';

export { metricsRouter, listenMetrics, type MetricsListener } from './endpoint.js';
export { traceContext, type TraceContext } from './trace-context.js';

/** The metrics of one app instance. */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly evaluationDuration: Histogram;
  readonly pdfRenderDuration: Histogram;
  readonly rateLimitRejections: Counter<'limiter'>;
  readonly rateLimitStoreErrors: Counter<'limiter'>;
  readonly auditDenialsUnforwarded: Counter;
  /** Records one evaluation that took `ms` milliseconds. */
  observeEvaluation(ms: number): void;
  /** Records one PDF rendering that took `ms` milliseconds. */
  observePdfRender(ms: number): void;
  /** Starts a timer; calling the returned function records the evaluation and returns its ms. */
  startEvaluationTimer(): () => number;
  /** Starts a timer; calling the returned function records the PDF rendering and returns its ms. */
  startPdfRenderTimer(): () => number;
  /** Express middleware recording every request's count and latency: mount first. */
  readonly middleware: RequestHandler;
}

export interface MetricsOptions {
  /** Pool gauges read `poolStats()` at scrape time. */
  readonly database?: Pick<Database, 'poolStats'>;
  /** Worker pools by name (`report`, `pdf`): their stats at scrape time, undefined while not started. */
  readonly workerPools?: Readonly<Record<string, () => WorkerPoolStats | undefined>>;
  /** Process metrics (default true). */
  readonly processMetrics?: boolean;
}

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const EVALUATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const PDF_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMERIC = /^\d+$/;
const OPAQUE = /^[A-Za-z0-9_-]{16,}$/;

/**
 * A route label from a matched pattern. Belt and braces for routers mounted under a path with
 * parameters (their `baseUrl` holds the values): any segment that looks like an id becomes `:id`.
 */
export function routeLabel(pattern: string): string {
  const normalised = pattern
    .split('/')
    .map((s) => (UUID.test(s) || NUMERIC.test(s) || (OPAQUE.test(s) && /\d/.test(s)) ? ':id' : s))
    .join('/');
  return normalised.length > 200 ? normalised.slice(0, 200) : normalised || '/';
}

/**
 * Captures the route pattern at the moment the router matches it: the router assigns
 * `req.route` while `req.baseUrl` is still the mount path, which is no longer true once an
 * error has left a mounted router.
 */
function captureRoute(req: Request): () => string | undefined {
  let route: unknown;
  let pattern: string | undefined;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set(value: unknown) {
      route = value;
      const path = (value as { path?: unknown } | undefined)?.path;
      if (typeof path === 'string') pattern = req.baseUrl + path;
    },
  });
  return () => pattern;
}

/**
 * Creates the registry and every metric. Guarantees: a new registry each call (several apps in
 * one process do not collide); labels are bounded (method, route template, status, limiter).
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({ name: 'http_requests_total', help: 'HTTP requests by method, route template and status', labelNames: ['method', 'route', 'status'] as const, registers: [registry] });
  const httpDuration = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request latency by method, route template and status', labelNames: ['method', 'route', 'status'] as const, buckets: HTTP_BUCKETS, registers: [registry] });
  const evaluationDuration = new Histogram({ name: 'evaluation_duration_seconds', help: 'Time to evaluate one set of answers against the rulesets', buckets: EVALUATION_BUCKETS, registers: [registry] });
  const pdfRenderDuration = new Histogram({ name: 'pdf_render_duration_seconds', help: 'Time to render (and sign) one PDF report', buckets: PDF_BUCKETS, registers: [registry] });
  const rateLimitRejections = new Counter({ name: 'rate_limit_rejections_total', help: 'Requests rejected with 429, by limiter', labelNames: ['limiter'] as const, registers: [registry] });
  const rateLimitStoreErrors = new Counter({ name: 'rate_limit_store_errors_total', help: 'Shared rate-limit store failures or timeouts (counted in this instance instead), by limiter', labelNames: ['limiter'] as const, registers: [registry] });
  const auditDenialsUnforwarded = new Counter({ name: 'audit_denials_unforwarded_total', help: 'Rate-limited requests not forwarded to the audit trail (flood bound reached in this instance)', registers: [registry] });
  const database = options.database;
  if (database) {
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool: total and idle connections, and requests waiting for one',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const s = database.poolStats();
        this.set({ state: 'total' }, s.total);
        this.set({ state: 'idle' }, s.idle);
        this.set({ state: 'waiting' }, s.waiting);
      },
    });
  }

  const workerPools = options.workerPools;
  if (workerPools) {
    new Gauge({
      name: 'worker_pool_tasks',
      help: 'Worker thread pools (report building, PDF rendering): workers, requests being worked on (busy) and requests waiting (queued)',
      labelNames: ['pool', 'state'] as const,
      registers: [registry],
      collect() {
        for (const [pool, stats] of Object.entries(workerPools)) {
          const s = stats() ?? { workers: 0, busy: 0, queued: 0 };
          this.set({ pool, state: 'workers' }, s.workers);
          this.set({ pool, state: 'busy' }, s.busy);
          this.set({ pool, state: 'queued' }, s.queued);
        }
      },
    });
  }

  const timer = (h: Histogram) => (): (() => number) => {
    const start = process.hrtime.bigint();
    return () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      h.observe(ms / 1000);
      return ms;
    };
  };

  const middleware: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    const pattern = captureRoute(req);
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const matched = pattern();
      const labels = { method: req.method, route: matched === undefined ? 'unmatched' : routeLabel(matched), status: String(res.statusCode) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
    });
    next();
  };

  return {
    registry,
    httpRequests,
    httpDuration,
    evaluationDuration,
    pdfRenderDuration,
    rateLimitRejections,
    rateLimitStoreErrors,
    auditDenialsUnforwarded,
    observeEvaluation: (ms) => evaluationDuration.observe(ms / 1000),
    observePdfRender: (ms) => pdfRenderDuration.observe(ms / 1000),
    startEvaluationTimer: timer(evaluationDuration),
    startPdfRenderTimer: timer(pdfRenderDuration),
    middleware,
  };
}
