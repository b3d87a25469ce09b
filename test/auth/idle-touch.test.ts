/**
 * Over real HTTP, on every database kind, with the app's clock moved instead of sleeping: a session
 * used at least every half idle timeout never expires for idleness, even with the shortest idle
 * timeout the configuration accepts (SESSION_IDLE_TIMEOUT_SECONDS=60). Before, `last_seen_at` was
 * written at most once a minute whatever the idle timeout, so a session used every 15 s was
 * refused at 60 s. A session left alone for the idle timeout is still refused.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { login, seedOrganization, seedUser, send, type Session } from './helpers.js';

const IDLE_SECONDS = 60;

describe.each(DATABASE_KINDS)('idle timeout of an active session (%s)', (kind) => {
  let app: TestApp;
  let email: string;
  let offset = 0;

  beforeAll(async () => {
    app = await startTestApp(
      kind,
      { PUBLIC_URL: 'https://risk.example.test', TRUST_PROXY: 'loopback', SESSION_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS), SESSION_ABSOLUTE_TIMEOUT_SECONDS: '3600', ACCESS_TOKEN_TTL_SECONDS: '900' },
      { clock: () => new Date(Date.now() + offset) },
    );
    email = (await seedUser(app, await seedOrganization(app), ['compliance_officer'])).email;
  });
  afterAll(async () => {
    await app.stop();
  });

  /** Uses the session `times` times, `everyMs` apart on the app's clock: the statuses. */
  const useEvery = async (session: Session, everyMs: number, times: number): Promise<number[]> => {
    const statuses: number[] = [];
    for (let step = 1; step <= times; step++) {
      offset += everyMs;
      statuses.push((await send(app, 'GET', '/v1/me', { kind: 'session', session })).status);
    }
    return statuses;
  };

  it('keeps a session used every 15 s (idle/4) for 4 minutes', async () => {
    const session = await login(app, email);
    expect(await useEvery(session, 15_000, 16)).toEqual(Array<number>(16).fill(200));
  });

  it('keeps a session used every 30 s (idle/2), and refuses it after the idle timeout without use', async () => {
    const session = await login(app, email);
    expect(await useEvery(session, 30_000, 8)).toEqual(Array<number>(8).fill(200));
    offset += IDLE_SECONDS * 1000;
    expect((await send(app, 'GET', '/v1/me', { kind: 'session', session })).status).toBe(401);
  });
});
