/**
 * Access tokens: short-lived JWTs signed with the token key ring (EdDSA, Ed25519).
 *
 * Two kinds, told apart by the `typ` header and by their claims, each accepted on one transport only:
 * - session tokens (`typ: session+jwt`), in the httpOnly session cookie, for people:
 *   `sub` user id, `org`, `roles`, `sid` session id, `av` the user's authz_version;
 * - client tokens (`typ: at+jwt`, RFC 9068), as `Authorization: Bearer`, for API clients:
 *   `sub` = `client_id`, `org`, `scope` (space-separated), `av` the client's authz_version.
 * Both carry `iss` (PUBLIC_URL), `aud` (PUBLIC_URL + "/v1"), `iat`, `exp`, `jti`.
 *
 * Verification pins everything: the algorithm (EdDSA), the key by `kid` over the whole ring
 * (current and retired keys, so tokens signed before a rotation verify until they expire), the
 * `typ`, issuer, audience, expiry (with a 5 s tolerance), a maximum age, and the required claims
 * and their types. A token is then only a claim: principal.ts re-checks it against the database.
 */
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { TokenKeyRing } from '../signing/token-keys.js';
import { tokenKeyResolver, tokenSigningKey } from '../signing/token-keys.js';
import { withLatestKeys } from '../signing/rotatable.js';
import { ROLES, SCOPES, type Role, type Scope } from './permissions.js';
import { newId } from './secrets.js';

/** `typ` header of session tokens (cookie only). */
export const SESSION_TOKEN_TYP = 'session+jwt';
/** `typ` header of client tokens (bearer only; RFC 9068). */
export const CLIENT_TOKEN_TYP = 'at+jwt';
/** Clock skew tolerated on `exp`, `nbf` and `iat`, seconds. */
export const CLOCK_TOLERANCE_SECONDS = 5;

export interface TokenSettings {
  readonly keys: TokenKeyRing;
  /** PUBLIC_URL without a trailing slash. */
  readonly issuer: string;
  readonly ttlSeconds: number;
}

/** The audience of every access token: the API of this installation. */
export function tokenAudience(issuer: string): string {
  return `${issuer}/v1`;
}

export interface SessionClaims {
  readonly sub: string;
  readonly org: string;
  readonly roles: readonly Role[];
  readonly sid: string;
  readonly av: number;
  readonly exp: number;
  readonly jti: string;
}

export interface ClientClaims {
  readonly sub: string;
  readonly org: string;
  readonly scopes: readonly Scope[];
  readonly av: number;
  readonly exp: number;
  readonly jti: string;
}

/** Why a token was refused (never shown in detail to the caller beyond "invalid" / "expired"). */
export class TokenError extends Error {
  constructor(readonly reason: 'expired' | 'invalid') {
    super(reason === 'expired' ? 'The access token has expired' : 'The access token is invalid');
    this.name = 'TokenError';
  }
}

async function sign(settings: TokenSettings, typ: string, claims: JWTPayload, subject: string, now: Date): Promise<{ token: string; expiresIn: number; exp: number }> {
  const { alg, kid, privateKey } = tokenSigningKey(await withLatestKeys(settings.keys));
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + settings.ttlSeconds;
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg, kid, typ })
    .setIssuer(settings.issuer)
    .setAudience(tokenAudience(settings.issuer))
    .setSubject(subject)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(newId())
    .sign(privateKey);
  return { token, expiresIn: settings.ttlSeconds, exp };
}

/**
 * Signs a session access token. Guarantees: current key of the ring, lifetime = `ttlSeconds`
 * (≤ 900 by configuration), every claim `verifySessionToken` requires.
 */
export function issueSessionToken(settings: TokenSettings, c: { userId: string; organizationId: string; roles: readonly Role[]; sessionId: string; authzVersion: number }, now: Date): Promise<{ token: string; expiresIn: number; exp: number }> {
  return sign(settings, SESSION_TOKEN_TYP, { org: c.organizationId, roles: [...c.roles], sid: c.sessionId, av: c.authzVersion }, c.userId, now);
}

/** Signs a client access token (RFC 9068 `at+jwt`) carrying exactly `scopes`. */
export function issueClientToken(settings: TokenSettings, c: { clientId: string; organizationId: string; scopes: readonly Scope[]; authzVersion: number }, now: Date): Promise<{ token: string; expiresIn: number; exp: number }> {
  return sign(settings, CLIENT_TOKEN_TYP, { org: c.organizationId, scope: c.scopes.join(' '), client_id: c.clientId, av: c.authzVersion }, c.clientId, now);
}

async function verify(settings: TokenSettings, token: string, typ: string, requiredClaims: string[], now: Date): Promise<JWTPayload> {
  if (token.length > 4096 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) throw new TokenError('invalid');
  try {
    const { payload } = await jwtVerify(token, tokenKeyResolver(settings.keys), {
      algorithms: ['EdDSA'],
      typ,
      issuer: settings.issuer,
      audience: tokenAudience(settings.issuer),
      requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp', 'jti', ...requiredClaims],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: settings.ttlSeconds + CLOCK_TOLERANCE_SECONDS,
      currentDate: now,
    });
    // With maxTokenAge set, jose also refuses an `iat` in the future (beyond the tolerance).
    return payload;
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new TokenError('expired');
    throw new TokenError('invalid');
  }
}

const isString = (v: unknown, max = 200): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isVersion = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Verifies a session token (cookie). Guarantees: returns only if the signature, `typ`, issuer,
 * audience, lifetime and every claim (with its type) hold; throws `TokenError` otherwise.
 */
export async function verifySessionToken(settings: TokenSettings, token: string, now: Date): Promise<SessionClaims> {
  const p = await verify(settings, token, SESSION_TOKEN_TYP, ['org', 'roles', 'sid', 'av'], now);
  const roles = p.roles;
  if (!isString(p.sub) || !isString(p.org) || !isString(p.sid) || !isVersion(p.av) || !isString(p.jti) || typeof p.exp !== 'number') throw new TokenError('invalid');
  if (!Array.isArray(roles) || !roles.every((r) => (ROLES as readonly unknown[]).includes(r))) throw new TokenError('invalid');
  return { sub: p.sub, org: p.org, roles: roles as Role[], sid: p.sid, av: p.av, exp: p.exp, jti: p.jti };
}

/** Verifies a client token (bearer). Same guarantees as `verifySessionToken`, for `at+jwt`. */
export async function verifyClientToken(settings: TokenSettings, token: string, now: Date): Promise<ClientClaims> {
  const p = await verify(settings, token, CLIENT_TOKEN_TYP, ['org', 'scope', 'client_id', 'av'], now);
  if (!isString(p.sub) || !isString(p.org) || p.client_id !== p.sub || !isVersion(p.av) || !isString(p.jti) || typeof p.exp !== 'number') throw new TokenError('invalid');
  if (typeof p.scope !== 'string') throw new TokenError('invalid');
  const scopes = p.scope === '' ? [] : p.scope.split(' ');
  if (!scopes.every((s) => (SCOPES as readonly string[]).includes(s))) throw new TokenError('invalid');
  return { sub: p.sub, org: p.org, scopes: scopes as Scope[], av: p.av, exp: p.exp, jti: p.jti };
}
