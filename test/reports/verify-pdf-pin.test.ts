/**
 * `verify --pdf` must not call a PDF the issuer's unless its signing certificate is pinned: the
 * JWS covers only the embedded report.json, so a PDF re-rendered with false pages around the
 * genuine report.json and signed by a new self-signed certificate under the same CN has a valid
 * embedded report and an intact PDF signature (reviewer's forge.ts).
 */
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderReportPdf } from '../../src/reports/pdf/render.js';
import { parseCertificateFingerprint, pdfVerificationLines, verifyPdfOffline } from '../../src/reports/pdf/verify-pdf.js';
import type { PdfOfflineVerification } from '../../src/reports/pdf/verify-pdf.js';
import { createSelfSignedPdfIdentity, DEFAULT_PDF_CERT_COMMON_NAME } from '../../src/signing/pdf-cert.js';
import type { PdfSigningIdentity } from '../../src/signing/pdf-cert.js';
import { runVerifyCli } from '../support/verify-cli.js';
import { makeTempDir } from '../signing/helpers.js';
import { buildFixtureReport, fixturePdfIdentity, ROOT } from './pdf-fixture.js';
import type { FixtureReport } from './pdf-fixture.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let fixture: FixtureReport;
let genuine: PdfSigningIdentity;
let genuinePdf: Buffer;
let forgedPdf: Buffer;
let forgedCertSha256: string;
let paths: { genuine: string; forged: string; jwks: string };

beforeAll(async () => {
  tmp = await makeTempDir('verify-pdf-pin-');
  fixture = await buildFixtureReport({ keyDir: join(tmp.dir, 'report-keys') });
  genuine = await fixturePdfIdentity(join(tmp.dir, 'data'));
  genuinePdf = await renderReportPdf({ reportBytes: fixture.bytes, jws: fixture.jws, signer: genuine });
  // The attacker: every risk level shown as "Very Low", signed by a new self-signed certificate
  // with the genuine CN and organisation, around the genuine report.json and its JWS.
  const layout = JSON.parse(await readFile(join(ROOT, 'templates', 'pdf', 'report-layout.json'), 'utf8')) as { riskLevels: { label: string; short: string; fill: string }[] };
  for (const level of layout.riskLevels) Object.assign(level, { label: 'Very Low', short: 'VL', fill: '#2E7D32' });
  const layoutPath = join(tmp.dir, 'forged-layout.json');
  await writeFile(layoutPath, JSON.stringify(layout));
  const attacker = await createSelfSignedPdfIdentity({ organization: 'Acme Health (test)', keyBits: 2048 });
  forgedPdf = await renderReportPdf({ reportBytes: fixture.bytes, jws: fixture.jws, signer: attacker }, { layoutPath });
  forgedCertSha256 = new X509Certificate(attacker.certificatePem).fingerprint256.replace(/:/g, '').toLowerCase();
  paths = { genuine: join(tmp.dir, 'genuine.pdf'), forged: join(tmp.dir, 'forged.pdf'), jwks: join(tmp.dir, 'jwks.json') };
  await writeFile(paths.genuine, genuinePdf);
  await writeFile(paths.forged, forgedPdf);
  await writeFile(paths.jwks, JSON.stringify(fixture.jwks));
});
afterAll(async () => {
  await tmp.cleanup();
});

const cli = runVerifyCli;

describe('verifyPdfOffline with a pinned PDF certificate', () => {
  it('the forged PDF really has the genuine CN, a valid embedded report and an intact PDF signature', async () => {
    const result = await verifyPdfOffline(forgedPdf, fixture.jwks);
    expect(result.pdf).toMatchObject({ intact: true, coversWholeFile: true, signer: { subject: `CN=${DEFAULT_PDF_CERT_COMMON_NAME}, O=Acme Health (test)`, certificateSha256: forgedCertSha256 } });
    expect(forgedCertSha256).not.toBe(genuine.fingerprintSha256);
  });

  it('does not pass a forged PDF re-signed by another self-signed certificate, pinned or not', async () => {
    const unpinned = await verifyPdfOffline(forgedPdf, fixture.jwks);
    expect(unpinned).toMatchObject({ valid: false, code: 'pdf-signer-not-verified', kid: fixture.report.signing.kid });
    const pinned = await verifyPdfOffline(forgedPdf, fixture.jwks, { pdfCertSha256: [genuine.fingerprintSha256] });
    expect(pinned).toMatchObject({ valid: false, code: 'pdf-signer-mismatch', kid: fixture.report.signing.kid });
    expect(pdfVerificationLines(pinned)[0]).toMatch(/^INVALID: the PDF is signed by certificate [0-9a-f]{64}, not by the pinned /);
  });

  it('passes the genuine PDF only with the genuine fingerprint (any case, with colons)', async () => {
    const withColons = genuine.fingerprintSha256.toUpperCase().replace(/(..)(?!$)/g, '$1:');
    const result = await verifyPdfOffline(genuinePdf, fixture.jwks, { pdfCertSha256: [forgedCertSha256, withColons] });
    expect(result).toMatchObject({ valid: true, kid: fixture.report.signing.kid, pdf: { signer: { certificateSha256: genuine.fingerprintSha256 } } });
    expect(pdfVerificationLines(result)[0]).toBe(`VALID: the embedded report is signed by key ${fixture.report.signing.kid} and the PDF is intact and signed by the pinned certificate`);
    expect(await verifyPdfOffline(genuinePdf, fixture.jwks)).toMatchObject({ valid: false, code: 'pdf-signer-not-verified' });
    expect(await verifyPdfOffline(genuinePdf, fixture.jwks, { pdfCertSha256: ['not hex'] })).toMatchObject({ valid: false, code: 'pdf-signer-mismatch' });
  });

  it('parses fingerprints as openssl and browsers show them', () => {
    const hex = genuine.fingerprintSha256;
    expect(parseCertificateFingerprint(hex.toUpperCase())).toBe(hex);
    expect(parseCertificateFingerprint(hex.replace(/(..)(?!$)/g, '$1:'))).toBe(hex);
    expect(parseCertificateFingerprint(hex.slice(2))).toBeUndefined();
    expect(parseCertificateFingerprint(`${hex}00`)).toBeUndefined();
    expect(parseCertificateFingerprint('')).toBeUndefined();
  });
});

