import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.js';
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

/**
 * A login role in hipaa_app on the test database's PostgreSQL server (as docs/deployment.md §1
 * sets up the service's), and the database opened as it. Drop the role with `dropTestRole` after
 * the database.
 */
export async function openAsAppLoginRole(t: TestDatabase, poolMax: number): Promise<{ role: string; url: string; database: Database }> {
  const role = `t_app_${process.pid}_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(16).toString('hex');
  await t.database.raw.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' IN ROLE hipaa_app`);
  const u = new URL(t.url!);
  u.username = role;
  u.password = password;
  const url = u.toString();
  return { role, url, database: await openDatabase({ kind: 'postgres', connectionString: url, poolMax }) };
}
