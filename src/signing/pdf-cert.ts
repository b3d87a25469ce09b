/**
 * The X.509 identity that signs report PDFs (a detached CMS signature inside the PDF, see pdf-sign.ts).
 *
 * Embedded default: a self-signed certificate with an RSA key, created on first use under
 * `<dataDir>/keys/pdf-signing/` as `signing.p12` (PKCS#12, AES-256) + `signing.p12.passphrase`
 * (generated) + `certificate.pem`, directory 0700, files 0600. Production: the organisation's
 * PKCS#12 from a path, its passphrase from an environment variable or a file.
 */
import { createHash, generateKeyPair, randomBytes } from 'node:crypto';
import { access, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { assertOwnerOnly, ensurePrivateDir, keyError, readSecretFile } from './secret-files.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** What the PDF signer needs, plus the certificate's public facts for the report and logs. */
export interface PdfSigningIdentity {
  /** The PKCS#12 bytes: give them to a new `P12Signer` for each signature. */
  readonly p12: Buffer;
  readonly passphrase: string;
  readonly certificatePem: string;
  /** Lower-case hex SHA-256 of the certificate's DER encoding. */
  readonly fingerprintSha256: string;
  /** The subject as an RFC 4514-like string, e.g. "CN=..., O=...". */
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly selfSigned: boolean;
  /** Where it came from, for a start-up log line (no secrets). */
  readonly source: string;
}

/** Where the PDF signing identity comes from. */
export type PdfIdentitySource =
  | {
      readonly kind: 'directory';
      /** e.g. `pdfIdentityDirectory(dataDir)` */
      readonly dir: string;
      /** Organisation name for the certificate subject's O=. */
      readonly organization: string;
      readonly commonName?: string;
      readonly keyBits?: 2048 | 3072;
      readonly validityYears?: number;
    }
  | { readonly kind: 'pkcs12'; readonly p12Path: string; readonly passphrase: string };

/** Default CN of the embedded self-signed certificate. */
export const DEFAULT_PDF_CERT_COMMON_NAME = 'HIPAA AI Risk Report Signing (self-signed)';

// RFC 9336 id-kp-documentSigning, and Microsoft's Document Signing EKU that Adobe Acrobat knows.
const EKU_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';
const EKU_MS_DOCUMENT_SIGNING = '1.3.6.1.4.1.311.10.3.12';
const OID_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
// @types/node-forge types `valueTagClass` as an asn1.Class, but forge reads it as the tag number
// (asn1.Type) of the attribute value.
const UTF8_STRING = forge.asn1.Type.UTF8 as number as forge.asn1.Class;
const P12_FILE = 'signing.p12';
const PASSPHRASE_FILE = 'signing.p12.passphrase';
const CERT_FILE = 'certificate.pem';

/**
 * Loads the PDF signing identity, creating the embedded self-signed one on first use.
 *
 * Guarantees: the PKCS#12 opens with the passphrase and holds an RSA private key with a matching
 * certificate (what `P12Signer` needs); a certificate outside its validity period at `now` is
 * refused; embedded files are created atomically (a staging directory renamed into place, so a
 * concurrent or interrupted first start never leaves a p12 without its passphrase) and are
 * refused if group or others can read them. Throws `AppError` on any of these problems.
 */
export async function loadOrCreatePdfSigningIdentity(source: PdfIdentitySource, now: Date = new Date()): Promise<PdfSigningIdentity> {
  if (source.kind === 'pkcs12') {
    let p12: Buffer;
    try {
      p12 = await readFile(source.p12Path);
    } catch (cause) {
      throw keyError(`cannot read the PDF signing PKCS#12 at ${source.p12Path}`, cause);
    }
    return identityFromP12(p12, source.passphrase, `PKCS#12 ${source.p12Path}`, now);
  }
  const p12Path = join(source.dir, P12_FILE);
  if (!(await exists(p12Path))) await createEmbeddedIdentity(source, now);
  await assertOwnerOnly(p12Path);
  await assertOwnerOnly(join(source.dir, PASSPHRASE_FILE));
  const passphrase = await readSecretFile(join(source.dir, PASSPHRASE_FILE), 'PKCS#12 passphrase');
  return identityFromP12(await readFile(p12Path), passphrase.trim(), `self-signed PKCS#12 ${p12Path}`, now);
}

/** `<dataDir>/keys/pdf-signing`: the embedded default directory of the PDF signing identity. */
export function pdfIdentityDirectory(dataDir: string): string {
  return join(dataDir, 'keys', 'pdf-signing');
}

/**
 * The PDF identity source configured in the environment, or the embedded directory.
 *
 * Reads `PDF_SIGNING_P12_FILE` (path to the organisation's PKCS#12), its passphrase from
 * `PDF_SIGNING_P12_PASSPHRASE` or `PDF_SIGNING_P12_PASSPHRASE_FILE` (exactly one, trailing newline
 * ignored), and for the embedded certificate `PDF_SIGNING_ORGANIZATION` (O= of the subject;
 * default `organization`). Throws `AppError` on an inconsistent combination.
 */
export async function pdfIdentitySourceFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  dataDir: string,
  organization = 'HIPAA AI Risk (embedded)',
): Promise<PdfIdentitySource> {
  const p12Path = nonEmpty(env.PDF_SIGNING_P12_FILE);
  const passphrase = env.PDF_SIGNING_P12_PASSPHRASE;
  const passphraseFile = nonEmpty(env.PDF_SIGNING_P12_PASSPHRASE_FILE);
  if (p12Path === undefined) {
    if (passphrase !== undefined || passphraseFile !== undefined) throw keyError('a PDF signing passphrase is set without PDF_SIGNING_P12_FILE');
    return { kind: 'directory', dir: pdfIdentityDirectory(dataDir), organization: nonEmpty(env.PDF_SIGNING_ORGANIZATION) ?? organization };
  }
  if (passphrase !== undefined && passphraseFile !== undefined) throw keyError('set PDF_SIGNING_P12_PASSPHRASE or PDF_SIGNING_P12_PASSPHRASE_FILE, not both');
  if (passphraseFile !== undefined) {
    const text = await readSecretFile(passphraseFile, 'PKCS#12 passphrase');
    return { kind: 'pkcs12', p12Path, passphrase: text.replace(/\r?\n$/, '') };
  }
  if (passphrase === undefined) throw keyError('PDF_SIGNING_P12_FILE needs PDF_SIGNING_P12_PASSPHRASE or PDF_SIGNING_P12_PASSPHRASE_FILE');
  return { kind: 'pkcs12', p12Path, passphrase };
}

