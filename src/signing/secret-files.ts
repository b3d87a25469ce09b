/**
 * File-system helpers for secrets kept under the embedded data directory: owner-only permissions,
 * and files that appear complete or not at all.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { AppError } from '../errors.js';

/**
 * Writes `content` to `finalPath` with mode 0600 only if nothing exists there yet.
 *
 * Guarantees: a reader sees either no file or the complete, fsynced file (it is written to a
 * temporary name, then hard-linked into place, which fails if the name is taken); an existing
 * file is never overwritten. Returns false if `finalPath` already existed.
 */
export async function publishFileExclusive(finalPath: string, content: string | Uint8Array): Promise<boolean> {
  const tmp = `${finalPath}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, finalPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(tmp);
  }
}

/**
 * Creates a directory and its missing parents with mode 0700 (not subject to the umask).
 * An existing directory is left as it is.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await chmod(dir, 0o700);
}

/**
 * Throws `AppError` if group or others may read or write the file (as ssh refuses such keys).
 * Used for the files this service created itself; files mounted by a secrets manager are not checked.
 */
export async function assertOwnerOnly(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  let mode: number;
  try {
    ({ mode } = await stat(path));
  } catch (cause) {
    throw keyError(`cannot read ${path}`, cause);
  }
  if ((mode & 0o077) !== 0) {
    throw keyError(`${path}: permissions ${(mode & 0o777).toString(8)} are too open; run chmod 600 on it`);
  }
}

/** Reads a UTF-8 secret file; throws `AppError` naming the file (never its content) on failure. */
export async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw keyError(`cannot read the ${what} at ${path}`, cause);
  }
}

/** Reads and parses a JSON file; throws `AppError` naming the file on failure. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = await readSecretFile(path, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw keyError(`${path}: the ${what} is not valid JSON`, cause);
  }
}

/**
 * The error for key and certificate problems. They are operator problems, found at start-up:
 * the HTTP layer turns this into a bare 500, the CLI prints the detail.
 */
export function keyError(detail: string, cause?: unknown): AppError {
  return new AppError('internal-error', `signing keys: ${detail}`, { cause });
}
