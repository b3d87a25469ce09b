/**
 * PostgreSQL backends terminated under load (pg_terminate_backend, as a failover or an operator
 * does) while the service's pool has them checked out: the process must stay up. pg-pool listens
 * for a client's 'error' only while the client is idle, so one lost between two queries of a
 * request crashed the process (unhandled 'error' event) until every client got a listener of
 * its own (src/db/database.ts). The service runs as `npm start` does, in a child process,
 * connected as a member of hipaa_app; its backends are terminated every 150 ms during concurrent
 * submissions over real HTTP.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { verifyAuditChain } from '../../src/audit/verify.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { dropTestRole, openAsAppLoginRole } from '../support/app-role.js';
import { example } from '../support/fixtures.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import type { TestApp } from '../support/app.js';
import { clientToken, seedClient, seedOrganization } from '../auth/helpers.js';

const enabled = process.env.TEST_DATABASE_URL !== undefined;
if (!enabled) process.stdout.write('TEST_DATABASE_URL not set: the terminated-backend test (pg_terminate_backend) is skipped\n');
const describeIfPg = enabled ? describe : describe.skip;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeIfPg('backends terminated while the pool has them checked out', () => {
  let t: TestDatabase;
  let role: string | undefined;
  let service: ServiceProcess;
  let url: string;
  let token: string;
  let admin: pg.Client;

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    const login = await openAsAppLoginRole(t, 1);
    role = login.role;
    await login.database.close();
    service = startServiceProcess({
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'svc-terminated-')),
      DATABASE_URL: login.url,
      PASSWORD_HASH_COST: '10',
      REPORT_WORKERS: '1',
    });
    url = await service.ready;
    const direct = { t } as unknown as TestApp;
    token = await clientToken({ url }, await seedClient(direct, await seedOrganization(direct), ['assessments:write']));
    admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
  }, 30_000);
  afterAll(async () => {
    await admin?.end();
    if (service?.child.exitCode === null) {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    await t?.drop();
    await dropTestRole(role);
  });

  it('stays up; every submission is a 201 or a 503 problem, every 201 is stored, the audit chain verifies', async () => {
    const body = JSON.stringify({ title: 'Terminated backends', ...example('well-controlled') });
    const statuses: number[] = [];
    const created: string[] = [];
    const failures: string[] = [];
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        const res = await fetch(`${url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
        statuses.push(res.status);
        const text = await res.text();
        if (res.status === 201) created.push((JSON.parse(text) as { assessment: { id: string } }).assessment.id);
        else if (res.status !== 503 || !(res.headers.get('content-type') ?? '').includes('application/problem+json')) failures.push(`${res.status} ${text.slice(0, 200)}`);
      }
    };
    const workers = Array.from({ length: 8 }, () => worker());
    let terminated = 0;
    const deadline = Date.now() + 6000;
    while (Date.now() < deadline) {
      await sleep(150);
      const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE usename = $1', [role]);
      terminated += rows.filter((r) => r.ok).length;
    }
    running = false;
    await Promise.all(workers);

    expect(service.child.exitCode).toBeNull();
    expect(failures).toEqual([]);
    expect(terminated).toBeGreaterThan(10);
    expect(created.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    // The warning of each lost connection, not a crash.
    expect(service.output()).toContain('database connection lost');

    // After the storm the instance serves again.
    const after = await fetch(`${url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    expect(after.status).toBe(201);
    created.push(((await after.json()) as { assessment: { id: string } }).assessment.id);

    // Every 201 is stored; a 503 may have committed (cut off while its COMMIT was answered).
    const stored = await t.database.raw.query<{ id: string }>('SELECT id FROM assessments');
    const ids = new Set(stored.map((r) => r.id));
    for (const id of created) expect(ids).toContain(id);
    expect(stored.length).toBeLessThanOrEqual(statuses.length + 1);
    // No half-written submission: each assessment has its revision and that revision's report.
    const orphans = await t.database.raw.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM assessments a
        WHERE NOT EXISTS (SELECT 1 FROM assessment_revisions r WHERE r.assessment_id = a.id)
           OR EXISTS (SELECT 1 FROM assessment_revisions r WHERE r.assessment_id = a.id AND NOT EXISTS (SELECT 1 FROM reports p WHERE p.assessment_id = r.assessment_id AND p.revision = r.revision))`,
    );
    expect(orphans[0]!.n).toBe(0);
    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json());
    const chain = await verifyAuditChain(t.database.db, jwks);
    expect(chain).toMatchObject({ valid: true });
  }, 20_000);
});
