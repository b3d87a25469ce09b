import { generateKeyPairSync } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import { loadRotatableKeyRing, withLatestKeys, type RotatableKeyRing } from '../../src/signing/rotatable.js';
import { loadKeyRing, type KeyPurpose, type KeyRing } from '../../src/signing/key-ring.js';
import { tokenKeyResolver, tokenSigningKey } from '../../src/signing/token-keys.js';
import { makeTempDir } from './helpers.js';

// Two processes sharing one key directory (instances on one volume, or the keys CLI beside a
// running service), played by two rings loaded from the same directory.

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeEach(async () => {
  tmp = await makeTempDir();
});
afterEach(async () => {
  await tmp.cleanup();
});

function load<P extends KeyPurpose>(purpose: P): Promise<RotatableKeyRing<P>> {
  return loadRotatableKeyRing(purpose, {}, tmp.dir);
}

function kids(ring: KeyRing): string[] {
  return ring.jwks().keys.map((k) => k.kid);
}

describe('rings over a shared key directory', () => {
  it('take up a key another process added: current, published and trusted, after refresh()', async () => {
    const a = await load('report');
    const b = await load('report');
    const first = a.current.kid;
    expect(b.current.kid).toBe(first);

    const reloads: string[] = [];
    b.onReload = (ring): void => {
      reloads.push(ring.current.kid);
    };
    await a.rotate();
    const second = a.current.kid;
    expect(second).not.toBe(first);
    // b has not looked yet.
    expect(b.current.kid).toBe(first);
    expect(b.publicKey(second)).toBeUndefined();

    expect(await b.refresh()).toBe(true);
    await new Promise((resolve) => setImmediate(resolve)); // the hook is not awaited
    expect(b.current.kid).toBe(second);
    expect(b.publicKey(second)).toBeDefined();
    expect(kids(b)).toEqual([second, first]);
    expect(reloads).toEqual([second]);
    // Nothing new: no reload.
    expect(await b.refresh()).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reloads).toEqual([second]);
    // a's own rotation is not news to a.
    expect(await a.refresh()).toBe(false);
  });

  it('look at most once per interval through refreshIfStale, and withLatestKeys uses it', async () => {
    const a = await load('report');
    const b = await load('report');
    await a.rotate();
    // Listed just now (at load): a long interval skips the listing.
    expect(await b.refreshIfStale(60_000)).toBe(false);
    expect(b.current.kid).not.toBe(a.current.kid);
    expect(await b.refreshIfStale(0)).toBe(true);
    expect(b.current.kid).toBe(a.current.kid);

    await a.rotate();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past KEY_LISTING_MAX_AGE_MS
    expect((await withLatestKeys(b)).current.kid).toBe(a.current.kid);
  });

  it('keep the ring in use when the directory holds a bad key file, and report the error', async () => {
    const a = await load('token');
    const b = await load('token');
    const before = b.current.kid;
    const bad = join(tmp.dir, 'keys', 'token-signing', '000009.key.json');
    await writeFile(bad, '{"format":"not a key"}\n');
    await chmod(bad, 0o600);
    const errors: unknown[] = [];
    b.onRefreshError = (err): void => {
      errors.push(err);
    };
    await expect(b.refresh()).rejects.toThrow(/not a .* key file/);
    expect(await b.refreshIfStale(0)).toBe(false);
    expect(errors).toHaveLength(1);
    expect(b.current.kid).toBe(before);
    expect(a.current.kid).toBe(before);
  });

  it('verify a token signed with a key another process rotated in, without a restart', async () => {
    const a = await load('token');
    const b = await load('token');
    // A plain ring loaded before the rotation, for contrast: it never looks again.
    const plain = await loadKeyRing('token', { kind: 'directory', dir: join(tmp.dir, 'keys', 'token-signing') });
    await a.rotate();
    const { alg, kid, privateKey } = tokenSigningKey(a);
    const token = await new SignJWT({ sub: 'user-1' }).setProtectedHeader({ alg, kid, typ: 'JWT' }).setIssuer('i').setAudience('a').setIssuedAt().setExpirationTime('5m').sign(privateKey);
    const verify = (ring: KeyRing<'token'>): ReturnType<typeof jwtVerify> => jwtVerify(token, tokenKeyResolver(ring), { algorithms: ['EdDSA'], issuer: 'i', audience: 'a' });

    await expect(verify(plain)).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past KEY_LISTING_MAX_AGE_MS
    expect(b.publicKey(kid)).toBeUndefined();
    expect((await verify(b)).protectedHeader.kid).toBe(kid);
    expect(b.publicKey(kid)).toBeDefined();
  });

  it('never look at a directory for a ring from a secrets manager', async () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const ring = await loadRotatableKeyRing('report', { REPORT_SIGNING_KEY: pem }, tmp.dir);
    expect(ring.rotatable).toBe(false);
    expect(await ring.refresh()).toBe(false);
    expect(await ring.refreshIfStale(0)).toBe(false);
  });
});
