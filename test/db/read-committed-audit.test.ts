/**
 * The audit_link trigger (migrations/0007) reads the chain head after taking the advisory lock,
 * which is right only under READ COMMITTED (a snapshot per statement). A database or role whose
 * default_transaction_isolation is REPEATABLE READ made concurrent writers read the same head and
 * fail on audit_events_pkey (43 of 60 in the reviewer's run): the service's connections now force
 * READ COMMITTED whatever the server's default.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { recordAuditEventAlone } from '../../src/audit/record.js';
import { verifyAuditChain } from '../../src/audit/verify.js';
import { urlForDatabase } from '../support/databases.js';

const describePostgres = process.env.TEST_DATABASE_URL ? describe : describe.skip;

describePostgres('audit writes on a PostgreSQL database whose default isolation is repeatable read', () => {
  const name = `t_rr_${process.pid}_${randomBytes(4).toString('hex')}`;
  let database: Database;

  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    await admin(async (c) => {
      await c.query(`CREATE DATABASE ${name}`);
      await c.query(`ALTER DATABASE ${name} SET default_transaction_isolation = 'repeatable read'`);
    });
    database = await openDatabase({ kind: 'postgres', connectionString: urlForDatabase(name), poolMax: 8 });
    await migrate(database);
  });
  afterAll(async () => {
    await database?.close();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });

  it('is set up as the reviewer found it: a plain connection to the database runs repeatable read', async () => {
    const c = new pg.Client({ connectionString: urlForDatabase(name) });
    await c.connect();
    try {
      expect((await c.query<{ default_transaction_isolation: string }>('SHOW default_transaction_isolation')).rows[0]!.default_transaction_isolation).toBe('repeatable read');
    } finally {
      await c.end();
    }
  });

  it("runs the service's transactions read committed, through Kysely and raw SQL", async () => {
    const level = await database.db.transaction().execute(async (trx) => (await sql<{ l: string }>`SELECT current_setting('transaction_isolation') AS l`.execute(trx)).rows[0]!.l);
    expect(level).toBe('read committed');
    const raw = await database.raw.transaction(async (tx) => (await tx.query<{ l: string }>("SELECT current_setting('transaction_isolation') AS l"))[0]!.l);
    expect(raw).toBe('read committed');
  });

  it('records 30 concurrent audit events, all of them, on a valid chain', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        recordAuditEventAlone(database.db, {
          action: 'organization.created',
          outcome: 'success',
          actor: { type: 'system', id: null, role: null, organizationId: null },
          organizationId: null,
          target: null,
          decision: { name: `concurrent ${i}` },
        }),
      ),
    );
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String((r.reason as Error).message));
    expect(failures).toEqual([]);
    const seqs = (await database.db.selectFrom('audit_events').select('seq').where('action', '=', 'organization.created').orderBy('seq').execute()).map((r) => r.seq);
    expect(seqs).toHaveLength(30);
    const all = (await database.db.selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((r) => r.seq);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(await verifyAuditChain(database.db, { keys: [] })).toMatchObject({ valid: true });
  });
});
