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

/**
 * Straight runs, each read as a cycle (so `0987654321098` and `7890123456789` are runs): the digits
 * (the digit row `1234567890` is the same cycle), the alphabet, and the letter rows of the US,
 * QWERTZ and AZERTY keyboards read one after the other, and their columns.
 */
const SEQUENCES = ['0123456789', 'abcdefghijklmnopqrstuvwxyz', 'qwertyuiopasdfghjklzxcvbnm', 'qwertzuiopasdfghjklyxcvbnm', 'azertyuiopqsdfghjklmwxcvbn', '1qaz2wsx3edc4rfv5tgb6yhn7ujm'];
/** The punctuation keys at the rows' ends (`-=`, `[]\`, `;'`, `,./`, and `` ` ``): a run may take them in or skip them. */
const ROW_END_KEYS = /[-=[\]\\;',./`]/g;

function isRun(text: string): boolean {
  if (text.length === 0) return false;
  return SEQUENCES.some((seq) => {
    const cycle = seq.repeat(Math.ceil(text.length / seq.length) + 1);
    return cycle.includes(text) || [...cycle].reverse().join('').includes(text);
  });
}

/** Leetspeak read back as letters; `1` stands for `i` or `l`, hence two readings. */
const LEET: Readonly<Record<string, string>> = { '@': 'a', '4': 'a', '0': 'o', '3': 'e', $: 's', '5': 's', '7': 't' };
const deleet = (text: string, one: 'i' | 'l'): string => [...text].map((c) => (c === '1' ? one : (LEET[c] ?? c))).join('');
const lettersOf = (text: string): string => text.replace(/[^a-z]/g, '');

/**
 * The words a decorated password may stand for: its letters alone (`Password2024!` → password),
 * and its letters with leetspeak read back, from the first letter to the last and up to four
 * characters either side (`P@ssw0rd12345` → password, `W3lc0m3!!` → welcome; not the decoration
 * `12345`, which would read "ieas").
 */
function wordsOf(lower: string): string[] {
  const words = [lettersOf(lower)];
  const first = lower.search(/[a-z]/);
  if (first < 0) return words;
  const last = lower.length - 1 - [...lower].reverse().join('').search(/[a-z]/);
  for (let before = 0; before <= Math.min(first, 4); before++) {
    for (let after = 0; after <= Math.min(lower.length - 1 - last, 4); after++) {
      const part = lower.slice(first - before, last + 1 + after);
      words.push(lettersOf(deleet(part, 'i')), lettersOf(deleet(part, 'l')));
    }
  }
  return words;
}

/** The shortest unit `text` repeats (`abcabcabc` → abc), or `text` itself. */
function unitOf(text: string): string {
  return /^(.+?)\1+$/su.exec(text)?.[1] ?? text;
}

/**
 * Checks a new password against the policy (docs/auth.md §passwords) and returns the reasons it
 * fails (empty when it passes):
 * 1. 12 to 256 characters;
 * 2. at least 5 different characters (case aside), and not one shorter part repeated
 *    (`abababababab`, `P4ssw0rd!P4ssw0rd!`);
 * 3. not a straight run of a keyboard row, the alphabet or digits (forwards or backwards, around
 *    the end, with or without the punctuation keys at the rows' ends: `qwertyuiop[]`);
 * 4. not containing the e-mail's local part (when it has 3+ characters), case-insensitively;
 * 5. not one of the embedded most common passwords, nor a common word (or one repeated) or a
 *    run of 4+ letters decorated only with digits and symbols, leetspeak included
 *    ("Password2024!", "P@ssw0rd12345", "zxcvbnm,./12").
 * No composition rules (NIST SP 800-63B §5.1.1.2): length and the blocklist do the work.
 */
export function checkPasswordPolicy(password: string, context: { email?: string | null } = {}): string[] {
  const reasons: string[] = [];
  const chars = [...password];
  if (chars.length < PASSWORD_MIN_LENGTH) reasons.push(`must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (chars.length > PASSWORD_MAX_LENGTH) reasons.push(`must be at most ${PASSWORD_MAX_LENGTH} characters`);
  const lower = password.toLowerCase();
  if (chars.length > 0 && chars.every((c) => c === chars[0])) reasons.push('must not be one repeated character');
  else if (new Set(lower).size < 5) reasons.push('must use at least 5 different characters');
  else if (unitOf(lower) !== lower) reasons.push('must not be a shorter part repeated');
  else if (isRun(lower) || isRun(lower.replace(ROW_END_KEYS, ''))) reasons.push('must not be a keyboard or alphabetical sequence');
  const local = context.email?.split('@')[0]?.toLowerCase();
  if (local !== undefined && local.length >= 3 && lower.includes(local)) reasons.push('must not contain your e-mail address');
  // A keyboard or alphabet run of 4+ letters decorated the same way is as common (`zxcvbnm,./12`).
  const common = wordsOf(lower).some((word) => word.length > 0 && (COMMON_BASE_WORDS.has(unitOf(word)) || (word.length >= 4 && isRun(word))));
  if (COMMON_PASSWORDS.has(lower) || common) {
    reasons.push('is too common: choose a longer phrase of unrelated words');
  }
  return reasons;
}
