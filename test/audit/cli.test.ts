/**
 * The auditors' command-line checks of the audit trail, run through the CLI's dispatcher on real
 * databases and files: `audit-verify` (the chain in the configured database: the embedded PGlite
 * under DATA_DIR, or PostgreSQL at DATABASE_URL) and `audit-verify-export` (an export file,
 * offline), with their exit codes, help and usage errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { createCheckpoint } from '../../src/audit/checkpoint.js';
import { exportAuditTrail } from '../../src/audit/export.js';
import { recordAuditEventAlone } from '../../src/audit/record.js';
import { main, type CliIo } from '../../src/cli/main.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { loadReportKeyRing, reportKeyDirectory } from '../../src/signing/report-keys.js';
import { sampleDownloadEvent as event } from '../support/audit-events.js';
import { createTestDatabase, DATABASE_KINDS, type DatabaseKind, type TestDatabase } from '../support/databases.js';

async function cli(args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env };
  const code = await main(args, io);
  return { code, stdout, stderr };
}


/** One database of `kind` holding six events, and the environment that makes the CLI use it. */
async function trailOn(kind: DatabaseKind, dataDir: string): Promise<{ env: Record<string, string>; open: () => Promise<Database>; drop: () => Promise<void> }> {
  const write = async (database: Database): Promise<void> => {
    for (let i = 1; i <= 6; i++) await recordAuditEventAlone(database.db, event(i), new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
  };
  if (kind === 'pglite') {
    // The embedded database under DATA_DIR, as `npm start` leaves it; closed while the CLI runs.
    const open = (): Promise<Database> => openDatabase({ kind: 'pglite', dataDir });
    const database = await open();
    await migrate(database);
    await write(database);
    await database.close();
    return { env: { DATA_DIR: dataDir }, open, drop: () => Promise.resolve() };
  }
  const t: TestDatabase = await createTestDatabase('postgres');
  await write(t.database);
  return { env: { DATA_DIR: dataDir, DATABASE_URL: t.url! }, open: () => Promise.resolve(t.database), drop: () => t.drop() };
}

describe.each(DATABASE_KINDS)('hipaa-ai-risk audit-verify on %s', (kind) => {
  let dataDir: string;
  let trail: Awaited<ReturnType<typeof trailOn>>;
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-cli-'));
    trail = await trailOn(kind, path.join(dataDir, 'data'));
  });
  afterAll(async () => {
    await trail.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits 0 with the number of events when the chain is intact, also as JSON', async () => {
    const text = await cli(['audit-verify'], trail.env);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(/^audit trail valid: 6 events, 0 signed checkpoints, head 6 [0-9a-f]{64}\n$/);
    const json = await cli(['audit-verify', '--json'], trail.env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, checkedEvents: 6, brokenAt: null });
  });

  it('prints its help with --help (exit 0) and refuses an unknown option with the help (exit 2)', async () => {
    const help = await cli(['audit-verify', '--help'], trail.env);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('usage: hipaa-ai-risk audit-verify [--anchor <seq>:<hash>]... [--json]');
    const bad = await cli(['audit-verify', '--since', '3'], trail.env);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toContain("Unknown option '--since'");
    expect(bad.stderr).toContain('usage: hipaa-ai-risk audit-verify [--anchor <seq>:<hash>]... [--json]');
  });

  it('detects, with an anchor kept outside the database, a tail the owner deleted, which the chain alone cannot show', async () => {
    const head = (JSON.parse((await cli(['audit-verify', '--json'], trail.env)).stdout) as { head: { seq: number; hash: string } }).head;
    expect(head.seq).toBe(6);
    const hashOf = async (seq: number): Promise<string> => {
      const database = await trail.open();
      try {
        return (await database.db.selectFrom('audit_events').select('hash').where('seq', '=', seq).executeTakeFirstOrThrow()).hash;
      } finally {
        if (kind === 'pglite') await database.close();
      }
    };
    const third = await hashOf(3);
    expect(await cli(['audit-verify', '--anchor', `6:${head.hash}`, '--anchor', `3:${third}`], trail.env)).toMatchObject({ code: 0, stderr: '' });
    // An anchor whose hash is not the chain's: rewritten.
    const other = `3:${'0'.repeat(64)}`;
    const rewritten = await cli(['audit-verify', '--anchor', other], trail.env);
    expect(rewritten).toMatchObject({ code: 1, stdout: '' });
    expect(rewritten.stderr).toBe(`audit trail BROKEN at event 3: event 3 has hash ${third}, not the ${'0'.repeat(64)} of the anchor kept for it: the chain was rewritten\n`);
    // The owner deletes the last two events with the triggers off: the chain that remains is intact.
    const database = await trail.open();
    try {
      await database.db.transaction().execute(async (trx) => {
        await sql`ALTER TABLE audit_events DISABLE TRIGGER USER`.execute(trx);
        await sql`DELETE FROM audit_events WHERE seq > 4`.execute(trx);
        await sql`ALTER TABLE audit_events ENABLE TRIGGER USER`.execute(trx);
      });
    } finally {
      if (kind === 'pglite') await database.close();
    }
    expect((await cli(['audit-verify'], trail.env)).stdout).toMatch(/^audit trail valid: 4 events/);
    const cut = await cli(['audit-verify', '--anchor', `6:${head.hash}`], trail.env);
    expect(cut).toMatchObject({ code: 1, stdout: '' });
    expect(cut.stderr).toBe('audit trail BROKEN at event 5: the chain ends at event 4, before the anchor kept for event 6: events were removed\n');
    // What is not an anchor is a usage error.
    for (const bad of ['6', `0:${head.hash}`, `6:${head.hash.toUpperCase()}`, '6:abc']) {
      const refused = await cli(['audit-verify', '--anchor', bad], trail.env);
      expect([bad, refused.code, refused.stderr]).toEqual([bad, 2, expect.stringContaining('--anchor must be <seq>:<hash>')]);
    }
  });

  it('exits 1 and names the first broken event after the owner rewrote one with the triggers off', async () => {
    const database = await trail.open();
    try {
      await database.db.transaction().execute(async (trx) => {
        await sql`ALTER TABLE audit_events DISABLE TRIGGER USER`.execute(trx);
        await sql`UPDATE audit_events SET outcome = 'error' WHERE seq = 4`.execute(trx);
        await sql`ALTER TABLE audit_events ENABLE TRIGGER USER`.execute(trx);
      });
    } finally {
      if (kind === 'pglite') await database.close();
    }
    const text = await cli(['audit-verify'], trail.env);
    expect(text).toMatchObject({ code: 1, stdout: '' });
    expect(text.stderr).toMatch(/^audit trail BROKEN at event 4: /);
  });
});

