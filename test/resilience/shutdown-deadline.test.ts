/**
 * SIGTERM while the database black-holes (./black-hole-proxy.ts) under a request in flight: the
 * graceful stop waits SHUTDOWN_TIMEOUT_MS for the request, then closes the database, which waits
 * for the connection stuck in that request (up to the query timeout, here a minute). src/main.ts
 * exits with 1 and says why once SHUTDOWN_TIMEOUT_MS + 5 s have passed, instead of hanging until
 * the orchestrator's SIGKILL. As `npm start` runs, in a child process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import type { TestApp } from '../support/app.js';
import { clientToken, seedClient, seedOrganization } from '../auth/helpers.js';
import { blackHoleProxyFor, type BlackHoleProxy } from './black-hole-proxy.js';

const enabled = process.env.TEST_DATABASE_URL !== undefined;
if (!enabled) process.stdout.write('TEST_DATABASE_URL not set: the shutdown-deadline test (a black-holed PostgreSQL) is skipped\n');
const describeIfPg = enabled ? describe : describe.skip;

const SHUTDOWN_TIMEOUT_MS = 1000;

describeIfPg('SIGTERM while the database no longer answers', () => {
  let t: TestDatabase;
  let proxy: BlackHoleProxy;
  let service: ServiceProcess;

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    const proxied = await blackHoleProxyFor(t.url!);
    proxy = proxied.proxy;
    service = startServiceProcess({
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'svc-deadline-')),
      DATABASE_URL: proxied.url,
      PASSWORD_HASH_COST: '10',
      REPORT_WORKERS: '0',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      // The stuck statement would be given up only after a minute.
      DB_STATEMENT_TIMEOUT_MS: '60000',
    });
    await service.ready;
  }, 30_000);
  afterAll(async () => {
    if (service?.child.exitCode === null) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
    await proxy?.close();
    await t?.drop();
  });

  it('exits with 1 once SHUTDOWN_TIMEOUT_MS + 5 s have passed, logging why', async () => {
    const url = await service.ready;
    const direct = { t } as unknown as TestApp;
    const token = await clientToken({ url }, await seedClient(direct, await seedOrganization(direct), ['assessments:write']));
    const body = JSON.stringify({ title: 'Shutdown deadline', ...example('well-controlled') });
    const submit = (): Promise<number> =>
      fetch(`${url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body }).then(
        (r) => r.status,
        () => 0,
      );
    expect(await submit()).toBe(201);

    proxy.blackHole();
    const inFlight = submit();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const t0 = Date.now();
    service.child.kill('SIGTERM');
    const kill = setTimeout(() => service.child.kill('SIGKILL'), 12_000);
    const code = await service.exited;
    clearTimeout(kill);
    const elapsed = Date.now() - t0;
    await inFlight;

    expect(code).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS + 5000 - 100);
    expect(elapsed).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 5000 + 3000);
    expect(service.output()).toMatch(/"msg":"shutdown did not finish in time[^"]*: exiting now"/);
  }, 20_000);
});
