/**
 * Over real HTTP, on every database kind: each API read of what the service holds is recorded
 * before its response (who, the filters given, how many items were sent): assessment lists and
 * details, the audit trail, and the administration lists (users' e-mail addresses among them). A
 * read of another organisation's assessment goes to that organisation's trail under the role that
 * reached it; a refused read records no read.
 */
import { readFilters } from '../../src/http/record-read.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';
import { auditEventsAfter, auditHead, type AuditRow } from '../support/audit-events.js';


describe.each(DATABASE_KINDS)('reads recorded in the audit trail (%s)', (kind) => {
  let app: TestApp;
  let own: string;
  let granted: string;
  let admin: { id: string; creds: Credentials };
  let officer: { id: string; creds: Credentials };
  let auditor: { id: string; creds: Credentials };
  let client: { id: string; creds: Credentials };
  let ownAssessment: string;
  let grantedAssessment: string;

  const submit = async (creds: Credentials, title: string): Promise<string> => {
    const res = await send(app, 'POST', '/v1/assessments', creds, { title, ...example('poorly-controlled') });
    expect(res.status).toBe(201);
    return ((await res.json()) as { assessment: { id: string } }).assessment.id;
  };

  /** The events stored after `afterSeq`, oldest first. */
  const eventsAfter = (afterSeq: number): Promise<AuditRow[]> => auditEventsAfter(app.t.database, afterSeq);
  const head = (): Promise<number> => auditHead(app.t.database);

  /** Sends one GET and returns its status and the events it wrote. */
  const read = async (creds: Credentials, path: string): Promise<{ status: number; body: unknown; events: AuditRow[] }> => {
    const before = await head();
    const res = await send(app, 'GET', path, creds);
    const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
    return { status: res.status, body, events: await eventsAfter(before) };
  };

  beforeAll(async () => {
    app = await startTestApp(kind);
    own = await seedOrganization(app, `Reads own ${kind}`);
    granted = await seedOrganization(app, `Reads granted ${kind}`);
    const a = await seedUser(app, own, ['admin']);
    admin = { id: a.id, creds: { kind: 'session', session: await login(app, a.email) } };
    const o = await seedUser(app, own, ['compliance_officer']);
    officer = { id: o.id, creds: { kind: 'session', session: await login(app, o.email) } };
    const au = await seedUser(app, own, ['auditor'], { grants: [granted] });
    auditor = { id: au.id, creds: { kind: 'session', session: await login(app, au.email) } };
    const c = await seedClient(app, own, ['assessments:read', 'assessments:write', 'audit:read']);
    client = { id: c.id, creds: { kind: 'bearer', token: await clientToken(app, c) } };
    ownAssessment = await submit(officer.creds, 'Own triage bot');
    const grantedClient = await seedClient(app, granted, ['assessments:write']);
    grantedAssessment = await submit({ kind: 'bearer', token: await clientToken(app, grantedClient) }, 'Granted scribe');
  });
  afterAll(async () => {
    await app.stop();
  });

  it('records a list of assessments with the filters given and the number of items sent', async () => {
    const r = await read(officer.creds, '/v1/assessments?limit=5&q=triage&status=submitted&createdFrom=2020-01-01');
    expect(r.status).toBe(200);
    const items = (r.body as { items: unknown[] }).items;
    expect(items).toHaveLength(1);
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({
      action: 'assessment.listed',
      actor_type: 'user',
      actor_id: officer.id,
      actor_role: 'compliance_officer',
      organization_id: own,
      target_type: null,
      input_sha256: null,
      decision: { via: 'api', returned: 1, filters: { limit: '5', q: 'triage', status: 'submitted', createdFrom: '2020-01-01T00:00:00.000Z' } },
    });
    // No filter given: none recorded; an API client is recorded as itself, without a role.
    const plain = await read(client.creds, '/v1/assessments');
    expect(plain.status).toBe(200);
    expect(plain.events).toEqual([expect.objectContaining({ action: 'assessment.listed', actor_type: 'client', actor_id: client.id, actor_role: null, organization_id: own, decision: { via: 'api', returned: 1 } })]);
  });

  it("records a read of an assessment in its organisation's trail, as auditor for a granted one", async () => {
    const mine = await read(officer.creds, `/v1/assessments/${ownAssessment}`);
    expect(mine.status).toBe(200);
    expect(mine.events).toEqual([
      expect.objectContaining({ action: 'assessment.read', actor_id: officer.id, actor_role: 'compliance_officer', organization_id: own, target_type: 'assessment', target_id: ownAssessment, decision: { via: 'api', revisions: 1 } }),
    ]);
    const theirs = await read(auditor.creds, `/v1/assessments/${grantedAssessment}`);
    expect(theirs.status).toBe(200);
    expect(theirs.events).toEqual([
      expect.objectContaining({ action: 'assessment.read', actor_id: auditor.id, actor_role: 'auditor', organization_id: granted, target_type: 'assessment', target_id: grantedAssessment }),
    ]);
    // The granted organisation's own trail shows who read its assessment.
    const trail = await read(auditor.creds, `/v1/assessments/${grantedAssessment}/audit`);
    expect((trail.body as { items: { action: string; actor: { id: string } }[] }).items.filter((e) => e.action === 'assessment.read').map((e) => e.actor.id)).toEqual([auditor.id]);
  });

  it('records no read when the read is refused', async () => {
    // Another organisation's assessment, to a compliance officer: a 404, recorded as a denial only.
    const refused = await read(officer.creds, `/v1/assessments/${grantedAssessment}`);
    expect(refused.status).toBe(404);
    expect(refused.events.map((e) => e.action)).toEqual(['request.denied']);
    // An invalid filter changes nothing and reads nothing.
    const invalid = await read(officer.creds, '/v1/assessments?status=archived');
    expect(invalid.status).toBe(400);
    expect(invalid.events).toEqual([]);
  });

  it('records reads of the audit trail, after the page read, so the reader is not sent their own read', async () => {
    const events = await read(auditor.creds, '/v1/audit/events?limit=10&action=assessment.created');
    expect(events.status).toBe(200);
    const sent = (events.body as { items: { seq: number; action: string }[] }).items;
    expect(sent.every((e) => e.action === 'assessment.created')).toBe(true);
    expect(events.events).toEqual([
      expect.objectContaining({ action: 'audit.read', actor_id: auditor.id, actor_role: 'auditor', organization_id: own, target_type: null, decision: { via: 'api', view: 'events', returned: sent.length, filters: { limit: '10', action: 'assessment.created' } } }),
    ]);
    const trail = await read(auditor.creds, `/v1/assessments/${grantedAssessment}/audit?limit=2`);
    expect(trail.status).toBe(200);
    const trailItems = (trail.body as { items: { seq: number }[] }).items;
    expect(trailItems).toHaveLength(2);
    expect(trail.events).toEqual([
      expect.objectContaining({ action: 'audit.read', actor_id: auditor.id, actor_role: 'auditor', organization_id: granted, target_type: 'assessment', target_id: grantedAssessment, decision: { via: 'api', view: 'assessment', returned: 2, filters: { limit: '2' } } }),
    ]);
    expect(trailItems.every((e) => e.seq < trail.events[0]!.seq)).toBe(true);
  });

  it('records every administration list and a user read, with the number of records sent', async () => {
    const cases: [string, string, (body: unknown) => number][] = [
      ['/v1/organizations', 'organizations', (b) => (b as { items: unknown[] }).items.length],
      [`/v1/users?organizationId=${own}`, 'users', (b) => (b as { items: unknown[] }).items.length],
      ['/v1/api-clients', 'api_clients', (b) => (b as { items: unknown[] }).items.length],
      ['/v1/auditor-grants', 'auditor_grants', (b) => (b as { items: unknown[] }).items.length],
      ['/v1/keys', 'keys', (b) => (b as { items: unknown[] }).items.length],
    ];
    for (const [path, resource, count] of cases) {
      const r = await read(admin.creds, path);
      expect(r.status).toBe(200);
      expect(count(r.body)).toBeGreaterThan(0);
      // Installation-wide lists are in the installation's trail; one filtered to an organisation in that organisation's.
      expect(r.events).toEqual([expect.objectContaining({ action: 'admin.read', actor_id: admin.id, actor_role: 'admin', organization_id: path.includes('organizationId=') ? own : null, target_type: null, decision: expect.objectContaining({ via: 'api', resource, returned: count(r.body) }) })]);
    }
    expect((await eventsAfter(0)).filter((e) => e.action === 'admin.read' && e.decision.resource === 'users').at(-1)!.decision).toEqual({ via: 'api', resource: 'users', returned: 3, filters: { organizationId: own } });
    const one = await read(admin.creds, `/v1/users/${officer.id}`);
    expect(one.status).toBe(200);
    expect(one.events).toEqual([expect.objectContaining({ action: 'admin.read', actor_id: admin.id, target_type: 'user', target_id: officer.id, decision: { via: 'api', resource: 'user', returned: 1 } })]);
    // A user of another organisation: the read is in that organisation's trail, which shows who read them.
    const elsewhere = await seedUser(app, granted, ['compliance_officer']);
    const theirs = await read(admin.creds, `/v1/users/${elsewhere.id}`);
    expect(theirs.events).toEqual([expect.objectContaining({ action: 'admin.read', actor_id: admin.id, actor_role: 'admin', organization_id: granted, target_type: 'user', target_id: elsewhere.id })]);
    // A filter that is not a UUID is refused (400 at /organizationId), so no list is read or recorded.
    const long = await read(admin.creds, `/v1/users?organizationId=${'a'.repeat(499)}${encodeURIComponent('😀')}`);
    expect(long.status).toBe(400);
    expect((long.body as { pointer: string }).pointer).toBe('/organizationId');
    expect(long.events.filter((e) => e.action === 'admin.read')).toEqual([]);
    // A recorded filter is cut to the 500 characters an event holds, never inside an emoji (a lone surrogate failed the read with a 500).
    expect(readFilters({ q: `${'a'.repeat(499)}😀` })).toEqual({ filters: { q: 'a'.repeat(499) } });
    // An unknown user is a 404: no read recorded.
    const missing = await read(admin.creds, '/v1/users/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.events.filter((e) => e.action === 'admin.read')).toEqual([]);
  });
});
