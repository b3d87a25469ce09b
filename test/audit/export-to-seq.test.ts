/**
 * GET /v1/audit/export with a `toSeq` that no signed checkpoint is at or before: a 400 at `/toSeq`
 * that says which toSeq can be exported, answered before anything is signed or recorded (it used
 * to sign and store a checkpoint, and record `audit.checkpoint.created`, then answer 404). A toSeq
 * from the first checkpoint on exports, ending on the last checkpoint at or before it.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { verifyAuditExport } from '../../src/audit/verify-export.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';
import type { ProblemBody as Problem } from '../../src/http/problem.js';

const PROBLEM = 'https://hipaa-ai-risk.dev/problems/';


describe.each(DATABASE_KINDS)('an export range ending before the first checkpoint, on %s', (kind) => {
  let app: TestApp;
  let admin: Credentials;
  const well = example('well-controlled');

  beforeAll(async () => {
    app = await startTestApp(kind);
    const org = await seedOrganization(app, `To-seq clinic ${kind}`);
    admin = { kind: 'session', session: await login(app, (await seedUser(app, org, ['admin'])).email) };
    const token = await clientToken(app, await seedClient(app, org, ['assessments:write']));
    for (let i = 0; i < 3; i++) expect((await send(app, 'POST', '/v1/assessments', { kind: 'bearer', token }, { title: `Event source ${i}`, ...well })).status).toBe(201);
  });
  afterAll(async () => {
    await app.stop();
  });

  const rows = async (table: 'audit_events' | 'audit_checkpoints'): Promise<number> => Number((await app.t.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const head = async (): Promise<number> => (await app.t.database.db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow()).seq;

  async function refused(query: string): Promise<Problem> {
    const before = [await rows('audit_events'), await rows('audit_checkpoints')];
    const res = await send(app, 'GET', `/v1/audit/export${query}`, admin);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as Problem;
    expect(problem.type).toBe(`${PROBLEM}bad-request`);
    expect(problem.pointer).toBe('/toSeq');
    // Nothing signed, nothing recorded: no checkpoint, no audit.checkpoint.created, no audit.exported.
    expect([await rows('audit_events'), await rows('audit_checkpoints')]).toEqual(before);
    return problem;
  }

  it('refuses a toSeq before the head while no checkpoint exists, saying to omit it, signing nothing', async () => {
    expect(await rows('audit_checkpoints')).toBe(0);
    const h = await head();
    expect(h).toBeGreaterThan(6);
    for (const query of ['?fromSeq=5&toSeq=5', '?toSeq=2', `?fromSeq=1&toSeq=${h - 1}`]) {
      const problem = await refused(query);
      expect(problem.detail).toContain('No signed checkpoint at or before event');
      expect(problem.detail).toContain('omit toSeq');
      expect(problem.errors?.map((e) => e.pointer)).toEqual(['/toSeq']);
    }
    expect(await rows('audit_checkpoints')).toBe(0);
  });

  it('refuses a toSeq before the first checkpoint, naming the least toSeq that exports; from that one on it exports', async () => {
    // A full export signs the head: the first checkpoint.
    expect((await send(app, 'GET', '/v1/audit/export', admin)).status).toBe(200);
    const first = (await app.t.database.db.selectFrom('audit_checkpoints').select('seq').orderBy('seq').limit(1).executeTakeFirstOrThrow()).seq;
    const problem = await refused(`?fromSeq=5&toSeq=${first - 1}`);
    expect(problem.detail).toContain(`give a toSeq of at least ${first}`);
    expect(problem.errors).toEqual([{ pointer: '/toSeq', detail: `must be at least ${first}` }]);

    const res = await send(app, 'GET', `/v1/audit/export?fromSeq=5&toSeq=${first}`, admin);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text.split('\n')[0]!)).toMatchObject({ type: 'header', fromSeq: 5, toSeq: first });
    expect((await verifyAuditExport(text, await (await fetch(`${app.url}/.well-known/jwks.json`)).json())).valid).toBe(true);
  });
});
