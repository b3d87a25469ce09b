/**
 * Ed25519 key rings, one implementation for every purpose (report signatures, session tokens).
 *
 * A ring holds exactly one current key (the only one that signs) and every retired key's public
 * part (kept forever: a report signed years ago must still verify). Keys are identified by their
 * RFC 7638 JWK thumbprint, so a `kid` names the key material itself and cannot be reassigned.
 *
 * Sources:
 * - a key directory (embedded default): one JSON file per key, `NNNNNN.key.json`, created on first
 *   use (the service's start; read-only loads create nothing) and by rotation, never rewritten; the
 *   highest number is current. 0700 directory, 0600 files.
 * - a PKCS#8 PEM (production, from an environment variable or a file mounted by a secrets manager),
 *   plus an optional JWKS of retired public keys.
 *
 * Nothing here touches a database or HTTP: callers store `ring.all` (public keys only) wherever
 * they publish keys, and serve `ring.jwks()`.
 */
import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { calculateJwkThumbprint } from 'jose';
import { AppError } from '../errors.js';
import { assertOwnerOnly, ensurePrivateDir, keyError, publishFileExclusive, readJsonFile, readSecretFile } from './secret-files.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** What a ring's keys are for. Rings of different purposes never share keys or directories. */
export type KeyPurpose = 'report' | 'token';

/** The only JWS algorithm these rings produce or accept. */
export const SIGNING_ALG = 'EdDSA';

/** A published Ed25519 public key, exactly as it appears in a JWKS. */
export interface PublicSigningJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly use: 'sig';
}

/** The key that signs. Its private part never leaves the process through this module's API. */
export interface CurrentSigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicJwk: PublicSigningJwk;
}

/** A public key of the ring (current or retired): what gets stored in the append-only key table. */
export interface PublishedKey {
  readonly kid: string;
  readonly purpose: KeyPurpose;
  readonly status: 'current' | 'retired';
  readonly publicJwk: PublicSigningJwk;
  /** ISO 8601 UTC; absent when the source does not record it (PEM from a secrets manager). */
  readonly createdAt?: string;
}

/** A JSON Web Key Set holding public keys only. */
export interface PublicJwks {
  readonly keys: readonly PublicSigningJwk[];
}

/** One current signing key plus every retired public key, for one purpose. */
export interface KeyRing<P extends KeyPurpose = KeyPurpose> {
  readonly purpose: P;
  /** Where the keys came from, for a start-up log line (never contains key material). */
  readonly source: string;
  readonly current: CurrentSigningKey;
  /** Current key first, then retired keys, newest first. Public parts only. */
  readonly all: readonly PublishedKey[];
  /** The public JWKS to publish (current first). A fresh object on every call. */
  jwks(): PublicJwks;
  /** The public key with this `kid`, current or retired; undefined if the ring does not hold it. */
  publicKey(kid: string): KeyObject | undefined;
}

/** Where a ring's keys come from. */
export type KeySource =
  | { readonly kind: 'directory'; readonly dir: string }
  | {
      readonly kind: 'pem';
      /** PKCS#8 PEM text of the current Ed25519 private key. */
      readonly pem: string;
      /** Retired public keys (a JWKS object), published beside the current one. */
      readonly retiredJwks?: unknown;
      /** Human description of where the PEM came from, for logs. */
      readonly origin?: string;
    }
  | { readonly kind: 'pem-file'; readonly path: string; readonly retiredJwksFile?: string };

const KEY_FILE_FORMAT = 'hipaa-ai-risk.signing-key.v1';
const KEY_FILE_PATTERN = /^(\d{6})\.key\.json$/;
const MAX_ROTATION_ATTEMPTS = 5;

interface KeyFile {
  readonly format: typeof KEY_FILE_FORMAT;
  readonly purpose: KeyPurpose;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly createdAt: string;
  readonly publicJwk: PublicSigningJwk;
  readonly privateKeyPem: string;
}

interface RetiredKeyInput {
  readonly publicJwk: PublicSigningJwk;
  readonly createdAt?: string;
}

/**
 * Builds a ring from an Ed25519 private key and retired public keys.
 *
 * Guarantees: the current key is Ed25519 and its `kid` is its RFC 7638 thumbprint; retired keys
 * that repeat the current key are dropped; a retired `kid` appearing twice is an error. The ring
 * and every object it returns are frozen.
 */
