/**
 * "No 500 for anything a client can send", checked by generating requests: every operation of
 * the OpenAPI document, with real ids and random ones, documented and random query parameters,
 * valid bodies with one value replaced and arbitrary JSON or text, with an administrator's
 * session, an integrator's token or nothing. Every answer must be below 500, and every error
 * a problem+json with a stable type (the OAuth token endpoint answers RFC 6749 errors); every
 * state-changing request that succeeded must have added an audit event, every one refused or
 * denied the event that says so, and every one that failed must have stored nothing.
 */
import fc from 'fast-check';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';

const PROBLEM = 'https://hipaa-ai-risk.dev/problems/';
/** Operations that would end the test's own session (they are tested on their own elsewhere). */
const SKIPPED = new Set(['POST /v1/auth/logout', 'POST /v1/auth/refresh', 'POST /v1/me/password']);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

interface Operation {
  readonly method: string;
  readonly template: string;
  readonly query: readonly string[];
}

/** Replaces the value at one random place of a JSON value (or adds a member), recursively. */
function mutated(value: unknown): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom(null, '', -1, 1e308, '__proto__', '\u0000', 'x'.repeat(5000)));
  if (value === null || typeof value !== 'object') return leaf;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return leaf;
  return fc.oneof(
    leaf,
    fc.integer({ min: 0, max: entries.length - 1 }).chain((i) =>
      mutated(entries[i]![1]).map((v) => {
        if (Array.isArray(value)) return value.map((old, j) => (j === i ? v : old));
        return { ...(value as Record<string, unknown>), [entries[i]![0]]: v };
      }),
    ),
    Array.isArray(value) ? leaf : fc.tuple(fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('\ud800', 'x\udfff', 'a\u0000b', '__proto__', 'constructor', '', '~1/')), leaf).map(([k, v]) => ({ ...(value as Record<string, unknown>), [k]: v })),
  );
}

/** `send` with a body that is not JSON.stringify's (any text, sent as application/json). */
async function sendText(app: TestApp, method: string, path: string, credentials: Credentials, text: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (credentials.kind === 'session') Object.assign(headers, { cookie: credentials.session.cookie, 'x-csrf-token': credentials.session.csrfToken });
  if (credentials.kind === 'bearer') headers.authorization = `Bearer ${credentials.token}`;
  return fetch(`${app.url}${path}`, { method, headers, body: text });
}

