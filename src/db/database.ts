import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.js';
import { SerializedPGliteDialect } from './serialized-pglite-dialect.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { markConnectionError } from './errors.js';

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
  | {
      kind: 'pglite';
      dataDir?: string;
      lock?: boolean;
      /**
       * Open an existing embedded database only (read-only commands such as audit-verify): when
       * `<dataDir>/pgdata` holds no database, throw NoEmbeddedDatabaseError before anything (the
       * data directory, its lock, a new database) is created. Default false: created if missing.
       */
      existing?: boolean;
    }
  | {
      kind: 'postgres';
      connectionString: string;
      poolMax?: number;
      statementTimeoutMs?: number;
      connectionTimeoutMs?: number;
      applicationName?: string;
      /** Name the statements `preparedName` accepts, so each connection parses and plans them once (default true). */
      preparedStatements?: boolean;
      /**
       * Told of every connection that fails while open (terminated backend, failover, a query that
       * outlived QUERY_TIMEOUT_MARGIN_MS past the statement timeout); the process goes on and the
       * pool replaces the connection. Default: nothing.
       */
      onConnectionError?: (err: Error) => void;
    };

/**
 * How long past the statement timeout the client waits for an answer (pg's `query_timeout`)
 * before it gives the connection up: the server cancels a slow statement itself, so an answer
 * later than this means the server or the network is gone (a black hole: no reset, no reply).
 */
export const QUERY_TIMEOUT_MARGIN_MS = 2000;

/** TCP keep-alive on every PostgreSQL connection, first probe after this much idle time. */
const KEEP_ALIVE_INITIAL_DELAY_MS = 10_000;

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

/** Where the embedded PGlite database of a data directory lives. */
export function embeddedDatabaseDir(dataDir: string): string {
  return path.join(dataDir, 'pgdata');
}

/** `openDatabase({ kind: 'pglite', existing: true })` found no database: nothing was created. */
export class NoEmbeddedDatabaseError extends Error {
  constructor(readonly databaseDir: string) {
    super(`no database at ${path.resolve(databaseDir)}`);
    this.name = 'NoEmbeddedDatabaseError';
  }
}

