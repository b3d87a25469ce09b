import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { keySourceFromEnv, loadKeyDirectory, loadKeyRing, loadOrCreateKeyDirectory, NoKeysError, parsePublicJwks, rotateKeyDirectory } from '../../src/signing/key-ring.js';
import { loadReportKeyRing, loadReportKeyRingFromEnv, reportKeyDirectory, rotateReportKey } from '../../src/signing/report-keys.js';
import { loadTokenKeyRingFromEnv, tokenKeyDirectory } from '../../src/signing/token-keys.js';
import { makeTempDir } from './helpers.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeEach(async () => {
  tmp = await makeTempDir();
});
afterEach(async () => {
  await tmp.cleanup();
});

function ed25519Pem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

describe('key directory (embedded default)', () => {
  it('creates the first key on first use with owner-only permissions, and reloads the same key', async () => {
    const dataDir = join(tmp.dir, 'data');
    const dir = reportKeyDirectory(dataDir);
    expect(dir).toBe(join(dataDir, 'keys', 'report-signing'));

    const ring = await loadReportKeyRing({ kind: 'directory', dir });
    expect(ring.purpose).toBe('report');
    expect(ring.all).toHaveLength(1);
    expect(ring.all[0]).toMatchObject({ kid: ring.current.kid, status: 'current', purpose: 'report' });
    expect(ring.all[0]?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dataDir, 'keys'))).mode & 0o777).toBe(0o700);
    const files = await readdir(dir);
    expect(files).toEqual(['000001.key.json']);
    expect((await stat(join(dir, '000001.key.json'))).mode & 0o777).toBe(0o600);

    const again = await loadReportKeyRing({ kind: 'directory', dir });
    expect(again.current.kid).toBe(ring.current.kid);
  });

  it('uses the RFC 7638 thumbprint as kid and publishes a public-only JWKS', async () => {
    const ring = await loadOrCreateKeyDirectory('report', join(tmp.dir, 'k'));
    const { keys } = ring.jwks();
    expect(keys).toHaveLength(1);
    const [jwk] = keys;
    expect(Object.keys(jwk!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: ring.current.kid });
    expect(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk!.x })).toBe(ring.current.kid);
    expect(ring.current.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(ring.current.publicJwk).toEqual(jwk);
    // jwks() returns fresh objects: a caller cannot alter the ring through them.
    (ring.jwks().keys as unknown as unknown[]).length = 0;
    expect(ring.jwks().keys).toHaveLength(1);
    expect(Object.isFrozen(ring)).toBe(true);
  });

  it('rotation adds a current key and keeps every older public key, current first', async () => {
    const dir = join(tmp.dir, 'k');
    const first = await loadReportKeyRing({ kind: 'directory', dir });
    const second = await rotateReportKey(dir);
    const third = await rotateReportKey(dir);

    expect(new Set([first.current.kid, second.current.kid, third.current.kid]).size).toBe(3);
    expect(third.all.map((k) => k.kid)).toEqual([third.current.kid, second.current.kid, first.current.kid]);
    expect(third.all.map((k) => k.status)).toEqual(['current', 'retired', 'retired']);
    expect(third.jwks().keys.map((k) => k.kid)).toEqual([third.current.kid, second.current.kid, first.current.kid]);
    expect(third.publicKey(first.current.kid)).toBeDefined();
    expect(third.publicKey('nope')).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['000001.key.json', '000002.key.json', '000003.key.json']);

    const reloaded = await loadReportKeyRing({ kind: 'directory', dir });
    expect(reloaded.current.kid).toBe(third.current.kid);
    // Only the public parts of retired keys are exposed.
    expect(reloaded.all[1]).not.toHaveProperty('privateKey');
  });

  it('concurrent first uses end with a single key', async () => {
    const dir = join(tmp.dir, 'k');
    const rings = await Promise.all(Array.from({ length: 6 }, () => loadOrCreateKeyDirectory('token', dir)));
    expect(new Set(rings.map((r) => r.current.kid)).size).toBe(1);
    expect(await readdir(dir)).toEqual(['000001.key.json']);
  });

  it('refuses key files that group or others can read', async () => {
    const dir = join(tmp.dir, 'k');
    await loadOrCreateKeyDirectory('report', dir);
    await chmod(join(dir, '000001.key.json'), 0o644);
    await expect(loadOrCreateKeyDirectory('report', dir)).rejects.toThrow(/too open/);
  });

  it('refuses a key of another purpose and a kid that is not the thumbprint', async () => {
    const dir = join(tmp.dir, 'k');
    await loadOrCreateKeyDirectory('token', dir);
    await expect(loadOrCreateKeyDirectory('report', dir)).rejects.toThrow(/token key cannot be used for report/);

    const file = join(dir, '000001.key.json');
    const content = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...content, kid: 'forged' }), { mode: 0o600 });
    await expect(loadOrCreateKeyDirectory('token', dir)).rejects.toThrow(/does not match the key/);
  });

  it('report and token rings live in separate directories with separate keys', async () => {
    const dataDir = tmp.dir;
    const report = await loadReportKeyRingFromEnv({}, dataDir);
    const token = await loadTokenKeyRingFromEnv({}, dataDir);
    expect(report.current.kid).not.toBe(token.current.kid);
    expect(report.source).toContain(reportKeyDirectory(dataDir));
    expect(token.source).toContain(tokenKeyDirectory(dataDir));
    const rotated = await rotateKeyDirectory('token', tokenKeyDirectory(dataDir));
    expect((await loadReportKeyRingFromEnv({}, dataDir)).all).toHaveLength(1);
    expect(rotated.all).toHaveLength(2);
  });
});

