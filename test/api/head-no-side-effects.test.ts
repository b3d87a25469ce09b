/**
 * HEAD on the GET routes that record what they send or do work first: a 405 with `Allow: GET`,
 * before anything else, so a HEAD records no event, signs no checkpoint and renders no PDF.
 * Express answers HEAD with the GET route: `HEAD /v1/audit/export` signed a checkpoint and
 * recorded `audit.exported`, `HEAD /v1/reports/{id}/pdf` rendered and stored the PDF and recorded
 * a download, with no body sent; `HEAD /v1/users` recorded an administration read. Routes without
 * a record (the JWKS) keep answering HEAD.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';

describe.each(DATABASE_KINDS)('HEAD on recorded reads (%s)', (kind) => {
  let app: TestApp;
  let reader: Credentials;
  let auditor: Credentials;
  let admin: Credentials;
  let adminId = '';
  let assessmentId = '';
  let r1 = '';
  let r2 = '';

  beforeAll(async () => {
    app = await startTestApp(kind);
    const org = await seedOrganization(app, `Head clinic ${kind}`);
    const writer = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:write'])) } as const;
    reader = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:read', 'reports:read', 'audit:read'])) };
    auditor = { kind: 'session', session: await login(app, (await seedUser(app, org, ['auditor'], { grants: [org] })).email) };
    const adminUser = await seedUser(app, org, ['admin']);
    adminId = adminUser.id;
    admin = { kind: 'session', session: await login(app, adminUser.email) };
    const created = (await (await send(app, 'POST', '/v1/assessments', writer, { title: 'Head', ...example('poorly-controlled') })).json()) as { assessment: { id: string }; report: { id: string } };
    assessmentId = created.assessment.id;
    r1 = created.report.id;
    const revised = (await (await send(app, 'POST', `/v1/assessments/${assessmentId}/revisions`, writer, { answers: example('well-controlled').answers })).json()) as { report: { id: string } };
    r2 = revised.report.id;
  });
  afterAll(async () => {
    await app.stop();
  });

  const count = async (table: 'audit_events' | 'audit_checkpoints' | 'report_pdfs'): Promise<number> => Number((await app.t.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const state = async (): Promise<number[]> => [await count('audit_events'), await count('audit_checkpoints'), await count('report_pdfs')];

  const paths = (): [string, () => string, () => Credentials][] => [
    ['the audit export', () => '/v1/audit/export', () => reader],
    ['a report PDF', () => `/v1/reports/${r1}/pdf`, () => reader],
    ['a report', () => `/v1/reports/${r1}`, () => reader],
    ['a report signature', () => `/v1/reports/${r1}/signature`, () => reader],
    ['a report diff', () => `/v1/reports/${r1}/diff/${r2}`, () => reader],
    ['the assessment list', () => '/v1/assessments', () => reader],
    ['an assessment', () => `/v1/assessments/${assessmentId}`, () => reader],
    ["a revision's answers", () => `/v1/assessments/${assessmentId}/revisions/1`, () => reader],
    ['the audit events', () => '/v1/audit/events', () => reader],
    ["an assessment's trail", () => `/v1/assessments/${assessmentId}/audit`, () => reader],
    ['the chain verification', () => '/v1/audit/verify', () => auditor],
    // Administration reads are recorded too (admin.read).
    ['the organisations', () => '/v1/organizations', () => admin],
    ['the users', () => '/v1/users', () => admin],
    ['one user', () => `/v1/users/${adminId}`, () => admin],
    ['the API clients', () => '/v1/api-clients', () => admin],
    ['the auditor grants', () => '/v1/auditor-grants', () => admin],
    ['the signing keys', () => '/v1/keys', () => admin],
  ];

  it.each(paths())('HEAD on %s is a 405 (Allow: GET) that records, signs and renders nothing', async (_name, path, who) => {
    const before = await state();
    const res = await send(app, 'HEAD', path(), who());
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await state()).toEqual(before);
    // GET still works (and is recorded).
    const got = await send(app, 'GET', path(), who());
    expect(got.status).toBe(200);
    await got.arrayBuffer();
    expect((await state())[0]).toBeGreaterThan(before[0]!);
  });

  it('HEAD on the JWKS, recorded nowhere, still answers as its GET', async () => {
    const res = await fetch(`${app.url}/.well-known/jwks.json`, { method: 'HEAD' });
    expect(res.status).toBe(200);
  });
});
