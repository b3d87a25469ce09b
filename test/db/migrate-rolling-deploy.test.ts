import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateCommand } from '../../src/cli/migrate.js';
import type { Database } from '../../src/db/database.js';
import { migrate, migrationStatus, readMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';
import { asAppRole, dropTestRole, openAsAppLoginRole } from '../support/app-role.js';

/** The migrations of a release: the project's, plus `extra` files, or without the last `drop`. */
function releaseMigrations(options: { extra?: Record<string, string>; drop?: number }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'release-migrations-'));
  const files = fs.readdirSync(MIGRATIONS_DIR).sort();
  for (const f of files.slice(0, files.length - (options.drop ?? 0))) fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(dir, f));
  for (const [name, sql] of Object.entries(options.extra ?? {})) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

const NEXT = String(readMigrations().length + 1).padStart(4, '0');

/**
 * A rolling deployment (docs/deployment.md §1): instances of the new release may start before the
 * migration job ran, and instances of the old release keep running after it. Neither may crash;
 * the new one stays out of rotation until the migration is applied, the old one stays in.
 */
describe.each(DATABASE_KINDS)('migrations during a rolling deployment on %s', (kind) => {
  let t: TestDatabase;
  /** The database as the application role (a member of hipaa_app). */
  let app: Database;
  let appUrl: string | undefined;
  let role: string | undefined;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    if (kind === 'postgres') {
      ({ role, url: appUrl, database: app } = await openAsAppLoginRole(t, 2));
    } else {
      app = t.database; // PGlite has one session: the tests switch it to the role with SET ROLE
    }
  });
  afterAll(async () => {
    if (kind === 'postgres') await app.close();
    await t.drop();
    await dropTestRole(role);
  });

  const asApp = <T>(fn: () => Promise<T>): Promise<T> => asAppRole(kind, t, fn);

  it('a new release started before its migration ran, as the application role: does not crash, applies nothing, reports not ready, with a warning', async () => {
    const dir = releaseMigrations({ extra: { [`${NEXT}_next_release.sql`]: 'CREATE TABLE next_release_probe (id int);' } });
    const warnings: string[] = [];
    const result = await asApp(() => migrate(app, dir, { warn: (m) => warnings.push(m) }));
    expect(result).toEqual({ applied: [], current: Number(NEXT) - 1, pending: [`${NEXT}_next_release.sql`], later: [] });
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`1 migration\\(s\\) pending \\(${NEXT}_next_release\\.sql\\) and this database role cannot apply them.*/readyz reports 503`))]);
    expect(await asApp(() => migrationStatus(app, dir))).toMatchObject({ current: false, applied: Number(NEXT) - 1, expected: Number(NEXT) });
    const probe = await t.database.raw.query<{ t: string | null }>(`SELECT to_regclass('next_release_probe')::text AS t`);
    expect(probe[0]!.t).toBeNull();
    // The migration job (the owner) applies it; the waiting instance is then ready.
    expect((await migrate(t.database, dir, { warn: (m) => warnings.push(m) })).applied).toEqual([`${NEXT}_next_release.sql`]);
    expect(await asApp(() => migrationStatus(app, dir))).toEqual({ current: true, applied: Number(NEXT), expected: Number(NEXT) });
    expect((await asApp(() => migrate(app, dir, { warn: (m) => warnings.push(m) }))).pending).toEqual([]);
    expect(warnings).toHaveLength(1);
  });

  it('an old release still running after a newer release migrated: accepts the later migrations as compatible and stays ready', async () => {
    const applied = (await t.database.raw.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations'))[0]!.n;
    const oldDir = releaseMigrations({ drop: 2 }); // this release knows two migrations fewer than the project
    const known = readMigrations(oldDir).length;
    expect(applied).toBeGreaterThan(known);
    const warnings: string[] = [];
    const result = await asApp(() => migrate(app, oldDir, { warn: (m) => warnings.push(m) }));
    expect(result.applied).toEqual([]);
    expect(result.pending).toEqual([]);
    expect(result.current).toBe(known);
    expect(result.later).toHaveLength(applied - known);
    expect(warnings).toEqual([expect.stringMatching(/newer than this release .*treated as compatible/)]);
    expect(await asApp(() => migrationStatus(app, oldDir))).toEqual({ current: true, applied: known, expected: known, later: applied - known });
    // The owner's migrate of the old release (a rollback's migration job) succeeds too.
    expect((await migrate(t.database, oldDir, { warn: () => undefined })).applied).toEqual([]);
  });

  it('still refuses an edited migration and a gap, whatever follows', async () => {
    const dir = releaseMigrations({ drop: 1 });
    const first = readMigrations(dir)[0]!;
    fs.appendFileSync(path.join(dir, first.file), '\n-- edited\n');
    await expect(migrate(t.database, dir, { warn: () => undefined })).rejects.toThrow(/was edited after it was applied/);
    expect((await migrationStatus(t.database, dir)).current).toBe(false);
  });

  if (kind === 'postgres') {
    it('`npm run migrate` as the application role fails (exit 1) with a message saying which role to use', async () => {
      const fresh = await createTestDatabase('postgres', { migrate: false });
      try {
        const u = new URL(appUrl!);
        u.pathname = new URL(fresh.url!).pathname;
        let out = '';
        let err = '';
        const code = await migrateCommand([], {
          stdout: { write: (s: string) => (out += s) },
          stderr: { write: (s: string) => (err += s) },
          env: { NODE_ENV: 'production', MIGRATION_DATABASE_URL: u.toString() },
        });
        expect(code).toBe(1);
        expect(out).toBe('');
        expect(err).toMatch(/this database role cannot apply them/);
        expect(err).toMatch(/error: \d+ migration\(s\) not applied: connect as the role that owns the schema \(MIGRATION_DATABASE_URL\)/);
        const exists = await fresh.database.raw.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
        expect(exists[0]!.t).toBeNull();
      } finally {
        await fresh.drop();
      }
    });
  }
});
