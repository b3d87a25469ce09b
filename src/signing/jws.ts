/**
 * Detached JWS with unencoded payload (RFC 7515 + RFC 7797) over a report's exact bytes.
 *
 * Format: `BASE64URL(header) + ".." + BASE64URL(signature)`, header
 * `{"alg":"EdDSA","b64":false,"crit":["b64"],"kid":"<RFC 7638 thumbprint>"}` (RFC 8785 key order),
 * signature = Ed25519 over `ASCII(BASE64URL(header)) || "." || payload bytes`.
 * Ed25519 is deterministic: the same bytes and key always give the same JWS.
 *
 * Signing and verification use node:crypto directly (~50 µs to sign and ~80 µs to verify a 15 KB
 * report, about half of jose's time through WebCrypto) and check every header rule explicitly;
 * the tests check that jose's `FlattenedSign` gives the same bytes and `flattenedVerify` accepts them.
 */
import { createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { canonicalJson } from '../util/canonical-json.js';
import { SIGNING_ALG } from './key-ring.js';

/**
 * Why a signature was refused. Stable strings: tests, logs and the CLI's `--json` output use them.
 * `verifyReport` checks a signature over any bytes (checkpoints and export manifests are signed
 * the same way) and never answers 'not-a-report': that one comes from `verifyReportOffline`
 * (src/signing/verify-offline.ts), which also requires the signed bytes to be a report.
 */
export type VerifyFailureCode =
  | 'malformed'
  | 'attached-payload'
  | 'unsupported-alg'
  | 'bad-header'
  | 'untrusted-header'
  | 'invalid-jwks'
  | 'unknown-kid'
  | 'unsuitable-key'
  | 'bad-signature'
  | 'not-a-report';

/** The outcome of `verifyReport`. */
export type VerifyReportResult =
  | { readonly valid: true; readonly kid: string }
  | { readonly valid: false; readonly code: VerifyFailureCode; readonly reason: string };

/** The part of a ring's current key that signs. */
export interface ReportSigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

// A signature is ~130 characters; anything far larger is not ours and is refused before parsing
// (an attached JWS, whose middle part is the whole payload, is recognised by its dots alone).
const MAX_JWS_LENGTH = 4096;
const ED25519_SIGNATURE_BYTES = 64;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
// Header parameters that carry or point at key material: trusting them would let the signer
// choose the key that verifies its own signature.
const KEY_MATERIAL_HEADERS = ['jwk', 'jku', 'x5c', 'x5u'] as const;
// JWK members that hold private or secret key material (RFC 7518 §6.2.2, §6.3.2 and §6.4.1;
// RFC 8037 §2 for OKP `d`). A published key set holds none of them.
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * Signs `bytes` exactly as given and returns the compact detached JWS.
 *
 * Guarantees: deterministic (same bytes + key → same string); the header is always
 * `{alg:"EdDSA", b64:false, crit:["b64"], kid}`; the payload part is empty. Rejects with a
 * `TypeError` if the key is not an Ed25519 private key or `bytes` is not a Uint8Array.
 */
export function signReport(bytes: Uint8Array, key: ReportSigningKey): Promise<string> {
  return new Promise((resolve) => resolve(signReportSync(bytes, key)));
}

/** `signReport` without the promise, for callers on a hot synchronous path. Throws instead of rejecting. */
export function signReportSync(bytes: Uint8Array, key: ReportSigningKey): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('signReport: bytes must be a Uint8Array');
  if (key.privateKey.type !== 'private' || key.privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('signReport: the key must be an Ed25519 private key');
  }
  if (typeof key.kid !== 'string' || key.kid === '') throw new TypeError('signReport: the key needs a kid');
  const header = encodeHeader(key.kid);
  const signature = sign(null, signingInput(header, bytes), key.privateKey);
  return `${header}..${signature.toString('base64url')}`;
}

