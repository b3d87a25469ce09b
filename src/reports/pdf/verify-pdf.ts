/**
 * Offline verification of a report PDF: the embedded `report.json` and `report.jws` are extracted
 * and verified against a JWKS exactly like the separate files (`verifyReportOffline`), and the
 * PDF's own signature is checked for integrity (the CMS signature is valid for its certificate
 * and its digest matches the signed byte ranges, which cover the whole file).
 *
 * Trust in the embedded report comes from the JWKS. Trust in the PDF itself (its pages, what a
 * reader sees) comes only from a pinned certificate: the JWS covers the embedded report.json, not
 * the rendered pages, and anyone can re-render a PDF with false pages around the genuine
 * report.json and sign it with a new self-signed certificate under the same CN. So the PDF is
 * called the issuer's only when the SHA-256 fingerprint of its signing certificate (DER) equals
 * one the caller pins (`pdfCertSha256`); without a pin the result is 'pdf-signer-not-verified'.
 */
import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import forge from 'node-forge';
import { sha256Hex } from '../../util/hash.js';
import { printableText, verifyReportOffline } from '../../signing/verify-offline.js';
import type { OfflineVerification, ReportIdentity } from '../../signing/verify-offline.js';
import type { VerifyFailureCode } from '../../signing/jws.js';
import { decodeUtf16Be, PdfReadError, readEmbeddedFiles, readSignatureDictionaries, signatureByteRanges } from './pdf-reader.js';
import { EMBEDDED_JWS_NAME, EMBEDDED_REPORT_NAME } from './names.js';

/** What was found about the PDF's own signature. */
export interface PdfSignatureFacts {
  /** Lower-case hex SHA-256 of the whole PDF file. */
  readonly pdfSha256: string;
  readonly signatureCount: number;
  /** The CMS signature verifies with its certificate and its digest matches the signed bytes. */
  readonly intact: boolean;
  /** The signed byte ranges run from the first to the last byte (no later incremental update). */
  readonly coversWholeFile: boolean;
  /** The signing certificate; `subject` as "CN=..., O=..." with every value decoded to text. */
  readonly signer?: { readonly subject: string; readonly certificateSha256: string; readonly selfSigned: boolean };
  /** The CMS signing time (ISO 8601 UTC), if present. */
  readonly signingTime?: string;
  /**
   * The text entries of the checked signature's dictionary (`/Name`, `/Reason`, `/Location`,
   * `/ContactInfo`), decoded (PDFDocEncoding or UTF-16BE); missing ones are left out. The signer
   * wrote them: they are covered by the signature but vouched for by nobody.
   */
  readonly dictionary?: PdfSignatureText;
}

/** Decoded text entries of a PDF signature dictionary. */
export interface PdfSignatureText {
  readonly name?: string;
  readonly reason?: string;
  readonly location?: string;
  readonly contactInfo?: string;
}

/** Why a PDF was refused before or besides its JWS. */
export type PdfFailureCode =
  | 'pdf-unreadable'
  | 'no-embedded-report'
  | 'pdf-signature-missing'
  | 'pdf-signature-invalid'
  | 'pdf-modified-after-signing'
  /** The PDF's signing certificate is not the pinned one: the PDF is not the issuer's. */
  | 'pdf-signer-mismatch'
  /**
   * Everything checked out (embedded report valid under the JWKS, PDF signature intact over the
   * whole file) but no certificate fingerprint was pinned: the PDF's pages are not proven to be
   * the issuer's. Not a pass: `valid` is false.
   */
  | 'pdf-signer-not-verified';

/** What `verifyPdfOffline` is told to trust besides the JWKS. */
export interface PdfVerifyOptions {
  /**
   * SHA-256 fingerprints (hex of the DER certificate; case, `:` and spaces ignored) of the
   * certificates the issuer publishes for its PDFs. The PDF is the issuer's only if its signing
   * certificate matches one of them.
   */
  readonly pdfCertSha256?: readonly string[];
}

