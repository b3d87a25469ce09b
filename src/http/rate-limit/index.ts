/**
 * Request rate limits (express-rate-limit), with counters shared by every instance.
 *
 * Five limiters, each a fixed window (of RATE_LIMIT_WINDOW_MS unless said otherwise):
 * - `global`: every request, per client IP (RATE_LIMIT_GLOBAL_PER_IP);
 * - `principal(keyOf)`: every authenticated request, per user or API client (RATE_LIMIT_PER_PRINCIPAL);
 * - `evaluate`: evaluation and submission endpoints, per principal, or per IP before authentication
 *   (RATE_LIMIT_EVALUATE); mount it after authentication (the API's routes, and the questionnaire
 *   pages through `PageOptions.rateLimit`), or every user behind one address shares one budget;
 * - `login`: login and token endpoints, per client IP (RATE_LIMIT_LOGIN);
 * - `password`: changes of one's own password, per user: LOGIN_MAX_FAILURES_PER_ACCOUNT (5)
 *   successful changes per LOGIN_FAILURE_WINDOW_SECONDS (900 s), the sign-in's account budget.
 *   Only changes made count: a wrong current password is a failed guess counted by the sign-in
 *   limits (src/auth/login-limits.ts), and other refusals run no scrypt.
 * Responses carry the IETF draft-8 `RateLimit` and `RateLimit-Policy` headers (one entry per
 * limiter that counted the request); a rejection is a 429 `rate-limited` problem with
 * `Retry-After`, counted in `rate_limit_rejections_total{limiter}` and recorded, bounded, in the
 * audit trail.
 *
 * Where counters live (RATE_LIMIT_STORE): `postgres` (our table, the default when DATABASE_URL is
 * set; also works on the embedded PGlite), `redis` (the default when REDIS_URL is set), `memory`
 * (the embedded default: one process only). A shared store that fails or is slower than
 * RATE_LIMIT_STORE_TIMEOUT_MS degrades to per-instance counting (see fallback-store.ts).
 */
import type { Request, RequestHandler } from 'express';
import { MemoryStore, rateLimit, type Store } from 'express-rate-limit';
import type { AuditActor } from '../../audit/record.js';
import { actorOf as actorOfPrincipal } from '../../auth/context.js';
import type { Config } from '../../config/index.js';
import type { Database } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import { createDenialForwarder, type DenialForwarder } from './denials.js';
import { FallbackStore } from './fallback-store.js';
import { ipKey, principalKeyOf, type KeyOf } from './keys.js';
import { createRedisClient, RecoveringRedisStore, type RedisClient, type RedisCommander } from './redis-store.js';
import { IncrementBatcher, purgeExpiredCounters, SqlStore } from './sql-store.js';

export { ipKey, principalKey, principalKeyOf, type KeyOf } from './keys.js';
export { purgeExpiredCounters, SqlStore } from './sql-store.js';

/** The limiter names: the `limiter` label of the metrics and the name in the `RateLimit` header. */
export type LimiterName = 'global' | 'principal' | 'evaluate' | 'login' | 'password';

interface CounterLike {
  inc(labels: { limiter: string }): void;
}

/** The metrics the limiters feed (see src/http/metrics/); all optional. */
export interface RateLimitMetrics {
  readonly rateLimitRejections?: CounterLike;
  readonly rateLimitStoreErrors?: CounterLike;
  readonly auditDenialsUnforwarded?: { inc(): void };
}

export interface RateLimitersDeps {
  readonly config: Pick<Config, 'rateLimit' | 'redisUrl' | 'auth'>;
  readonly database: Database;
  readonly logger: Logger;
  /** A node-redis client to use (the caller connects and closes it); default: one from REDIS_URL. */
  readonly redis?: RedisCommander;
  readonly metrics?: RateLimitMetrics;
  /** The principal key of an authenticated request; default `req.principal` → `user:<id>`/`client:<id>`. */
  readonly keyOf?: KeyOf;
  /** The audit actor of a rejected request; default the authenticated principal (all its roles), else anonymous. */
  readonly actorOf?: (req: Request) => AuditActor | undefined;
  /** Prefix of every counter key (default `rl:`); tests sharing one Redis use a unique one. */
  readonly prefix?: string;
  /** Record 429s in the audit trail (default true). */
  readonly audit?: boolean;
  /** How often expired SQL counters are purged (default 60 s; 0 = never, tests call purgeExpired). */
  readonly purgeIntervalMs?: number;
}

