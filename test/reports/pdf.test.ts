import { X509Certificate } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import PDFDocument from 'pdfkit';
import { renderReportPdf } from '../../src/reports/pdf/render.js';
import { readEmbeddedFiles } from '../../src/reports/pdf/pdf-reader.js';
import { pdfVerificationLines, verifyPdfOffline } from '../../src/reports/pdf/verify-pdf.js';
import type { PdfOfflineVerification } from '../../src/reports/pdf/verify-pdf.js';
import { sha256Hex } from '../../src/util/hash.js';
import { collectPdfBytes } from '../../src/signing/pdf-sign.js';
import { createSelfSignedPdfIdentity, DEFAULT_PDF_CERT_COMMON_NAME } from '../../src/signing/pdf-cert.js';
import type { PdfSigningIdentity } from '../../src/signing/pdf-cert.js';
import { AppError } from '../../src/errors.js';
import { hasExecutable, makeTempDir, run } from '../signing/helpers.js';
import { buildFixtureReport, fixturePdfIdentity, HOSTILE, ROOT } from './pdf-fixture.js';
import type { FixtureReport } from './pdf-fixture.js';

const HAS_POPPLER = (await hasExecutable('pdfsig')) && (await hasExecutable('pdftotext')) && (await hasExecutable('pdfdetach'));
if (!HAS_POPPLER) console.warn('poppler-utils (pdfsig, pdftotext, pdfdetach) not found: the PDF tests that run them are skipped');
const itPoppler = HAS_POPPLER ? it : it.skip;

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let fixture: FixtureReport;
let identity: PdfSigningIdentity;
let pdf: Buffer;
let pdfPath: string;
let renderMs: number;

beforeAll(async () => {
  tmp = await makeTempDir('pdf-report-');
  fixture = await buildFixtureReport({ keyDir: join(tmp.dir, 'report-keys') });
  identity = await fixturePdfIdentity(join(tmp.dir, 'data'));
  const started = performance.now();
  pdf = await renderReportPdf({ reportBytes: fixture.bytes, jws: fixture.jws, signer: identity });
  renderMs = performance.now() - started;
  pdfPath = join(tmp.dir, 'report.pdf');
  await writeFile(pdfPath, pdf);
});
afterAll(async () => {
  await tmp.cleanup();
});

function flipAt(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = copy[offset]! ^ 0x01;
  return copy;
}

/** An offset inside the last FlateDecode stream that is not an embedded file (page content or font). */
function lastContentStreamByte(bytes: Buffer): number {
  const text = bytes.toString('latin1');
  const re = /\/Length (\d+)\n\/Filter \/FlateDecode\n>>\nstream\n/g;
  let found = -1;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const start = m.index + m[0].length;
    const dictionary = text.slice(text.lastIndexOf('obj', m.index), m.index);
    if (!dictionary.includes('/EmbeddedFile')) found = start + Math.floor(Number(m[1]) / 2);
  }
  if (found < 0) throw new Error('no content stream found');
  return found;
}

/** Offsets of the signed ranges, from the PDF's /ByteRange. */
function byteRange(bytes: Buffer): [number, number, number, number] {
  const m = /\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/.exec(bytes.toString('latin1'));
  if (m === null) throw new Error('no /ByteRange');
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
}

