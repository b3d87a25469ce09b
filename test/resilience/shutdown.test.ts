/**
 * Shutdown while a handler whose client went away is still at work. The service stops in this
 * order (src/service.ts): `server.stop(SHUTDOWN_TIMEOUT_MS)`, then the database closes. Once the
 * client has gone the socket is gone too, so waiting for sockets alone let the database close
 * under the handler ("driver has already been destroyed", a 500 to nobody). Real app, real
 * PGlite; the handler is held in the evaluator (the app's injected dependency) by a gate the
 * test opens, just before its transaction.
 */
import { Writable } from 'node:stream';
import http from 'node:http';
import { loadConfig } from '../../src/config/index.js';
import { rulesEvaluator } from '../../src/assessments/evaluator.js';
import type { Evaluator } from '../../src/assessments/types.js';
import { createApp } from '../../src/http/app.js';
import { listen, type RunningServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { example, tempReportKeys } from '../support/fixtures.js';
import { testTokenKeyRing, type TestApp } from '../support/app.js';
import { clientToken, seedClient, seedOrganization } from '../auth/helpers.js';

const TITLE = 'Submitted, then the client left';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(10);
  }
}

interface Running {
  readonly t: TestDatabase;
  readonly server: RunningServer;
  logs(): string;
  /** Resolves once the submission's handler is held in the evaluator. */
  readonly held: Promise<void>;
  /** Lets the held evaluation go on (or fail, with an error). */
  release(error?: Error): void;
  /** Submits an assessment, aborts the request once its handler is held, and resolves when the server has seen the client go. */
  submitAndAbandon(): Promise<http.ServerResponse>;
}

async function start(): Promise<Running> {
  const t = await createTestDatabase('pglite');
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', PASSWORD_HASH_COST: '10' });
  let captured = '';
  const logger = createLogger(config.logLevel, new Writable({ write: (chunk: Buffer, _e, cb) => ((captured += chunk.toString('utf8')), cb()) }));
  let entered!: () => void;
  const held = new Promise<void>((resolve) => (entered = resolve));
  let release!: (error?: Error) => void;
  const gate = new Promise<void>((resolve, reject) => (release = (error) => (error ? reject(error) : resolve())));
  const evaluator: Evaluator = {
    ...rulesEvaluator,
    async evaluate(input) {
      entered();
      await gate;
      return rulesEvaluator.evaluate(input);
    },
  };
  const app = createApp({ config, database: t.database, logger, tokenKeys: await testTokenKeyRing(), reportKeys: await tempReportKeys(), evaluator });
  const server = await listen(app, config);
  const direct = { t, config, url: server.url } as unknown as TestApp;
  const token = await clientToken(direct, await seedClient(direct, await seedOrganization(direct), ['assessments:write']));
  return {
    t,
    server,
    logs: () => captured,
    held,
    release,
    async submitAndAbandon() {
      const seen = new Promise<http.ServerResponse>((resolve) => server.server.once('request', (_req, res: http.ServerResponse) => resolve(res)));
      // A plain one-connection client: fetch's pool may open a spare connection when a request is
      // aborted, and server.close() would wait for that instead, hiding the bug.
      const request = http.request(`${server.url}/v1/assessments`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
      const failed = new Promise<Error>((resolve) => request.once('error', resolve));
      request.end(JSON.stringify({ title: TITLE, ...example('well-controlled') }));
      const res = await seen;
      const gone = new Promise((resolve) => res.once('close', resolve));
      await held;
      request.destroy();
      expect((await failed).message).toMatch(/socket hang up/);
      await gone;
      // At most the token request's idle keep-alive connection is left, which stop() closes at once.
      expect(await new Promise((resolve) => server.server.getConnections((_e, n) => resolve(n)))).toBeLessThanOrEqual(1);
      expect(res.writableEnded).toBe(false); // the handler is still at work, with no socket
      return res;
    },
  };
}

describe('stopping while a handler whose client went away is still at work', () => {
  it('waits for the handler to commit before the database closes', async () => {
    const s = await start();
    const res = await s.submitAndAbandon();
    const events: string[] = [];
    let committed: string[] = [];
    let audited = 0;
    const started = Date.now();
    // src/service.ts: server.stop(SHUTDOWN_TIMEOUT_MS), then (PDF pool, metrics, rate limits) the database.
    const shutdown = s.server.stop(10_000).then(async (result) => {
      events.push('server stopped');
      const db = s.t.database.db;
      committed = (await db.selectFrom('assessments').select('title').execute()).map((a) => a.title);
      audited = (await db.selectFrom('audit_events').select('seq').where('action', '=', 'assessment.created').execute()).length;
      await s.t.database.close();
      events.push('database closed');
      return result;
    });
    await sleep(300);
    events.push('handler released');
    s.release();
    const result = await shutdown;
    await until(() => res.writableEnded, 5000); // the handler has answered (nobody)

    expect(s.logs()).not.toContain('driver has already been destroyed');
    expect(s.logs()).not.toContain('unhandled error');
    expect(events).toEqual(['handler released', 'server stopped', 'database closed']);
    expect(committed).toEqual([TITLE]); // the whole transaction, with its audit event
    expect(audited).toBe(1);
    expect(res.statusCode).toBe(201);
    expect(result).toEqual({ drained: 1, unfinished: 0 });
    expect(Date.now() - started).toBeLessThan(5000); // it waited for the handler, not for the timeout
  });

  it('still resolves at the timeout when the handler never finishes', async () => {
    const s = await start();
    const res = await s.submitAndAbandon();
    const started = Date.now();
    const result = await s.server.stop(500);
    const ms = Date.now() - started;
    expect(result).toEqual({ drained: 0, unfinished: 1 });
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(2500);
    // Let the handler fail on its own before the database goes, so nothing runs after the test.
    s.release(new Error('evaluation abandoned by the test'));
    await until(() => res.writableEnded, 5000);
    await s.t.database.close();
  });
});
