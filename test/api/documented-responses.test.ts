/**
 * What /openapi.json says of the assessment, report, key and token operations is what they
 * answer: each status checked here is sent by the server (through real HTTP) and documented, with
 * its problem type; report downloads and the audit export are never stored by a browser cache
 * (`Cache-Control: no-store`) yet still revalidate (304); base64 that is not base64 is a 422.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';

const PROBLEM = 'https://hipaa-ai-risk.dev/problems/';

type Responses = Record<string, { description: string; content?: Record<string, unknown> }>;
interface Operation {
  responses: Responses;
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>>; additionalProperties?: boolean }> };
}

describe.each(DATABASE_KINDS)('documented responses on %s', (kind) => {
  let app: TestApp;
  let doc: Document;
  let integrator: Credentials;
  let reader: Credentials;
  let officer: Credentials;
  let admin: Credentials;
  let token: string;
  let assessmentId: string;
  let reportId: string;
  let otherReportId: string;
  const well = example('well-controlled');
  const poorly = example('poorly-controlled');

  beforeAll(async () => {
    app = await startTestApp(kind, { RATE_LIMIT_EVALUATE: '1000' });
    const org = await seedOrganization(app, `Documented ${kind}`);
    token = await clientToken(app, await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read', 'evaluate', 'verify']));
    integrator = { kind: 'bearer', token };
    reader = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:read'])) };
    officer = { kind: 'session', session: await login(app, (await seedUser(app, org, ['compliance_officer'])).email) };
    admin = { kind: 'session', session: await login(app, (await seedUser(app, org, ['admin'])).email) };
    const created = (await (await send(app, 'POST', '/v1/assessments', integrator, { title: 'Documented', ...poorly })).json()) as { assessment: { id: string }; report: { id: string } };
    assessmentId = created.assessment.id;
    reportId = created.report.id;
    otherReportId = ((await (await send(app, 'POST', `/v1/assessments/${assessmentId}/revisions`, integrator, { answers: well.answers })).json()) as { report: { id: string } }).report.id;
    doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as Document;
  });
  afterAll(async () => {
    await app.stop();
  });

  const raw = (method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Response> =>
    fetch(`${app.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...init.headers }, ...(init.body !== undefined ? { body: init.body } : {}) });
  const big = JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) });

  /** [operation, status, problem type or null, the request that gets it] */
  const cases: [string, string, string, string | null, () => Promise<Response>][] = [
    ['post', '/v1/assessments/{id}/revisions', '413', 'payload-too-large', () => raw('POST', `/v1/assessments/${assessmentId}/revisions`, { headers: { 'content-type': 'application/json' }, body: big })],
    ['post', '/v1/assessments/{id}/revisions', '415', 'unsupported-media-type', () => raw('POST', `/v1/assessments/${assessmentId}/revisions`, { headers: { 'content-type': 'text/plain' }, body: 'answers' })],
    ['post', '/v1/assessments/{id}/revisions', '403', 'csrf-token-invalid', () => send(app, 'POST', `/v1/assessments/${assessmentId}/revisions`, officer, { answers: well.answers }, { 'x-csrf-token': 'wrong' })],
    ['post', '/v1/assessments/{id}/revisions', '403', 'forbidden', () => send(app, 'POST', `/v1/assessments/${assessmentId}/revisions`, reader, { answers: well.answers })],
    ['post', '/v1/assessments/{id}/revisions', '400', 'malformed-json', () => raw('POST', `/v1/assessments/${assessmentId}/revisions`, { headers: { 'content-type': 'application/json' }, body: '{"answers":' })],
    ['post', '/v1/assessments/{id}/revisions/{n}/reports', '413', 'payload-too-large', () => raw('POST', `/v1/assessments/${assessmentId}/revisions/1/reports`, { headers: { 'content-type': 'application/json' }, body: big })],
    ['post', '/v1/assessments/{id}/revisions/{n}/reports', '415', 'unsupported-media-type', () => raw('POST', `/v1/assessments/${assessmentId}/revisions/1/reports`, { headers: { 'content-type': 'text/plain' }, body: 'rulesets' })],
    ['post', '/v1/evaluate', '413', 'payload-too-large', () => raw('POST', '/v1/evaluate', { headers: { 'content-type': 'application/json' }, body: big })],
    ['post', '/v1/evaluate', '415', 'unsupported-media-type', () => raw('POST', '/v1/evaluate', { headers: { 'content-type': 'text/plain' }, body: 'answers' })],
    ['post', '/v1/verify', '413', 'payload-too-large', () => raw('POST', '/v1/verify', { headers: { 'content-type': 'application/json' }, body: big })],
    ['post', '/v1/verify', '415', 'unsupported-media-type', () => raw('POST', '/v1/verify', { headers: { 'content-type': 'text/plain' }, body: 'report' })],
    ['get', '/v1/reports/{id}/signature', '401', 'unauthenticated', () => fetch(`${app.url}/v1/reports/${reportId}/signature`)],
    ['get', '/v1/reports/{id}/signature', '403', 'forbidden', () => send(app, 'GET', `/v1/reports/${reportId}/signature`, reader)],
    ['get', '/v1/reports/{id}/pdf', '401', 'unauthenticated', () => fetch(`${app.url}/v1/reports/${reportId}/pdf`)],
    ['get', '/v1/reports/{id}/pdf', '403', 'forbidden', () => send(app, 'GET', `/v1/reports/${reportId}/pdf`, reader)],
    ['get', '/v1/reports/{a}/diff/{b}', '401', 'unauthenticated', () => fetch(`${app.url}/v1/reports/${reportId}/diff/${otherReportId}`)],
    ['get', '/v1/reports/{a}/diff/{b}', '403', 'forbidden', () => send(app, 'GET', `/v1/reports/${reportId}/diff/${otherReportId}`, reader)],
    ['post', '/v1/oauth/token', '422', 'validation-failed', () => fetch(`${app.url}/v1/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' })],
    ['post', '/v1/organizations', '403', 'forbidden', () => send(app, 'POST', '/v1/organizations', officer, { name: 'Not mine to create' })],
    ['post', '/v1/organizations', '403', 'csrf-token-invalid', () => send(app, 'POST', '/v1/organizations', admin, { name: 'No token' }, { 'x-csrf-token': 'wrong' })],
  ];
  it.each(cases)('%s %s answers and documents %s (%s)', async (method, path, status, code, request) => {
    const res = await request();
    expect(res.status).toBe(Number(status));
    const documented = doc.paths[path]?.[method]?.responses[status];
    expect(documented).toBeDefined();
    if (code !== null) {
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(((await res.json()) as { type: string }).type).toBe(`${PROBLEM}${code}`);
      expect(documented!.description).toContain(`…/problems/${code})`);
      expect(documented!.content).toHaveProperty(['application/problem+json']);
    }
  });

  it('documents the evaluation limit (429) where the server applies it', () => {
    // src/http/app.ts mounts rateLimits.evaluate on these four operations.
    for (const path of ['/v1/evaluate', '/v1/assessments', '/v1/assessments/{id}/revisions', '/v1/assessments/{id}/revisions/{n}/reports']) {
      expect(doc.paths[path]!.post!.responses['429']?.description).toContain('…/problems/rate-limited)');
    }
    expect(doc.paths['/v1/oauth/token']!.post!.responses['429']?.description).toContain('…/problems/rate-limited)');
  });

  it('lists every problem type that shares a status under it (403: forbidden and csrf-token-invalid)', () => {
    for (const [path, method] of [['/v1/organizations', 'post'], ['/v1/assessments', 'post'], ['/v1/me/password', 'post'], ['/v1/keys/rotate', 'post']] as const) {
      const description = doc.paths[path]![method]!.responses['403']!.description;
      expect(description).toContain('…/problems/forbidden)');
      expect(description).toContain('…/problems/csrf-token-invalid)');
    }
    const badRequest = doc.paths['/v1/assessments']!.post!.responses['400']!.description;
    expect(badRequest).toContain('…/problems/malformed-json)');
    expect(badRequest).toContain('…/problems/bad-request)');
  });

  it('answers 304 to If-None-Match on the signature and the PDF, as documented', async () => {
    for (const [suffix, path] of [['/signature', '/v1/reports/{id}/signature'], ['/pdf', '/v1/reports/{id}/pdf']] as const) {
      const first = await send(app, 'GET', `/v1/reports/${reportId}${suffix}`, integrator);
      expect(first.status).toBe(200);
      const etag = first.headers.get('etag')!;
      const again = await send(app, 'GET', `/v1/reports/${reportId}${suffix}`, integrator, undefined, { 'If-None-Match': etag });
      expect(again.status).toBe(304);
      expect(doc.paths[path]!.get!.responses).toHaveProperty(['304']);
    }
  });

  it('sends Cache-Control: no-store with report downloads (and their 304s)', async () => {
    for (const suffix of ['', '/signature', '/pdf']) {
      const res = await send(app, 'GET', `/v1/reports/${reportId}${suffix}`, integrator);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const revalidated = await send(app, 'GET', `/v1/reports/${reportId}${suffix}`, integrator, undefined, { 'If-None-Match': res.headers.get('etag')! });
      expect(revalidated.status).toBe(304);
      expect(revalidated.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('refuses rulesets: [] with 422 at /rulesets on every operation, drafts included, and documents minItems: 1', async () => {
    const attempts: [string, unknown][] = [
      ['/v1/evaluate', { ...well, rulesets: [] }],
      ['/v1/assessments', { title: 'Empty rulesets', ...well, rulesets: [] }],
      ['/v1/assessments', { title: 'Empty rulesets draft', ...well, rulesets: [], draft: true }],
      [`/v1/assessments/${assessmentId}/revisions`, { answers: well.answers, rulesets: [] }],
      [`/v1/assessments/${assessmentId}/revisions`, { answers: well.answers, rulesets: [], draft: true }],
      [`/v1/assessments/${assessmentId}/revisions/1/reports`, { rulesets: [] }],
    ];
    const revisions = async (): Promise<number> => (await app.t.database.raw.query<{ n: number }>('SELECT count(*)::int AS n FROM assessment_revisions'))[0]!.n;
    const before = await revisions();
    for (const [path, body] of attempts) {
      const res = await send(app, 'POST', path, integrator, body);
      expect({ path, status: res.status }).toEqual({ path, status: 422 });
      expect(((await res.json()) as { pointer: string }).pointer).toBe('/rulesets');
    }
    expect(await revisions()).toBe(before);
    for (const name of ['EvaluateBody', 'CreateAssessmentBody', 'ReviseAssessmentBody', 'ReportRequestBody']) {
      expect(doc.components.schemas[name]!.properties.rulesets).toMatchObject({ type: 'array', minItems: 1 });
    }
  });

  it('refuses an unknown field in POST /v1/keys/rotate and documents additionalProperties: false', async () => {
    const res = await send(app, 'POST', '/v1/keys/rotate', admin, { purpose: 'report', extra: 1 });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { pointer: string }).pointer).toBe('/extra');
    const schema = doc.paths['/v1/keys/rotate']!.post!.requestBody!.content['application/json']!.schema;
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false, required: ['purpose'] });
  });

  it('refuses reportBase64 that is not base64 with 422 at /reportBase64, and still verifies good base64', async () => {
    const jws = await (await send(app, 'GET', `/v1/reports/${reportId}/signature`, integrator)).text();
    for (const bad of ['!!!!', 'AAAA!', 'A===', '====']) {
      const res = await send(app, 'POST', '/v1/verify', integrator, { reportBase64: bad, jws });
      expect({ bad, status: res.status }).toEqual({ bad, status: 422 });
      expect(((await res.json()) as { pointer: string }).pointer).toBe('/reportBase64');
    }
    const bytes = Buffer.from(await (await send(app, 'GET', `/v1/reports/${reportId}`, integrator)).arrayBuffer());
    for (const encoded of [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('base64').replace(/(.{76})/g, '$1\n')]) {
      const res = await send(app, 'POST', '/v1/verify', integrator, { reportBase64: encoded, jws });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { valid: boolean }).valid).toBe(true);
    }
  });
});
