/**
 * `hipaa-ai-risk migrate`: the migration runner is one of the CLI's commands (src/cli/main.ts),
 * and on PostgreSQL the process ends as soon as it is done, although the `bin/` entry point waits
 * for the event loop to drain (it sets process.exitCode) and the runner uses raw SQL only: the
 * pool is ended by `Database.close()` (src/db/database.ts), not after its 30 s idle timeout.
 */
import { spawn } from 'node:child_process';
import { main, type CliIo } from '../../src/cli/main.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { ROOT } from '../support/process.js';

function bufferIo(env: Record<string, string> = {}): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    env,
    out: () => out,
    err: () => err,
  };
}

describe('hipaa-ai-risk migrate', () => {
  it('is listed among the commands and answers --help', async () => {
    const list = bufferIo();
    expect(await main(['--help'], list)).toBe(0);
    expect(list.out()).toMatch(/^ {2}migrate +apply pending database migrations/m);
    const help = bufferIo();
    expect(await main(['migrate', '--help'], help)).toBe(0);
    expect(help.out()).toContain('Applies pending migrations');
  });

  const onPostgres = process.env.TEST_DATABASE_URL ? describe : describe.skip;
  onPostgres('on PostgreSQL (TEST_DATABASE_URL)', () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await createTestDatabase('postgres', { migrate: false });
    });
    afterAll(() => t?.drop());

    it('bin/hipaa-ai-risk.js migrate applies the migrations and the process exits promptly', async () => {
      const started = Date.now();
      const child = spawn(process.execPath, ['bin/hipaa-ai-risk.js', 'migrate'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', MIGRATION_DATABASE_URL: t.url! },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearTimeout(timer);
      expect(output).toMatch(/^Applied .*; database is at migration \d+\.$/m);
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(20_000);
    });
  });
});
