import { createHmac } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { loadReportKeyRing } from '../../src/signing/report-keys.js';
import { loadTokenKeyRing, rotateTokenKey, tokenKeyResolver, tokenSigningKey } from '../../src/signing/token-keys.js';
import type { TokenKeyRing } from '../../src/signing/token-keys.js';
import { makeTempDir } from './helpers.js';

const ISSUER = 'https://hipaa-ai-risk.test';
const AUDIENCE = 'hipaa-ai-risk-api';

async function issue(ring: TokenKeyRing, claims: Record<string, unknown> = { sub: 'user-1' }): Promise<string> {
  const { alg, kid, privateKey } = tokenSigningKey(ring);
  return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(privateKey);
}

function verifyWith(ring: TokenKeyRing, token: string): ReturnType<typeof jwtVerify> {
  return jwtVerify(token, tokenKeyResolver(ring), { algorithms: ['EdDSA'], issuer: ISSUER, audience: AUDIENCE, requiredClaims: ['sub', 'exp', 'iat'], clockTolerance: 5 });
}

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeEach(async () => {
  tmp = await makeTempDir();
});
afterEach(async () => {
  await tmp.cleanup();
});

describe('token keys with jose SignJWT / jwtVerify', () => {
  it('signs with the current key and verifies tokens of rotated-out keys while they stay in the ring', async () => {
    const before = await loadTokenKeyRing({ kind: 'directory', dir: tmp.dir });
    const oldToken = await issue(before);
    const after = await rotateTokenKey(tmp.dir);
    const newToken = await issue(after);

    const verifiedOld = await verifyWith(after, oldToken);
    expect(verifiedOld.protectedHeader.kid).toBe(before.current.kid);
    const verifiedNew = await verifyWith(after, newToken);
    expect(verifiedNew.protectedHeader).toMatchObject({ alg: 'EdDSA', kid: after.current.kid });
    expect(verifiedNew.payload.sub).toBe('user-1');
  });

  it('refuses a token signed by a key outside the ring (e.g. the report key)', async () => {
    const tokens = await loadTokenKeyRing({ kind: 'directory', dir: `${tmp.dir}/t` });
    const reports = await loadReportKeyRing({ kind: 'directory', dir: `${tmp.dir}/r` });
    const forged = await new SignJWT({ sub: 'admin' })
      .setProtectedHeader({ alg: 'EdDSA', kid: reports.current.kid })
      .setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m')
      .sign(reports.current.privateKey);
    await expect(verifyWith(tokens, forged)).rejects.toThrow(/no applicable key/i);
  });

  it('refuses alg none and HS256 keyed with the public key', async () => {
    const ring = await loadTokenKeyRing({ kind: 'directory', dir: tmp.dir });
    const b64u = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const body = b64u({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300 });
    const none = `${b64u({ alg: 'none', kid: ring.current.kid })}.${body}.`;
    await expect(verifyWith(ring, none)).rejects.toThrow();
    const hsHeader = b64u({ alg: 'HS256', kid: ring.current.kid });
    const mac = createHmac('sha256', Buffer.from(ring.current.publicJwk.x, 'base64url')).update(`${hsHeader}.${body}`).digest('base64url');
    await expect(verifyWith(ring, `${hsHeader}.${body}.${mac}`)).rejects.toThrow();
  });

  it('refuses a token without kid', async () => {
    const ring = await loadTokenKeyRing({ kind: 'directory', dir: tmp.dir });
    const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'EdDSA' }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(ring.current.privateKey);
    await expect(verifyWith(ring, token)).rejects.toThrow(/no applicable key/i);
  });
});