describe('the report PDF', () => {
  it('is a signed PDF/A-3b 1.7 document with fixed dates, Producer and Title', () => {
    expect(pdf.subarray(0, 8).toString('latin1')).toBe('%PDF-1.7');
    const text = pdf.toString('latin1');
    expect(text).toContain('<pdfaid:part>3</pdfaid:part>');
    expect(text).toContain('<pdfaid:conformance>B</pdfaid:conformance>');
    expect(text).toContain('<xmp:CreateDate>2025-03-04T05:06:07Z</xmp:CreateDate>');
    expect(text).toMatch(/<pdf:Producer>hipaa-ai-risk \d+\.\d+\.\d+<\/pdf:Producer>/);
    // Embedded files carry the submission time too, never the clock.
    expect(text.match(/\/CreationDate \(D:\d{14}Z\)/g)).toEqual(['/CreationDate (D:20250304050607Z)', '/CreationDate (D:20250304050607Z)']);
    expect(text).toMatch(/\/StructTreeRoot \d+ 0 R/);
    expect(text).toMatch(/\/Outlines \d+ 0 R/);
    expect(renderMs).toBeLessThan(10_000);
  });

  it('embeds the exact report bytes and JWS as associated files (read by our reader)', () => {
    const files = readEmbeddedFiles(pdf);
    expect(files.map((f) => [f.name, f.mimeType, f.relationship])).toEqual([
      ['report.json', 'application/json', 'Data'],
      ['report.jws', 'application/jose', 'Supplement'],
    ]);
    expect(files[0]!.bytes.equals(fixture.bytes)).toBe(true);
    expect(files[1]!.bytes.toString('utf8')).toBe(fixture.jws);
  });

  itPoppler('embeds files that pdfdetach extracts byte for byte', async () => {
    const out = join(tmp.dir, 'detached');
    await mkdir(out);
    const list = await run('pdfdetach', ['-list', pdfPath]);
    expect(list.stdout).toContain('report.json');
    expect(list.stdout).toContain('report.jws');
    const saved = await run('pdfdetach', ['-saveall', '-o', out, pdfPath]);
    expect(saved.code).toBe(0);
    expect((await readFile(join(out, 'report.json'))).equals(fixture.bytes)).toBe(true);
    expect(await readFile(join(out, 'report.jws'), 'utf8')).toBe(fixture.jws);
  });

  itPoppler('has document information pdfinfo reads: title, producer, submission dates, tagged', async () => {
    const result = await run('pdfinfo', ['-isodates', pdfPath], { env: { PATH: process.env.PATH ?? '', TZ: 'UTC' } });
    expect(result.stdout).toContain(`Title:           HIPAA Security Rule risk assessment: ${HOSTILE.title}`);
    expect(result.stdout).toMatch(/Producer:\s+hipaa-ai-risk \d+\.\d+\.\d+/);
    expect(result.stdout).toMatch(/CreationDate:\s+2025-03-04T05:06:07(Z|\+00)/);
    expect(result.stdout).toMatch(/Tagged:\s+yes/);
  });

  itPoppler('has a signature pdfsig reports valid over the whole document', async () => {
    const result = await run('pdfsig', [pdfPath], { env: { PATH: process.env.PATH ?? '', TZ: 'UTC' } });
    const output = result.stdout + result.stderr;
    expect(output).toContain('Signature Validation: Signature is Valid.');
    expect(output).toContain('Total document signed');
    // The certificate's first valid second (it is younger than the report: pdfSigningTime), as pdfsig prints it in UTC.
    const t = identity.notBefore.toISOString();
    const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][Number(t.slice(5, 7)) - 1]!;
    expect(output).toContain(`Signing Time: ${month} ${t.slice(8, 10)} ${t.slice(0, 4)} ${t.slice(11, 19)}`);
  });

  itPoppler('is reported invalid by pdfsig after one byte inside the signed range changes', async () => {
    const [, firstLength, secondStart] = byteRange(pdf);
    for (const [name, offset] of [['first-range', Math.floor(firstLength / 2)], ['second-range', secondStart + Math.floor((pdf.length - secondStart) / 2)]] as const) {
      const path = join(tmp.dir, `tampered-${name}.pdf`);
      await writeFile(path, flipAt(pdf, offset));
      const result = await run('pdfsig', [path]);
      expect(result.stdout + result.stderr).not.toContain('Signature is Valid');
    }
  });

  itPoppler('shows every not-met citation, the overall risk and hostile names as text', async () => {
    const result = await run('pdftotext', ['-enc', 'UTF-8', pdfPath, '-']);
    const text = result.stdout.replace(/\s+/g, ' ');
    // A long citation may wrap inside its table cell: compare without white space, in content
    // order (-raw), where a cell's lines follow each other.
    const compact = (await run('pdftotext', ['-raw', '-enc', 'UTF-8', pdfPath, '-'])).stdout.replace(/\s+/g, '');
    const notMet = fixture.report.evaluation.findings.filter((f) => f.status === 'not_met').map((f) => f.citation);
    expect(notMet.length).toBeGreaterThan(10);
    for (const citation of notMet) expect(compact).toContain(citation.replace(/\s+/g, ''));
    expect(fixture.report.evaluation.summary.overallRisk).toBe('very_high');
    expect(text).toContain('VERY HIGH');
    expect(text).toContain(HOSTILE.organization);
    expect(text).toContain(HOSTILE.submitter);
    expect(text).toContain('<script>alert(1)</script>');
    expect(text).toContain('Ασθενής Пациент');
    expect(text).toContain(fixture.report.signing.kid);
    expect(text).toMatch(/Page 2 of \d+/);
    expect(text).toContain('npx hipaa-ai-risk verify report.json report.jws --jwks jwks.json');
    expect(text).toContain('/.well-known/jwks.json');
    // The methodology states §164.306(d)(3) as the rule has it: a documented rationale is a
    // permitted outcome (flagged for review by this product), not a gap.
    expect(text).toContain('only not implementing it without a documented rationale is a gap');
    expect(text).not.toContain('are a gap when only a rationale is documented');
    expect(text).toContain("for an AI-specific safeguard they are this product's classification");
    expect(text).toContain('Multiple severe or catastrophic adverse effects');
  });

  it('refuses bytes that are not a report it can identify', async () => {
    const signer = identity;
    await expect(renderReportPdf({ reportBytes: Buffer.from('not json'), jws: fixture.jws, signer })).rejects.toThrow(AppError);
    const noKid = { ...fixture.report, signing: { ...fixture.report.signing, kid: '' } };
    await expect(renderReportPdf({ reportBytes: Buffer.from(JSON.stringify(noKid)), jws: fixture.jws, signer })).rejects.toMatchObject({ code: 'bad-request' });
    const otherSchema = { ...fixture.report, schema: 'hipaa-ai-risk/report/999' };
    await expect(renderReportPdf({ reportBytes: Buffer.from(JSON.stringify(otherSchema)), jws: fixture.jws, signer })).rejects.toMatchObject({ code: 'bad-request' });
  });
});

