/**
 * Filters of the API lists over real HTTP: a date-only upper bound (`to` of GET /v1/audit/events,
 * `createdTo` of GET /v1/assessments) includes that whole day (UTC), as the audit trail page's
 * does, while a date-time stays exclusive; an unknown `action` is a 400 at `/action`, as on the
 * page, not an empty list; `q` is limited to 200 characters counted as the title's are (code
 * points), so a title the API accepted can be searched for.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, seedClient, seedOrganization, send, type Credentials } from '../auth/helpers.js';
import type { ProblemBody as Problem } from '../../src/http/problem.js';

const PROBLEM = 'https://hipaa-ai-risk.dev/problems/';
const DAY_MS = 86_400_000;


describe.each(DATABASE_KINDS)('list filters (%s)', (kind) => {
  let app: TestApp;
  let reader: Credentials;
  let writer: Credentials;
  let createdAt = '';
  const today = new Date().toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() - DAY_MS).toISOString().slice(0, 10);

  beforeAll(async () => {
    app = await startTestApp(kind);
    const org = await seedOrganization(app, `Bounds clinic ${kind}`);
    writer = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:write'])) };
    reader = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:read', 'audit:read'])) };
    const res = await send(app, 'POST', '/v1/assessments', writer, { title: 'Bounded', ...example('well-controlled') });
    expect(res.status).toBe(201);
    createdAt = ((await res.json()) as { assessment: { createdAt: string } }).assessment.createdAt;
  });
  afterAll(async () => {
    await app.stop();
  });

  const items = async (path: string): Promise<{ createdAt?: string; occurredAt?: string; action?: string }[]> => {
    const res = await send(app, 'GET', path, reader);
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: { createdAt?: string; occurredAt?: string }[] }).items;
  };
  const lastDecision = async (action: string): Promise<Record<string, unknown>> =>
    (await app.t.database.db.selectFrom('audit_events').select('decision').where('action', '=', action).orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow()).decision as Record<string, unknown>;

  it('GET /v1/assessments?createdFrom=<day>&createdTo=<same day> lists what was created that day', async () => {
    expect(createdAt.slice(0, 10)).toBe(today);
    expect((await items(`/v1/assessments?createdFrom=${today}&createdTo=${today}`)).map((i) => i.createdAt)).toEqual([createdAt]);
    expect(await items(`/v1/assessments?createdTo=${yesterday}`)).toEqual([]);
    // Recorded as given: the day, not the midnight that starts it.
    expect(await lastDecision('assessment.listed')).toMatchObject({ filters: { createdTo: yesterday } });
    // A date-time stays exclusive: the assessment's own creation moment excludes it, a moment later includes it.
    expect(await items(`/v1/assessments?createdTo=${encodeURIComponent(createdAt)}`)).toEqual([]);
    expect((await items(`/v1/assessments?createdTo=${encodeURIComponent(new Date(Date.parse(createdAt) + 1).toISOString())}`)).length).toBe(1);
  });

  it('GET /v1/audit/events?from=<day>&to=<same day> lists that day\'s events', async () => {
    const events = await items(`/v1/audit/events?from=${today}&to=${today}&action=assessment.created`);
    expect(events.length).toBe(1);
    expect(events[0]!.occurredAt!.slice(0, 10)).toBe(today);
    expect(await items(`/v1/audit/events?to=${yesterday}`)).toEqual([]);
    expect(await lastDecision('audit.read')).toMatchObject({ filters: { to: yesterday } });
    // A date-time stays exclusive.
    const at = events[0]!.occurredAt!;
    expect(await items(`/v1/audit/events?to=${encodeURIComponent(at)}&action=assessment.created`)).toEqual([]);
  });

  it('refuses an unknown action with a 400 at /action, as the trail page does, recording no read', async () => {
    const reads = (await app.t.database.db.selectFrom('audit_events').select('seq').where('action', '=', 'audit.read').execute()).length;
    const res = await send(app, 'GET', '/v1/audit/events?action=assessment.exploded', reader);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as Problem;
    expect(problem.type).toBe(`${PROBLEM}bad-request`);
    expect(problem.detail).toBe('No audit action is called assessment.exploded');
    expect(problem.errors).toEqual([{ pointer: '/action', detail: 'unknown action' }]);
    expect((await app.t.database.db.selectFrom('audit_events').select('seq').where('action', '=', 'audit.read').execute()).length).toBe(reads);
    // A known action still filters.
    expect((await items('/v1/audit/events?action=assessment.created')).length).toBe(1);
  });

  it('counts q in characters as the title is: a title of 150 emoji is accepted and found, 201 emoji are refused', async () => {
    const title = '😀'.repeat(150);
    expect(title.length).toBe(300);
    expect((await send(app, 'POST', '/v1/assessments', writer, { title, ...example('well-controlled') })).status).toBe(201);
    const found = await items(`/v1/assessments?q=${encodeURIComponent(title)}`);
    expect(found.map((i) => (i as { title?: string }).title)).toEqual([title]);
    expect((await items(`/v1/assessments?q=${encodeURIComponent('😀'.repeat(200))}`)).length).toBe(0);
    const res = await send(app, 'GET', `/v1/assessments?q=${encodeURIComponent('😀'.repeat(201))}`, reader);
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).errors).toEqual([{ pointer: '/q', detail: 'too long' }]);
  });
});
