import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SYSTEM_ACTOR } from '../../src/audit/record.js';
import { flushDenialWindows } from '../../src/audit/denied.js';
import { verifyAuditChain } from '../../src/audit/verify.js';
import { reportJwks } from '../../src/assessments/keys.js';
import { createApiClient } from '../../src/auth/api-clients.js';
import { createAuditorGrant } from '../../src/auth/auditor-grants.js';
import { createAdministrator } from '../../src/auth/bootstrap.js';
import { attemptKeys, claimAttempt, clearLoginFailures, withdrawClaim } from '../../src/auth/login-limits.js';
import { createOrganization } from '../../src/auth/organizations.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { createUser } from '../../src/auth/users.js';
import type { Database } from '../../src/db/database.js';
import { APPEND_ONLY_TABLES } from '../../src/db/schema.js';
import { purgeExpiredCounters, SqlStore } from '../../src/http/rate-limit/sql-store.js';
import { loadReportKeyRing } from '../../src/signing/report-keys.js';
import { RotatableKeyRing } from '../../src/signing/rotatable.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, login, PASSWORD, postJson, refresh, send, type Credentials } from '../auth/helpers.js';
import { asAppRole, dropTestRole, openAsAppLoginRole } from '../support/app-role.js';

/**
 * Migration 0010: the application role (a member of hipaa_app) holds, on each mutable table,
 * exactly the privileges a code path of the service uses, and nothing more. The list below is
 * the one in the migration's header; a new table, or a grant changed by a later migration, must
 * be added here with the code path that needs it.
 */
const MUTABLE_TABLE_GRANTS: Readonly<Record<string, readonly string[]>> = {
  organizations: ['INSERT', 'SELECT'], // created, never renamed or removed
  users: ['INSERT', 'SELECT', 'UPDATE'], // never deleted (disabled instead)
  auth_sessions: ['INSERT', 'SELECT', 'UPDATE'], // revoked by revoked_at, never deleted
  auth_refresh_tokens: ['INSERT', 'SELECT', 'UPDATE'], // marked used, never deleted
  api_clients: ['INSERT', 'SELECT', 'UPDATE'], // revoked by revoked_at, never deleted
  auditor_grants: ['DELETE', 'INSERT', 'SELECT'], // revoked by DELETE … RETURNING, never updated
  login_failures: ['DELETE', 'INSERT', 'SELECT'], // counted and forgotten, never updated
  audit_denial_windows: ['DELETE', 'INSERT', 'SELECT', 'UPDATE'], // INSERT … ON CONFLICT DO UPDATE, DELETE … RETURNING
  rate_limit_counters: ['DELETE', 'INSERT', 'SELECT', 'UPDATE'], // upsert, decrement, reset, purge
  audit_pending: ['DELETE', 'INSERT', 'SELECT'], // deleted by audit_link() at commit (0007)
};

/** What the application role must never do: each statement is refused with "permission denied". */
const REFUSED: readonly (readonly [string, string])[] = [
  ['DELETE FROM users RETURNING email', 'users'],
  ['DELETE FROM organizations', 'organizations'],
  [`UPDATE organizations SET name = 'renamed by the app'`, 'organizations'],
  ['DELETE FROM api_clients', 'api_clients'],
  ['DELETE FROM auth_sessions', 'auth_sessions'],
  ['DELETE FROM auth_refresh_tokens', 'auth_refresh_tokens'],
  ['UPDATE auditor_grants SET created_at = now()', 'auditor_grants'],
  ['UPDATE login_failures SET failed_at = now()', 'login_failures'],
  ['TRUNCATE users CASCADE', 'users'],
  ['TRUNCATE rate_limit_counters', 'rate_limit_counters'],
  [`SELECT nextval('login_failures_id_seq')`, 'login_failures'],
  [`SELECT nextval('audit_pending_id_seq')`, 'audit_pending'],
  [`SELECT nextval('audit_checkpoints_id_seq')`, 'audit_checkpoints'],
];

