/**
 * A shared store with a deadline and a local fallback. When the shared store (PostgreSQL or
 * Redis) fails or answers later than the deadline, the hit is counted in an in-process memory
 * store instead: limits degrade to per-instance counting (N instances allow at most N × the
 * limit), never to no limit at all, and a slow store never holds a request for long.
 */
import { MemoryStore, type ClientRateLimitInfo, type IncrementResponse, type Options, type Store } from 'express-rate-limit';

export interface FallbackStoreOptions {
  /** Longest wait for the shared store, in milliseconds. */
  readonly timeoutMs: number;
  /** Called on every failure of the shared store (metrics, throttled logging). */
  readonly onError: (err: unknown, operation: string) => void;
}

class StoreTimeout extends Error {
  constructor(ms: number) {
    super(`rate-limit store did not answer within ${ms} ms`);
    this.name = 'StoreTimeout';
  }
}

async function withDeadline<T>(work: Promise<T> | T, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const pending = Promise.resolve(work);
  // A late rejection after the deadline must not surface as an unhandled rejection.
  pending.catch(() => undefined);
  try {
    return await Promise.race([
      pending,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StoreTimeout(ms)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Wraps `primary`. Guarantees: `increment` always resolves within about `timeoutMs` (with the
 * shared count, or the local one after `onError`); it never rejects, so a store outage neither
 * fails requests nor lets them through uncounted.
 */
export class FallbackStore implements Store {
  readonly localKeys = false;
  readonly prefix: string | undefined;
  private readonly local = new MemoryStore();

  constructor(
    readonly primary: Store,
    private readonly options: FallbackStoreOptions,
  ) {
    this.prefix = primary.prefix;
  }

  async init(options: Options): Promise<void> {
    this.local.init(options);
    await this.primary.init?.(options);
  }

  async increment(key: string): Promise<IncrementResponse> {
    try {
      return await withDeadline(this.primary.increment(key), this.options.timeoutMs);
    } catch (err) {
      this.options.onError(err, 'increment');
      return this.local.increment(key);
    }
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    try {
      return await withDeadline(this.primary.get?.(key), this.options.timeoutMs);
    } catch (err) {
      this.options.onError(err, 'get');
      return this.local.get(key);
    }
  }

  async decrement(key: string): Promise<void> {
    await Promise.all([this.best(() => this.primary.decrement(key), 'decrement'), this.local.decrement(key)]);
  }

  async resetKey(key: string): Promise<void> {
    await Promise.all([this.best(() => this.primary.resetKey(key), 'resetKey'), this.local.resetKey(key)]);
  }

  async shutdown(): Promise<void> {
    this.local.shutdown();
    await this.primary.shutdown?.();
  }

  private async best(op: () => Promise<void> | void, name: string): Promise<void> {
    try {
      await withDeadline(op(), this.options.timeoutMs);
    } catch (err) {
      this.options.onError(err, name);
    }
  }
}
