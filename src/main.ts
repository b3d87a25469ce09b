/**
 * `npm start`: load the configuration, open the database (embedded PGlite under ./data unless
 * DATABASE_URL is set), apply migrations, serve, and shut down gracefully on SIGTERM/SIGINT.
 */
import { ConfigError, loadConfig } from './config/index.js';
import { DataDirLockedError } from './db/data-dir-lock.js';
import { AppError } from './errors.js';
import { startService } from './service.js';

async function main(): Promise<void> {
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(loadConfig());
  } catch (err) {
    // Operator problems (a bad setting, key or certificate; a data directory in use): one line, no
    // stack trace. startService reports key and certificate problems as ConfigError; a key error
    // (src/signing/secret-files.ts keyError) raised anywhere else during the start is one too.
    const keyProblem = err instanceof AppError && err.detail.startsWith('signing keys: ');
    if (err instanceof ConfigError || err instanceof DataDirLockedError || keyProblem) {
      process.stderr.write(`error: ${keyProblem ? err.detail : (err as Error).message}\n`);
      process.exit(1);
    }
    throw err;
  }
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    service.logger.info({ signal }, 'shutting down: finishing in-flight requests');
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
