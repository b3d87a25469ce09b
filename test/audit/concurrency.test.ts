import { verifyAuditChain } from '../../src/audit/verify.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, seedClient, seedOrganization, send, type Credentials } from '../auth/helpers.js';

describe.each(DATABASE_KINDS)('audit chain under concurrent submissions on %s', (kind) => {
  let app: TestApp;
  let integrator: Credentials;
  // 200 on PostgreSQL (real concurrency through the pool); PGlite serialises anyway.
  const n = kind === 'postgres' ? 200 : 40;

  beforeAll(async () => {
    app = await startTestApp(kind, { DB_POOL_MAX: '10' });
    const org = await seedOrganization(app, `Concurrent ${kind}`);
    integrator = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:write'])) };
  });
  afterAll(async () => {
    await app.stop();
  });

  it(`keeps the chain valid after ${n} concurrent submissions`, async () => {
    const body = { title: 'Concurrent', ...example('well-controlled') };
    const statuses = await Promise.all(Array.from({ length: n }, async () => (await send(app, 'POST', '/v1/assessments', integrator, body)).status));
    expect(statuses.filter((s) => s === 201)).toHaveLength(n);
    const created = await app.t.database.db.selectFrom('audit_events').select('seq').where('action', '=', 'assessment.created').execute();
    expect(created).toHaveLength(n);
    const result = await verifyAuditChain(app.t.database.db, app.reportKeys.jwks());
    expect(result.valid).toBe(true);
    const seqs = (await app.t.database.db.selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });
});
