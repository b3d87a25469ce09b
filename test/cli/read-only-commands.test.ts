/**
 * The read-only commands create nothing: `keys list`, `keys jwks`, `audit-verify` and `verify`,
 * spawned as an operator runs them (bin/hipaa-ai-risk.js, in a scratch working directory, with
 * only the variables given), pointed at a data directory that holds no key or no database. Each
 * must fail with one line naming what is missing (exit 1), and leave the directories exactly as
 * they were: no key (a new key in a JWKS would be published as the service's; a new key under
 * audit-verify made every signed checkpoint "invalid"), no key directory, no database. Only the
 * service's start and `keys rotate` create keys.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createCheckpoint } from '../../src/audit/checkpoint.js';
import { recordAuditEventAlone } from '../../src/audit/record.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { REPORT_SCHEMA } from '../../src/reports/report.js';
import { signReport } from '../../src/signing/jws.js';
import { loadReportKeyRing, type ReportKeyRing } from '../../src/signing/report-keys.js';
import { canonicalJsonBytes } from '../../src/util/canonical-json.js';
import { makeTempDir, REPO_ROOT, run, type RunResult } from '../signing/helpers.js';
import { sampleDownloadEvent as event } from '../support/audit-events.js';
import { createTestDatabase, DATABASE_KINDS, type DatabaseKind, type TestDatabase } from '../support/databases.js';

const BIN = path.join(REPO_ROOT, 'bin', 'hipaa-ai-risk.js');
/** For tests and hooks that start PGlite (in the test or in the child): 10–30 s each on two busy cores. */
const PGLITE_TIMEOUT_MS = 180_000;

/** Runs the CLI in `cwd` with PATH, HOME and `env` only (no DATA_DIR unless given). */
function cli(cwd: string, args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
}

/** Every path under `dir`, relative and sorted (directories end with "/"); [] when it does not exist. */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (sub: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.join(sub, entry.name);
      if (entry.isDirectory()) {
        out.push(`${rel}/`);
        walk(rel);
      } else out.push(rel);
    }
  };
  walk('');
  return out.sort();
}

/** A fresh directory, as the child's process.cwd() reports it (symbolic links resolved). */
function freshDir(parent: string, name: string): string {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir);
  return fs.realpathSync(dir);
}

