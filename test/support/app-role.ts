import pg from 'pg';
import type { DatabaseKind, TestDatabase } from './databases.js';

/** Drops a login role made for a test, on the server TEST_DATABASE_URL names (after its databases are gone). */
export async function dropTestRole(role: string | undefined): Promise<void> {
  if (role === undefined) return;
  const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await c.connect();
  try {
    await c.query(`DROP ROLE IF EXISTS ${role}`);
  } finally {
    await c.end();
  }
}

/**
 * Runs `fn` as the application role: on PostgreSQL `fn` uses a connection of a login role in
 * hipaa_app already; PGlite has one session, which is switched with SET ROLE meanwhile.
 */
export async function asAppRole<T>(kind: DatabaseKind, t: TestDatabase, fn: () => Promise<T>): Promise<T> {
  if (kind === 'postgres') return fn();
  await t.database.raw.query('SET ROLE hipaa_app');
  try {
    return await fn();
  } finally {
    await t.database.raw.query('RESET ROLE');
  }
}
