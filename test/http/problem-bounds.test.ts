/**
 * Over real HTTP, on every database kind, what a problem body may hold whatever the request was:
 * - at most MAX_FIELD_ERRORS (50) field errors, the first ones in a stable order, the detail
 *   saying how many there were and that the others are left out (a login body of 80,000 unknown
 *   keys answered 80,002 entries, 4.3 MB, unauthenticated);
 * - no lone surrogate and no control character in `detail`, `pointer` or `errors` (they were
 *   echoed from the input: `/answers/\ud800`, which jq cannot parse; `No report \u0000`).
 */
import { MAX_FIELD_ERRORS } from '../../src/questionnaire/validate.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { login, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';
import type { ProblemBody as Problem } from '../../src/http/problem.js';


/** Every string of a parsed body, keys included. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...stringsOf(v)]);
  return [];
}

/** Fails unless no string of the problem holds a lone surrogate or a control character. */
function expectPrintable(text: string): Problem {
  // As JSON.stringify writes a lone surrogate, and as any control character would be written.
  expect(text).not.toMatch(/\\u(?:d[89a-f][0-9a-f]{2}|00[01][0-9a-f]|007f|008[0-9a-f]|009[0-9a-f])/i);
  const problem = JSON.parse(text) as Problem;
  for (const s of stringsOf(problem)) {
    expect(s.isWellFormed()).toBe(true);
    // eslint-disable-next-line no-control-regex
    expect(s).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  }
  return problem;
}

const unknownKeys = (n: number, extra: Record<string, unknown> = {}): string => JSON.stringify({ ...extra, ...Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0])) });

describe.each(DATABASE_KINDS)('bounds of problem bodies (%s)', (kind) => {
  let app: TestApp;
  let admin: Credentials;
  let officer: Credentials;
  let home: string;

  beforeAll(async () => {
    app = await startTestApp(kind);
    home = await seedOrganization(app);
    admin = { kind: 'session', session: await login(app, (await seedUser(app, home, ['admin'])).email) };
    officer = { kind: 'session', session: await login(app, (await seedUser(app, home, ['compliance_officer'])).email) };
  });
  afterAll(async () => {
    await app.stop();
  });

  describe('field errors are capped', () => {
    it('answers a login of 80,000 unknown keys with the first 50 errors and says the others are left out', async () => {
      const body = unknownKeys(80_000);
      const res = await fetch(`${app.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(422);
      const text = await res.text();
      // Smaller than the request, not 23 times its size.
      expect(text.length).toBeLessThan(10_000);
      const problem = JSON.parse(text) as Problem;
      expect(problem.errors).toHaveLength(MAX_FIELD_ERRORS);
      // The required fields first (the schema's order), then the unknown keys as sent.
      expect(problem.errors!.slice(0, 4)).toEqual([
        { pointer: '/email', detail: 'is required' },
        { pointer: '/password', detail: 'is required' },
        { pointer: '/k0', detail: 'is not a known field' },
        { pointer: '/k1', detail: 'is not a known field' },
      ]);
      expect(problem.errors!.at(-1)).toEqual({ pointer: '/k47', detail: 'is not a known field' });
      expect(problem.pointer).toBe('/email');
      expect(problem.detail).toBe('/email: is required (and 80001 more; only the first 50 are listed, the other 79952 are left out)');
      // The same body, the same answer.
      const again = (await (await fetch(`${app.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json()) as Problem;
      expect(again.errors).toEqual(problem.errors);
    });

    it.each([
      ['POST /v1/users', '/v1/users', (): Credentials => admin],
      ['POST /v1/assessments', '/v1/assessments', (): Credentials => officer],
    ])('caps the errors of %s', async (_name, path, who) => {
      const creds = who();
      if (creds.kind !== 'session') throw new Error('a session');
      const res = await fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: creds.session.cookie, 'x-csrf-token': creds.session.csrfToken }, body: unknownKeys(5_000) });
      expect(res.status).toBe(422);
      const problem = (await res.json()) as Problem;
      expect(problem.errors).toHaveLength(MAX_FIELD_ERRORS);
      expect(problem.detail).toMatch(/ more; only the first 50 are listed, the other \d+ are left out\)$/);
    });

    it('lists every error, as before, when there are no more than 50', async () => {
      const res = await fetch(`${app.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: unknownKeys(3) });
      const problem = (await res.json()) as Problem;
      expect(problem.errors).toHaveLength(5);
      expect(problem.detail).toBe('/email: is required (and 4 more)');
    });
  });

  describe('no lone surrogate or control character is echoed', () => {
    it('replaces a lone surrogate in a question key of POST /v1/evaluate', async () => {
      if (officer.kind !== 'session') throw new Error('a session');
      const res = await fetch(`${app.url}/v1/evaluate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: officer.session.cookie, 'x-csrf-token': officer.session.csrfToken },
        body: '{"questionnaireVersion":"1","answers":{"\\ud800":1}}',
      });
      expect(res.status).toBe(422);
      const problem = expectPrintable(await res.text());
      expect(problem.pointer).toBe('/answers/\ufffd');
    });

    it('replaces a NUL in the id quoted by a 404 of GET /v1/reports/{id}', async () => {
      const res = await send(app, 'GET', '/v1/reports/%00', officer);
      expect(res.status).toBe(404);
      const problem = expectPrintable(await res.text());
      expect(problem.detail).toBe('No report \ufffd');
    });

    it('replaces control characters in a 404 of an assessment id', async () => {
      const res = await send(app, 'GET', '/v1/assessments/a%01%1F%7Fb', officer);
      expect(res.status).toBe(404);
      expect(expectPrintable(await res.text()).detail).toBe('No assessment a\ufffd\ufffd\ufffdb');
    });
  });
});