describe('verifyPdfOffline', () => {
  it('accepts the issued PDF and states the identity of the embedded report', async () => {
    const result = await verifyPdfOffline(pdf, fixture.jwks, { pdfCertSha256: [identity.fingerprintSha256] });
    expect(result).toMatchObject({
      valid: true,
      kid: fixture.report.signing.kid,
      identity: { reportId: fixture.report.reportId, assessmentId: fixture.report.assessment.id, revision: 3 },
      // The certificate (made now) is younger than the report (submitted 2025-03-04): the signature
      // claims the certificate's first valid second, not a time before it (pdfSigningTime).
      pdf: { signatureCount: 1, intact: true, coversWholeFile: true, signingTime: identity.notBefore.toISOString(), signer: { selfSigned: true, certificateSha256: identity.fingerprintSha256 } },
    });
    expect(identity.notBefore.getTime()).toBeGreaterThan(Date.parse('2025-03-04T05:06:07.000Z'));
  });

  it("claims the report's submission time when the certificate was valid then, and states the claimed time", async () => {
    const made = await createSelfSignedPdfIdentity({ organization: 'Acme Health (older certificate)', keyBits: 2048, now: new Date('2024-06-01T00:00:00Z') });
    const older = { p12: made.p12, passphrase: made.passphrase };
    const signed = await renderReportPdf({ reportBytes: fixture.bytes, jws: fixture.jws, signer: older });
    const fingerprint = new X509Certificate(made.certificatePem).fingerprint256.replaceAll(':', '').toLowerCase();
    expect((await verifyPdfOffline(signed, fixture.jwks, { pdfCertSha256: [fingerprint] })).pdf?.signingTime).toBe('2025-03-04T05:06:07.000Z');
    if (!HAS_POPPLER) return;
    const texts: string[] = [];
    for (const [name, bytes] of [['older.pdf', signed], ['younger.pdf', pdf]] as const) {
      const path = join(tmp.dir, name);
      await writeFile(path, bytes);
      texts.push((await run('pdftotext', ['-layout', path, '-'])).stdout.replace(/\s+/g, ' '));
    }
    expect(texts[0]).toContain('signing time 2025-03-04 05:06:07 UTC');
    expect(texts[1]).toContain(`signing time ${identity.notBefore.toISOString().slice(0, 19).replace('T', ' ')} UTC`);
  });

  it.each([
    // Where a flipped byte lands decides which check fails first; every one of them refuses.
    ['a byte changed at the middle of the first signed range', (p: Buffer) => flipAt(p, Math.floor(byteRange(p)[1] / 2)), ['pdf-signature-invalid', 'pdf-unreadable']],
    ['a byte changed in the last page content', (p: Buffer) => flipAt(p, lastContentStreamByte(p)), ['pdf-signature-invalid']],
    ['a byte changed after the signature', (p: Buffer) => flipAt(p, byteRange(p)[2] + 200), ['pdf-signature-invalid', 'pdf-unreadable']],
    ['a /Contents whose DER header claims more bytes than were reserved', (p: Buffer) => {
      const at = byteRange(p)[1] + 1; // after the '<'
      const copy = Buffer.from(p);
      copy.write('3084FFFFFFFF', at, 'latin1');
      return copy;
    }, ['pdf-signature-invalid']],
    ['bytes appended after %%EOF', (p: Buffer) => Buffer.concat([p, Buffer.from('\n% appended\n')]), ['pdf-unreadable']],
    ['a truncated file', (p: Buffer) => p.subarray(0, Math.floor(p.length / 2)), ['pdf-unreadable']],
    ['not a PDF', () => Buffer.from('hello'), ['pdf-unreadable']],
    ['an empty file', () => Buffer.alloc(0), ['pdf-unreadable']],
  ])('refuses %s', async (_name, tamper, codes) => {
    const result = await verifyPdfOffline(tamper(pdf), fixture.jwks);
    expect(result.valid).toBe(false);
    expect(codes).toContain(result.valid ? 'valid' : result.code);
  });

  it('refuses a PDF whose trailer was re-pointed after signing (modified after signing)', async () => {
    // A real incremental update: the same objects again plus a new xref/trailer after %%EOF.
    const text = pdf.toString('latin1');
    const startxref = /startxref\s+(\d+)\s+%%EOF\s*$/.exec(text)!;
    const trailer = /trailer\s*(<<[\s\S]*?>>)\s*startxref/.exec(text.slice(Number(startxref[1])))![1]!.replace(/\/Prev \d+/, '');
    const update = `\nxref\n0 0\ntrailer\n${trailer.slice(0, -2)}/Prev ${startxref[1]}\n>>\nstartxref\n${pdf.length + 1}\n%%EOF\n`;
    const result = await verifyPdfOffline(Buffer.concat([pdf, Buffer.from(update, 'latin1')]), fixture.jwks);
    expect(result).toMatchObject({ valid: false, code: 'pdf-modified-after-signing' });
  });

  it('accepts white space in the signature\'s hex string, which PDF readers ignore (ISO 32000-1 §7.3.4.3)', async () => {
    // The zero padding at the end of /Contents lies outside the signed ranges.
    const end = byteRange(pdf)[2] - 1; // the '>'
    expect(pdf.toString('latin1', end - 6, end + 1)).toBe('000000>');
    const spaced = Buffer.from(pdf);
    spaced.write('0 \n\r0', end - 6, 'latin1');
    const result = await verifyPdfOffline(spaced, fixture.jwks, { pdfCertSha256: [identity.fingerprintSha256] });
    expect(result).toMatchObject({ valid: true, pdf: { intact: true, coversWholeFile: true } });
  });

  it('refuses a PDF verified against a key set without its key', async () => {
    const result = await verifyPdfOffline(pdf, { keys: [] });
    expect(result).toMatchObject({ valid: false, code: 'unknown-kid' });
  });

  it('refuses a PDF without embedded report (an unrelated signed-less PDF)', async () => {
    const doc = new PDFDocument({ info: { CreationDate: new Date(0), ModDate: new Date(0) } });
    const bytes = collectPdfBytes(doc);
    doc.text('hello');
    doc.end();
    const result = await verifyPdfOffline(await bytes, fixture.jwks);
    expect(result).toMatchObject({ valid: false, code: 'no-embedded-report' });
  });
});

