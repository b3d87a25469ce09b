/**
 * Reports built in worker threads (the service's default) and on the calling thread: the same
 * bytes, signature and facts; the same refusals; and a pool that never holds a process open.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rulesEvaluator } from '../../src/assessments/evaluator.js';
import { createReportPool, inProcessReportBuilder, REPORT_WORKER_THREAD_NAME, workerReportBuilder } from '../../src/assessments/report-builder.js';
import type { BuildReportRequest, BuiltReport, ReportPool } from '../../src/assessments/report-builder.js';
import { AppError } from '../../src/errors.js';
import { verifyReport } from '../../src/signing/jws.js';
import type { ReportKeyRing } from '../../src/signing/report-keys.js';
import { example, tempReportKeys } from '../support/fixtures.js';
import { ROOT } from '../support/process.js';

let ring: ReportKeyRing;
let pool: ReportPool;

beforeAll(async () => {
  ring = await tempReportKeys();
  pool = createReportPool({ size: 1, maxQueue: 16 });
});
afterAll(async () => {
  await pool.close();
});

function request(answers: Partial<BuildReportRequest['input']> = {}, reportId = randomUUID()): BuildReportRequest {
  return {
    input: { ...example('poorly-controlled'), ...answers },
    subject: {
      assessmentId: randomUUID(),
      title: 'Ambient scribe — Zoë Ångström 🏥',
      organizationId: randomUUID(),
      organizationName: 'Clínica São José',
      revision: { revision: 3, submittedAt: '2026-12-06T10:11:12.000Z', submittedBy: { type: 'client', id: randomUUID(), name: 'EHR integration' } },
    },
    reportId,
    key: { kid: ring.current.kid, privateKey: ring.current.privateKey },
  };
}

/** What a refusal says, as a problem+json would carry it. */
function refusal(error: unknown): unknown {
  if (!(error instanceof AppError)) return error;
  return { code: error.code, status: error.status, detail: error.detail, pointer: error.pointer, errors: error.errors };
}

