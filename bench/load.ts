/**
 * `npm run bench:load`: a bounded mixed workload against TWO service instances (child processes on
 * loopback, one scratch PostgreSQL database, one shared DATA_DIR so both hold the same keys), as a
 * load balancer would spread it (round robin, request by request).
 *
 * Mix (BENCH_MIX, weights by request count; default below):
 *   submit     POST /v1/assessments (docs/examples poorly-/well-controlled alternating)     30
 *   list       GET /v1/assessments?limit=20                                                   20
 *   report     GET /v1/reports/{id}                                                           20
 *   pdf        GET /v1/reports/{id}/pdf: half on reports never downloaded as PDF (render,
 *              sign and store: "pdf-first"), half on ones already stored ("pdf-stored")       10
 *   signature  GET /v1/reports/{id}/signature                                                 10
 *   login      POST /v1/auth/login, a seeded user, scrypt at PASSWORD_HASH_COST (default 15) 10
 *
 * A fixed number of workers (BENCH_CONCURRENCY, 16) each send one request at a time (closed loop)
 * for BENCH_WARMUP_SECONDS (15, not counted) and then BENCH_SECONDS (120). Bounded: at most
 * BENCH_MAX_REQUESTS requests in all, 30 s per request, and a watchdog that kills everything if
 * the run overstays. Rate limits and login lockouts are lifted for the run (loopback only).
 *
 * Prints per endpoint kind: count, req/s, p50/p90/p99/max latency, non-2xx, errors; overall
 * throughput; CPU of each instance, of the database backends and of the machine; resident memory
 * of each instance after warm-up and at the end with the growth (bound BENCH_RSS_GROWTH_BOUND %,
 * default 25, PASS/FAIL); then the audit chain check, storage per assessment, and the cost of one
 * rate-limit store hit (PGlite / PostgreSQL / Redis at BENCH_REDIS_URL, default local, if up).
 * Exit code 1 if the RSS bound fails, the audit chain is invalid, or any request failed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Options as RateLimitOptions, Store } from 'express-rate-limit';
import { openDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { verifyAuditChain } from '../src/audit/verify.js';
import { reportJwks } from '../src/assessments/keys.js';
import { loadReportKeyRing, reportKeyDirectory } from '../src/signing/report-keys.js';
import { SqlStore } from '../src/http/rate-limit/sql-store.js';
import { createRedisClient, RecoveringRedisStore } from '../src/http/rate-limit/redis-store.js';
import { cpuSecondsOf, ROOT, scratchDatabase, seedClient, seedUser, startService, token, UNLIMITED, type ServiceInstance } from './support.js';

// ---------------------------------------------------------------------------------------------
// Settings

function numberEnv(name: string, def: number, min: number, max: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw.trim() === '' ? def : Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be a number from ${min} to ${max}, got ${raw}`);
  return n;
}

const SECONDS = numberEnv('BENCH_SECONDS', 120, 1, 3600);
const WARMUP_SECONDS = numberEnv('BENCH_WARMUP_SECONDS', 15, 0, 600);
const CONCURRENCY = Math.floor(numberEnv('BENCH_CONCURRENCY', 16, 1, 256));
const MAX_REQUESTS = Math.floor(numberEnv('BENCH_MAX_REQUESTS', 500_000, 1, 10_000_000));
const REQUEST_TIMEOUT_MS = 30_000;
const RSS_GROWTH_BOUND = numberEnv('BENCH_RSS_GROWTH_BOUND', 25, 0, 1000);
const PASSWORD_HASH_COST = String(Math.floor(numberEnv('BENCH_PASSWORD_HASH_COST', 15, 10, 20)));
const POOL_MAX = String(Math.floor(numberEnv('BENCH_POOL', 10, 1, 200)));
const SEED = Math.floor(numberEnv('BENCH_SEED', 1, 0, 2 ** 31));
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PUBLIC_URL = 'http://localhost:3000'; // the same issuer (and login origin) on both instances

const OPS = ['submit', 'list', 'report', 'pdf', 'signature', 'login'] as const;
type Op = (typeof OPS)[number];
const KINDS = ['submit', 'list', 'report', 'pdf-first', 'pdf-stored', 'signature', 'login'] as const;
type Kind = (typeof KINDS)[number];
const LABELS: Record<Kind, string> = {
  submit: 'POST /v1/assessments',
  list: 'GET /v1/assessments?limit=20',
  report: 'GET /v1/reports/{id}',
  'pdf-first': 'GET …/pdf (render+store)',
  'pdf-stored': 'GET …/pdf (stored)',
  signature: 'GET …/signature',
  login: 'POST /v1/auth/login',
};

function parseMix(text: string): Record<Op, number> {
  const mix: Record<Op, number> = { submit: 0, list: 0, report: 0, pdf: 0, signature: 0, login: 0 };
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, weight] = part.split('=').map((s) => s.trim());
    if (!(OPS as readonly string[]).includes(name ?? '') || weight === undefined || !/^\d+(\.\d+)?$/.test(weight)) {
      throw new Error(`BENCH_MIX: "${part}" is not <${OPS.join('|')}>=<weight>`);
    }
    mix[name as Op] = Number(weight);
  }
  if (OPS.every((op) => mix[op] === 0)) throw new Error('BENCH_MIX: every weight is 0');
  return mix;
}
const MIX = parseMix(process.env.BENCH_MIX ?? 'submit=30,list=20,report=20,pdf=10,signature=10,login=10');

// ---------------------------------------------------------------------------------------------
// Figures

/** mulberry32: a small seeded PRNG, so the sequence of operations is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);

interface KindStats {
  latencies: number[];
  ok: number;
  non2xx: number;
  errors: number;
  statuses: Map<string, number>;
  bytes: number;
}
const stats = new Map<Kind, KindStats>(KINDS.map((k) => [k, { latencies: [], ok: 0, non2xx: 0, errors: 0, statuses: new Map(), bytes: 0 }]));
let measuring = false;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function note(kind: Kind, ms: number, outcome: { status: number; bytes: number } | { error: string }): void {
  if (!measuring) return;
  const s = stats.get(kind)!;
  if ('error' in outcome) {
    s.errors++;
    s.statuses.set(outcome.error, (s.statuses.get(outcome.error) ?? 0) + 1);
    return;
  }
  s.latencies.push(ms);
  s.bytes += outcome.bytes;
  if (outcome.status >= 200 && outcome.status < 300) s.ok++;
  else {
    s.non2xx++;
    s.statuses.set(String(outcome.status), (s.statuses.get(String(outcome.status)) ?? 0) + 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes: instances, database backends, the machine

function procStatTotals(): { busy: number; total: number } {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: (total - idle) / 100, total: total / 100 };
}

/**
 * CPU seconds of every process on the machine, tracked per pid across samples: processes alive at
 * `start()` count from their CPU time then, later ones from 0 (a process that exits between two
 * samples loses at most one interval). Used to split the machine's CPU into this run's instances,
 * its PostgreSQL backends, and other jobs.
 */
