import { randomUUID } from 'node:crypto';
import { openDatabase, preparedName, type Database } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';

describe('preparedName: which statements are prepared by name on PostgreSQL', () => {
  it('names parameterised DML, the same name for the same text and another for another text', () => {
    const select = 'select "id", "name" from "organizations" where "id" = $1';
    const name = preparedName(select, ['x']);
    expect(name).toMatch(/^hipaa_[0-9a-f]{24}$/);
    expect(preparedName(select, ['y'])).toBe(name);
    const texts = [
      '\n  INSERT INTO rate_limit_counters AS c (key, hits) SELECT $1, $2 ON CONFLICT (key) DO UPDATE SET hits = c.hits + 1 RETURNING hits',
      'update "auth_sessions" set "last_seen_at" = $1 where "id" = $2',
      'delete from "rate_limit_counters" where "key" = $1',
      'with x as (select $1::int as n) select n from x',
    ];
    const names = texts.map((t) => preparedName(t, [1, 2]));
    expect(names.every((n) => n !== undefined && n !== name)).toBe(true);
    expect(new Set(names).size).toBe(texts.length);
  });

  it.each([
    ['a select *', 'select * from "organizations" where "id" = $1', ['x']],
    ['a returning *', 'insert into "organizations" ("id", "name") values ($1, $2) returning *', ['x', 'y']],
    ['a count(*)', 'select count(*) from "organizations" where "name" = $1', ['x']],
    ['no parameters', 'select 1', []],
    ['parameters not given as an array', 'select "id" from "organizations" where "id" = $1', undefined],
    ['a transaction command', 'BEGIN', []],
    ['DDL', 'create table t (id int default $1)', [1]],
  ])('leaves %s unnamed', (_, text, values) => {
    expect(preparedName(text, values)).toBeUndefined();
  });

});

const describePostgres = process.env.TEST_DATABASE_URL ? describe : describe.skip;

describePostgres('named statements on a PostgreSQL connection', () => {
  let t: TestDatabase;
  const opened: Database[] = [];
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    for (const d of opened) await d.close();
    await t.drop();
  });

  async function oneConnection(preparedStatements: boolean): Promise<Database> {
    const database = await openDatabase({ kind: 'postgres', connectionString: t.url!, poolMax: 1, preparedStatements });
    opened.push(database);
    return database;
  }

  async function prepared(database: Database): Promise<{ name: string; statement: string }[]> {
    return database.raw.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements ORDER BY name');
  }

  it('prepares a Kysely statement once per connection and returns the same rows as unnamed', async () => {
    const database = await oneConnection(true);
    const ids = [randomUUID(), randomUUID()];
    for (const [i, id] of ids.entries()) {
      await database.db.insertInto('organizations').values({ id, name: `Clinic ${i} «Υγεία»`, created_at: new Date(0) }).execute();
    }
    const read = async (id: string): Promise<unknown> => database.db.selectFrom('organizations').select(['id', 'name']).where('id', '=', id).executeTakeFirst();
    expect(await read(ids[0]!)).toEqual({ id: ids[0], name: 'Clinic 0 «Υγεία»' });
    expect(await read(ids[1]!)).toEqual({ id: ids[1], name: 'Clinic 1 «Υγεία»' });
    const statements = await prepared(database);
    const texts = statements.map((s) => s.statement);
    expect(texts).toContain('insert into "organizations" ("id", "name", "created_at") values ($1, $2, $3)');
    expect(texts).toContain('select "id", "name" from "organizations" where "id" = $1');
    expect(texts.filter((s) => s.startsWith('select "id", "name" from "organizations"'))).toHaveLength(1);

    // Unnamed alike: a select * and an unparameterised statement are not prepared.
    await database.db.selectFrom('organizations').selectAll().where('id', '=', ids[0]!).execute();
    expect((await prepared(database)).some((s) => s.statement.includes('*'))).toBe(false);
  });

  it('prepares nothing with preparedStatements: false (for poolers without prepared-statement support)', async () => {
    const database = await oneConnection(false);
    await database.db.selectFrom('organizations').select(['id']).where('name', '=', 'nobody').execute();
    expect(await prepared(database)).toEqual([]);
  });
});

// Last: it fills the module's bounded set of names, which the tests above rely on not being full.
describe('preparedName: bounded', () => {
  it('stops naming new texts after 500 (Kysely makes a new text per list length), keeps naming known ones', () => {
    const known = 'select "name" from "organizations" where "id" = $1 and "name" = $2';
    const name = preparedName(known, ['a', 'b']);
    for (let i = 0; i < 600; i++) preparedName(`select "id" from "organizations" where "id" in (${Array.from({ length: i + 1 }, (_, k) => `$${k + 1}`).join(', ')})`, ['x']);
    expect(preparedName('select "id" from "organizations" where "name" = $1 limit 1', ['z'])).toBeUndefined();
    expect(preparedName(known, ['c', 'd'])).toBe(name);
  });
});
