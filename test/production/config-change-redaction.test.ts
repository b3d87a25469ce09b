/**
 * The `config.changed` audit event (src/audit/config-change.ts) records connection URLs without
 * their credentials, including those given as query parameters (`?password=…`, which pg honours):
 * the audit trail is append-only, so a secret recorded there could never be removed.
 */
import { loadConfig } from '../../src/config/index.js';
import { publicSettings, recordConfigurationIfChanged } from '../../src/audit/config-change.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';

const SECRETS = ['Qp4ssw0rdX', 'M1grat3Pw', 'R3disPw', 'Sslk3yPw', 'UserInfoPw'];

const config = loadConfig({
  DATABASE_URL: 'postgres://app:UserInfoPw@db.internal:5433/hipaa?password=Qp4ssw0rdX&sslmode=verify-full&application_name=risk&sslpassword=Sslk3yPw',
  MIGRATION_DATABASE_URL: 'postgresql://owner@db.internal/hipaa?PASSWORD=M1grat3Pw&connect_timeout=5',
  REDIS_URL: 'redis://cache.internal:6379/2?password=R3disPw#frag',
});

describe('publicSettings: URLs without credentials', () => {
  it('masks every query parameter outside the known-safe list and keeps where the server is', () => {
    const settings = publicSettings(config);
    const text = JSON.stringify(settings);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(settings.databaseUrl).toBe('postgres://***@db.internal:5433/hipaa?password=***&sslmode=verify-full&application_name=risk&sslpassword=***');
    expect(settings.migrationDatabaseUrl).toBe('postgresql://***@db.internal/hipaa?PASSWORD=***&connect_timeout=5');
    expect(settings.redisUrl).toBe('redis://cache.internal:6379/2?password=***#***');
  });
});

describe.each(DATABASE_KINDS)('the recorded config.changed event on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(() => t.drop());

  it('holds no password from a URL query string, and still names the host and database', async () => {
    expect(await recordConfigurationIfChanged(t.database.db, config)).not.toBeNull();
    const rows = await t.database.raw.query<{ decision_canonical: string }>("SELECT decision_canonical FROM audit_events WHERE action = 'config.changed'");
    expect(rows).toHaveLength(1);
    const recorded = rows[0]!.decision_canonical;
    for (const secret of SECRETS) expect(recorded).not.toContain(secret);
    const settings = (JSON.parse(recorded) as { settings: Record<string, unknown> }).settings;
    expect(settings.databaseUrl).toMatch(/^postgres:\/\/\*\*\*@db\.internal:5433\/hipaa\?/);
    expect(settings.migrationDatabaseUrl).toMatch(/^postgresql:\/\/\*\*\*@db\.internal\/hipaa\?/);
    expect(settings.redisUrl).toMatch(/^redis:\/\/cache\.internal:6379\/2\?/);
  });
});
