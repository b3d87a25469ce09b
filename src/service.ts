import net from 'node:net';
import { assertProductionDatabase, ConfigError, type Config } from './config/index.js';
import { AppError } from './errors.js';
import { openDatabase, type Database } from './db/database.js';
import { DatabaseConnectError, isConnectionError } from './db/errors.js';
import { migrate } from './db/migrate.js';
import { createApp, SHARED_WORKER_POOLS } from './http/app.js';
import { listen, type RunningServer } from './http/server.js';
import { createLogger, type Logger } from './logging/logger.js';
import { flushDenialWindows } from './audit/denied.js';
import { bootstrapFirstAdmin } from './auth/bootstrap.js';
import { loadRotatableKeyRing, withLatestKeys, type RotatableKeyRing } from './signing/rotatable.js';
import type { KeyPurpose } from './signing/key-ring.js';
import { keysMissingFromRing, publishKeys } from './assessments/keys.js';
import { createCheckpoint, logCheckpoint } from './audit/checkpoint.js';
import { closeSharedPdfPool } from './reports/pdf/pool.js';
import { closeSharedReportPool } from './assessments/report-builder.js';
import { createMetrics } from './http/metrics/index.js';
import { listenMetrics } from './http/metrics/endpoint.js';
import { createRateLimiters, type RateLimiters } from './http/rate-limit/index.js';
import { loadOrCreatePdfSigningIdentity, pdfIdentitySourceFromEnv, type PdfSigningIdentity } from './signing/pdf-cert.js';
import { recordConfigurationIfChanged } from './audit/config-change.js';
import { reportKeyVariable } from './signing/report-keys.js';
import { tokenKeyVariable } from './signing/token-keys.js';

export interface Service {
  readonly config: Config;
  readonly database: Database;
  readonly logger: Logger;
  readonly server: RunningServer;
  /**
   * Graceful shutdown: stops accepting requests, waits (up to SHUTDOWN_TIMEOUT_MS) for every
   * in-flight handler to end its response, including those whose client already went away, and
   * only then closes the PDF pool, metrics, rate limits and the database they use.
   */
  stop(): Promise<void>;
}

/**
 * Opens the configured database (PostgreSQL if DATABASE_URL is set, else embedded PGlite).
 * Under NODE_ENV=production the embedded database needs ALLOW_EMBEDDED_DATABASE=true (ConfigError).
 */
export async function openConfiguredDatabase(config: Config, logger?: Logger): Promise<Database> {
  assertProductionDatabase(config);
  return config.databaseUrl !== undefined
    ? openDatabase({
        kind: 'postgres',
        connectionString: config.databaseUrl,
        poolMax: config.dbPoolMax,
        statementTimeoutMs: config.dbStatementTimeoutMs,
        connectionTimeoutMs: config.dbConnectionTimeoutMs,
        preparedStatements: config.dbPreparedStatements,
        onConnectionError: (err) => logger?.warn({ err: { message: err.message, code: (err as { code?: unknown }).code } }, 'database connection lost: the pool opens a new one'),
      })
    : openDatabase({ kind: 'pglite', dataDir: config.dataDir });
}

/** Publishes (and logs) the keys a ring loads from its shared key directory; logs read errors. */
function followKeyDirectory<P extends KeyPurpose>(ring: RotatableKeyRing<P>, database: Database, logger: Logger): void {
  ring.onReload = async (loaded): Promise<void> => {
    try {
      const added = await publishKeys(database.db, loaded);
      logger.info({ purpose: loaded.purpose, kid: loaded.current.kid, newlyPublished: added }, 'signing keys reloaded: another process added a key to the key directory');
    } catch (err) {
      logger.error({ err, purpose: loaded.purpose, kid: loaded.current.kid }, 'signing keys reloaded, but publishing them failed (retried at the next start)');
    }
  };
  ring.onRefreshError = (err): void => logger.error({ err, purpose: ring.purpose }, 'reading the signing key directory failed: the keys loaded before stay in use');
}

/** The signing keys and PDF identity the service needs, loaded before it touches the database. */
interface SigningMaterial {
  readonly tokenKeys: RotatableKeyRing<'token'>;
  readonly reportKeys: RotatableKeyRing<'report'>;
  readonly pdfIdentity: PdfSigningIdentity;
}

/**
 * Loads (in the embedded default: creates under DATA_DIR) the token and report key rings and the
 * PDF signing identity. Touches no database. A key or certificate that cannot be used, or a data
 * directory where they cannot be created, is a ConfigError naming the variable to fix, so
 * `npm start` prints one line and exits 1 instead of a stack trace.
 */
