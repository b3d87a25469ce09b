/**
 * Over real HTTP, on every database kind, what an administrator's change of a user does beyond the
 * user row:
 * - removing the `auditor` role revokes every grant of the user, each recorded as
 *   `auditor_grant.revoked` in the grant's organisation, in the same transaction; giving the role
 *   back restores no organisation (before, the grants were kept and silently came back, with no
 *   `auditor_grant.created`), not even grants a removal before this rule left behind;
 * - moving a user to another organisation records `user.updated` in the new organisation's trail
 *   and in the previous one's (before, only in the new one: the old organisation's auditors never
 *   saw their user leave).
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { login, seedOrganization, seedUser, send, type Credentials } from './helpers.js';
import { auditEventsAfter, auditHead, type AuditRow } from '../support/audit-events.js';


describe.each(DATABASE_KINDS)('audit of user changes (%s)', (kind) => {
  let app: TestApp;
  let home: string;
  let admin: { id: string; creds: Credentials };

  const head = (): Promise<number> => auditHead(app.t.database);
  const eventsAfter = (seq: number): Promise<AuditRow[]> => auditEventsAfter(app.t.database, seq);
  const patch = async (id: string, body: unknown): Promise<number> => (await send(app, 'PATCH', `/v1/users/${id}`, admin.creds, body)).status;

  beforeAll(async () => {
    app = await startTestApp(kind);
    home = await seedOrganization(app);
    const a = await seedUser(app, home, ['admin']);
    admin = { id: a.id, creds: { kind: 'session', session: await login(app, a.email) } };
  });
  afterAll(async () => {
    await app.stop();
  });

  it('revokes an auditor’s grants with the role, and re-adding the role restores none', async () => {
    const granted = [await seedOrganization(app), await seedOrganization(app)];
    const auditor = await seedUser(app, home, ['auditor', 'compliance_officer'], { grants: granted });
    const grants = (await app.t.database.db.selectFrom('auditor_grants').select(['id', 'organization_id']).where('auditor_id', '=', auditor.id).orderBy('id').execute()).map((g) => ({ id: g.id, org: g.organization_id }));
    expect(grants.map((g) => g.org).sort()).toEqual([...granted].sort());
    const me = async (): Promise<{ grantedOrganizationIds: string[] }> => (await send(app, 'GET', '/v1/me', { kind: 'session', session: await login(app, auditor.email) })).json() as Promise<{ grantedOrganizationIds: string[] }>;
    expect((await me()).grantedOrganizationIds.sort()).toEqual([...granted].sort());

    const before = await head();
    expect(await patch(auditor.id, { roles: ['compliance_officer'] })).toBe(200);
    const events = await eventsAfter(before);
    expect(events.map((e) => e.action)).toEqual(['user.updated', 'auditor_grant.revoked', 'auditor_grant.revoked']);
    expect(events.slice(1)).toEqual(
      grants.map((g) => expect.objectContaining({ action: 'auditor_grant.revoked', actor_id: admin.id, organization_id: g.org, target_type: 'auditor_grant', target_id: g.id, decision: { auditorId: auditor.id, organizationId: g.org } })),
    );
    expect(await app.t.database.db.selectFrom('auditor_grants').select('id').where('auditor_id', '=', auditor.id).execute()).toEqual([]);

    const readded = await head();
    expect(await patch(auditor.id, { roles: ['auditor', 'compliance_officer'] })).toBe(200);
    expect((await eventsAfter(readded)).map((e) => e.action)).toEqual(['user.updated']);
    expect((await me()).grantedOrganizationIds).toEqual([]);
  });

  it('revokes grants left over from a removal before this rule when the role is given back', async () => {
    const granted = await seedOrganization(app);
    const auditor = await seedUser(app, home, ['auditor', 'compliance_officer'], { grants: [granted] });
    // As updateUser left it before: the role gone, the grant kept.
    await app.t.database.db.updateTable('users').set({ roles: ['compliance_officer'] }).where('id', '=', auditor.id).execute();
    const grant = await app.t.database.db.selectFrom('auditor_grants').select('id').where('auditor_id', '=', auditor.id).executeTakeFirstOrThrow();
    const before = await head();
    expect(await patch(auditor.id, { roles: ['auditor', 'compliance_officer'] })).toBe(200);
    expect((await eventsAfter(before)).map((e) => [e.action, e.organization_id, e.target_id])).toEqual([
      ['user.updated', home, auditor.id],
      ['auditor_grant.revoked', granted, grant.id],
    ]);
    const me = (await (await send(app, 'GET', '/v1/me', { kind: 'session', session: await login(app, auditor.email) })).json()) as { grantedOrganizationIds: string[] };
    expect(me.grantedOrganizationIds).toEqual([]);
  });

  it('keeps the grants of a user who stays an auditor', async () => {
    const granted = await seedOrganization(app);
    const auditor = await seedUser(app, home, ['auditor'], { grants: [granted] });
    const before = await head();
    expect(await patch(auditor.id, { roles: ['auditor', 'compliance_officer'] })).toBe(200);
    expect((await eventsAfter(before)).map((e) => e.action)).toEqual(['user.updated']);
    expect(await app.t.database.db.selectFrom('auditor_grants').select('organization_id').where('auditor_id', '=', auditor.id).execute()).toEqual([{ organization_id: granted }]);
  });

  it('records a move to another organisation in the trails of both', async () => {
    const next = await seedOrganization(app);
    const user = await seedUser(app, home, ['compliance_officer']);
    const before = await head();
    expect(await patch(user.id, { organizationId: next })).toBe(200);
    const changes = { organizationId: { from: home, to: next } };
    expect(await eventsAfter(before)).toEqual([
      expect.objectContaining({ action: 'user.updated', actor_id: admin.id, organization_id: next, target_type: 'user', target_id: user.id, decision: { changes } }),
      expect.objectContaining({ action: 'user.updated', actor_id: admin.id, organization_id: home, target_type: 'user', target_id: user.id, decision: { changes } }),
    ]);
  });

  it('records a change that is no move in the user’s organisation only', async () => {
    const user = await seedUser(app, home, ['compliance_officer']);
    const before = await head();
    expect(await patch(user.id, { organizationId: home, name: 'Same place' })).toBe(200);
    expect((await eventsAfter(before)).map((e) => [e.action, e.organization_id])).toEqual([['user.updated', home]]);
  });
});
