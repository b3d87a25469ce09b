/**
 * The shared counters: the SQL store behaves the same on PGlite and PostgreSQL (atomic under
 * concurrency, fixed windows, reset, decrement, bounded purge), the Redis store recovers from an
 * outage, and the fallback wrapper never fails a request nor stops counting.
 */
import type { Options, Store } from 'express-rate-limit';
import { DATABASE_KINDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { FallbackStore } from '../../src/http/rate-limit/fallback-store.js';
import { createRedisClient, RecoveringRedisStore, type RedisClient } from '../../src/http/rate-limit/redis-store.js';
import { IncrementBatcher, purgeExpiredCounters, SqlStore } from '../../src/http/rate-limit/sql-store.js';
import { roomInWindow } from '../support/rate-limit-window.js';
import { REDIS_URL, redisAvailable, uniquePrefix } from './support.js';

const options = (windowMs: number): Options => ({ windowMs }) as Options;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each(DATABASE_KINDS)('SqlStore on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await t.drop();
  });
  // Fixed windows of a minute (an hour for one limiter): counts must not straddle two.
  beforeEach(() => roomInWindow(5000));

  it('counts concurrent hits atomically: 100 parallel increments give exactly 1..100', async () => {
    const store = new SqlStore(t.database, 'c:');
    store.init(options(60_000));
    const results = await Promise.all(Array.from({ length: 100 }, () => store.increment('k')));
    expect(results.map((r) => r.totalHits).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const reset = results[0]!.resetTime!.getTime();
    expect(reset).toBeGreaterThan(Date.now());
    expect(reset).toBeLessThanOrEqual(Date.now() + 60_000 + 1000);
    // Aligned fixed window: every hit of the window reports the same end.
    expect(new Set(results.map((r) => r.resetTime!.getTime())).size).toBe(1);
    expect((await store.get('k'))?.totalHits).toBe(100);
  });

  it('batches the hits of several limiters and instances into few statements, and loses none', async () => {
    let statements = 0;
    const counted = { raw: { ...t.database.raw, query: <R,>(text: string, params?: readonly unknown[]) => (statements++, t.database.raw.query<R>(text, params)) } };
    // Two instances (two batchers), each with two limiters (two prefixes, two windows).
    const stores = [0, 1].flatMap(() => {
      const batcher = new IncrementBatcher(counted);
      const perMinute = new SqlStore(counted, 'bm:', batcher);
      const perHour = new SqlStore(counted, 'bh:', batcher);
      perMinute.init(options(60_000));
      perHour.init(options(3_600_000));
      return [perMinute, perHour];
    });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => stores[i % 4]!.increment(i % 8 < 4 ? 'same' : `other${i % 3}`)));
    expect(results).toHaveLength(200);
    expect(statements).toBeLessThan(40);
    // Per key, the totals handed out are exactly 1..n, with no duplicate and no gap.
    for (const [prefix, store] of [['bm:', stores[0]!], ['bh:', stores[1]!]] as const) {
      for (const key of ['same', 'other0', 'other1', 'other2']) {
        const mine = results.filter((_, i) => (i % 4) % 2 === (prefix === 'bm:' ? 0 : 1) && (i % 8 < 4 ? 'same' : `other${i % 3}`) === key).map((r) => r.totalHits);
        expect(mine.sort((a, b) => a - b)).toEqual(Array.from({ length: mine.length }, (_, i) => i + 1));
        expect((await store.get(key))?.totalHits ?? 0).toBe(mine.length);
      }
    }
  });

  it('rejects every hit of a failed batch, and the next batch counts', async () => {
    let fail = true;
    const flaky = { raw: { ...t.database.raw, query: <R,>(text: string, params?: readonly unknown[]) => (fail ? ((fail = false), Promise.reject(new Error('connection lost'))) : t.database.raw.query<R>(text, params)) } };
    const store = new SqlStore(flaky, 'f:');
    store.init(options(60_000));
    const first = await Promise.allSettled([store.increment('k'), store.increment('k'), store.increment('j')]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((await store.increment('k')).totalHits).toBe(1);
  });

  it('separates keys and prefixes, decrements, resets one key and a whole prefix', async () => {
    const a = new SqlStore(t.database, 'a:');
    const b = new SqlStore(t.database, 'b:');
    a.init(options(60_000));
    b.init(options(60_000));
    await a.increment('x');
    await a.increment('x');
    await a.increment('y');
    await b.increment('x');
    expect((await a.get('x'))?.totalHits).toBe(2);
    expect((await b.get('x'))?.totalHits).toBe(1);
    await a.decrement('x');
    expect((await a.get('x'))?.totalHits).toBe(1);
    await a.resetKey('x');
    expect(await a.get('x')).toBeUndefined();
    expect((await a.get('y'))?.totalHits).toBe(1);
    await a.resetAll();
    expect(await a.get('y')).toBeUndefined();
    expect((await b.get('x'))?.totalHits).toBe(1);
  });

  it('starts a new window when the old one ends, and purges only expired rows, in bounded batches', async () => {
    const store = new SqlStore(t.database, 'w:');
    store.init(options(1000));
    // Start right after a window boundary so the two hits share a window.
    await sleep(1000 - (Date.now() % 1000) + 20);
    expect((await store.increment('k')).totalHits).toBe(1);
    expect((await store.increment('k')).totalHits).toBe(2);
    await sleep(1100);
    expect((await store.increment('k')).totalHits).toBe(1);
    const rows = await t.database.raw.query<{ n: number }>("SELECT count(*)::int AS n FROM rate_limit_counters WHERE key = 'w:k'");
    expect(rows[0]!.n).toBe(2);
    for (let i = 0; i < 5; i++) await store.increment(`old${i}`);
    await sleep(1100);
    await store.increment('live');
    expect(await purgeExpiredCounters(t.database, 2, 2)).toBe(4); // bounded: 2 batches of 2
    expect(await purgeExpiredCounters(t.database, 1000, 10)).toBeGreaterThanOrEqual(2);
    const left = await t.database.raw.query<{ key: string }>("SELECT key FROM rate_limit_counters WHERE key LIKE 'w:%'");
    expect(left.map((r) => r.key)).toEqual(['w:live']);
  });

  it('stores over-long keys as a hash (bounded rows)', async () => {
    const store = new SqlStore(t.database, 'l:');
    store.init(options(60_000));
    const long = 'x'.repeat(5000);
    expect((await store.increment(long)).totalHits).toBe(1);
    expect((await store.increment(long)).totalHits).toBe(2);
    const rows = await t.database.raw.query<{ key: string }>("SELECT key FROM rate_limit_counters WHERE key LIKE 'l:%'");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.key).toMatch(/^l:h:[0-9a-f]{64}$/);
  });
});

