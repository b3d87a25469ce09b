import type { Config } from './config/index.js';
import { openDatabase, type Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { createApp, SHARED_WORKER_POOLS } from './http/app.js';
import { listen, type RunningServer } from './http/server.js';
import { createLogger, type Logger } from './logging/logger.js';
import { flushDenialWindows } from './audit/denied.js';
import { bootstrapFirstAdmin } from './auth/bootstrap.js';
import { loadRotatableKeyRing, withLatestKeys, type RotatableKeyRing } from './signing/rotatable.js';
import type { KeyPurpose } from './signing/key-ring.js';
import { keysMissingFromRing, publishKeys } from './assessments/keys.js';
import { createCheckpoint } from './audit/checkpoint.js';
import { closeSharedPdfPool } from './reports/pdf/pool.js';
import { closeSharedReportPool } from './assessments/report-builder.js';
import { createMetrics } from './http/metrics/index.js';
import { listenMetrics } from './http/metrics/endpoint.js';
import { createRateLimiters } from './http/rate-limit/index.js';
import { loadOrCreatePdfSigningIdentity, pdfIdentitySourceFromEnv } from './signing/pdf-cert.js';
import { recordConfigurationIfChanged } from './audit/config-change.js';

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

/** Opens the configured database (PostgreSQL if DATABASE_URL is set, else embedded PGlite). */
export function openConfiguredDatabase(config: Config): Promise<Database> {
  return config.databaseUrl !== undefined
    ? openDatabase({
        kind: 'postgres',
        connectionString: config.databaseUrl,
        poolMax: config.dbPoolMax,
        statementTimeoutMs: config.dbStatementTimeoutMs,
        connectionTimeoutMs: config.dbConnectionTimeoutMs,
        preparedStatements: config.dbPreparedStatements,
      })
    : openDatabase({ kind: 'pglite', dataDir: config.dataDir });
}

/**
 * Starts the whole service: database, migrations (in embedded mode, and on PostgreSQL unless the
 * app role cannot: then `npm run migrate` as the owner first), first-start bootstrap, HTTP server.
 */
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

export async function startService(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
  options: { env?: Readonly<Record<string, string | undefined>>; stdout?: { write(text: string): unknown } } = {},
): Promise<Service> {
  const database = await openConfiguredDatabase(config);
  try {
    const migrated = await migrate(database, undefined, { warn: (message) => logger.warn(message) });
    if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'migrations applied');
    // First administrator (ADMIN_EMAIL/ADMIN_PASSWORD, or a generated one printed once in embedded mode).
    const boot = await bootstrapFirstAdmin(database.db, config, options.stdout ?? process.stdout, (message) => logger.warn(message));
    if (boot.created) logger.info({ email: boot.email, generatedPassword: boot.generated }, 'first administrator created');
    const tokenKeys = await loadRotatableKeyRing('token', options.env ?? process.env, config.dataDir);
    logger.info({ source: tokenKeys.source, kid: tokenKeys.current.kid }, 'token-signing keys loaded');
    const reportKeys = await loadRotatableKeyRing('report', options.env ?? process.env, config.dataDir);
    // A key directory shared with other instances (or the keys CLI): a key added there is loaded
    // before this instance next signs or trusts keys (src/signing/rotatable.ts), then published.
    followKeyDirectory(tokenKeys, database, logger);
    followKeyDirectory(reportKeys, database, logger);
    const published = await publishKeys(database.db, reportKeys);
    const publishedTokens = await publishKeys(database.db, tokenKeys);
    logger.info({ source: reportKeys.source, kid: reportKeys.current.kid, newlyPublished: [...published, ...publishedTokens] }, 'report-signing keys loaded');
    const changed = await recordConfigurationIfChanged(database.db, config);
    if (changed) logger.info({ changed: changed.length }, 'configuration change recorded in the audit trail');
    const missing = await keysMissingFromRing(database.db, reportKeys);
    if (missing.length > 0) logger.warn({ kids: missing }, 'report-signing keys recorded in the database are not in the configured key ring: reports they signed will not verify until the keys are added back (REPORT_SIGNING_RETIRED_JWKS_FILE); investigate any key you do not recognise');
    const pdfIdentity = await loadOrCreatePdfSigningIdentity(await pdfIdentitySourceFromEnv(options.env ?? process.env, config.dataDir));
    logger.info({ source: pdfIdentity.source, fingerprintSha256: pdfIdentity.fingerprintSha256, notAfter: pdfIdentity.notAfter, selfSigned: pdfIdentity.selfSigned }, 'PDF signing certificate loaded');
    const metrics = createMetrics({ database, workerPools: SHARED_WORKER_POOLS });
    const rateLimits = createRateLimiters({ config, database, logger, metrics });
    try {
      await rateLimits.ready();
    } catch (err) {
      logger.warn({ err, store: rateLimits.store }, 'rate-limit store not ready: counting in this instance until it is');
    }
    const metricsListener = await listenMetrics(metrics, config.metrics);
    const app = createApp({ config, database, logger, tokenKeys, reportKeys, pdfSigner: pdfIdentity, metrics, rateLimits });
    const server = await listen(app, config);
    logger.info({ url: server.url, database: database.kind }, 'listening');
    // Close the denied-request windows every minute (their summary events, src/audit/denied.ts).
    const denialTimer = setInterval(() => {
      flushDenialWindows(database.db, { limitPerMinute: config.auth.auditDeniedPerMinute }).catch((err: unknown) => logger.error({ err }, 'flushing denied-request windows failed'));
    }, 60_000);
    denialTimer.unref();
    // Sign the audit chain head periodically (a no-op when nothing happened since the last one).
    const checkpointTimer = setInterval(() => {
      withLatestKeys(reportKeys)
        .then((ring) => createCheckpoint(database.db, ring.current))
        .catch((err: unknown) => logger.error({ err }, 'audit checkpoint failed'));
    }, config.auditCheckpointIntervalMs);
    checkpointTimer.unref();
    return {
      config,
      database,
      logger,
      server,
      async stop() {
        clearInterval(denialTimer);
        clearInterval(checkpointTimer);
        const { drained, unfinished } = await server.stop(config.shutdownTimeoutMs);
        if (drained > 0) logger.info({ drained }, 'in-flight requests finished before shutdown');
        if (unfinished > 0) logger.warn({ unfinished, timeoutMs: config.shutdownTimeoutMs }, 'requests still running at the shutdown timeout: closing the database under them');
        await closeSharedPdfPool();
        await closeSharedReportPool();
        await metricsListener?.close();
        await rateLimits.close();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