describe('hipaa-ai-risk verify --pdf --pdf-cert-sha256 (in-process)', () => {
  it('exits 3 "SIGNER NOT VERIFIED" for the forged PDF without a pin, never 0 or VALID', async () => {
    const result = await cli(['--pdf', paths.forged, '--jwks', paths.jwks]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toMatch(/^SIGNER NOT VERIFIED: the embedded report is valid/);
    expect(result.stderr).not.toMatch(/^VALID/m);
    expect(result.stderr).toContain('  embedded report:  VALID (signed by a key in the JWKS)');
  });

  it('exits 1 for the forged PDF with the genuine pin', async () => {
    const result = await cli(['--pdf', paths.forged, '--jwks', paths.jwks, '--pdf-cert-sha256', genuine.fingerprintSha256]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^INVALID: the PDF is signed by certificate /);
  });

  it('exits 0 for the genuine PDF with its pin, 3 without', async () => {
    const ok = await cli(['--pdf', paths.genuine, '--jwks', paths.jwks, '--pdf-cert-sha256', genuine.fingerprintSha256]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^VALID: /);
    expect(ok.stdout).toContain(`${genuine.fingerprintSha256} (matches the pinned fingerprint)`);
    const json = await cli(['--pdf', paths.genuine, '--jwks', paths.jwks, '--pdf-cert-sha256', genuine.fingerprintSha256, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true });
    const unpinned = await cli(['--pdf', paths.genuine, '--jwks', paths.jwks, '--json']);
    expect(unpinned.code).toBe(3);
    expect(JSON.parse(unpinned.stdout)).toMatchObject({ valid: false, code: 'pdf-signer-not-verified' });
  });

  it('exits 2 for a malformed pin, or a pin without --pdf', async () => {
    const bad = await cli(['--pdf', paths.genuine, '--jwks', paths.jwks, '--pdf-cert-sha256', 'abc\u001b[2J']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--pdf-cert-sha256 abc\\u{1B}[2J is not a SHA-256 fingerprint');
    const stray = await cli(['a.json', 'a.jws', '--jwks', paths.jwks, '--pdf-cert-sha256', genuine.fingerprintSha256]);
    expect(stray.code).toBe(2);
  });

  it('documents exit code 3 in its help', async () => {
    const help = await cli(['--help']);
    expect(help.stdout).toContain('--pdf-cert-sha256 <hex>');
    expect(help.stdout).toMatch(/3 \(--pdf only\) signer not verified/);
  });
});

describe('pdfVerificationLines escapes every untrusted value', () => {
  it('a kid, reason, hint or report field cannot rewrite the terminal line', () => {
    const evil = 'k\r\u001b[2KVALID: all good\u202e\u0085';
    const result: PdfOfflineVerification = {
      valid: false,
      code: 'unknown-kid',
      reason: `key ${evil} is not in the key set`,
      hint: `hint ${evil}`,
      identity: { reportId: evil, assessmentId: evil, revision: evil, sha256: 'ab' },
      pdf: { pdfSha256: 'cd', signatureCount: 0, intact: false, coversWholeFile: false },
    };
    const lines = pdfVerificationLines(result);
    expect(lines[0]).toBe('INVALID: key k\\u{D}\\u{1B}[2KVALID: all good\\u{202E}\\u{85} is not in the key set');
    // eslint-disable-next-line no-control-regex
    for (const line of lines) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(lines.filter((l) => l.startsWith('  reportId:'))).toEqual(['  reportId:         k\\u{D}\\u{1B}[2KVALID: all good\\u{202E}\\u{85}']);
  });
});
