import { execFile } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import PDFDocument from 'pdfkit';
import { createSelfSignedPdfIdentity, identityFromP12, loadOrCreatePdfSigningIdentity, pdfIdentityDirectory, pdfIdentitySourceFromEnv } from '../../src/signing/pdf-cert.js';
import type { PdfSigningIdentity } from '../../src/signing/pdf-cert.js';
import { addPdfSignaturePlaceholder, collectPdfBytes, endAndSignPdf, PdfCmsSigner, signPdfBytes, signPdfBytesWithP12Signer } from '../../src/signing/pdf-sign.js';
import type { PdfSubFilter } from '../../src/signing/pdf-sign.js';
import { pdfSignatureFacts } from '../../src/reports/pdf/verify-pdf.js';
import { signatureByteRanges } from '../../src/reports/pdf/pdf-reader.js';
import { hasExecutable, makeTempDir, run } from './helpers.js';

const execFileAsync = promisify(execFile);
const FONT = join(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json'), '..', 'ttf', 'DejaVuSans.ttf');
const FIXED = new Date('2025-03-04T05:06:07Z');
const HAS_PDFSIG = await hasExecutable('pdfsig');
const HAS_OPENSSL = await hasExecutable('openssl', 'version');
if (!HAS_PDFSIG) console.warn('pdfsig not found: PDF signature tests skipped');

/** A small report-like PDF/A-3b document with fixed dates and an embedded TTF font, not yet ended. */
function buildDocument(): InstanceType<typeof PDFDocument> {
  const doc = new PDFDocument({
    subset: 'PDF/A-3b',
    pdfVersion: '1.7',
    tagged: true,
    info: { Title: 'Signing test report', Author: 'hipaa-ai-risk', Producer: 'hipaa-ai-risk', Creator: 'hipaa-ai-risk', CreationDate: FIXED, ModDate: FIXED },
  });
  doc.registerFont('DejaVu', FONT);
  doc.font('DejaVu').fontSize(14).text('HIPAA AI risk report: signature test');
  doc.fontSize(10).text('§164.312(b) audit controls: met ✓ — risk ≤ moderate → review yearly');
  return doc;
}

/** buildDocument() with a signature placeholder, ended: the bytes a signer signs. */
async function unsignedWithPlaceholder(): Promise<Buffer> {
  const doc = buildDocument();
  addPdfSignaturePlaceholder(doc, { reason: 'r', name: 'n', location: 'l', signingTime: FIXED });
  const bytes = collectPdfBytes(doc);
  doc.end();
  return bytes;
}

async function signedPdf(identity: PdfSigningIdentity | PdfCmsSigner, subFilter?: PdfSubFilter): Promise<Buffer> {
  return endAndSignPdf(buildDocument(), identity, { reason: 'Tamper-evident seal', name: 'Acme Health', location: 'Boston, MA', signingTime: FIXED, subFilter });
}

async function pdfsig(tmpDir: string, pdf: Buffer, name: string): Promise<string> {
  const path = join(tmpDir, name);
  await writeFile(path, pdf);
  const result = await run('pdfsig', [path]);
  return result.stdout + result.stderr;
}

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let identity: PdfSigningIdentity;
let creationMs: number;
beforeAll(async () => {
  tmp = await makeTempDir('pdf-signing-test-');
  const started = performance.now();
  identity = await loadOrCreatePdfSigningIdentity({ kind: 'directory', dir: pdfIdentityDirectory(join(tmp.dir, 'data')), organization: 'Acme Health' });
  creationMs = performance.now() - started;
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('embedded PDF signing identity', () => {
  it('is created on first use with owner-only files and reloaded afterwards', async () => {
    const dir = pdfIdentityDirectory(join(tmp.dir, 'data'));
    expect(creationMs).toBeLessThan(30_000);
    expect((await readdir(dir)).sort()).toEqual(['certificate.pem', 'signing.p12', 'signing.p12.passphrase']);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const file of await readdir(dir)) expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dir, 'signing.p12.passphrase'), 'utf8')).trim()).toBe(identity.passphrase);

    const again = await loadOrCreatePdfSigningIdentity({ kind: 'directory', dir, organization: 'ignored once created' });
    expect(again.fingerprintSha256).toBe(identity.fingerprintSha256);
    expect(again.subject).toBe('CN=HIPAA AI Risk Report Signing (self-signed), O=Acme Health');
  });

  it('has a self-signed certificate for document signing, valid about ten years', () => {
    expect(identity.selfSigned).toBe(true);
    expect(identity.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
    const years = (identity.notAfter.getTime() - identity.notBefore.getTime()) / (365.25 * 24 * 3600 * 1000);
    expect(years).toBeGreaterThan(9.9);
    expect(years).toBeLessThan(10.1);
    const cert = forge.pki.certificateFromPem(identity.certificatePem);
    expect((cert.publicKey as forge.pki.rsa.PublicKey).n.bitLength()).toBe(3072);
    expect(cert.getExtension('keyUsage')).toMatchObject({ critical: true, digitalSignature: true, nonRepudiation: true, keyCertSign: false });
    expect(cert.getExtension('basicConstraints')).toMatchObject({ cA: false });
    expect(cert.getExtension('extKeyUsage')).toMatchObject({ emailProtection: true, '1.3.6.1.5.5.7.3.36': true, '1.3.6.1.4.1.311.10.3.12': true });
  });

  it('reads the organisation PKCS#12 and its passphrase from the environment', async () => {
    const p12Path = join(tmp.dir, 'org.p12');
    await writeFile(p12Path, identity.p12);
    const passFile = join(tmp.dir, 'org.pass');
    await writeFile(passFile, `${identity.passphrase}\n`);

    const fromFile = await pdfIdentitySourceFromEnv({ PDF_SIGNING_P12_FILE: p12Path, PDF_SIGNING_P12_PASSPHRASE_FILE: passFile }, tmp.dir);
    expect(fromFile).toEqual({ kind: 'pkcs12', p12Path, passphrase: identity.passphrase });
    const loaded = await loadOrCreatePdfSigningIdentity(fromFile);
    expect(loaded.fingerprintSha256).toBe(identity.fingerprintSha256);

    await expect(loadOrCreatePdfSigningIdentity({ kind: 'pkcs12', p12Path, passphrase: 'wrong' })).rejects.toThrow(/cannot open the PKCS#12/);
    await expect(pdfIdentitySourceFromEnv({ PDF_SIGNING_P12_FILE: p12Path }, tmp.dir)).rejects.toThrow(/needs PDF_SIGNING_P12_PASSPHRASE/);
    await expect(pdfIdentitySourceFromEnv({ PDF_SIGNING_P12_PASSPHRASE: 'x' }, tmp.dir)).rejects.toThrow(/without PDF_SIGNING_P12_FILE/);
    expect(await pdfIdentitySourceFromEnv({ PDF_SIGNING_ORGANIZATION: 'Org' }, tmp.dir)).toMatchObject({ kind: 'directory', organization: 'Org', dir: pdfIdentityDirectory(tmp.dir) });
  });

  it('creates and reopens an identity whose organisation name is not Latin-1, and signs with it', async () => {
    const organization = 'Клиника Αθηνά № 1';
    const created = await createSelfSignedPdfIdentity({ organization, keyBits: 2048 });
    // Subject and issuer are UTF8String (forge's default PrintableString garbled this and broke the PKCS#12 MAC).
    const cert = forge.pki.certificateFromPem(created.certificatePem);
    for (const name of [cert.subject, cert.issuer]) expect(name.attributes.map((a) => a.valueTagClass)).toEqual([forge.asn1.Type.UTF8, forge.asn1.Type.UTF8]);
    const reopened = identityFromP12(created.p12, created.passphrase, 'non-Latin test PKCS#12');
    expect(reopened.subject).toBe(`CN=HIPAA AI Risk Report Signing (self-signed), O=${organization}`);
    expect(reopened.selfSigned).toBe(true);
    expect(reopened.certificatePem).toBe(created.certificatePem);
    const signed = await signedPdf(reopened);
    if (!HAS_PDFSIG) {
      console.warn('pdfsig not found: validation of the non-Latin-1 organisation signature skipped');
      return;
    }
    const out = await pdfsig(tmp.dir, signed, 'non-latin.pdf');
    expect(out).toContain('Signature Validation: Signature is Valid.');
    expect(out).toContain(`O=${organization}`);
  });

  it('refuses a certificate outside its validity period', async () => {
    const p12Path = join(tmp.dir, 'expired.p12');
    await writeFile(p12Path, identity.p12);
    await expect(loadOrCreatePdfSigningIdentity({ kind: 'pkcs12', p12Path, passphrase: identity.passphrase }, new Date('2100-01-01T00:00:00Z'))).rejects.toThrow(/valid from/);
  });
});

