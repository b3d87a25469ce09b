/**
 * Report-signing keys: the Ed25519 ring whose current key signs every report's canonical JSON
 * (detached JWS, see jws.ts). Separate from the token ring: a leaked session-signing key can
 * never forge a report, and the other way round.
 */
import { keyDirectoryFor, keySourceFromEnv, loadKeyRing, rotateKeyDirectory } from './key-ring.js';
import type { KeyRing, KeySource, LoadKeyRingOptions } from './key-ring.js';

/** The report-signing ring: `current` signs, `all`/`jwks()` publish every key ever used. */
export type ReportKeyRing = KeyRing<'report'>;

/**
 * Loads the report-signing ring from a source (creating the first key of a key directory, unless
 * `options.create` is false). Guarantees: see `loadKeyRing`; the result only ever signs with one
 * key, `current`.
 */
export async function loadReportKeyRing(source: KeySource, options: LoadKeyRingOptions = {}): Promise<ReportKeyRing> {
  return loadKeyRing('report', source, options);
}

/**
 * Loads the report-signing ring configured by `REPORT_SIGNING_KEY` / `REPORT_SIGNING_KEY_FILE` /
 * `REPORT_SIGNING_RETIRED_JWKS_FILE`, or else the embedded `<dataDir>/keys/report-signing/`
 * (created with its first key by default; read only with `{ create: false }`, for commands that
 * only verify: see `loadKeyRing`).
 */
export async function loadReportKeyRingFromEnv(env: Readonly<Record<string, string | undefined>>, dataDir: string, options: LoadKeyRingOptions = {}): Promise<ReportKeyRing> {
  return loadKeyRing('report', await keySourceFromEnv('report', env, dataDir), options);
}

/**
 * Adds a new current report-signing key to a key directory (e.g. `reportKeyDirectory(dataDir)`)
 * and returns the new ring. Old keys stay published, so reports they signed keep verifying.
 */
export async function rotateReportKey(keyDir: string): Promise<ReportKeyRing> {
  return rotateKeyDirectory('report', keyDir);
}

/** `<dataDir>/keys/report-signing`: the embedded default key directory for report signatures. */
export function reportKeyDirectory(dataDir: string): string {
  return keyDirectoryFor('report', dataDir);
}

/**
 * The variable to name when the report-signing ring cannot be loaded: the one that configures it
 * (`REPORT_SIGNING_KEY_FILE`, `REPORT_SIGNING_KEY`, `REPORT_SIGNING_RETIRED_JWKS_FILE`, first set
 * wins), or `DATA_DIR` for the embedded key directory. Used for start-up errors (src/service.ts).
 */
export function reportKeyVariable(env: Readonly<Record<string, string | undefined>>): string {
  const set = (value: string | undefined): boolean => value !== undefined && value.trim() !== '';
  if (set(env.REPORT_SIGNING_KEY_FILE)) return 'REPORT_SIGNING_KEY_FILE';
  if (set(env.REPORT_SIGNING_KEY)) return 'REPORT_SIGNING_KEY';
  if (set(env.REPORT_SIGNING_RETIRED_JWKS_FILE)) return 'REPORT_SIGNING_RETIRED_JWKS_FILE';
  return 'DATA_DIR';
}
