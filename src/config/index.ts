import { availableParallelism } from 'node:os';
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

/**
 * Report worker threads by default: cores − 1 (the event loop keeps one), and at least 2. On two
 * cores one worker was where submissions queued (a mean 130 of 182 ms per request, with 10–25 %
 * of the machine idle); two gave more submissions/s in 9 of 10 alternating pairs of bench/api
 * (docs/deployment.md §10).
 */
export function defaultReportWorkers(): number {
  return Math.max(2, availableParallelism() - 1);
}

/**
 * One typed configuration, read from the environment once at start.
 *
 * Every variable is validated here; an invalid value stops the process with a message that
 * names the variable (fail fast). Defaults give the embedded single-process mode: PGlite under
 * `./data/`, keys generated there, nothing to set. `.env.example` documents every variable.
 */
export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly host: string;
  readonly port: number;
  /** Directory of the embedded database, generated keys and the process lock. */
  readonly dataDir: string;
  /** PostgreSQL connection string; absent means the embedded PGlite database. */
  readonly databaseUrl: string | undefined;
  /**
   * ALLOW_EMBEDDED_DATABASE=true: run on the embedded PGlite database under NODE_ENV=production
   * (a deliberate single-host install). Without it production needs DATABASE_URL
   * (`assertProductionDatabase`).
   */
  readonly allowEmbeddedDatabase: boolean;
  /** Connection string used by `npm run migrate` (the owner role); defaults to databaseUrl. */
  readonly migrationDatabaseUrl: string | undefined;
  readonly dbPoolMax: number;
  /** Worker threads that evaluate submissions and build their reports; 0: on the event loop. */
  readonly reportWorkers: number;
  readonly dbStatementTimeoutMs: number;
  /** Prepare hot statements by name on each PostgreSQL connection (DB_PREPARED_STATEMENTS, default true). */
  readonly dbPreparedStatements: boolean;
  readonly dbConnectionTimeoutMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest accepted request body, in bytes. */
  readonly bodyLimitBytes: number;
  /** Express `trust proxy`: false, a hop count, or a list of addresses/subnets. Never `true`. */
  readonly trustProxy: false | number | readonly string[];
  /** The externally visible base URL (issuer of tokens, links in reports). */
  readonly publicUrl: string;
  /**
   * Origins accepted for browser requests that sign in or post forms: PUBLIC_URL's origin, and,
   * when it is a loopback address outside production, the other loopback names on the same port
   * (so http://localhost:3000 and http://127.0.0.1:3000 both work after `npm start`).
   */
  readonly allowedOrigins: readonly string[];
  readonly adminEmail: string | undefined;
  readonly adminPassword: string | undefined;
  readonly redisUrl: string | undefined;
  readonly shutdownTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** How often the audit chain head is signed (a checkpoint), when anything happened since. */
  readonly auditCheckpointIntervalMs: number;
  /** Authentication: token lifetimes, session timeouts, password hashing, brute-force limits. */
  readonly auth: AuthConfig;
  /** Request rate limits and where their counters live (docs/deployment.md §rate limits). */
  readonly rateLimit: RateLimitConfig;
  /** The Prometheus endpoint: bearer token and/or a separate internal listener. */
  readonly metrics: MetricsConfig;
}

/** Rate limits: requests per window, per limiter (src/http/rate-limit/). */
export interface RateLimitConfig {
  /** Where the counters live: `memory` (one process only), the SQL database, or Redis. */
  readonly store: 'memory' | 'postgres' | 'redis';
  readonly windowMs: number;
  /** Every request, per client IP (IPv6 per /56). */
  readonly globalPerIp: number;
  /** Every authenticated request, per user or API client. */
  readonly perPrincipal: number;
  /** Evaluation and submission endpoints, per principal (per IP before authentication). */
  readonly evaluate: number;
  /** Login and token endpoints, per client IP. */
  readonly login: number;
  /** A store slower than this (or failing) falls back to per-instance counting. */
  readonly storeTimeoutMs: number;
}

/** `/metrics`: served on the main listener only with a bearer token; or on an internal port. */
export interface MetricsConfig {
  /** Bearer token for `/metrics` (at least 32 characters); absent = not on the main listener. */
  readonly token: string | undefined;
  /** Port of the internal metrics listener; absent = none. */
  readonly port: number | undefined;
  /** Address of the internal metrics listener (default loopback). */
  readonly host: string;
}

