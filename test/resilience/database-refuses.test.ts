/**
 * The database refuses new connections while the server itself is up: the database no longer
 * accepts connections (55000, `ALLOW_CONNECTIONS false`), was renamed or dropped (3D000), the
 * service's role may no longer log in (28000) or its password was rotated (28P01). Each is the
 * database being unavailable to this instance: 503 with Retry-After, as for a refused socket, not
 * a 500 (src/http/errors-middleware.ts; connection failures are marked in src/db/database.ts).
 */
import { Writable } from 'node:stream';
import pg from 'pg';
import { loadConfig } from '../../src/config/index.js';
import type { Database } from '../../src/db/database.js';
import { markConnectionError } from '../../src/db/errors.js';
import { createApp } from '../../src/http/app.js';
import { isDatabaseUnavailable } from '../../src/http/errors-middleware.js';
import { listen, type RunningServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { dropTestRole, openAsAppLoginRole } from '../support/app-role.js';
import { example, tempReportKeys } from '../support/fixtures.js';
import { testTokenKeyRing, type TestApp } from '../support/app.js';
import { clientToken, seedClient, seedOrganization } from '../auth/helpers.js';

const pgError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable: a connection the server refuses', () => {
  it.each([
    ['3D000', 'database "hipaa" does not exist'],
    ['28000', 'role "hipaa_app_login" is not permitted to log in'],
    ['28P01', 'password authentication failed for user "hipaa_app_login"'],
  ])('%s', (code, message) => {
    expect(isDatabaseUnavailable(pgError(code, message))).toBe(true);
  });

  it('55000 while connecting (the database accepts no connections), not 55000 of a statement', () => {
    expect(isDatabaseUnavailable(markConnectionError(pgError('55000', 'database "hipaa" is not currently accepting connections')))).toBe(true);
    expect(isDatabaseUnavailable(pgError('55000', 'object not in prerequisite state'))).toBe(false);
    // pg-pool wraps the failure of a connection that timed out; the cause is the marked one.
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: markConnectionError(pgError('55000', 'x')) }))).toBe(true);
  });
});

const enabled = process.env.TEST_DATABASE_URL !== undefined;
if (!enabled) process.stdout.write('TEST_DATABASE_URL not set: the refused-connection tests on PostgreSQL are skipped\n');
const describeIfPg = enabled ? describe : describe.skip;

describeIfPg('when PostgreSQL refuses the service new connections', () => {
  let t: TestDatabase;
  let role: string | undefined;
  let database: Database;
  let server: RunningServer;
  let token: string;
  let admin: pg.Client;
  const body = JSON.stringify({ title: 'Refused', ...example('well-controlled') });

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    const login = await openAsAppLoginRole(t, 2);
    role = login.role;
    database = login.database;
    const config = loadConfig({ NODE_ENV: 'test', PORT: '0', PASSWORD_HASH_COST: '10', DATABASE_URL: login.url });
    const app = createApp({ config, database, logger: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })), tokenKeys: await testTokenKeyRing(), reportKeys: await tempReportKeys() });
    server = await listen(app, config);
    const direct = { t, config, url: server.url } as unknown as TestApp;
    token = await clientToken(direct, await seedClient(direct, await seedOrganization(direct), ['assessments:write']));
    admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await server?.stop(500);
    await database?.close();
    await admin?.end();
    await t?.drop();
    await dropTestRole(role);
  });

  const submit = (): Promise<Response> =>
    fetch(`${server.url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body, signal: AbortSignal.timeout(15_000) });
  const dbName = (): string => new URL(t.url!).pathname.slice(1);
  /** Ends the service's open connections, so its next request has to open a new one. */
  const dropConnections = async (): Promise<void> => {
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
    await new Promise((resolve) => setTimeout(resolve, 100));
  };
  const expectUnavailable = async (): Promise<void> => {
    const res = await submit();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { type: string }).type).toBe('https://hipaa-ai-risk.dev/problems/service-unavailable');
  };

  it('55000: the database accepts no connections', async () => {
    expect((await submit()).status).toBe(201);
    await admin.query(`ALTER DATABASE ${dbName()} ALLOW_CONNECTIONS false`);
    try {
      await dropConnections();
      await expectUnavailable();
    } finally {
      await admin.query(`ALTER DATABASE ${dbName()} ALLOW_CONNECTIONS true`);
    }
    expect((await submit()).status).toBe(201);
  });

  it('28000: the role may no longer log in', async () => {
    await admin.query(`ALTER ROLE ${role} NOLOGIN`);
    try {
      await dropConnections();
      await expectUnavailable();
    } finally {
      await admin.query(`ALTER ROLE ${role} LOGIN`);
    }
    expect((await submit()).status).toBe(201);
  });

  it('3D000: the database was renamed', async () => {
    // Renaming needs the database free of every session, the test's own pool's too.
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [dbName()]);
    await admin.query(`ALTER DATABASE ${dbName()} RENAME TO ${dbName()}_moved`);
    try {
      await expectUnavailable();
    } finally {
      await admin.query(`ALTER DATABASE ${dbName()}_moved RENAME TO ${dbName()}`);
    }
    expect((await submit()).status).toBe(201);
  });
});
