import { createHmac, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { exportJWK, FlattenedSign, flattenedVerify } from 'jose';
import { canonicalJsonBytes } from '../../src/util/canonical-json.js';
import { loadKeyRing } from '../../src/signing/key-ring.js';
import type { KeyRing } from '../../src/signing/key-ring.js';
import { signReport, verifyReport } from '../../src/signing/jws.js';
import type { VerifyFailureCode } from '../../src/signing/jws.js';
import { rotateReportKey } from '../../src/signing/report-keys.js';
import { makeTempDir } from './helpers.js';

const b64u = (value: string | Uint8Array): string => Buffer.from(value).toString('base64url');
const headerOf = (jws: string): Record<string, unknown> => JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString('utf8'));
const withHeader = (jws: string, header: unknown): string => `${b64u(JSON.stringify(header))}..${jws.split('.')[2]}`;

async function newRing(): Promise<KeyRing<'report'>> {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return loadKeyRing('report', { kind: 'pem', pem });
}

const report = canonicalJsonBytes({ schema: 'report@1', reportId: 'r-1', assessment: { id: 'a-1', revision: 2 }, findings: [{ citation: '164.312(b)', status: 'met' }] });
// As large as a real report (~160 KB): attached, its JWS is far over the 4096 characters a detached one may have.
const largeReport = canonicalJsonBytes({ schema: 'report@1', reportId: 'r-2', findings: Array.from({ length: 2000 }, (_, i) => ({ citation: `164.312(b)-${i}`, status: 'met', rationale: 'x'.repeat(50) })) });

let ring: KeyRing<'report'>;
let other: KeyRing<'report'>;
let jws: string;
beforeAll(async () => {
  ring = await newRing();
  other = await newRing();
  jws = await signReport(report, ring.current);
});

describe('signReport', () => {
  it('produces a compact detached JWS with unencoded payload (RFC 7797)', () => {
    const [header, payload, signature] = jws.split('.');
    expect(payload).toBe('');
    expect(Buffer.from(signature!, 'base64url')).toHaveLength(64);
    expect(Buffer.from(header!, 'base64url').toString('utf8')).toBe(`{"alg":"EdDSA","b64":false,"crit":["b64"],"kid":"${ring.current.kid}"}`);
  });

  it('is deterministic: same bytes and key give the same JWS, other bytes another', async () => {
    expect(await signReport(report, ring.current)).toBe(jws);
    expect(await signReport(Buffer.from(report), ring.current)).toBe(jws);
    expect(await signReport(canonicalJsonBytes({ other: true }), ring.current)).not.toBe(jws);
  });

  it('matches jose byte for byte, and jose verifies it', async () => {
    const joseJws = await new FlattenedSign(report)
      .setProtectedHeader({ alg: 'EdDSA', b64: false, crit: ['b64'], kid: ring.current.kid })
      .sign(ring.current.privateKey);
    expect(`${joseJws.protected}..${joseJws.signature}`).toBe(jws);
    const [protectedHeader, , signature] = jws.split('.');
    const verified = await flattenedVerify({ protected: protectedHeader!, payload: report, signature: signature! }, ring.current.publicKey, { algorithms: ['EdDSA'] });
    expect(verified.protectedHeader?.kid).toBe(ring.current.kid);
  });

  it('rejects a key that is not Ed25519 and a payload that is not bytes', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    await expect(signReport(report, { kid: 'x', privateKey: rsa })).rejects.toThrow(TypeError);
    await expect(signReport('text' as unknown as Uint8Array, ring.current)).rejects.toThrow(TypeError);
  });
});

