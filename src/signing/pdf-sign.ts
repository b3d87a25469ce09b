/**
 * Signing pdfkit documents: a signature placeholder added before `doc.end()`, then a CMS
 * (PKCS#7 detached, SHA-256, RSA PKCS#1 v1.5) signature over the final bytes.
 *
 * Sign last: the placeholder goes in when the document is complete, and nothing may change the
 * bytes after `signPdfBytes`. With a fixed signing time the result is byte-identical across runs
 * (RSA PKCS#1 v1.5 is deterministic, and pdfkit is given fixed dates by the caller).
 *
 * `PdfCmsSigner` builds exactly the CMS that @signpdf/signer-p12's `P12Signer` builds (same
 * attributes, same order: the tests compare the bytes) but opens the PKCS#12 once and does the
 * RSA operation in node:crypto: ~2 ms per signature instead of ~80 ms (forge's RSA in JavaScript
 * takes ~60 ms for a 3072-bit key, opening the PKCS#12 ~20 ms, on every `P12Signer.sign`).
 */
import { constants as cryptoConstants, createHash, createPrivateKey, privateEncrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { pdfkitAddPlaceholder } from '@signpdf/placeholder-pdfkit';
import { P12Signer } from '@signpdf/signer-p12';
import { SignPdf, Signer } from '@signpdf/signpdf';
import forge from 'node-forge';
import type PDFDocument from 'pdfkit';
import type { PdfSigningIdentity } from './pdf-cert.js';
import { keyError } from './secret-files.js';

/** A pdfkit document instance. */
export type PdfKitDocument = typeof PDFDocument;

/**
 * `adbe.pkcs7.detached` is the default: the CMS that @signpdf/signer-p12 produces carries a
 * `signingTime` attribute and no ESS signing-certificate-v2, which PAdES (`ETSI.CAdES.detached`)
 * forbids and requires respectively; `pdfsig` accepts both, strict PAdES validators do not.
 */
export type PdfSubFilter = 'adbe.pkcs7.detached' | 'ETSI.CAdES.detached';

/** The visible fields of a PDF signature. */
export interface PdfSignatureFields {
  readonly reason: string;
  /** Signer name shown by PDF readers (the organisation or service). */
  readonly name: string;
  readonly location: string;
  readonly contactInfo?: string;
  /** Fixed, e.g. the revision's submission time: never the clock, or bytes change per run. */
  readonly signingTime: Date;
  readonly subFilter?: PdfSubFilter;
  /** Bytes reserved for the CMS; 8192 fits a 3072-bit signature with a chain of a few certificates. */
  readonly signatureLength?: number;
}

/** The part of a `PdfSigningIdentity` the signer needs. */
export type PdfSignerIdentity = Pick<PdfSigningIdentity, 'p12' | 'passphrase'>;

const DEFAULT_SIGNATURE_LENGTH = 8192;
// DER prefix of a DigestInfo for SHA-256 (RFC 8017 §9.2 note 1): what RSASSA-PKCS1-v1_5 signs.
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

const OID_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const OID = {
  contentType: '1.2.840.113549.1.9.3',
  data: '1.2.840.113549.1.7.1',
  signingTime: '1.2.840.113549.1.9.5',
  messageDigest: '1.2.840.113549.1.9.4',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/**
 * A reusable PDF signer: opens the PKCS#12 once, then signs any number of PDFs.
 *
 * Guarantees: the CMS is SignedData, detached, SHA-256, RSASSA-PKCS1-v1_5, authenticated
 * attributes contentType, signingTime, messageDigest (in that order), every certificate of the
 * PKCS#12 included, byte-identical to `P12Signer`'s (which encodes a non-ASCII UTF8String issuer
 * twice: see the constructor); `sign` keeps no state between calls.
 */
export class PdfCmsSigner extends Signer {
  readonly #certificates: readonly forge.pki.Certificate[];
  readonly #signerCertificate: forge.pki.Certificate;
  readonly #privateKey: KeyObject;

  constructor(identity: PdfSignerIdentity) {
    super();
    let parsed: forge.pkcs12.Pkcs12Pfx;
    try {
      parsed = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(identity.p12.toString('binary'))), false, identity.passphrase);
    } catch (cause) {
      throw keyError('cannot open the PDF signing PKCS#12 (wrong passphrase or not a PKCS#12 file)', cause);
    }
    const key = parsed.getBags({ bagType: OID_SHROUDED_KEY_BAG })[OID_SHROUDED_KEY_BAG]?.[0]?.key;
    if (key?.n === undefined) throw keyError('the PDF signing PKCS#12 holds no RSA private key');
    this.#certificates = (parsed.getBags({ bagType: OID_CERT_BAG })[OID_CERT_BAG] ?? []).flatMap((b) => (b.cert ? [b.cert] : []));
    // Like P12Signer: the last certificate whose public key matches the private key.
    const matching = this.#certificates.filter((c) => {
      const pub = c.publicKey as forge.pki.rsa.PublicKey;
      return pub.n !== undefined && pub.n.compareTo(key.n) === 0 && pub.e.compareTo(key.e) === 0;
    });
    const signerCertificate = matching[matching.length - 1];
    if (signerCertificate === undefined) throw keyError('no certificate in the PDF signing PKCS#12 matches its private key');
    // forge parses a UTF8String DN value into its UTF-8 bytes but encodes the SignerInfo's issuer
    // from those values as if they were text, encoding them twice: a non-ASCII issuer (e.g. "O=Клиника")
    // then names no certificate and verifiers fail. Give addSigner the issuer decoded once.
    this.#signerCertificate = { ...signerCertificate, issuer: { ...signerCertificate.issuer, attributes: signerCertificate.issuer.attributes.map(decodedUtf8Attribute) } };
    this.#privateKey = createPrivateKey(forge.pki.privateKeyToPem(key));
  }

  /** The start of the signing certificate's validity: no signature may claim an earlier time. */
  get notBefore(): Date {
    return new Date(this.#signerCertificate.validity.notBefore.getTime());
  }

  /** Returns the DER CMS signature of `pdfBuffer` (the PDF without its `/Contents` value). */
  override sign(pdfBuffer: Buffer, signingTime?: Date): Promise<Buffer> {
    return new Promise((resolve) => resolve(this.#signSync(pdfBuffer, signingTime)));
  }

  #signSync(pdfBuffer: Buffer, signingTime: Date | undefined): Buffer {
    if (!(signingTime instanceof Date)) throw new TypeError('PdfCmsSigner: signingTime is required (a fixed Date)');
    const p7 = forge.pkcs7.createSignedData();
    // The content is detached: it is only hashed, never written into the CMS. forge would hash it
    // in JavaScript after copying it into a binary string (6–8% of a report's render time); node's
    // SHA-256 does it here, forge gets an empty content, and the messageDigest attribute ignores
    // the digest of that empty content forge assigns to it. Same CMS bytes (the tests compare them
    // with P12Signer's, which hashes the content through forge).
    p7.content = forge.util.createBuffer('');
    const messageDigest = createHash('sha256').update(pdfBuffer).digest('binary');
    const messageDigestAttribute = { type: OID.messageDigest };
    Object.defineProperty(messageDigestAttribute, 'value', { enumerable: true, get: () => forge.util.createBuffer(messageDigest), set: () => undefined });
    for (const cert of this.#certificates) p7.addCertificate(cert);
    const privateKey = this.#privateKey;
    // forge calls key.sign(md, 'RSASSA-PKCS1-V1_5') with the SHA-256 of the attributes; a PKCS#1
    // type-1 private "encryption" of the DigestInfo is exactly that signature.
    const nodeBackedKey = {
      sign: (md: forge.md.MessageDigest): string => {
        const digestInfo = Buffer.concat([SHA256_DIGEST_INFO_PREFIX, Buffer.from(md.digest().getBytes(), 'binary')]);
        return privateEncrypt({ key: privateKey, padding: cryptoConstants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
      },
    };
    p7.addSigner({
      key: nodeBackedKey as unknown as forge.pki.rsa.PrivateKey,
      certificate: this.#signerCertificate,
      digestAlgorithm: OID.sha256,
      authenticatedAttributes: [
        { type: OID.contentType, value: OID.data },
        { type: OID.signingTime, value: signingTime as unknown as string },
        messageDigestAttribute,
      ],
    });
    p7.sign({ detached: true });
    return Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
  }
}


/** A DN attribute as forge must be given it to encode it again: a UTF8String value as text. */
function decodedUtf8Attribute(attr: forge.pki.CertificateField): forge.pki.CertificateField {
  if ((attr.valueTagClass as number | undefined) !== forge.asn1.Type.UTF8 || typeof attr.value !== 'string') return attr;
  try {
    return { ...attr, value: forge.util.decodeUtf8(attr.value) };
  } catch {
    return attr;
  }
}

/**
 * Adds an invisible signature field and a zero-filled `/Contents` placeholder to `doc`'s current
 * page. Call it once, after the last drawing operation and before `doc.end()`.
 *
 * Guarantees: the signature dictionary's `/M` is `fields.signingTime` (never the clock).
 */
export function addPdfSignaturePlaceholder(doc: PdfKitDocument, fields: PdfSignatureFields): void {
  assertValidDate(fields.signingTime);
  pdfkitAddPlaceholder({
    pdf: doc,
    pdfBuffer: Buffer.alloc(0), // unused by the pdfkit variant; required by its type
    reason: fields.reason,
    name: fields.name,
    location: fields.location,
    contactInfo: fields.contactInfo ?? '',
    signingTime: fields.signingTime,
    signatureLength: fields.signatureLength ?? DEFAULT_SIGNATURE_LENGTH,
    subFilter: fields.subFilter ?? 'adbe.pkcs7.detached',
  });
}

/**
 * Signs a PDF that carries a placeholder (from `addPdfSignaturePlaceholder`) and returns the
 * signed bytes. Pass a `PdfCmsSigner` made once at start-up; an identity works too (the PKCS#12
 * is then opened for this call).
 *
 * Guarantees: the CMS signing time is `signingTime`; the same input, key and time give the same
 * bytes. Throws if the PDF has no placeholder or the signature does not fit in it.
 */
export async function signPdfBytes(pdf: Uint8Array, signer: PdfCmsSigner | PdfSignerIdentity, signingTime: Date): Promise<Buffer> {
  assertValidDate(signingTime);
  const cms = signer instanceof PdfCmsSigner ? signer : new PdfCmsSigner(signer);
  return new SignPdf().sign(Buffer.from(pdf), cms, signingTime);
}

/**
 * The same signature made by @signpdf/signer-p12's `P12Signer` (a new one per call: they cannot
 * be reused). Slow (~80 ms); kept as the reference the tests compare `PdfCmsSigner` against.
 */
export async function signPdfBytesWithP12Signer(pdf: Uint8Array, identity: PdfSignerIdentity, signingTime: Date): Promise<Buffer> {
  assertValidDate(signingTime);
  return new SignPdf().sign(Buffer.from(pdf), new P12Signer(identity.p12, { passphrase: identity.passphrase }), signingTime);
}

/**
 * Collects everything `doc` writes. Call before `doc.end()`; resolves with the complete file
 * after it, rejects if the document errors.
 */
export function collectPdfBytes(doc: PdfKitDocument): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

/**
 * Finishes a pdfkit document and signs it: placeholder, `doc.end()`, then the signature over
 * the final bytes. The document must not have been ended yet.
 *
 * Guarantees: those of `addPdfSignaturePlaceholder` and `signPdfBytes`, with one signing time
 * used for both the signature dictionary and the CMS.
 */
export async function endAndSignPdf(doc: PdfKitDocument, signer: PdfCmsSigner | PdfSignerIdentity, fields: PdfSignatureFields): Promise<Buffer> {
  addPdfSignaturePlaceholder(doc, fields);
  const bytes = collectPdfBytes(doc);
  doc.end();
  return signPdfBytes(await bytes, signer, fields.signingTime);
}

/**
 * The time a PDF's signature claims: the report's submission time, or the certificate's
 * `notBefore` when the certificate is younger than the report (a report first downloaded after the
 * certificate was renewed). A signature claiming a time before its certificate was valid is
 * shown as invalid, or "not yet valid", by PDF readers. Deterministic: a function of the report
 * and the certificate.
 */
export function pdfSigningTime(submittedAt: Date, signer: Pick<PdfCmsSigner, 'notBefore'>): Date {
  assertValidDate(submittedAt);
  const notBefore = signer.notBefore;
  return notBefore.getTime() > submittedAt.getTime() ? notBefore : submittedAt;
}

function assertValidDate(value: Date): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new TypeError('signingTime must be a valid Date');
}
