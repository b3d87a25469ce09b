import { createHash } from 'node:crypto';
import { verifyReport } from '../signing/jws.js';
import { canonicalJson } from '../util/canonical-json.js';
import { assertDecision } from './events.js';
import { hashEventContent, type AuditEventContent } from './record.js';
import { checkpointPayloadBytes } from './checkpoint.js';
import { AUDIT_EXPORT_SCHEMA, exportManifestBytes } from './export.js';

export interface ExportVerification {
  readonly valid: boolean;
  readonly events: number;
  readonly links: number;
  readonly checkpoints: number;
  readonly fromSeq: number | null;
  readonly toSeq: number | null;
  readonly brokenAt: number | null;
  readonly reason: string | null;
  /** The kid of the key whose signature over the whole export verified (null unless valid). */
  readonly signedBy: string | null;
}

const HEX64 = /^[0-9a-f]{64}$/;
const NEWLINE = 0x0a;
const UNSIGNED = 'unsigned export: its link lines and range cannot be authenticated';
/** The fields of the signature line, sorted: the signed manifest's, its key id and its JWS. */
const SIGNATURE_FIELDS = ['fromSeq', 'jws', 'kid', 'lines', 'scope', 'sha256', 'toSeq', 'type'].join(',');

/** The export's last line, when it is a `signature` line, and the bytes before it. */
interface SplitExport {
  /** Every byte before the signature line (all of them when there is none). */
  readonly body: Buffer;
  /** The signature line's text (without its newline) and value, or null when the last line is not one. */
  readonly signature: { readonly text: string; readonly value: Record<string, unknown> } | null;
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Splits off the last line (one final "\n" after it allowed) if it is a `signature` line. */
function splitSignature(bytes: Buffer): SplitExport {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === NEWLINE ? bytes.length - 1 : bytes.length;
  const lastNewline = end === 0 ? -1 : bytes.lastIndexOf(NEWLINE, end - 1);
  const text = decodeUtf8(bytes.subarray(lastNewline + 1, end));
  let value: unknown;
  try {
    value = text === null ? undefined : JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (text === null || !isRecord(value) || value.type !== 'signature') return { body: bytes, signature: null };
  return { body: bytes.subarray(0, lastNewline + 1), signature: { text, value } };
}

const sameJson = (a: unknown, b: unknown): boolean => {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
};

/**
 * Verifies a JSON Lines export offline. Never throws. Checks, in this order:
 * - the content: every event's hash is recomputed from its content, every line links to the
 *   previous one, the range is complete, event lines belong to the header's scope (an `all`
 *   export has no link lines), every checkpoint is signed by a key of `jwks` over a hash that the
 *   export holds at that sequence number, and one of them signs the last event;
 * - the export's own signature, which must be its last line: the SHA-256 of every byte before
 *   that line, recomputed byte for byte, and the number of lines, scope and range must be what
 *   the line states, and its JWS over them (`exportManifestBytes`) must verify with a key of
 *   `jwks`. Only this authenticates `link` lines (their content is withheld, so the chain alone
 *   cannot tie a link's hash to anything) and the header's range (against truncation): an export
 *   without it is invalid, and so is anything after it.
 * So the whole export is authenticated, not merely self-consistent. Pass the exact bytes as
 * downloaded (a Uint8Array; a string is taken as its UTF-8 encoding).
 */
export async function verifyAuditExport(input: string | Uint8Array, jwks: unknown): Promise<ExportVerification> {
  let events = 0;
  let links = 0;
  let checkpoints = 0;
  const fail = (reason: string, brokenAt: number | null, range: { fromSeq: number | null; toSeq: number | null }): ExportVerification => ({ valid: false, events, links, checkpoints, ...range, brokenAt, reason, signedBy: null });
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const { body, signature } = splitSignature(bytes);
  const text = decodeUtf8(body);
  if (text === null) return fail('the export is not UTF-8 text', null, { fromSeq: null, toSeq: null });
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  let header: { type?: unknown; schema?: unknown; scope?: unknown; fromSeq?: unknown; toSeq?: unknown; prevHash?: unknown };
  try {
    header = JSON.parse(lines[0] ?? '') as typeof header;
  } catch {
    return fail('the first line is not a JSON header', null, { fromSeq: null, toSeq: null });
  }
  if (!isRecord(header) || header.type !== 'header' || header.schema !== AUDIT_EXPORT_SCHEMA || typeof header.fromSeq !== 'number' || typeof header.toSeq !== 'number') return fail('the header is not an audit export header', null, { fromSeq: null, toSeq: null });
  const range = { fromSeq: header.fromSeq, toSeq: header.toSeq };
  const scope = header.scope;
  if (scope !== 'all' && !(Array.isArray(scope) && scope.every((o) => typeof o === 'string'))) return fail('the header has no valid scope', null, range);
  if (header.fromSeq > 1 && (typeof header.prevHash !== 'string' || !HEX64.test(header.prevHash))) return fail('the header lacks the hash preceding the range', header.fromSeq, range);
  let expected = header.fromSeq;
  let prevHash = typeof header.prevHash === 'string' ? header.prevHash : null;
  const hashes = new Map<number, string>();
  // A signed checkpoint on the last event: that hash covers, link by link, every event line
  // before it (but not a link line's hash, which only the export's own signature covers).
  let signedEnd = false;
  for (const [i, line] of lines.slice(1).entries()) {
    let item: Record<string, unknown>;
    try {
      item = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return fail(`line ${i + 2} is not JSON`, expected, range);
    }
    if (!isRecord(item)) return fail(`line ${i + 2} is not an object`, expected, range);
    if (item.type === 'signature') return fail(`line ${i + 2}: the export's signature must be its last line`, expected, range);
    if (item.type === 'checkpoint') {
      const seq = item.seq as number;
      const bytes = checkpointPayloadBytes({ seq, hash: String(item.hash), createdAt: String(item.createdAt) });
      if (bytes.toString('utf8') !== item.payload) return fail(`checkpoint ${String(item.id)}: payload does not match its fields`, seq, range);
      const sig = await verifyReport(bytes, String(item.jws), jwks);
      if (!sig.valid) return fail(`checkpoint ${String(item.id)}: signature invalid (${sig.reason})`, seq, range);
      if (hashes.get(seq) !== item.hash) return fail(`checkpoint ${String(item.id)}: the export's event ${seq} does not have the signed hash`, seq, range);
      checkpoints += 1;
      if (seq === header.toSeq) signedEnd = true;
      continue;
    }
    const seq = item.seq;
    if (seq !== expected) return fail(`expected event ${expected}, found ${String(seq)}`, expected, range);
    if (typeof item.hash !== 'string' || !HEX64.test(item.hash) || typeof item.prevHash !== 'string') return fail(`event ${expected} lacks its hashes`, expected, range);
    if (prevHash !== null && item.prevHash !== prevHash) return fail(`event ${expected} does not link to the previous event`, expected, range);
    if (item.type === 'event') {
      const { type: _t, hash, ...content } = item;
      try {
        assertDecision(String(content.action), content.decision);
      } catch (err) {
        return fail(`event ${expected}: ${(err as Error).message}`, expected, range);
      }
      if (hashEventContent(content as unknown as AuditEventContent) !== hash) return fail(`event ${expected}: content does not match its hash`, expected, range);
      if (scope !== 'all' && !(typeof content.organizationId === 'string' && scope.includes(content.organizationId))) return fail(`event ${expected}: its organisation is outside the export's scope`, expected, range);
      events += 1;
    } else if (item.type === 'link') {
      if (scope === 'all') return fail(`event ${expected}: a link line in an export of every organisation`, expected, range);
      links += 1;
    } else {
      return fail(`line ${i + 2} has an unknown type`, expected, range);
    }
    hashes.set(expected, item.hash);
    prevHash = item.hash;
    expected += 1;
  }
  if (expected !== header.toSeq + 1) return fail(`the export ends at ${expected - 1}, its header says ${header.toSeq}`, expected, range);
  if (!signedEnd && header.toSeq >= header.fromSeq) return fail(`no signed checkpoint covers the last event (${header.toSeq}): the export cannot be authenticated`, header.toSeq, range);

  // The export's own signature: the last line, over the bytes before it and the header's range.
  if (signature === null) return fail(UNSIGNED, null, range);
  const s = signature.value;
  if (canonicalJsonOrNull(s) !== signature.text) return fail("the export's signature line is not canonical JSON", null, range);
  if (Object.keys(s).sort().join(',') !== SIGNATURE_FIELDS) return fail(`the export's signature line must hold exactly ${SIGNATURE_FIELDS}`, null, range);
  if (typeof s.sha256 !== 'string' || !HEX64.test(s.sha256) || typeof s.lines !== 'number' || typeof s.fromSeq !== 'number' || typeof s.toSeq !== 'number' || typeof s.jws !== 'string' || typeof s.kid !== 'string' || !('scope' in s)) {
    return fail("the export's signature line has a field of the wrong type", null, range);
  }
  if (createHash('sha256').update(body).digest('hex') !== s.sha256) return fail('the export does not match its signed SHA-256: a line was changed, added or removed', null, range);
  const lineCount = text === '' ? 0 : text.split('\n').length - 1;
  if (s.lines !== lineCount || s.lines !== lines.length || !text.endsWith('\n')) return fail(`the export's signature covers ${String(s.lines)} lines; ${lineCount} precede it`, null, range);
  if (s.fromSeq !== header.fromSeq || s.toSeq !== header.toSeq || !sameJson(s.scope, scope)) return fail("the export's signature states another scope or range than its header", null, range);
  const manifest = exportManifestBytes({ sha256: s.sha256, scope: s.scope as 'all' | readonly string[], fromSeq: s.fromSeq, toSeq: s.toSeq, lines: s.lines });
  const verdict = await verifyReport(manifest, s.jws, jwks);
  if (!verdict.valid) return fail(`the export's signature is invalid (${verdict.reason})`, null, range);
  if (verdict.kid !== s.kid) return fail(`the export's signature line names key ${s.kid}, its JWS key ${verdict.kid}`, null, range);
  return { valid: true, events, links, checkpoints, ...range, brokenAt: null, reason: null, signedBy: verdict.kid };
}

function canonicalJsonOrNull(value: unknown): string | null {
  try {
    return canonicalJson(value);
  } catch {
    return null;
  }
}
