/**
 * Every /v1 response is `Cache-Control: no-store` (one middleware, src/http/app.ts), so no browser
 * or shared cache keeps an assessment, a report diff, a user list or the audit trail. Before, only
 * the report downloads, the audit export and the sign-in answers said so, and the reads below were
 * sent without any Cache-Control. What is the same for everyone keeps its own value: the
 * questionnaire and ruleset definitions, the JWKS and the OpenAPI document.
 * Through real HTTP, on both databases.
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { example } from '../support/fixtures.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';

describe.each(DATABASE_KINDS)('Cache-Control of /v1 responses (%s)', (kind) => {
  let app: TestApp;
  let reader: Credentials;
  let auditReader: Credentials;
  let admin: Credentials;
  let assessmentId: string;
  let r1: string;
  let r2: string;

  beforeAll(async () => {
    app = await startTestApp(kind, { PUBLIC_URL: 'https://risk.example.test' });
    const org = await seedOrganization(app, `Cache clinic ${kind}`);
    const writer: Credentials = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:write'])) };
    reader = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:read', 'reports:read'])) };
    auditReader = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['audit:read'])) };
    admin = { kind: 'session', session: await login(app, (await seedUser(app, org, ['admin'])).email) };
    const created = await send(app, 'POST', '/v1/assessments', writer, { title: 'Cached?', ...example('poorly-controlled') });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { assessment: { id: string }; report: { id: string } };
    assessmentId = body.assessment.id;
    r1 = body.report.id;
    const revised = await send(app, 'POST', `/v1/assessments/${assessmentId}/revisions`, writer, { answers: example('well-controlled').answers });
    expect(revised.status).toBe(201);
    r2 = ((await revised.json()) as { report: { id: string } }).report.id;
  });
  afterAll(async () => {
    await app.stop();
  });

  const reads: [string, () => string, () => Credentials][] = [
    ['an assessment', () => `/v1/assessments/${assessmentId}`, () => reader],
    ['the assessment list', () => '/v1/assessments', () => reader],
    ['a report diff', () => `/v1/reports/${r1}/diff/${r2}`, () => reader],
    ['the users', () => '/v1/users', () => admin],
    ['the API clients', () => '/v1/api-clients', () => admin],
    ['the auditor grants', () => '/v1/auditor-grants', () => admin],
    ['the organisations', () => '/v1/organizations', () => admin],
    ['the audit events', () => '/v1/audit/events', () => auditReader],
    ['the chain verification', () => '/v1/audit/verify', () => admin],
    ['the signing keys', () => '/v1/keys', () => admin],
    ['the rulesets list', () => '/v1/rulesets', () => reader],
  ];

  it.each(reads)('GET of %s is no-store', async (_name, path, who) => {
    const res = await send(app, 'GET', path(), who());
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('errors under /v1 are no-store too (they say what exists)', async () => {
    expect((await send(app, 'GET', '/v1/assessments/00000000-0000-4000-8000-000000000000', reader)).headers.get('cache-control')).toBe('no-store');
    expect((await send(app, 'GET', '/v1/assessments', { kind: 'none' })).headers.get('cache-control')).toBe('no-store');
  });

  it('keeps the values of what is the same for everyone', async () => {
    const { current } = (await (await send(app, 'GET', '/v1/questionnaires', reader)).json()) as { current: string };
    expect((await send(app, 'GET', `/v1/questionnaires/${current}`, reader)).headers.get('cache-control')).toBe('private, max-age=300');
    expect((await fetch(`${app.url}/.well-known/jwks.json`)).headers.get('cache-control')).toBe('public, max-age=300');
    expect((await fetch(`${app.url}/openapi.json`)).headers.get('cache-control')).toBe('public, max-age=60');
  });
});
