import { DATABASE_KINDS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';

const PROBLEM = 'application/problem+json';

describe.each(DATABASE_KINDS)('HTTP basics on %s', (kind) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(kind);
  });
  afterAll(async () => {
    await app.stop();
  });

  it('GET /healthz is 200 and GET /readyz reports the database and migrations', async () => {
    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; database: string; migrations: { applied: number; expected: number } };
    expect(body.status).toBe('ready');
    expect(body.database).toBe(kind);
    expect(body.migrations.applied).toBe(body.migrations.expected);
  });

  it('gives every response a request id, and keeps a well-formed incoming one', async () => {
    const fresh = await fetch(`${app.url}/healthz`);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await fetch(`${app.url}/healthz`, { headers: { 'X-Request-Id': 'trace-abc-12345' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-abc-12345');
    const replaced = await fetch(`${app.url}/healthz`, { headers: { 'X-Request-Id': 'bad id\twith spaces' } });
    expect(replaced.headers.get('x-request-id')).not.toContain(' ');
  });

  it('sets security headers (helmet) and hides the framework', async () => {
    const res = await fetch(`${app.url}/healthz`);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  const cases: [string, RequestInit & { path: string }, number, string][] = [
    ['unknown route', { path: '/v1/no-such-thing' }, 404, 'not-found'],
    ['unknown route outside /v1', { path: '/nope', method: 'DELETE' }, 404, 'not-found'],
    ['malformed JSON', { path: '/v1/anything', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"answers": ' }, 400, 'malformed-json'],
    ['wrong content type', { path: '/v1/anything', method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }, 415, 'unsupported-media-type'],
    ['form body where JSON is required', { path: '/v1/anything', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' }, 415, 'unsupported-media-type'],
    ['10 MB body', { path: '/v1/anything', method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"a":"${'x'.repeat(10 * 1024 * 1024)}"}` }, 413, 'payload-too-large'],
    ['non-UTF-8 charset', { path: '/v1/anything', method: 'POST', headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}' }, 415, 'unsupported-media-type'],
  ];
  it.each(cases)('%s gets a problem+json with a stable type', async (_name, { path, ...init }, status, code) => {
    const res = await fetch(`${app.url}${path}`, init);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain(PROBLEM);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ type: `https://hipaa-ai-risk.dev/problems/${code}`, status, instance: path });
    expect(typeof body.title).toBe('string');
    expect(typeof body.detail).toBe('string');
    expect(body.requestId).toBe(res.headers.get('x-request-id'));
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+|node_modules|SyntaxError/);
  });

  it('answers a method a documented resource does not have with 405 and Allow (assessments and reports have no PUT or DELETE)', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/v1/assessments', 'GET, HEAD, POST'],
      ['PUT', '/v1/assessments/7b210bac-3674-481d-bf05-fa5e43a05270', 'GET, HEAD'],
      ['DELETE', '/v1/reports/7b210bac-3674-481d-bf05-fa5e43a05270/', 'GET, HEAD'],
      ['GET', '/v1/evaluate', 'POST'],
      ['PATCH', '/V1/Rulesets/hipaa-security/1.0.0', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await fetch(`${app.url}${path}`, { method });
      expect([method, path, res.status, res.headers.get('allow')]).toEqual([method, path, 405, allow]);
      expect(res.headers.get('content-type')).toContain(PROBLEM);
      const body = (await res.json()) as { type: string; detail: string };
      expect(body.type).toBe('https://hipaa-ai-risk.dev/problems/method-not-allowed');
      expect(body.detail).toBe(`${method} is not allowed on ${path}; allowed: ${allow}`);
    }
    // Paths no template matches stay 404, whatever the method.
    for (const [method, path] of [['DELETE', '/v1/assessments/x/y/z/w'], ['GET', '/v1/reportsx/1'], ['DELETE', '/nope']] as const) {
      const res = await fetch(`${app.url}${path}`, { method });
      expect([path, res.status, res.headers.get('allow')]).toEqual([path, 404, null]);
    }
  });

  it('logs each request with its id and never the body, passwords, tokens or cookies', async () => {
    const secretBody = JSON.stringify({ password: 'hunter2-Very-Secret', answers: { 'uc.purpose': 'PATIENT-NAME-John-Doe' } });
    const res = await fetch(`${app.url}/v1/login-probe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer TOKEN-abc.def.ghi', cookie: '__Host-session=COOKIE-VALUE-123' },
      body: secretBody,
    });
    const id = res.headers.get('x-request-id')!;
    await new Promise((r) => setTimeout(r, 50));
    const logs = app.logs();
    const line = logs.split('\n').find((l) => l.includes(id));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ reqId: id, method: 'POST', status: 404 });
    for (const secret of ['hunter2-Very-Secret', 'PATIENT-NAME-John-Doe', 'TOKEN-abc', 'COOKIE-VALUE-123']) expect(logs).not.toContain(secret);
  });
});
