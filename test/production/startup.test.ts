/**
 * What `npm start` / `node dist/main.js` does with production settings and with bad signing
 * settings (src/service.ts startService, src/main.ts), as a child process: bad keys or
 * certificates are refused in one line before the database is touched, and production refuses the
 * embedded database unless it is chosen explicitly.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';

const PRODUCTION = { NODE_ENV: 'production', PUBLIC_URL: 'https://risk.example.org' };

function freshDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'svc-startup-'));
}

/** Runs the service to its exit; returns the exit code and its whole output (stdout + stderr). */
async function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const service = startServiceProcess(env);
  const timer = setTimeout(() => service.child.kill('SIGKILL'), 30_000);
  const code = await service.exited;
  clearTimeout(timer);
  return { code, output: service.output() };
}

/** Asserts the output is exactly one `error: …` line, without a stack trace. */
function expectOneErrorLine(output: string, pattern: RegExp): void {
  const lines = output.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toContain('fatal:');
}


/** How many tables the database at `url` has in its public schema (0: nothing was migrated). */
async function publicTables(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'");
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

describe('start-up refusals: one line, exit 1, nothing written to the database', () => {
  it('REPORT_SIGNING_KEY=garbage on a fresh embedded data directory: no database created, no administrator printed', async () => {
    const dataDir = freshDataDir();
    const { code, output } = await runToExit({ DATA_DIR: dataDir, REPORT_SIGNING_KEY: 'garbage' });
    expect(code).toBe(1);
    expectOneErrorLine(output, /^error: Invalid configuration: REPORT_SIGNING_KEY does not give a usable report-signing key: not a PEM private key$/);
    expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
    expect(output).not.toMatch(/password/i);
  });

  it('an unreadable PDF_SIGNING_P12_FILE is named in one line, before the embedded database is created', async () => {
    const dataDir = freshDataDir();
    const { code, output } = await runToExit({ DATA_DIR: dataDir, PDF_SIGNING_P12_FILE: path.join(dataDir, 'missing.p12'), PDF_SIGNING_P12_PASSPHRASE: 'x' });
    expect(code).toBe(1);
    expectOneErrorLine(output, /^error: Invalid configuration: PDF_SIGNING_P12_FILE does not give a usable PDF signing certificate: cannot read the PDF signing PKCS#12 at /);
    expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
  });

  it('HOST that is no address (999.1.1.1) is refused before the embedded database is created', async () => {
    const dataDir = freshDataDir();
    const { code, output } = await runToExit({ DATA_DIR: dataDir, HOST: '999.1.1.1' });
    expect(code).toBe(1);
    expectOneErrorLine(output, /^error: Invalid configuration: HOST must be an IP address or a host name, got "999\.1\.1\.1"$/);
    expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
  });

  it('METRICS_PORT equal to PORT is refused before the embedded database is created', async () => {
    const dataDir = freshDataDir();
    const { code, output } = await runToExit({ DATA_DIR: dataDir, PORT: '4599', METRICS_PORT: '4599' });
    expect(code).toBe(1);
    expectOneErrorLine(output, /^error: Invalid configuration: METRICS_PORT must differ from PORT \(4599\)$/);
    expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
  });

  it('a PORT another process listens on is named in one line, before the embedded database is created', async () => {
    const dataDir = freshDataDir();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const { code, output } = await runToExit({ DATA_DIR: dataDir, LOG_LEVEL: 'warn', PORT: String(port) });
      expect(code).toBe(1);
      expectOneErrorLine(output, new RegExp(`^error: Invalid configuration: PORT ${port} cannot be bound on 127\\.0\\.0\\.1: address already in use$`));
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
    expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
  });

  it('a database that refuses the connection: one line naming DATABASE_URL with host and database, no credentials', async () => {
    const { code, output } = await runToExit({ DATA_DIR: freshDataDir(), LOG_LEVEL: 'warn', DATABASE_URL: 'postgres://app:S3cretUserInfo@127.0.0.1:1/hipaa?password=S3cretQuery' });
    expect(code).toBe(1);
    expectOneErrorLine(output, /^error: cannot connect to the database of DATABASE_URL \(127\.0\.0\.1:1\/hipaa\): connect ECONNREFUSED 127\.0\.0\.1:1$/);
    expect(output).not.toContain('S3cret');
  });

  const onPostgres = process.env.TEST_DATABASE_URL ? describe : describe.skip;
  if (!process.env.TEST_DATABASE_URL) process.stdout.write('TEST_DATABASE_URL not set: the start-up refusals on PostgreSQL are skipped\n');
  onPostgres('on PostgreSQL (TEST_DATABASE_URL)', () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await createTestDatabase('postgres', { migrate: false });
    });
    afterAll(() => t?.drop());

    it('REPORT_SIGNING_KEY=garbage with a fresh database: no migration ran, no table and no administrator exist', async () => {
      const { code, output } = await runToExit({ DATA_DIR: freshDataDir(), DATABASE_URL: t.url!, ADMIN_EMAIL: 'boss@example.org', ADMIN_PASSWORD: 'violet-Lantern-orbit-93', REPORT_SIGNING_KEY: 'garbage' });
      expect(code).toBe(1);
      expectOneErrorLine(output, /^error: Invalid configuration: REPORT_SIGNING_KEY /);
      expect(await publicTables(t.url!)).toBe(0);
    });

    it('an unknown database: one line naming DATABASE_URL and what the server said, no credentials', async () => {
      const unknownDb = new URL(t.url!);
      unknownDb.pathname = '/no_such_database_here';
      unknownDb.searchParams.set('password', 'S3cretQuery');
      const { code, output } = await runToExit({ DATA_DIR: freshDataDir(), LOG_LEVEL: 'warn', DATABASE_URL: unknownDb.toString() });
      expect(code).toBe(1);
      expectOneErrorLine(output, /^error: cannot connect to the database of DATABASE_URL \([^)]+:\d+\/no_such_database_here\): database "no_such_database_here" does not exist$/);
      expect(output).not.toContain('S3cret');
    });

    it('an unknown role: one line naming DATABASE_URL and what the server said, no credentials', async () => {
      const unknownRole = new URL(t.url!);
      unknownRole.username = 'no_such_role_here';
      unknownRole.password = 'S3cretUserInfo';
      const { code, output } = await runToExit({ DATA_DIR: freshDataDir(), LOG_LEVEL: 'warn', DATABASE_URL: unknownRole.toString() });
      expect(code).toBe(1);
      expectOneErrorLine(output, /^error: cannot connect to the database of DATABASE_URL \([^)]+\/t_\w+\): role "no_such_role_here" does not exist$/);
      expect(output).not.toContain('S3cret');
    });

    it('METRICS_PORT taken by another process: refused before any migration ran or configuration was recorded', async () => {
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as net.AddressInfo).port;
      try {
        const { code, output } = await runToExit({ DATA_DIR: freshDataDir(), LOG_LEVEL: 'warn', DATABASE_URL: t.url!, METRICS_PORT: String(port) });
        expect(code).toBe(1);
        expectOneErrorLine(output, new RegExp(`^error: Invalid configuration: METRICS_PORT ${port} cannot be bound on 127\\.0\\.0\\.1: address already in use$`));
      } finally {
        await new Promise<void>((resolve) => taken.close(() => resolve()));
      }
      expect(await publicTables(t.url!)).toBe(0);
    });
  });
});

