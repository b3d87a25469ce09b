/**
 * Password hashing (scrypt, node:crypto) and the password policy.
 *
 * Stored format: `scrypt$<log2 N>$<r>$<p>$<salt base64url>$<hash base64url>`, so the parameters
 * travel with each hash and raising the cost later still verifies old hashes (and `needsRehash`
 * tells the login to upgrade them). scrypt is memory-hard: N = 2^15, r = 8, p = 3 takes 32 MiB and
 * ~0.1–0.2 s per hash on one core (OWASP's scrypt option "N=2^15, r=8, p=3"). Comparison is
 * constant-time. Nothing here logs or returns a password.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { COMMON_PASSWORDS, COMMON_BASE_WORDS } from './common-passwords.js';

const R = 8;
const P = 3;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/** Minimum and maximum password length, in Unicode code points. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

function scrypt(password: string, salt: Buffer, log2n: number, r: number, p: number): Promise<Buffer> {
  const n = 2 ** log2n;
  return new Promise((resolve, reject) => {
    // maxmem must exceed 128 * N * r * p bytes; leave headroom.
    scryptCb(password.normalize('NFC'), salt, KEY_LENGTH, { N: n, r, p, maxmem: 256 * n * r * p + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * Hashes a password with a fresh 16-byte salt at cost `log2n` (r = 8, p = 3).
 * Guarantees: the result embeds every parameter needed to verify it; the password is
 * NFC-normalised first, so the same visible password always verifies.
 */
export async function hashPassword(password: string, log2n: number): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scrypt(password, salt, log2n, R, P);
  return `scrypt$${log2n}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

interface Parsed {
  log2n: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parse(stored: string): Parsed | undefined {
  const m = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return undefined;
  const [log2n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (log2n < 1 || log2n > 22 || r < 1 || p < 1 || p > 16) return undefined;
  return { log2n, r, p, salt: Buffer.from(m[4]!, 'base64url'), key: Buffer.from(m[5]!, 'base64url') };
}

/**
 * Whether `password` matches `stored`. Guarantees: constant-time comparison of the derived keys;
 * false (never a throw) for a malformed stored hash.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const key = await scrypt(password, parsed.salt, parsed.log2n, parsed.r, parsed.p);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/** Whether a stored hash uses a lower cost than `log2n` (re-hash it after a successful login). */
export function needsRehash(stored: string, log2n: number): boolean {
  const parsed = parse(stored);
  return parsed === undefined || parsed.log2n < log2n || parsed.r !== R || parsed.p !== P;
}

const dummyHashes = new Map<number, Promise<string>>();

/**
 * A hash of a random password at cost `log2n`, computed once per cost: verifying against it when
 * the e-mail is unknown makes an unknown user take as long as a wrong password.
 */
export function dummyPasswordHash(log2n: number): Promise<string> {
  let hash = dummyHashes.get(log2n);
  if (hash === undefined) {
    hash = hashPassword(randomBytes(24).toString('base64url'), log2n);
    dummyHashes.set(log2n, hash);
  }
  return hash;
}

const SEQUENCES = ['01234567890123456789', 'abcdefghijklmnopqrstuvwxyz', 'qwertyuiopasdfghjklzxcvbnm', 'qwertzuiopasdfghjklyxcvbnm', 'azertyuiopqsdfghjklmwxcvbn', '1qaz2wsx3edc4rfv5tgb6yhn7ujm'];

/**
 * Checks a new password against the policy (docs/auth.md §passwords) and returns the reasons it
 * fails (empty when it passes):
 * 1. 12 to 256 characters;
 * 2. not one character repeated;
 * 3. not a straight run of a keyboard row, the alphabet or digits (forwards or backwards);
 * 4. not containing the e-mail's local part (when it has 3+ characters), case-insensitively;
 * 5. not one of the embedded most common passwords, nor a common word decorated only with
 *    digits and symbols ("Password2024!", "qwerty123456").
 * No composition rules (NIST SP 800-63B §5.1.1.2): length and the blocklist do the work.
 */
export function checkPasswordPolicy(password: string, context: { email?: string | null } = {}): string[] {
  const reasons: string[] = [];
  const chars = [...password];
  if (chars.length < PASSWORD_MIN_LENGTH) reasons.push(`must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (chars.length > PASSWORD_MAX_LENGTH) reasons.push(`must be at most ${PASSWORD_MAX_LENGTH} characters`);
  const lower = password.toLowerCase();
  if (chars.length > 0 && chars.every((c) => c === chars[0])) reasons.push('must not be one repeated character');
  else if (SEQUENCES.some((s) => s.includes(lower) || [...s].reverse().join('').includes(lower))) reasons.push('must not be a keyboard or alphabetical sequence');
  const local = context.email?.split('@')[0]?.toLowerCase();
  if (local !== undefined && local.length >= 3 && lower.includes(local)) reasons.push('must not contain your e-mail address');
  const letters = lower.replace(/[^a-z]/g, '');
  if (COMMON_PASSWORDS.has(lower) || (letters.length > 0 && COMMON_BASE_WORDS.has(letters)) || (letters.length === 0 && /^(\d)\1*$|^(\d\d)\2*$|^(\d{3})\3*$/.test(lower))) {
    reasons.push('is too common: choose a longer phrase of unrelated words');
  }
  return reasons;
}
