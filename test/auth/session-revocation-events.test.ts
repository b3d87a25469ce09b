/**
 * Over real HTTP, on every database kind: each session a change ends is recorded on its own
 * (`auth.session.revoked`: the session, the reason, who caused it, in the user's organisation),
 * right after the change it follows from and in the same transaction: a user disabled or their
 * password reset by an administrator, and a user changing their own password (every session but
 * the one they used).
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { login, seedOrganization, seedUser, send, type Credentials } from './helpers.js';
import { auditEventsAfter, auditHead, type AuditRow } from '../support/audit-events.js';

const NEW_PASSWORD = 'another-Staple-battery-horse-77';


describe.each(DATABASE_KINDS)('session revocations recorded (%s)', (kind) => {
  let app: TestApp;
  let org: string;
  let admin: { id: string; creds: Credentials };

  const head = (): Promise<number> => auditHead(app.t.database);
  const eventsAfter = (seq: number): Promise<AuditRow[]> => auditEventsAfter(app.t.database, seq);
  const openSessionsOf = async (userId: string): Promise<string[]> =>
    (await app.t.database.db.selectFrom('auth_sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).orderBy('id').execute()).map((r) => r.id);

  beforeAll(async () => {
    app = await startTestApp(kind);
    org = await seedOrganization(app, `Revocations ${kind}`);
    const a = await seedUser(app, org, ['admin']);
    admin = { id: a.id, creds: { kind: 'session', session: await login(app, a.email) } };
  });
  afterAll(async () => {
    await app.stop();
  });

  it.each([
    ['user_disabled', { disabled: true }],
    ['password_reset', { password: NEW_PASSWORD }],
  ] as const)('records each session an administrator ends (%s), after user.updated', async (reason, change) => {
    const user = await seedUser(app, org, ['compliance_officer']);
    await login(app, user.email);
    await login(app, user.email);
    const sessions = await openSessionsOf(user.id);
    expect(sessions).toHaveLength(2);
    const before = await head();
    expect((await send(app, 'PATCH', `/v1/users/${user.id}`, admin.creds, change)).status).toBe(200);
    expect(await openSessionsOf(user.id)).toEqual([]);
    const events = await eventsAfter(before);
    expect(events.map((e) => e.action)).toEqual(['user.updated', 'auth.session.revoked', 'auth.session.revoked']);
    expect(events.slice(1)).toEqual(
      sessions.map((sessionId) => expect.objectContaining({ actor_id: admin.id, organization_id: org, target_type: 'session', target_id: sessionId, decision: { sessionId, reason } })),
    );
  });

  it('records each other session a user ends by changing their own password, not the one they used', async () => {
    const user = await seedUser(app, org, ['compliance_officer']);
    const current = await login(app, user.email);
    await login(app, user.email);
    await login(app, user.email);
    const all = await openSessionsOf(user.id);
    expect(all).toHaveLength(3);
    const before = await head();
    const res = await send(app, 'POST', '/v1/me/password', { kind: 'session', session: current }, { currentPassword: user.password, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(204);
    const kept = await openSessionsOf(user.id);
    expect(kept).toHaveLength(1);
    const events = await eventsAfter(before);
    expect(events.map((e) => e.action)).toEqual(['user.password_changed', 'auth.session.revoked', 'auth.session.revoked']);
    expect(events.slice(1)).toEqual(
      all.filter((id) => id !== kept[0]).map((sessionId) => expect.objectContaining({ actor_id: user.id, organization_id: org, target_id: sessionId, decision: { sessionId, reason: 'password_changed' } })),
    );
  });

  it('records nothing more when a change ends no session', async () => {
    const user = await seedUser(app, org, ['compliance_officer']);
    const before = await head();
    expect((await send(app, 'PATCH', `/v1/users/${user.id}`, admin.creds, { disabled: true })).status).toBe(200);
    expect((await eventsAfter(before)).map((e) => e.action)).toEqual(['user.updated']);
  });
});