function noKeys(purpose: 'report' | 'token', dir: string, setting: string): string {
  const prefix = purpose === 'report' ? 'REPORT_SIGNING' : 'TOKEN_SIGNING';
  return `error: no ${purpose}-signing keys in ${dir}: point ${setting} at the service's data directory, or set ${prefix}_KEY_FILE as the service has it\n`;
}

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let root: string;
beforeAll(async () => {
  tmp = await makeTempDir('read-only-cli-');
  root = fs.realpathSync(tmp.dir);
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('keys list and keys jwks (spawned)', () => {
  it.each([
    ['list', 'report'],
    ['jwks', 'report'],
    ['list', 'token'],
    ['jwks', 'token'],
  ] as const)('keys %s --purpose %s without DATA_DIR: exit 1 naming ./data/keys, and no ./data', async (action, purpose) => {
    const cwd = freshDir(root, `cwd-${action}-${purpose}`);
    const result = await cli(cwd, ['keys', action, '--purpose', purpose]);
    expect(result).toEqual({ code: 1, stdout: '', stderr: noKeys(purpose, path.join(cwd, 'data', 'keys', `${purpose}-signing`), '--data-dir or DATA_DIR') });
    expect(tree(cwd)).toEqual([]);
  });

  it('creates no key directory in an empty DATA_DIR, nor a missing --data-dir', async () => {
    const cwd = freshDir(root, 'cwd-data-dir');
    const empty = freshDir(root, 'empty-data');
    const jwks = await cli(cwd, ['keys', 'jwks'], { DATA_DIR: empty });
    expect(jwks).toEqual({ code: 1, stdout: '', stderr: noKeys('report', path.join(empty, 'keys', 'report-signing'), '--data-dir or DATA_DIR') });
    const missing = path.join(root, 'missing-data');
    const list = await cli(cwd, ['keys', 'list', '--data-dir', missing]);
    expect(list).toEqual({ code: 1, stdout: '', stderr: noKeys('report', path.join(missing, 'keys', 'report-signing'), '--data-dir or DATA_DIR') });
    expect([tree(cwd), tree(empty), fs.existsSync(missing)]).toEqual([[], [], false]);
  });

  it('fails on a missing key file configured for production, creating nothing', async () => {
    const cwd = freshDir(root, 'cwd-key-file');
    const result = await cli(cwd, ['keys', 'jwks'], { REPORT_SIGNING_KEY_FILE: path.join(root, 'missing.pem') });
    expect(result).toEqual({ code: 1, stdout: '', stderr: `error: signing keys: cannot read the private key at ${path.join(root, 'missing.pem')}\n` });
    expect(tree(cwd)).toEqual([]);
  });

  it('rotate creates the first key; list and jwks then read it and add nothing', async () => {
    const cwd = freshDir(root, 'cwd-rotate');
    const dataDir = path.join(root, 'rotated-data');
    const rotate = await cli(cwd, ['keys', 'rotate'], { DATA_DIR: dataDir });
    expect(rotate.code).toBe(0);
    expect(rotate.stderr).toBe(`created the first report signing key in ${path.join(dataDir, 'keys', 'report-signing')}\n`);
    const kid = rotate.stdout.trim();
    const files = ['keys/', 'keys/report-signing/', 'keys/report-signing/000001.key.json'];
    expect(tree(dataDir)).toEqual(files);
    const jwks = await cli(cwd, ['keys', 'jwks'], { DATA_DIR: dataDir });
    expect(jwks.code).toBe(0);
    expect((JSON.parse(jwks.stdout) as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toEqual([kid]);
    const list = await cli(cwd, ['keys', 'list', '--data-dir', dataDir]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`current  ${kid}`);
    expect([tree(dataDir), tree(cwd)]).toEqual([files, []]);
  });
});

describe('verify (spawned)', () => {
  it('verifies a report with no database, key directory or DATA_DIR, creating nothing', async () => {
    const cwd = freshDir(root, 'cwd-verify');
    const files = freshDir(root, 'verify-files');
    const ring = await loadReportKeyRing({ kind: 'directory', dir: path.join(files, 'keys') });
    const report = canonicalJsonBytes({ schema: REPORT_SCHEMA, reportId: 'rep-1', assessment: { id: 'asm-1', revision: 1, title: 'Scribe' }, signing: { alg: 'EdDSA', kid: ring.current.kid } });
    fs.writeFileSync(path.join(files, 'report.json'), report);
    fs.writeFileSync(path.join(files, 'report.jws'), await signReport(report, ring.current));
    fs.writeFileSync(path.join(files, 'jwks.json'), JSON.stringify(ring.jwks()));
    const before = tree(files);
    const result = await cli(cwd, ['verify', path.join(files, 'report.json'), path.join(files, 'report.jws'), '--jwks', path.join(files, 'jwks.json')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`VALID: the report is signed by key ${ring.current.kid}`);
    expect([tree(cwd), tree(files)]).toEqual([[], before]);
  });
});


/** What is in an embedded data directory beside its database (whose files PGlite itself touches). */
function besideDatabase(dataDir: string): string[] {
  return tree(dataDir).filter((p) => p === 'pgdata/' || !p.startsWith('pgdata/'));
}

describe('audit-verify without an embedded database (spawned)', () => {
  it('says "no database at" the path it looked in, and creates neither ./data nor DATA_DIR', async () => {
    const cwd = freshDir(root, 'cwd-audit-no-db');
    const bare = await cli(cwd, ['audit-verify']);
    const hint = ": point DATA_DIR at the service's data directory, or DATABASE_URL at its PostgreSQL database\n";
    expect(bare).toEqual({ code: 1, stdout: '', stderr: `error: no database at ${path.join(cwd, 'data', 'pgdata')}${hint}` });
    const missing = path.join(root, 'audit-missing-data');
    const named = await cli(cwd, ['audit-verify', '--json'], { DATA_DIR: missing });
    expect(named).toEqual({ code: 1, stdout: '', stderr: `error: no database at ${path.join(missing, 'pgdata')}${hint}` });
    const empty = freshDir(root, 'audit-empty-data');
    expect((await cli(cwd, ['audit-verify'], { DATA_DIR: empty })).stderr).toBe(`error: no database at ${path.join(empty, 'pgdata')}${hint}`);
    expect([tree(cwd), fs.existsSync(missing), tree(empty)]).toEqual([[], false, []]);
  }, PGLITE_TIMEOUT_MS);

  it('says an embedded database that was never migrated is not migrated, and adds no key', async () => {
    const cwd = freshDir(root, 'cwd-audit-unmigrated');
    const dataDir = path.join(root, 'unmigrated-data');
    await (await openDatabase({ kind: 'pglite', dataDir })).close();
    expect(besideDatabase(dataDir)).toEqual(['pgdata/']);
    const result = await cli(cwd, ['audit-verify'], { DATA_DIR: dataDir });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: the embedded database in ${dataDir} is not migrated (it holds no audit trail): point DATA_DIR at the service's database, or run \`npm run migrate\` first\n`,
    });
    expect([besideDatabase(dataDir), tree(cwd)]).toEqual([['pgdata/'], []]);
  }, PGLITE_TIMEOUT_MS);
});

(process.env.TEST_DATABASE_URL ? describe : describe.skip)('audit-verify on a PostgreSQL database never migrated (spawned)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres', { migrate: false });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('says it is not migrated instead of a SQL error, and creates nothing', async () => {
    const cwd = freshDir(root, 'cwd-audit-pg-unmigrated');
    const result = await cli(cwd, ['audit-verify'], { DATABASE_URL: t.url! });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: "error: the database at DATABASE_URL is not migrated (it holds no audit trail): point DATABASE_URL at the service's database, or run `npm run migrate` first\n",
    });
    expect(tree(cwd)).toEqual([]);
  });
});

