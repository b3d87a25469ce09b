import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';

export type DatabaseKind = 'pglite' | 'postgres';

/**
 * The databases every database test runs on: PGlite always, and PostgreSQL too when
 * TEST_DATABASE_URL is set (CI sets it). Use with `describe.each(DATABASE_KINDS)`.
 */
export const DATABASE_KINDS: readonly DatabaseKind[] = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

export interface TestDatabase {
  readonly database: Database;
  readonly kind: DatabaseKind;
  /** For PostgreSQL: the URL of this test's own scratch database (owner role). */
  readonly url: string | undefined;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  return url;
}

/** A URL pointing at another database of the TEST_DATABASE_URL server. */
export function urlForDatabase(name: string): string {
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A fresh, migrated database of the given kind: an in-memory PGlite, or a new scratch database
 * on the TEST_DATABASE_URL server (dropped by `drop()`), so test files never share state.
 */
export async function createTestDatabase(kind: DatabaseKind, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const database = await openDatabase({ kind: 'pglite' });
    if (options.migrate !== false) await migrate(database);
    return { database, kind, url: undefined, drop: () => database.close() };
  }
  const name = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = urlForDatabase(name);
  const database = await openDatabase({ kind: 'postgres', connectionString: url, poolMax: 12 });
  if (options.migrate !== false) await migrate(database);
  return {
    database,
    kind,
    url,
    async drop() {
      await database.close();
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
