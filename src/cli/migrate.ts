/**
 * `npm run migrate` / `node dist/cli/migrate.js`: applies pending migrations to
 * MIGRATION_DATABASE_URL (the owner role), else DATABASE_URL, else the embedded database under
 * DATA_DIR.
 *
 * It reads only the database settings (below), not the service's whole configuration: a migration
 * job (the compose `migrate` service, a Kubernetes Job) runs with NODE_ENV=production but without
 * PUBLIC_URL, keys or admin settings, and must not be refused for lacking them.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, envInt as int, envString as str } from '../config/index.js';
import { openDatabase } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { EXIT, HELP_OPTION, parseCommandArgs, processIo, runCommand, type CliCommand } from './main.js';

const HELP = `usage: npm run migrate

Applies pending migrations (migrations/NNNN_name.sql) in order, each in its own transaction.
Reads only: MIGRATION_DATABASE_URL (the owner role), else DATABASE_URL, else the embedded
database under DATA_DIR (default ./data); DB_STATEMENT_TIMEOUT_MS and DB_CONNECTION_TIMEOUT_MS.
`;

type Env = Readonly<Record<string, string | undefined>>;

/** The settings the migration runner needs, and nothing else. */
export interface MigrationSettings {
  /** PostgreSQL connection string (owner role); absent = the embedded PGlite under dataDir. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly statementTimeoutMs: number;
  readonly connectionTimeoutMs: number;
}


function postgresUrl(env: Env, name: string): string | undefined {
  const v = str(env, name);
  if (v === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new ConfigError(name, 'must be a URL (percent-encode any reserved character in the password, or use `openssl rand -hex 32` passwords)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new ConfigError(name, 'must use postgres: or postgresql:');
  return v;
}


/**
 * Reads the migration runner's settings from the environment, with the same names, bounds and
 * defaults as the service's configuration (src/config/index.ts). Throws ConfigError.
 */
export function loadMigrationSettings(env: Env): MigrationSettings {
  return {
    databaseUrl: postgresUrl(env, 'MIGRATION_DATABASE_URL') ?? postgresUrl(env, 'DATABASE_URL'),
    dataDir: path.resolve(str(env, 'DATA_DIR') ?? './data'),
    statementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 15000, 100, 600000),
    connectionTimeoutMs: int(env, 'DB_CONNECTION_TIMEOUT_MS', 5000, 100, 60000),
  };
}

/** The migrate command: exit 0 when the database is current afterwards, 1 on any failure. */
export const migrateCommand: CliCommand = async (argv, io) => {
  const parsed = parseCommandArgs(() => parseArgs({ args: [...argv], options: { help: HELP_OPTION }, strict: true }), HELP, io);
  if (typeof parsed === 'number') return parsed;
  const settings = loadMigrationSettings(io.env);
  const database =
    settings.databaseUrl !== undefined
      ? await openDatabase({
          kind: 'postgres',
          connectionString: settings.databaseUrl,
          poolMax: 1,
          statementTimeoutMs: settings.statementTimeoutMs,
          connectionTimeoutMs: settings.connectionTimeoutMs,
          applicationName: 'hipaa-ai-risk-migrate',
          preparedStatements: false,
        })
      : await openDatabase({ kind: 'pglite', dataDir: settings.dataDir });
  try {
    const result = await migrate(database, undefined, { warn: (message) => io.stderr.write(`warning: ${message}\n`) });
    if (result.pending.length > 0) {
      io.stderr.write(`error: ${result.pending.length} migration(s) not applied: connect as the role that owns the schema (MIGRATION_DATABASE_URL), not as the application role\n`);
      return EXIT.failed;
    }
    io.stdout.write(result.applied.length === 0 ? `Database is current (migration ${result.current}).\n` : `Applied ${result.applied.join(', ')}; database is at migration ${result.current}.\n`);
    return EXIT.ok;
  } finally {
    await database.close();
  }
};

function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

// Exit as soon as the command is done: the pg pool behind `database.close()` is ended by Kysely
// only once Kysely itself ran a query, and the migration runner uses raw SQL only, so waiting for
// the event loop to drain would keep a finished migration job alive for the pool's idle timeout
// (30 s). Standard output and error are synchronous for files and pipes on Linux.
if (isMain()) {
  void runCommand(migrateCommand, process.argv.slice(2), processIo).then((code) => process.exit(code));
}
