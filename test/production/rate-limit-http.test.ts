/**
 * Rate limits through the real app: draft-8 headers, 429 problem+json with Retry-After, metrics
 * and audit of rejections, `trust proxy` (a forged X-Forwarded-For buys no fresh quota), and one
 * quota shared by two app instances over the same PostgreSQL database or the same Redis.
 */
import express, { type Request } from 'express';
import { openDatabase, type Database } from '../../src/db/database.js';
import { errorHandler, notFound } from '../../src/http/errors-middleware.js';
import { listen } from '../../src/http/server.js';
import { requestId } from '../../src/http/request-id.js';
import { createRateLimiters } from '../../src/http/rate-limit/index.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';
import { roomInWindow } from '../support/rate-limit-window.js';
import { captureLogger, redisAvailable, REDIS_URL, sample, startInstance, testConfig, uniquePrefix, type Instance } from './support.js';

const PROBLEM = 'https://hipaa-ai-risk.dev/problems/rate-limited';

async function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return res;
}

describe.each(DATABASE_KINDS)('global per-IP limit on %s (shared SQL store)', (kind) => {
  let t: TestDatabase;
  let app: Instance;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    app = await startInstance(t.database, { env: { RATE_LIMIT_STORE: 'postgres', RATE_LIMIT_GLOBAL_PER_IP: '3', RATE_LIMIT_WINDOW_MS: '60000' } });
  });
  afterAll(async () => {
    await app.stop();
    await t.drop();
  });

  it('sends draft-8 RateLimit headers, then a 429 problem with Retry-After, counted and audited', async () => {
    await roomInWindow(5000);
    const first = await get(`${app.url}/v1/nothing-here`);
    expect(first.status).toBe(404);
    expect(first.headers.get('ratelimit')).toMatch(/^"global"; r=2; t=\d+$/);
    expect(first.headers.get('ratelimit-policy')).toMatch(/^"global"; q=3; w=60; pk=:[A-Za-z0-9+/=]+:$/);
    await get(`${app.url}/v1/nothing-here`);
    await get(`${app.url}/v1/nothing-here`);
    const res = await fetch(`${app.url}/v1/nothing-here`);
    expect(res.status).toBe(429);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.headers.get('ratelimit')).toMatch(/^"global"; r=0; t=\d+$/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ type: PROBLEM, status: 429, title: 'Too many requests' });
    expect(body.detail).toContain('global limit is 3 per 60 s');
    expect(body.requestId).toBe(res.headers.get('x-request-id'));

    expect(sample(await app.metrics.registry.metrics(), 'rate_limit_rejections_total', { limiter: 'global' })).toBe(1);
    await app.rateLimits.close(); // drains the audit writes
    const events = await t.database.raw.query<{ decision: { status: number; reason: string; route: string } }>("SELECT decision FROM audit_events WHERE action = 'request.denied'");
    expect(events.map((e) => e.decision)).toContainEqual(expect.objectContaining({ status: 429, reason: 'rate_limited:global', route: '/v1/nothing-here' }));
  });

  it('does not limit health checks (load balancers poll them from one address)', async () => {
    expect((await get(`${app.url}/healthz`)).status).toBe(200);
    expect((await get(`${app.url}/readyz`)).status).toBe(200);
  });

  it('raises none of express-rate-limit\'s misconfiguration warnings (trust proxy, IPv6 keys, double counting)', () => {
    expect(app.logs()).not.toMatch(/ERR_ERL_|WRN_ERL_/);
  });
});

