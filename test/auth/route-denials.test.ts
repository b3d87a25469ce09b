/**
 * The 401s and 403s that src/http/routes/auth.ts answers itself are denials in the audit trail
 * like every other (bounded by recordDenied): a wrong current password on POST /v1/me/password,
 * a logout with a wrong CSRF token, a sign-in, refresh or logout from another site, a refresh
 * without a refresh cookie. And a wrong current password is a password guess: it counts against
 * the same brute-force limits as a failed sign-in (a stolen session cookie buys no more guesses).
 * Through real HTTP, on both databases, with an injected clock.
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { login, PASSWORD, postJson, refresh, seedOrganization, seedUser, send, SESSION_TEST_ENV, type Session } from './helpers.js';

const MINUTE = 60_000;
const NEW_PASSWORD = 'violet-Harbour-lantern-9731';

interface DeniedEvent {
  action: string;
  outcome: string;
  actor_type: string;
  actor_id: string | null;
  organization_id: string | null;
  decision: Record<string, unknown>;
}

describe.each(DATABASE_KINDS)('denials of the auth routes on %s', (kind) => {
  let app: TestApp;
  let now = Date.parse('2030-03-01T09:00:00Z');
  let orgId: string;
  let ipCounter = 0;
  /** A client address of its own, so a test reads exactly the events it caused. */
  const freshIp = (): string => {
    ipCounter += 1;
    return `10.60.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
  };

  beforeAll(async () => {
    app = await startTestApp(kind, SESSION_TEST_ENV, { clock: () => new Date(now) });
    orgId = await seedOrganization(app);
  });
  afterAll(async () => {
    await app.stop();
  });
  beforeEach(() => {
    now += 24 * 60 * MINUTE;
  });

  const deniedFrom = async (ip: string): Promise<DeniedEvent[]> =>
    (await app.t.database.db
      .selectFrom('audit_events')
      .select(['action', 'outcome', 'actor_type', 'actor_id', 'organization_id', 'decision'])
      .where('source_ip', '=', ip)
      .where('action', 'in', ['request.denied', 'request.refused'])
      .orderBy('seq')
      .execute()) as DeniedEvent[];

  const changePassword = (session: Session, ip: string, currentPassword: string): Promise<Response> =>
    send(app, 'POST', '/v1/me/password', { kind: 'session', session }, { currentPassword, newPassword: NEW_PASSWORD }, { 'x-forwarded-for': ip });

  it('a wrong current password is a 401 recorded as a denial of the user', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s = await login(app, user.email, PASSWORD, { 'x-forwarded-for': freshIp() });
    const ip = freshIp();
    const res = await changePassword(s, ip, 'not-my-password-at-all');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { detail: string }).detail).toBe('The current password is not correct');
    expect(await deniedFrom(ip)).toEqual([
      { action: 'request.denied', outcome: 'denied', actor_type: 'user', actor_id: user.id, organization_id: orgId, decision: { status: 401, method: 'POST', route: '/v1/me/password', reason: 'current_password_invalid' } },
    ]);
    // Never the password in the trail.
    const all = await app.t.database.db.selectFrom('audit_events').select('decision_canonical').execute();
    expect(all.map((r) => r.decision_canonical).join('\n')).not.toContain('not-my-password-at-all');
  });

  it('wrong current passwords lock the account like failed sign-ins: 429 with Retry-After, the right password included, until the window slides', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s = await login(app, user.email, PASSWORD, { 'x-forwarded-for': freshIp() });
    // Five wrong guesses from five addresses: the account's limit (5), not an address's.
    for (let i = 0; i < 5; i++) expect((await changePassword(s, freshIp(), `wrong-guess-${i}-xyz`)).status).toBe(401);
    const ip = freshIp();
    const limited = await changePassword(s, ip, PASSWORD);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(await deniedFrom(ip)).toEqual([
      { action: 'request.denied', outcome: 'denied', actor_type: 'user', actor_id: user.id, organization_id: orgId, decision: { status: 429, method: 'POST', route: '/v1/me/password', reason: 'login_rate_limited' } },
    ]);
    // The sign-in of that account is locked too, with the same answer (nothing more revealed).
    const signIn = await postJson(app, '/v1/auth/login', { email: user.email, password: PASSWORD }, { 'x-forwarded-for': freshIp() });
    expect(signIn.status).toBe(429);
    const strip = (b: Record<string, unknown>): Record<string, unknown> => ({ ...b, requestId: undefined, instance: undefined });
    expect(strip((await limited.json()) as Record<string, unknown>)).toEqual(strip((await signIn.json()) as Record<string, unknown>));
    // The password did not change.
    const row = await app.t.database.db.selectFrom('users').select('updated_at').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(new Date(row.updated_at).getTime()).toBeLessThan(now);
    // The window slides: 16 minutes later (refreshing the 10-minute access token) it works.
    now += 16 * MINUTE;
    const renewed = (await refresh(app, s)).session!;
    expect((await changePassword(renewed, freshIp(), PASSWORD)).status).toBe(204);
    expect((await login(app, user.email, NEW_PASSWORD, { 'x-forwarded-for': freshIp() })).csrfToken).toEqual(expect.any(String));
  });

  it('failed sign-ins and wrong current passwords add up against the same per-account limit', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s = await login(app, user.email, PASSWORD, { 'x-forwarded-for': freshIp() });
    for (let i = 0; i < 3; i++) expect((await postJson(app, '/v1/auth/login', { email: user.email, password: `wrong-sign-in-${i}-x` }, { 'x-forwarded-for': freshIp() })).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await changePassword(s, freshIp(), `wrong-current-${i}-x`)).status).toBe(401);
    // 3 + 2 = 5: both are locked now.
    expect((await postJson(app, '/v1/auth/login', { email: user.email, password: PASSWORD }, { 'x-forwarded-for': freshIp() })).status).toBe(429);
    expect((await changePassword(s, freshIp(), PASSWORD)).status).toBe(429);
  });

  it('a logout with a wrong or missing CSRF token is a 403 recorded as a denial of the session user', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s = await login(app, user.email, PASSWORD, { 'x-forwarded-for': freshIp() });
    for (const token of [undefined, 'wrong']) {
      const ip = freshIp();
      const res = await fetch(`${app.url}/v1/auth/logout`, { method: 'POST', headers: { cookie: s.cookie, 'x-forwarded-for': ip, ...(token !== undefined ? { 'x-csrf-token': token } : {}) } });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { type: string }).type).toMatch(/csrf-token-invalid$/);
      expect(await deniedFrom(ip)).toEqual([
        { action: 'request.denied', outcome: 'denied', actor_type: 'user', actor_id: user.id, organization_id: orgId, decision: { status: 403, method: 'POST', route: '/v1/auth/logout', reason: 'csrf' } },
      ]);
    }
    // The session is still open.
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s })).status).toBe(200);
  });

  it('a sign-in, refresh or logout from another site is a 403 recorded as an anonymous denial', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s = await login(app, user.email, PASSWORD, { 'x-forwarded-for': freshIp() });
    const crossSite: Record<string, string>[] = [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }];
    for (const path of ['/v1/auth/login', '/v1/auth/refresh', '/v1/auth/logout']) {
      for (const headers of crossSite) {
        const ip = freshIp();
        const res = await fetch(`${app.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie: s.cookie, 'x-csrf-token': s.csrfToken, 'x-forwarded-for': ip, ...headers },
          body: JSON.stringify(path === '/v1/auth/login' ? { email: user.email, password: PASSWORD } : {}),
        });
        expect(res.status).toBe(403);
        expect(res.headers.getSetCookie()).toEqual([]);
        expect(await deniedFrom(ip)).toEqual([
          { action: 'request.denied', outcome: 'denied', actor_type: 'anonymous', actor_id: null, organization_id: null, decision: { status: 403, method: 'POST', route: path, reason: 'cross_site' } },
        ]);
      }
    }
    // Nothing was done: the session is still open.
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s })).status).toBe(200);
  });

  it('a refresh without a refresh cookie is a 401 recorded as an anonymous denial', async () => {
    const ip = freshIp();
    const res = await fetch(`${app.url}/v1/auth/refresh`, { method: 'POST', headers: { 'x-forwarded-for': ip } });
    expect(res.status).toBe(401);
    expect(await deniedFrom(ip)).toEqual([
      { action: 'request.denied', outcome: 'denied', actor_type: 'anonymous', actor_id: null, organization_id: null, decision: { status: 401, method: 'POST', route: '/v1/auth/refresh', reason: 'no_refresh_token' } },
    ]);
  });
});