export async function createKeyRing<P extends KeyPurpose>(options: {
  readonly purpose: P;
  readonly source: string;
  readonly privateKey: KeyObject;
  readonly createdAt?: string;
  readonly retired?: readonly RetiredKeyInput[];
}): Promise<KeyRing<P>> {
  const current = await currentKeyFrom(options.privateKey);
  const published: PublishedKey[] = [
    freezePublished({ kid: current.kid, purpose: options.purpose, status: 'current', publicJwk: current.publicJwk, createdAt: options.createdAt }),
  ];
  const publicKeys = new Map<string, KeyObject>([[current.kid, current.publicKey]]);
  for (const retired of options.retired ?? []) {
    if (retired.publicJwk.kid === current.kid) continue;
    if (publicKeys.has(retired.publicJwk.kid)) {
      throw keyError(`${options.source}: key ${retired.publicJwk.kid} appears twice`);
    }
    publicKeys.set(retired.publicJwk.kid, createPublicKey({ key: { ...retired.publicJwk }, format: 'jwk' }));
    published.push(freezePublished({ kid: retired.publicJwk.kid, purpose: options.purpose, status: 'retired', publicJwk: retired.publicJwk, createdAt: retired.createdAt }));
  }
  const all = Object.freeze(published);
  return Object.freeze({
    purpose: options.purpose,
    source: options.source,
    current,
    all,
    jwks: (): PublicJwks => ({ keys: all.map((k) => ({ ...k.publicJwk })) }),
    publicKey: (kid: string): KeyObject | undefined => publicKeys.get(kid),
  });
}

/** How `loadKeyRing` treats a key directory. */
export interface LoadKeyRingOptions {
  /**
   * Create the directory and its first key when it holds none (default true: what the service's
   * start needs). false for read-only uses (the `keys list`/`keys jwks` and `audit-verify`
   * commands): a missing or empty directory is then an error (`loadKeyDirectory`) and nothing is
   * written.
   */
  readonly create?: boolean;
  /** With create: false, how the caller's user chooses the data directory, named in that error (default "DATA_DIR"). */
  readonly dataDirSetting?: string;
}

/**
 * Loads a ring from its source; for a directory, creates the first key if there is none (unless
 * `options.create` is false).
 *
 * Guarantees: fails fast (throws `AppError`) on a missing or unreadable source, a key that is not
 * Ed25519, a key file of another purpose, a `kid` that is not the key's thumbprint, or key files
 * readable by group or others. Never returns a ring without a current key. A PEM source (text or
 * file) is only ever read.
 */
export async function loadKeyRing<P extends KeyPurpose>(purpose: P, source: KeySource, options: LoadKeyRingOptions = {}): Promise<KeyRing<P>> {
  switch (source.kind) {
    case 'directory':
      return options.create === false ? loadKeyDirectory(purpose, source.dir, options.dataDirSetting) : loadOrCreateKeyDirectory(purpose, source.dir);
    case 'pem':
      return keyRingFromPem(purpose, source.pem, source.retiredJwks, source.origin ?? 'PEM');
    case 'pem-file': {
      const pem = await readSecretFile(source.path, 'private key');
      const retired = source.retiredJwksFile === undefined ? undefined : await readJsonFile(source.retiredJwksFile, 'retired-keys JWKS');
      const origin = `PEM file ${source.path}` + (source.retiredJwksFile ? ` + JWKS ${source.retiredJwksFile}` : '');
      return keyRingFromPem(purpose, pem, retired, origin);
    }
  }
}

/**
 * Loads the ring stored in a key directory, creating the directory (0700) and a first key (0600)
 * if it holds none.
 *
 * Guarantees: concurrent first uses by several processes end with one key (file creation is
 * exclusive; the loser reloads). Existing key files are never modified.
 */
export async function loadOrCreateKeyDirectory<P extends KeyPurpose>(purpose: P, dir: string): Promise<KeyRing<P>> {
  await ensurePrivateDir(dir);
  let files = await readKeyDirectory(purpose, dir);
  if (files.length === 0) {
    // Losing the race to another process is fine: its key is loaded below.
    await writeKeyFile(dir, 1, await prepareKey(purpose));
    files = await readKeyDirectory(purpose, dir);
  }
  return ringFromKeyFiles(purpose, dir, files);
}