/**
 * Creates a self-signed certificate and its PKCS#12 in memory (no files).
 *
 * Guarantees: RSA key of `keyBits` (default 3072) from node:crypto; certificate valid from one
 * hour before `now` for `validityYears` (default 10); random positive 128-bit serial; SHA-256
 * signature; basicConstraints CA:false; keyUsage digitalSignature + nonRepudiation (critical);
 * extKeyUsage emailProtection, documentSigning (RFC 9336) and Microsoft document signing; subject
 * key identifier.
 */
export async function createSelfSignedPdfIdentity(options: {
  readonly organization: string;
  readonly commonName?: string;
  readonly keyBits?: 2048 | 3072;
  readonly validityYears?: number;
  readonly now?: Date;
}): Promise<{ readonly p12: Buffer; readonly passphrase: string; readonly certificatePem: string }> {
  const now = options.now ?? new Date();
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: options.keyBits ?? 3072 });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  const publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);

  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // DER INTEGER must be positive
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + (options.validityYears ?? 10));
  cert.validity.notAfter = notAfter;
  // Most significant RDN first, so the DN reads "CN=..., O=..." in RFC 4514 order. UTF8String
  // (RFC 5280 §4.1.2.4): forge's default PrintableString writes each UTF-16 code unit as one
  // byte, which garbles names with characters above U+00FF and makes the PKCS#12 MAC fail.
  const attrs: forge.pki.CertificateField[] = [
    { name: 'organizationName', value: options.organization, valueTagClass: UTF8_STRING },
    { name: 'commonName', value: options.commonName ?? DEFAULT_PDF_CERT_COMMON_NAME, valueTagClass: UTF8_STRING },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true },
    // emailProtection too: NSS (poppler's pdfsig, Firefox) validates PDF signers as e-mail signers
    // and reports "Unknown issue with Certificate" for an EKU list without it.
    { name: 'extKeyUsage', emailProtection: true, [EKU_DOCUMENT_SIGNING]: true, [EKU_MS_DOCUMENT_SIGNING]: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());

  const passphrase = randomBytes(32).toString('base64url');
  const asn1 = forge.pkcs12.toPkcs12Asn1(forgeKey, [cert], passphrase, {
    algorithm: 'aes256',
    friendlyName: options.commonName ?? DEFAULT_PDF_CERT_COMMON_NAME,
    generateLocalKeyId: true,
  });
  const p12 = Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
  return { p12, passphrase, certificatePem: forge.pki.certificateToPem(cert) };
}

