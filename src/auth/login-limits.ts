/**
 * Brute-force limits on password guesses: failed attempts are counted over a sliding window per
 * account (the SHA-256 of the e-mail, whether or not such a user exists, so limiting reveals
 * nothing) and per client IP (per /56 for IPv6). Failed sign-ins and wrong current passwords of
 * `POST /v1/me/password` count alike (a stolen session cookie is no way around the limit). The
 * counters live in the database (`login_failures`), so every instance behind a load balancer
 * shares them. A successful login (or password change) clears its account's counter, not the IP's.
 */
import { ipKeyGenerator } from 'express-rate-limit';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/schema.js';
import { AppError } from '../errors.js';
import { sha256Hex } from '../util/hash.js';

/** The limits of one attempt: the failure window and the maximum failures per account and per IP. */
export interface LoginLimitSettings {
  readonly windowSeconds: number;
  readonly maxPerAccount: number;
  readonly maxPerIp: number;
}

/** The keys a password guess for `normalizedEmail` from `ip` counts against: account first, then IP. */
export function attemptKeys(normalizedEmail: string, ip: string | null | undefined): readonly [string, string] {
  return [accountKey(normalizedEmail), ipKey(ip)];
}

/**
 * The 429 of an attempt refused by the limits, the same for a sign-in and a password change:
 * it says when to try again and nothing about the account.
 */
export function loginLimitedError(retryAfterSeconds: number): AppError {
  return new AppError('rate-limited', `Too many failed sign-in attempts; try again in ${retryAfterSeconds} seconds`, { headers: { 'Retry-After': String(retryAfterSeconds) } });
}

/** `loginLimitStatus` of the account and IP keys of `attemptKeys`. Reads only. */
export async function attemptLimitStatus(db: Kysely<DB> | Transaction<DB>, keys: readonly [string, string], settings: LoginLimitSettings, now: Date): Promise<{ limited: boolean; retryAfterSeconds: number }> {
  return loginLimitStatus(db, [{ key: keys[0], max: settings.maxPerAccount }, { key: keys[1], max: settings.maxPerIp }], now, settings.windowSeconds);
}

export interface LoginLimit {
  readonly key: string;
  readonly max: number;
}

/** The account key of an e-mail address (normalised first): no address stored in clear. */
export function accountKey(normalizedEmail: string): string {
  return `account:${sha256Hex(normalizedEmail)}`;
}

/**
 * The IP key of a client address: the address itself for IPv4 (also IPv4-mapped IPv6), its /64
 * subnet for IPv6. A subscriber holds at least a /64: keyed per address, a guesser rotating
 * through its /64 was never limited (25 wrong passwords from 2001:db8:1:2::1…::25 all got 401,
 * none 429). Not the /56 the request rate limits use (src/http/rate-limit/keys.ts): this limit
 * refuses even a right password once full, and carriers that give each device its own /64 from a
 * shared /56 would let one guesser lock out up to 256 unrelated subscribers for 15 minutes.
 */
export function ipKey(ip: string | null | undefined): string {
  return `ip:${ip ? ipKeyGenerator(ip, 64) : 'unknown'}`;
}

/**
 * Whether any of `limits` is reached within the window ending at `now`, and if so how many whole
 * seconds until the attempt would be allowed again (≥ 1). Reads only.
 */
export async function loginLimitStatus(db: Kysely<DB> | Transaction<DB>, limits: readonly LoginLimit[], now: Date, windowSeconds: number): Promise<{ limited: boolean; retryAfterSeconds: number }> {
  const cutoff = new Date(now.getTime() - windowSeconds * 1000);
  let retryAfterMs = 0;
  for (const { key, max } of limits) {
    const rows = await db.selectFrom('login_failures').select('failed_at').where('key', '=', key).where('failed_at', '>', cutoff).orderBy('failed_at', 'desc').limit(max).execute();
    if (rows.length >= max) {
      // Allowed again once the max-th most recent failure leaves the window.
      const pivot = new Date(rows[max - 1]!.failed_at).getTime();
      retryAfterMs = Math.max(retryAfterMs, pivot + windowSeconds * 1000 - now.getTime());
    }
  }
  return retryAfterMs > 0 ? { limited: true, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) } : { limited: false, retryAfterSeconds: 0 };
}

/** A guess counted before its password is checked (`claimAttempt`): its rows in `login_failures`. */
export interface AttemptClaim {
  readonly ids: readonly number[];
}

/**
 * Counts a password guess against the account and IP limits before its password is checked, as
 * a failure it will stay unless the password was right (`withdrawClaim`). Checking the limits
 * first and counting the failure after the password hash (~100 ms) let guesses sent at once pass
 * the check before they were counted (6 of 15 against a limit of 5 in test/auth/races.test.ts);
 * now each guess is counted on arrival, under a transaction-scoped advisory lock per key (taken
 * in key order, so two claims cannot deadlock), and refused when the earlier guesses of the
 * window (failures, and claims still in flight) already fill a limit. Returns the claim, or the
 * 429's Retry-After when refused (nothing is then counted: a refused guess is not a failure).
 * Forgets failures older than the window.
 */
export async function claimAttempt(db: Kysely<DB>, keys: readonly [string, string], settings: LoginLimitSettings, now: Date): Promise<{ limited: false; claim: AttemptClaim } | { limited: true; retryAfterSeconds: number }> {
  const cutoff = new Date(now.getTime() - settings.windowSeconds * 1000);
  const claimed = await db.transaction().execute(async (trx) => {
    for (const key of [...keys].sort()) await sql`SELECT pg_advisory_xact_lock(hashtext(${key}))`.execute(trx);
    await trx.deleteFrom('login_failures').where('failed_at', '<=', cutoff).execute();
    for (const [key, max] of [[keys[0], settings.maxPerAccount], [keys[1], settings.maxPerIp]] as const) {
      const earlier = await trx.selectFrom('login_failures').select('id').where('key', '=', key).where('failed_at', '>', cutoff).limit(max).execute();
      if (earlier.length >= max) return undefined;
    }
    const rows = await trx.insertInto('login_failures').values(keys.map((key) => ({ key, failed_at: now }))).returning('id').execute();
    return { ids: rows.map((r) => r.id) };
  });
  if (claimed !== undefined) return { limited: false, claim: claimed };
  const status = await attemptLimitStatus(db, keys, settings, now);
  return { limited: true, retryAfterSeconds: status.limited ? status.retryAfterSeconds : 1 };
}

/** Withdraws a claim whose password was right: the guess was no failure (nor is it counted against the IP). */
export async function withdrawClaim(trx: Transaction<DB>, claim: AttemptClaim): Promise<void> {
  await trx.deleteFrom('login_failures').where('id', 'in', [...claim.ids]).execute();
}

/** Forgets the failures of one key (after a successful login of that account). */
export async function clearLoginFailures(trx: Transaction<DB>, key: string): Promise<void> {
  await trx.deleteFrom('login_failures').where('key', '=', key).execute();
}