describe('pdfVerificationLines', () => {
  it('says VALID with the identity and the PDF signature facts, or INVALID with the reason', async () => {
    const valid = pdfVerificationLines(await verifyPdfOffline(pdf, fixture.jwks, { pdfCertSha256: [identity.fingerprintSha256] }));
    expect(valid[0]).toBe(`VALID: the embedded report is signed by key ${fixture.report.signing.kid} and the PDF is intact and signed by the pinned certificate`);
    expect(valid.join('\n')).toContain(`report sha256:    ${sha256Hex(fixture.bytes)}`);
    expect(valid.join('\n')).toContain('pdf signature:    intact, covers the whole file');
    expect(valid).toContain('  pdf sig name:     hipaa-ai-risk report service');
    expect(valid).toContain(`  pdf sig reason:   Seal of HIPAA AI risk report ${fixture.report.reportId} (report SHA-256 ${sha256Hex(fixture.bytes)})`);
    expect(valid.join('\n')).not.toMatch(/pdf sig (location|contact)/); // empty in the default layout
    const invalid = pdfVerificationLines(await verifyPdfOffline(pdf, { keys: [] }));
    expect(invalid[0]).toMatch(/^INVALID: key .* is not in the key set$/);
  });

  it('shows control and bidirectional characters of texts from the PDF as escapes, one line each', () => {
    const result: PdfOfflineVerification = {
      valid: false,
      code: 'pdf-signature-invalid',
      reason: 'the PDF signature does not match the signed bytes or its certificate',
      pdf: {
        pdfSha256: 'ab',
        signatureCount: 1,
        intact: false,
        coversWholeFile: true,
        signer: { subject: 'O=Evil\u001b[2J\u202Eexe.pdf', certificateSha256: 'cd', selfSigned: true },
        dictionary: { name: 'first\r\nINVALID', reason: 'tab\there\u0085' },
      },
    };
    const lines = pdfVerificationLines(result);
    expect(lines).toContain('  pdf signer:       O=Evil\\u{1B}[2J\\u{202E}exe.pdf');
    expect(lines).toContain('  pdf sig name:     first\\u{D}\\u{A}INVALID');
    expect(lines).toContain('  pdf sig reason:   tab\\u{9}here\\u{85}');
    // eslint-disable-next-line no-control-regex
    for (const line of lines) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
  });
});

