/**
 * UUIDs typed in upper case (ajv's `format: uuid` accepts any case) are stored, answered and
 * recorded in lower case: the owning organisation's audit readers see the events, and a PATCH
 * naming a user's own organisation in upper case is no change (nothing recorded, sessions kept).
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { login, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';

interface Event {
  action: string;
  organizationId: string | null;
  target: { type: string; id: string } | null;
  decision: Record<string, unknown>;
}

describe.each(DATABASE_KINDS)('upper-case UUIDs in administration bodies on %s', (kind) => {
  let app: TestApp;
  let home: string;
  let org: string;
  let admin: Credentials;
  let orgAuditor: Credentials;
  let auditorUserId: string;

  beforeAll(async () => {
    app = await startTestApp(kind);
    home = await seedOrganization(app, `Uuid admin home ${kind}`);
    org = await seedOrganization(app, `Uuid clinic ${kind}`);
    admin = { kind: 'session', session: await login(app, (await seedUser(app, home, ['admin'])).email) };
    const auditor = await seedUser(app, home, ['auditor'], { grants: [org] });
    auditorUserId = auditor.id;
    orgAuditor = { kind: 'session', session: await login(app, auditor.email) };
  });
  afterAll(async () => {
    await app.stop();
  });

  const trailOfOrg = async (): Promise<Event[]> => {
    const res = await send(app, 'GET', '/v1/audit/events?limit=1000', orgAuditor);
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: Event[] }).items;
  };

  it('POST /v1/api-clients stores, answers and records the organisation in lower case', async () => {
    const res = await send(app, 'POST', '/v1/api-clients', admin, { name: 'upper', organizationId: org.toUpperCase(), scopes: ['evaluate'] });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { clientId: string; client: { organizationId: string } };
    expect(body.client.organizationId).toBe(org);
    const stored = await app.t.database.db.selectFrom('audit_events').select(['organization_id']).where('action', '=', 'api_client.created').where('target_id', '=', body.clientId).executeTakeFirstOrThrow();
    expect(stored.organization_id).toBe(org);
    expect((await trailOfOrg()).some((e) => e.action === 'api_client.created' && e.target?.id === body.clientId)).toBe(true);
    // Rotated and revoked by an upper-case id: recorded against the stored id.
    expect((await send(app, 'POST', `/v1/api-clients/${body.clientId.toUpperCase()}/rotate`, admin)).status).toBe(200);
    expect((await send(app, 'POST', `/v1/api-clients/${body.clientId.toUpperCase()}/revoke`, admin)).status).toBe(200);
    const later = await app.t.database.db.selectFrom('audit_events').select(['action', 'target_id', 'decision']).where('action', 'in', ['api_client.secret_rotated', 'api_client.revoked']).orderBy('seq').execute();
    expect(later).toEqual([
      { action: 'api_client.secret_rotated', target_id: body.clientId, decision: { clientId: body.clientId } },
      { action: 'api_client.revoked', target_id: body.clientId, decision: { clientId: body.clientId } },
    ]);
  });

  it('POST /v1/users stores, answers and records the organisation in lower case', async () => {
    const res = await send(app, 'POST', '/v1/users', admin, { email: `upper-${kind}@example.org`, organizationId: org.toUpperCase(), roles: ['compliance_officer'], password: 'a-Long-enough-pass-phrase-9' });
    expect(res.status).toBe(201);
    const user = (await res.json()) as { id: string; organizationId: string };
    expect(user.organizationId).toBe(org);
    const created = (await trailOfOrg()).find((e) => e.action === 'user.created' && e.target?.id === user.id);
    expect(created).toMatchObject({ organizationId: org, decision: { organizationId: org } });
  });

  it('POST /v1/auditor-grants stores, answers and records both ids in lower case', async () => {
    const target = await seedOrganization(app, `Uuid granted ${kind}`);
    const res = await send(app, 'POST', '/v1/auditor-grants', admin, { auditorId: auditorUserId.toUpperCase(), organizationId: target.toUpperCase() });
    expect(res.status).toBe(201);
    const grant = (await res.json()) as { id: string; auditorId: string; organizationId: string };
    expect(grant).toMatchObject({ auditorId: auditorUserId, organizationId: target });
    const stored = await app.t.database.db.selectFrom('audit_events').select(['organization_id', 'decision']).where('action', '=', 'auditor_grant.created').where('target_id', '=', grant.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ organization_id: target, decision: { auditorId: auditorUserId, organizationId: target } });
    // The same grant in the other case is the same grant.
    expect((await send(app, 'POST', '/v1/auditor-grants', admin, { auditorId: auditorUserId, organizationId: target })).status).toBe(409);
  });

  it('PATCH /v1/users/{id} with its own organisation in upper case changes nothing and keeps its sessions', async () => {
    const officer = await seedUser(app, org, ['compliance_officer']);
    const session: Credentials = { kind: 'session', session: await login(app, officer.email) };
    const before = await app.t.database.db.selectFrom('users').select(['authz_version']).where('id', '=', officer.id).executeTakeFirstOrThrow();
    const res = await send(app, 'PATCH', `/v1/users/${officer.id.toUpperCase()}`, admin, { organizationId: org.toUpperCase() });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: officer.id, organizationId: org });
    const updates = await app.t.database.db.selectFrom('audit_events').select(['decision']).where('action', '=', 'user.updated').where('target_id', 'in', [officer.id, officer.id.toUpperCase()]).execute();
    expect(updates).toEqual([]);
    const after = await app.t.database.db.selectFrom('users').select(['authz_version']).where('id', '=', officer.id).executeTakeFirstOrThrow();
    expect(after.authz_version).toBe(before.authz_version);
    expect((await send(app, 'GET', '/v1/me', session)).status).toBe(200);
  });

  it('PATCH /v1/users/{id} moving a user records the new organisation in lower case', async () => {
    const officer = await seedUser(app, home, ['compliance_officer']);
    const res = await send(app, 'PATCH', `/v1/users/${officer.id}`, admin, { organizationId: org.toUpperCase() });
    expect(res.status).toBe(200);
    const moved = (await trailOfOrg()).find((e) => e.action === 'user.updated' && e.target?.id === officer.id);
    expect(moved).toMatchObject({ organizationId: org, decision: { changes: { organizationId: { from: home, to: org } } } });
  });
});
