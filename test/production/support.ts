/**
 * Helpers for the production-readiness tests: one "instance" = createApp + its own metrics and
 * rate limiters + a real HTTP listener, over a Database the test provides (so two instances can
 * share one PostgreSQL scratch database, or one Redis under a unique prefix).
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Router } from 'express';
import { loadConfig, type Config } from '../../src/config/index.js';
import type { Database } from '../../src/db/database.js';
import { createApp, SHARED_WORKER_POOLS } from '../../src/http/app.js';
import type { AuthMiddleware } from '../../src/http/middleware/auth.js';
import { createMetrics, type Metrics } from '../../src/http/metrics/index.js';
import { createRateLimiters, type RateLimiters } from '../../src/http/rate-limit/index.js';
import { listen } from '../../src/http/server.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';
import { tempReportKeys } from '../support/fixtures.js';
import { testTokenKeyRing } from '../support/app.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether a Redis server answers at REDIS_URL (the Redis tests skip themselves otherwise). */
export async function redisAvailable(): Promise<boolean> {
  const { createClient } = await import('redis');
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 500, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.isOpen) await client.close();
  }
}

/** A prefix no other test uses (Redis is shared by every test run). */
export function uniquePrefix(): string {
  return `test-rl-${process.pid}-${randomBytes(6).toString('hex')}:`;
}

export interface Instance {
  readonly url: string;
  readonly config: Config;
  readonly metrics: Metrics;
  readonly rateLimits: RateLimiters;
  logs(): string;
  stop(): Promise<void>;
}

export interface InstanceOptions {
  readonly env?: Record<string, string>;
  /** Counter key prefix (Redis tests). */
  readonly prefix?: string;
  readonly extraRoutes?: (auth: AuthMiddleware) => readonly Router[];
}

/** Test configuration: every limit high unless `env` sets it. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', PASSWORD_HASH_COST: '10', ...env });
}

export function captureLogger(config: Config): { logger: Logger; logs: () => string } {
  let captured = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      captured += chunk.toString('utf8');
      cb();
    },
  });
  return { logger: createLogger(config.logLevel, sink), logs: () => captured };
}

/** Starts one app instance over `database`; `stop()` closes its listener and limiters, not the database. */
export async function startInstance(database: Database, options: InstanceOptions = {}): Promise<Instance> {
  const config = testConfig(options.env);
  const { logger, logs } = captureLogger(config);
  const metrics = createMetrics({ database, processMetrics: false, workerPools: SHARED_WORKER_POOLS });
  const rateLimits = createRateLimiters({ config, database, logger, metrics, purgeIntervalMs: 0, ...(options.prefix ? { prefix: options.prefix } : {}) });
  try {
    await rateLimits.ready();
  } catch (err) {
    await rateLimits.close();
    throw err;
  }
  const app = createApp({ config, database, logger, tokenKeys: await testTokenKeyRing(), reportKeys: await tempReportKeys(), metrics, rateLimits, ...(options.extraRoutes ? { extraRoutes: options.extraRoutes } : {}) });
  const server = await listen(app, config);
  return {
    url: server.url,
    config,
    metrics,
    rateLimits,
    logs,
    async stop() {
      await server.stop(1000);
      await rateLimits.close();
    },
  };
}

/** The value of one sample in Prometheus text output, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[4]);
  }
  return undefined;
}
