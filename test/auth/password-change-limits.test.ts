/**
 * POST /v1/me/password cannot be looped. Each change runs two scrypt hashes, records
 * `user.password_changed` and ends the user's other sessions; before, only the per-principal limit
 * (300 a minute) applied, a right current password was never counted and the new password could
 * be the current one, so one session could keep the CPU busy and slow every sign-in. Now the same
 * password again is a 422 at /newPassword before any hash or count, and a user makes at most
 * LOGIN_MAX_FAILURES_PER_ACCOUNT (5) changes per LOGIN_FAILURE_WINDOW_SECONDS (900 s): then a 429
 * `rate-limited` with Retry-After, recorded as a denial naming the user. Refusals do not count.
 * Through real HTTP, on both databases.
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { login, PASSWORD, seedOrganization, seedUser, send, type Session } from './helpers.js';

describe.each(DATABASE_KINDS)('password changes are limited (%s)', (kind) => {
  let app: TestApp;
  let orgId: string;

  beforeAll(async () => {
    // Counters in the database, as in production (the tests' default is the memory store): the
    // limit counts a change on arrival and takes back a refused one (a decrement in the SQL store).
    app = await startTestApp(kind, { PUBLIC_URL: 'https://risk.example.test', RATE_LIMIT_STORE: 'postgres' });
    orgId = await seedOrganization(app);
  });
  afterAll(async () => {
    await app.stop();
  });

  const change = (session: Session, currentPassword: string, newPassword: string): Promise<Response> => send(app, 'POST', '/v1/me/password', { kind: 'session', session }, { currentPassword, newPassword });
  const count = async (action: string, actorId: string): Promise<number> =>
    (await app.t.database.db.selectFrom('audit_events').select('seq').where('action', '=', action).where('actor_id', '=', actorId).execute()).length;

  it('refuses the current password as the new one (422 at /newPassword), before checking or counting anything', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s = await login(app, user.email);
    const other = await login(app, user.email);
    const res = await change(s, PASSWORD, PASSWORD);
    expect(res.status).toBe(422);
    const body = (await res.json()) as { errors: { pointer: string; detail: string }[] };
    expect(body.errors).toEqual([{ pointer: '/newPassword', detail: 'the new password must differ from the current password' }]);
    // Compared as scrypt compares them: the same text in another Unicode composition is the same password.
    const composed = `${PASSWORD}-caf\u00e9`;
    const decomposed = `${PASSWORD}-cafe\u0301`;
    const seeded = await seedUser(app, orgId, ['compliance_officer'], { password: composed });
    expect((await change(await login(app, seeded.email, composed), composed, decomposed)).status).toBe(422);
    // Decided before the current password is checked: a wrong one gets the same 422, not a 401,
    // so no scrypt ran and no guess was counted against the sign-in limits.
    expect((await change(s, 'not-my-password-at-all', 'not-my-password-at-all')).status).toBe(422);
    expect(await app.t.database.db.selectFrom('login_failures').select('key').execute()).toEqual([]);
    // Nothing changed: no event, the other session still works.
    expect(await count('user.password_changed', user.id)).toBe(0);
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: other })).status).toBe(200);
  });

  it('allows 5 changes per user in the sign-in window, then 429 with Retry-After, recorded; refusals do not count; other users are unaffected', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s = await login(app, user.email);
    const passwords = [PASSWORD, ...[1, 2, 3, 4, 5, 6].map((n) => `violet-Harbour-lantern-${n}${n}31`)];
    // Refused changes first: a weak new password (422) and a wrong current one (401) are not changes.
    expect((await change(s, PASSWORD, 'password12345')).status).toBe(422);
    expect((await change(s, 'wrong-current-password', passwords[1]!)).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await change(s, passwords[i]!, passwords[i + 1]!)).status).toBe(204);
    expect(await count('user.password_changed', user.id)).toBe(5);
    const limited = await change(s, passwords[5]!, passwords[6]!);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    const problem = (await limited.json()) as { type: string; detail: string };
    expect(problem.type).toBe('https://hipaa-ai-risk.dev/problems/rate-limited');
    expect(problem.detail).toContain('the password limit is 5 per 900 s');
    // Nothing changed by the refused request; it is a denial naming the user.
    expect(await count('user.password_changed', user.id)).toBe(5);
    // (A limiter's 429 is sent before its event is written: wait for it.)
    const denied = async (): Promise<unknown[]> =>
      (await app.t.database.db.selectFrom('audit_events').select('decision').where('action', '=', 'request.denied').where('actor_id', '=', user.id).execute()).map((d) => d.decision);
    for (let i = 0; i < 50 && (await denied()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await denied()).toContainEqual(expect.objectContaining({ status: 429, route: '/v1/me/password', reason: 'rate_limited:password' }));
    // Refused requests did not extend the count: still limited, and still the limiter's answer.
    expect((await change(s, passwords[5]!, passwords[6]!)).status).toBe(429);
    // The count is the changes made, in the shared store (decrements land after the response: wait).
    const hits = async (): Promise<number[]> =>
      (await app.t.database.db.selectFrom('rate_limit_counters').select('hits').where('key', '=', `rl:password:user:${user.id}`).execute()).map((r) => Number(r.hits));
    for (let i = 0; i < 50 && (await hits())[0] !== 5; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await hits()).toEqual([5]);
    // Another user of the same address and organisation still changes theirs.
    const neighbour = await seedUser(app, orgId, ['compliance_officer']);
    expect((await change(await login(app, neighbour.email), PASSWORD, passwords[6]!)).status).toBe(204);
    // The user still signs in (with the password of the last change made).
    await login(app, user.email, passwords[5]);
  });
});