/**
 * Verifies a detached JWS from `signReport` against `bytes`, with keys taken only from `jwks`.
 *
 * Guarantees: never throws or rejects, whatever the input; accepts only `alg: "EdDSA"` with
 * `b64: false` and `crit: ["b64"]`, an empty payload part and a 64-byte signature; finds the key by
 * `kid` in `jwks` alone (a `jwk`, `jku`, `x5c` or `x5u` header makes the JWS invalid); the protected
 * header must be exactly the canonical JSON `signReport` writes (no other, duplicate or escaped
 * member); a key listed twice under one `kid`, and a key set any of whose keys holds private or
 * secret material (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`), are refused; a JWS with three
 * parts and a non-empty middle part is 'attached-payload' whatever its length (found by its dots,
 * nothing of it is copied or decoded). Every failure comes with a code and a sentence saying why.
 */
export function verifyReport(bytes: Uint8Array, jws: string, jwks: unknown): Promise<VerifyReportResult> {
  return Promise.resolve(verifyReportSync(bytes, jws, jwks));
}

/** `verifyReport` without the promise, with the same guarantees (never throws). */
export function verifyReportSync(bytes: Uint8Array, jws: string, jwks: unknown): VerifyReportResult {
  try {
    return checkReportSignature(bytes, jws, jwks);
  } catch (error) {
    // Defensive: every path returns a result; an exception here is a bug, and still not a pass.
    return fail('malformed', `verification failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function checkReportSignature(bytes: unknown, jws: unknown, jwks: unknown): VerifyReportResult {
  if (!(bytes instanceof Uint8Array)) return fail('malformed', 'the payload must be bytes (Uint8Array)');
  if (typeof jws !== 'string') return fail('malformed', 'the signature must be a string (compact JWS)');
  // Before the length check: a JWS carrying the report as its middle part is far longer than a
  // detached one, and is told apart by its two dots alone (indexOf: nothing is copied).
  if (isAttachedShape(jws)) return fail('attached-payload', 'the JWS carries a payload; a report signature must be detached (empty middle part)');
  if (jws.length > MAX_JWS_LENGTH) return fail('malformed', `the signature is ${jws.length} characters; a report signature is far shorter`);

  const parts = jws.split('.');
  if (parts.length !== 3) return fail('malformed', `a compact JWS has 3 parts separated by "."; found ${parts.length}`);
  const [headerPart = '', , signaturePart = ''] = parts;

  if (!BASE64URL.test(headerPart)) return fail('malformed', 'the protected header is not base64url');
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8'));
  } catch {
    return fail('malformed', 'the protected header is not JSON');
  }
  if (!isRecord(header)) return fail('malformed', 'the protected header is not a JSON object');

  if (header.alg !== SIGNING_ALG) return fail('unsupported-alg', `alg ${JSON.stringify(header.alg) ?? 'missing'} is not accepted; only EdDSA`);
  for (const name of KEY_MATERIAL_HEADERS) {
    if (name in header) return fail('untrusted-header', `the header carries "${name}"; keys are taken only from the published JWKS`);
  }
  if (header.b64 !== false) return fail('bad-header', 'the header must set b64: false (RFC 7797 unencoded payload)');
  if (!Array.isArray(header.crit) || header.crit.length !== 1 || header.crit[0] !== 'b64') {
    return fail('bad-header', 'the header must set crit: ["b64"] and nothing else');
  }
  if (typeof header.kid !== 'string' || header.kid === '') return fail('bad-header', 'the header has no kid');
  const kid = header.kid;
  // Exactly the header signReport writes, byte for byte: no other member, no duplicate member
  // (JSON.parse keeps the last one, other parsers the first), no escaped or re-ordered member, no
  // non-canonical base64url. Anything else is not a header of ours.
  // A kid that is not well-formed text (a lone surrogate) cannot be canonical JSON, nor ours.
  if (!kid.isWellFormed() || headerPart !== encodeHeader(kid)) {
    return fail('bad-header', 'the protected header must be exactly {"alg":"EdDSA","b64":false,"crit":["b64"],"kid":...} in canonical JSON (no other, duplicate or escaped members)');
  }

  if (signaturePart === '') return fail('malformed', 'the signature part is empty');
  if (!BASE64URL.test(signaturePart)) return fail('malformed', 'the signature part is not base64url');
  const signature = Buffer.from(signaturePart, 'base64url');
  if (signature.length !== ED25519_SIGNATURE_BYTES || signature.toString('base64url') !== signaturePart) {
    return fail('malformed', `the signature is ${signature.length} bytes; an Ed25519 signature is ${ED25519_SIGNATURE_BYTES}`);
  }

  const found = findKey(jwks, kid);
  if ('code' in found) return found;

  const ok = verify(null, signingInput(headerPart, bytes), found.key, signature);
  if (!ok) return fail('bad-signature', `the signature does not match these bytes under key ${kid}`);
  return { valid: true, kid };
}

/** Three parts (exactly two dots) and a non-empty middle part: a JWS with its payload attached. */
function isAttachedShape(jws: string): boolean {
  const first = jws.indexOf('.');
  if (first < 0) return false;
  const second = jws.indexOf('.', first + 1);
  return second > first + 1 && jws.indexOf('.', second + 1) < 0;
}

function findKey(jwks: unknown, kid: string): { readonly key: KeyObject } | (VerifyReportResult & { valid: false }) {
  if (!isRecord(jwks) || !Array.isArray(jwks.keys)) return fail('invalid-jwks', 'the key set is not a JWKS ({"keys": [...]})');
  // A published set that holds a private (or symmetric) key has leaked it: anyone may have signed
  // with it. Any key, not only the one the kid names: the whole set came from the same place.
  for (const k of jwks.keys as unknown[]) {
    if (!isRecord(k)) continue;
    const member = PRIVATE_JWK_MEMBERS.find((name) => Object.hasOwn(k, name));
    if (member === undefined) continue;
    const leakedKid = typeof k.kid === 'string' ? `, kid ${k.kid}` : '';
    const what = member === 'k' ? 'a secret (symmetric) key' : 'private key material';
    return fail('invalid-jwks', `the key set holds ${what} (member "${member}"${leakedKid}): a published JWKS holds public keys only, and a key whose private or secret part is public proves nothing`);
  }
  const matches = (jwks.keys as unknown[]).filter((k) => isRecord(k) && k.kid === kid);
  if (matches.length === 0) return fail('unknown-kid', `key ${kid} is not in the key set`);
  if (matches.length > 1) return fail('invalid-jwks', `key ${kid} appears ${matches.length} times in the key set`);
  const jwk = matches[0] as Record<string, unknown>;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || !BASE64URL.test(jwk.x)) {
    return fail('unsuitable-key', `key ${kid} is not an Ed25519 public key`);
  }
  if (jwk.alg !== undefined && jwk.alg !== SIGNING_ALG) return fail('unsuitable-key', `key ${kid} is published for alg ${JSON.stringify(jwk.alg)}, not EdDSA`);
  if (jwk.use !== undefined && jwk.use !== 'sig') return fail('unsuitable-key', `key ${kid} is published for use ${JSON.stringify(jwk.use)}, not sig`);
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) {
    return fail('unsuitable-key', `key ${kid} is not published for verification (key_ops)`);
  }
  if (Buffer.from(jwk.x, 'base64url').length !== 32) return fail('unsuitable-key', `key ${kid} has an x of the wrong length`);
  try {
    // Only the public coordinate is used.
    return { key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }) };
  } catch {
    return fail('unsuitable-key', `key ${kid} cannot be imported`);
  }
}

/** The one protected header a report signature has, base64url of its canonical JSON. */
function encodeHeader(kid: string): string {
  return Buffer.from(canonicalJson({ alg: SIGNING_ALG, b64: false, crit: ['b64'], kid }), 'utf8').toString('base64url');
}

function signingInput(encodedHeader: string, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${encodedHeader}.`, 'ascii'), payload]);
}

function fail(code: VerifyFailureCode, reason: string): VerifyReportResult & { valid: false } {
  return { valid: false, code, reason };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
