import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyAuditChain } from '../../src/audit/verify.js';
import { reportJwks } from '../../src/assessments/keys.js';
import { loadReportKeyRing, reportKeyDirectory } from '../../src/signing/report-keys.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import type { TestApp } from '../support/app.js';
import { seedClient, seedOrganization } from '../auth/helpers.js';

const enabled = process.env.TEST_DATABASE_URL !== undefined;
if (!enabled) process.stdout.write('TEST_DATABASE_URL not set: the multi-instance and SIGKILL tests are skipped\n');
const describeIfPg = enabled ? describe : describe.skip;

const UNLIMITED = { RATE_LIMIT_GLOBAL_PER_IP: '1000000', RATE_LIMIT_PER_PRINCIPAL: '1000000', RATE_LIMIT_EVALUATE: '1000000', RATE_LIMIT_LOGIN: '1000000' };

async function tokenFrom(url: string, client: { id: string; secret: string }): Promise<string> {
  const res = await fetch(`${url}/v1/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` }, body: 'grant_type=client_credentials' });
  if (res.status !== 200) throw new Error(`token ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

describeIfPg('several instances on one PostgreSQL', () => {
  let t: TestDatabase;
  let dataDir: string;
  const instances: ServiceProcess[] = [];
  let urls: string[] = [];
  let client: { id: string; secret: string };
  const well = example('well-controlled');

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    // One shared key directory, as a secrets manager would give every instance the same keys.
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'instances-'));
    const shared = { DATABASE_URL: t.url!, DATA_DIR: dataDir, RATE_LIMIT_EVALUATE: '40', RATE_LIMIT_WINDOW_MS: '60000', RATE_LIMIT_GLOBAL_PER_IP: '1000000', RATE_LIMIT_PER_PRINCIPAL: '1000000', PUBLIC_URL: 'http://localhost:3000' };
    instances.push(startServiceProcess(shared));
    urls = [await instances[0]!.ready];
    instances.push(startServiceProcess(shared));
    urls.push(await instances[1]!.ready);
    const org = await seedOrganization({ t } as unknown as TestApp);
    client = await seedClient({ t } as unknown as TestApp, org, ['assessments:write', 'assessments:read', 'evaluate']);
  });
  afterAll(async () => {
    for (const i of instances) i.child.kill('SIGKILL');
    await Promise.all(instances.map((i) => i.exited));
    await t.drop();
  });

  it('share rate limits, keep revision numbers gap-free and the audit chain valid', async () => {
    // A token from one instance is good on the other (same issuer, same keys, same database).
    const token = await tokenFrom(urls[0]!, client);
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const created = (await (await fetch(`${urls[1]}/v1/assessments`, { method: 'POST', headers, body: JSON.stringify({ title: 'Two instances', ...well }) })).json()) as { assessment: { id: string } };
    const revisions = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const res = await fetch(`${urls[i % 2]}/v1/assessments/${created.assessment.id}/revisions`, { method: 'POST', headers, body: JSON.stringify({ answers: well.answers }) });
        expect(res.status).toBe(201);
        return ((await res.json()) as { revision: { revision: number } }).revision.revision;
      }),
    );
    expect(revisions.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 2));

    // Submissions and evaluations share one quota per principal (40 per minute here) across both
    // instances: 31 are spent above, so 9 of the next 14 pass, alternating instances.
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await fetch(`${urls[i % 2]}/v1/evaluate`, { method: 'POST', headers, body: JSON.stringify(well) })).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(9);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);

    const ring = await loadReportKeyRing({ kind: 'directory', dir: reportKeyDirectory(dataDir) });
    expect(await verifyAuditChain(t.database.db, reportJwks(ring))).toMatchObject({ valid: true });
  });
});

describeIfPg('an instance killed with SIGKILL in the middle of submissions', () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('leaves no partial assessment, revision, report or audit event, and keeps every 201', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kill-'));
    const env = { DATABASE_URL: t.url!, DATA_DIR: dataDir, PUBLIC_URL: 'http://localhost:3000', ...UNLIMITED };
    const first = startServiceProcess(env);
    const url = await first.ready;
    const org = await seedOrganization({ t } as unknown as TestApp);
    const token = await tokenFrom(url, await seedClient({ t } as unknown as TestApp, org, ['assessments:write']));
    const body = JSON.stringify({ title: 'Killed mid-flight', ...example('poorly-controlled') });
    const acknowledged: string[] = [];
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await fetch(`${url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
          if (res.status === 201) acknowledged.push(((await res.json()) as { assessment: { id: string } }).assessment.id);
        } catch {
          return; // the instance is gone
        }
      }
    };
    const workers = Array.from({ length: 12 }, worker);
    while (acknowledged.length < 25) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await first.exited;

    const db = t.database.db;
    const assessments = await db.selectFrom('assessments').select('id').execute();
    const ids = new Set(assessments.map((a) => a.id));
    for (const id of acknowledged) expect(ids.has(id)).toBe(true);
    // Every stored assessment is whole: its revision, its report, its audit event.
    const revisions = await db.selectFrom('assessment_revisions').select(['assessment_id']).execute();
    const reports = await db.selectFrom('reports').select(['assessment_id']).execute();
    const events = await db.selectFrom('audit_events').select(['target_id']).where('action', '=', 'assessment.created').execute();
    const count = (rows: { [k: string]: string | null }[], key: string): Map<string, number> => {
      const m = new Map<string, number>();
      for (const r of rows) m.set(r[key]!, (m.get(r[key]!) ?? 0) + 1);
      return m;
    };
    const byRevision = count(revisions, 'assessment_id');
    const byReport = count(reports, 'assessment_id');
    const byEvent = count(events, 'target_id');
    for (const id of ids) {
      expect([id, byRevision.get(id), byReport.get(id), byEvent.get(id)]).toEqual([id, 1, 1, 1]);
    }
    expect(revisions).toHaveLength(ids.size);
    expect(reports).toHaveLength(ids.size);
    const ring = await loadReportKeyRing({ kind: 'directory', dir: reportKeyDirectory(dataDir) });
    expect(await verifyAuditChain(db, reportJwks(ring))).toMatchObject({ valid: true });

    // A new instance starts on the same database and serves at once.
    const second = startServiceProcess(env);
    const url2 = await second.ready;
    expect((await fetch(`${url2}/readyz`)).status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