/** The default layout with other signature texts, as a file in `dir` (for `RenderOptions.layoutPath`). */
async function layoutWithSignatureTexts(dir: string, signature: Record<'reason' | 'name' | 'location' | 'contactInfo', string>): Promise<string> {
  const layout = JSON.parse(await readFile(join(ROOT, 'templates', 'pdf', 'report-layout.json'), 'utf8')) as { texts: { signature: unknown } };
  layout.texts.signature = signature;
  const path = join(dir, 'non-latin-layout.json');
  await writeFile(path, JSON.stringify(layout));
  return path;
}

describe('a report PDF signed under names that are not Latin-1', () => {
  // What the organisation's certificate and the layout's signature texts put in the PDF: the
  // certificate subject O= as a UTF8String, the signature dictionary entries as pdfkit writes a
  // non-ASCII string (UTF-16BE with BOM in a literal string: Ш Щ ќ Љ Њ Ѝ Ќ Ј give the bytes
  // ( ) \ TAB LF CR FF BS, which pdfkit escapes; 🏥 is a surrogate pair).
  const TEXTS = {
    name: HOSTILE.organization,
    reason: 'Печать отчёта {reportId} · Σφραγίδα (SHA-256 {sha256})',
    location: 'Αθήνα — ШЩ ќ Љ Њ Ѝ Ќ Ј (🏥) \\ «Υγεία»',
    contactInfo: HOSTILE.submitter,
  };
  let nonLatinPdf: Buffer;
  let subject: string;
  let pin: string;

  beforeAll(async () => {
    const layoutPath = await layoutWithSignatureTexts(tmp.dir, TEXTS);
    const signer = await createSelfSignedPdfIdentity({ organization: HOSTILE.organization, keyBits: 2048 });
    pin = new X509Certificate(signer.certificatePem).fingerprint256;
    nonLatinPdf = await renderReportPdf({ reportBytes: fixture.bytes, jws: fixture.jws, signer }, { layoutPath });
    subject = `CN=${DEFAULT_PDF_CERT_COMMON_NAME}, O=${HOSTILE.organization}`;
  });

  it('verifies, with the certificate subject and the signature texts decoded exactly', async () => {
    const written = nonLatinPdf.toString('latin1');
    for (const key of ['Name', 'Reason', 'Location', 'ContactInfo']) expect(written).toContain(`/${key} (\xFE\xFF`);
    const result = await verifyPdfOffline(nonLatinPdf, fixture.jwks, { pdfCertSha256: [pin] });
    const reason = `Печать отчёта ${fixture.report.reportId} · Σφραγίδα (SHA-256 ${sha256Hex(fixture.bytes)})`;
    expect(result).toMatchObject({ valid: true, pdf: { intact: true, coversWholeFile: true, signer: { subject } } });
    expect(result.pdf.dictionary).toEqual({ name: HOSTILE.organization, reason, location: TEXTS.location, contactInfo: HOSTILE.submitter });
    const lines = pdfVerificationLines(result);
    expect(lines).toContain(`  pdf signer:       ${subject}`);
    expect(lines).toContain(`  pdf sig name:     ${HOSTILE.organization}`);
    expect(lines).toContain(`  pdf sig reason:   ${reason}`);
    expect(lines).toContain(`  pdf sig location: ${TEXTS.location}`);
    expect(lines).toContain(`  pdf sig contact:  ${HOSTILE.submitter}`);
  });
});
