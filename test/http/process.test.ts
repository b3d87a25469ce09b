import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServiceProcess } from '../support/process.js';

describe('the service process on an embedded data directory', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'svc-data-'));
  const first = startServiceProcess({ DATA_DIR: dataDir });
  afterAll(async () => {
    if (first.child.exitCode === null) {
      first.child.kill('SIGKILL');
      await first.exited;
    }
  });

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
