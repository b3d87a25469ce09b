/**
 * Random secrets and their storage form. Refresh tokens and client secrets are 32 random bytes
 * (256 bits): a single SHA-256 is enough to store them, because nobody can brute-force a 2^256
 * space, so a slow hash (needed for human passwords) would only cost CPU on every request.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url (43 characters), optionally prefixed (for secret scanners). */
export function newSecret(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Lower-case hex SHA-256 of a UTF-8 string: the stored form of a 256-bit secret. */
export function secretSha256(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time equality of two strings (false when lengths differ, without early exit on content). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

/** HMAC-SHA256(key, message), base64url. */
export function hmac(key: string, message: string): string {
  return createHmac('sha256', Buffer.from(key, 'base64url')).update(message, 'utf8').digest('base64url');
}

/** A new random UUID (v4) for rows created by the auth module. */
export function newId(): string {
  return randomUUID();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID: check before using a caller's id in a query on a uuid column. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
