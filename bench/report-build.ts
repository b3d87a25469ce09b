/**
 * `npm run bench:report -- [seconds] [modes]` (modes: any of `thread,1,2`, all by default): CPU per signed report (validate, evaluate, canonical
 * JSON, SHA-256, Ed25519) of the poorly-controlled example, built on this thread in a loop, then
 * in the report pool with 1 and with 2 workers kept busy (twice as many requests in flight as
 * workers). Nothing else runs: the pool's figures against the loop's show what a worker thread
 * adds (messages, its own isolate and GC) and what two builds at once cost each other on this
 * machine's cores, without HTTP or PostgreSQL. bench/api gives the same split under load
 * ("service threads per submission").
 *
 * Session 12: with the report's bytes left in the worker instead of transferred (a throwaway
 * change), one worker cost 1.07–1.34 times the calling thread instead of 1.33–1.59 (four
 * interleaved pairs): the fresh ~160 KB buffer each report needs once the last one has left the
 * worker is most of what a worker adds here. Copying the bytes instead of transferring them moved
 * the cost to the event loop (0.44–0.75 ms per report). The service under bench:api took few
 * page faults (one run: ~6 per submission, against ~16 in PostgreSQL's processes), so this is not
 * the whole of what its workers cost there (docs/deployment.md §10).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rulesEvaluator } from '../src/assessments/evaluator.js';
import { createReportPool, inProcessReportBuilder, workerReportBuilder, type BuildReportRequest, type ReportBuilder } from '../src/assessments/report-builder.js';
import { loadReportKeyRing } from '../src/signing/report-keys.js';
import { ROOT, threadCpuSecondsOf, type ThreadCpu } from './support.js';

const seconds = Number(process.argv[2] ?? 5);
// Which measurements, comma-separated: `thread` (the calling thread), `1` and `2` (pool sizes).
const modes = (process.argv[3] ?? 'thread,1,2').split(',');
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-report-keys-'));
const ring = await loadReportKeyRing({ kind: 'directory', dir: keyDir });
const example = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples/poorly-controlled.json'), 'utf8')) as BuildReportRequest['input'];

function request(): BuildReportRequest {
  return {
    input: example,
    subject: {
      assessmentId: randomUUID(),
      title: 'Benchmark: patient messaging agent',
      organizationId: randomUUID(),
      organizationName: 'Benchmark organisation',
      revision: { revision: 1, submittedAt: '2026-12-07T09:00:00.000Z', submittedBy: { type: 'client', id: randomUUID(), name: 'bench' } },
    },
    reportId: randomUUID(),
    key: { kid: ring.current.kid, privateKey: ring.current.privateKey },
  };
}

interface Measured {
  readonly rate: number;
  /** CPU ms per report: this process in all, and by thread name (main, report-worker, other). */
  readonly cpuMs: number;
  readonly threads: Record<string, number>;
}

/** Builds for `seconds` with `inFlight` requests outstanding. */
async function measure(builder: ReportBuilder, inFlight: number, duration: number): Promise<Measured> {
  let n = 0;
  const start = performance.now();
  const threads0: Record<string, ThreadCpu> = threadCpuSecondsOf(process.pid);
  const cpu0 = process.cpuUsage();
  const lane = async (): Promise<void> => {
    while (performance.now() - start < duration * 1000) {
      await builder.build(request());
      n++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const cpu = process.cpuUsage(cpu0);
  const threads1 = threadCpuSecondsOf(process.pid);
  const wall = (performance.now() - start) / 1000;
  const threads = Object.fromEntries(Object.entries(threads1).map(([name, t]) => [name, ((t.seconds - (threads0[name]?.seconds ?? 0)) * 1000) / n]));
  return { rate: n / wall, cpuMs: (cpu.user + cpu.system) / 1000 / n, threads };
}

function line(label: string, r: Measured): void {
  const split = ['main', 'report-worker', 'other'].filter((t) => r.threads[t] !== undefined).map((t) => `${t === 'main' ? 'this thread' : t === 'other' ? "V8's and libuv's threads" : 'workers'} ${r.threads[t]!.toFixed(2)}`);
  process.stdout.write(`${label.padEnd(44)} ${r.rate.toFixed(0).padStart(6)} reports/s   CPU ${r.cpuMs.toFixed(2)} ms per report (${split.join(', ')})\n`);
}

process.stdout.write(`node ${process.version}, ${os.cpus().length} cores, ${seconds} s per measurement, answers: docs/examples/poorly-controlled.json\n`);
try {
  if (modes.includes('thread')) {
    const local = inProcessReportBuilder(rulesEvaluator);
    await measure(local, 1, 1); // warm-up
    line('this thread, one at a time', await measure(local, 1, seconds));
  }
  for (const size of [1, 2].filter((n) => modes.includes(String(n)))) {
    const pool = createReportPool({ size });
    try {
      const builder = workerReportBuilder(() => pool);
      await measure(builder, size * 2, 1); // warm-up: workers start, load the rules, compile
      line(`report pool, ${size} worker${size > 1 ? 's' : ''}, ${size * 2} in flight`, await measure(builder, size * 2, seconds));
    } finally {
      await pool.close();
    }
  }
} finally {
  fs.rmSync(keyDir, { recursive: true, force: true });
}