/** The outcome of `verifyPdfOffline`. */
export type PdfOfflineVerification =
  | { readonly valid: true; readonly kid: string; readonly identity: ReportIdentity; readonly pdf: PdfSignatureFacts }
  | {
      readonly valid: false;
      readonly code: VerifyFailureCode | PdfFailureCode;
      readonly reason: string;
      /** Present when the embedded report could be read. */
      readonly identity?: ReportIdentity;
      /** Present when the embedded report's JWS is valid (codes 'pdf-*' after the JWS check). */
      readonly kid?: string;
      readonly hint?: string;
      readonly pdf: PdfSignatureFacts;
    };

const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const OID_SIGNING_TIME = '1.2.840.113549.1.9.5';
const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
// ASN.1 universal tags of the DirectoryString choices forge hands back as raw bytes (X.680 §8.4).
const TAG_UTF8_STRING = 12;
const TAG_UNIVERSAL_STRING = 28;
const TAG_BMP_STRING = 30;

/**
 * Verifies a report PDF offline.
 *
 * Guarantees: never throws or rejects; `valid` is true only when (1) the PDF holds exactly one
 * `report.json` and one `report.jws`, (2) the JWS is a valid EdDSA signature over the embedded
 * report's exact bytes by a key in `jwks` (all the checks of `verifyReportOffline`), and (3) the
 * PDF carries a signature whose CMS verifies with its own certificate, whose SHA-256 digest
 * matches the signed byte ranges, and whose ranges cover the whole file, and (4) the certificate
 * that signed the PDF has one of the pinned SHA-256 fingerprints (`options.pdfCertSha256`): with
 * no pin the result is `valid: false` with code 'pdf-signer-not-verified' (and `kid`, `identity`),
 * with a pin that does not match it is 'pdf-signer-mismatch'. Every refusal says why.
 */
export async function verifyPdfOffline(pdfBytes: Uint8Array, jwks: unknown, options: PdfVerifyOptions = {}): Promise<PdfOfflineVerification> {
  const pdf = Buffer.from(pdfBytes.buffer, pdfBytes.byteOffset, pdfBytes.byteLength);
  const facts = pdfSignatureFacts(pdf);
  let reportBytes: Buffer;
  let jws: string;
  try {
    const files = readEmbeddedFiles(pdf);
    const reports = files.filter((f) => f.name === EMBEDDED_REPORT_NAME);
    const signatures = files.filter((f) => f.name === EMBEDDED_JWS_NAME);
    if (reports.length !== 1 || signatures.length !== 1) {
      return {
        valid: false,
        code: 'no-embedded-report',
        reason: `the PDF must embed exactly one ${EMBEDDED_REPORT_NAME} and one ${EMBEDDED_JWS_NAME}; found ${reports.length} and ${signatures.length}`,
        pdf: facts,
      };
    }
    reportBytes = reports[0]!.bytes;
    jws = signatures[0]!.bytes.toString('utf8');
  } catch (error) {
    const reason = error instanceof PdfReadError ? error.message : 'the PDF cannot be read';
    return { valid: false, code: 'pdf-unreadable', reason, pdf: facts };
  }

  const result: OfflineVerification = await verifyReportOffline(reportBytes, jws, jwks);
  if (!result.valid) return { ...result, pdf: facts };
  const { kid, identity } = result;
  if (facts.signatureCount === 0) return { valid: false, code: 'pdf-signature-missing', reason: 'the PDF is not signed', identity, kid, pdf: facts };
  if (!facts.intact) return { valid: false, code: 'pdf-signature-invalid', reason: 'the PDF signature does not match the signed bytes or its certificate', identity, kid, pdf: facts };
  if (!facts.coversWholeFile) {
    return { valid: false, code: 'pdf-modified-after-signing', reason: 'the PDF was changed after it was signed (the signature does not cover the whole file)', identity, kid, pdf: facts };
  }
  const pins = (options.pdfCertSha256 ?? []).map(normaliseFingerprint);
  const actual = facts.signer?.certificateSha256;
  if (pins.length === 0) {
    return {
      valid: false,
      code: 'pdf-signer-not-verified',
      reason: `the embedded report is valid (key ${kid}) and the PDF signature is intact, but the PDF's signing certificate was not checked against the fingerprint the issuer publishes (--pdf-cert-sha256): the pages shown are not proven to be the issuer's`,
      identity,
      kid,
      pdf: facts,
    };
  }
  if (actual === undefined || !pins.includes(actual)) {
    return {
      valid: false,
      code: 'pdf-signer-mismatch',
      reason: `the PDF is signed by certificate ${actual ?? '(none)'}, not by the pinned ${pins.join(' or ')}: it is not the issuer's PDF (its pages may say anything)`,
      identity,
      kid,
      pdf: facts,
    };
  }
  return { valid: true, kid, identity, pdf: facts };
}