describe.each(DATABASE_KINDS)('generated requests on %s', (kind) => {
  let app: TestApp;
  let operations: Operation[];
  let credentials: Credentials[];
  let ids: string[];
  const well = example('well-controlled');
  const bodies: unknown[] = [{ title: 'Fuzz', ...well }, well, { answers: well.answers }, { rulesets: [{ id: 'hipaa-security', version: '1.0.0' }] }, { email: 'a@example.org', password: 'x' }, { name: 'n', scopes: ['assessments:read'] }];

  beforeAll(async () => {
    // Every denial and refusal its own event (none summarised), so that each request can be checked.
    app = await startTestApp(kind, { AUDIT_DENIED_PER_MINUTE: '10000' });
    const org = await seedOrganization(app, `Fuzz ${kind}`);
    const admin = await seedUser(app, org, ['admin', 'compliance_officer']);
    const client = await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read', 'evaluate', 'verify']);
    credentials = [{ kind: 'session', session: await login(app, admin.email) }, { kind: 'bearer', token: await clientToken(app, client) }, { kind: 'none' }];
    const created = (await (await send(app, 'POST', '/v1/assessments', credentials[1]!, { title: 'Fuzz target', ...well })).json()) as { assessment: { id: string }; report: { id: string } };
    ids = [created.assessment.id, created.report.id, org, admin.id, '1', 'hipaa-security', '1.0.0'];
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>> };
    operations = Object.entries(doc.paths).flatMap(([template, item]) =>
      Object.entries(item)
        .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map(([method, op]) => ({ method: method.toUpperCase(), template, query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name) }))
        .filter((op) => !SKIPPED.has(`${op.method} ${op.template}`)),
    );
  });
  /** Audit events, and the rows of every table a submission or an administrator writes. */
  const counts = async (): Promise<{ audit: number; last: string | null; stored: number[] }> => {
    const tables = ['assessments', 'assessment_revisions', 'reports', 'report_rulesets', 'organizations', 'users', 'api_clients', 'auditor_grants', 'signing_keys', 'audit_checkpoints'];
    const [row] = await app.t.database.raw.query<Record<string, number | string | null>>(`SELECT (SELECT count(*) FROM audit_events)::int AS audit_events, (SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1) AS last_action, ${tables.map((t) => `(SELECT count(*) FROM ${t})::int AS ${t}`).join(', ')}`);
    return { audit: row!.audit_events as number, last: row!.last_action as string | null, stored: tables.map((t) => row![t] as number) };
  };
  afterAll(async () => {
    await app.stop();
  });

  it(`answers ${RUNS} generated requests below 500 with problem+json errors; what succeeds is audited, what is refused or denied is recorded as such, what fails stores nothing`, async () => {
    const segment = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...[0, 1, 2, 3, 4, 5, 6].map((i) => () => ids[i]!)).map((f) => f()) }, fc.string({ unit: 'grapheme', maxLength: 30 }).map(encodeURIComponent), fc.constantFrom('%zz', '%00', '..', 'a'.repeat(3000), '00000000-0000-0000-0000-000000000000'));
    const request = fc.record({
      op: fc.integer({ min: 0, max: 10_000 }),
      segments: fc.array(segment, { minLength: 4, maxLength: 4 }),
      // Mostly the operation's own parameters (a documented key by index), now and then any name.
      query: fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) }), fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom('0', '1', '-1', '101', '1e3', '2026-02-30', '2026-01-01', 'null', 'very_high', 'draft'))), { maxLength: 3 }),
      body: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: bodies.length - 1 }).chain((i) => mutated(bodies[i])), fc.jsonValue({ maxDepth: 4 }), fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ raw: text }))),
      who: fc.integer({ min: 0, max: 2 }),
    });
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const op = operations[r.op % operations.length]!;
        let n = 0;
        const path = op.template.replace(/\{[^}]+\}/g, () => r.segments[n++]!);
        const query = r.query
          .map(([key, v]) => [typeof key === 'number' ? op.query[key % op.query.length] : key, v] as const)
          .filter((pair): pair is readonly [string, string] => pair[0] !== undefined)
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
          .join('&');
        const url = `${path}${query ? `?${query}` : ''}`;
        const raw = r.body !== null && typeof r.body === 'object' && 'raw' in (r.body) ? (r.body as { raw: string }).raw : undefined;
        const hasBody = op.method !== 'GET' && op.method !== 'DELETE';
        const before = op.method === 'GET' ? undefined : await counts();
        const res = raw !== undefined && hasBody ? await sendText(app, op.method, url, credentials[r.who]!, raw) : await send(app, op.method, url, credentials[r.who]!, hasBody && raw === undefined ? r.body : undefined);
        const text = await res.text();
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        if (res.status >= 500) throw new Error(`${op.method} ${url} answered ${res.status}: ${text.slice(0, 300)}`);
        if (before !== undefined) {
          const after = await counts();
          // Every action that succeeded is in the audit trail; one that failed stored nothing.
          if (res.status < 300) expect([`${op.method} ${url}`, after.audit > before.audit]).toEqual([`${op.method} ${url}`, true]);
          else expect([`${op.method} ${url}`, after.stored]).toEqual([`${op.method} ${url}`, before.stored]);
          // A refused request left a request.refused event, a denied one (401, 403) a denial
          // (the token endpoint records a scope a client lacks as oauth.token.denied).
          const expected = [400, 409, 413, 415, 422].includes(res.status) ? ['request.refused'] : [401, 403].includes(res.status) ? ['request.denied', 'oauth.token.denied'] : undefined;
          if (expected) expect([`${op.method} ${url} ${res.status}`, after.audit > before.audit && expected.includes(after.last ?? '')]).toEqual([`${op.method} ${url} ${res.status}`, true]);
        }
        if (res.status >= 400 && op.template !== '/v1/oauth/token') {
          expect(res.headers.get('content-type')).toContain('application/problem+json');
          expect((JSON.parse(text) as { type: string }).type.startsWith(PROBLEM)).toBe(true);
        }
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261207), endOnFailure: true },
    );
    if (process.env.FUZZ_RUNS) process.stdout.write(`statuses: ${JSON.stringify(Object.fromEntries(seen))}\n`);
    // The generator reached the service, not only its outer checks.
    const answered = [...seen.entries()].sort(([a], [b]) => a - b);
    expect(answered.some(([status]) => status < 300)).toBe(true);
    expect(answered.filter(([status]) => status >= 400).length).toBeGreaterThan(3);
  }, 120_000);
});