export async function loadSigningMaterial(env: Readonly<Record<string, string | undefined>>, dataDir: string): Promise<SigningMaterial> {
  const tokenKeys = await asConfigError(tokenKeyVariable(env), 'token-signing key', () => loadRotatableKeyRing('token', env, dataDir));
  const reportKeys = await asConfigError(reportKeyVariable(env), 'report-signing key', () => loadRotatableKeyRing('report', env, dataDir));
  // pdfIdentitySourceFromEnv refuses only inconsistent PDF_SIGNING_P12_* settings; the source then
  // tells whether the identity comes from PDF_SIGNING_P12_FILE or is the embedded one under DATA_DIR.
  const pdfSource = await asConfigError('PDF_SIGNING_P12_FILE', 'PDF signing certificate', () => pdfIdentitySourceFromEnv(env, dataDir));
  const pdfIdentity = await asConfigError(pdfSource.kind === 'pkcs12' ? 'PDF_SIGNING_P12_FILE' : 'DATA_DIR', 'PDF signing certificate', () => loadOrCreatePdfSigningIdentity(pdfSource));
  return { tokenKeys, reportKeys, pdfIdentity };
}

/**
 * Runs `load`; turns a key or certificate error (AppError from src/signing/) or a file-system error
 * (e.g. a data directory the process may not write) into a ConfigError naming `variable`.
 */
async function asConfigError<T>(variable: string, what: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const fsError = err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
    if (!(err instanceof AppError) && !fsError) throw err;
    let detail = err instanceof AppError ? err.detail : err.message;
    detail = detail.replace(/^signing keys: /, '');
    if (detail.startsWith(`${variable}: `)) detail = detail.slice(variable.length + 2);
    throw new ConfigError(variable, `does not give a usable ${what}: ${detail}`, { cause: err });
  }
}

/** Production warnings for signing material generated in DATA_DIR rather than taken from a secrets manager. */
function warnAboutEmbeddedSigning(logger: Logger, tokenKeys: RotatableKeyRing<'token'>, reportKeys: RotatableKeyRing<'report'>, pdfIdentity: PdfSigningIdentity): void {
  if (reportKeys.rotatable) logger.warn({ source: reportKeys.source }, 'production: the report-signing keys are generated and kept in the data directory; give them from your secrets manager (REPORT_SIGNING_KEY_FILE, docs/deployment.md §2)');
  if (tokenKeys.rotatable) logger.warn({ source: tokenKeys.source }, 'production: the token-signing keys are generated and kept in the data directory; give them from your secrets manager (TOKEN_SIGNING_KEY_FILE, docs/deployment.md §2)');
  if (pdfIdentity.selfSigned) logger.warn({ source: pdfIdentity.source }, "production: the PDF signing certificate is self-signed; give your organisation's certificate from your secrets manager (PDF_SIGNING_P12_FILE and PDF_SIGNING_P12_PASSPHRASE_FILE, docs/deployment.md §2)");
}

/** A listen error as a ConfigError naming the variable to fix, or the error itself. */
function listenError(err: unknown, host: string, port: number, variables: { host: string; port: string }): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE' || code === 'EACCES') return new ConfigError(variables.port, `${port} cannot be bound on ${host}: ${code === 'EADDRINUSE' ? 'address already in use' : 'permission denied'}`, { cause: err });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAFNOSUPPORT') return new ConfigError(variables.host, `"${host}" is not an address of this machine to listen on (${code})`, { cause: err });
  return err;
}

/**
 * Binds `host:port` once and lets it go, so an address that cannot be listened on (taken, not
 * this machine's, an unknown name) stops the start before the database is migrated or anything
 * is recorded (ConfigError); the real listeners bind later, before the configuration is recorded.
 */
async function probeListenAddress(host: string, port: number, variables: { host: string; port: string }): Promise<void> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    throw listenError(err, host, port, variables);
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Starts the whole service: signing keys and PDF identity (checked before anything touches the
 * database), database, migrations (in embedded mode, and on PostgreSQL unless the app role cannot:
 * then `npm run migrate` as the owner first), first-start bootstrap, HTTP server. Under
 * NODE_ENV=production the embedded database needs ALLOW_EMBEDDED_DATABASE=true.
 */