/** The limiters of one app instance, and their store's lifecycle. */
export interface RateLimiters {
  /** Where the counters live. */
  readonly store: 'memory' | 'postgres' | 'redis';
  /** Per client IP, for every request: mount first, before routing. */
  readonly global: RequestHandler;
  /**
   * Per principal, for every authenticated request: mount after `authenticate`. Requests for
   * which `keyOf` returns undefined are not counted (the per-IP limit still applies). One
   * limiter per `keyOf` function: calling twice with the same function returns the same one.
   */
  principal(keyOf?: KeyOf): RequestHandler;
  /** Evaluation and submission endpoints: per principal when authenticated, else per IP. */
  readonly evaluate: RequestHandler;
  /** Login and token endpoints, per client IP. */
  readonly login: RequestHandler;
  /**
   * POST /v1/me/password, per user (mount after `authenticate`): each change runs two scrypt
   * hashes and ends the user's other sessions, so a loop of changes would slow every sign-in.
   */
  readonly password: RequestHandler;
  /** Resolves when the shared store answers (Redis connected, SQL table present); rejects after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  /** Deletes expired SQL counters now (bounded batches); 0 for other stores. */
  purgeExpired(): Promise<number>;
  /** Stops timers, waits for pending audit writes, closes the Redis client it created. Idempotent. */
  close(): Promise<void>;
}

const LOG_EVERY_MS = 10_000;

/**
 * Builds the limiters over the configured store. Guarantees: every limiter counts in the same
 * shared store as every other instance with the same configuration (except `memory`); a store
 * failure never fails a request and never disables limiting (per-instance fallback); keys are
 * the client IP per `trust proxy` (IPv6 per /56) or the principal, never a client-chosen value.
 */
/**
 * Who a 429 is recorded against: the authenticated principal when a limiter runs after
 * authentication (per principal, submissions), anonymous before it (the per-IP limit). Before, every
 * 429 was recorded as anonymous, so the trail could not say which user or client hit a limit.
 */
function principalActor(req: Request): AuditActor | undefined {
  return req.principal ? actorOfPrincipal(req.principal) : undefined;
}

