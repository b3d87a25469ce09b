/**
 * Offline verification of a signed report, for auditors: the report's exact bytes, its detached
 * JWS and a JWKS (file or URL). No database, no server of ours.
 */
import { readRegularFile } from '../util/read-regular-file.js';
import { AppError } from '../errors.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { REPORT_SCHEMA } from '../reports/report.js';
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

/**
 * Verifies a report's bytes against its detached JWS and a JWKS, and reads its identity.
 *
 * Guarantees: never throws; the signature is checked over `reportBytes` exactly as given (a
 * re-formatted JSON file does not verify; the result then says so in `hint`); the identity is
 * read only from the same bytes; surrounding whitespace of the JWS text (a trailing newline of a
 * `.jws` file) is ignored, nothing else is. `valid` is true only when, besides the signature,
 * the signed bytes are a report: a JSON object whose `schema` is REPORT_SCHEMA. The report key
 * also signs audit checkpoints and export manifests (same header): their genuine signatures are
 * refused as 'not-a-report'. That check comes after the signature check, so a forged or
 * tampered file keeps its signature's code, and 'not-a-report' means "genuinely signed, but not
 * a report".
 */
export async function verifyReportOffline(reportBytes: Uint8Array, jwsText: string, jwks: unknown): Promise<OfflineVerification> {
  const identity = reportIdentity(reportBytes);
  const result = await verifyReport(reportBytes, jwsText.trim(), jwks);
  if (result.valid) {
    const notReport = notAReportReason(reportBytes);
    if (notReport === undefined) return { valid: true, kid: result.kid, identity };
    return {
      valid: false,
      code: 'not-a-report',
      reason: `these bytes are not a report: ${notReport} (the signature by key ${result.kid} is genuine, but that key also signs audit checkpoints and audit export manifests, which are not reports)`,
      identity,
    };
  }
  const hint = result.code === 'bad-signature' ? canonicalFormHint(reportBytes) : undefined;
  return hint === undefined ? { ...result, identity } : { ...result, identity, hint };
}

// Longest `schema` or `type` value quoted in a reason; a longer one is only described.
const MAX_QUOTED = 64;

/**
 * Why the bytes are not a report (not a JSON object, or a top-level `schema` other than
 * REPORT_SCHEMA), or undefined when they are one. Never throws.
 */
function notAReportReason(bytes: Uint8Array): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return 'they are not JSON';
  }
  if (!isRecord(value)) return `they are ${Array.isArray(value) ? 'a JSON array' : `JSON ${value === null ? 'null' : `of type ${typeof value}`}`}, not an object`;
  if (value.schema === REPORT_SCHEMA) return undefined;
  const quoted = (v: unknown): string | undefined => (typeof v === 'string' && v.length <= MAX_QUOTED ? JSON.stringify(v) : undefined);
  if (!Object.hasOwn(value, 'schema')) {
    const type = quoted(value.type);
    return `they have no "schema"${type === undefined ? '' : ` (their "type" is ${type})`}; a report's schema is ${JSON.stringify(REPORT_SCHEMA)}`;
  }
  return `their schema is ${quoted(value.schema) ?? 'another one'}; a report's is ${JSON.stringify(REPORT_SCHEMA)}`;
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
 * Loads a JWKS from a file path or an https URL.
 *
 * Guarantees: at most 1 MiB (+1 byte) is ever read or buffered, whatever the source claims; a URL
 * must be `https:` (plain `http:` only for a loopback host: 127.0.0.1, ::1, localhost), is fetched
 * with a timeout (default 10 s, covering the body too), no credentials, and no redirect at all (a
 * redirect is refused: a 302 to another host must not choose the keys); a file must be a regular
 * file (no device, FIFO or directory: `/dev/zero` is refused, not read). The result is parsed
 * JSON (its shape is checked by the verifier, not here). Throws `AppError` ('bad-request') with a
 * readable detail for every failure, a timeout while reading the body included.
 */
