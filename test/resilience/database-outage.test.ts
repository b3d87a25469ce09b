import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { createApp } from '../../src/http/app.js';
import { listen, type RunningServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { example, tempReportKeys } from '../support/fixtures.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { testTokenKeyRing, type TestApp } from '../support/app.js';
import { clientToken, seedClient, seedOrganization } from '../auth/helpers.js';

const enabled = process.env.TEST_DATABASE_URL !== undefined;
if (!enabled) process.stdout.write('TEST_DATABASE_URL not set: the PostgreSQL outage test is skipped\n');
const describeIfPg = enabled ? describe : describe.skip;

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await fn();
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    last = await fn();
  }
  return last;
}

describeIfPg('when PostgreSQL stops and returns', () => {
  let t: TestDatabase;
  let proxy: TcpProxy;
  let viaProxy: Database;
  let server: RunningServer;
  let token: string;
  const body = JSON.stringify({ title: 'Outage', ...example('well-controlled') });

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    const target = new URL(t.url!);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const proxied = new URL(t.url!);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    viaProxy = await openDatabase({ kind: 'postgres', connectionString: proxied.toString(), poolMax: 5, connectionTimeoutMs: 1000, statementTimeoutMs: 5000 });
    const config = loadConfig({ NODE_ENV: 'test', PORT: '0', PASSWORD_HASH_COST: '10', DATABASE_URL: proxied.toString() });
    const tokenKeys = await testTokenKeyRing();
    const reportKeys = await tempReportKeys();
    const app = createApp({ config, database: viaProxy, logger: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })), tokenKeys, reportKeys });
    server = await listen(app, config);
    // The seeding helpers take a TestApp; give them the direct connection.
    const direct = { t, config, url: server.url } as unknown as TestApp;
    const org = await seedOrganization(direct);
    token = await clientToken({ ...direct, url: server.url }, await seedClient(direct, org, ['assessments:write']));
  });
  afterAll(async () => {
    await server.stop(500);
    await viaProxy.close();
    await proxy.close();
    await t.drop();
  });

  const submit = (): Promise<Response> => fetch(`${server.url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  const count = async (): Promise<number> => (await t.database.raw.query<{ n: number }>('SELECT count(*)::int AS n FROM assessments'))[0]!.n;

  it('fails /readyz and answers 503 problem+json without hanging or writing, then recovers by itself', async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await submit()).status).toBe(201);
    const before = await count();

    await proxy.cut();
    const t0 = Date.now();
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toContain('application/problem+json');
    const down = await submit();
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(((await down.json()) as { type: string }).type).toBe('https://hipaa-ai-risk.dev/problems/service-unavailable');
    expect(Date.now() - t0).toBeLessThan(8000);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await count()).toBe(before);

    await proxy.restore();
    const back = await until(() => fetch(`${server.url}/readyz`).then((r) => r.status), (s) => s === 200, 15000);
    expect(back).toBe(200);
    const after = await until(() => submit().then((r) => r.status), (s) => s === 201, 10000);
    expect(after).toBe(201);
    expect(await count()).toBe(before + 1);
  });
});
