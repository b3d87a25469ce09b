/**
 * Offline verification of a signed report, for auditors: the report's exact bytes, its detached
 * JWS and a JWKS (file or URL). No database, no server of ours.
 */
import { readFile } from 'node:fs/promises';
import { AppError } from '../errors.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { verifyReport } from './jws.js';
import type { VerifyFailureCode } from './jws.js';

/** Who the report is about, read from the report JSON (absent fields stay absent). */
export interface ReportIdentity {
  readonly reportId?: string;
  readonly assessmentId?: string;
  readonly revision?: string | number;
  /** Lower-case hex SHA-256 of the exact report bytes. */
  readonly sha256: string;
}

/** The outcome of `verifyReportOffline`. */
export type OfflineVerification =
  | { readonly valid: true; readonly kid: string; readonly identity: ReportIdentity }
  | {
      readonly valid: false;
      readonly code: VerifyFailureCode;
      readonly reason: string;
      readonly identity: ReportIdentity;
      /** A likely explanation, e.g. the JSON file was re-formatted after signing. */
      readonly hint?: string;
    };

const MAX_JWKS_BYTES = 1024 * 1024;
const DEFAULT_FETCH_TIMEOUT_MS = 10_000;

/**
 * Verifies a report's bytes against its detached JWS and a JWKS, and reads its identity.
 *
 * Guarantees: never throws; the signature is checked over `reportBytes` exactly as given (a
 * re-formatted JSON file does not verify; the result then says so in `hint`); the identity is
 * read only from the same bytes; surrounding whitespace of the JWS text (a trailing newline of a
 * `.jws` file) is ignored, nothing else is.
 */
/**
 * The reason of a failed verification as an audit event can hold it (at most 500 characters, no
 * NUL, well-formed). The reason quotes the caller's JWS header (its `kid`), so it is unbounded and
 * may hold any character: every UTF-16 unit that is not printable ASCII becomes `?`, then the
 * first 300 characters are kept. The cut comes after the replacement, so astral characters (two
 * `?` each) cannot take the result past 300: cut first, 300 emoji made 600 and a 500 (session 13).
 * For `POST /v1/verify` and the verify page alike.
 */
export function auditableVerifyReason(reason: string): string {
  return reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}

export async function verifyReportOffline(reportBytes: Uint8Array, jwsText: string, jwks: unknown): Promise<OfflineVerification> {
  const identity = reportIdentity(reportBytes);
  const result = await verifyReport(reportBytes, jwsText.trim(), jwks);
  if (result.valid) return { valid: true, kid: result.kid, identity };
  const hint = result.code === 'bad-signature' ? canonicalFormHint(reportBytes) : undefined;
  return hint === undefined ? { ...result, identity } : { ...result, identity, hint };
}

/**
 * Reads `reportId`, `assessment.id` and `assessment.revision` from report JSON bytes and hashes
 * the bytes. Guarantees: never throws; a field that is missing or not a string/number is absent.
 */
export function reportIdentity(reportBytes: Uint8Array): ReportIdentity {
  const sha256 = sha256Hex(reportBytes);
  let report: unknown;
  try {
    report = JSON.parse(Buffer.from(reportBytes).toString('utf8'));
  } catch {
    return { sha256 };
  }
  const assessment = isRecord(report) && isRecord(report.assessment) ? report.assessment : {};
  const reportId = isRecord(report) ? scalar(report.reportId) : undefined;
  const assessmentId = scalar(assessment.id);
  const revision = scalar(assessment.revision);
  return {
    ...(reportId === undefined ? {} : { reportId: String(reportId) }),
    ...(assessmentId === undefined ? {} : { assessmentId: String(assessmentId) }),
    ...(revision === undefined ? {} : { revision }),
    sha256,
  };
}

/**
 * Loads a JWKS from a file path or an http(s) URL.
 *
 * Guarantees: at most 1 MiB is read; a URL is fetched with a timeout (default 10 s), no
 * credentials, redirects followed by fetch's defaults; the result is parsed JSON (its shape is
 * checked by the verifier, not here). Throws `AppError` ('bad-request') with a readable detail.
 */
export async function loadJwks(
  location: string,
  options: { readonly fetch?: typeof fetch; readonly timeoutMs?: number } = {},
): Promise<unknown> {
  let text: string;
  if (/^https?:\/\//i.test(location)) {
    const doFetch = options.fetch ?? fetch;
    let response: Response;
    try {
      response = await doFetch(location, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS),
      });
    } catch (cause) {
      throw new AppError('bad-request', `cannot fetch the JWKS from ${location}: ${describe(cause)}`, { cause });
    }
    if (!response.ok) throw new AppError('bad-request', `fetching the JWKS from ${location} returned HTTP ${response.status}`);
    const body = Buffer.from(await response.arrayBuffer());
    if (body.length > MAX_JWKS_BYTES) throw new AppError('bad-request', `the JWKS at ${location} is larger than 1 MiB`);
    text = body.toString('utf8');
  } else {
    let body: Buffer;
    try {
      body = await readFile(location);
    } catch (cause) {
      throw new AppError('bad-request', `cannot read the JWKS file ${location}: ${describe(cause)}`, { cause });
    }
    if (body.length > MAX_JWKS_BYTES) throw new AppError('bad-request', `the JWKS file ${location} is larger than 1 MiB`);
    text = body.toString('utf8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new AppError('bad-request', `the JWKS at ${location} is not valid JSON`, { cause });
  }
}

function canonicalFormHint(reportBytes: Uint8Array): string | undefined {
  const text = Buffer.from(reportBytes).toString('utf8');
  try {
    if (canonicalJson(JSON.parse(text)) !== text) {
      return 'the report file is not in canonical JSON form: reports are signed over their exact canonical bytes, so a re-formatted or re-saved copy does not verify; use the file exactly as issued';
    }
  } catch {
    return 'the report file is not valid JSON';
  }
  return undefined;
}

function scalar(value: unknown): string | number | undefined {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
  return String(error);
}
