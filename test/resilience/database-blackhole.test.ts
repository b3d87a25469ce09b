/**
 * A network black hole between the service and PostgreSQL (a partition, or a failover whose old
 * address stops answering): packets vanish, nothing is refused or reset. Without a client-side
 * query timeout the pool's connections waited for ever and the instance never recovered; with
 * `query_timeout` (statement timeout + QUERY_TIMEOUT_MARGIN_MS) a request fails with a 503 and
 * the stuck connection is destroyed, so once the network heals the pool opens new ones
 * (./black-hole-proxy.ts).
 */
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase, QUERY_TIMEOUT_MARGIN_MS, type Database } from '../../src/db/database.js';
import { createApp } from '../../src/http/app.js';
import { listen, type RunningServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { example, tempReportKeys } from '../support/fixtures.js';
import { testTokenKeyRing, type TestApp } from '../support/app.js';
import { clientToken, seedClient, seedOrganization } from '../auth/helpers.js';
import { blackHoleProxyFor, type BlackHoleProxy } from './black-hole-proxy.js';

const enabled = process.env.TEST_DATABASE_URL !== undefined;
if (!enabled) process.stdout.write('TEST_DATABASE_URL not set: the PostgreSQL black-hole test is skipped\n');
const describeIfPg = enabled ? describe : describe.skip;

const STATEMENT_TIMEOUT_MS = 1000;
const CONNECTION_TIMEOUT_MS = 1000;

describeIfPg('when the network to PostgreSQL black-holes and heals', () => {
  let t: TestDatabase;
  let proxy: BlackHoleProxy;
  let viaProxy: Database;
  let server: RunningServer;
  let token: string;
  let proxiedUrl: string;
  const body = JSON.stringify({ title: 'Black hole', ...example('well-controlled') });

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    ({ proxy, url: proxiedUrl } = await blackHoleProxyFor(t.url!));
    viaProxy = await openDatabase({ kind: 'postgres', connectionString: proxiedUrl, poolMax: 3, connectionTimeoutMs: CONNECTION_TIMEOUT_MS, statementTimeoutMs: STATEMENT_TIMEOUT_MS });
    const config = loadConfig({ NODE_ENV: 'test', PORT: '0', PASSWORD_HASH_COST: '10', DATABASE_URL: proxiedUrl });
    const app = createApp({ config, database: viaProxy, logger: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })), tokenKeys: await testTokenKeyRing(), reportKeys: await tempReportKeys() });
    server = await listen(app, config);
    const direct = { t, config, url: server.url } as unknown as TestApp;
    token = await clientToken(direct, await seedClient(direct, await seedOrganization(direct), ['assessments:write']));
    // The first submission starts the report workers (seconds under jest): not part of the test.
    expect((await submit(30_000)).status).toBe(201);
  }, 40_000);
  afterAll(async () => {
    await server.stop(500);
    await proxy.close();
    await viaProxy.close();
    await t.drop();
  });

  // Bounded by the test, not the service: a request that hangs is a failure, not a jest timeout.
  const submit = (timeoutMs = 8000): Promise<Response> =>
    fetch(`${server.url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body, signal: AbortSignal.timeout(timeoutMs) });

  it('answers 503 within the query timeout during the black hole, and serves again after it heals', async () => {
    // Warm the pool: all three connections open, then idle in the pool.
    const warm = await Promise.all([submit(), submit(), submit()]);
    expect(warm.map((r) => r.status)).toEqual([201, 201, 201]);

    proxy.blackHole();
    const t0 = Date.now();
    // More requests than connections: some wait on a silent pooled connection, the rest for one.
    const during = await Promise.all(Array.from({ length: 5 }, () => submit()));
    const elapsed = Date.now() - t0;
    for (const res of during) {
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.headers.get('retry-after')).toBe('5');
    }
    // Each request waits at most the query timeout on a silent connection, or the connection
    // timeout for a new one; a few of those in sequence at most, never for ever.
    expect(elapsed).toBeLessThan(2 * (STATEMENT_TIMEOUT_MS + QUERY_TIMEOUT_MARGIN_MS) + 2 * CONNECTION_TIMEOUT_MS + 1000);
    expect((await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(8000) })).status).toBe(503);

    proxy.heal();
    const healed = Date.now();
    let status = 0;
    while (status !== 201 && Date.now() - healed < 10_000) status = (await submit()).status;
    expect(status).toBe(201);
    // The stuck connections were dropped, not handed out again: the next requests all succeed.
    const next = await Promise.all([submit(), submit(), submit(), submit()]);
    expect(next.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  }, 20_000);

  it('a connection whose query timed out is dropped, not handed out again (one connection, released by Kysely as a healthy one would be)', async () => {
    const single = await openDatabase({ kind: 'postgres', connectionString: proxiedUrl, poolMax: 1, connectionTimeoutMs: CONNECTION_TIMEOUT_MS, statementTimeoutMs: STATEMENT_TIMEOUT_MS });
    try {
      await sql`SELECT 1`.execute(single.db);
      proxy.blackHole();
      const t0 = Date.now();
      await expect(sql`SELECT 1`.execute(single.db)).rejects.toThrow('Query read timeout');
      expect(Date.now() - t0).toBeLessThan(STATEMENT_TIMEOUT_MS + QUERY_TIMEOUT_MARGIN_MS + 1000);
      proxy.heal();
      // Kept in the pool, the connection would queue this behind its unanswered statement and
      // time out again.
      const t1 = Date.now();
      await sql`SELECT 1`.execute(single.db);
      expect(Date.now() - t1).toBeLessThan(STATEMENT_TIMEOUT_MS);
    } finally {
      await single.close();
    }
  }, 15_000);
});