describe('FallbackStore', () => {
  const failing: Store = {
    increment: () => Promise.reject(new Error('database down')),
    decrement: () => Promise.reject(new Error('database down')),
    resetKey: () => Promise.reject(new Error('database down')),
    get: () => Promise.reject(new Error('database down')),
  };
  const hanging: Store = { increment: () => new Promise(() => undefined), decrement: () => undefined, resetKey: () => undefined };

  it('counts locally when the shared store fails, and reports every failure', async () => {
    const errors: string[] = [];
    const store = new FallbackStore(failing, { timeoutMs: 100, onError: (_e, op) => errors.push(op) });
    await store.init(options(60_000));
    expect((await store.increment('k')).totalHits).toBe(1);
    expect((await store.increment('k')).totalHits).toBe(2);
    expect(errors).toEqual(['increment', 'increment']);
    await store.shutdown();
  });

  it('answers within the deadline when the shared store hangs', async () => {
    const store = new FallbackStore(hanging, { timeoutMs: 50, onError: () => undefined });
    await store.init(options(60_000));
    const start = Date.now();
    expect((await store.increment('k')).totalHits).toBe(1);
    expect(Date.now() - start).toBeLessThan(500);
    await store.shutdown();
  });
});

describe('RecoveringRedisStore', () => {
  let available = false;
  let client: RedisClient;
  beforeAll(async () => {
    available = await redisAvailable();
    if (!available) return;
    client = createRedisClient(REDIS_URL, () => undefined);
    await client.connect();
  });
  afterAll(async () => {
    if (available) await client.close();
  });

  it('counts atomically and shares counts between two clients under one prefix', async () => {
    if (!available) return; // no Redis here: nothing to test
    const prefix = uniquePrefix();
    const other = createRedisClient(REDIS_URL, () => undefined);
    await other.connect();
    try {
      const a = new RecoveringRedisStore(client, prefix);
      const b = new RecoveringRedisStore(other, prefix);
      await a.init(options(60_000));
      await b.init(options(60_000));
      const hits = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).increment('k')));
      expect(hits.map((h) => h.totalHits).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect((await b.get('k'))?.totalHits).toBe(50);
      await a.resetKey('k');
    } finally {
      await other.close();
    }
  });

  it('recovers once Redis is reachable, although it was not when the store started', async () => {
    if (!available) return;
    const late = createRedisClient(REDIS_URL, () => undefined);
    const store = new RecoveringRedisStore(late, uniquePrefix());
    await store.init(options(60_000));
    await expect(store.increment('k')).rejects.toThrow(); // not connected: fails fast, no queue
    await late.connect();
    try {
      expect((await store.increment('k')).totalHits).toBe(1);
      expect((await store.increment('k')).totalHits).toBe(2);
      // Scripts flushed (Redis restarted): reloaded on NOSCRIPT.
      await client.sendCommand(['SCRIPT', 'FLUSH']);
      expect((await store.increment('k')).totalHits).toBe(3);
      await store.resetKey('k');
    } finally {
      await late.close();
    }
  });
});
