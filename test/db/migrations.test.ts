import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate, migrationStatus, readMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';

function copyMigrations(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
  for (const f of fs.readdirSync(MIGRATIONS_DIR)) fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(dir, f));
  return dir;
}

describe.each(DATABASE_KINDS)('migrations on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind, { migrate: false });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('applies every migration once, records it, and is safe to run twice', async () => {
    const files = readMigrations();
    const first = await migrate(t.database);
    expect(first.applied).toEqual(files.map((f) => f.file));
    const second = await migrate(t.database);
    expect(second.applied).toEqual([]);
    const rows = await t.database.raw.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(files.map((f) => ({ version: f.version, checksum: f.checksum })));
    expect(await migrationStatus(t.database)).toEqual({ current: true, applied: files.length, expected: files.length });
  });

  it('refuses to run when an applied migration was edited', async () => {
    const dir = copyMigrations();
    const first = readMigrations(dir)[0]!;
    fs.appendFileSync(path.join(dir, first.file), '\n-- edited\n');
    await expect(migrate(t.database, dir)).rejects.toThrow(/was edited after it was applied/);
    expect((await migrationStatus(t.database, dir)).current).toBe(false);
  });

  it('refuses an out-of-order or misnamed migration file, and reports pending ones as not current', async () => {
    const dir = copyMigrations();
    const n = readMigrations(dir).length;
    const gap = String(n + 2).padStart(4, '0');
    fs.writeFileSync(path.join(dir, `${gap}_later.sql`), 'SELECT 1;');
    expect(() => readMigrations(dir)).toThrow(/without gaps/);
    fs.rmSync(path.join(dir, `${gap}_later.sql`));
    fs.writeFileSync(path.join(dir, 'extra.sql'), 'SELECT 1;');
    expect(() => readMigrations(dir)).toThrow(/does not match/);
    fs.rmSync(path.join(dir, 'extra.sql'));
    const next = String(n + 1).padStart(4, '0');
    fs.writeFileSync(path.join(dir, `${next}_pending.sql`), 'CREATE TABLE pending_probe (id int);');
    expect((await migrationStatus(t.database, dir)).current).toBe(false);
  });

  it('rolls back a failing migration completely: no partial schema, no record', async () => {
    const dir = copyMigrations();
    const n = readMigrations(dir).length;
    const next = String(n + 1).padStart(4, '0');
    fs.writeFileSync(path.join(dir, `${next}_broken.sql`), 'CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;');
    await expect(migrate(t.database, dir)).rejects.toThrow();
    const exists = await t.database.raw.query<{ t: string | null }>(`SELECT to_regclass('half_done')::text AS t`);
    expect(exists[0]!.t).toBeNull();
    const rows = await t.database.raw.query('SELECT version FROM schema_migrations');
    expect(rows).toHaveLength(n);
  });
});