export async function startService(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
  options: { env?: Readonly<Record<string, string | undefined>>; stdout?: { write(text: string): unknown } } = {},
): Promise<Service> {
  const env = options.env ?? process.env;
  assertProductionDatabase(config);
  // Keys and the PDF identity before the database: a bad key or certificate setting stops the start
  // (ConfigError) before any migration runs or a first administrator is created and printed.
  const { tokenKeys, reportKeys, pdfIdentity } = await loadSigningMaterial(env, config.dataDir);
  logger.info({ source: tokenKeys.source, kid: tokenKeys.current.kid }, 'token-signing keys loaded');
  logger.info({ source: pdfIdentity.source, fingerprintSha256: pdfIdentity.fingerprintSha256, notAfter: pdfIdentity.notAfter, selfSigned: pdfIdentity.selfSigned }, 'PDF signing certificate loaded');
  if (config.env === 'production') {
    warnAboutEmbeddedSigning(logger, tokenKeys, reportKeys, pdfIdentity);
    if (config.databaseUrl === undefined) logger.warn({ dataDir: config.dataDir }, 'production on the embedded PGlite database (ALLOW_EMBEDDED_DATABASE=true): one process only; keep DATA_DIR on a persistent, backed-up volume (records are kept six years)');
  }
  await probeListenAddress(config.host, config.port, { host: 'HOST', port: 'PORT' });
  if (config.metrics.port !== undefined) await probeListenAddress(config.metrics.host, config.metrics.port, { host: 'METRICS_HOST', port: 'METRICS_PORT' });
  const database = await openConfiguredDatabase(config, logger);
  let metricsListener: Awaited<ReturnType<typeof listenMetrics>>;
  let server: RunningServer | undefined;
  let rateLimits: RateLimiters | undefined;
  try {
    const migrated = await migrate(database, undefined, { warn: (message) => logger.warn(message) });
    if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'migrations applied');
    // First administrator (ADMIN_EMAIL/ADMIN_PASSWORD, or a generated one printed once in embedded mode).
    const boot = await bootstrapFirstAdmin(database.db, config, options.stdout ?? process.stdout, (message) => logger.warn(message));
    if (boot.created) logger.info({ email: boot.email, generatedPassword: boot.generated }, 'first administrator created');
    // A key directory shared with other instances (or the keys CLI): a key added there is loaded
    // before this instance next signs or trusts keys (src/signing/rotatable.ts), then published.
    followKeyDirectory(tokenKeys, database, logger);
    followKeyDirectory(reportKeys, database, logger);
    const published = await publishKeys(database.db, reportKeys);
    const publishedTokens = await publishKeys(database.db, tokenKeys);
    logger.info({ source: reportKeys.source, kid: reportKeys.current.kid, newlyPublished: [...published, ...publishedTokens] }, 'report-signing keys loaded');
    const metrics = createMetrics({ database, workerPools: SHARED_WORKER_POOLS });
    rateLimits = createRateLimiters({ config, database, logger, metrics });
    try {
      await rateLimits.ready();
    } catch (err) {
      logger.warn({ err, store: rateLimits.store }, 'rate-limit store not ready: counting in this instance until it is');
    }
    // Both listeners bind before the configuration is recorded: a start that cannot listen
    // leaves no config.changed event for a configuration that never ran. (Requests that arrive
    // in the few milliseconds until then are served; `listening` is logged after it.)
    const app = createApp({ config, database, logger, tokenKeys, reportKeys, pdfSigner: pdfIdentity, metrics, rateLimits });
    try {
      metricsListener = await listenMetrics(metrics, config.metrics);
    } catch (err) {
      throw listenError(err, config.metrics.host, config.metrics.port ?? 0, { host: 'METRICS_HOST', port: 'METRICS_PORT' });
    }
    try {
      server = await listen(app, config);
    } catch (err) {
      throw listenError(err, config.host, config.port, { host: 'HOST', port: 'PORT' });
    }
    const changed = await recordConfigurationIfChanged(database.db, config);
    if (changed) logger.info({ changed: changed.length }, 'configuration change recorded in the audit trail');
    const missing = await keysMissingFromRing(database.db, reportKeys);
    if (missing.length > 0) logger.warn({ kids: missing }, 'report-signing keys recorded in the database are not in the configured key ring: reports they signed will not verify until the keys are added back (REPORT_SIGNING_RETIRED_JWKS_FILE); investigate any key you do not recognise');
    const running = server;
    const limits = rateLimits;
    logger.info({ url: running.url, database: database.kind }, 'listening');
    // Close the denied-request windows every minute (their summary events, src/audit/denied.ts).
    const denialTimer = setInterval(() => {
      flushDenialWindows(database.db, { limitPerMinute: config.auth.auditDeniedPerMinute }).catch((err: unknown) => logger.error({ err }, 'flushing denied-request windows failed'));
    }, 60_000);
    denialTimer.unref();
    // Sign the audit chain head periodically (a no-op when nothing happened since the last one).
    const checkpointTimer = setInterval(() => {
      withLatestKeys(reportKeys)
        .then((ring) => createCheckpoint(database.db, ring.current))
        .then((cp) => {
          if (cp) logCheckpoint(logger, cp);
        })
        .catch((err: unknown) => logger.error({ err }, 'audit checkpoint failed'));
    }, config.auditCheckpointIntervalMs);
    checkpointTimer.unref();
    return {
      config,
      database,
      logger,
      server: running,
      async stop() {
        clearInterval(denialTimer);
        clearInterval(checkpointTimer);
        const { drained, unfinished } = await running.stop(config.shutdownTimeoutMs);
        if (drained > 0) logger.info({ drained }, 'in-flight requests finished before shutdown');
        if (unfinished > 0) logger.warn({ unfinished, timeoutMs: config.shutdownTimeoutMs }, 'requests still running at the shutdown timeout: closing the database under them');
        await closeSharedPdfPool();
        await closeSharedReportPool();
        await metricsListener?.close();
        await limits.close();
        await database.close();
      },
    };
  } catch (err) {
    await server?.stop(0);
    await metricsListener?.close();
    await rateLimits?.close();
    await database.close();
    // No connection at all (refused, unknown database or role, wrong password): one line naming
    // DATABASE_URL and where it points (src/main.ts), not a stack trace.
    throw config.databaseUrl !== undefined && isConnectionError(err) ? new DatabaseConnectError('DATABASE_URL', config.databaseUrl, err) : err;
  }
}
