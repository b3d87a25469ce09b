import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadMigrationSettings } from '../../src/cli/migrate.js';
import { openDatabase } from '../../src/db/database.js';
import { readMigrations } from '../../src/db/migrate.js';
import { ROOT } from '../support/process.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';

/** Runs `tsx src/cli/migrate.ts` as the compose `migrate` service runs dist/cli/migrate.js. */
function runMigrateCli(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/migrate.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

// What the Dockerfile and compose give the migration job: production, no PUBLIC_URL, no keys.
const PRODUCTION = { NODE_ENV: 'production' };

describe('the migrate CLI reads only the database settings', () => {
  it('needs no PUBLIC_URL, admin or key settings under NODE_ENV=production', () => {
    const settings = loadMigrationSettings({ NODE_ENV: 'production', MIGRATION_DATABASE_URL: 'postgres://owner:pw@db:5432/hipaa', DATABASE_URL: 'postgres://app:pw@db:5432/hipaa', ADMIN_EMAIL: 'only@half.example' });
    expect(settings.databaseUrl).toBe('postgres://owner:pw@db:5432/hipaa');
    expect(loadMigrationSettings({ NODE_ENV: 'production', DATABASE_URL: 'postgres://app:pw@db/hipaa' }).databaseUrl).toBe('postgres://app:pw@db/hipaa');
    expect(loadMigrationSettings({ DATA_DIR: '/srv/x' })).toMatchObject({ databaseUrl: undefined, dataDir: path.resolve('/srv/x'), statementTimeoutMs: 15000, connectionTimeoutMs: 5000 });
  });

  it('still refuses an invalid database setting, naming it', () => {
    expect(() => loadMigrationSettings({ MIGRATION_DATABASE_URL: 'postgres://o:a/b+c@db/hipaa' })).toThrow(/MIGRATION_DATABASE_URL must be a URL/);
    expect(() => loadMigrationSettings({ MIGRATION_DATABASE_URL: 'mysql://db/hipaa' })).toThrow(/MIGRATION_DATABASE_URL must use postgres/);
    expect(() => loadMigrationSettings({ DB_STATEMENT_TIMEOUT_MS: 'soon' })).toThrow(/DB_STATEMENT_TIMEOUT_MS/);
  });

  it('migrates the embedded database under DATA_DIR with NODE_ENV=production and no PUBLIC_URL (exit 0)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrate-cli-'));
    try {
      const run = await runMigrateCli({ ...PRODUCTION, DATA_DIR: dataDir });
      expect(run.out).not.toMatch(/PUBLIC_URL/);
      expect(run.code).toBe(0);
      expect(run.out).toContain(`database is at migration ${readMigrations().length}`);
      const database = await openDatabase({ kind: 'pglite', dataDir });
      try {
        const rows = await database.raw.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
        expect(rows[0]!.n).toBe(readMigrations().length);
      } finally {
        await database.close();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('exits 1 with the variable named when the database URL is not a URL', async () => {
    const run = await runMigrateCli({ ...PRODUCTION, MIGRATION_DATABASE_URL: 'postgres://o:a/b+c@db/hipaa' });
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/error: Invalid configuration: MIGRATION_DATABASE_URL must be a URL/);
  }, 60_000);
});

(process.env.TEST_DATABASE_URL ? describe : describe.skip)('the migrate CLI on PostgreSQL', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres', { migrate: false });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('migrates MIGRATION_DATABASE_URL with NODE_ENV=production and no PUBLIC_URL (exit 0), then reports it current', async () => {
    const files = readMigrations();
    const first = await runMigrateCli({ ...PRODUCTION, MIGRATION_DATABASE_URL: t.url! });
    expect(first.out).not.toMatch(/PUBLIC_URL/);
    expect(first.code).toBe(0);
    expect(first.out).toContain(`Applied ${files.map((f) => f.file).join(', ')}; database is at migration ${files.length}.`);
    const tables = await t.database.raw.query<{ t: string }>(`SELECT to_regclass(x)::text AS t FROM unnest(ARRAY['schema_migrations', 'audit_events', 'reports', 'users']) AS x`);
    expect(tables.map((r) => r.t)).toEqual(['schema_migrations', 'audit_events', 'reports', 'users']);
    const second = await runMigrateCli({ ...PRODUCTION, MIGRATION_DATABASE_URL: t.url! });
    expect(second.code).toBe(0);
    expect(second.out).toContain(`Database is current (migration ${files.length}).`);
  }, 60_000);
});
