/**
 * `npm run bench:api`: POST /v1/assessments (validate, evaluate, sign, store in one transaction
 * with its audit event) against the service on PostgreSQL, 20 connections, and GET /healthz in
 * the same setup as the ceiling, and a light GET /healthz probe during the submissions (what other
 * requests wait behind them). Prints requests/s and p50/p99 latency.
 * Target (2 cores, PostgreSQL on the same machine): ≥ 300 assessments/s, p99 < 150 ms.
 */
import fs from 'node:fs';
import path from 'node:path';
import { postgresAllocatorSettings, postgresCpuSeconds, processCpuSeconds, ROOT, printTable, run, scratchDatabase, seedClient, startService, token, UNLIMITED } from './support.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);

const db = await scratchDatabase();
// BENCH_RATE_LIMIT_STORE=memory|postgres|redis (default: the service's, postgres here); redis at
// BENCH_REDIS_URL (default the local server), whose CPU is then counted too.
const store = process.env.BENCH_RATE_LIMIT_STORE;
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const rateLimitStore = store === undefined ? {} : { RATE_LIMIT_STORE: store, ...(store === 'redis' ? { REDIS_URL: redisUrl } : {}) };
const redisCpu = (): number => (store === 'redis' ? processCpuSeconds('redis-server') : 0);
const client = await seedClient(db.url, ['assessments:write', 'assessments:read']);
// DB_PREPARED_STATEMENTS=false compares with unnamed statements; REPORT_WORKERS=0 builds reports
// on the event loop, REPORT_WORKERS=n in n worker threads (the service's default: cores − 1).
const service = await startService({ ...(process.env.DB_PREPARED_STATEMENTS ? { DB_PREPARED_STATEMENTS: process.env.DB_PREPARED_STATEMENTS } : {}), DATABASE_URL: db.url, DB_POOL_MAX: process.env.BENCH_POOL ?? '10', ...UNLIMITED, ...rateLimitStore, ...(process.env.REPORT_WORKERS ? { REPORT_WORKERS: process.env.REPORT_WORKERS } : {}) });
try {
  const bearer = await token(service.url, client);
  const example = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples/poorly-controlled.json'), 'utf8')) as Record<string, unknown>;
  const body = JSON.stringify({ title: 'Benchmark: patient messaging agent', ...example });
  // Warm up (JIT, connection pool, engine caches).
  await run('warm-up', { url: `${service.url}/v1/assessments`, method: 'POST', connections, duration: 3, headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body });
  const cpuBefore = { service: service.cpuSeconds(), eventLoop: service.mainThreadCpuSeconds(), threads: service.threadCpuSeconds(), postgres: postgresCpuSeconds(), redis: redisCpu(), bench: process.cpuUsage() };
  // Alongside the submissions, a light probe at a fixed rate: how long any other request (a load
  // balancer's health check, a read) waits behind them on the service's event loop.
  const [post, probe] = await Promise.all([
    run(`POST /v1/assessments (${connections} conn)`, { url: `${service.url}/v1/assessments`, method: 'POST', connections, duration: seconds, headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body }),
    run('GET /healthz meanwhile (1 conn, 20/s)', { url: `${service.url}/healthz`, connections: 1, overallRate: 20, duration: seconds }),
  ]);
  // Where the 2 cores went, per request: the service's process, PostgreSQL's processes, and this
  // process (autocannon, the load generator, shares the machine).
  const perRequest = (s: number): string => ((s * 1000) / post.total).toFixed(2);
  const benchCpu = process.cpuUsage(cpuBefore.bench);
  // The service's main thread is its ceiling: one core at most, whatever the others do.
  const cpuLine = `CPU per submission: service ${perRequest(service.cpuSeconds() - cpuBefore.service)} ms (of which its event loop ${perRequest(service.mainThreadCpuSeconds() - cpuBefore.eventLoop)} ms), PostgreSQL ${perRequest(postgresCpuSeconds() - cpuBefore.postgres)} ms, ${store === 'redis' ? `Redis ${perRequest(redisCpu() - cpuBefore.redis)} ms, ` : ''}load generator ${perRequest((benchCpu.user + benchCpu.system) / 1e6)} ms\n`;
  // The service's threads by name: the event loop, the report workers (which name themselves),
  // and the rest (V8's GC and compiler threads, libuv's pool).
  const threadsAfter = service.threadCpuSeconds();
  const threadLine = `service threads per submission: ${Object.keys(threadsAfter)
    .sort((a, b) => (a === 'main' ? -1 : b === 'main' ? 1 : a === 'other' ? 1 : b === 'other' ? -1 : a < b ? -1 : 1))
    .map((name) => {
      const { seconds, threads } = threadsAfter[name]!;
      const label = name === 'main' ? 'event loop' : name === 'other' ? `${threads} others (V8's GC and compiler, libuv)` : `${name} ×${threads}`;
      return `${label} ${perRequest(seconds - (cpuBefore.threads[name]?.seconds ?? 0))} ms`;
    })
    .join(', ')}\n`;
  const rows = [
    post,
    probe,
    ...(process.env.BENCH_SKIP_HEALTHZ ? [] : [await run(`GET /healthz (${connections} conn)`, { url: `${service.url}/healthz`, connections, duration: Math.min(seconds, 10) })]),
  ];
  printTable(rows);
  process.stdout.write(cpuLine);
  process.stdout.write(threadLine);
  process.stdout.write(`service RSS after the runs: ${service.rssMb()} MB; body ${body.length} bytes; target ≥ 300 req/s with p99 < 150 ms\n`);
  process.stdout.write(`PostgreSQL server's allocator: ${postgresAllocatorSettings() ?? 'unknown (its environment is not readable here)'}\n`);
} finally {
  await service.stop();
  await db.drop();
}
