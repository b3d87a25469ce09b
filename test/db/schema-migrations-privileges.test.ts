import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, migrationStatus } from '../../src/db/migrate.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';

/**
 * Migration 0008: the application role (a member of hipaa_app) reads schema_migrations for
 * /readyz but cannot write it. A row it could insert would keep /readyz at 503 and make every
 * later `npm run migrate` refuse to run, and the append-only trigger keeps the owner from
 * removing it.
 */
describe.each(DATABASE_KINDS)('schema_migrations privileges on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await t.drop();
  });

  it('hipaa_app may SELECT but not INSERT into schema_migrations (SET ROLE)', async () => {
    const rows = await t.database.raw.transaction(async (tx) => {
      await tx.query('SET LOCAL ROLE hipaa_app');
      return tx.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    });
    expect(rows[0]!.n).toBeGreaterThanOrEqual(8);
    await expect(
      t.database.raw.transaction(async (tx) => {
        await tx.query('SET LOCAL ROLE hipaa_app');
        await tx.query(`INSERT INTO schema_migrations (version, name, checksum) VALUES (99, 'x', 'x')`);
      }),
    ).rejects.toThrow(/permission denied/);
    expect(await migrationStatus(t.database)).toMatchObject({ current: true });
    expect((await migrate(t.database)).applied).toEqual([]);
  });

  if (kind === 'postgres') {
    it('a login role that is a member of hipaa_app cannot insert into schema_migrations, can read it, and /readyz stays current', async () => {
      const role = `t_app_${process.pid}_${randomBytes(4).toString('hex')}`;
      const password = randomBytes(16).toString('hex');
      await t.database.raw.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' IN ROLE hipaa_app`);
      try {
        const u = new URL(t.url!);
        u.username = role;
        u.password = password;
        const app = new pg.Client({ connectionString: u.toString() });
        await app.connect();
        try {
          const read = await app.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
          expect(read.rows[0]!.n).toBeGreaterThanOrEqual(8);
          await expect(app.query(`INSERT INTO schema_migrations VALUES (99, 'x', 'x')`)).rejects.toThrow(/permission denied/);
        } finally {
          await app.end();
        }
        expect(await migrationStatus(t.database)).toMatchObject({ current: true });
      } finally {
        await t.database.raw.query(`DROP ROLE ${role}`);
      }
    });
  }
});
