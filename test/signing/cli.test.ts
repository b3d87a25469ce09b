import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJsonBytes } from '../../src/util/canonical-json.js';
import { sha256Hex } from '../../src/util/hash.js';
import { signReport } from '../../src/signing/jws.js';
import { REPORT_SCHEMA } from '../../src/reports/report.js';
import { checkpointPayloadBytes } from '../../src/audit/checkpoint.js';
import { loadReportKeyRing, reportKeyDirectory } from '../../src/signing/report-keys.js';
import { createSelfSignedPdfIdentity, DEFAULT_PDF_CERT_COMMON_NAME } from '../../src/signing/pdf-cert.js';
import { renderReportPdf } from '../../src/reports/pdf/render.js';
import { buildFixtureReport, HOSTILE } from '../reports/pdf-fixture.js';
import { makeTempDir, REPO_ROOT, run } from './helpers.js';
import type { RunResult } from './helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'hipaa-ai-risk.js');
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Jest's --experimental-vm-modules must not leak into the CLI, nor any signing configuration.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
  return env;
}

function cli(args: readonly string[], extra: Record<string, string> = {}): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: childEnv(extra) });
}

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let files: { report: string; jws: string; jwks: string; otherJwks: string; pretty: string; tampered: string; checkpoint: string; checkpointJws: string };
let kid: string;
let reportBytes: Buffer;

