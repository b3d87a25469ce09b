import fs from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../util/hash.js';
import type { Database } from './database.js';

/** The project's migrations folder. */
export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../migrations');

export interface MigrationFile {
  readonly version: number;
  readonly name: string;
  readonly file: string;
  readonly sql: string;
  readonly checksum: string;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;
/** Key of the advisory lock that serialises migrators (any constant unique to this service). */
const MIGRATION_LOCK_KEY = 73_116_402;

/** Reads `NNNN_name.sql` files in version order; refuses duplicates, gaps and stray names. */
export function readMigrations(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const migrations: MigrationFile[] = [];
  for (const file of files) {
    const m = FILE_PATTERN.exec(file);
    if (!m) throw new MigrationError(`Migration file name ${file} does not match NNNN_name.sql`);
    const sql = fs.readFileSync(path.join(dir, file), 'utf8');
    migrations.push({ version: Number(m[1]), name: m[2]!, file, sql, checksum: sha256Hex(sql) });
  }
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new MigrationError(`Migrations must be numbered 0001, 0002, … without gaps; found ${m.file} at position ${i + 1}`);
  });
  return migrations;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

const BOOTSTRAP = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

async function applied(database: Database): Promise<AppliedRow[]> {
  const exists = await database.raw.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (!exists[0]?.t) return [];
  return database.raw.query<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
}

function check(files: readonly MigrationFile[], rows: readonly AppliedRow[]): void {
  const byVersion = new Map(files.map((f) => [f.version, f]));
  for (const row of rows) {
    const file = byVersion.get(row.version);
    if (!file) throw new MigrationError(`Migration ${row.version} (${row.name}) was applied but its file is missing from migrations/`);
    if (file.checksum !== row.checksum) {
      throw new MigrationError(`Migration ${file.file} was edited after it was applied (checksum ${row.checksum.slice(0, 12)}… applied, ${file.checksum.slice(0, 12)}… on disk). Never edit an applied migration: add a new one.`);
    }
  }
  const last = rows.at(-1)?.version ?? 0;
  if (rows.length !== last) throw new MigrationError('The applied migrations have a gap: the database was migrated out of order');
}

export interface MigrateResult {
  readonly applied: readonly string[];
  readonly current: number;
}

/**
 * Applies pending migrations in order, each in its own transaction together with its record in
 * `schema_migrations`. Refuses to run if an applied migration was edited (checksum), is missing,
 * or if the applied set has a gap. Safe to run twice and from two processes at once: each
 * transaction takes an advisory lock and re-checks what is applied.
 */
export async function migrate(database: Database, dir: string = MIGRATIONS_DIR): Promise<MigrateResult> {
  const files = readMigrations(dir);
  const before = await applied(database);
  check(files, before);
  const done: string[] = [];
  // Nothing pending: touch nothing (the application role may not create tables).
  if (before.length === files.length) return { applied: done, current: files.at(-1)?.version ?? 0 };
  for (const file of files) {
    const wasApplied = await database.raw.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await tx.exec(BOOTSTRAP);
      const rows = await tx.query<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
      check(files, rows);
      if (rows.some((r) => r.version === file.version)) return false;
      if ((rows.at(-1)?.version ?? 0) !== file.version - 1) throw new MigrationError(`Migration ${file.file} is out of order`);
      await tx.exec(file.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [file.version, file.name, file.checksum]);
      return true;
    });
    if (wasApplied) done.push(file.file);
  }
  return { applied: done, current: files.at(-1)?.version ?? 0 };
}

/** Whether every migration file is applied (and none edited): what `/readyz` reports. */
export async function migrationStatus(database: Database, dir: string = MIGRATIONS_DIR): Promise<{ current: boolean; applied: number; expected: number; problem?: string }> {
  const files = readMigrations(dir);
  const rows = await applied(database);
  try {
    check(files, rows);
  } catch (err) {
    return { current: false, applied: rows.length, expected: files.length, problem: (err as Error).message };
  }
  return { current: rows.length === files.length, applied: rows.length, expected: files.length };
}