class ProcessCpu {
  private readonly base = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly names = new Map<number, string>();
  private scan(): Map<number, number> {
    const found = new Map<number, number>();
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      const cpu = cpuSecondsOf(pid);
      if (!Number.isFinite(cpu)) continue;
      found.set(pid, cpu);
      if (!this.names.has(pid)) {
        try {
          const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
          this.names.set(pid, cmd === '' ? `[${fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}]` : cmd);
        } catch {
          this.names.set(pid, '?');
        }
      }
    }
    return found;
  }
  start(): void {
    this.base.clear();
    this.last.clear();
    for (const [pid, cpu] of this.scan()) {
      this.base.set(pid, cpu);
      this.last.set(pid, cpu);
    }
  }
  sample(): void {
    for (const [pid, cpu] of this.scan()) this.last.set(pid, cpu);
  }
  /** CPU seconds since `start()` per process, with its command line. */
  used(): { pid: number; name: string; seconds: number }[] {
    return [...this.last].map(([pid, cpu]) => ({ pid, name: this.names.get(pid) ?? '?', seconds: cpu - (this.base.get(pid) ?? 0) }));
  }
}

// ---------------------------------------------------------------------------------------------
// Set-up

const started = Date.now();
process.stdout.write(`bench:load: 2 instances, ${CONCURRENCY} workers, warm-up ${WARMUP_SECONDS} s, measured ${SECONDS} s, at most ${MAX_REQUESTS} requests\n`);
process.stdout.write(`mix: ${OPS.map((op) => `${op}=${MIX[op]}`).join(', ')}; PASSWORD_HASH_COST=${PASSWORD_HASH_COST}; DB_POOL_MAX=${POOL_MAX} per instance; node ${process.version}; ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB\n`);
process.stdout.write(`machine load average before the run: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);

const db = await scratchDatabase();
const dbName = new URL(db.url).pathname.slice(1);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-load-'));
const instances: ServiceInstance[] = [];
let aborted = false;
let cleaned: Promise<void> | undefined;

async function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    await Promise.allSettled(instances.map((i) => i.stop()));
    await db.drop().catch((err: unknown) => process.stderr.write(`dropping the scratch database failed: ${String(err)}\n`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  })();
  return cleaned;
}

// Ctrl-C: stop the workers; the finally block below cleans up. A second one exits at once.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (aborted) {
      for (const i of instances) i.child.kill('SIGKILL');
      process.exit(130);
    }
    aborted = true;
    process.stderr.write(`\n${signal}: stopping the run and cleaning up\n`);
  });
}
// Watchdog: the run is bounded in time even if something hangs.
const watchdog = setTimeout(
  () => {
    process.stderr.write('bench:load watchdog: the run overstayed; killing the instances\n');
    for (const i of instances) i.child.kill('SIGKILL');
    void Promise.race([cleanup(), new Promise((r) => setTimeout(r, 20_000))]).then(() => process.exit(2));
  },
  (WARMUP_SECONDS + SECONDS + 300) * 1000,
);
watchdog.unref();

let exitCode = 0;
try {
  const client = await seedClient(db.url, ['assessments:write', 'assessments:read', 'reports:read']);
  const email = 'load-officer@bench.example';
  const password = 'correct horse battery staple bench';
  await seedUser(db.url, { organizationId: client.organizationId, email, password, cost: Number(PASSWORD_HASH_COST), roles: ['compliance_officer'] });

  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    PUBLIC_URL,
    DB_POOL_MAX: POOL_MAX,
    PASSWORD_HASH_COST,
    ...UNLIMITED,
    LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000', // the configured maxima
    LOGIN_MAX_FAILURES_PER_IP: '100000',
  };
  // One after the other: the first creates the keys in DATA_DIR, the second loads them.
  instances.push(await startService(env));
  instances.push(await startService(env));
  const urls = instances.map((i) => i.url);

  let bearer = await token(urls[0]!, client);
  let bearerAt = Date.now();
  let refreshing: Promise<void> | undefined;
  const authHeader = async (): Promise<string> => {
    if (Date.now() - bearerAt > 300_000) {
      refreshing ??= token(urls[0]!, client).then((t) => {
        bearer = t;
        bearerAt = Date.now();
        refreshing = undefined;
      });
      await refreshing;
    }
    return `Bearer ${bearer}`;
  };

  const examples = ['poorly-controlled', 'well-controlled'].map((name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples', `${name}.json`), 'utf8')) as Record<string, unknown>);
  const bodies = examples.map((example, i) => JSON.stringify({ title: `Load: ${i === 0 ? 'patient messaging agent' : 'discharge summary drafting'}`, ...example }));
  const loginBody = JSON.stringify({ email, password });

  const reports: string[] = []; // every report created in the run
  const unrendered: string[] = []; // of those, never downloaded as PDF
  const rendered: string[] = []; // of those, PDF stored
  let submitted = 0;
  let issued = 0;
  let next = 0;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const instanceUrl = (): string => urls[next++ % urls.length]!;
  const totalWeight = OPS.reduce((n, op) => n + MIX[op], 0);
  const chooseOp = (): Op => {
    let r = random() * totalWeight;
    for (const op of OPS) {
      r -= MIX[op];
      if (r < 0) return op;
    }
    return OPS[OPS.length - 1]!;
  };

  async function send(kind: Kind, url: string, init: RequestInit): Promise<{ status: number; body: Buffer } | undefined> {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const body = Buffer.from(await res.arrayBuffer());
      note(kind, performance.now() - t0, { status: res.status, bytes: body.length });
      return { status: res.status, body };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      note(kind, performance.now() - t0, { error: e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.name) });
      return undefined;
    }
  }

  async function one(): Promise<void> {
    let op = chooseOp();
    if ((op === 'report' || op === 'signature' || op === 'pdf') && reports.length === 0) op = 'submit';
    const base = instanceUrl();
    switch (op) {
      case 'submit': {
        const res = await send('submit', `${base}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: await authHeader() }, body: bodies[submitted++ % bodies.length]! });
        if (res?.status === 201) {
          const id = (JSON.parse(res.body.toString('utf8')) as { report: { id: string } | null }).report?.id;
          if (id !== undefined) {
            reports.push(id);
            unrendered.push(id);
          }
        }
        return;
      }
      case 'list':
        await send('list', `${base}/v1/assessments?limit=20`, { headers: { authorization: await authHeader() } });
        return;
      case 'report':
        await send('report', `${base}/v1/reports/${pick(reports)}`, { headers: { authorization: await authHeader() } });
        return;
      case 'signature':
        await send('signature', `${base}/v1/reports/${pick(reports)}/signature`, { headers: { authorization: await authHeader() } });
        return;
      case 'pdf': {
        if (unrendered.length > 0 && (rendered.length === 0 || random() < 0.5)) {
          // Take a report nobody has asked a PDF of (swap-remove, so no other worker takes it).
          const i = Math.floor(random() * unrendered.length);
          const id = unrendered[i]!;
          unrendered[i] = unrendered[unrendered.length - 1]!;
          unrendered.pop();
          const res = await send('pdf-first', `${base}/v1/reports/${id}/pdf`, { headers: { authorization: await authHeader() } });
          if (res?.status === 200) rendered.push(id);
          else unrendered.push(id);
        } else if (rendered.length > 0) {
          await send('pdf-stored', `${base}/v1/reports/${pick(rendered)}/pdf`, { headers: { authorization: await authHeader() } });
        } else {
          await send('list', `${base}/v1/assessments?limit=20`, { headers: { authorization: await authHeader() } });
        }
        return;
      }
      case 'login':
        await send('login', `${base}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: PUBLIC_URL }, body: loginBody });
        return;
    }
  }

  async function phase(seconds: number): Promise<number> {
    const deadline = Date.now() + seconds * 1000;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (!aborted && Date.now() < deadline && issued < MAX_REQUESTS) {
          issued++;
          await one();
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  }

  // Warm-up: JIT, pools, PDF workers, scrypt memory, a stock of reports; not counted.
  if (WARMUP_SECONDS > 0) await phase(WARMUP_SECONDS);
  process.stdout.write(`warm-up done: ${reports.length} reports, ${rendered.length} PDFs stored\n`);

  // RSS is read with nothing in flight (the phase has drained) and after a short settle, at the
  // start and at the end alike: a login holds 32 MiB of scrypt memory while it runs, a PDF render
  // its document, so an instant in the middle of the load says more about what is in flight.
  const SETTLE_MS = 2000;
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const processes = new ProcessCpu();
  const rssStart = instances.map((i) => i.rssKib());
  const rssPeak = [...rssStart];
  const cpuStart = instances.map((i) => i.cpuSeconds());
  const machineStart = procStatTotals();
  const selfStart = process.cpuUsage();
  processes.start();
  const sampler = setInterval(() => {
    instances.forEach((inst, i) => (rssPeak[i] = Math.max(rssPeak[i]!, inst.rssKib())));
    processes.sample();
  }, 2000);

  measuring = true;
  const measured = await phase(SECONDS);
  measuring = false;
  clearInterval(sampler);
  processes.sample();
  const cpuEnd = instances.map((i) => i.cpuSeconds());
  const machineEnd = procStatTotals();
  const self = process.cpuUsage(selfStart);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const rssEnd = instances.map((i) => i.rssKib());
  instances.forEach((_, i) => (rssPeak[i] = Math.max(rssPeak[i]!, rssEnd[i]!)));

  // ------------------------------------------------------------------ results: requests
  const f = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
  const line = (cells: readonly string[], widths: readonly number[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ') + '\n';
  const widths = [30, 7, 7, 8, 8, 8, 8, 7, 7] as const;
  process.stdout.write(`\nmeasured ${f(measured)} s, ${CONCURRENCY} workers, requests alternate between the 2 instances\n`);
  process.stdout.write(line(['endpoint', 'count', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'non2xx', 'errors'], widths));
  let total = 0;
  let totalNon2xx = 0;
  let totalErrors = 0;
  const all: number[] = [];
  for (const kind of KINDS) {
    const s = stats.get(kind)!;
    const sorted = [...s.latencies].sort((a, b) => a - b);
    const count = s.latencies.length + s.errors;
    total += count;
    totalNon2xx += s.non2xx;
    totalErrors += s.errors;
    all.push(...s.latencies);
    process.stdout.write(line([LABELS[kind], String(count), f(count / measured), f(percentile(sorted, 50)), f(percentile(sorted, 90)), f(percentile(sorted, 99)), f(sorted.at(-1) ?? NaN), String(s.non2xx), String(s.errors)], widths));
  }
  all.sort((a, b) => a - b);
  process.stdout.write(line(['all', String(total), f(total / measured), f(percentile(all, 50)), f(percentile(all, 90)), f(percentile(all, 99)), f(all.at(-1) ?? NaN), String(totalNon2xx), String(totalErrors)], widths));
  for (const kind of KINDS) {
    const s = stats.get(kind)!;
    if (s.statuses.size > 0) process.stdout.write(`  ${LABELS[kind]}: ${[...s.statuses].map(([k, n]) => `${k} ×${n}`).join(', ')}\n`);
  }
  const nonLogin = KINDS.filter((k) => k !== 'login').reduce((n, k) => n + stats.get(k)!.latencies.length + stats.get(k)!.errors, 0);
  process.stdout.write(`throughput: ${f(total / measured)} req/s overall, ${f(nonLogin / measured)} req/s without logins, ${f((stats.get('submit')!.ok) / measured)} submissions/s (2xx) across 2 instances\n`);
  const pdfStored = stats.get('pdf-stored')!;
  if (pdfStored.ok > 0) process.stdout.write(`PDF size: ${f(pdfStored.bytes / pdfStored.latencies.length / 1024, 0)} KiB on average\n`);

  // ------------------------------------------------------------------ results: CPU and memory
  const machineCores = (machineEnd.busy - machineStart.busy) / measured;
  const instCores = instances.map((_, i) => (cpuEnd[i]! - cpuStart[i]!) / measured);
  const mine = new Set<number>([process.pid, ...instances.map((i) => i.child.pid ?? -1)]);
  const used = processes.used();
  const isBackend = (name: string): boolean => name.startsWith('postgres:') && name.split(' ').includes(dbName);
  const dbCores = used.filter((u) => isBackend(u.name)).reduce((n, u) => n + u.seconds, 0) / measured;
  const selfCores = (self.user + self.system) / 1e6 / measured;
  const others = machineCores - instCores.reduce((a, b) => a + b, 0) - dbCores - selfCores;
  const busiestOthers = used.filter((u) => !mine.has(u.pid) && !isBackend(u.name) && u.seconds / measured >= 0.02).sort((a, b) => b.seconds - a.seconds).slice(0, 5);
  process.stdout.write(`\nCPU (cores busy on average over the measured run, machine has ${os.cpus().length}):\n`);
  instCores.forEach((c, i) => process.stdout.write(`  instance ${i + 1}            ${f(c, 2)}\n`));
  process.stdout.write(`  PostgreSQL backends   ${f(dbCores, 2)}  (of this run's database)\n`);
  process.stdout.write(`  load generator        ${f(selfCores, 2)}\n`);
  process.stdout.write(`  everything else       ${f(Math.max(0, others), 2)}  (other jobs on the machine, PostgreSQL background workers)\n`);
  process.stdout.write(`  machine total         ${f(machineCores, 2)}  (load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})\n`);
  for (const u of busiestOthers) process.stdout.write(`    other: ${f(u.seconds / measured, 2)} cores  pid ${u.pid}  ${u.name.slice(0, 90)}\n`);
  if (others > 0.25) process.stdout.write(`  NOTE: other jobs used ${f(others, 2)} cores during the run: the figures above are lower than on an idle machine\n`);

  process.stdout.write(`\nresident memory (VmRSS, ${SETTLE_MS / 1000} s after the load stops), after warm-up → end of run, peak sampled every 2 s under load; bound: growth < ${RSS_GROWTH_BOUND}%\n`);
  let rssOk = true;
  instances.forEach((_, i) => {
    const start = rssStart[i]! / 1024;
    const end = rssEnd[i]! / 1024;
    const growth = end - start;
    const pct = (growth / start) * 100;
    const pass = start > 0 && end > 0 && pct < RSS_GROWTH_BOUND;
    rssOk &&= pass;
    process.stdout.write(`  instance ${i + 1}: ${f(start)} MB → ${f(end)} MB (peak ${f(rssPeak[i]! / 1024)} MB): ${growth >= 0 ? '+' : ''}${f(growth)} MB, ${pct >= 0 ? '+' : ''}${f(pct)}%  ${pass ? 'PASS' : 'FAIL'}\n`);
  });
  process.stdout.write(`memory bound: ${rssOk ? 'PASS' : 'FAIL'}\n`);
  if (!rssOk) exitCode = 1;
  if (totalErrors > 0 || totalNon2xx > 0) exitCode = 1;

  // ------------------------------------------------------------------ after the run
  await Promise.allSettled(instances.map((i) => i.stop()));
  const database = await openDatabase({ kind: 'postgres', connectionString: db.url, poolMax: 2 });
  try {
    const ring = await loadReportKeyRing({ kind: 'directory', dir: reportKeyDirectory(dataDir) });
    const t0 = performance.now();
    const chain = await verifyAuditChain(database.db, reportJwks(ring));
    process.stdout.write(`\naudit chain: ${chain.valid ? 'valid' : `INVALID at ${chain.brokenAt}: ${chain.reason}`}, ${chain.checkedEvents} events, ${chain.checkedCheckpoints} checkpoints, verified in ${f((performance.now() - t0) / 1000)} s\n`);
    if (!chain.valid) exitCode = 1;

    const size = async (table: string): Promise<number> => Number((await database.raw.query<{ n: string }>(`SELECT pg_total_relation_size('${table}') AS n`))[0]!.n);
    const count = async (table: string): Promise<number> => Number((await database.raw.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
    const revisions = await count('assessment_revisions');
    const pdfs = await count('report_pdfs');
    const events = await count('audit_events');
    const docBytes = (await size('assessments')) + (await size('assessment_revisions')) + (await size('reports')) + (await size('report_rulesets'));
    const pdfBytes = pdfs > 0 ? (await size('report_pdfs')) / pdfs : NaN;
    const eventBytes = events > 0 ? (await size('audit_events')) / events : NaN;
    const perRevision = docBytes / revisions;
    process.stdout.write(
      `storage (pg_total_relation_size: rows, TOAST, indexes): ${revisions} revisions with reports ${f(perRevision / 1024)} KiB each; ${pdfs} stored PDFs ${f(pdfBytes / 1024)} KiB each; ${events} audit events ${f(eventBytes / 1024, 2)} KiB each\n`,
    );
    process.stdout.write(`  ⇒ one submitted revision with its report, its PDF and its creation event ≈ ${f((perRevision + pdfBytes + eventBytes) / 1024)} KiB (downloads add one audit event each); database now ${f(Number((await database.raw.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n'))[0]!.n) / 2 ** 20)} MiB\n`);

    // One rate-limit store hit, sequential, after the run (nothing else running).
    const hits = 2000;
    const timeStore = async (name: string, store: Store): Promise<void> => {
      await store.init?.({ windowMs: 60_000 } as RateLimitOptions);
      const key = `bench-load-${process.pid}`;
      for (let i = 0; i < 200; i++) await store.increment(key);
      const ms: number[] = [];
      for (let i = 0; i < hits; i++) {
        const t = performance.now();
        await store.increment(key);
        ms.push(performance.now() - t);
      }
      await store.resetKey?.(key);
      ms.sort((a, b) => a - b);
      process.stdout.write(`  ${name.padEnd(12)} p50 ${f(percentile(ms, 50), 3)} ms  p99 ${f(percentile(ms, 99), 3)} ms\n`);
    };
    process.stdout.write(`rate-limit store, one hit (increment), ${hits} in a row:\n`);
    const pglite = await openDatabase({ kind: 'pglite' });
    try {
      await migrate(pglite);
      await timeStore('PGlite', new SqlStore(pglite, 'bench:'));
    } finally {
      await pglite.close();
    }
    await timeStore('PostgreSQL', new SqlStore(database, 'bench:'));
    const redis = createRedisClient(REDIS_URL, () => undefined);
    try {
      await Promise.race([redis.connect(), new Promise((_, reject) => setTimeout(() => reject(new Error('no connection within 3 s')), 3000))]);
      await timeStore('Redis', new RecoveringRedisStore(redis, `bench-load:${process.pid}:`));
    } catch (err) {
      process.stdout.write(`  Redis        skipped (${REDIS_URL}: ${(err as Error).message})\n`);
    } finally {
      try {
        if (redis.isOpen) await redis.close();
        else redis.destroy();
      } catch {
        // never connected
      }
    }
  } finally {
    await database.close();
  }
} catch (err) {
  exitCode = 1;
  process.stderr.write(`bench:load failed: ${(err as Error).stack ?? String(err)}\n`);
} finally {
  await cleanup();
  clearTimeout(watchdog);
  process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; instances stopped, scratch database dropped\n`);
}
process.exit(exitCode);