/**
 * A certificate fingerprint as given by a person (upper or lower case, `:` or spaces between
 * bytes, as openssl and browsers show it) in the form `certificateSha256` has: 64 lower-case hex
 * digits. Returns undefined for anything else.
 */
export function parseCertificateFingerprint(text: string): string | undefined {
  const hex = text.replace(/[:\s]/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

function normaliseFingerprint(text: string): string {
  // An unparseable pin can match nothing (not even an empty fingerprint).
  return parseCertificateFingerprint(text) ?? `invalid pin: ${text}`;
}

/**
 * Checks the last signature of a PDF: CMS signature over the signed attributes, messageDigest =
 * SHA-256 of the byte ranges, and whether the ranges cover the file. Guarantees: never throws.
 */
export function pdfSignatureFacts(pdf: Buffer): PdfSignatureFacts {
  const pdfSha256 = sha256Hex(pdf);
  const ranges = signatureByteRanges(pdf);
  const range = ranges[ranges.length - 1];
  if (range === undefined) return { pdfSha256, signatureCount: 0, intact: false, coversWholeFile: false };
  const dictionary = signatureText(pdf, range);
  const base: PdfSignatureFacts = { pdfSha256, signatureCount: ranges.length, intact: false, coversWholeFile: false, ...(dictionary === undefined ? {} : { dictionary }) };
  const [a, b, c, d] = range as [number, number, number, number];
  const coversWholeFile = a === 0 && c + d === pdf.length && b < c;
  if (!(a === 0 && b <= c && c + d <= pdf.length && b > a)) return { ...base, coversWholeFile: false };
  try {
    const der = derAtStart(pdf.toString('latin1', b + 1, c - 1));
    if (der === undefined) return { ...base, coversWholeFile };
    const message = forge.pkcs7.messageFromAsn1(forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')))) as forge.pkcs7.PkcsSignedData & {
      rawCapture: { signerInfos?: forge.asn1.Asn1[] };
    };
    const signerInfo = message.rawCapture.signerInfos?.[0];
    if (signerInfo === undefined || !Array.isArray(signerInfo.value)) return { ...base, coversWholeFile };
    const parts = signerInfo.value;
    const issuerAndSerial = parts[1];
    const digestAlgorithm = parts[2];
    const attrs = parts.find((p) => p.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && (p.type as number) === 0);
    const signature = parts.find((p) => p.tagClass === forge.asn1.Class.UNIVERSAL && p.type === forge.asn1.Type.OCTETSTRING);
    if (attrs === undefined || signature === undefined || !Array.isArray(attrs.value) || typeof signature.value !== 'string') return { ...base, coversWholeFile };
    const digestOid = Array.isArray(digestAlgorithm?.value) ? forge.asn1.derToOid((digestAlgorithm.value[0] as forge.asn1.Asn1).value as string) : '';
    if (digestOid !== OID_SHA256) return { ...base, coversWholeFile };

    let messageDigest: string | undefined;
    let signingTime: string | undefined;
    for (const attr of attrs.value) {
      const [oidNode, valuesNode] = attr.value as forge.asn1.Asn1[];
      const oid = forge.asn1.derToOid(oidNode!.value as string);
      const first = (valuesNode!.value as forge.asn1.Asn1[])[0];
      if (oid === OID_MESSAGE_DIGEST) messageDigest = Buffer.from(first!.value as string, 'binary').toString('hex');
      if (oid === OID_SIGNING_TIME) {
        const when = first!.type === forge.asn1.Type.UTCTIME ? forge.asn1.utcTimeToDate(first!.value as string) : forge.asn1.generalizedTimeToDate(first!.value as string);
        signingTime = when.toISOString();
      }
    }
    const signed = createHash('sha256').update(pdf.subarray(a, a + b)).update(pdf.subarray(c, c + d)).digest('hex');

    const serial = Array.isArray(issuerAndSerial?.value) ? forge.util.bytesToHex((issuerAndSerial.value[1] as forge.asn1.Asn1).value as string) : '';
    const certificate = message.certificates.find((cert) => normaliseSerial(cert.serialNumber) === normaliseSerial(serial)) ?? message.certificates[0];
    if (certificate === undefined) return { ...base, coversWholeFile };
    const signedAttributes = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SET, true, attrs.value);
    const signedAttributesDer = Buffer.from(forge.asn1.toDer(signedAttributes).getBytes(), 'binary');
    const publicKey = createPublicKey(forge.pki.publicKeyToPem(certificate.publicKey));
    const cmsValid = verifySignature('sha256', signedAttributesDer, publicKey, Buffer.from(signature.value, 'binary'));
    const certDer = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(certificate)).getBytes(), 'binary');
    const subject = certificate.subject.attributes.map((x) => `${x.shortName ?? x.name ?? x.type}=${attributeText(x)}`).reverse().join(', ');
    return {
      pdfSha256,
      signatureCount: ranges.length,
      intact: cmsValid && messageDigest === signed,
      coversWholeFile,
      signer: { subject, certificateSha256: createHash('sha256').update(certDer).digest('hex'), selfSigned: safeSelfSigned(certificate) },
      ...(signingTime === undefined ? {} : { signingTime }),
      ...(dictionary === undefined ? {} : { dictionary }),
    };
  } catch {
    return { ...base, coversWholeFile };
  }
}