function loadRateLimitConfig(env: Env, nodeEnv: Config['env'], databaseUrl: string | undefined, redisUrl: string | undefined): RateLimitConfig {
  // Under NODE_ENV=test every limit defaults to "practically none": test suites send hundreds of
  // requests from 127.0.0.1, and the rate-limit tests set the limits they exercise.
  const lim = (e: Env, name: string, def: number): number => envInt(e, name, nodeEnv === 'test' ? 1_000_000 : def, 1, 1_000_000);
  const fallback = redisUrl !== undefined ? 'redis' : databaseUrl !== undefined ? 'postgres' : 'memory';
  const store = oneOf(env, 'RATE_LIMIT_STORE', ['memory', 'postgres', 'redis'] as const, fallback);
  if (store === 'redis' && redisUrl === undefined) throw new ConfigError('RATE_LIMIT_STORE', 'is "redis" but REDIS_URL is not set');
  return {
    store,
    windowMs: envInt(env, 'RATE_LIMIT_WINDOW_MS', 60000, 1000, 3600000),
    globalPerIp: lim(env, 'RATE_LIMIT_GLOBAL_PER_IP', 600),
    perPrincipal: lim(env, 'RATE_LIMIT_PER_PRINCIPAL', 300),
    evaluate: lim(env, 'RATE_LIMIT_EVALUATE', 30),
    login: lim(env, 'RATE_LIMIT_LOGIN', 10),
    storeTimeoutMs: envInt(env, 'RATE_LIMIT_STORE_TIMEOUT_MS', 250, 10, 10000),
  };
}

function loadMetricsConfig(env: Env): MetricsConfig {
  let token = envString(env, 'METRICS_TOKEN');
  const tokenFile = envString(env, 'METRICS_TOKEN_FILE');
  if (token !== undefined && tokenFile !== undefined) throw new ConfigError('METRICS_TOKEN_FILE', 'must not be set together with METRICS_TOKEN');
  if (tokenFile !== undefined) {
    try {
      token = fs.readFileSync(tokenFile, 'utf8').trim();
    } catch {
      throw new ConfigError('METRICS_TOKEN_FILE', `cannot be read: ${tokenFile}`);
    }
  }
  if (token !== undefined && !/^[\x21-\x7e]{32,512}$/.test(token)) {
    throw new ConfigError(tokenFile !== undefined ? 'METRICS_TOKEN_FILE' : 'METRICS_TOKEN', 'must be 32 to 512 printable characters without spaces');
  }
  const port = envString(env, 'METRICS_PORT') === undefined ? undefined : envInt(env, 'METRICS_PORT', 0, 1, 65535);
  return { token, port, host: listenHost(env, 'METRICS_HOST', '127.0.0.1') };
}

/** The authentication settings (docs/auth.md). */
export interface AuthConfig {
  /** Lifetime of access JWTs (session cookie and client bearer tokens), seconds; at most 900. */
  readonly accessTokenTtlSeconds: number;
  /** A session unused for this long is over (refresh refused), seconds. */
  readonly sessionIdleTimeoutSeconds: number;
  /** A session ends this long after login whatever its use, seconds. */
  readonly sessionAbsoluteTimeoutSeconds: number;
  /** scrypt cost as log2(N), with r = 8 and p = 3; production floor 15 (OWASP). */
  readonly passwordHashCost: number;
  readonly loginMaxFailuresPerAccount: number;
  readonly loginMaxFailuresPerIp: number;
  readonly loginFailureWindowSeconds: number;
  /** Denied requests (401/403/429) recorded per (IP, status) and minute before summarising. */
  readonly auditDeniedPerMinute: number;
  /**
   * Whether cookies carry `Secure` and the `__Host-` prefix: always, except when PUBLIC_URL is
   * plain http on localhost/127.0.0.1/[::1] outside production (docs/auth.md §cookies).
   */
  readonly secureCookies: boolean;
}

