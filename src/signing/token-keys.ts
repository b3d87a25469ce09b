/**
 * Token-signing keys: the Ed25519 ring for session JWTs (EdDSA), separate from the report ring.
 * The auth module signs with jose's `SignJWT` using `tokenSigningKey(ring)`, and
 * verifies with jose's `jwtVerify(token, tokenKeyResolver(ring), { algorithms: ['EdDSA'], issuer,
 * audience, requiredClaims, clockTolerance })`.
 */
import type { KeyObject } from 'node:crypto';
import { errors } from 'jose';
import type { JWSHeaderParameters } from 'jose';
import { keyDirectoryFor, keySourceFromEnv, loadKeyRing, rotateKeyDirectory, SIGNING_ALG } from './key-ring.js';
import type { KeyRing, KeySource } from './key-ring.js';
import { RotatableKeyRing } from './rotatable.js';

/** The token-signing ring: `current` signs new tokens, every key in `all` still verifies. */
export type TokenKeyRing = KeyRing<'token'>;

/**
 * Loads the token-signing ring from a source (creating the first key of a key directory).
 * Guarantees: see `loadKeyRing`.
 */
export async function loadTokenKeyRing(source: KeySource): Promise<TokenKeyRing> {
  return loadKeyRing('token', source);
}

/**
 * Loads the token-signing ring configured by `TOKEN_SIGNING_KEY` / `TOKEN_SIGNING_KEY_FILE` /
 * `TOKEN_SIGNING_RETIRED_JWKS_FILE`, or else the embedded `<dataDir>/keys/token-signing/`.
 */
export async function loadTokenKeyRingFromEnv(env: Readonly<Record<string, string | undefined>>, dataDir: string): Promise<TokenKeyRing> {
  return loadKeyRing('token', await keySourceFromEnv('token', env, dataDir));
}

/** Adds a new current token-signing key to a key directory and returns the new ring. */
export async function rotateTokenKey(keyDir: string): Promise<TokenKeyRing> {
  return rotateKeyDirectory('token', keyDir);
}

/** `<dataDir>/keys/token-signing`: the embedded default key directory for session tokens. */
export function tokenKeyDirectory(dataDir: string): string {
  return keyDirectoryFor('token', dataDir);
}

/**
 * What `new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(privateKey)` needs.
 * Guarantees: always the ring's current key and `alg: "EdDSA"`.
 */
export function tokenSigningKey(ring: TokenKeyRing): { readonly alg: typeof SIGNING_ALG; readonly kid: string; readonly privateKey: KeyObject } {
  return { alg: SIGNING_ALG, kid: ring.current.kid, privateKey: ring.current.privateKey };
}

/**
 * A key resolver for jose's `jwtVerify`: picks the ring's public key by the token's `kid`.
 *
 * Guarantees: rejects (with jose's `JWKSNoMatchingKey`) a token without `kid`, with a `kid` the
 * ring does not hold, or with an `alg` other than EdDSA; never uses key material carried in the
 * token's header. Still pass `algorithms: ['EdDSA']` to `jwtVerify` as a second lock. For a `kid`
 * it does not hold, a ring over a shared key directory first looks for a key another instance
 * added by rotating (`refreshIfStale`: one directory listing a second at most).
 */
export function tokenKeyResolver(ring: TokenKeyRing): (header: JWSHeaderParameters) => Promise<KeyObject> {
  return async (header) => {
    if (header.alg !== SIGNING_ALG || typeof header.kid !== 'string') throw new errors.JWKSNoMatchingKey();
    let key = ring.publicKey(header.kid);
    if (key === undefined && ring instanceof RotatableKeyRing && (await ring.refreshIfStale())) key = ring.publicKey(header.kid);
    if (key === undefined) throw new errors.JWKSNoMatchingKey();
    return key;
  };
}

/**
 * The variable to name when the token-signing ring cannot be loaded: the one that configures it
 * (`TOKEN_SIGNING_KEY_FILE`, `TOKEN_SIGNING_KEY`, `TOKEN_SIGNING_RETIRED_JWKS_FILE`, first set
 * wins), or `DATA_DIR` for the embedded key directory. Used for start-up errors (src/service.ts).
 */
export function tokenKeyVariable(env: Readonly<Record<string, string | undefined>>): string {
  const set = (value: string | undefined): boolean => value !== undefined && value.trim() !== '';
  if (set(env.TOKEN_SIGNING_KEY_FILE)) return 'TOKEN_SIGNING_KEY_FILE';
  if (set(env.TOKEN_SIGNING_KEY)) return 'TOKEN_SIGNING_KEY';
  if (set(env.TOKEN_SIGNING_RETIRED_JWKS_FILE)) return 'TOKEN_SIGNING_RETIRED_JWKS_FILE';
  return 'DATA_DIR';
}
