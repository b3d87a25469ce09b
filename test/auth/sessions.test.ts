/**
 * Browser sessions through real HTTP: cookie attributes, CSRF, refresh rotation and reuse
 * detection, logout, idle and absolute expiry (with an injected clock), disabled users and
 * removed roles taking effect at once, and the login brute-force limits.
 */
import { REFRESH_REUSE_GRACE_SECONDS } from '../../src/auth/sessions.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { auditEvents, login, SESSION_TEST_ENV, names, PASSWORD, postJson, refresh, seedOrganization, seedUser, send, setCookiesOf, unique, type Session } from './helpers.js';

const MINUTE = 60_000;

describe.each(DATABASE_KINDS)('browser sessions on %s', (kind) => {
  let app: TestApp;
  let now = Date.parse('2030-01-01T09:00:00Z');
  let orgId: string;
  let admin: Session;

  beforeAll(async () => {
    app = await startTestApp(
      kind,
      SESSION_TEST_ENV,
      { clock: () => new Date(now) },
    );
    orgId = await seedOrganization(app);
    const a = await seedUser(app, orgId, ['admin']);
    admin = await login(app, a.email, PASSWORD, { 'x-forwarded-for': '10.9.9.9' });
  });
  afterAll(async () => {
    await app.stop();
  });
  // Each test starts a fresh admin session at the current time, so moving the clock is local.
  beforeEach(async () => {
    now += 24 * 60 * MINUTE;
    const a = await seedUser(app, orgId, ['admin']);
    admin = await login(app, a.email, PASSWORD, { 'x-forwarded-for': '10.9.9.9' });
  });

  it('login sets two __Host- cookies: HttpOnly, Secure, SameSite=Strict, Path=/, no Domain, Max-Age; the body holds only the CSRF token and the user', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const res = await postJson(app, '/v1/auth/login', { email: user.email.toUpperCase(), password: PASSWORD }, { 'x-forwarded-for': '10.0.0.1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const cookies = setCookiesOf(res);
    expect(cookies.map((c) => c.name).sort()).toEqual(['__Host-hipaa_access', '__Host-hipaa_refresh']);
    for (const c of cookies) {
      expect(c).toMatchObject({ httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
      expect(c.domain).toBeUndefined();
    }
    expect(cookies.find((c) => c.name === '__Host-hipaa_access')!.maxAge).toBe(600);
    expect(cookies.find((c) => c.name === '__Host-hipaa_refresh')!.maxAge).toBe(3600);
    const raw = res.headers.getSetCookie().join('\n');
    expect(raw).toMatch(/HttpOnly/);
    expect(raw).toMatch(/SameSite=Strict/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['csrfToken', 'expiresIn', 'user']);
    expect(body.user).toMatchObject({ email: user.email, organizationId: orgId, roles: ['compliance_officer'] });
    const text = JSON.stringify(body);
    for (const c of cookies) expect(text).not.toContain(c.value);
    const [event] = (await auditEvents(app, 'auth.login.succeeded')).slice(-1);
    expect(event).toMatchObject({ outcome: 'success', actor_id: user.id });
  });

  it('GET /v1/me returns identity, roles and the CSRF token (never a session token)', async () => {
    const res = await send(app, 'GET', '/v1/me', { kind: 'session', session: admin });
    expect(res.status).toBe(200);
    const me = (await res.json()) as Record<string, unknown>;
    expect(me).toMatchObject({ type: 'user', roles: ['admin'], scopes: [], organization: { id: orgId }, csrfToken: admin.csrfToken });
    expect(JSON.stringify(me)).not.toContain(admin.access);
    expect(JSON.stringify(me)).not.toContain(admin.refresh);
  });

  it('refuses a state-changing cookie request without, or with a wrong, CSRF token', async () => {
    for (const token of [undefined, 'wrong', admin.csrfToken.slice(0, -1) + (admin.csrfToken.endsWith('A') ? 'B' : 'A')]) {
      const res = await fetch(`${app.url}/v1/organizations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: admin.cookie, ...(token !== undefined ? { 'x-csrf-token': token } : {}) },
        body: JSON.stringify({ name: unique('Org ') }),
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { type: string }).type).toMatch(/csrf-token-invalid$/);
    }
    // Another session's CSRF token does not fit this session.
    const other = await login(app, (await seedUser(app, orgId, ['admin'])).email, PASSWORD, { 'x-forwarded-for': '10.0.0.2' });
    const crossed = await send(app, 'POST', '/v1/organizations', { kind: 'session', session: admin }, { name: unique('Org ') }, { 'x-csrf-token': other.csrfToken });
    expect(crossed.status).toBe(403);
    const ok = await send(app, 'POST', '/v1/organizations', { kind: 'session', session: admin }, { name: unique('Org ') });
    expect(ok.status).toBe(201);
    // Reads need no CSRF token.
    expect((await send(app, 'GET', '/v1/organizations', { kind: 'session', session: admin })).status).toBe(200);
  });

  it('refuses login from another origin (login CSRF)', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const res = await postJson(app, '/v1/auth/login', { email: user.email, password: PASSWORD }, { origin: 'https://evil.example', 'x-forwarded-for': '10.0.0.3' });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('refresh rotates the refresh token; reusing an old one revokes the whole family', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s1 = await login(app, user.email, PASSWORD, { 'x-forwarded-for': '10.0.0.4' });
    now += MINUTE;
    const r2 = await refresh(app, s1);
    expect(r2.res.status).toBe(200);
    const s2 = r2.session!;
    expect(s2.refresh).not.toBe(s1.refresh);
    expect(s2.access).not.toBe(s1.access);
    expect(s2.csrfToken).toBe(s1.csrfToken);
    for (const c of s2.setCookies) expect(c).toMatchObject({ httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s2 })).status).toBe(200);
    // The stolen old refresh token is replayed (after the concurrent-refresh grace interval,
    // see refresh-grace.test.ts): refused, and the family is revoked.
    now += REFRESH_REUSE_GRACE_SECONDS * 1000 + 1;
    const replay = await refresh(app, s1);
    expect(replay.res.status).toBe(401);
    expect((await refresh(app, s2)).res.status).toBe(401);
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s2 })).status).toBe(401);
    const [reused] = (await auditEvents(app, 'auth.refresh.reused')).slice(-1);
    expect(reused).toMatchObject({ outcome: 'denied', actor_id: user.id, decision: { revoked: true } });
  });

  it('logout needs the CSRF token, revokes the session and expires both cookies', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s = await login(app, user.email, PASSWORD, { 'x-forwarded-for': '10.0.0.5' });
    const refused = await fetch(`${app.url}/v1/auth/logout`, { method: 'POST', headers: { cookie: s.cookie } });
    expect(refused.status).toBe(403);
    const res = await fetch(`${app.url}/v1/auth/logout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrfToken } });
    expect(res.status).toBe(204);
    const cleared = setCookiesOf(res);
    expect(cleared.map((c) => [c.name, c.value, c.maxAge])).toEqual(expect.arrayContaining([[names(app).access, '', 0], [names(app).refresh, '', 0]]));
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s })).status).toBe(401);
    expect((await refresh(app, s)).res.status).toBe(401);
  });

  it('an idle session ends: no request for longer than the idle timeout refuses both the access and the refresh token', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s = await login(app, user.email, PASSWORD, { 'x-forwarded-for': '10.0.0.6' });
    now += 5 * MINUTE;
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s })).status).toBe(200);
    now += 31 * MINUTE;
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s })).status).toBe(401);
    const r = await refresh(app, s);
    expect(r.res.status).toBe(401);
    expect(((await r.res.json()) as { detail: string }).detail).toMatch(/inactivity/);
  });

  it('activity keeps a session alive, refresh renews the access token, but the absolute lifetime ends it', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    let s = await login(app, user.email, PASSWORD, { 'x-forwarded-for': '10.0.0.7' });
    now += 11 * MINUTE; // access token (10 min) expired
    const expired = await send(app, 'GET', '/v1/me', { kind: 'session', session: s });
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { detail: string }).detail).toMatch(/refresh/);
    for (let i = 0; i < 4; i++) {
      const r = await refresh(app, s);
      expect(r.res.status).toBe(200);
      s = r.session!;
      expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s })).status).toBe(200);
      expect(s.setCookies.find((c) => c.name === names(app).refresh)!.maxAge).toBeLessThanOrEqual(3600 - 11 * 60 - i * 12 * 60);
      now += 12 * MINUTE;
    }
    // 11 + 4 × 12 = 59 min: one more minute passes the 60-minute absolute lifetime.
    now += 2 * MINUTE;
    const late = await refresh(app, s);
    expect(late.res.status).toBe(401);
    expect(((await late.res.json()) as { detail: string }).detail).toMatch(/maximum lifetime/);
  });

  it('disabling a user refuses their unexpired token at once and revokes their sessions', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s = await login(app, user.email, PASSWORD, { 'x-forwarded-for': '10.0.0.8' });
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s })).status).toBe(200);
    expect((await send(app, 'PATCH', `/v1/users/${user.id}`, { kind: 'session', session: admin }, { disabled: true })).status).toBe(200);
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s })).status).toBe(401);
    expect((await refresh(app, s)).res.status).toBe(401);
    const again = await postJson(app, '/v1/auth/login', { email: user.email, password: PASSWORD }, { 'x-forwarded-for': '10.0.0.8' });
    expect(again.status).toBe(401);
  });

  it('a token minted before a role was removed is refused; a refresh re-issues it with the current roles', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer', 'admin']);
    const s = await login(app, user.email, PASSWORD, { 'x-forwarded-for': '10.0.0.9' });
    expect((await send(app, 'GET', '/v1/users', { kind: 'session', session: s })).status).toBe(200);
    expect((await send(app, 'PATCH', `/v1/users/${user.id}`, { kind: 'session', session: admin }, { roles: ['compliance_officer'] })).status).toBe(200);
    expect((await send(app, 'GET', '/v1/users', { kind: 'session', session: s })).status).toBe(401);
    const r = await refresh(app, s);
    expect(r.res.status).toBe(200);
    expect((await send(app, 'GET', '/v1/users', { kind: 'session', session: r.session! })).status).toBe(403);
    const me = (await (await send(app, 'GET', '/v1/me', { kind: 'session', session: r.session! })).json()) as { roles: string[] };
    expect(me.roles).toEqual(['compliance_officer']);
  });

  it('refuses to leave the installation without an enabled administrator', async () => {
    const admins = await app.t.database.db.selectFrom('users').select('id').where((eb) => eb(eb.val('admin'), '=', eb.fn<string>('any', ['roles']))).where('disabled_at', 'is', null).execute();
    const me = (await (await send(app, 'GET', '/v1/me', { kind: 'session', session: admin })).json()) as { id: string };
    for (const a of admins.filter((x) => x.id !== me.id)) {
      await app.t.database.db.updateTable('users').set({ disabled_at: new Date(now) }).where('id', '=', a.id).execute();
    }
    const res = await send(app, 'PATCH', `/v1/users/${me.id}`, { kind: 'session', session: admin }, { roles: ['compliance_officer'] });
    expect(res.status).toBe(409);
    await app.t.database.db.updateTable('users').set({ disabled_at: null }).where('id', 'in', admins.map((a) => a.id)).execute();
  });

  it('limits failed logins per account: the same answer for an unknown user and a wrong password, then 429 with Retry-After', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const ip = { 'x-forwarded-for': '10.1.0.1' };
    const wrong = await postJson(app, '/v1/auth/login', { email: user.email, password: 'not-the-password-at-all' }, ip);
    const unknown = await postJson(app, '/v1/auth/login', { email: `${unique('nobody')}@example.org`, password: 'not-the-password-at-all' }, ip);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (b: Record<string, unknown>): Record<string, unknown> => ({ ...b, requestId: undefined });
    expect(strip((await wrong.json()) as Record<string, unknown>)).toEqual(strip((await unknown.json()) as Record<string, unknown>));
    expect(wrong.headers.getSetCookie()).toEqual([]);
    for (let i = 0; i < 4; i++) expect((await postJson(app, '/v1/auth/login', { email: user.email, password: `wrong-${i}-password-x` }, { 'x-forwarded-for': `10.1.1.${i}` })).status).toBe(401);
    // Five failures for this account: even the right password is refused now, from any address.
    const limited = await postJson(app, '/v1/auth/login', { email: user.email, password: PASSWORD }, { 'x-forwarded-for': '10.1.2.1' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(900);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    // The window slides: 15 minutes later the right password works again.
    now += 16 * MINUTE;
    expect((await postJson(app, '/v1/auth/login', { email: user.email, password: PASSWORD }, { 'x-forwarded-for': '10.1.2.1' })).status).toBe(200);
    // Failures were audited with the e-mail's hash, never the password.
    const failures = await auditEvents(app, 'auth.login.failed');
    expect(JSON.stringify(failures)).not.toContain('not-the-password-at-all');
    expect(failures.some((f) => typeof f.decision.emailSha256 === 'string' && f.decision.reason === 'invalid_credentials')).toBe(true);
  });

  it('limits failed logins per IP address (20 per window), whatever the accounts tried', async () => {
    const ip = { 'x-forwarded-for': '10.2.0.1' };
    for (let i = 0; i < 20; i++) expect((await postJson(app, '/v1/auth/login', { email: `${unique('spray')}@example.org`, password: 'Summer-spray-password' }, ip)).status).toBe(401);
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const limited = await postJson(app, '/v1/auth/login', { email: user.email, password: PASSWORD }, ip);
    expect(limited.status).toBe(429);
    // Another address is not affected.
    expect((await postJson(app, '/v1/auth/login', { email: user.email, password: PASSWORD }, { 'x-forwarded-for': '10.2.0.2' })).status).toBe(200);
  });

  it('answers bad input with 422 (never 500)', async () => {
    for (const body of [{}, { email: 'a@b' }, { email: 1, password: 2 }, { email: 'a@b.c', password: 'x', extra: true }, []]) {
      const res = await postJson(app, '/v1/auth/login', body, { 'x-forwarded-for': '10.3.0.1' });
      expect(res.status).toBe(422);
    }
    const bad = await send(app, 'PATCH', '/v1/users/not-a-uuid', { kind: 'session', session: admin }, { roles: ['nope'] });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { errors: { pointer: string }[] }).errors[0]!.pointer).toBe('/roles/0');
    expect((await send(app, 'PATCH', '/v1/users/not-a-uuid', { kind: 'session', session: admin }, { disabled: true })).status).toBe(404);
    expect((await send(app, 'POST', '/v1/users', { kind: 'session', session: admin }, { email: 'x@example.org', organizationId: orgId, roles: ['auditor'], password: 'password1234' })).status).toBe(422);
    // 254 characters as sent, 255 once lower-cased as stored (İ is two code points in lower case): 422, not a 500.
    const growing = await send(app, 'POST', '/v1/users', { kind: 'session', session: admin }, { email: `İ${'a'.repeat(241)}@example.org`, organizationId: orgId, roles: ['auditor'], password: 'a long enough passphrase for this test 7' });
    expect(growing.status).toBe(422);
    expect(((await growing.json()) as { errors: { pointer: string }[] }).errors[0]!.pointer).toBe('/email');
    // A repeated filter is refused (it listed every organisation's users), a misspelt one too.
    for (const [url, pointer] of [
      [`/v1/users?organizationId=${orgId}&organizationId=${orgId}`, '/organizationId'],
      [`/v1/auditor-grants?auditorId=a&auditorId=b`, '/auditorId'],
      [`/v1/api-clients?organization=${orgId}`, '/organization'],
    ] as const) {
      const res = await send(app, 'GET', url, { kind: 'session', session: admin });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { pointer: string }).pointer).toBe(pointer);
    }
    const filtered = (await (await send(app, 'GET', `/v1/users?organizationId=${orgId}`, { kind: 'session', session: admin })).json()) as { items: { organizationId: string }[] };
    expect(filtered.items.length).toBeGreaterThan(0);
    expect(filtered.items.every((u) => u.organizationId === orgId)).toBe(true);
  });
  it('on plain http://localhost in development, drops Secure and the __Host- prefix (browsers refuse __Host- without Secure), keeps HttpOnly and SameSite=Strict', async () => {
    const dev = await startTestApp(kind, { NODE_ENV: 'development', PUBLIC_URL: 'http://localhost:3000' }, { database: app.t, clock: () => new Date(now) });
    try {
      expect(dev.config.auth.secureCookies).toBe(false);
      const user = await seedUser(dev, orgId, ['compliance_officer']);
      const s = await login(dev, user.email, PASSWORD, { 'x-forwarded-for': '10.4.0.1' });
      expect(s.setCookies.map((c) => c.name).sort()).toEqual(['hipaa_access', 'hipaa_refresh']);
      for (const c of s.setCookies) {
        expect(c).toMatchObject({ httpOnly: true, sameSite: 'strict', path: '/' });
        expect(c.secure).toBeFalsy();
      }
      expect((await send(dev, 'GET', '/v1/me', { kind: 'session', session: s })).status).toBe(200);
    } finally {
      await dev.stop();
    }
  });
});

