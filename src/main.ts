/**
 * `npm start`: load the configuration, open the database (embedded PGlite under ./data unless
 * DATABASE_URL is set), apply migrations, serve, and shut down gracefully on SIGTERM/SIGINT.
 */
import { ConfigError, loadConfig } from './config/index.js';
import { DataDirLockedError } from './db/data-dir-lock.js';
import { DatabaseConnectError } from './db/errors.js';
import { AppError } from './errors.js';
import { startService } from './service.js';

/** How long past SHUTDOWN_TIMEOUT_MS a shutdown may take before the process exits anyway. */
const SHUTDOWN_HARD_MARGIN_MS = 5000;

async function main(): Promise<void> {
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(loadConfig());
  } catch (err) {
    // Operator problems (a bad setting, key or certificate; a data directory in use; a database
    // that cannot be reached or refuses the connection): one line, no stack trace. startService
    // reports key and certificate problems as ConfigError; a key error (src/signing/secret-files.ts
    // keyError) raised anywhere else during the start is one too.
    const keyProblem = err instanceof AppError && err.detail.startsWith('signing keys: ');
    if (err instanceof ConfigError || err instanceof DataDirLockedError || err instanceof DatabaseConnectError || keyProblem) {
      process.stderr.write(`error: ${keyProblem ? err.detail : err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    service.logger.info({ signal }, 'shutting down: finishing in-flight requests');
    // stop() waits SHUTDOWN_TIMEOUT_MS for requests, then closes the pools and the database; a
    // database that no longer answers could still hold that up. The orchestrator's grace period
    // is longer than this (docs/deployment.md §4), so the process ends here, not by SIGKILL.
    const deadlineMs = service.config.shutdownTimeoutMs + SHUTDOWN_HARD_MARGIN_MS;
    setTimeout(() => {
      service.logger.error({ signal, deadlineMs }, 'shutdown did not finish in time (a database or worker that no longer answers?): exiting now');
      process.exit(1);
    }, deadlineMs).unref();
    service
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        service.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
