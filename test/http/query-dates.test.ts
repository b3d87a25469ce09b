/**
 * Date query parameters of the API (`createdFrom`/`createdTo` of GET /v1/assessments, `from`/`to`
 * of GET /v1/audit/events) over real HTTP, on every database kind: a date the calendar does not
 * have is a 400 problem at the parameter's pointer, never rolled over into another day.
 */
import { clientToken, seedClient, seedOrganization } from '../auth/helpers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';

interface Problem {
  readonly status: number;
  readonly errors?: readonly { readonly pointer: string; readonly detail: string }[];
}

describe.each(DATABASE_KINDS)('date query parameters (%s)', (kind) => {
  let app: TestApp;
  let token: string;
  beforeAll(async () => {
    app = await startTestApp(kind);
    const org = await seedOrganization(app);
    token = await clientToken(app, await seedClient(app, org, ['assessments:read', 'audit:read']));
  });
  afterAll(async () => {
    await app?.stop();
  });

  const get = (path: string): Promise<Response> => fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const countRows = async (table: 'audit_events'): Promise<number> => Number((await app.t.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  const impossible: [string, string][] = [
    ['createdFrom', '2026-02-30'],
    ['createdFrom', '2025-02-29'],
    ['createdTo', '2026-04-31'],
    ['createdTo', '2026-13-01'],
    ['createdFrom', '2026-00-10'],
    ['createdFrom', '2026-01-00'],
    ['createdFrom', '2026-01-01T24:00Z'],
    ['createdTo', '2026-01-01T24:00:00Z'],
    ['createdFrom', '2026-01-01T23:60Z'],
    ['createdFrom', '2026-01-01T12:00:60Z'],
    ['createdFrom', '2026-01-01T12:00+24:00'],
    ['createdFrom', '2026-01-01T12:00+05:60'],
  ];
  it.each(impossible)('GET /v1/assessments?%s=%s is a 400 at the parameter, storing nothing', async (name, value) => {
    const events = await countRows('audit_events');
    const res = await get(`/v1/assessments?${name}=${encodeURIComponent(value)}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as Problem;
    expect(problem.errors?.map((e) => e.pointer)).toEqual([`/${name}`]);
    expect(await countRows('audit_events')).toBe(events);
  });

  it.each([
    ['from', '2026-02-30'],
    ['to', '2026-02-29T24:00:00Z'],
    ['to', '2100-02-29'],
  ])('GET /v1/audit/events?%s=%s is a 400 at the parameter', async (name, value) => {
    const res = await get(`/v1/audit/events?${name}=${encodeURIComponent(value)}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as Problem).errors?.map((e) => e.pointer)).toEqual([`/${name}`]);
  });

  it.each(['2024-02-29', '2000-02-29', '2026-01-31T23:59:59Z', '2026-12-31T00:00:00.123456789+05:30', '2026-06-30T23:59-23:59'])('still takes the real date %s', async (value) => {
    expect((await get(`/v1/assessments?createdFrom=${encodeURIComponent(value)}`)).status).toBe(200);
    expect((await get(`/v1/audit/events?from=${encodeURIComponent(value)}&limit=1`)).status).toBe(200);
  });
});