/**
 * Opens a PKCS#12 and describes its signing certificate.
 *
 * Guarantees: throws `AppError` unless the file opens with the passphrase, holds exactly the kind
 * of key `P12Signer` uses (an RSA key in a shrouded key bag) and a certificate whose public key
 * matches it, valid at `now`.
 */
export function identityFromP12(p12: Buffer, passphrase: string, source: string, now: Date = new Date()): PdfSigningIdentity {
  let parsed: forge.pkcs12.Pkcs12Pfx;
  try {
    parsed = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(p12.toString('binary'))), false, passphrase);
  } catch (cause) {
    throw keyError(`${source}: cannot open the PKCS#12 (wrong passphrase or not a PKCS#12 file)`, cause);
  }
  const keyBag = parsed.getBags({ bagType: OID_SHROUDED_KEY_BAG })[OID_SHROUDED_KEY_BAG]?.[0];
  const key = keyBag?.key;
  if (key === undefined || key.n === undefined) throw keyError(`${source}: no RSA private key in a shrouded key bag (EC keys are not supported by the PDF signer)`);
  const certs = (parsed.getBags({ bagType: OID_CERT_BAG })[OID_CERT_BAG] ?? []).flatMap((b) => (b.cert ? [b.cert] : []));
  const cert = certs.find((c) => {
    const pub = c.publicKey as forge.pki.rsa.PublicKey;
    return pub.n !== undefined && pub.n.compareTo(key.n) === 0 && pub.e.compareTo(key.e) === 0;
  });
  if (cert === undefined) throw keyError(`${source}: no certificate matches the private key`);
  if (now < cert.validity.notBefore || now > cert.validity.notAfter) {
    throw keyError(`${source}: the certificate is valid from ${cert.validity.notBefore.toISOString()} to ${cert.validity.notAfter.toISOString()}, not now`);
  }
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  const subject = cert.subject.attributes.map((a) => `${a.shortName ?? a.name ?? a.type}=${attributeText(a)}`).reverse().join(', ');
  return Object.freeze({
    p12,
    passphrase,
    certificatePem: forge.pki.certificateToPem(cert),
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    subject,
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
    selfSigned: cert.isIssuer(cert) && safeVerify(cert),
    source,
  });
}

async function createEmbeddedIdentity(source: Extract<PdfIdentitySource, { kind: 'directory' }>, now: Date): Promise<void> {
  const parent = join(source.dir, '..');
  await ensurePrivateDir(parent);
  const staging = join(parent, `.pdf-signing-${randomBytes(6).toString('hex')}.tmp`);
  await ensurePrivateDir(staging);
  try {
    const created = await createSelfSignedPdfIdentity({ ...source, now });
    await writeFile(join(staging, P12_FILE), created.p12, { mode: 0o600, flag: 'wx' });
    await writeFile(join(staging, PASSPHRASE_FILE), `${created.passphrase}\n`, { mode: 0o600, flag: 'wx' });
    await writeFile(join(staging, CERT_FILE), created.certificatePem, { mode: 0o600, flag: 'wx' });
    try {
      await rename(staging, source.dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Another process created it first, or an empty directory is in the way.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      if (await exists(join(source.dir, P12_FILE))) return;
      throw keyError(`${source.dir} exists but holds no ${P12_FILE}; remove it or put the identity there`, error);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** A parsed DN attribute value as text: forge leaves a UTF8String as its UTF-8 bytes. */
function attributeText(attr: forge.pki.CertificateField): string {
  const value = String(attr.value);
  if ((attr.valueTagClass as number | undefined) !== forge.asn1.Type.UTF8) return value;
  try {
    return forge.util.decodeUtf8(value);
  } catch {
    return value;
  }
}

function safeVerify(cert: forge.pki.Certificate): boolean {
  try {
    return cert.verify(cert);
  } catch {
    return false;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
