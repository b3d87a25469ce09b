import { sql } from 'kysely';
import { APPEND_ONLY_TABLES } from '../../src/db/schema.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';

describe.each(DATABASE_KINDS)('append-only storage on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await t.database.raw.transaction(async (tx) => {
      await tx.exec(`
        CREATE TABLE ao_probe (id int PRIMARY KEY, body text NOT NULL);
        SELECT make_append_only('ao_probe');
        INSERT INTO ao_probe VALUES (1, 'first'), (2, 'second');
      `);
    });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('accepts inserts and reads', async () => {
    await t.database.raw.query(`INSERT INTO ao_probe VALUES (3, 'third')`);
    const rows = await t.database.raw.query<{ id: number }>('SELECT id FROM ao_probe ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3]);
  });

  it.each([
    ['UPDATE', `UPDATE ao_probe SET body = 'rewritten' WHERE id = 1`],
    ['DELETE', `DELETE FROM ao_probe WHERE id = 1`],
    ['TRUNCATE', `TRUNCATE ao_probe`],
    ['TRUNCATE CASCADE', `TRUNCATE ao_probe CASCADE`],
    ['UPDATE of every row', `UPDATE ao_probe SET id = id + 100`],
  ])('refuses %s through raw SQL, even as the owner', async (_name, statement) => {
    await expect(t.database.raw.query(statement)).rejects.toThrow(/append-only/);
    const rows = await t.database.raw.query<{ id: number; body: string }>('SELECT id, body FROM ao_probe WHERE id = 1');
    expect(rows).toEqual([{ id: 1, body: 'first' }]);
  });

  it('refuses UPDATE and DELETE through Kysely, and leaves the transaction rolled back', async () => {
    await expect(
      t.database.db.transaction().execute(async (trx) => {
        await sql`INSERT INTO ao_probe VALUES (50, 'inside')`.execute(trx);
        await sql`DELETE FROM ao_probe WHERE id = 2`.execute(trx);
      }),
    ).rejects.toThrow(/append-only/);
    const rows = await t.database.raw.query('SELECT id FROM ao_probe WHERE id IN (2, 50) ORDER BY id');
    expect(rows).toEqual([{ id: 2 }]);
  });

  it('the application role holds only SELECT and INSERT, and cannot disable the triggers', async () => {
    await t.database.raw.transaction(async (tx) => {
      await tx.query('SET LOCAL ROLE hipaa_app');
      await tx.query(`SELECT count(*) FROM ao_probe`);
      await tx.query(`INSERT INTO ao_probe VALUES (60, 'as app')`);
    });
    for (const statement of [`UPDATE ao_probe SET body = 'x'`, `DELETE FROM ao_probe`, `TRUNCATE ao_probe`, `ALTER TABLE ao_probe DISABLE TRIGGER USER`]) {
      await expect(
        t.database.raw.transaction(async (tx) => {
          await tx.query('SET LOCAL ROLE hipaa_app');
          await tx.query(statement);
        }),
      ).rejects.toThrow(/permission denied|must be owner|append-only/);
    }
  });

  // schema_migrations is written by the migration runner only: the app may just read it (0008).
  it.each(APPEND_ONLY_TABLES.map((table) => [table]))('%s carries the append-only triggers, refuses TRUNCATE, and grants the app only SELECT and INSERT (SELECT on schema_migrations)', async (table) => {
    const triggers = await t.database.raw.query<{ tgname: string; fn: string }>(
      `SELECT tgname, tgfoid::regproc::text AS fn FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal AND tgenabled <> 'D' ORDER BY tgname`,
      [table],
    );
    expect(triggers).toEqual([
      { tgname: 'append_only_no_truncate', fn: 'append_only_guard' },
      { tgname: 'append_only_no_update_delete', fn: 'append_only_guard' },
    ]);
    await expect(t.database.raw.query(`TRUNCATE ${table} CASCADE`)).rejects.toThrow(/append-only/);
    const privileges = await t.database.raw.query<{ p: string }>(
      `SELECT privilege_type AS p FROM information_schema.role_table_grants WHERE grantee = 'hipaa_app' AND table_name = $1 ORDER BY 1`,
      [table],
    );
    expect(privileges.map((r) => r.p)).toEqual(table === 'schema_migrations' ? ['SELECT'] : ['INSERT', 'SELECT']);
  });

  it('refuses UPDATE and DELETE on a populated history table (schema_migrations)', async () => {
    await expect(t.database.raw.query(`UPDATE schema_migrations SET name = name`)).rejects.toThrow(/append-only/);
    await expect(t.database.raw.query(`DELETE FROM schema_migrations`)).rejects.toThrow(/append-only/);
  });
});
