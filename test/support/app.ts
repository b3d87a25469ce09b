import type { ReportBuilder } from '../../src/assessments/report-builder.js';
import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Router } from 'express';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createApp } from '../../src/http/app.js';
import { closeSharedPdfPool } from '../../src/reports/pdf/pool.js';
import { closeSharedReportPool } from '../../src/assessments/report-builder.js';
import type { AuthMiddleware } from '../../src/http/middleware/auth.js';
import { listen, type RunningServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logging/logger.js';
import { createKeyRing } from '../../src/signing/key-ring.js';
import type { TokenKeyRing } from '../../src/signing/token-keys.js';
import type { ReportKeyRing } from '../../src/signing/report-keys.js';
import type { PdfSigningIdentity } from '../../src/signing/pdf-cert.js';
import { tempReportKeys, testPdfIdentity } from './fixtures.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';

export interface TestApp {
  readonly url: string;
  readonly t: TestDatabase;
  readonly config: Config;
  /** The token-signing ring the app verifies with (tests forge and rotate with it). */
  readonly tokenKeys: TokenKeyRing;
  /** The report-signing ring (reports, checkpoints), in a temporary directory. */
  readonly reportKeys: ReportKeyRing;
  /** Every log line written so far, raw. */
  logs(): string;
  stop(): Promise<void>;
}

export interface TestAppOptions {
  /** The app's clock (default: the real one). Tests move time by returning later dates. */
  readonly clock?: () => Date;
  /** A token ring (default: a fresh in-memory Ed25519 key). */
  readonly tokenKeys?: TokenKeyRing;
  /** A report-signing ring (default: a fresh one in a temporary directory). */
  readonly reportKeys?: ReportKeyRing;
  /** Extra routers mounted after the API (probe routes of the authorisation matrix). */
  readonly extraRoutes?: (auth: AuthMiddleware) => readonly Router[];
  /** The PDF signing identity (default: `testPdfIdentity()`). */
  readonly pdfSigner?: PdfSigningIdentity;
  /** Serve this existing database instead of a fresh one (not dropped by `stop()`): saves a start. */
  readonly database?: TestDatabase;
  /** How submissions' reports are built (default: the app's, from REPORT_WORKERS). */
  readonly reportBuilder?: ReportBuilder;
}

/** A fresh in-memory token-signing ring (one Ed25519 key, nothing written to disk). */
export async function testTokenKeyRing(retired: readonly TokenKeyRing[] = []): Promise<TokenKeyRing> {
  const { privateKey } = generateKeyPairSync('ed25519');
  return createKeyRing({ purpose: 'token', source: 'test', privateKey, retired: retired.flatMap((r) => r.all.map((k) => ({ publicJwk: k.publicJwk }))) });
}

/**
 * A real HTTP server on a loopback port over a fresh database of the given kind. Test defaults
 * (overridable by `env`): a low scrypt cost (PASSWORD_HASH_COST=10, tests only).
 */
export async function startTestApp(kind: DatabaseKind, env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const t = options.database ?? (await createTestDatabase(kind));
  // The server keeps idle connections longer than fetch (undici: 4 s), so the client always
  // closes first: with the server's 5 s, a busy host let a request go out on a socket the server
  // was closing (ECONNRESET, seen in test/http/fuzz.test.ts).
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', PASSWORD_HASH_COST: '10', KEEP_ALIVE_TIMEOUT_MS: '60000', ...env });
  let captured = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      captured += chunk.toString('utf8');
      cb();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const tokenKeys = options.tokenKeys ?? (await testTokenKeyRing());
  const reportKeys = options.reportKeys ?? (await tempReportKeys());
  const app = createApp({ config, database: t.database, logger, tokenKeys, reportKeys, pdfSigner: options.pdfSigner ?? (await testPdfIdentity()), clock: options.clock, extraRoutes: options.extraRoutes, ...(options.reportBuilder ? { reportBuilder: options.reportBuilder } : {}) });
  const server: RunningServer = await listen(app, config);
  return {
    url: server.url,
    t,
    config,
    tokenKeys,
    reportKeys,
    logs: () => captured,
    async stop() {
      await server.stop(1000);
      // The PDF worker threads would keep an in-band jest run alive.
      await closeSharedPdfPool();
      await closeSharedReportPool();
      if (options.database === undefined) await t.drop();
    },
  };
}