export async function loadJwks(
  location: string,
  options: { readonly fetch?: typeof fetch; readonly timeoutMs?: number } = {},
): Promise<unknown> {
  const text = URL_SCHEME.test(location) ? await fetchJwksText(location, options) : await readJwksFile(location);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new AppError('bad-request', `the JWKS at ${printableText(location)} is not valid JSON`, { cause });
  }
}

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

async function fetchJwksText(location: string, options: { readonly fetch?: typeof fetch; readonly timeoutMs?: number }): Promise<string> {
  const shown = printableText(location);
  let url: URL;
  try {
    url = new URL(location);
  } catch (cause) {
    throw new AppError('bad-request', `the JWKS URL ${shown} is not a valid URL`, { cause });
  }
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname.toLowerCase())))) {
    throw new AppError('bad-request', `the JWKS URL ${shown} must use https (plain http only for a loopback host: 127.0.0.1, ::1, localhost)`);
  }
  if (url.username !== '' || url.password !== '') throw new AppError('bad-request', `the JWKS URL ${shown} must not carry credentials`);
  const doFetch = options.fetch ?? fetch;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS} ms`)), options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS);
  try {
    let response: Response;
    try {
      response = await doFetch(url.href, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        redirect: 'error',
        credentials: 'omit',
        signal: controller.signal,
      });
    } catch (cause) {
      throw new AppError('bad-request', `cannot fetch the JWKS from ${shown} (redirects are refused): ${describe(cause)}`, { cause });
    }
    try {
      // A fetch given redirect: 'error' never returns one; an injected fetch might.
      if (response.redirected || (response.status >= 300 && response.status < 400)) {
        throw new AppError('bad-request', `fetching the JWKS from ${shown} was redirected (HTTP ${response.status}); redirects are refused: give the final https URL`);
      }
      if (!response.ok) throw new AppError('bad-request', `fetching the JWKS from ${shown} returned HTTP ${response.status}`);
      const declared = response.headers.get('content-length');
      if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared.trim()) > MAX_JWKS_BYTES) {
        throw new AppError('bad-request', `the JWKS at ${shown} is larger than 1 MiB (Content-Length ${declared.trim()})`);
      }
      const body = await readCapped(response, shown);
      return body.toString('utf8');
    } finally {
      // Whatever happened, stop the transfer: a body never read keeps the connection open.
      await response.body?.cancel().catch(() => undefined);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a response body chunk by chunk, refusing it as soon as it passes MAX_JWKS_BYTES. */
async function readCapped(response: Response, shown: string): Promise<Buffer> {
  if (response.body === null) return Buffer.alloc(0);
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      let next: { readonly done: boolean; readonly value?: Uint8Array };
      try {
        next = await reader.read();
      } catch (cause) {
        throw new AppError('bad-request', `cannot read the JWKS from ${shown}: ${describe(cause)}`, { cause });
      }
      if (next.done || next.value === undefined) break;
      size += next.value.byteLength;
      if (size > MAX_JWKS_BYTES) throw new AppError('bad-request', `the JWKS at ${shown} is larger than 1 MiB`);
      chunks.push(next.value);
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks, size);
}

async function readJwksFile(location: string): Promise<string> {
  const bytes = await readRegularFile(location, { what: 'JWKS', shown: printableText(location), maxBytes: MAX_JWKS_BYTES, tooLarge: '1 MiB' });
  return bytes.toString('utf8');
}

// C0 and C1 controls, DEL, and the bidirectional formatting characters (Unicode UAX #9) that could
// reorder or overwrite what a terminal shows.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Untrusted text (a JWS `kid` quoted in a reason, a report field, a PDF text) for one terminal
 * line: every C0/C1 control, DEL and bidirectional formatting character becomes a visible
 * `\u{...}` escape, so no value can move the cursor, erase a line or reorder what is shown.
 * Everything else is kept. Guarantees: never throws; undefined stays undefined.
 */
export function printableText(text: string): string;
export function printableText(text: string | undefined): string | undefined;
export function printableText(text: string | undefined): string | undefined {
  return text?.replace(UNPRINTABLE, (c) => `\\u{${c.charCodeAt(0).toString(16).toUpperCase()}}`);
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
