/**
 * A rate-limit store on our own table (migrations/0005_rate_limits.sql), the same SQL on PGlite
 * and PostgreSQL. Fixed windows: one row per (key, window start). Increments are batched: the
 * hits of every limiter and request that arrive while the previous statement runs go to the
 * database together, in one atomic multi-row upsert.
 */
import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import type { Database } from '../../db/database.js';
import { boundedKey } from './keys.js';

// Adds n hits to each (key, window length) and returns each row's total. The window start comes
// from the database clock, so instances whose clocks disagree still count in the same row.
// $1 keys (unique within a statement), $2 window lengths in milliseconds, $3 hit counts.
const INCREMENT_BATCH = `
INSERT INTO rate_limit_counters AS c (key, window_start, hits, expires_at)
SELECT i.key, w.start, i.n, w.start + make_interval(secs => i.window_ms / 1000.0)
FROM unnest($1::text[], $2::bigint[], $3::int[]) AS i(key, window_ms, n)
CROSS JOIN LATERAL (SELECT to_timestamp(floor(extract(epoch FROM statement_timestamp()) * 1000 / i.window_ms) * i.window_ms / 1000.0) AS start) AS w
ON CONFLICT (key, window_start) DO UPDATE SET hits = c.hits + excluded.hits
RETURNING key, hits, expires_at`;

interface Waiter {
  readonly resolve: (response: IncrementResponse) => void;
  readonly reject: (error: Error) => void;
}

interface PendingKey {
  readonly key: string;
  readonly windowMs: number;
  readonly waiters: Waiter[];
}

/**
 * Batches counter increments into as few statements as possible. Guarantees:
 * - every increment is counted exactly once, in one atomic upsert with the others of its batch,
 *   so hits from any number of instances on one database are all counted, none lost;
 * - the n hits of one key in a batch get the totals t-n+1 … t in arrival order, as n separate
 *   increments would (a request is refused exactly when it would have been one at a time);
 * - one statement in flight at a time; what arrives meanwhile waits for the next, so under load
 *   one statement carries many requests' hits, and when idle a hit waits for nothing but the
 *   end of the current tick;
 * - a failed statement rejects every increment of its batch (the caller's FallbackStore then
 *   counts locally) and does not stop later batches.
 */
export class IncrementBatcher {
  private pending = new Map<string, PendingKey>();
  private running = false;
  private scheduled = false;

  constructor(private readonly database: Pick<Database, 'raw'>) {}

  increment(key: string, windowMs: number): Promise<IncrementResponse> {
    return new Promise((resolve, reject) => {
      const id = `${windowMs}|${key}`;
      let entry = this.pending.get(id);
      if (entry === undefined) {
        entry = { key, windowMs, waiters: [] };
        this.pending.set(id, entry);
      }
      entry.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.running || this.pending.size === 0) return;
    this.running = true;
    // A key under two window lengths (two limiters sharing a prefix) cannot be upserted twice in
    // one statement: the second goes to the next batch.
    const batch: PendingKey[] = [];
    const keys = new Set<string>();
    for (const [id, entry] of this.pending) {
      if (keys.has(entry.key)) continue;
      keys.add(entry.key);
      batch.push(entry);
      this.pending.delete(id);
    }
    try {
      const rows = await this.database.raw.query<CounterRow & { key: string }>(INCREMENT_BATCH, [
        batch.map((e) => e.key),
        batch.map((e) => e.windowMs),
        batch.map((e) => e.waiters.length),
      ]);
      const byKey = new Map(rows.map((r) => [r.key, r]));
      for (const entry of batch) {
        const row = byKey.get(entry.key);
        if (!row) {
          for (const w of entry.waiters) w.reject(new Error('rate-limit increment returned no row'));
          continue;
        }
        const total = Number(row.hits);
        const resetTime = new Date(row.expires_at);
        entry.waiters.forEach((w, i) => w.resolve({ totalHits: total - entry.waiters.length + 1 + i, resetTime }));
      }
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const entry of batch) for (const w of entry.waiters) w.reject(error);
    } finally {
      this.running = false;
      if (this.pending.size > 0) this.schedule();
    }
  }
}

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
 * An express-rate-limit `Store` over `rate_limit_counters`. Guarantees: every `increment` goes
 * through an IncrementBatcher (shared by the limiters of one service, so a request's hits on
 * several limiters travel in one statement), with the guarantees above; `resetTime` is the end of
 * the window.
 */
export class SqlStore implements Store {
  readonly localKeys = false;
  private windowMs = 60_000;

  private readonly batcher: IncrementBatcher;

  constructor(
    private readonly database: Pick<Database, 'raw'>,
    readonly prefix: string,
    batcher?: IncrementBatcher,
  ) {
    this.batcher = batcher ?? new IncrementBatcher(database);
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  private key(key: string): string {
    return this.prefix + boundedKey(key);
  }

  increment(key: string): Promise<IncrementResponse> {
    return this.batcher.increment(this.key(key), this.windowMs);
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