/** The lowest scrypt cost (log2 N) accepted in production. */
export const PRODUCTION_MIN_PASSWORD_HASH_COST = 15;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function loadAuthConfig(env: Env, nodeEnv: Config['env'], publicUrl: string): AuthConfig {
  const passwordHashCost = envInt(env, 'PASSWORD_HASH_COST', 15, 10, 20);
  if (nodeEnv === 'production' && passwordHashCost < PRODUCTION_MIN_PASSWORD_HASH_COST) {
    throw new ConfigError('PASSWORD_HASH_COST', `must be at least ${PRODUCTION_MIN_PASSWORD_HASH_COST} in production, got ${passwordHashCost}`);
  }
  const sessionIdleTimeoutSeconds = envInt(env, 'SESSION_IDLE_TIMEOUT_SECONDS', 1800, 60, 86400);
  const sessionAbsoluteTimeoutSeconds = envInt(env, 'SESSION_ABSOLUTE_TIMEOUT_SECONDS', 43200, 300, 7 * 86400);
  if (sessionIdleTimeoutSeconds > sessionAbsoluteTimeoutSeconds) {
    throw new ConfigError('SESSION_IDLE_TIMEOUT_SECONDS', `must not exceed SESSION_ABSOLUTE_TIMEOUT_SECONDS (${sessionAbsoluteTimeoutSeconds})`);
  }
  const parsed = new URL(publicUrl);
  const plainLoopback = parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname);
  return {
    accessTokenTtlSeconds: envInt(env, 'ACCESS_TOKEN_TTL_SECONDS', 600, 30, 900),
    sessionIdleTimeoutSeconds,
    sessionAbsoluteTimeoutSeconds,
    passwordHashCost,
    loginMaxFailuresPerAccount: envInt(env, 'LOGIN_MAX_FAILURES_PER_ACCOUNT', 5, 1, 1000),
    loginMaxFailuresPerIp: envInt(env, 'LOGIN_MAX_FAILURES_PER_IP', 20, 1, 100000),
    loginFailureWindowSeconds: envInt(env, 'LOGIN_FAILURE_WINDOW_SECONDS', 900, 10, 86400),
    auditDeniedPerMinute: envInt(env, 'AUDIT_DENIED_PER_MINUTE', 20, 1, 10000),
    secureCookies: nodeEnv === 'production' || !plainLoopback,
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`Invalid configuration: ${variable} ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** A variable's trimmed value, or undefined when unset or blank. */
export function envString(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** A whole-number variable within [min, max], or `def` when unset (ConfigError otherwise). */
export function envInt(env: Env, name: string, def: number, min: number, max: number): number {
  const v = envString(env, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v)) throw new ConfigError(name, `must be a whole number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  const v = envString(env, name);
  if (v === undefined) return def;
  if (!(values as readonly string[]).includes(v)) throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${v}"`);
  return v as T;
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const v = envString(env, name);
  if (v === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new ConfigError(name, 'must be a URL');
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `must use ${protocols.join(' or ')}`);
  return v;
}

/**
 * An address to listen on: an IPv4 or IPv6 address, or a host name. Dotted digits must be an IPv4
 * address (`999.1.1.1` is refused here, not after migrations when the listener fails to bind).
 */
function listenHost(env: Env, name: string, def: string): string {
  const v = envString(env, name);
  if (v === undefined) return def;
  if (isIP(v) !== 0) return v;
  const hostName = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
  if (/^[\d.]+$/.test(v) || !hostName.test(v)) throw new ConfigError(name, `must be an IP address or a host name, got "${v}"`);
  return v;
}

function parseTrustProxy(env: Env): Config['trustProxy'] {
  const v = envString(env, 'TRUST_PROXY');
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true') throw new ConfigError('TRUST_PROXY', 'must be a hop count or a list of addresses, never "true" (a forged X-Forwarded-For would buy a fresh rate-limit quota)');
  if (/^\d+$/.test(v)) return envInt(env, 'TRUST_PROXY', 0, 0, 10);
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of list) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(item) && !['loopback', 'linklocal', 'uniquelocal'].includes(item)) {
      throw new ConfigError('TRUST_PROXY', `has an entry that is not an address, subnet or loopback/linklocal/uniquelocal: "${item}"`);
    }
  }
  return list;
}

function allowedOriginsFor(publicUrl: string, env: Config['env']): string[] {
  const u = new URL(publicUrl);
  const loopback = ['localhost', '127.0.0.1', '[::1]'];
  if (env === 'production' || !loopback.includes(u.hostname)) return [u.origin];
  const port = u.port === '' ? '' : `:${u.port}`;
  return [u.origin, ...loopback.map((h) => `${u.protocol}//${h}${port}`).filter((o) => o !== u.origin)];
}