describe('report builders', () => {
  it('build the same bytes, hash, signature and facts in a worker thread as on the calling thread', async () => {
    const req = request();
    const evaluations: number[] = [];
    const local = await inProcessReportBuilder(rulesEvaluator).build(req);
    const remote: BuiltReport = await workerReportBuilder(() => pool, (ms) => evaluations.push(ms)).build(req);
    expect(Buffer.isBuffer(remote.bytes)).toBe(true);
    expect(remote.bytes.equals(local.bytes)).toBe(true);
    expect(remote).toEqual(local);
    expect(remote.summary.overallRisk).toBe('very_high');
    expect(await verifyReport(remote.bytes, remote.jws, ring.jwks())).toMatchObject({ valid: true, kid: ring.current.kid });
    // The evaluation was timed in the worker, for the metrics.
    expect(evaluations).toHaveLength(1);
    expect(evaluations[0]).toBeGreaterThan(0);
  });

  it('build several reports at once, more than there are workers, each the right one', async () => {
    const requests = [1, 2, 3, 4, 5].map(() => request());
    const remote = await Promise.all(requests.map((r) => workerReportBuilder(() => pool).build(r)));
    for (const [i, r] of requests.entries()) {
      const local = await inProcessReportBuilder(rulesEvaluator).build(r);
      expect(remote[i]!.bytes.equals(local.bytes)).toBe(true);
      expect((JSON.parse(remote[i]!.bytes.toString('utf8')) as { reportId: string }).reportId).toBe(r.reportId);
    }
    expect(pool.stats()).toEqual({ workers: 1, busy: 0, queued: 0 });
  });

  it('name their threads for the operating system (report-worker), leaving the event loop as node', async () => {
    if (!existsSync('/proc/self/task')) {
      process.stdout.write('skipped: no /proc/self/task here (thread names are Linux only)\n');
      return;
    }
    await workerReportBuilder(() => pool).build(request());
    const names = readdirSync('/proc/self/task').map((tid) => ({ tid: Number(tid), name: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() }));
    expect(names.filter((t) => t.name === REPORT_WORKER_THREAD_NAME).length).toBeGreaterThanOrEqual(pool.stats().workers);
    expect(names.find((t) => t.tid === process.pid)?.name).not.toBe(REPORT_WORKER_THREAD_NAME);
  });

  it.each([
    ['an answer of the wrong type', { answers: { ...example('poorly-controlled').answers, 'uc.decision_support': 'maybe' } }],
    ['an unknown question', { answers: { ...example('poorly-controlled').answers, 'no.such_question': true } }],
    ['an unknown questionnaire version', { questionnaireVersion: '0.0.0-nope' }],
    ['an unknown ruleset version', { rulesets: [{ id: 'hipaa-security', version: '9.9.9' }] }],
  ])('refuse %s with the same 422, field pointers included, in a worker as on the calling thread', async (_name, change) => {
    const req = request(change);
    const local = await inProcessReportBuilder(rulesEvaluator).build(req).then(
      () => 'built',
      (error: unknown) => error,
    );
    const remote = await workerReportBuilder(() => pool).build(req).then(
      () => 'built',
      (error: unknown) => error,
    );
    expect(local).toBeInstanceOf(AppError);
    expect(remote).toBeInstanceOf(AppError);
    expect((remote as AppError).status).toBe(422);
    expect((remote as AppError).pointer).toMatch(/^\/(answers|questionnaireVersion|rulesets)/);
    expect(refusal(remote)).toEqual(refusal(local));
  });

  it('refuse a request that cannot be copied to a worker with the 422 the calling thread gives, and go on serving', async () => {
    // A function (no JSON body holds one; a library caller's may), or answers nested deeper than
    // structured clone can copy: validated on this thread instead, as a worker would have.
    const uncopyable = request({ answers: { ...example('poorly-controlled').answers, 'uc.decision_support': () => true } });
    const remote = await workerReportBuilder(() => pool).build(uncopyable).then(() => 'built', (error: unknown) => error);
    const local = await inProcessReportBuilder(rulesEvaluator).build(uncopyable).then(() => 'built', (error: unknown) => error);
    expect(remote).toMatchObject({ status: 422, errors: [{ pointer: '/answers/uc.decision_support' }] });
    expect(refusal(remote)).toEqual(refusal(local));
    const next = request();
    expect((await workerReportBuilder(() => pool).build(next)).bytes.equals((await inProcessReportBuilder(rulesEvaluator).build(next)).bytes)).toBe(true);
    expect(pool.stats()).toEqual({ workers: 1, busy: 0, queued: 0 });
  });

  it('refuse work once the pool is closed, with 503 and Retry-After', async () => {
    const closed = createReportPool({ size: 1 });
    await closed.close();
    await expect(workerReportBuilder(() => closed).build(request())).rejects.toMatchObject({ code: 'service-unavailable', headers: { 'Retry-After': '1' } });
  });

  it('do not keep a process alive once idle: a script that builds one report and never closes its pool exits', async () => {
    const script = `
      const { createReportPool, workerReportBuilder } = await import(${JSON.stringify(`${ROOT}/src/assessments/report-builder.ts`)});
      const { generateKeyPairSync } = await import('node:crypto');
      const { readFileSync } = await import('node:fs');
      const input = JSON.parse(readFileSync(${JSON.stringify(`${ROOT}/docs/examples/well-controlled.json`)}, 'utf8'));
      const pool = createReportPool({ size: 1 });
      const { privateKey } = generateKeyPairSync('ed25519');
      const subject = { assessmentId: 'a', title: 't', organizationId: 'o', organizationName: 'n', revision: { revision: 1, submittedAt: '2026-01-01T00:00:00.000Z', submittedBy: { type: 'user', id: 'u', name: 'u' } } };
      const built = await workerReportBuilder(() => pool).build({ input, subject, reportId: 'r', key: { kid: 'k', privateKey } });
      console.log('built', built.bytes.length, built.summary.overallRisk);
    `;
    // A file, not --eval: workers inherit the process's flags, and --input-type fails there.
    const dir = mkdtempSync(join(tmpdir(), 'report-pool-'));
    writeFileSync(join(dir, 'build-one.mjs'), script);
    const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'build-one.mjs')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
    expect([code, signal, out]).toEqual([0, null, expect.stringMatching(/^built \d+ \w+\n$/)]);
  });
});