export function createRateLimiters(deps: RateLimitersDeps): RateLimiters {
  const { config, database, logger, metrics = {} } = deps;
  const settings = config.rateLimit;
  const prefix = deps.prefix ?? 'rl:';
  const keyOf = deps.keyOf ?? principalKeyOf;
  const kind = settings.store;

  let ownedRedis: RedisClient | undefined;
  let connecting: Promise<unknown> | undefined;
  let redis: RedisCommander | undefined = deps.redis;
  if (kind === 'redis' && redis === undefined) {
    if (config.redisUrl === undefined) throw new Error('RATE_LIMIT_STORE=redis needs REDIS_URL');
    let lastRedisLog = 0;
    ownedRedis = createRedisClient(config.redisUrl, (err) => {
      if (Date.now() - lastRedisLog < LOG_EVERY_MS) return;
      lastRedisLog = Date.now();
      logger.warn({ err }, 'rate-limit Redis connection error');
    });
    redis = ownedRedis;
    connecting = ownedRedis.connect();
    connecting.catch(() => undefined);
  }

  const lastLog = new Map<string, number>();
  // One batcher for every limiter: a request's hits on several limiters share a statement.
  const batcher = kind === 'postgres' ? new IncrementBatcher(database) : undefined;
  const storeFor = (name: LimiterName): Store => {
    const storePrefix = `${prefix}${name}:`;
    if (kind === 'memory') return new MemoryStore();
    const primary = kind === 'redis' ? new RecoveringRedisStore(redis!, storePrefix) : new SqlStore(database, storePrefix, batcher);
    return new FallbackStore(primary, {
      timeoutMs: settings.storeTimeoutMs,
      onError(err, operation) {
        metrics.rateLimitStoreErrors?.inc({ limiter: name });
        const now = Date.now();
        if (now - (lastLog.get(name) ?? 0) < LOG_EVERY_MS) return;
        lastLog.set(name, now);
        logger.warn({ err, limiter: name, operation, store: kind }, 'rate-limit store unavailable: counting in this instance only');
      },
    });
  };

  const denials: DenialForwarder | undefined =
    deps.audit === false
      ? undefined
      : createDenialForwarder({
          database,
          logger,
          limitPerMinute: config.auth.auditDeniedPerMinute,
          actorOf: deps.actorOf ?? principalActor,
          onUnforwarded: () => metrics.auditDenialsUnforwarded?.inc(),
        });

  const erlLogger = {
    warn: (err: unknown, message?: string) => logger.warn({ err }, message ?? 'express-rate-limit warning'),
    error: (err: unknown, message?: string) => logger.error({ err }, message ?? 'express-rate-limit error'),
  };
  const stores: Store[] = [];

  /** `windowMs` defaults to RATE_LIMIT_WINDOW_MS; `onlySuccesses` counts only requests answered below 400. */
  function limiter(name: LimiterName, limit: number, keyGenerator: (req: Request) => string, options: { skip?: (req: Request) => boolean; windowMs?: number; onlySuccesses?: boolean } = {}): RequestHandler {
    const { skip, windowMs = settings.windowMs, onlySuccesses = false } = options;
    const windowSeconds = Math.ceil(windowMs / 1000);
    const store = storeFor(name);
    stores.push(store);
    return rateLimit({
      windowMs,
      limit,
      skipFailedRequests: onlySuccesses,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      identifier: name,
      keyGenerator,
      ...(skip ? { skip } : {}),
      store,
      logger: erlLogger,
      handler(req, res, next) {
        metrics.rateLimitRejections?.inc({ limiter: name });
        denials?.forward(req, name);
        const retryAfter = String(res.getHeader('Retry-After') ?? windowSeconds);
        next(new AppError('rate-limited', `Too many requests: the ${name} limit is ${limit} per ${windowSeconds} s. Retry after ${retryAfter} s.`, { headers: { 'Retry-After': retryAfter } }));
      },
    });
  }

  const principals = new Map<KeyOf, RequestHandler>();
  const evaluateKey = (req: Request): string => keyOf(req) ?? ipKey(req);
  const limiters = {
    global: limiter('global', settings.globalPerIp, ipKey),
    evaluate: limiter('evaluate', settings.evaluate, evaluateKey),
    login: limiter('login', settings.login, ipKey),
    password: limiter('password', config.auth.loginMaxFailuresPerAccount, evaluateKey, { windowMs: config.auth.loginFailureWindowSeconds * 1000, onlySuccesses: true }),
  };

  let purgeTimer: NodeJS.Timeout | undefined;
  const purgeIntervalMs = deps.purgeIntervalMs ?? 60_000;
  const purgeExpired = async (): Promise<number> => (kind === 'postgres' ? purgeExpiredCounters(database) : 0);
  if (kind === 'postgres' && purgeIntervalMs > 0) {
    purgeTimer = setInterval(() => {
      purgeExpired().catch((err: unknown) => logger.warn({ err }, 'could not purge expired rate-limit counters'));
    }, purgeIntervalMs);
    purgeTimer.unref();
  }

  let closed = false;
  return {
    store: kind,
    ...limiters,
    principal(fn: KeyOf = keyOf): RequestHandler {
      let handler = principals.get(fn);
      if (!handler) {
        handler = limiter('principal', settings.perPrincipal, (req) => fn(req) ?? ipKey(req), { skip: (req) => fn(req) === undefined });
        principals.set(fn, handler);
      }
      return handler;
    },
    async ready(timeoutMs = 5000): Promise<void> {
      const check = async (): Promise<void> => {
        if (kind === 'redis') {
          await connecting;
          await redis!.sendCommand(['PING']);
        } else if (kind === 'postgres') {
          await database.raw.query('SELECT 1 FROM rate_limit_counters LIMIT 0');
        }
      };
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`rate-limit store (${kind}) not ready within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    purgeExpired,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(purgeTimer);
      await denials?.drain();
      await Promise.all(stores.map(async (s) => s.shutdown?.()));
      if (ownedRedis) {
        try {
          if (ownedRedis.isOpen) await ownedRedis.close();
          else ownedRedis.destroy();
        } catch {
          ownedRedis.destroy();
        }
      }
    },
  };
}
