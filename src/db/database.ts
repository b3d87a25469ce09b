import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.js';
import { SerializedPGliteDialect } from './serialized-pglite-dialect.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';

/** A transaction on the raw connection: used by migrations and by tests that must bypass Kysely. */
export interface RawTx {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs SQL text that may hold several statements (no parameters). */
  exec(text: string): Promise<void>;
}

export interface RawSql {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs `fn` inside BEGIN … COMMIT on one connection; ROLLBACK if it throws. */
  transaction<T>(fn: (tx: RawTx) => Promise<T>): Promise<T>;
}

/** The service's database: a Kysely instance plus raw access, over PGlite or PostgreSQL. */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Kysely<DB>;
  readonly raw: RawSql;
  /** Resolves if the database answers a trivial query. */
  ping(): Promise<void>;
  /** Pool figures (PostgreSQL) for metrics; zeros for PGlite. */
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

export type DatabaseOptions =
  | { kind: 'pglite'; dataDir?: string; lock?: boolean }
  | {
      kind: 'postgres';
      connectionString: string;
      poolMax?: number;
      statementTimeoutMs?: number;
      connectionTimeoutMs?: number;
      applicationName?: string;
    };

const INT8_OID = 20;
const parseInt8 = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${v} exceeds the safe integer range`);
  return n;
};

/**
 * Opens the database. PGlite with a `dataDir` persists there (under `<dataDir>/pgdata`) and takes
 * the data directory lock first, so a second process refuses to start; PGlite without `dataDir`
 * is in memory (tests). PostgreSQL uses a pg Pool with a statement timeout on every connection.
 * In both, int8 columns come back as numbers (values past 2^53 throw rather than lose precision).
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.kind === 'pglite') return openPglite(options);
  return openPostgres(options);
}

async function openPglite(options: { dataDir?: string; lock?: boolean }): Promise<Database> {
  let lock: DataDirLock | undefined;
  if (options.dataDir !== undefined && options.lock !== false) lock = acquireDataDirLock(options.dataDir);
  let pglite: PGlite;
  try {
    const dir = options.dataDir === undefined ? undefined : path.join(options.dataDir, 'pgdata');
    pglite = await PGlite.create(dir, { parsers: { [INT8_OID]: parseInt8 } });
  } catch (err) {
    lock?.release();
    throw err;
  }
  const db = new Kysely<DB>({ dialect: new SerializedPGliteDialect({ pglite }) });
  // Raw access shares the single connection; route it through Kysely's queue so it never
  // interleaves with a Kysely transaction.
  const raw: RawSql = {
    async query<R>(text: string, params: readonly unknown[] = []): Promise<R[]> {
      return db.connection().execute(async () => (await pglite.query<R>(text, [...params])).rows);
    },
    async transaction<T>(fn: (tx: RawTx) => Promise<T>): Promise<T> {
      return db.connection().execute(() =>
        pglite.transaction(async (tx) =>
          fn({
            query: async <R>(text: string, params: readonly unknown[] = []) => (await tx.query<R>(text, [...params])).rows,
            exec: async (text: string) => {
              await tx.exec(text);
            },
          }),
        ),
      );
    },
  };
  let closed = false;
  return {
    kind: 'pglite',
    db,
    raw,
    async ping() {
      await raw.query('SELECT 1');
    },
    poolStats: () => ({ total: 1, idle: 0, waiting: 0 }),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await db.destroy();
      } finally {
        lock?.release();
      }
    },
  };
}

// int8 as number (see parseInt8); every other type as pg parses it by default.
const typeParser = ((oid: number, format?: 'text' | 'binary'): unknown =>
  oid === INT8_OID ? parseInt8 : (pg.types.getTypeParser as (oid: number, format: string) => unknown)(oid, format ?? 'text')) as typeof pg.types.getTypeParser;

function openPostgres(options: Extract<DatabaseOptions, { kind: 'postgres' }>): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolMax ?? 10,
    statement_timeout: options.statementTimeoutMs ?? 15000,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    idleTimeoutMillis: 30000,
    application_name: options.applicationName ?? 'hipaa-ai-risk',
    types: { getTypeParser: typeParser },
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process. The next checkout gets a fresh connection.
  pool.on('error', () => undefined);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const raw: RawSql = {
    async query<R>(text: string, params: readonly unknown[] = []): Promise<R[]> {
      return (await pool.query(text, [...params])).rows as R[];
    },
    async transaction<T>(fn: (tx: RawTx) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: async <R>(text: string, params: readonly unknown[] = []) => (await client.query(text, [...params])).rows as R[],
          exec: async (text: string) => {
            await client.query(text);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
  };
  let closed = false;
  return Promise.resolve({
    kind: 'postgres',
    db,
    raw,
    async ping() {
      await pool.query('SELECT 1');
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  });
}
