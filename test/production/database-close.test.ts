/**
 * `Database.close()` on PostgreSQL ends the pg pool whether or not Kysely ran a query: a process
 * that used raw SQL only (the migration runner, `node dist/cli/migrate.js`) exits as soon as it is
 * done, not after the pool's 30 s idle timeout (src/db/database.ts).
 */
import { spawn } from 'node:child_process';
import { ROOT } from '../support/process.js';

const url = process.env.TEST_DATABASE_URL;
const onPostgres = url ? describe : describe.skip;

/** Runs an ES module script (TypeScript imports through tsx) in a child process; resolves with its exit code, output and duration. */
function runScript(script: string): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DB_URL: url ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    }),
  );
}

onPostgres('Database.close() on PostgreSQL', () => {
  it('lets a process that used raw SQL only exit promptly (well within the pool idle timeout of 30 s)', async () => {
    const { code, output, ms } = await runScript(`
      import { openDatabase } from './src/db/database.ts';
      const database = await openDatabase({ kind: 'postgres', connectionString: process.env.DB_URL, poolMax: 1 });
      const [row] = await database.raw.query('SELECT 1 AS one');
      await database.raw.transaction((tx) => tx.query('SELECT 2 AS two'));
      await database.close();
      console.log('closed', row.one);
    `);
    expect(output).toContain('closed 1');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(20_000);
  });

  it('closes a pool Kysely already ended, and a second close(), without an error', async () => {
    const { code, output } = await runScript(`
      import { sql } from 'kysely';
      import { openDatabase } from './src/db/database.ts';
      const database = await openDatabase({ kind: 'postgres', connectionString: process.env.DB_URL, poolMax: 1 });
      await database.raw.query('SELECT 1');
      await sql\`SELECT 1\`.execute(database.db);
      await database.close();
      await database.close();
      console.log('closed twice');
    `);
    expect(output).toContain('closed twice');
    expect(code).toBe(0);
  });
});