beforeAll(async () => {
  tmp = await makeTempDir('verify-cli-test-');
  const ring = await loadReportKeyRing({ kind: 'directory', dir: reportKeyDirectory(join(tmp.dir, 'data')) });
  const other = await loadReportKeyRing({ kind: 'directory', dir: join(tmp.dir, 'other') });
  kid = ring.current.kid;
  const report = { schema: REPORT_SCHEMA, reportId: 'rep-0001', assessment: { id: 'asm-42', revision: 3, title: 'Ambient scribe ✓' }, findings: [] };
  reportBytes = canonicalJsonBytes(report);
  files = {
    report: join(tmp.dir, 'report.json'),
    jws: join(tmp.dir, 'report.jws'),
    jwks: join(tmp.dir, 'jwks.json'),
    otherJwks: join(tmp.dir, 'other-jwks.json'),
    pretty: join(tmp.dir, 'pretty.json'),
    tampered: join(tmp.dir, 'tampered.json'),
    checkpoint: join(tmp.dir, 'cp.json'),
    checkpointJws: join(tmp.dir, 'cp.jws'),
  };
  // An audit checkpoint, signed with the report key exactly as createCheckpoint signs it.
  const checkpoint = checkpointPayloadBytes({ seq: 7, hash: 'c'.repeat(64), createdAt: '2026-12-01T00:00:00.000Z' });
  await writeFile(files.checkpoint, checkpoint);
  await writeFile(files.checkpointJws, `${await signReport(checkpoint, ring.current)}\n`);
  await writeFile(files.report, reportBytes);
  await writeFile(files.jws, `${await signReport(reportBytes, ring.current)}\n`);
  await writeFile(files.jwks, JSON.stringify(ring.jwks()));
  await writeFile(files.otherJwks, JSON.stringify(other.jwks()));
  await writeFile(files.pretty, JSON.stringify(report, null, 2));
  await writeFile(files.tampered, canonicalJsonBytes({ ...report, assessment: { ...report.assessment, revision: 4 } }));
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('hipaa-ai-risk verify (spawned)', () => {
  it('exits 0 and prints the report identity for a valid signature', async () => {
    const result = await cli(['verify', files.report, files.jws, '--jwks', files.jwks]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`VALID: the report is signed by key ${kid}`);
    expect(result.stdout).toMatch(/reportId:\s+rep-0001/);
    expect(result.stdout).toMatch(/assessmentId:\s+asm-42/);
    expect(result.stdout).toMatch(/revision:\s+3/);
    expect(result.stdout).toMatch(new RegExp(`kid:\\s+${kid}`));
    expect(result.stdout).toMatch(new RegExp(`sha256:\\s+${sha256Hex(reportBytes)}`));
  });

  it('prints one JSON object with --json', async () => {
    const result = await cli(['verify', files.report, files.jws, '--jwks', files.jwks, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ valid: true, kid, reportId: 'rep-0001', assessmentId: 'asm-42', revision: 3, sha256: sha256Hex(reportBytes) });
  });

  it('exits 1 with the reason for a tampered report', async () => {
    const result = await cli(['verify', files.tampered, files.jws, '--jwks', files.jwks]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`INVALID: the signature does not match these bytes under key ${kid}`);
    expect(result.stderr).toMatch(/revision:\s+4/);
  });

  it('exits 1 and explains that a re-formatted report does not verify', async () => {
    const result = await cli(['verify', files.pretty, files.jws, '--jwks', files.jwks]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('hint: the report file is not in canonical JSON form');
  });

  it('exits 1 for a key set without the signing key', async () => {
    const result = await cli(['verify', files.report, files.jws, '--jwks', files.otherJwks, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: false, code: 'unknown-kid' });
  });

  it('exits 1 for an audit checkpoint signed with the same key: not a report, never VALID', async () => {
    const result = await cli(['verify', files.checkpoint, files.checkpointJws, '--jwks', files.jwks]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('INVALID: these bytes are not a report: their schema is "hipaa-ai-risk/audit-checkpoint/1"; a report\'s is "hipaa-ai-risk/report/1"');
    const json = await cli(['verify', files.checkpoint, files.checkpointJws, '--jwks', files.jwks, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, code: 'not-a-report' });
  });

  it('fetches the JWKS from an http URL', async () => {
    const jwks = await readFile(files.jwks);
    const server = createServer((req, res) => {
      if (req.url === '/.well-known/jwks.json') {
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(jwks);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const ok = await cli(['verify', files.report, files.jws, '--jwks', `http://127.0.0.1:${port}/.well-known/jwks.json`]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('VALID');
      const missing = await cli(['verify', files.report, files.jws, '--jwks', `http://127.0.0.1:${port}/nope`]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('returned HTTP 404');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it.each([
    ['no arguments', ['verify']],
    ['no --jwks', ['verify', 'a.json', 'a.jws']],
    ['an unknown option', ['verify', 'a.json', 'a.jws', '--jwks', 'k', '--frobnicate']],
    ['an unknown command', ['frobnicate']],
  ])('exits 2 on a usage error: %s', async (_name, args) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: hipaa-ai-risk');
  });

  it('exits 2 when an input file is missing', async () => {
    const result = await cli(['verify', join(tmp.dir, 'missing.json'), files.jws, '--jwks', files.jwks]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read the report file');
  });

  it('runs directly as `tsx src/cli/verify.ts` (npm run verify)', async () => {
    const result = await run(TSX, ['src/cli/verify.ts', files.report, files.jws, '--jwks', files.jwks], { cwd: REPO_ROOT, env: childEnv() });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('VALID');
  });
});

describe('hipaa-ai-risk verify --pdf (spawned)', () => {
  // A real report PDF whose certificate organisation (UTF8String) and signature dictionary texts
  // (UTF-16BE text strings, as pdfkit writes them) are not Latin-1.
  const SIGNATURE = { name: HOSTILE.organization, reason: 'Печать отчёта · Σφραγίδα', location: 'Αθήνα (ШЩ ќ) 🏥', contactInfo: HOSTILE.submitter };
  const SUBJECT = `CN=${DEFAULT_PDF_CERT_COMMON_NAME}, O=${HOSTILE.organization}`;
  let pdfFiles: { pdf: string; jwks: string };
  let pin: string;

  beforeAll(async () => {
    const fixture = await buildFixtureReport({ keyDir: join(tmp.dir, 'pdf-report-keys') });
    const layout = JSON.parse(await readFile(join(REPO_ROOT, 'templates', 'pdf', 'report-layout.json'), 'utf8')) as { texts: { signature: unknown } };
    layout.texts.signature = SIGNATURE;
    const layoutPath = join(tmp.dir, 'non-latin-layout.json');
    await writeFile(layoutPath, JSON.stringify(layout));
    const signer = await createSelfSignedPdfIdentity({ organization: HOSTILE.organization, keyBits: 2048 });
    pin = new X509Certificate(signer.certificatePem).fingerprint256;
    pdfFiles = { pdf: join(tmp.dir, 'non-latin.pdf'), jwks: join(tmp.dir, 'pdf-jwks.json') };
    await writeFile(pdfFiles.pdf, await renderReportPdf({ reportBytes: fixture.bytes, jws: fixture.jws, signer }, { layoutPath }));
    await writeFile(pdfFiles.jwks, JSON.stringify(fixture.jwks));
  });

  it('prints the non-Latin signer names of a valid PDF exactly', async () => {
    const result = await cli(['verify', '--pdf', pdfFiles.pdf, '--jwks', pdfFiles.jwks, '--pdf-cert-sha256', pin]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^VALID: /);
    expect(lines).toContain(`  pdf signer:       ${SUBJECT}`);
    expect(lines).toContain(`  pdf sig name:     ${SIGNATURE.name}`);
    expect(lines).toContain(`  pdf sig reason:   ${SIGNATURE.reason}`);
    expect(lines).toContain(`  pdf sig location: ${SIGNATURE.location}`);
    expect(lines).toContain(`  pdf sig contact:  ${SIGNATURE.contactInfo}`);
  });

  it('gives the same decoded names with --json', async () => {
    const result = await cli(['verify', '--pdf', pdfFiles.pdf, '--jwks', pdfFiles.jwks, '--pdf-cert-sha256', pin, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: true, pdf: { intact: true, signer: { subject: SUBJECT }, dictionary: SIGNATURE } });
  });
});

describe('hipaa-ai-risk keys (spawned)', () => {
  it('rotates the embedded report key, keeping the old one published', async () => {
    const dataDir = join(tmp.dir, 'keys-data');
    const first = await cli(['keys', 'rotate'], { DATA_DIR: dataDir });
    expect(first.code).toBe(0);
    const second = await run(TSX, ['src/cli/keys.ts', 'rotate'], { cwd: REPO_ROOT, env: childEnv({ DATA_DIR: dataDir }) });
    expect(second.code).toBe(0);
    const [kid1, kid2] = [first.stdout.trim(), second.stdout.trim()];
    expect(kid1).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(kid2).not.toBe(kid1);
    expect(second.stderr).toContain(`previous key ${kid1} stays published`);

    const jwks = await cli(['keys', 'jwks', '--data-dir', dataDir]);
    expect(JSON.parse(jwks.stdout).keys.map((k: { kid: string }) => k.kid)).toEqual([kid2, kid1]);

    const token = await cli(['keys', 'rotate', '--purpose', 'token'], { DATA_DIR: dataDir });
    expect(token.code).toBe(0);
    const list = await cli(['keys', 'list', '--purpose', 'token'], { DATA_DIR: dataDir });
    expect(list.stdout).toContain(`current  ${token.stdout.trim()}`);
  });

  it('refuses to rotate a key configured from the environment', async () => {
    const result = await cli(['keys', 'rotate'], { DATA_DIR: join(tmp.dir, 'env-data'), REPORT_SIGNING_KEY_FILE: join(tmp.dir, 'missing.pem') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('rotate it in your secrets manager');
  });
});