describe('NODE_ENV=production and the embedded database', () => {
  it('refuses to start without DATABASE_URL, naming it, before creating anything in the data directory', async () => {
    const dataDir = freshDataDir();
    const { code, output } = await runToExit({ ...PRODUCTION, DATA_DIR: dataDir });
    expect(code).toBe(1);
    expectOneErrorLine(output, /^error: Invalid configuration: DATABASE_URL must be set in production .*ALLOW_EMBEDDED_DATABASE=true/);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  describe('with ALLOW_EMBEDDED_DATABASE=true', () => {
    const dataDir = freshDataDir();
    const reportKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    let service: ServiceProcess;
    beforeAll(() => {
      service = startServiceProcess({ ...PRODUCTION, DATA_DIR: dataDir, ALLOW_EMBEDDED_DATABASE: 'true', REPORT_SIGNING_KEY: reportKey });
    });
    afterAll(async () => {
      if (service.child.exitCode === null) {
        service.child.kill('SIGTERM');
        await service.exited;
      }
    });

    it('starts on PGlite and warns about each signing identity generated in the data directory, not about the one from the environment', async () => {
      const url = await service.ready;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const warnings = service
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: string; msg: string })
        .filter((l) => l.level === 'warn')
        .map((l) => l.msg);
      expect(warnings).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/token-signing keys are generated and kept in the data directory.*TOKEN_SIGNING_KEY_FILE/),
          expect.stringMatching(/PDF signing certificate is self-signed.*PDF_SIGNING_P12_FILE/),
          expect.stringMatching(/embedded PGlite database \(ALLOW_EMBEDDED_DATABASE=true\)/),
        ]),
      );
      expect(warnings.filter((m) => m.includes('report-signing keys are generated'))).toEqual([]);
    });
  });
});
