/**
 * Concurrent refreshes through real HTTP: two tabs of one browser present the same refresh token
 * at once. Within REFRESH_REUSE_GRACE_SECONDS of its rotation, while the session is valid, that
 * is not reuse (`auth.refresh.concurrent`); after it, or once the session has ended, the usual
 * rules apply (reuse revokes the family). Time moves with the injected clock, never by sleeping.
 */
import pg from 'pg';
import { REFRESH_REUSE_GRACE_SECONDS } from '../../src/auth/sessions.js';
import { secretSha256 } from '../../src/auth/secrets.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { auditEvents, login, SESSION_TEST_ENV, PASSWORD, refresh, seedOrganization, seedUser, send, type Session } from './helpers.js';

const MINUTE = 60_000;
const GRACE_MS = REFRESH_REUSE_GRACE_SECONDS * 1000;

describe.each(DATABASE_KINDS)('concurrent refreshes on %s', (kind) => {
  let app: TestApp;
  let now = Date.parse('2030-02-01T09:00:00Z');
  let orgId: string;
  let admin: Session;

  beforeAll(async () => {
    app = await startTestApp(
      kind,
      SESSION_TEST_ENV,
      { clock: () => new Date(now) },
    );
    orgId = await seedOrganization(app);
  });
  afterAll(async () => {
    await app.stop();
  });
  // Each test starts a day later with a fresh admin session, so moving the clock is local.
  beforeEach(async () => {
    now += 24 * 60 * MINUTE;
    admin = await login(app, (await seedUser(app, orgId, ['admin'])).email, PASSWORD, { 'x-forwarded-for': '10.20.0.1' });
  });

  /** A compliance officer signed in a minute ago, with the id of their session. */
  async function officer(ip: string): Promise<{ user: { id: string; email: string }; session: Session; sessionId: string }> {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const session = await login(app, user.email, PASSWORD, { 'x-forwarded-for': ip });
    const me = (await (await send(app, 'GET', '/v1/me', { kind: 'session', session })).json()) as { sessionId: string };
    now += MINUTE;
    return { user, session, sessionId: me.sessionId };
  }

  async function familyTokens(sessionId: string): Promise<{ unused: string[]; revokedReason: string | null }> {
    const db = app.t.database.db;
    const unused = await db.selectFrom('auth_refresh_tokens').select('token_sha256').where('session_id', '=', sessionId).where('used_at', 'is', null).execute();
    const session = await db.selectFrom('auth_sessions').select('revoked_reason').where('id', '=', sessionId).executeTakeFirstOrThrow();
    return { unused: unused.map((t) => t.token_sha256), revokedReason: session.revoked_reason };
  }

  async function eventsOf(action: string, sessionId: string): Promise<Awaited<ReturnType<typeof auditEvents>>> {
    return (await auditEvents(app, action)).filter((e) => e.decision.sessionId === sessionId);
  }

  it.each([2, 3])('%i tabs refreshing with the same token at once all succeed, and the session stays usable', async (tabs) => {
    const { session: s1, sessionId } = await officer(`10.20.1.${tabs}`);
    const answers = await Promise.all(Array.from({ length: tabs }, () => refresh(app, s1)));
    expect(answers.map((a) => a.res.status)).toEqual(Array(tabs).fill(200));
    for (const a of answers) {
      expect(a.session!.csrfToken).toBe(s1.csrfToken);
      expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: a.session! })).status).toBe(200);
    }
    // Still exactly one valid refresh token in the family: one of those just handed out.
    const family = await familyTokens(sessionId);
    expect(family.revokedReason).toBeNull();
    expect(family.unused).toHaveLength(1);
    const current = answers.find((a) => secretSha256(a.session!.refresh) === family.unused[0]);
    expect(current).toBeDefined();
    // Long after the grace interval (the access token expired), the current token refreshes as usual.
    now += 11 * MINUTE;
    const later = await refresh(app, current!.session!);
    expect(later.res.status).toBe(200);
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: later.session! })).status).toBe(200);
    expect(await eventsOf('auth.refresh.reused', sessionId)).toEqual([]);
  });

  it('a tab with the old token and a tab with the new one refreshing together both succeed, leaving one valid token', async () => {
    const { session: s1, sessionId } = await officer('10.20.1.9');
    const s2 = await refresh(app, s1);
    expect(s2.res.status).toBe(200);
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([refresh(app, s1), refresh(app, s2.session!)]);
      expect(answers.map((a) => a.res.status)).toEqual([200, 200]);
    }
    const family = await familyTokens(sessionId);
    expect(family.revokedReason).toBeNull();
    expect(family.unused).toHaveLength(1);
  });

  it('on PostgreSQL, an old-token and a new-token refresh queued on the session lock both succeed (session, then token: no deadlock)', async () => {
    if (app.t.url === undefined) return; // PGlite runs one transaction at a time
    for (let round = 0; round < 4; round++) {
      const { session: s1, sessionId } = await officer(`10.20.7.${round}`);
      const s2 = await refresh(app, s1);
      const holder = new pg.Client({ connectionString: app.t.url });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT id FROM auth_sessions WHERE id = $1 FOR UPDATE', [sessionId]);
        const pending = Promise.all([refresh(app, s1), refresh(app, s2.session!)]);
        for (let i = 0; ; i++) {
          const waiting = await holder.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted');
          if (waiting.rows[0]!.n >= 2) break;
          if (i > 500) throw new Error('the refreshes never queued on the session lock');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await holder.query('COMMIT');
        expect((await pending).map((a) => a.res.status)).toEqual([200, 200]);
      } finally {
        await holder.end();
      }
      expect((await familyTokens(sessionId)).unused).toHaveLength(1);
    }
  });

  it('the same token presented again after the grace interval still revokes the family (audited as reuse); the interval does not slide', async () => {
    const { user, session: s1, sessionId } = await officer('10.20.2.1');
    const s2 = await refresh(app, s1);
    expect(s2.res.status).toBe(200);
    // At the very end of the interval the old token is still a concurrent refresh...
    now += GRACE_MS;
    const s3 = await refresh(app, s1);
    expect(s3.res.status).toBe(200);
    // ...one millisecond later (counted from its first use, not from the last grace answer) it is reuse.
    now += 1;
    const replay = await refresh(app, s1);
    expect(replay.res.status).toBe(401);
    expect(((await replay.res.json()) as { detail: string }).detail).toMatch(/already used/);
    // The whole family is revoked: the newest refresh token and access token too.
    expect((await refresh(app, s3.session!)).res.status).toBe(401);
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s3.session! })).status).toBe(401);
    expect((await familyTokens(sessionId)).revokedReason).toBe('refresh_token_reused');
    const reused = await eventsOf('auth.refresh.reused', sessionId);
    expect(reused).toHaveLength(1);
    expect(reused[0]).toMatchObject({ outcome: 'denied', actor_id: user.id, decision: { sessionId, revoked: true } });
    expect((await eventsOf('auth.refresh.concurrent', sessionId)).map((e) => e.decision.reusedAfterMs)).toEqual([GRACE_MS]);
  });

  it('a token presented within the interval after logout is refused, and the session stays logged out', async () => {
    const { session: s1, sessionId } = await officer('10.20.3.1');
    expect((await refresh(app, s1)).res.status).toBe(200);
    const s3 = await refresh(app, s1); // the other tab, within the interval
    expect(s3.res.status).toBe(200);
    const out = await fetch(`${app.url}/v1/auth/logout`, { method: 'POST', headers: { cookie: s3.session!.cookie, 'x-csrf-token': s3.session!.csrfToken } });
    expect(out.status).toBe(204);
    const late = await refresh(app, s1);
    expect(late.res.status).toBe(401);
    expect(((await late.res.json()) as { detail: string }).detail).toMatch(/session has ended/);
    expect((await refresh(app, s3.session!)).res.status).toBe(401);
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session: s3.session! })).status).toBe(401);
    const family = await familyTokens(sessionId);
    expect(family.revokedReason).toBe('logout');
    expect(await eventsOf('auth.refresh.concurrent', sessionId)).toHaveLength(1);
  });

  it('a token presented within the interval after the user was disabled is refused', async () => {
    const { user, session: s1, sessionId } = await officer('10.20.4.1');
    expect((await refresh(app, s1)).res.status).toBe(200);
    expect((await refresh(app, s1)).res.status).toBe(200);
    expect((await send(app, 'PATCH', `/v1/users/${user.id}`, { kind: 'session', session: admin }, { disabled: true })).status).toBe(200);
    expect((await refresh(app, s1)).res.status).toBe(401);
    expect((await familyTokens(sessionId)).revokedReason).not.toBeNull();
    expect(await eventsOf('auth.refresh.concurrent', sessionId)).toHaveLength(1);
  });

  it('a token presented within the interval after the absolute lifetime passed is refused as expired, not served', async () => {
    const user = await seedUser(app, orgId, ['compliance_officer']);
    const s1 = await login(app, user.email, PASSWORD, { 'x-forwarded-for': '10.20.5.1' });
    const { sessionId } = (await (await send(app, 'GET', '/v1/me', { kind: 'session', session: s1 })).json()) as { sessionId: string };
    let s = s1;
    for (let i = 0; i < 2; i++) {
      now += 20 * MINUTE; // activity within the 30-minute idle timeout
      s = (await refresh(app, s)).session!;
    }
    now += 20 * MINUTE - 2000; // two seconds before the 60-minute absolute lifetime
    expect((await refresh(app, s)).res.status).toBe(200);
    now += 3000; // one second past it, still within the grace interval
    const late = await refresh(app, s);
    expect(late.res.status).toBe(401);
    expect(((await late.res.json()) as { detail: string }).detail).toMatch(/maximum lifetime/);
    expect((await familyTokens(sessionId)).revokedReason).toBe('absolute_timeout');
    expect(await eventsOf('auth.refresh.concurrent', sessionId)).toEqual([]);
    expect(await eventsOf('auth.refresh.failed', sessionId)).toEqual([expect.objectContaining({ outcome: 'denied', decision: { reason: 'absolute_timeout', sessionId } })]);
  });

  it('the audit trail records the concurrent refresh as its own successful action, next to the rotation it raced', async () => {
    const { user, session: s1, sessionId } = await officer('10.20.6.1');
    const [a, b] = await Promise.all([refresh(app, s1), refresh(app, s1)]);
    expect([a.res.status, b.res.status]).toEqual([200, 200]);
    const succeeded = await eventsOf('auth.refresh.succeeded', sessionId);
    const concurrent = await eventsOf('auth.refresh.concurrent', sessionId);
    expect(succeeded).toHaveLength(1);
    expect(concurrent).toHaveLength(1);
    expect(concurrent[0]).toEqual(expect.objectContaining({ outcome: 'success', actor_id: user.id, decision: { sessionId, reusedAfterMs: 0 } }));
    expect(await eventsOf('auth.refresh.reused', sessionId)).toEqual([]);
    // The trail's order follows the commits: the rotation first, the concurrent answer after it.
    const order = await app.t.database.db.selectFrom('audit_events').select('action').where('target_id', '=', sessionId).where('action', 'like', 'auth.refresh.%').orderBy('seq').execute();
    expect(order.map((e) => e.action)).toEqual(['auth.refresh.succeeded', 'auth.refresh.concurrent']);
  });
});
