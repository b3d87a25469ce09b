import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyAuditChain } from '../../src/audit/verify.js';
import { reportJwks } from '../../src/assessments/keys.js';
import { loadReportKeyRing, reportKeyDirectory } from '../../src/signing/report-keys.js';
import { rotateKeyDirectory } from '../../src/signing/key-ring.js';
import { tokenKeyDirectory } from '../../src/signing/token-keys.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import { roomInWindow } from '../support/rate-limit-window.js';
import type { TestApp } from '../support/app.js';
import { seedClient, seedOrganization } from '../auth/helpers.js';

const enabled = process.env.TEST_DATABASE_URL !== undefined;
if (!enabled) process.stdout.write('TEST_DATABASE_URL not set: the multi-instance and SIGKILL tests are skipped\n');
const describeIfPg = enabled ? describe : describe.skip;

// The quota test's window: an hour, so that waiting for room in it (below) is rare.
const WINDOW_MS = 3_600_000;
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
    const shared = { DATABASE_URL: t.url!, DATA_DIR: dataDir, RATE_LIMIT_EVALUATE: '40', RATE_LIMIT_WINDOW_MS: String(WINDOW_MS), RATE_LIMIT_GLOBAL_PER_IP: '1000000', RATE_LIMIT_PER_PRINCIPAL: '1000000', PUBLIC_URL: 'http://localhost:3000' };
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
    // The requests below take 8 s here; a window boundary among them would reset the quota.
    await roomInWindow(60_000, WINDOW_MS);
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

    // Submissions and evaluations share one quota per principal (40 per hour here) across both
    // instances: 31 are spent above, so 9 of the next 14 pass, alternating instances.
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await fetch(`${urls[i % 2]}/v1/evaluate`, { method: 'POST', headers, body: JSON.stringify(well) })).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(9);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);

    const ring = await loadReportKeyRing({ kind: 'directory', dir: reportKeyDirectory(dataDir) });
    expect(await verifyAuditChain(t.database.db, reportJwks(ring))).toMatchObject({ valid: true });
  }, 150_000);
  it('sign with and trust a key rotated in the shared key directory, on every instance, without a restart', async () => {
    // `npm run keys -- rotate` beside the running instances: both key directories get a new key.
    const newToken = (await rotateKeyDirectory('token', tokenKeyDirectory(dataDir))).current.kid;
    const rotated = await rotateKeyDirectory('report', reportKeyDirectory(dataDir));
    const newReport = rotated.current.kid;
    const oldReport = rotated.all[1]!.kid;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // each instance lists the directory at most once a second
    // Another client: the first test spent this one's quota.
    const org = await seedOrganization({ t } as unknown as TestApp);
    const other = await seedClient({ t } as unknown as TestApp, org, ['assessments:write', 'assessments:read', 'reports:read', 'verify']);

    // Instance 0 signs the token with the new token key; instance 1 had never seen it and accepts it.
    const token = await tokenFrom(urls[0]!, other);
    expect((JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid).toBe(newToken);
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    expect((await fetch(`${urls[1]}/v1/assessments`, { headers })).status).toBe(200);

    // Instance 1 signs the report with the new report key; instance 0 publishes it and verifies it.
    const res = await fetch(`${urls[1]}/v1/assessments`, { method: 'POST', headers, body: JSON.stringify({ title: 'After a rotation', ...well }) });
    expect(res.status).toBe(201);
    const report = ((await res.json()) as { report: { id: string; kid: string } }).report;
    expect(report.kid).toBe(newReport);
    const jwks = (await (await fetch(`${urls[0]}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([newReport, oldReport]);
    const bytes = await (await fetch(`${urls[1]}/v1/reports/${report.id}`, { headers })).text();
    const jws = await (await fetch(`${urls[1]}/v1/reports/${report.id}/signature`, { headers })).text();
    const verified = (await (await fetch(`${urls[0]}/v1/verify`, { method: 'POST', headers, body: JSON.stringify({ report: bytes, jws }) })).json()) as { valid: boolean; kid: string };
    expect(verified).toMatchObject({ valid: true, kid: newReport });

    // Both keys are recorded once in the append-only key table (by whichever instance saw them
    // first, just after it loaded them).
    const recorded = async (): Promise<string[]> => (await t.database.db.selectFrom('signing_keys').select(['kid', 'purpose']).where('kid', 'in', [newToken, newReport]).execute()).map((r) => `${r.purpose}:${r.kid}`).sort();
    for (let i = 0; i < 50 && (await recorded()).length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await recorded()).toEqual([`report:${newReport}`, `token:${newToken}`].sort());
    // And each rotation is in the audit trail exactly once, whichever instance or path stored it.
    const events = await t.database.db.selectFrom('audit_events').select(['action', 'target_id']).where('target_id', 'in', [newToken, newReport]).execute();
    expect(events.map((e) => `${e.action}:${e.target_id}`).sort()).toEqual([`key.rotated:${newReport}`, `key.rotated:${newToken}`].sort());
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
