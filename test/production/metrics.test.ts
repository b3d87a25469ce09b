/**
 * /metrics: protected (404 without a configured token, 401 without the right one, or a separate
 * loopback listener), per-app registries, route templates instead of raw URLs, evaluation and
 * PDF timers, pool gauges, process metrics; and W3C traceparent propagation into the logs.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { createReportPool, workerReportBuilder, type BuildReportRequest } from '../../src/assessments/report-builder.js';
import { createMetrics, listenMetrics, routeLabel } from '../../src/http/metrics/index.js';
import { parseTraceparent } from '../../src/http/metrics/trace-context.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { example, tempReportKeys } from '../support/fixtures.js';
import { sample, startInstance, type Instance } from './support.js';

const TOKEN = 'metrics-token-0123456789abcdefghijklmnop';

function probeRoutes(): readonly Router[] {
  const router = Router();
  router.get('/probe/:id', (_req, res) => {
    res.json({ ok: true });
  });
  const nested = Router({ mergeParams: true });
  nested.get('/items/:item', () => {
    throw new Error('boom');
  });
  router.use('/orgs/:org', nested);
  return [router];
}

describe('/metrics on the main listener', () => {
  let t: TestDatabase;
  let app: Instance;
  let other: Instance;
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    app = await startInstance(t.database, { env: { METRICS_TOKEN: TOKEN }, extraRoutes: probeRoutes });
    other = await startInstance(t.database, {});
  });
  afterAll(async () => {
    await app.stop();
    await other.stop();
    await t.drop();
  });

  const scrape = async (instance: Instance = app): Promise<string> => {
    const res = await fetch(`${instance.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it('is a 401 without the bearer token or with a wrong one, and does not exist without METRICS_TOKEN', async () => {
    const none = await fetch(`${app.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(none.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await fetch(`${app.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await fetch(`${app.url}/metrics`, { headers: { Authorization: TOKEN } })).status).toBe(401);
    expect((await fetch(`${other.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  });

  it('labels requests by route template, never by raw URL, and unmatched requests as "unmatched"', async () => {
    const id = randomUUID();
    const org = randomUUID();
    await fetch(`${app.url}/probe/${id}`);
    await fetch(`${app.url}/probe/another-${id}`);
    // An error thrown inside a router mounted under a parameter: 500, labelled with the pattern
    // matched (the mount's value, an id, becomes :id).
    await fetch(`${app.url}/orgs/${org}/items/${id}`);
    await fetch(`${app.url}/no/such/${id}`);
    const text = await scrape();
    expect(text).not.toContain(id);
    expect(text).not.toContain(org);
    expect(sample(text, 'http_requests_total', { method: 'GET', route: '/probe/:id', status: '200' })).toBe(2);
    expect(sample(text, 'http_requests_total', { method: 'GET', route: '/orgs/:id/items/:item', status: '500' })).toBe(1);
    expect(sample(text, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'http_request_duration_seconds_count', { method: 'GET', route: '/probe/:id', status: '200' })).toBe(2);
    expect(sample(text, 'http_request_duration_seconds_bucket', { method: 'GET', route: '/probe/:id', status: '200', le: '+Inf' })).toBe(2);
  });

  it('keeps one registry per app: the other app counts nothing of this one', async () => {
    await fetch(`${app.url}/healthz`);
    const mine = await scrape();
    expect(sample(mine, 'http_requests_total', { method: 'GET', route: '/healthz', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(await other.metrics.registry.metrics(), 'http_requests_total', { method: 'GET', route: '/healthz', status: '200' })).toBeUndefined();
  });

  it('exposes evaluation and PDF timings, pool gauges and the rate-limit counters', async () => {
    app.metrics.observeEvaluation(3);
    const stop = app.metrics.startPdfRenderTimer();
    await new Promise((r) => setTimeout(r, 5));
    expect(stop()).toBeGreaterThanOrEqual(4);
    const text = await scrape();
    expect(sample(text, 'evaluation_duration_seconds_count')).toBe(1);
    expect(sample(text, 'evaluation_duration_seconds_bucket', { le: '0.005' })).toBe(1);
    expect(sample(text, 'pdf_render_duration_seconds_count')).toBe(1);
    expect(sample(text, 'db_pool_connections', { state: 'total' })).toBe(1); // PGlite: one connection
    expect(text).toContain('# TYPE rate_limit_rejections_total counter');
    expect(text).toContain('# TYPE rate_limit_store_errors_total counter');
    // The app's worker pools are on the gauge whether or not this process started them yet.
    for (const pool of ['report', 'pdf']) for (const state of ['workers', 'busy', 'queued']) expect(sample(text, 'worker_pool_tasks', { pool, state })).toBeGreaterThanOrEqual(0);
  });
});

describe('worker_pool_tasks', () => {
  it("shows a pool's workers, busy workers and waiting requests at scrape time, and zeros for a pool not started", async () => {
    const ring = await tempReportKeys();
    const pool = createReportPool({ size: 1 });
    try {
      const metrics = createMetrics({ processMetrics: false, workerPools: { report: () => pool.stats(), pdf: () => undefined } });
      const build = workerReportBuilder(() => pool);
      const request = (): BuildReportRequest => ({
        input: example('poorly-controlled'),
        subject: { assessmentId: randomUUID(), title: 't', organizationId: randomUUID(), organizationName: 'o', revision: { revision: 1, submittedAt: '2026-12-07T00:00:00.000Z', submittedBy: { type: 'client', id: randomUUID(), name: 'c' } } },
        reportId: randomUUID(),
        key: { kid: ring.current.kid, privateKey: ring.current.privateKey },
      });
      await build.build(request()); // the worker is up
      const states = async (): Promise<Record<string, number | undefined>> => {
        const text = await metrics.registry.metrics();
        return Object.fromEntries(['workers', 'busy', 'queued'].map((state) => [state, sample(text, 'worker_pool_tasks', { pool: 'report', state })]));
      };
      // Two requests for one worker: one is built, the other waits (replies arrive as messages,
      // which cannot run while the scrape only awaits promises).
      const pending = [build.build(request()), build.build(request())];
      expect(await states()).toEqual({ workers: 1, busy: 1, queued: 1 });
      await Promise.all(pending);
      expect(await states()).toEqual({ workers: 1, busy: 0, queued: 0 });
      const text = await metrics.registry.metrics();
      expect(['workers', 'busy', 'queued'].map((state) => sample(text, 'worker_pool_tasks', { pool: 'pdf', state }))).toEqual([0, 0, 0]);
    } finally {
      await pool.close();
    }
  });
});

describe('process metrics and the internal listener', () => {
  it('serves process metrics on a loopback-only listener; the token applies there too when set', async () => {
    const metrics = createMetrics();
    const open = await listenMetrics(metrics, { port: 0, host: '127.0.0.1', token: undefined });
    const guarded = await listenMetrics(metrics, { port: 0, host: '127.0.0.1', token: TOKEN });
    try {
      const res = await fetch(open!.url);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).toContain('nodejs_eventloop_lag_seconds');
      expect((await fetch(open!.url.replace('/metrics', '/other'))).status).toBe(404);
      expect((await fetch(guarded!.url)).status).toBe(401);
      expect((await fetch(guarded!.url, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    } finally {
      await open!.close();
      await guarded!.close();
    }
    expect(await listenMetrics(metrics, { port: undefined, host: '127.0.0.1', token: undefined })).toBeUndefined();
  });

  it('route labels replace id-like segments that a mount path may carry', () => {
    expect(routeLabel(`/v1/orgs/${randomUUID()}/items/:id`)).toBe('/v1/orgs/:id/items/:id');
    expect(routeLabel('/v1/assessments/123/revisions')).toBe('/v1/assessments/:id/revisions');
    expect(routeLabel('/v1/assessments/:id/reports')).toBe('/v1/assessments/:id/reports');
  });
});

describe('W3C traceparent', () => {
  let t: TestDatabase;
  let app: Instance;
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    app = await startInstance(t.database);
  });
  afterAll(async () => {
    await app.stop();
    await t.drop();
  });

  it('continues a valid incoming trace with a new span, and logs the trace id with the request', async () => {
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await fetch(`${app.url}/healthz`, { headers: { traceparent: incoming } });
    const out = parseTraceparent(res.headers.get('traceparent') ?? undefined);
    expect(out?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(out?.parentId).not.toBe('00f067aa0ba902b7');
    expect(out?.flags).toBe(1);
    const line = app.logs().split('\n').find((l) => l.includes('"msg":"request"') && l.includes('4bf92f3577b34da6a3ce929d0e0e4736'));
    expect(line).toBeDefined();
  });

  it.each([['00-00000000000000000000000000000000-00f067aa0ba902b7-01'], ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'], ['garbage'], ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']])('starts a new trace for an invalid header %s', async (bad) => {
    const res = await fetch(`${app.url}/healthz`, { headers: { traceparent: bad } });
    const out = parseTraceparent(res.headers.get('traceparent') ?? undefined);
    expect(out).toBeDefined();
    expect(bad).not.toContain(out!.traceId);
    expect(out!.flags).toBe(0);
  });
});