async function openPglite(options: { dataDir?: string; lock?: boolean; existing?: boolean }): Promise<Database> {
  // Every initialised PostgreSQL data directory holds PG_VERSION: without it there is no database.
  if (options.existing === true && options.dataDir !== undefined && !fs.existsSync(path.join(embeddedDatabaseDir(options.dataDir), 'PG_VERSION'))) {
    throw new NoEmbeddedDatabaseError(embeddedDatabaseDir(options.dataDir));
  }
  let lock: DataDirLock | undefined;
  if (options.dataDir !== undefined && options.lock !== false) lock = acquireDataDirLock(options.dataDir);
  let pglite: PGlite;
  try {
    const dir = options.dataDir === undefined ? undefined : embeddedDatabaseDir(options.dataDir);
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

/** At most this many statement texts get a name (each connection may prepare them all). */
const MAX_PREPARED_TEXTS = 500;
const preparedNames = new Map<string, string>();

/**
 * The name under which `text` is prepared on every connection, or undefined to send it unnamed
 * (parsed and planned anew each time, as pg does by default).
 *
 * Named: parameterised DML (SELECT, INSERT, UPDATE, DELETE, WITH) without a `*` anywhere (a
 * cached plan of `SELECT *` or `RETURNING *` fails with "cached plan must not change result type"
 * once a migration adds a column under a running instance; explicit column lists are re-planned
 * by PostgreSQL instead), for the first MAX_PREPARED_TEXTS texts (Kysely builds a new text for
 * each number of rows or list items, so the set is open-ended; memory stays bounded).
 *
 * Why: with unnamed statements PostgreSQL parses and plans every statement of every request, and
 * plans it with the parameters as constants, copying each value into the plan: for the ~160 KB
 * report insert that copy and the planning were a third of PostgreSQL's CPU per submission
 * (perf). Named, `POST /v1/assessments` went from 102 to 119–120/s on the bench machine, with
 * PostgreSQL CPU per submission 5.9 → 4.2 ms (bench/api, docs/deployment.md).
 */
export function preparedName(text: string, values: unknown): string | undefined {
  const known = preparedNames.get(text);
  if (known !== undefined) return known;
  if (!Array.isArray(values) || values.length === 0 || text.includes('*') || !/^\s*(?:select|insert|update|delete|with)\b/i.test(text)) return undefined;
  if (preparedNames.size >= MAX_PREPARED_TEXTS) return undefined;
  const name = `hipaa_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
  preparedNames.set(text, name);
  return name;
}

/**
 * pg's Client as the pool uses it. A failure to open the connection is marked as one
 * (`isConnectionError`: the request gets a 503, the start-up one line naming DATABASE_URL). A
 * query that ran into `query_timeout` ("Query read timeout") leaves its statement on the wire and
 * the connection blocked behind it: the socket is destroyed, so the client ends and the pool
 * drops it on release and opens a fresh one instead of handing it out again.
 */
class ServiceClient extends pg.Client {
  override connect(...args: unknown[]): never {
    const connect = super.connect.bind(this) as (...a: unknown[]) => never;
    const [callback] = args;
    if (typeof callback === 'function') return connect((err: Error | undefined) => (callback as (e: unknown) => void)(err === undefined || err === null ? err : markConnectionError(err)));
    return (connect() as Promise<void>).catch((err: unknown) => {
      throw markConnectionError(err);
    }) as never;
  }

  override query(...args: unknown[]): never {
    const query = super.query.bind(this) as (...a: unknown[]) => never;
    const at = args.findIndex((a) => typeof a === 'function');
    if (at >= 0) {
      const callback = args[at] as (err: unknown, res: unknown) => void;
      const wrapped = [...args];
      wrapped[at] = (err: unknown, res: unknown) => {
        this.dropIfTimedOut(err);
        callback(err, res);
      };
      return query(...wrapped);
    }
    const result = query(...args) as unknown;
    if (!(result instanceof Promise)) return result as never;
    return result.catch((err: unknown) => {
      this.dropIfTimedOut(err);
      throw err;
    }) as never;
  }

  private dropIfTimedOut(err: unknown): void {
    if (!(err instanceof Error) || err.message !== 'Query read timeout') return;
    // Not queryable from now on, which is what pg-pool checks on release (pg sets it only once
    // the socket has closed: the caller may release the client before that).
    (this as unknown as { _queryable: boolean })._queryable = false;
    this.connection.stream.destroy();
  }
}

/**
 * ServiceClient sending the statements `preparedName` names as named prepared statements (pg
 * parses each name once per connection and then only binds and executes it). Everything else,
 * including query config objects and cursors, goes through unchanged.
 */
class PreparingClient extends ServiceClient {
  override query(...args: unknown[]): never {
    const [text, values, callback] = args;
    const name = typeof text === 'string' ? preparedName(text, values) : undefined;
    const query = super.query.bind(this);
    if (name === undefined) return query(...args);
    return callback === undefined ? query({ name, text, values }) : query({ name, text, values }, callback);
  }
}

/** Run on every new PostgreSQL connection before it is used: see onConnect in openPostgres. */
async function forceReadCommitted(client: pg.ClientBase): Promise<void> {
  await client.query("SET SESSION default_transaction_isolation = 'read committed'");
}

function openPostgres(options: Extract<DatabaseOptions, { kind: 'postgres' }>): Promise<Database> {
  const statementTimeoutMs = options.statementTimeoutMs ?? 15000;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolMax ?? 10,
    statement_timeout: statementTimeoutMs,
    // A server that stops answering without closing the socket (network partition, a failover
    // whose old address black-holes): without these a connection waits for ever, and once the
    // pool's connections all wait the instance never recovers. See QUERY_TIMEOUT_MARGIN_MS and
    // ServiceClient; keep-alive also notices a dead idle connection.
    query_timeout: statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEP_ALIVE_INITIAL_DELAY_MS,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    idleTimeoutMillis: 30000,
    application_name: options.applicationName ?? 'hipaa-ai-risk',
    types: { getTypeParser: typeParser },
    Client: options.preparedStatements === false ? ServiceClient : PreparingClient,
    // READ COMMITTED on every connection, whatever the server, database or role default (or
    // PGOPTIONS) says: the audit_link trigger (migrations/0007) runs at commit, takes the
    // advisory lock and then reads the chain head, which it sees only with a snapshot taken
    // after the lock. Under REPEATABLE READ or SERIALIZABLE the snapshot predates the lock:
    // concurrent writers read the same head and fail on audit_events_pkey. Awaited by the pool
    // before the connection is handed out (a failure fails that checkout, not the process).
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- pg-pool awaits the promise onConnect returns (pg-pool 3.14); @types/pg declares void
    onConnect: forceReadCommitted,
  });
  // A client that loses its server (pg_terminate_backend, failover, a destroyed socket) emits
  // 'error'; without a listener that crashes the process. pg-pool listens only while the client
  // is idle (and then re-emits on the pool): a client checked out by a request, between two of
  // its queries, had none. So every client gets one for its lifetime; the request's own query
  // fails (503), the broken client is dropped on release and the next checkout opens a new one.
  const onConnectionError = options.onConnectionError ?? ((): undefined => undefined);
  pool.on('connect', (client) => client.on('error', onConnectionError));
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
      try {
        await db.destroy();
      } finally {
        // Kysely ends the pool only if it ran a query itself; a user of raw SQL only (the
        // migration runner) would otherwise keep idle connections, and the process, alive for
        // idleTimeoutMillis. `ending` is set once end() was called (by Kysely or here): pg-pool
        // rejects a second call.
        if (!pool.ending) await pool.end();
      }
    },
  });
}