const audit = (): { actor: typeof SYSTEM_ACTOR; request: null; now: Date } => ({ actor: SYSTEM_ACTOR, request: null, now: new Date() });

describe.each(DATABASE_KINDS)('least-privilege grants of the application role on %s', (kind) => {
  let t: TestDatabase;
  /** The database as the application role: a login role in hipaa_app (PostgreSQL), or the owner's session after SET ROLE hipaa_app (PGlite). */
  let appDb: Database;
  let role: string | undefined;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    if (kind === 'postgres') {
      ({ role, database: appDb } = await openAsAppLoginRole(t, 4));
      // The login role really is the application role: not the owner, not a superuser.
      const who = await appDb.raw.query<{ u: string; su: boolean }>(`SELECT current_user AS u, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su`);
      expect(who).toEqual([{ u: role, su: false }]);
    } else {
      appDb = t.database; // one session: asApp() switches it to hipaa_app with SET ROLE
    }
  });
  afterAll(async () => {
    if (kind === 'postgres') await appDb.close();
    await t.drop();
    await dropTestRole(role);
  });

  const asApp = <T>(fn: () => Promise<T>): Promise<T> => asAppRole(kind, t, fn);

  const count = async (table: string): Promise<number> => (await t.database.raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

  it('grants hipaa_app exactly the privileges the service uses, per table, and nothing on the sequences', async () => {
    const rows = await t.database.raw.query<{ table_name: string; p: string }>(
      `SELECT table_name, privilege_type AS p FROM information_schema.role_table_grants
       WHERE grantee = 'hipaa_app' AND table_schema = 'public' ORDER BY table_name, privilege_type`,
    );
    const actual: Record<string, string[]> = {};
    for (const r of rows) (actual[r.table_name] ??= []).push(r.p);
    const expected: Record<string, readonly string[]> = { ...MUTABLE_TABLE_GRANTS };
    for (const table of APPEND_ONLY_TABLES) expected[table] = table === 'schema_migrations' ? ['SELECT'] : ['INSERT', 'SELECT'];
    expect(actual).toEqual(expected);
    // Identity columns take their next value without a privilege check on their sequence.
    const sequences = await t.database.raw.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c
       WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace
         AND (has_sequence_privilege('hipaa_app', c.oid, 'USAGE') OR has_sequence_privilege('hipaa_app', c.oid, 'SELECT') OR has_sequence_privilege('hipaa_app', c.oid, 'UPDATE'))`,
    );
    expect(sequences).toEqual([]);
  });

  it('refuses the application role every DELETE, UPDATE and TRUNCATE the service never makes, and leaves the rows', async () => {
    // Rows in every table concerned, written by the owner.
    const org = await t.database.db.transaction().execute((trx) => createOrganization(trx, { name: `Grants ${kind}` }, audit()));
    const passwordHash = await hashPassword(PASSWORD, 10);
    const user = await t.database.db.transaction().execute((trx) => createUser(trx, { email: `grants-${kind}@example.org`, organizationId: org.id, roles: ['auditor'], passwordHash }, audit()));
    await t.database.db.transaction().execute((trx) => createApiClient(trx, { name: 'grants client', organizationId: org.id, scopes: ['assessments:read'] }, audit()));
    await t.database.db.transaction().execute((trx) => createAuditorGrant(trx, { auditorId: user.id, organizationId: org.id }, audit()));
    const session = randomUUID();
    await t.database.raw.query(`INSERT INTO auth_sessions (id, user_id, created_at, absolute_expires_at, last_seen_at, csrf_key) VALUES ($1, $2, now(), now() + interval '1 hour', now(), 'k')`, [session, user.id]);
    await t.database.raw.query(`INSERT INTO auth_refresh_tokens (token_sha256, session_id, created_at) VALUES ($1, $2, now())`, ['a'.repeat(64), session]);
    await t.database.raw.query(`INSERT INTO login_failures (key, failed_at) VALUES ('ip:192.0.2.1', now())`);
    await t.database.raw.query(`INSERT INTO rate_limit_counters (key, window_start, hits, expires_at) VALUES ('probe', now(), 1, now() + interval '1 minute')`);
    const tables = [...new Set(REFUSED.map(([, table]) => table))];
    const before = Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await count(table)] as const)));
    const orgName = (await t.database.raw.query<{ name: string }>('SELECT name FROM organizations WHERE id = $1', [org.id]))[0]!.name;

    for (const [statement] of REFUSED) {
      if (kind === 'postgres') {
        await expect(appDb.raw.query(statement)).rejects.toThrow(/permission denied/);
      } else {
        await expect(
          t.database.raw.transaction(async (tx) => {
            await tx.query('SET LOCAL ROLE hipaa_app');
            await tx.query(statement);
          }),
        ).rejects.toThrow(/permission denied/);
      }
    }
    const after = Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await count(table)] as const)));
    expect(after).toEqual(before);
    expect(Object.entries(after).filter(([table, n]) => n === 0 && table !== 'audit_pending' && table !== 'audit_checkpoints')).toEqual([]);
    expect((await t.database.raw.query<{ name: string }>('SELECT name FROM organizations WHERE id = $1', [org.id]))[0]!.name).toBe(orgName);
  });

  it('lets the application role use every kept privilege: counters, login failures, denial windows, inserts through identity columns', async () => {
    await asApp(async () => {
      // rate_limit_counters: upsert (INSERT … ON CONFLICT DO UPDATE), read, decrement (UPDATE), reset (DELETE), purge (SELECT … FOR UPDATE SKIP LOCKED + DELETE).
      const store = new SqlStore(appDb, `grants-${kind}:`);
      store.init({ windowMs: 60_000 } as never);
      expect((await store.increment('k')).totalHits).toBe(1);
      expect((await store.increment('k')).totalHits).toBe(2);
      await store.decrement('k');
      expect((await store.get('k'))?.totalHits).toBe(1);
      await store.resetKey('k');
      expect(await store.get('k')).toBeUndefined();
      await store.increment('other');
      await store.resetAll();
      expect(await store.get('other')).toBeUndefined();
      await appDb.raw.query(`INSERT INTO rate_limit_counters (key, window_start, hits, expires_at) VALUES ('expired', now() - interval '2 minutes', 1, now() - interval '1 minute')`);
      expect(await purgeExpiredCounters(appDb)).toBeGreaterThanOrEqual(1);

      // login_failures: counted (INSERT through the identity column), withdrawn and forgotten (DELETE).
      const settings = { maxPerAccount: 5, maxPerIp: 20, windowSeconds: 900 };
      const keys = attemptKeys(`nobody-${kind}@example.org`, '192.0.2.7');
      const first = await claimAttempt(appDb.db, keys, settings, new Date());
      const second = await claimAttempt(appDb.db, keys, settings, new Date());
      if (first.limited || second.limited) throw new Error('claims refused');
      await appDb.db.transaction().execute((trx) => withdrawClaim(trx, first.claim));
      await appDb.db.transaction().execute((trx) => clearLoginFailures(trx, keys[0]));

      // audit_denial_windows: upsert per request, flushed by DELETE … RETURNING; audit_pending: inserted, linked and deleted at commit.
      await appDb.db
        .insertInto('audit_denial_windows')
        .values({ key: `grants-${kind}`, window_start: new Date(Date.now() - 3_600_000), count: 1 })
        .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ count: 2 }))
        .execute();
      await appDb.db
        .insertInto('audit_denial_windows')
        .values({ key: `grants-${kind}`, window_start: new Date(Date.now() - 3_600_000), count: 1 })
        .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ count: 3 }))
        .execute();
      await flushDenialWindows(appDb.db, { limitPerMinute: 1 });
    });
    expect(await count('audit_denial_windows')).toBe(0);
    expect(await count('audit_pending')).toBe(0);
    expect((await t.database.raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM login_failures WHERE failed_at > now() - interval '1 hour' AND key LIKE 'ip:%'`))[0]!.n).toBeGreaterThanOrEqual(1);
  });

  it('serves every flow over HTTP as the application role, with no "permission denied" in its log', async () => {
    // The service's own database handle is the application role's (startTestApp serves it as is).
    const served: TestDatabase = kind === 'postgres' ? { database: appDb, kind, url: undefined, drop: () => Promise.resolve() } : t;
    if (kind === 'pglite') await t.database.raw.query('SET ROLE hipaa_app');
    let app: TestApp | undefined;
    try {
      const admin = await createAdministrator(appDb.db, { email: `admin-${kind}@example.org`, password: PASSWORD, organizationName: `Runtime ${kind}`, passwordHashCost: 10 });
      if (!admin) throw new Error('no administrator');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runtime-grants-keys-'));
      const reportKeys = new RotatableKeyRing(await loadReportKeyRing({ kind: 'directory', dir }), dir);
      app = await startTestApp(kind, { RATE_LIMIT_STORE: 'postgres', RATE_LIMIT_LOGIN: '12', LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' }, { database: served, reportKeys });
      const a = app;
      const expectStatus = async (res: Promise<Response>, status: number | readonly number[]): Promise<Response> => {
        const r = await res;
        const allowed: readonly number[] = typeof status === 'number' ? [status] : status;
        if (!allowed.includes(r.status)) throw new Error(`${r.url}: ${r.status} ${await r.text()}`);
        return r;
      };

      // sessions: sign in, refresh, change password, sign out
      let session = await login(a, `admin-${kind}@example.org`);
      const refreshed = await refresh(a, session);
      expect(refreshed.res.status).toBe(200);
      session = refreshed.session!;
      let as: Credentials = { kind: 'session', session };
      const newPassword = 'another-Horse-battery-staple-77';
      await expectStatus(send(a, 'POST', '/v1/me/password', as, { currentPassword: PASSWORD, newPassword }), 204);
      session = await login(a, `admin-${kind}@example.org`, newPassword);
      as = { kind: 'session', session };
      await expectStatus(send(a, 'POST', '/v1/auth/logout', as), 204);
      session = await login(a, `admin-${kind}@example.org`, newPassword);
      as = { kind: 'session', session };

      // organisations, users (create, update, disable)
      const org = (await (await expectStatus(send(a, 'POST', '/v1/organizations', as, { name: `Clinic ${kind}` }), 201)).json()) as { id: string };
      const officer = (await (await expectStatus(send(a, 'POST', '/v1/users', as, { email: `officer-${kind}@example.org`, organizationId: org.id, roles: ['compliance_officer'], password: PASSWORD }), 201)).json()) as { id: string };
      await expectStatus(send(a, 'PATCH', `/v1/users/${officer.id}`, as, { name: 'Officer', roles: ['compliance_officer', 'auditor'] }), 200);
      await expectStatus(send(a, 'PATCH', `/v1/users/${officer.id}`, as, { disabled: true }), 200);

      // API clients: create, token, rotate, revoke (both routes)
      const made = (await (await expectStatus(send(a, 'POST', '/v1/api-clients', as, { name: 'integration', organizationId: org.id, scopes: ['assessments:read', 'assessments:write', 'reports:read'] }), 201)).json()) as { clientId: string; clientSecret: string };
      const bearer: Credentials = { kind: 'bearer', token: await clientToken(a, { id: made.clientId, secret: made.clientSecret }) };
      await expectStatus(send(a, 'GET', '/v1/assessments', bearer), 200);
      const rotated = (await (await expectStatus(send(a, 'POST', `/v1/api-clients/${made.clientId}/rotate`, as), 200)).json()) as { clientSecret: string };
      await clientToken(a, { id: made.clientId, secret: rotated.clientSecret });
      await expectStatus(send(a, 'POST', `/v1/api-clients/${made.clientId}/revoke`, as), 200);
      const second = (await (await expectStatus(send(a, 'POST', '/v1/api-clients', as, { name: 'second', organizationId: org.id, scopes: ['reports:read'] }), 201)).json()) as { clientId: string };
      await expectStatus(send(a, 'DELETE', `/v1/api-clients/${second.clientId}`, as), 204);

      // auditor grants: create, revoke
      const auditor = (await (await expectStatus(send(a, 'POST', '/v1/users', as, { email: `auditor-${kind}@example.org`, organizationId: admin.organizationId, roles: ['auditor'], password: PASSWORD }), 201)).json()) as { id: string };
      const grant = (await (await expectStatus(send(a, 'POST', '/v1/auditor-grants', as, { auditorId: auditor.id, organizationId: org.id }), 201)).json()) as { id: string };
      await expectStatus(send(a, 'DELETE', `/v1/auditor-grants/${grant.id}`, as), 204);

      // assessments: create, revise, re-evaluate, downloads (the administrator is also a compliance officer)
      const poorly = example('poorly-controlled');
      const created = (await (await expectStatus(send(a, 'POST', '/v1/assessments', as, { title: 'Runtime role', ...poorly }), 201)).json()) as { assessment: { id: string }; report: { id: string } };
      await expectStatus(send(a, 'POST', `/v1/assessments/${created.assessment.id}/revisions`, as, { answers: example('well-controlled').answers }), 201);
      await expectStatus(send(a, 'POST', `/v1/assessments/${created.assessment.id}/revisions/1/reports`, as, { rulesets: [{ id: 'hipaa-security', version: '1.0.0' }, { id: 'ai-safeguards', version: '1.0.0' }] }), [200, 201]);
      for (const suffix of ['', '/signature', '/pdf']) await expectStatus(send(a, 'GET', `/v1/reports/${created.report.id}${suffix}`, as), 200);

      // audit trail: export, checkpoint; key rotation
      await expectStatus(send(a, 'GET', '/v1/audit/export', as), 200);
      await expectStatus(send(a, 'POST', '/v1/audit/checkpoints', as), [200, 201]);
      await expectStatus(send(a, 'POST', '/v1/keys/rotate', as, { purpose: 'report' }), 201);

      // failed sign-ins (login_failures, audit_denial_windows) until the account limit, then the per-IP rate limit (rate_limit_counters)
      const answers: string[] = [];
      for (let i = 0; i < 16; i++) {
        const res = await postJson(a, '/v1/auth/login', { email: `auditor-${kind}@example.org`, password: 'wrong-Horse-battery-staple-1' });
        const body = (await res.json()) as { detail?: string };
        answers.push(res.status === 429 ? `429 ${/failed sign-in attempts/.test(body.detail ?? '') ? 'account' : /login limit/.test(body.detail ?? '') ? 'ip' : body.detail}` : String(res.status));
      }
      expect(answers).toContain('401');
      expect(answers).toContain('429 account'); // login_failures
      expect(answers).toContain('429 ip'); // rate_limit_counters
      expect(answers.every((s) => ['401', '429 account', '429 ip'].includes(s))).toBe(true);

      // every write went through as the application role; nothing degraded or failed on a privilege
      expect(a.logs()).not.toMatch(/permission denied|rate-limit store unavailable/i);
      expect(a.logs()).not.toMatch(/"level":"(error|fatal)"/);
      expect(await count('rate_limit_counters')).toBeGreaterThan(0);
      expect(await count('audit_pending')).toBe(0);
      expect(await verifyAuditChain(t.database.db, reportJwks(a.reportKeys))).toMatchObject({ valid: true });
      // rows the service only ever marks: still there
      expect(await count('auth_sessions')).toBeGreaterThanOrEqual(3);
      expect((await t.database.raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_clients WHERE revoked_at IS NOT NULL`))[0]!.n).toBeGreaterThanOrEqual(2);
    } finally {
      await app?.stop();
      if (kind === 'pglite') await t.database.raw.query('RESET ROLE');
    }
  });
});
