/**
 * Rate-limit keys. Every key names what it counts (`ip:` or a principal), never a raw header:
 * the client IP is Express's `req.ip`, which honours `trust proxy` (TRUST_PROXY: a hop count or
 * addresses, never `true`), so a forged `X-Forwarded-For` cannot choose its own key.
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';

/** Returns the key a limiter counts a request under, or undefined when it does not apply. */
export type KeyOf = (req: Request) => string | undefined;

/**
 * The client IP as a rate-limit key: the address itself for IPv4, its /56 subnet for IPv6
 * (one subscriber usually holds a whole /56 to /64, so per-address keys would be free quotas).
 */
export function ipKey(req: Request): string {
  return `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
}

/** The key of an authenticated caller: `user:<id>` or `client:<id>`. */
export function principalKey(principal: { readonly type: string; readonly id: string }): string {
  return `${principal.type}:${principal.id}`;
}

/**
 * The default `keyOf`: the principal set by `authenticate` (`req.principal`), else undefined.
 * Read structurally so this module does not depend on the auth middleware.
 */
export const principalKeyOf: KeyOf = (req) => {
  const p = (req as { principal?: { type?: unknown; id?: unknown } }).principal;
  return p && typeof p.type === 'string' && typeof p.id === 'string' ? principalKey({ type: p.type, id: p.id }) : undefined;
};

/** Keys longer than this are stored as a hash (bounded rows; keyOf may return anything). */
const MAX_KEY_LENGTH = 200;

/** A store key of bounded length: `key` itself, or `h:` + its SHA-256 when it is too long. */
export function boundedKey(key: string): string {
  return key.length <= MAX_KEY_LENGTH ? key : `h:${createHash('sha256').update(key).digest('hex')}`;
}
