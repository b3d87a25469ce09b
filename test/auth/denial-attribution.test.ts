/**
 * Over real HTTP, on every database kind: a refusal is recorded naming whoever the service already
 * knows made the request.
 * - A refresh with the token of a revoked session (after logout, or after reuse detection) is a
 *   `request.denied` (`refresh_revoked`) by the session's user, in their organisation, with the
 *   session as target; before, it was anonymous, with no organisation and no target. An unknown
 *   token stays anonymous.
 * - A token request with a malformed `scope` from an authenticated client is `oauth.token.denied`
 *   naming the client (as a scope it lacks already was); before, an anonymous `request.refused`.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { clientToken, login, refresh, seedClient, seedOrganization, seedUser, send, SESSION_TEST_ENV, type Session } from './helpers.js';
import { auditEventsAfter, auditHead, type AuditRow } from '../support/audit-events.js';


describe.each(DATABASE_KINDS)('who a refusal is recorded by (%s)', (kind) => {
  let app: TestApp;
  let org: string;
  let offset = 0;

  const head = (): Promise<number> => auditHead(app.t.database);
  const eventsAfter = (seq: number): Promise<AuditRow[]> => auditEventsAfter(app.t.database, seq);
  const sessionIdOf = async (session: Session): Promise<string> => ((await (await send(app, 'GET', '/v1/me', { kind: 'session', session })).json()) as { sessionId: string }).sessionId;

  beforeAll(async () => {
    app = await startTestApp(kind, { ...SESSION_TEST_ENV, AUDIT_DENIED_PER_MINUTE: '10000' }, { clock: () => new Date(Date.now() + offset) });
    org = await seedOrganization(app);
  });
  afterAll(async () => {
    await app.stop();
  });

  const revokedDenial = (user: { id: string }, sessionId: string): unknown => expect.objectContaining({
    action: 'request.denied',
    outcome: 'denied',
    actor_type: 'user',
    actor_id: user.id,
    organization_id: org,
    target_type: 'session',
    target_id: sessionId,
    decision: { status: 401, method: 'POST', route: '/v1/auth/refresh', reason: 'refresh_revoked' },
  });

  it('names the user, organisation and session of a refresh after logout', async () => {
    const user = await seedUser(app, org, ['compliance_officer']);
    const session = await login(app, user.email);
    const sessionId = await sessionIdOf(session);
    expect((await send(app, 'POST', '/v1/auth/logout', { kind: 'session', session })).status).toBe(204);
    const before = await head();
    expect((await refresh(app, session)).res.status).toBe(401);
    expect(await eventsAfter(before)).toEqual([revokedDenial(user, sessionId)]);
  });

  it('names them too for a refresh after reuse detection revoked the session', async () => {
    const user = await seedUser(app, org, ['compliance_officer']);
    const session = await login(app, user.email);
    const sessionId = await sessionIdOf(session);
    expect((await refresh(app, session)).res.status).toBe(200);
    offset += 60_000; // past the concurrent-refresh grace: presenting the used token again is reuse
    expect((await refresh(app, session)).res.status).toBe(401);
    const before = await head();
    expect((await refresh(app, session)).res.status).toBe(401);
    expect(await eventsAfter(before)).toEqual([revokedDenial(user, sessionId)]);
  });

  it('keeps an unknown refresh token anonymous', async () => {
    const before = await head();
    expect((await refresh(app, { cookie: '__Host-hipaa_refresh=harf_not-a-token' })).res.status).toBe(401);
    expect(await eventsAfter(before)).toEqual([
      expect.objectContaining({ action: 'request.denied', outcome: 'denied', actor_type: 'anonymous', actor_id: null, organization_id: null, target_type: null, target_id: null, decision: { status: 401, method: 'POST', route: '/v1/auth/refresh', reason: 'refresh_unknown' } }),
    ]);
  });

  it.each(['reports:read  self.read', ' reports:read', 'reports:read "x"'])('names the authenticated client of a token request with the malformed scope %j', async (scope) => {
    const client = await seedClient(app, org, ['reports:read']);
    const before = await head();
    const res = await fetch(`${app.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    expect(await eventsAfter(before)).toEqual([
      expect.objectContaining({ action: 'oauth.token.denied', outcome: 'denied', actor_type: 'client', actor_id: client.id, organization_id: org, target_type: 'api_client', target_id: client.id, decision: { reason: 'invalid_request: malformed scope', clientId: client.id } }),
    ]);
  });

  // One request, one event, with the status the client was sent: credentials that are refused
  // while the body is refused first are not recorded as a 401 the client never received.
  it('records a malformed body sent with an expired bearer token once, as the 400 it was', async () => {
    const client = await seedClient(app, org, ['assessments:write']);
    const token = await clientToken(app, client);
    offset += 3_600_000; // past the access token's lifetime
    const before = await head();
    const res = await fetch(`${app.url}/v1/assessments`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{bad' });
    expect(res.status).toBe(400);
    expect(await eventsAfter(before)).toEqual([
      expect.objectContaining({ action: 'request.refused', outcome: 'error', actor_type: 'anonymous', decision: expect.objectContaining({ status: 400, reason: 'malformed-json' }) }),
    ]);
  });

  it('records a body that is not JSON, sent with a session cookie that is not valid, once, as the 415 it was', async () => {
    const before = await head();
    const res = await fetch(`${app.url}/v1/users`, { method: 'POST', headers: { cookie: '__Host-hipaa_access=not-a-token', 'content-type': 'text/plain' }, body: 'hello' });
    expect(res.status).toBe(415);
    expect(await eventsAfter(before)).toEqual([
      expect.objectContaining({ action: 'request.refused', outcome: 'error', actor_type: 'anonymous', decision: expect.objectContaining({ status: 415 }) }),
    ]);
  });

  it('names the role that permitted the action in a refusal, as the success would, not every role held', async () => {
    const admin = await seedUser(app, org, ['compliance_officer', 'admin']);
    const session = await login(app, admin.email);
    const before = await head();
    const res = await send(app, 'POST', '/v1/users', { kind: 'session', session }, { email: `short-${Date.now()}@example.org`, password: 'short', roles: ['compliance_officer'], organizationId: org });
    expect(res.status).toBe(422);
    expect(await eventsAfter(before)).toEqual([
      expect.objectContaining({ action: 'request.refused', actor_type: 'user', actor_id: admin.id, actor_role: 'admin', decision: expect.objectContaining({ status: 422, route: '/v1/users' }) }),
    ]);
  });

  // As a failed sign-in names the account tried: a failed client authentication names the client.
  it('records a token request with a wrong secret against the client tried, in its organisation', async () => {
    const client = await seedClient(app, org, ['reports:read']);
    const before = await head();
    const res = await fetch(`${app.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.id}:harc_wrong`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(401);
    const events = await eventsAfter(before);
    expect(events).toEqual([
      expect.objectContaining({ action: 'request.denied', outcome: 'denied', actor_type: 'anonymous', organization_id: org, target_type: 'api_client', target_id: client.id, decision: { status: 401, method: 'POST', route: '/v1/oauth/token', reason: 'invalid_client' } }),
    ]);
    expect(JSON.stringify(events)).not.toContain('harc_wrong');
  });

  it('keeps a token request for an id that is no client\'s anonymous and untargeted', async () => {
    const before = await head();
    const res = await fetch(`${app.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('00000000-0000-4000-8000-000000000000:harc_wrong').toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(401);
    expect(await eventsAfter(before)).toEqual([
      expect.objectContaining({ action: 'request.denied', actor_type: 'anonymous', organization_id: null, target_type: null, target_id: null, decision: expect.objectContaining({ reason: 'invalid_client' }) }),
    ]);
  });
});
