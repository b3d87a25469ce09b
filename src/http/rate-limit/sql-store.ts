/**
 * A rate-limit store on our own table (migrations/0005_rate_limits.sql), the same SQL on PGlite
 * and PostgreSQL. Fixed windows: one row per (key, window start); one atomic statement per hit.
 */
import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import type { Database } from '../../db/database.js';
import { boundedKey } from './keys.js';

// The window start comes from the database clock, so instances whose clocks disagree still
// count in the same row. $2 is the window length in milliseconds.
const INCREMENT = `
INSERT INTO rate_limit_counters AS c (key, window_start, hits, expires_at)
SELECT $1, w.start, 1, w.start + make_interval(secs => $2::bigint / 1000.0)
FROM (SELECT to_timestamp(floor(extract(epoch FROM statement_timestamp()) * 1000 / $2::bigint) * $2::bigint / 1000.0) AS start) AS w
ON CONFLICT (key, window_start) DO UPDATE SET hits = c.hits + 1
RETURNING hits, expires_at`;

const GET = `SELECT hits, expires_at FROM rate_limit_counters WHERE key = $1 AND expires_at > statement_timestamp() ORDER BY window_start DESC LIMIT 1`;
const DECREMENT = `UPDATE rate_limit_counters SET hits = hits - 1 WHERE key = $1 AND expires_at > statement_timestamp() AND hits > 0`;
const RESET_KEY = `DELETE FROM rate_limit_counters WHERE key = $1`;
const RESET_PREFIX = `DELETE FROM rate_limit_counters WHERE left(key, length($1)) = $1`;
const PURGE = `
WITH doomed AS (
  SELECT key, window_start FROM rate_limit_counters
  WHERE expires_at < statement_timestamp()
  ORDER BY expires_at
  LIMIT $1
  FOR UPDATE SKIP LOCKED
), deleted AS (
  DELETE FROM rate_limit_counters c USING doomed d
  WHERE c.key = d.key AND c.window_start = d.window_start
  RETURNING 1
)
SELECT count(*)::int AS n FROM deleted`;

interface CounterRow {
  hits: number;
  expires_at: Date | string;
}

/**
 * An express-rate-limit `Store` over `rate_limit_counters`. Guarantees: every `increment` is one
 * atomic `INSERT … ON CONFLICT … DO UPDATE … RETURNING`, so concurrent hits from any number of
 * instances on one database are all counted, none lost; `resetTime` is the end of the window.
 */
export class SqlStore implements Store {
  readonly localKeys = false;
  private windowMs = 60_000;

  constructor(
    private readonly database: Pick<Database, 'raw'>,
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  private key(key: string): string {
    return this.prefix + boundedKey(key);
  }

  async increment(key: string): Promise<IncrementResponse> {
    const rows = await this.database.raw.query<CounterRow>(INCREMENT, [this.key(key), this.windowMs]);
    const row = rows[0];
    if (!row) throw new Error('rate-limit increment returned no row');
    return { totalHits: Number(row.hits), resetTime: new Date(row.expires_at) };
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const row = (await this.database.raw.query<CounterRow>(GET, [this.key(key)]))[0];
    return row ? { totalHits: Number(row.hits), resetTime: new Date(row.expires_at) } : undefined;
  }

  async decrement(key: string): Promise<void> {
    await this.database.raw.query(DECREMENT, [this.key(key)]);
  }

  async resetKey(key: string): Promise<void> {
    await this.database.raw.query(RESET_KEY, [this.key(key)]);
  }

  async resetAll(): Promise<void> {
    await this.database.raw.query(RESET_PREFIX, [this.prefix]);
  }
}

/**
 * Deletes expired counter rows, at most `batch` per statement and `maxBatches` statements.
 * Guarantees: never touches a live window; several instances purging at once skip each other's
 * rows (SKIP LOCKED) instead of waiting. Returns the number of rows deleted.
 */
export async function purgeExpiredCounters(database: Pick<Database, 'raw'>, batch = 1000, maxBatches = 10): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const n = (await database.raw.query<{ n: number }>(PURGE, [batch]))[0]?.n ?? 0;
    total += n;
    if (n < batch) break;
  }
  return total;
}
