/**
 * Shared by the benchmarks: a scratch PostgreSQL database, the service in a child process, a
 * seeded organisation with an API client, and autocannon runs summarised as figures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { openDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createOrganization } from '../src/auth/organizations.js';
import { createApiClient } from '../src/auth/api-clients.js';
import type { Role, Scope } from '../src/auth/permissions.js';
import { createUser } from '../src/auth/users.js';
import { hashPassword } from '../src/auth/passwords.js';
import { SYSTEM_ACTOR } from '../src/audit/record.js';

export const ROOT = path.resolve(import.meta.dirname, '..');

/** A fresh database on BENCH_DATABASE_URL's server (default: the local PostgreSQL), migrated. */
export async function scratchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `bench_${Date.now().toString(36)}_${process.pid}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const url = u.toString();
  const database = await openDatabase({ kind: 'postgres', connectionString: url, poolMax: 2 });
  await migrate(database);
  await database.close();
  return {
    url,
    async drop() {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

/** Seeds an organisation and an API client with the given scopes; returns its credentials. */
export async function seedClient(url: string, scopes: readonly Scope[]): Promise<{ id: string; secret: string; organizationId: string }> {
  const database = await openDatabase({ kind: 'postgres', connectionString: url, poolMax: 1 });
  try {
    const audit = { actor: SYSTEM_ACTOR, request: null, now: new Date() };
    return await database.db.transaction().execute(async (trx) => {
      const org = await createOrganization(trx, { name: `Bench ${Date.now()}` }, audit);
      const made = await createApiClient(trx, { name: 'bench', organizationId: org.id, scopes }, audit);
      return { id: made.client.id, secret: made.clientSecret, organizationId: org.id };
    });
  } finally {
    await database.close();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A service instance started by `startService`. */
export interface ServiceInstance {
  readonly url: string;
  readonly child: ChildProcess;
  /** Resident set size (VmRSS from /proc/<pid>/status) in MB, rounded; 0 once the process is gone. */
  rssMb(): number;
  /** Resident set size in KiB (unrounded), 0 once the process is gone. */
  rssKib(): number;
  /** CPU time (user + system) the process has used so far, seconds; NaN once it is gone. */
  cpuSeconds(): number;
  /** The same for its main thread (the event loop) alone. */
  mainThreadCpuSeconds(): number;
  /**
   * CPU seconds per thread name: `main` (the event loop), the workers by the names they give
   * themselves (`report-worker`, `pdf-worker`), `other` for the rest (V8's GC and compiler
   * threads, libuv's pool: all named `node`). Threads that exit between two samples drop out.
   */
  threadCpuSeconds(): Record<string, ThreadCpu>;
  /**
   * SIGTERM, then SIGKILL after `graceMs` (default 15 s); resolves when the process has exited
   * (and its temporary data directory, if `startService` made one, is removed).
   */
  stop(graceMs?: number): Promise<void>;
}

/** VmRSS of a process in KiB, or 0 when it cannot be read (process gone, no /proc). */
export function rssKibOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/**
 * utime + stime of a process from /proc/<pid>/stat, in seconds; NaN when it cannot be read. With
 * `tid`, of that thread alone (/proc/<pid>/task/<tid>/stat); the main thread's tid is the pid:
 * the event loop, without the thread pool, worker threads and V8's helper threads.
 */
export function cpuSecondsOf(pid: number | undefined, tid?: number | string): number {
  if (pid === undefined) return NaN;
  try {
    const stat = fs.readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** CPU seconds of the threads of one name, and how many threads there are. */
export interface ThreadCpu {
  readonly seconds: number;
  readonly threads: number;
}

/** CPU seconds of each thread of `pid` by thread name, as ServiceInstance.threadCpuSeconds. */
export function threadCpuSecondsOf(pid: number | undefined): Record<string, ThreadCpu> {
  const out: Record<string, ThreadCpu> = {};
  if (pid === undefined) return out;
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let name: string;
    try {
      name = tid === String(pid) ? 'main' : fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue; // exited meanwhile
    }
    const seconds = cpuSecondsOf(pid, tid);
    if (Number.isNaN(seconds)) continue;
    const key = name === 'node' ? 'other' : name;
    out[key] = { seconds: (out[key]?.seconds ?? 0) + seconds, threads: (out[key]?.threads ?? 0) + 1 };
  }
  return out;
}

/**
 * CPU time (user + system, seconds) of every process named `postgres` on this machine: the local
 * server's postmaster, its backends and helpers. Sample before and after a run; the difference
 * is the database's share of the run (backends that exit in between drop out of the sum, so
 * sample while the pool's connections are open). NaN without /proc.
 */
export function postgresCpuSeconds(): number {
  return processCpuSeconds('postgres');
}

/** Process ids of every process named `comm` on this machine; undefined without /proc. */
function processesNamed(comm: string): number[] | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  return entries.filter((e) => {
    if (!/^\d+$/.test(e)) return false;
    try {
      return fs.readFileSync(`/proc/${e}/comm`, 'utf8').trim() === comm;
    } catch {
      return false;
    }
  }).map(Number);
}

/**
 * The glibc allocator settings in the local PostgreSQL server's environment (docs/deployment.md
 * §10 recommends three), as `NAME=value` pairs; "glibc defaults" when there are none, or
 * undefined when no server process's environment is readable (another user, no /proc).
 */
export function postgresAllocatorSettings(): string | undefined {
  for (const pid of processesNamed('postgres') ?? []) {
    try {
      const vars = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((v) => v.startsWith('MALLOC_') || v.startsWith('GLIBC_TUNABLES='));
      return vars.length === 0 ? 'glibc defaults' : vars.sort().join(' ');
    } catch {
      continue;
    }
  }
  return undefined;
}

/** CPU seconds of every process named `comm` (e.g. redis-server), as postgresCpuSeconds. */
export function processCpuSeconds(comm: string): number {
  const pids = processesNamed(comm);
  if (pids === undefined) return NaN;
  let total = 0;
  for (const pid of pids) {
    const s = cpuSecondsOf(pid);
    if (!Number.isNaN(s)) total += s;
  }
  return total;
}

/**
 * Starts `src/main.ts` with the environment given; resolves once /readyz answers 200 (rejects,
 * killing the child, if it exits first or is not ready within 30 s). Without `DATA_DIR` in `env`
 * it gets a fresh temporary data directory; pass one to share keys between instances.
 */
/** This process's glibc allocator settings, for the service's environment. */
function mallocEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && (e[0] === 'GLIBC_TUNABLES' || e[0].startsWith('MALLOC_'))));
}

export async function startService(env: Record<string, string>): Promise<ServiceInstance> {
  const port = await freePort();
  const ownDataDir = env.DATA_DIR === undefined;
  const dataDir = env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-data-'));
  // BENCH_NODE_ARGS: extra node flags for the service (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_SERVICE=dist: the compiled build the Dockerfile runs (`npm run build` first) instead of
  // the source through tsx; two interleaved pairs on one host gave 178 and 183/s against 210 and 167/s.
  const entry = process.env.BENCH_SERVICE === 'dist' ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, [...extra, ...entry], {
    cwd: ROOT,
    // glibc's allocator settings (GLIBC_TUNABLES, MALLOC_*) pass through, to compare them.
    env: { ...mallocEnv(), PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async (graceMs = 15_000): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    // A data directory made here (keys, lock) goes with the instance; a given one is the caller's.
    if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  let ready = false;
  for (let i = 0; i < 300 && !ready; i++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`service exited with ${child.exitCode ?? child.signalCode}`);
    }
    try {
      ready = (await fetch(`${url}/readyz`)).ok;
    } catch {
      // not listening yet
    }
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
  if (!ready) {
    await stop(2000);
    throw new Error(`service on ${url} was not ready within 30 s`);
  }
  return {
    url,
    child,
    rssMb: () => Math.round(rssKibOf(child.pid) / 1024),
    rssKib: () => rssKibOf(child.pid),
    cpuSeconds: () => cpuSecondsOf(child.pid),
    mainThreadCpuSeconds: () => cpuSecondsOf(child.pid, child.pid),
    threadCpuSeconds: () => threadCpuSecondsOf(child.pid),
    stop,
  };
}

/**
 * Seeds a user (with the given roles) in an organisation through the domain functions, with a
 * password hashed at `cost` (log2 N, as PASSWORD_HASH_COST); returns its id.
 */
export async function seedUser(url: string, input: { organizationId: string; email: string; password: string; cost: number; roles: readonly Role[] }): Promise<string> {
  const passwordHash = await hashPassword(input.password, input.cost);
  const database = await openDatabase({ kind: 'postgres', connectionString: url, poolMax: 1 });
  try {
    const audit = { actor: SYSTEM_ACTOR, request: null, now: new Date() };
    return await database.db.transaction().execute(async (trx) => (await createUser(trx, { email: input.email, organizationId: input.organizationId, roles: input.roles, passwordHash }, audit)).id);
  } finally {
    await database.close();
  }
}

/** A client-credentials access token from the running service. */
export async function token(url: string, client: { id: string; secret: string }): Promise<string> {
  const res = await fetch(`${url}/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export interface RunFigures {
  readonly name: string;
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly total: number;
}

/** One autocannon run, summarised. */
export async function run(name: string, opts: autocannon.Options): Promise<RunFigures> {
  const result = await autocannon({ ...opts });
  return {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: result.requests.total,
  };
}

export function printTable(rows: readonly RunFigures[]): void {
  process.stdout.write(`${'run'.padEnd(34)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'non-2xx'.padStart(8)} ${'errors'.padStart(7)} ${'total'.padStart(8)}\n`);
  for (const r of rows) {
    process.stdout.write(`${r.name.padEnd(34)} ${String(r.requestsPerSecond).padStart(8)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(8)} ${String(r.non2xx).padStart(8)} ${String(r.errors).padStart(7)} ${String(r.total).padStart(8)}\n`);
  }
}

/** Rate limits high enough not to throttle a benchmark (loopback only). */
export const UNLIMITED = { RATE_LIMIT_GLOBAL_PER_IP: '1000000', RATE_LIMIT_PER_PRINCIPAL: '1000000', RATE_LIMIT_EVALUATE: '1000000', RATE_LIMIT_LOGIN: '1000000' };