describe('verifyReport', () => {
  it('accepts the genuine signature', async () => {
    expect(await verifyReport(report, jws, ring.jwks())).toEqual({ valid: true, kid: ring.current.kid });
  });

  it('accepts a signature of a rotated-out key that is still published', async () => {
    const tmp = await makeTempDir();
    try {
      const before = await rotateReportKey(tmp.dir);
      const oldJws = await signReport(report, before.current);
      const after = await rotateReportKey(tmp.dir);
      expect(after.current.kid).not.toBe(before.current.kid);
      expect(await verifyReport(report, oldJws, after.jwks())).toEqual({ valid: true, kid: before.current.kid });
      expect(headerOf(await signReport(report, after.current)).kid).toBe(after.current.kid);
    } finally {
      await tmp.cleanup();
    }
  });

  // Each case: the bytes, JWS and key set presented to the verifier, and the code it must answer.
  type Case = [name: string, make: () => Promise<{ bytes?: Uint8Array; jws: string; jwks?: unknown }> | { bytes?: Uint8Array; jws: string; jwks?: unknown }, code: VerifyFailureCode];
  const flipped = (bytes: Uint8Array, at: number): Buffer => {
    const copy = Buffer.from(bytes);
    copy[at] = copy[at]! ^ 0x01;
    return copy;
  };
  const cases: Case[] = [
    ['a changed byte in the payload', () => ({ bytes: flipped(report, 10), jws }), 'bad-signature'],
    ['a byte appended to the payload', () => ({ bytes: Buffer.concat([report, Buffer.from(' ')]), jws }), 'bad-signature'],
    ['an empty payload', () => ({ bytes: new Uint8Array(), jws }), 'bad-signature'],
    // Refused on the header alone since the header must be exactly the canonical one (test/signing/verify-hardening.test.ts).
    ['a changed header (extra parameter)', () => ({ jws: withHeader(jws, { ...headerOf(jws), typ: 'JOSE' }) }), 'bad-header'],
    ['a header re-encoded with another key order', () => ({ jws: withHeader(jws, { kid: ring.current.kid, alg: 'EdDSA', b64: false, crit: ['b64'] }) }), 'bad-header'],
    ['a header naming another published key', () => ({ jws: withHeader(jws, { ...headerOf(jws), kid: other.current.kid }), jwks: { keys: [...ring.jwks().keys, ...other.jwks().keys] } }), 'bad-signature'],
    ['a signature by a wrong key claiming the right kid', async () => ({ jws: await signReport(report, { kid: ring.current.kid, privateKey: other.current.privateKey }) }), 'bad-signature'],
    ['an unknown kid', async () => ({ jws: await signReport(report, other.current) }), 'unknown-kid'],
    ['a key set without the key', () => ({ jws, jwks: { keys: [] } }), 'unknown-kid'],
    ['alg HS256 keyed with the public key bytes', () => {
      const header = b64u(JSON.stringify({ alg: 'HS256', b64: false, crit: ['b64'], kid: ring.current.kid }));
      const mac = createHmac('sha256', Buffer.from(ring.current.publicJwk.x, 'base64url')).update(Buffer.concat([Buffer.from(`${header}.`), report])).digest();
      return { jws: `${header}..${b64u(mac)}` };
    }, 'unsupported-alg'],
    ['alg none', () => ({ jws: `${b64u(JSON.stringify({ alg: 'none', b64: false, crit: ['b64'], kid: ring.current.kid }))}..` }), 'unsupported-alg'],
    ['alg Ed25519 (accepted by jose, not by us)', () => ({ jws: withHeader(jws, { ...headerOf(jws), alg: 'Ed25519' }) }), 'unsupported-alg'],
    ['alg missing', () => ({ jws: withHeader(jws, { b64: false, crit: ['b64'], kid: ring.current.kid }) }), 'unsupported-alg'],
    ['a truncated signature', () => ({ jws: jws.slice(0, -4) }), 'malformed'],
    ['an empty signature', () => ({ jws: jws.slice(0, jws.lastIndexOf('.') + 1) }), 'malformed'],
    ['a signature with non-zero padding bits (same bytes, other text)', () => {
      // 64 bytes take 86 characters; the last one's 4 low bits are padding.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(jws.at(-1)!);
      return { jws: jws.slice(0, -1) + alphabet[last ^ 0x01] };
    }, 'malformed'],
    ['a signature that is not base64url', () => ({ jws: jws.slice(0, -2) + '+/' }), 'malformed'],
    ['an attached (non-detached) JWS', () => ({ jws: jws.replace('..', `.${b64u(report)}.`) }), 'attached-payload'],
    ['an attached JWS with b64 payload encoding', () => {
      const h = b64u(JSON.stringify({ alg: 'EdDSA', kid: ring.current.kid }));
      return { jws: `${h}.${b64u(report)}.${jws.split('.')[2]}` };
    }, 'attached-payload'],
    // Longer than a detached JWS may be: still told apart by its shape, not refused as 'malformed'.
    ['an attached JWS of a report-sized payload (over 4096 characters)', async () => {
      const detached = await signReport(largeReport, ring.current);
      const attached = detached.replace('..', `.${b64u(largeReport)}.`);
      expect(attached.length).toBeGreaterThan(200_000);
      return { bytes: largeReport, jws: attached };
    }, 'attached-payload'],
    ['an attached JWS of a report-sized payload with b64 encoding', () => {
      const h = b64u(JSON.stringify({ alg: 'EdDSA', kid: ring.current.kid }));
      return { bytes: largeReport, jws: `${h}.${b64u(largeReport)}.${jws.split('.')[2]}` };
    }, 'attached-payload'],
    ['a long JWS of four parts with a non-empty middle', () => ({ jws: `${jws.split('.')[0]}.${'A'.repeat(10_000)}.${'A'.repeat(10)}.${jws.split('.')[2]}` }), 'malformed'],
    ['b64 not false', () => ({ jws: withHeader(jws, { ...headerOf(jws), b64: true }) }), 'bad-header'],
    ['b64 missing', () => ({ jws: withHeader(jws, { alg: 'EdDSA', crit: ['b64'], kid: ring.current.kid }) }), 'bad-header'],
    ['crit missing', () => ({ jws: withHeader(jws, { alg: 'EdDSA', b64: false, kid: ring.current.kid }) }), 'bad-header'],
    ['crit with an unknown extension', () => ({ jws: withHeader(jws, { ...headerOf(jws), crit: ['b64', 'exp'] }) }), 'bad-header'],
    ['kid missing', () => ({ jws: withHeader(jws, { alg: 'EdDSA', b64: false, crit: ['b64'] }) }), 'bad-header'],
    ['kid not a string', () => ({ jws: withHeader(jws, { ...headerOf(jws), kid: 7 }) }), 'bad-header'],
    ['an embedded attacker jwk', async () => {
      const attacker = generateKeyPairSync('ed25519');
      const jwk = await exportJWK(attacker.publicKey);
      const signed = await signReport(report, { kid: ring.current.kid, privateKey: attacker.privateKey });
      return { jws: withHeader(signed, { ...headerOf(signed), jwk }) };
    }, 'untrusted-header'],
    ['a jku header', () => ({ jws: withHeader(jws, { ...headerOf(jws), jku: 'https://attacker.example/jwks.json' }) }), 'untrusted-header'],
    ['an x5c header', () => ({ jws: withHeader(jws, { ...headerOf(jws), x5c: ['MIIB'] }) }), 'untrusted-header'],
    ['two parts', () => ({ jws: 'abc.def' }), 'malformed'],
    ['four parts', () => ({ jws: `${jws}.x` }), 'malformed'],
    ['an empty string', () => ({ jws: '' }), 'malformed'],
    ['a header that is not base64url', () => ({ jws: `e*J..${jws.split('.')[2]}` }), 'malformed'],
    ['a header that is not JSON', () => ({ jws: `${b64u('not json')}..${jws.split('.')[2]}` }), 'malformed'],
    ['a header that is a JSON array', () => ({ jws: `${b64u('[1]')}..${jws.split('.')[2]}` }), 'malformed'],
    ['a very long JWS', () => ({ jws: `${'A'.repeat(100_000)}..${jws.split('.')[2]}` }), 'malformed'],
    ['a signature that is not a string', () => ({ jws: 42 as unknown as string }), 'malformed'],
    ['a payload that is not bytes', () => ({ bytes: 'text' as unknown as Uint8Array, jws }), 'malformed'],
    ['a key set that is not a JWKS', () => ({ jws, jwks: null }), 'invalid-jwks'],
    ['a key set whose keys is not an array', () => ({ jws, jwks: { keys: 'x' } }), 'invalid-jwks'],
    ['a key set listing the kid twice', () => ({ jws, jwks: { keys: [...ring.jwks().keys, { ...other.current.publicJwk, kid: ring.current.kid }] } }), 'invalid-jwks'],
    ['a published key for another alg', () => ({ jws, jwks: { keys: [{ ...ring.current.publicJwk, alg: 'RS256' }] } }), 'unsuitable-key'],
    ['a published key for encryption', () => ({ jws, jwks: { keys: [{ ...ring.current.publicJwk, use: 'enc' }] } }), 'unsuitable-key'],
    ['a published key of another type', () => ({ jws, jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: ring.current.publicJwk.x, y: ring.current.publicJwk.x, kid: ring.current.kid }] } }), 'unsuitable-key'],
    // A published symmetric key is a secret made public, like a private `d` (verify-hardening.test.ts).
    ['a symmetric (oct) key under the report kid', () => ({ jws, jwks: { keys: [{ kty: 'oct', k: ring.current.publicJwk.x, kid: ring.current.kid }] } }), 'invalid-jwks'],
    ['a key set that also holds a symmetric key (oct, k)', () => ({ jws, jwks: { keys: [...ring.jwks().keys, { kty: 'oct', k: 'c2VjcmV0', kid: 'oct1' }] } }), 'invalid-jwks'],
    ...(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const).map((member): Case => [`the report key carrying the private or secret member "${member}"`, () => ({ jws, jwks: { keys: [{ ...ring.current.publicJwk, [member]: member === 'oth' ? [{ r: 'AAAA', d: 'AAAA', t: 'AAAA' }] : 'AAAA' }] } }), 'invalid-jwks']),
    ['another key of the set carrying "p" (an RSA private key)', () => ({ jws, jwks: { keys: [...ring.jwks().keys, { kty: 'RSA', n: 'AAAA', e: 'AQAB', p: 'AAAA', kid: 'rsa1' }] } }), 'invalid-jwks'],
    ['a published key with a short x', () => ({ jws, jwks: { keys: [{ ...ring.current.publicJwk, x: 'AAAA' }] } }), 'unsuitable-key'],
  ];

  it.each(cases)('refuses %s', async (_name, make, code) => {
    const input = await make();
    const result = await verifyReport(input.bytes ?? report, input.jws, input.jwks === undefined ? ring.jwks() : input.jwks);
    expect(result).toMatchObject({ valid: false, code });
    if (!result.valid) expect(result.reason.length).toBeGreaterThan(10);
  });

  it('gives a readable reason for each kind of failure', async () => {
    const unknown = await verifyReport(report, await signReport(report, other.current), ring.jwks());
    expect(unknown).toEqual({ valid: false, code: 'unknown-kid', reason: `key ${other.current.kid} is not in the key set` });
    const alg = await verifyReport(report, withHeader(jws, { ...headerOf(jws), alg: 'HS256' }), ring.jwks());
    expect(!alg.valid && alg.reason).toBe('alg "HS256" is not accepted; only EdDSA');
  });

  it('property: any single-character change to the JWS makes it invalid, and nothing throws', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: jws.length - 1 }), fc.constantFrom(...alphabet), async (at, ch) => {
        fc.pre(jws[at] !== ch);
        const mutated = jws.slice(0, at) + ch + jws.slice(at + 1);
        const result = await verifyReport(report, mutated, ring.jwks());
        expect(result.valid).toBe(false);
      }),
      { numRuns: 500 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.uint8Array(), fc.anything(), async (text, bytes, jwks) => {
        const result = await verifyReport(bytes, text, jwks);
        expect(result.valid).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