/**
 * The DER value at the start of a signature's `/Contents` hex string (without its `<` `>`), which
 * signers pad with zeros to the reserved size. Its header states its length: the zeros are cut
 * there, never by stripping trailing `00`s, which would also cut a CMS whose signature value ends
 * in a zero byte (1 RSA signature in 256). Guarantees: never throws; undefined when the text is
 * not hex (white space aside) or the header is not a DER length (definite, at most 4 length
 * bytes) that fits.
 */
function derAtStart(text: string): Buffer | undefined {
  // White space in a hex string is ignored (ISO 32000-1 §7.3.4.3); an odd last digit is followed by 0.
  const hex = text.replace(/[\0\t\n\f\r ]/g, '');
  if (!/^[0-9A-Fa-f]*$/.test(hex)) return undefined;
  const bytes = Buffer.from(hex.length % 2 === 0 ? hex : `${hex}0`, 'hex');
  const first = bytes[1];
  if (first === undefined) return undefined;
  let header = 2;
  let length = first;
  if (first > 0x80 && first <= 0x84) {
    header += first & 0x7f;
    if (bytes.length < header) return undefined;
    length = bytes.readUIntBE(2, first & 0x7f);
  } else if (first >= 0x80) {
    return undefined;
  }
  return header + length <= bytes.length ? bytes.subarray(0, header + length) : undefined;
}

/**
 * The text entries of the signature dictionary whose /ByteRange is `range`.
 * Guarantees: never throws; undefined when there is no such dictionary or it has no text entry.
 */