describe.each(DATABASE_KINDS)('audit-verify on %s with the keys elsewhere (spawned)', (kind: DatabaseKind) => {
  let cwd: string;
  let dataDir: string;
  let env: Record<string, string>;
  let open: () => Promise<Database>;
  let done: (database: Database) => Promise<void>;
  let drop: () => Promise<void>;
  let ring: ReportKeyRing;
  let pemFile: string;
  /** Where the CLI looks for keys: DATA_DIR for PGlite; ./data (no DATA_DIR) with DATABASE_URL. */
  let keyDir: string;
  /** What must not change: the data directory beside the database, and the working directory. */
  const untouched = (): unknown => [besideDatabase(dataDir), tree(cwd)];
  let before: unknown;

  beforeAll(async () => {
    cwd = freshDir(root, `cwd-audit-${kind}`);
    // The service's keys, somewhere the CLI is not pointed at.
    ring = await loadReportKeyRing({ kind: 'directory', dir: path.join(root, `service-keys-${kind}`) });
    pemFile = path.join(root, `service-key-${kind}.pem`);
    fs.writeFileSync(pemFile, ring.current.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    if (kind === 'pglite') {
      dataDir = path.join(root, 'audit-data');
      open = () => openDatabase({ kind: 'pglite', dataDir });
      done = (database) => database.close();
      drop = () => Promise.resolve();
      env = { DATA_DIR: dataDir };
      keyDir = path.join(dataDir, 'keys', 'report-signing');
    } else {
      const t = await createTestDatabase('postgres');
      dataDir = path.join(root, 'audit-data-unused');
      open = () => Promise.resolve(t.database);
      done = () => Promise.resolve();
      drop = () => t.drop();
      env = { DATABASE_URL: t.url! };
      keyDir = path.join(cwd, 'data', 'keys', 'report-signing');
    }
    const database = await open();
    if (kind === 'pglite') await migrate(database);
    for (let i = 1; i <= 3; i++) await recordAuditEventAlone(database.db, event(i), new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
    await done(database);
    before = untouched();
  }, PGLITE_TIMEOUT_MS);
  afterAll(async () => {
    await drop();
  });

  it('verifies a trail without signed checkpoints without a key, and creates none', async () => {
    const result = await cli(cwd, ['audit-verify'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^audit trail valid: 3 events, 0 signed checkpoints, head 3 [0-9a-f]{64}\n$/);
    expect(untouched()).toEqual(before);
  }, PGLITE_TIMEOUT_MS);

  it('with a signed checkpoint, names the key directory it found empty instead of calling the signature invalid, and creates no key', async () => {
    const database = await open();
    try {
      expect(await createCheckpoint(database.db, ring.current, { now: new Date(Date.UTC(2026, 0, 1, 0, 1)) })).not.toBeNull();
    } finally {
      await done(database);
    }
    const result = await cli(cwd, ['audit-verify'], env);
    expect(result).toEqual({ code: 1, stdout: '', stderr: noKeys('report', keyDir, 'DATA_DIR') });
    expect(fs.existsSync(keyDir)).toBe(false);
    expect(untouched()).toEqual(before);
  }, PGLITE_TIMEOUT_MS);

  it('verifies the signed checkpoint with the service key (REPORT_SIGNING_KEY_FILE), creating nothing', async () => {
    const result = await cli(cwd, ['audit-verify'], { ...env, REPORT_SIGNING_KEY_FILE: pemFile });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^audit trail valid: 4 events, 1 signed checkpoints, head 4 [0-9a-f]{64}\n$/);
    expect(untouched()).toEqual(before);
  }, PGLITE_TIMEOUT_MS);
});
