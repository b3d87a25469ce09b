/**
 * On PostgreSQL (PGlite has one connection, so its transactions never overlap): logout locks only
 * the session row, never the user's. `updateUser` and `changeOwnPassword` lock the user row and then
 * write the user's sessions; a logout that locked the session and then the user deadlocked with
 * them (40P01: a 500, or an administrator's disabling lost). Here a transaction holds the user row
 * as they do: the logout must complete meanwhile, and the holder's later write of the user's
 * sessions must then succeed.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { login, seedOrganization, seedUser, send, SESSION_TEST_ENV } from './helpers.js';

const onPostgres = process.env.TEST_DATABASE_URL ? describe : describe.skip;

onPostgres('logout and the user row lock (postgres)', () => {
  let app: TestApp;
  let org: string;

  beforeAll(async () => {
    app = await startTestApp('postgres', SESSION_TEST_ENV);
    org = await seedOrganization(app);
  });
  afterAll(async () => {
    await app.stop();
  });

  it('completes while another transaction holds the user row FOR UPDATE, and neither deadlocks', async () => {
    const user = await seedUser(app, org, ['compliance_officer']);
    const session = await login(app, user.email);
    let logoutStatus: number | undefined;
    let finishedWhileHeld = false;
    await app.t.database.db.transaction().execute(async (trx) => {
      // What updateUser does first: the user row, FOR UPDATE.
      await trx.selectFrom('users').select('id').where('id', '=', user.id).forUpdate().executeTakeFirstOrThrow();
      const loggingOut = send(app, 'POST', '/v1/auth/logout', { kind: 'session', session }).then((res) => {
        logoutStatus = res.status;
      });
      finishedWhileHeld = await Promise.race([loggingOut.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000))]);
      // Then what it does next: the user's sessions (as revokeUserSessions does).
      await trx.updateTable('auth_sessions').set({ revoked_reason: 'user_disabled' }).where('user_id', '=', user.id).execute();
      await loggingOut.catch(() => undefined);
    });
    expect(finishedWhileHeld).toBe(true);
    expect(logoutStatus).toBe(204);
    const row = await app.t.database.db.selectFrom('auth_sessions').select(['revoked_at']).where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.revoked_at).not.toBeNull();
  });
});