/** Parses and validates the environment. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const port = envInt(env, 'PORT', 3000, 0, 65535);
  const host = listenHost(env, 'HOST', '127.0.0.1');
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const publicUrl = url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`;
  if (nodeEnv === 'production' && !publicUrl.startsWith('https:')) {
    throw new ConfigError('PUBLIC_URL', 'must be an https URL in production (session cookies are Secure)');
  }
  const adminEmail = envString(env, 'ADMIN_EMAIL');
  const adminPassword = envString(env, 'ADMIN_PASSWORD');
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError(adminEmail === undefined ? 'ADMIN_EMAIL' : 'ADMIN_PASSWORD', 'must be set together with ' + (adminEmail === undefined ? 'ADMIN_PASSWORD' : 'ADMIN_EMAIL'));
  }
  const cfg: Config = {
    env: nodeEnv,
    host,
    port,
    dataDir: path.resolve(envString(env, 'DATA_DIR') ?? './data'),
    databaseUrl,
    allowEmbeddedDatabase: oneOf(env, 'ALLOW_EMBEDDED_DATABASE', ['true', 'false'] as const, 'false') === 'true',
    migrationDatabaseUrl: url(env, 'MIGRATION_DATABASE_URL', ['postgres:', 'postgresql:']) ?? databaseUrl,
    dbPoolMax: envInt(env, 'DB_POOL_MAX', 10, 1, 200),
    reportWorkers: envInt(env, 'REPORT_WORKERS', defaultReportWorkers(), 0, 64),
    dbStatementTimeoutMs: envInt(env, 'DB_STATEMENT_TIMEOUT_MS', 15000, 100, 600000),
    dbPreparedStatements: oneOf(env, 'DB_PREPARED_STATEMENTS', ['true', 'false'] as const, 'true') === 'true',
    dbConnectionTimeoutMs: envInt(env, 'DB_CONNECTION_TIMEOUT_MS', 5000, 100, 60000),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, nodeEnv === 'test' ? 'silent' : 'info'),
    bodyLimitBytes: envInt(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024, 50 * 1024 * 1024),
    trustProxy: parseTrustProxy(env),
    publicUrl: publicUrl.replace(/\/+$/, ''),
    allowedOrigins: allowedOriginsFor(publicUrl, nodeEnv),
    adminEmail,
    adminPassword,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    shutdownTimeoutMs: envInt(env, 'SHUTDOWN_TIMEOUT_MS', 10000, 100, 120000),
    requestTimeoutMs: envInt(env, 'REQUEST_TIMEOUT_MS', 30000, 1000, 600000),
    headersTimeoutMs: envInt(env, 'HEADERS_TIMEOUT_MS', 10000, 1000, 120000),
    keepAliveTimeoutMs: envInt(env, 'KEEP_ALIVE_TIMEOUT_MS', 5000, 100, 120000),
    auditCheckpointIntervalMs: envInt(env, 'AUDIT_CHECKPOINT_INTERVAL_MS', 3_600_000, 1000, 86_400_000),
    auth: loadAuthConfig(env, nodeEnv, publicUrl),
    rateLimit: loadRateLimitConfig(env, nodeEnv, databaseUrl, url(env, 'REDIS_URL', ['redis:', 'rediss:'])),
    metrics: loadMetricsConfig(env),
  };
  // Node refuses to start a server whose headers deadline is past its request deadline.
  if (cfg.headersTimeoutMs > cfg.requestTimeoutMs) throw new ConfigError('HEADERS_TIMEOUT_MS', `must not exceed REQUEST_TIMEOUT_MS (${cfg.requestTimeoutMs})`);
  // The internal metrics listener cannot share the service's port.
  if (cfg.metrics.port !== undefined && cfg.metrics.port === cfg.port) throw new ConfigError('METRICS_PORT', `must differ from PORT (${cfg.port})`);
  return cfg;
}

/**
 * Refuses the embedded PGlite database under NODE_ENV=production unless ALLOW_EMBEDDED_DATABASE=true
 * (ConfigError naming DATABASE_URL). PGlite's only user is a superuser, so just the triggers guard
 * the append-only tables, and its files live in DATA_DIR, which in a container without a volume is
 * the container's own layer: records that must be kept six years would go with the container.
 *
 * Kept out of `loadConfig` so that commands which never open the service's database (the
 * migration runner reads its own settings) and callers that only inspect settings are unaffected;
 * `startService` and `openConfiguredDatabase` (src/service.ts) call it before anything else.
 */
export function assertProductionDatabase(config: Pick<Config, 'env' | 'databaseUrl' | 'allowEmbeddedDatabase'>): void {
  if (config.env !== 'production' || config.databaseUrl !== undefined || config.allowEmbeddedDatabase) return;
  throw new ConfigError(
    'DATABASE_URL',
    'must be set in production (NODE_ENV=production): without it the service would keep its records in the embedded PGlite database under DATA_DIR, ' +
      'whose superuser bypasses the append-only grants. Set DATABASE_URL to PostgreSQL, or ALLOW_EMBEDDED_DATABASE=true to choose the embedded database deliberately (one host, DATA_DIR on a persistent, backed-up volume)',
  );
}