describe('read-only loads (create: false)', () => {
  it('fail on a missing or empty key directory with one line naming it, and create nothing', async () => {
    const dataDir = join(tmp.dir, 'data');
    const dir = reportKeyDirectory(dataDir);
    const missing = `no report-signing keys in ${dir}: point DATA_DIR at the service's data directory, or set REPORT_SIGNING_KEY_FILE as the service has it`;
    await expect(loadReportKeyRingFromEnv({}, dataDir, { create: false })).rejects.toThrow(new NoKeysError('report', dir));
    await expect(loadReportKeyRingFromEnv({}, dataDir, { create: false })).rejects.toMatchObject({ detail: missing, status: 500 });
    await expect(stat(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });

    const empty = join(tmp.dir, 'empty');
    await mkdir(empty, { mode: 0o700 });
    await expect(loadKeyRing('token', { kind: 'directory', dir: empty }, { create: false, dataDirSetting: '--data-dir' })).rejects.toThrow(
      `no token-signing keys in ${empty}: point --data-dir at the service's data directory, or set TOKEN_SIGNING_KEY_FILE as the service has it`,
    );
    expect(await readdir(empty)).toEqual([]);
  });

  it('read the keys a directory holds, newest current, and add none; bad key files are still refused', async () => {
    const dir = join(tmp.dir, 'k');
    const first = await loadOrCreateKeyDirectory('report', dir);
    const second = await rotateReportKey(dir);
    const ring = await loadKeyDirectory('report', dir);
    expect(ring.all.map((k) => k.kid)).toEqual([second.current.kid, first.current.kid]);
    expect((await loadReportKeyRing({ kind: 'directory', dir }, { create: false })).current.kid).toBe(second.current.kid);
    expect((await readdir(dir)).sort()).toEqual(['000001.key.json', '000002.key.json']);
    await chmod(join(dir, '000002.key.json'), 0o644);
    await expect(loadKeyDirectory('report', dir)).rejects.toThrow(/too open/);
  });

  it('leave the default (the service start) creating the first key', async () => {
    const dir = join(tmp.dir, 'k');
    const ring = await loadKeyRing('report', { kind: 'directory', dir });
    expect(await readdir(dir)).toEqual(['000001.key.json']);
    expect((await loadKeyRing('report', { kind: 'directory', dir }, { create: false })).current.kid).toBe(ring.current.kid);
  });
});

describe('PEM source (production)', () => {
  it('loads the current key from PEM text and retired keys from a JWKS file', async () => {
    const old = await loadOrCreateKeyDirectory('report', join(tmp.dir, 'old'));
    const jwksFile = join(tmp.dir, 'retired.json');
    await writeFile(jwksFile, JSON.stringify(old.jwks()));
    const pem = ed25519Pem();

    const source = await keySourceFromEnv('report', { REPORT_SIGNING_KEY: pem, REPORT_SIGNING_RETIRED_JWKS_FILE: jwksFile }, tmp.dir);
    expect(source.kind).toBe('pem');
    const ring = await loadKeyRing('report', source);
    expect(ring.all.map((k) => k.status)).toEqual(['current', 'retired']);
    expect(ring.all[1]?.kid).toBe(old.current.kid);
    expect(ring.all[0]).not.toHaveProperty('createdAt');
    expect(ring.source).not.toContain('PRIVATE KEY');
  });

  it('loads the current key from a PEM file path, and drops a retired entry equal to the current key', async () => {
    const pem = ed25519Pem();
    const pemFile = join(tmp.dir, 'report.pem');
    await writeFile(pemFile, pem);
    const first = await loadKeyRing('report', { kind: 'pem', pem });
    const jwksFile = join(tmp.dir, 'retired.json');
    await writeFile(jwksFile, JSON.stringify(first.jwks()));
    const ring = await loadReportKeyRingFromEnv({ REPORT_SIGNING_KEY_FILE: pemFile, REPORT_SIGNING_RETIRED_JWKS_FILE: jwksFile }, tmp.dir);
    expect(ring.current.kid).toBe(first.current.kid);
    expect(ring.all).toHaveLength(1);
  });

  it.each([
    ['both PEM and PEM file', { TOKEN_SIGNING_KEY: 'x', TOKEN_SIGNING_KEY_FILE: '/x' }, /not both/],
    ['retired keys without a current key', { TOKEN_SIGNING_RETIRED_JWKS_FILE: '/x' }, /without/],
  ])('refuses an inconsistent environment: %s', async (_name, env, message) => {
    await expect(keySourceFromEnv('token', env, tmp.dir)).rejects.toThrow(message);
  });

  it.each([
    ['not a PEM', 'hello', /not a PEM private key/],
    ['an RSA key', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), /expected Ed25519/],
  ])('refuses a current key that is %s', async (_name, pem, message) => {
    await expect(loadKeyRing('report', { kind: 'pem', pem })).rejects.toThrow(message);
  });

  it('refuses retired JWKS entries that are private, malformed or mislabelled', async () => {
    const ring = await loadKeyRing('report', { kind: 'pem', pem: ed25519Pem() });
    const [jwk] = ring.jwks().keys;
    await expect(parsePublicJwks({ keys: [{ ...jwk, d: 'secret' }] }, 't')).rejects.toThrow(/private key/);
    await expect(parsePublicJwks({ keys: [{ ...jwk, kid: 'other' }] }, 't')).rejects.toThrow(/thumbprint/);
    await expect(parsePublicJwks({ keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] }, 't')).rejects.toThrow(/not an Ed25519/);
    await expect(parsePublicJwks({ keys: [{ ...jwk, x: 'AAAA' }] }, 't')).rejects.toThrow(/32 bytes/);
    await expect(parsePublicJwks([], 't')).rejects.toThrow(/not a JWKS/);
    expect(await parsePublicJwks({ keys: [jwk] }, 't')).toEqual([jwk]);
  });
});
