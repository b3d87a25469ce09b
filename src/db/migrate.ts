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

/**
 * Checks the applied rows against the files: no applied migration edited or missing, no gap.
 * Rows past the last file are migrations of a newer release (an older release still running, or
 * rolled back to): their files are not here to compare, and they are accepted as compatible,
 * since every migration must keep the previous release working (docs/deployment.md §1). Returns
 * those later rows.
 */
function check(files: readonly MigrationFile[], rows: readonly AppliedRow[]): AppliedRow[] {
  const byVersion = new Map(files.map((f) => [f.version, f]));
  const known = files.length;
  for (const row of rows) {
    if (row.version > known) continue;
    const file = byVersion.get(row.version);
    if (!file) throw new MigrationError(`Migration ${row.version} (${row.name}) was applied but its file is missing from migrations/`);
    if (file.checksum !== row.checksum) {
      throw new MigrationError(`Migration ${file.file} was edited after it was applied (checksum ${row.checksum.slice(0, 12)}… applied, ${file.checksum.slice(0, 12)}… on disk). Never edit an applied migration: add a new one.`);
    }
  }
  const last = rows.at(-1)?.version ?? 0;
  if (rows.length !== last) throw new MigrationError('The applied migrations have a gap: the database was migrated out of order');
  return rows.filter((r) => r.version > known);
}

function laterNames(later: readonly AppliedRow[]): string[] {
  return later.map((r) => `${String(r.version).padStart(4, '0')}_${r.name}`);
}

/**
 * Whether the connected role can apply migrations: it may create in the current schema and, once
 * schema_migrations exists, has the privileges of its owner (the role that ran the migrations so
 * far). The application role (a member of hipaa_app) has neither.
 */
async function canMigrate(database: Database): Promise<boolean> {
  const rows = await database.raw.query<{ can_create: boolean | null; owner: boolean | null }>(
    `SELECT has_schema_privilege(current_schema(), 'CREATE') AS can_create,
            (SELECT pg_has_role(c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = to_regclass('schema_migrations')) AS owner`,
  );
  const row = rows[0];
  return row?.can_create === true && row.owner !== false;
}

export interface MigrateResult {
  /** Files applied by this call. */
  readonly applied: readonly string[];
  /** The last migration version applied in the database that this release knows. */
  readonly current: number;
  /** Files still not applied because the connected role may not apply migrations (see `migrate`). */
  readonly pending: readonly string[];
  /** Migrations applied by a newer release (past this release's last file), as `NNNN_name`. */
  readonly later: readonly string[];
}

export interface MigrateOptions {
  /**
   * Receives the one-line reports of the two tolerated states (pending migrations the role may
   * not apply; later migrations of a newer release). Default: a process warning on stderr.
   */
  readonly warn?: (message: string) => void;
}

function defaultWarn(message: string): void {
  process.emitWarning(message, { code: 'HIPAA_MIGRATIONS' });
}

/**
 * Applies pending migrations in order, each in its own transaction together with its record in
 * `schema_migrations`. Refuses to run if an applied migration was edited (checksum), is missing,
 * or if the applied set has a gap. Safe to run twice and from two processes at once: each
 * transaction takes an advisory lock and re-checks what is applied.
 *
 * Two states are reported through `options.warn` instead of thrown, so that a service instance
 * starting at the wrong moment of a deployment stays up and out of rotation (`/readyz`) rather
 * than crashing:
 * - migrations are pending but the connected role cannot apply them (the application role, when
 *   a new release starts before the migration job ran): nothing is applied and `pending` lists
 *   them; `/readyz` reports 503 until the owner applies them. `npm run migrate` fails on it.
 * - the database has migrations past this release's last file (an older release running after a
 *   newer one migrated): they are accepted as compatible and listed in `later`.
 */
export async function migrate(database: Database, dir: string = MIGRATIONS_DIR, options: MigrateOptions = {}): Promise<MigrateResult> {
  const warn = options.warn ?? defaultWarn;
  const files = readMigrations(dir);
  const before = await applied(database);
  const later = check(files, before);
  const known = files.length;
  const lastKnown = Math.min(before.at(-1)?.version ?? 0, known);
  const done: string[] = [];
  if (later.length > 0) {
    warn(`The database has ${later.length} migration(s) newer than this release (${laterNames(later).join(', ')}), applied by a newer release: treated as compatible (each migration keeps the previous release working).`);
  }
  // Nothing pending: touch nothing (the application role may not create tables).
  if (lastKnown === known) return { applied: done, current: lastKnown, pending: [], later: laterNames(later) };
  if (!(await canMigrate(database))) {
    const pending = files.filter((f) => f.version > lastKnown).map((f) => f.file);
    warn(
      `${pending.length} migration(s) pending (${pending.join(', ')}) and this database role cannot apply them (it is not the migration owner): ` +
        'not applied; /readyz reports 503 until `npm run migrate` runs as the owner role (MIGRATION_DATABASE_URL).',
    );
    return { applied: done, current: lastKnown, pending, later: [] };
  }
  for (const file of files) {
    if (file.version <= lastKnown) continue;
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
  return { applied: done, current: known, pending: [], later: [] };
}

/**
 * Whether every migration file is applied (and none edited): what `/readyz` reports. Migrations
 * past this release's last file (a newer release's) count as compatible; `later` says how many.
 */
export async function migrationStatus(
  database: Database,
  dir: string = MIGRATIONS_DIR,
): Promise<{ current: boolean; applied: number; expected: number; problem?: string; later?: number }> {
  const files = readMigrations(dir);
  const rows = await applied(database);
  let later: AppliedRow[];
  try {
    later = check(files, rows);
  } catch (err) {
    return { current: false, applied: rows.length, expected: files.length, problem: (err as Error).message };
  }
  const knownApplied = rows.length - later.length;
  return { current: knownApplied === files.length, applied: knownApplied, expected: files.length, ...(later.length > 0 ? { later: later.length } : {}) };
}