describe('PDF signatures', () => {
  it('are byte-identical across runs for the same document and signing time', async () => {
    const a = await signedPdf(identity);
    const b = await signedPdf(identity);
    const signer = new PdfCmsSigner(identity);
    const c = await signedPdf(signer);
    const d = await signedPdf(signer);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(true);
    expect(a.equals(d)).toBe(true);
  });

  it('PdfCmsSigner produces exactly the bytes of @signpdf/signer-p12', async () => {
    const unsigned = await unsignedWithPlaceholder();
    const fast = await signPdfBytes(unsigned, new PdfCmsSigner(identity), FIXED);
    const reference = await signPdfBytesWithP12Signer(unsigned, identity, FIXED);
    expect(fast.equals(reference)).toBe(true);
    // Another signing time gives another signature.
    expect((await signPdfBytes(unsigned, identity, new Date('2025-03-04T05:06:08Z'))).equals(fast)).toBe(false);
  });

  it('refuses a PDF without a placeholder and an invalid signing time', async () => {
    const doc = buildDocument();
    const bytes = collectPdfBytes(doc);
    doc.end();
    await expect(signPdfBytes(await bytes, identity, FIXED)).rejects.toThrow(/ByteRange/);
    expect(() => addPdfSignaturePlaceholder(buildDocument(), { reason: 'r', name: 'n', location: 'l', signingTime: new Date('nope') })).toThrow(/signingTime/);
  });

  // Skipped only when pdfsig is missing, and then announced by the console.warn at the top.
  const pdfsigIt = HAS_PDFSIG ? it : it.skip;

  pdfsigIt.each(['adbe.pkcs7.detached', 'ETSI.CAdES.detached'] as const)('pdfsig reports a %s signature as valid', async (subFilter) => {
    const out = await pdfsig(tmp.dir, await signedPdf(identity, subFilter), `valid-${subFilter}.pdf`);
    expect(out).toContain('Signature Validation: Signature is Valid.');
    expect(out).toContain(`Signature Type: ${subFilter}`);
    expect(out).toContain('Total document signed');
    expect(out).toContain('Signer full Distinguished Name: CN=HIPAA AI Risk Report Signing (self-signed),O=Acme Health');
    expect(out).toContain('Signing Time: Mar 04 2025 05:06:07');
  });

  it('verify a CMS whose DER ends in zero bytes, like the zeros that pad /Contents (1 RSA signature in 256)', async () => {
    // The verifier once cut the padding by stripping trailing "00"s, which also cut such a CMS and
    // refused a genuine PDF. Sign one unsigned document at successive signing times until two
    // signatures end in 0x00 (on average 1 in 256 does); every PDF on the way must verify.
    const unsigned = await unsignedWithPlaceholder();
    const signer = new PdfCmsSigner(identity);
    const endingInZero: Buffer[] = [];
    let tried = 0;
    for (; tried < 6000 && endingInZero.length < 2; tried++) {
      const signed = await signPdfBytes(unsigned, signer, new Date(FIXED.getTime() + tried * 1000));
      const facts = pdfSignatureFacts(signed);
      if (!facts.intact) throw new Error(`signature ${tried} was refused: ${JSON.stringify(facts)}`);
      // The DER's own length, read by forge without the padding check.
      const [, start, end] = signatureByteRanges(signed)[0] as [number, number, number, number];
      const contents = Buffer.from(signed.toString('latin1', start + 1, end - 1), 'hex');
      // @types/node-forge declares only the old boolean argument; forge 1.3 takes these options.
      const options = { parseAllBytes: false } as unknown as boolean;
      const der = forge.asn1.toDer(forge.asn1.fromDer(forge.util.createBuffer(contents.toString('binary')), options)).getBytes();
      if (der.charCodeAt(der.length - 1) === 0) endingInZero.push(signed);
    }
    expect(endingInZero).toHaveLength(2);
    expect(tried).toBeGreaterThan(2);
    if (HAS_PDFSIG) {
      for (const [i, signed] of endingInZero.entries()) expect(await pdfsig(tmp.dir, signed, `zero-ending-${i}.pdf`)).toContain('Signature Validation: Signature is Valid.');
    }
  });

  pdfsigIt('pdfsig no longer reports valid after one byte of the signed range changes', async () => {
    const signed = await signedPdf(identity);
    const at = signed.indexOf('Tamper-evident seal');
    expect(at).toBeGreaterThan(0);
    const tampered = Buffer.from(signed);
    tampered[at] = 't'.charCodeAt(0);
    const out = await pdfsig(tmp.dir, tampered, 'tampered.pdf');
    expect(out).toContain('Signature #1');
    expect(out).not.toContain('Signature is Valid');
    expect(out).toMatch(/Signature Validation: .*(Invalid|mismatch)/i);
  });

  pdfsigIt('pdfsig validates a signature made with an OpenSSL-made organisation PKCS#12', async () => {
    if (!HAS_OPENSSL) {
      console.warn('openssl not found: OpenSSL PKCS#12 test skipped');
      return;
    }
    const key = join(tmp.dir, 'org.key');
    const crt = join(tmp.dir, 'org.crt');
    const p12Path = join(tmp.dir, 'org-openssl.p12');
    await execFileAsync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '30', '-subj', '/O=Org Inc/CN=Org Report Signing', '-addext', 'keyUsage=critical,digitalSignature,nonRepudiation', '-addext', 'extendedKeyUsage=emailProtection']);
    await execFileAsync('openssl', ['pkcs12', '-export', '-inkey', key, '-in', crt, '-out', p12Path, '-passout', 'pass:org-secret']);
    const org = await loadOrCreatePdfSigningIdentity({ kind: 'pkcs12', p12Path, passphrase: 'org-secret' });
    expect(org.subject).toBe('CN=Org Report Signing, O=Org Inc');
    const out = await pdfsig(tmp.dir, await signedPdf(org), 'org.pdf');
    expect(out).toContain('Signature Validation: Signature is Valid.');
    expect(out).toContain('Org Report Signing');
  });
});
