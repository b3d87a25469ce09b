/**
 * Serving `/metrics`. Two ways, both safe by default:
 * - on the main listener, only when METRICS_TOKEN is set, and only with
 *   `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise; 404 when no token is configured, so
 *   the endpoint does not exist on a public listener by accident);
 * - on a separate internal listener (METRICS_PORT, bound to METRICS_HOST, default 127.0.0.1),
 *   for a scraper on the same host or private network; METRICS_TOKEN is required there too if set.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { bind } from '../server.js';
import { Router, type Request, type Response } from 'express';
import type { MetricsConfig } from '../../config/index.js';
import type { Metrics } from './index.js';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time check of `Authorization: Bearer <token>`. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

async function render(metrics: Metrics, res: Response): Promise<void> {
  const body = await metrics.registry.metrics();
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', metrics.registry.contentType);
  res.end(body);
}

/**
 * `GET /metrics` for the main app. Guarantees: with no token configured, the route is absent
 * (the app's 404); with one, a missing or wrong bearer token is a 401 problem with
 * `WWW-Authenticate`, compared in constant time.
 */
export function metricsRouter(metrics: Metrics, config: Pick<MetricsConfig, 'token'>): Router {
  const router = Router();
  const token = config.token;
  if (token === undefined) return router;
  router.get('/metrics', async (req: Request, res: Response) => {
    if (!bearerMatches(req.get('authorization'), token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      res.status(401).type('application/problem+json').send(JSON.stringify({ type: 'https://hipaa-ai-risk.dev/problems/unauthenticated', title: 'Authentication required', status: 401, detail: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>', instance: '/metrics', requestId: req.id }));
      return;
    }
    await render(metrics, res);
  });
  return router;
}

/** The internal metrics listener. */
export interface MetricsListener {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the internal listener when METRICS_PORT is set (else resolves undefined). Guarantees:
 * bound to METRICS_HOST only (default 127.0.0.1); serves `GET /metrics` and nothing else (404);
 * requires the bearer token when METRICS_TOKEN is set; short timeouts against slow clients.
 */
export async function listenMetrics(metrics: Metrics, config: MetricsConfig): Promise<MetricsListener | undefined> {
  if (config.port === undefined) return undefined;
  const token = config.token;
  const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer realm="metrics"' }).end('unauthorized\n');
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' }).end(body),
      () => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics collection failed\n'),
    );
  });
  const { url } = await bind(server, config.port, config.host);
  return {
    url: `${url}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