function signatureText(pdf: Buffer, range: readonly number[]): PdfSignatureText | undefined {
  try {
    const found = readSignatureDictionaries(pdf).filter((s) => s.byteRange.length === range.length && s.byteRange.every((n, i) => n === range[i]));
    const last = found[found.length - 1];
    if (last === undefined) return undefined;
    const { byteRange: _, ...text } = last;
    return Object.keys(text).length === 0 ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * A distinguished-name attribute value as text. forge returns every string type as its raw
 * content bytes (a binary string): UTF8String is UTF-8 (RFC 5280 §4.1.2.4), BMPString UTF-16BE,
 * UniversalString UTF-32BE; PrintableString and IA5String are ASCII, and TeletexString is read as
 * Latin-1 like most software does. Invalid bytes give U+FFFD. Guarantees: never throws.
 */
function attributeText(attr: forge.pki.CertificateField): string {
  const value: unknown = attr.value;
  if (typeof value !== 'string') return String(value);
  const bytes = Buffer.from(value, 'binary');
  switch (attr.valueTagClass as number | undefined) {
    case TAG_UTF8_STRING:
      return new TextDecoder('utf-8').decode(bytes);
    case TAG_BMP_STRING:
      return decodeUtf16Be(bytes);
    case TAG_UNIVERSAL_STRING: {
      let text = '';
      for (let i = 0; i + 3 < bytes.length; i += 4) {
        const code = bytes.readUInt32BE(i);
        text += code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : '\ufffd';
      }
      return bytes.length % 4 === 0 ? text : `${text}\ufffd`;
    }
    default:
      return value;
  }
}

function normaliseSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+/, '');
}

function safeSelfSigned(cert: forge.pki.Certificate): boolean {
  try {
    return cert.isIssuer(cert) && cert.verify(cert);
  } catch {
    return false;
  }
}

/**
 * The result of `verifyPdfOffline` as text lines for a terminal: a first line starting with
 * `VALID` (pinned signer), `SIGNER NOT VERIFIED: <reason>` (no pin given) or `INVALID: <reason>`,
 * then the report identity and the PDF signature facts. Guarantees: one entry per line, no
 * trailing newlines; every value that comes from the PDF, the JWS or the report is shown with
 * control and bidirectional characters escaped (`printableText`); the same result gives the same
 * lines.
 */
export function pdfVerificationLines(result: PdfOfflineVerification): string[] {
  const lines = [
    result.valid
      ? `VALID: the embedded report is signed by key ${printableText(result.kid)} and the PDF is intact and signed by the pinned certificate`
      : result.code === 'pdf-signer-not-verified'
        ? `SIGNER NOT VERIFIED: ${printableText(result.reason)}`
        : `INVALID: ${printableText(result.reason)}`,
  ];
  if (!result.valid && result.hint !== undefined) lines.push(`hint: ${printableText(result.hint)}`);
  const row = (name: string, value: string | number | undefined): void => {
    if (value !== undefined && value !== '') lines.push(`  ${`${name}:`.padEnd(18)}${printableText(String(value))}`);
  };
  const identity = result.identity;
  if (!result.valid && result.code === 'pdf-signer-not-verified') row('embedded report', 'VALID (signed by a key in the JWKS)');
  row('reportId', identity?.reportId);
  row('assessmentId', identity?.assessmentId);
  row('revision', identity?.revision);
  row('kid', result.kid);
  row('report sha256', identity?.sha256);
  row('pdf sha256', result.pdf.pdfSha256);
  row('pdf signature', result.pdf.signatureCount === 0 ? 'none' : `${result.pdf.intact ? 'intact' : 'BROKEN'}, ${result.pdf.coversWholeFile ? 'covers the whole file' : 'does NOT cover the whole file'}`);
  row('pdf signed at', result.pdf.signingTime);
  row('pdf signer', result.pdf.signer?.subject);
  const text = result.pdf.dictionary;
  row('pdf sig name', text?.name);
  row('pdf sig reason', text?.reason);
  row('pdf sig location', text?.location);
  row('pdf sig contact', text?.contactInfo);
  const signer = result.pdf.signer;
  const pinned = result.valid ? ' (matches the pinned fingerprint)' : signer?.selfSigned === true ? ' (self-signed: pin the fingerprint the issuer publishes with --pdf-cert-sha256)' : '';
  row('pdf cert sha256', signer === undefined ? undefined : `${signer.certificateSha256}${pinned}`);
  return lines;
}
