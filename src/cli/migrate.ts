/**
 * `npm run migrate`: applies pending migrations to MIGRATION_DATABASE_URL (the owner role),
 * else DATABASE_URL, else the embedded database under DATA_DIR.
 */
import { ConfigError, loadConfig } from '../config/index.js';
import { openDatabase } from '../db/database.js';
import { migrate, MigrationError } from '../db/migrate.js';

async function run(): Promise<void> {
  const config = loadConfig();
  const url = config.migrationDatabaseUrl;
  const database = url !== undefined ? await openDatabase({ kind: 'postgres', connectionString: url, poolMax: 1 }) : await openDatabase({ kind: 'pglite', dataDir: config.dataDir });
  try {
    const result = await migrate(database);
    process.stdout.write(result.applied.length === 0 ? `Database is current (migration ${result.current}).\n` : `Applied ${result.applied.join(', ')}; database is at migration ${result.current}.\n`);
  } finally {
    await database.close();
  }
}

run().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof MigrationError || err instanceof Error) process.stderr.write(`error: ${err.message}\n`);
  process.exit(1);
});
