/**
 * Redis counters through rate-limit-redis and node-redis, made to survive Redis being down at
 * start or restarting later.
 */
import type { IncrementResponse, ClientRateLimitInfo, Options } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import { createClient } from 'redis';

/** What the store needs from a node-redis client: raw commands. */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>;
}

/** The part of a node-redis client that the limiters use and own. */
export interface RedisClient extends RedisCommander {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
}

/**
 * A node-redis client for rate limiting. Guarantees: commands fail at once while disconnected
 * (no offline queue growing without bound during an outage); reconnects with a capped backoff;
 * `error` events go to `onError` instead of crashing the process. Not yet connected: call
 * `connect()` (the caller owns it and must `close()` it).
 */
export function createRedisClient(url: string, onError: (err: unknown) => void): RedisClient {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2000) },
  });
  client.on('error', onError);
  return client;
}

/**
 * rate-limit-redis loads its Lua scripts once, in `init`; if Redis is unreachable then, the
 * rejected script promise is kept and every later call fails with it. This subclass loads the
 * scripts lazily and again after any failure, so the store recovers when Redis comes back.
 */
export class RecoveringRedisStore extends RedisStore {
  private stale = true;

  constructor(client: RedisCommander, prefix: string) {
    super({ sendCommand: (...args: string[]) => client.sendCommand(args) as Promise<never>, prefix });
  }

  override init(options: Options): Promise<void> {
    this.windowMs = options.windowMs;
    this.stale = true;
    return Promise.resolve();
  }

  private reload(): void {
    if (!this.stale) return;
    this.stale = false;
    const inc = this.loadIncrementScript();
    const get = this.loadGetScript();
    // Awaited by the next command; these handlers only keep a failed load from being unhandled.
    inc.catch(() => undefined);
    get.catch(() => undefined);
    this.incrementScriptSha = inc;
    this.getScriptSha = get;
  }

  private async guarded<T>(op: () => Promise<T>): Promise<T> {
    this.reload();
    try {
      return await op();
    } catch (err) {
      this.stale = true;
      throw err;
    }
  }

  override increment(key: string): Promise<IncrementResponse> {
    return this.guarded(() => super.increment(key));
  }

  override get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.guarded(() => super.get(key));
  }
}