/**
 * Loads the ring stored in a key directory, read only: never creates the directory or a key.
 *
 * Guarantees: a missing directory, or one without key files, throws `NoKeysError` (an `AppError`)
 * whose one line names the directory (absolute) and what to set (`dataDirSetting`, default
 * "DATA_DIR", or the purpose's `_KEY_FILE`); otherwise as `loadKeyRing`. Writes nothing.
 */
export async function loadKeyDirectory<P extends KeyPurpose>(purpose: P, dir: string, dataDirSetting = 'DATA_DIR'): Promise<KeyRing<P>> {
  let files: LoadedKeyFile[];
  try {
    files = await readKeyDirectory(purpose, dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error instanceof AppError ? error : keyError(`cannot read the key directory ${resolve(dir)}`, error);
    files = [];
  }
  if (files.length === 0) throw new NoKeysError(purpose, dir, dataDirSetting);
  return ringFromKeyFiles(purpose, dir, files);
}

/** A read-only load (`loadKeyDirectory`) found no key: the directory is missing or empty. Nothing was created. */
export class NoKeysError extends AppError {
  constructor(
    readonly purpose: KeyPurpose,
    readonly dir: string,
    dataDirSetting = 'DATA_DIR',
  ) {
    const prefix = purpose === 'report' ? 'REPORT_SIGNING' : 'TOKEN_SIGNING';
    super('internal-error', `no ${purpose}-signing keys in ${resolve(dir)}: point ${dataDirSetting} at the service's data directory, or set ${prefix}_KEY_FILE as the service has it`);
    this.name = 'NoKeysError';
  }
}

/**
 * Adds a new current key to a key directory and returns the new ring. Older keys stay in the
 * directory (their public parts stay in `all` and `jwks()`, so what they signed keeps verifying);
 * only the new key signs from now on.
 *
 * Guarantees: the new key file is written completely before it becomes visible (temporary file,
 * fsync, then an exclusive hard link), so a crash never leaves a half-written current key.
 */
export async function rotateKeyDirectory<P extends KeyPurpose>(purpose: P, dir: string): Promise<KeyRing<P>> {
  return installKey(dir, await prepareKey(purpose));
}

/** A fresh key for a key directory: generated, not yet written anywhere. */
export interface PreparedKey<P extends KeyPurpose = KeyPurpose> {
  readonly purpose: P;
  readonly kid: string;
  readonly publicJwk: PublicSigningJwk;
  /** The key file's text (private key included). */
  readonly fileContent: string;
}

/**
 * Generates a key for `installKey`. Splitting the two lets a caller record the public key (and
 * who rotated) before any process can load the key from the directory and sign with it.
 */
export async function prepareKey<P extends KeyPurpose>(purpose: P): Promise<PreparedKey<P>> {
  const { privateKey } = await generateKeyPairAsync('ed25519');
  const current = await currentKeyFrom(privateKey);
  const content: KeyFile = {
    format: KEY_FILE_FORMAT,
    purpose,
    kid: current.kid,
    alg: 'EdDSA',
    createdAt: new Date().toISOString(),
    publicJwk: current.publicJwk,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
  return Object.freeze({ purpose, kid: current.kid, publicJwk: current.publicJwk, fileContent: `${JSON.stringify(content, null, 2)}\n` });
}

/**
 * Writes a prepared key into the key directory as its newest (current) key file and returns the
 * directory's new ring. Guarantees as `rotateKeyDirectory`'s; when another process took the next
 * sequence number meanwhile, the key goes after it, so it is still the current key.
 */
export async function installKey<P extends KeyPurpose>(dir: string, key: PreparedKey<P>): Promise<KeyRing<P>> {
  await ensurePrivateDir(dir);
  for (let attempt = 0; attempt < MAX_ROTATION_ATTEMPTS; attempt++) {
    const files = await readKeyDirectory(key.purpose, dir);
    const next = (files[0]?.sequence ?? 0) + 1;
    if (await writeKeyFile(dir, next, key)) return ringFromKeyFiles(key.purpose, dir, await readKeyDirectory(key.purpose, dir));
  }
  throw keyError(`${dir}: could not rotate the key (another process kept rotating concurrently)`);
}

/**
 * Validates a JWKS of Ed25519 public keys (as published by a ring) and returns its keys.
 *
 * Guarantees: every returned key is `kty: OKP`, `crv: Ed25519`, has a 32-byte `x`, no private
 * part, and a `kid` equal to its RFC 7638 thumbprint; throws `AppError` otherwise.
 */
export async function parsePublicJwks(value: unknown, origin: string): Promise<readonly PublicSigningJwk[]> {
  if (!isRecord(value) || !Array.isArray(value.keys)) throw keyError(`${origin}: not a JWKS (expected {"keys": [...]})`);
  const keys: PublicSigningJwk[] = [];
  for (const [i, raw] of (value.keys as unknown[]).entries()) {
    if (!isRecord(raw) || raw.kty !== 'OKP' || raw.crv !== 'Ed25519' || typeof raw.x !== 'string') {
      throw keyError(`${origin}: keys[${i}] is not an Ed25519 public key`);
    }
    if ('d' in raw) throw keyError(`${origin}: keys[${i}] contains a private key; publish public keys only`);
    if (Buffer.from(raw.x, 'base64url').length !== 32) throw keyError(`${origin}: keys[${i}].x is not 32 bytes`);
    const jwk = await publicJwkOf(raw.x);
    if (raw.kid !== undefined && raw.kid !== jwk.kid) {
      throw keyError(`${origin}: keys[${i}].kid ${JSON.stringify(raw.kid)} is not the key's RFC 7638 thumbprint ${jwk.kid}`);
    }
    keys.push(jwk);
  }
  return keys;
}

/** The directory of a purpose's ring inside the embedded data directory. */
export function keyDirectoryFor(purpose: KeyPurpose, dataDir: string): string {
  return join(dataDir, 'keys', purpose === 'report' ? 'report-signing' : 'token-signing');
}

/**
 * The key source configured in the environment for a purpose, or the embedded key directory.
 *
 * Reads `<PREFIX>_KEY` (PKCS#8 PEM text), `<PREFIX>_KEY_FILE` (path to it) and
 * `<PREFIX>_RETIRED_JWKS_FILE` (JWKS of retired public keys), where PREFIX is
 * `REPORT_SIGNING` or `TOKEN_SIGNING`. Setting both `_KEY` and `_KEY_FILE` is an error; setting
 * neither means the embedded directory `<dataDir>/keys/<purpose>-signing/`.
 */
export async function keySourceFromEnv(purpose: KeyPurpose, env: Readonly<Record<string, string | undefined>>, dataDir: string): Promise<KeySource> {
  const prefix = purpose === 'report' ? 'REPORT_SIGNING' : 'TOKEN_SIGNING';
  const pem = nonEmpty(env[`${prefix}_KEY`]);
  const pemFile = nonEmpty(env[`${prefix}_KEY_FILE`]);
  const retiredFile = nonEmpty(env[`${prefix}_RETIRED_JWKS_FILE`]);
  if (pem !== undefined && pemFile !== undefined) throw keyError(`set ${prefix}_KEY or ${prefix}_KEY_FILE, not both`);
  if (pem !== undefined) {
    const retiredJwks = retiredFile === undefined ? undefined : await readJsonFile(retiredFile, 'retired-keys JWKS');
    return { kind: 'pem', pem, retiredJwks, origin: `${prefix}_KEY` + (retiredFile ? ` + JWKS ${retiredFile}` : '') };
  }
  if (pemFile !== undefined) return { kind: 'pem-file', path: pemFile, retiredJwksFile: retiredFile };
  if (retiredFile !== undefined) throw keyError(`${prefix}_RETIRED_JWKS_FILE is set without ${prefix}_KEY or ${prefix}_KEY_FILE`);
  return { kind: 'directory', dir: keyDirectoryFor(purpose, dataDir) };
}

// ---------------------------------------------------------------------------------------------

async function keyRingFromPem<P extends KeyPurpose>(purpose: P, pem: string, retiredJwks: unknown, origin: string): Promise<KeyRing<P>> {
  const privateKey = parseEd25519PrivateKey(pem, origin);
  const retired = retiredJwks === undefined ? [] : (await parsePublicJwks(retiredJwks, origin)).map((publicJwk) => ({ publicJwk }));
  return createKeyRing({ purpose, source: origin, privateKey, retired });
}

function parseEd25519PrivateKey(pem: string, origin: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw keyError(`${origin}: not a PEM private key`, cause);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw keyError(`${origin}: the key is ${key.asymmetricKeyType ?? 'unknown'}, expected Ed25519`);
  return key;
}

async function currentKeyFrom(privateKey: KeyObject): Promise<CurrentSigningKey> {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') throw keyError('the current key must be an Ed25519 private key');
  const publicKey = createPublicKey(privateKey);
  const exported = publicKey.export({ format: 'jwk' });
  if (typeof exported.x !== 'string') throw keyError('cannot export the Ed25519 public key');
  const publicJwk = await publicJwkOf(exported.x);
  return Object.freeze({ kid: publicJwk.kid, privateKey, publicKey, publicJwk });
}

async function publicJwkOf(x: string): Promise<PublicSigningJwk> {
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x }, 'sha256');
  return Object.freeze({ kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' });
}

function freezePublished(key: PublishedKey): PublishedKey {
  const out: PublishedKey = key.createdAt === undefined
    ? { kid: key.kid, purpose: key.purpose, status: key.status, publicJwk: key.publicJwk }
    : key;
  return Object.freeze(out);
}

interface LoadedKeyFile {
  readonly sequence: number;
  readonly path: string;
  readonly content: KeyFile;
  readonly privateKey: KeyObject;
}

/**
 * The names of a key directory's key files, sorted: a cheap signature of its state. Key files are
 * only ever added (never rewritten or removed), so a ring loaded from the directory is up to date
 * exactly when this listing has not changed since.
 */
export async function keyDirectoryListing(dir: string): Promise<string> {
  return (await readdir(dir))
    .filter((n) => KEY_FILE_PATTERN.test(n))
    .sort()
    .join('\n');
}

/** Reads and checks every key file, newest (highest sequence) first. */
async function readKeyDirectory(purpose: KeyPurpose, dir: string): Promise<LoadedKeyFile[]> {
  const names = (await readdir(dir)).filter((n) => KEY_FILE_PATTERN.test(n));
  const loaded: LoadedKeyFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    await assertOwnerOnly(path);
    const content = (await readJsonFile(path, 'key file')) as Partial<KeyFile>;
    if (content.format !== KEY_FILE_FORMAT || typeof content.privateKeyPem !== 'string') throw keyError(`${path}: not a ${KEY_FILE_FORMAT} key file`);
    if (content.purpose !== purpose) throw keyError(`${path}: a ${String(content.purpose)} key cannot be used for ${purpose} signatures`);
    const privateKey = parseEd25519PrivateKey(content.privateKeyPem, path);
    const { kid } = await currentKeyFrom(privateKey);
    if (content.kid !== kid) throw keyError(`${path}: kid ${String(content.kid)} does not match the key (thumbprint ${kid})`);
    loaded.push({ sequence: Number(KEY_FILE_PATTERN.exec(name)?.[1]), path, content: content as KeyFile, privateKey });
  }
  return loaded.sort((a, b) => b.sequence - a.sequence);
}

async function ringFromKeyFiles<P extends KeyPurpose>(purpose: P, dir: string, files: readonly LoadedKeyFile[]): Promise<KeyRing<P>> {
  const [newest, ...older] = files;
  if (newest === undefined) throw keyError(`${dir}: no key files`);
  return createKeyRing({
    purpose,
    source: `key directory ${dir}`,
    privateKey: newest.privateKey,
    createdAt: newest.content.createdAt,
    retired: older.map((f) => ({ publicJwk: f.content.publicJwk, createdAt: f.content.createdAt })),
  });
}

/**
 * Writes `NNNNNN.key.json` for a prepared key. Returns false if that sequence number was taken
 * meanwhile (another process rotated), true when the file is in place.
 */
async function writeKeyFile(dir: string, sequence: number, key: PreparedKey): Promise<boolean> {
  const finalPath = join(dir, `${String(sequence).padStart(6, '0')}.key.json`);
  return publishFileExclusive(finalPath, key.fileContent);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