describe('hipaa-ai-risk audit-verify-export', () => {
  let t: TestDatabase;
  let dir: string;
  let files: { export: string; jwks: string; tampered: string };
  let kid: string;
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-export-cli-'));
    const ring = await loadReportKeyRing({ kind: 'directory', dir: reportKeyDirectory(path.join(dir, 'data')) });
    kid = ring.current.kid;
    for (let i = 1; i <= 5; i++) await recordAuditEventAlone(t.database.db, event(i), new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
    const checkpoint = await createCheckpoint(t.database.db, ring.current, { now: new Date(Date.UTC(2026, 0, 1, 0, 1)) });
    // As GET /v1/audit/export does: the export ends on the signed checkpoint's head.
    let text = '';
    for await (const line of exportAuditTrail(t.database.db, 'all', { toSeq: checkpoint!.seq }, ring.current)) text += line;
    files = { export: path.join(dir, 'audit.jsonl'), jwks: path.join(dir, 'jwks.json'), tampered: path.join(dir, 'tampered.jsonl') };
    fs.writeFileSync(files.export, text);
    fs.writeFileSync(files.jwks, JSON.stringify(ring.jwks()));
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.includes('"report-3"'));
    expect(i).toBeGreaterThan(-1);
    lines[i] = lines[i]!.replace('"success"', '"error"');
    fs.writeFileSync(files.tampered, lines.join('\n'));
  });
  afterAll(async () => {
    await t.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 for an intact, signed export with a signed checkpoint, 1 for one with a changed event', async () => {
    const ok = await cli(['audit-verify-export', files.export, '--jwks', files.jwks], {});
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toBe(`audit export valid: events 1–5 (5 with content, 0 links of other organisations), 1 signed checkpoints, export signed by ${kid}\n`);
    const broken = await cli(['audit-verify-export', files.tampered, '--jwks', files.jwks, '--json'], {});
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ valid: false, brokenAt: 3 });
  });

  it('prints its help with --help; a missing --jwks, an unknown option or an unreadable file is exit 2', async () => {
    const help = await cli(['audit-verify-export', '-h'], {});
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('usage: hipaa-ai-risk audit-verify-export <export.jsonl> --jwks <file-or-url> [--json]');
    const noJwks = await cli(['audit-verify-export', files.export], {});
    expect(noJwks).toMatchObject({ code: 2, stdout: '' });
    expect(noJwks.stderr).toContain('--jwks <file-or-url>  the published public keys (required)');
    const unknown = await cli(['audit-verify-export', files.export, '--jwks', files.jwks, '--from', '2'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--from'");
    const missing = await cli(['audit-verify-export', path.join(dir, 'nope.jsonl'), '--jwks', files.jwks], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: cannot read the export file .*nope\.jsonl: /);
  });
});