describe('trust proxy: a forged X-Forwarded-For buys no fresh quota', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
  });
  afterAll(async () => {
    await t.drop();
  });

  const forged = (i: number): string => `198.51.100.${i}`;

  it('TRUST_PROXY unset: X-Forwarded-For is ignored, the socket address is the key', async () => {
    const app = await startInstance(t.database, { env: { RATE_LIMIT_GLOBAL_PER_IP: '2' } });
    try {
      const statuses = [];
      for (let i = 1; i <= 4; i++) statuses.push((await get(`${app.url}/healthz-x`, { 'X-Forwarded-For': forged(i) })).status);
      expect(statuses).toEqual([404, 404, 429, 429]);
    } finally {
      await app.stop();
    }
  });

  it.each([['1'], ['loopback'], ['127.0.0.1']])('TRUST_PROXY=%s: only the address our proxy appended counts, not what the client wrote before it', async (trust) => {
    const app = await startInstance(t.database, { env: { RATE_LIMIT_GLOBAL_PER_IP: '2', TRUST_PROXY: trust } });
    try {
      // What our proxy forwards: the client's own (forged) header, then the peer address it saw.
      const statuses = [];
      for (let i = 1; i <= 4; i++) statuses.push((await get(`${app.url}/x`, { 'X-Forwarded-For': `${forged(i)}, 203.0.113.7` })).status);
      expect(statuses).toEqual([404, 404, 429, 429]);
      // Another real client behind the same proxy has its own quota.
      expect((await get(`${app.url}/x`, { 'X-Forwarded-For': `${forged(9)}, 203.0.113.8` })).status).toBe(404);
    } finally {
      await app.stop();
    }
  });

  it('counts IPv6 clients per /56, so rotating addresses within a subscriber prefix buys nothing', async () => {
    const app = await startInstance(t.database, { env: { RATE_LIMIT_GLOBAL_PER_IP: '2', TRUST_PROXY: '1' } });
    try {
      const statuses = [];
      for (const ip of ['2001:db8:0:1::1', '2001:db8:0:2::2', '2001:db8:0:3::3']) statuses.push((await get(`${app.url}/x`, { 'X-Forwarded-For': ip })).status);
      expect(statuses).toEqual([404, 404, 429]);
      expect((await get(`${app.url}/x`, { 'X-Forwarded-For': '2001:db8:1::1' })).status).toBe(404);
    } finally {
      await app.stop();
    }
  });
});

