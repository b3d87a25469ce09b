import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rotateKeyDirectory } from '../../src/signing/key-ring.js';
import { reportKeyDirectory } from '../../src/signing/report-keys.js';
import { tokenKeyDirectory } from '../../src/signing/token-keys.js';
import { example } from '../support/fixtures.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';

async function killIfRunning(service: ServiceProcess): Promise<void> {
  if (service.child.exitCode === null) {
    service.child.kill('SIGKILL');
    await service.exited;
  }
}

describe('the service process on an embedded data directory', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'svc-data-'));
  // Started in beforeAll, not while the file is collected: a run filtered to other tests (-t)
  // skips this block's afterAll and would leave the process running.
  let first: ServiceProcess;
  beforeAll(() => {
    first = startServiceProcess({ DATA_DIR: dataDir });
  });
  afterAll(() => killIfRunning(first));

  it('starts with no configuration, creates the data directory and serves /healthz and /readyz', async () => {
    const url = await first.ready;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(true);
    expect(fs.readFileSync(path.join(dataDir, 'service.lock'), 'utf8')).toBe(String(first.child.pid));
  });

  it('refuses a second process on the same data directory with a clear message, and the first keeps serving', async () => {
    const url = await first.ready;
    const second = startServiceProcess({ DATA_DIR: dataDir });
    const code = await second.exited;
    expect(code).not.toBe(0);
    expect(second.output()).toContain(`is in use by another process (pid ${first.child.pid})`);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('shuts down gracefully on SIGTERM: exit 0, lock released, data kept', async () => {
    await first.ready;
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'service.lock'))).toBe(false);
    const again = startServiceProcess({ DATA_DIR: dataDir });
    const url = await again.ready;
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { migrations: { applied: number } };
    expect(ready.migrations.applied).toBeGreaterThan(0);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('fails fast naming the variable when the configuration is invalid', async () => {
    const bad = startServiceProcess({ DATA_DIR: dataDir, PORT: 'eighty' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('PORT must be a whole number');
  });
});

describe('the service process beside the keys CLI', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'svc-keys-'));
  const email = 'admin@keys.test';
  const password = 'Rotate-Keys-While-Running-42';
  let service: ServiceProcess;
  beforeAll(() => {
    service = startServiceProcess({ DATA_DIR: dataDir, ADMIN_EMAIL: email, ADMIN_PASSWORD: password });
  });
  afterAll(() => killIfRunning(service));

  it('signs with, publishes and records the keys `keys rotate` adds, without a restart (PGlite: no deadlock)', async () => {
    const url = await service.ready;
    const before = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    // What `npm run keys -- rotate` (and `--purpose token`) does, while the service runs.
    const report = (await rotateKeyDirectory('report', reportKeyDirectory(dataDir))).current.kid;
    const token = (await rotateKeyDirectory('token', tokenKeyDirectory(dataDir))).current.kid;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the service lists the directory at most once a second

    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([report, ...before.keys.map((k) => k.kid)]);

    const login = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    expect(login.status).toBe(200);
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const cookies = login.headers.getSetCookie().map((c) => c.split(';')[0]!);
    const access = cookies.find((c) => c.startsWith('hipaa_access='))!.slice('hipaa_access='.length);
    expect((JSON.parse(Buffer.from(access.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid).toBe(token);

    // The report key is loaded inside the submission's transaction; publishing it must not wait
    // for that transaction (PGlite has one connection).
    const headers = { 'content-type': 'application/json', cookie: cookies.join('; '), 'x-csrf-token': csrfToken };
    const created = await fetch(`${url}/v1/assessments`, { method: 'POST', headers, body: JSON.stringify({ title: 'After keys rotate', ...example('well-controlled') }), signal: AbortSignal.timeout(30_000) });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { report: { kid: string } }).report.kid).toBe(report);

    const listed = async (): Promise<string[]> => ((await (await fetch(`${url}/v1/keys`, { headers })).json()) as { items: { kid: string; current: boolean }[] }).items.filter((k) => k.current).map((k) => k.kid).sort();
    for (let i = 0; i < 50 && (await listed()).length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await listed()).toEqual([report, token].sort());
    // Each rotation is in the audit trail once (read as the administrator: the whole trail).
    const trail = (await (await fetch(`${url}/v1/audit/events?action=key.rotated`, { headers })).json()) as { items: { action: string; target: { id: string } | null }[] };
    const rotations = trail.items.filter((e) => e.action === 'key.rotated').map((e) => e.target?.id).sort();
    expect(rotations).toEqual([report, token].sort());
  });
});