describe('principal, evaluate and login limiters', () => {
  let t: TestDatabase;
  let url: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    const config = testConfig({ RATE_LIMIT_STORE: 'postgres', RATE_LIMIT_PER_PRINCIPAL: '3', RATE_LIMIT_EVALUATE: '2', RATE_LIMIT_LOGIN: '1', RATE_LIMIT_GLOBAL_PER_IP: '1000' });
    const { logger } = captureLogger(config);
    // The test stands in for `authenticate`: the principal comes from a header.
    const keyOf = (req: Request): string | undefined => req.get('x-test-principal');
    const limits = createRateLimiters({ config, database: t.database, logger, keyOf, purgeIntervalMs: 0 });
    const app = express();
    app.use(requestId());
    app.use(limits.global);
    app.post(['/v1/auth/login', '/v1/oauth/token'], limits.login, (_req, res) => res.json({ ok: true }));
    app.use('/v1', limits.principal());
    app.post(['/v1/evaluate', '/v1/assessments', '/v1/assessments/:id/revisions'], limits.evaluate, (_req, res) => res.json({ ok: true }));
    app.get('/v1/thing', (_req, res) => res.json({ ok: true }));
    app.use(notFound());
    app.use(errorHandler(logger, 1024));
    const server = await listen(app, config);
    url = server.url;
    close = async () => {
      await server.stop(1000);
      await limits.close();
    };
  });
  afterAll(async () => {
    await close();
    await t.drop();
  });

  beforeEach(() => roomInWindow(5000));

  const post = (path: string, who?: string) => fetch(`${url}${path}`, { method: 'POST', headers: who ? { 'x-test-principal': who } : {} });

  it('login and token endpoints share the strictest per-IP limit', async () => {
    expect((await post('/v1/auth/login')).status).toBe(200);
    const res = await post('/v1/oauth/token');
    expect(res.status).toBe(429);
    expect(res.headers.get('ratelimit')).toContain('"login"; r=0');
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('evaluation endpoints are limited per principal; each response lists every limiter that counted it', async () => {
    const a1 = await post('/v1/evaluate', 'user:a');
    expect(a1.status).toBe(200);
    expect(a1.headers.get('ratelimit')).toMatch(/"global"; r=\d+; t=\d+, "principal"; r=2; t=\d+, "evaluate"; r=1; t=\d+/);
    expect((await post('/v1/assessments', 'user:a')).status).toBe(200);
    expect((await post('/v1/assessments/123/revisions', 'user:a')).status).toBe(429);
    expect((await post('/v1/evaluate', 'client:b')).status).toBe(200);
  });

  it('the per-principal limit counts every authenticated request; anonymous ones only per IP', async () => {
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/v1/thing`, { headers: { 'x-test-principal': 'user:c' } })).status).toBe(200);
    const res = await fetch(`${url}/v1/thing`, { headers: { 'x-test-principal': 'user:c' } });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { detail: string }).detail).toContain('principal limit');
    const anon = await fetch(`${url}/v1/thing`);
    expect(anon.status).toBe(200);
    expect(anon.headers.get('ratelimit')).not.toContain('"principal"');
  });
});

(process.env.TEST_DATABASE_URL ? describe : describe.skip)('two instances on one PostgreSQL database', () => {
  it('share one quota', async () => {
    const t = await createTestDatabase('postgres');
    const second = await openDatabase({ kind: 'postgres', connectionString: t.url!, poolMax: 4 });
    const env = { RATE_LIMIT_STORE: 'postgres', RATE_LIMIT_GLOBAL_PER_IP: '4' };
    const a = await startInstance(t.database, { env });
    const b = await startInstance(second, { env });
    try {
      await roomInWindow(5000);
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await get(`${i % 2 ? a.url : b.url}/x`)).status);
      expect(statuses).toEqual([404, 404, 404, 404, 429, 429]);
      expect(sample(await a.metrics.registry.metrics(), 'rate_limit_rejections_total', { limiter: 'global' })).toBe(1);
      expect(sample(await b.metrics.registry.metrics(), 'rate_limit_rejections_total', { limiter: 'global' })).toBe(1);
    } finally {
      await a.stop();
      await b.stop();
      await second.close();
      await t.drop();
    }
  });
});

describe('two instances on one Redis', () => {
  it('share one quota under one prefix, and not across prefixes', async () => {
    if (!(await redisAvailable())) return; // no Redis here
    const t = await createTestDatabase('pglite');
    const prefix = uniquePrefix();
    const env = { REDIS_URL, RATE_LIMIT_GLOBAL_PER_IP: '4' };
    const a = await startInstance(t.database, { env, prefix });
    const b = await startInstance(t.database, { env, prefix });
    const c = await startInstance(t.database, { env, prefix: uniquePrefix() });
    try {
      expect(a.rateLimits.store).toBe('redis');
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await get(`${i % 2 ? a.url : b.url}/x`)).status);
      expect(statuses).toEqual([404, 404, 404, 404, 429, 429]);
      expect((await get(`${c.url}/x`)).status).toBe(404);
    } finally {
      await a.stop();
      await b.stop();
      await c.stop();
      await t.drop();
    }
  });
});

describe('shared store down', () => {
  it('keeps limiting per instance, counts the failures, and never fails the request', async () => {
    // No database needed: the Redis store and no audit.
    const database = {} as Database;
    // Nothing listens on port 1: every Redis call fails at once.
    const config = testConfig({ REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_GLOBAL_PER_IP: '2', RATE_LIMIT_STORE_TIMEOUT_MS: '200' });
    const { logger, logs } = captureLogger(config);
    const { createMetrics } = await import('../../src/http/metrics/index.js');
    const metrics = createMetrics({ processMetrics: false });
    const limits = createRateLimiters({ config, database, logger, metrics, prefix: uniquePrefix(), audit: false });
    await expect(limits.ready(300)).rejects.toThrow(/not ready within 300 ms/);
    const server = express();
    server.use(requestId(), limits.global, (_req, res) => res.json({ ok: true }));
    server.use(errorHandler(logger, 1024));
    const running = await listen(server, config);
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await get(running.url)).status);
      expect(statuses).toEqual([200, 200, 429]);
      expect(sample(await metrics.registry.metrics(), 'rate_limit_store_errors_total', { limiter: 'global' })).toBe(3);
      expect(logs()).toContain('rate-limit store unavailable: counting in this instance only');
    } finally {
      await running.stop(1000);
      await limits.close();
    }
  });
});
