import { verifyReport } from '../signing/jws.js';
import { assertDecision } from './events.js';
import { hashEventContent, type AuditEventContent } from './record.js';
import { checkpointPayloadBytes } from './checkpoint.js';
import { AUDIT_EXPORT_SCHEMA } from './export.js';

export interface ExportVerification {
  readonly valid: boolean;
  readonly events: number;
  readonly links: number;
  readonly checkpoints: number;
  readonly fromSeq: number | null;
  readonly toSeq: number | null;
  readonly brokenAt: number | null;
  readonly reason: string | null;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Verifies a JSON Lines export offline: every event's hash is recomputed from its content, every
 * line links to the previous one, the range is complete, every checkpoint is signed by a key of
 * `jwks` over a hash that the export holds at that sequence number, and one of them signs the
 * last event (so the whole export is authenticated, not merely self-consistent). Never throws.
 */
export async function verifyAuditExport(text: string, jwks: unknown): Promise<ExportVerification> {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  let events = 0;
  let links = 0;
  let checkpoints = 0;
  const fail = (reason: string, brokenAt: number | null, range: { fromSeq: number | null; toSeq: number | null }): ExportVerification => ({ valid: false, events, links, checkpoints, ...range, brokenAt, reason });
  let header: { schema?: unknown; fromSeq?: unknown; toSeq?: unknown; prevHash?: unknown };
  try {
    header = JSON.parse(lines[0] ?? '') as typeof header;
  } catch {
    return fail('the first line is not a JSON header', null, { fromSeq: null, toSeq: null });
  }
  if (header === null || typeof header !== 'object' || header.schema !== AUDIT_EXPORT_SCHEMA || typeof header.fromSeq !== 'number' || typeof header.toSeq !== 'number') return fail('the header is not an audit export header', null, { fromSeq: null, toSeq: null });
  if (header.fromSeq > 1 && (typeof header.prevHash !== 'string' || !HEX64.test(header.prevHash))) return fail('the header lacks the hash preceding the range', header.fromSeq, { fromSeq: header.fromSeq, toSeq: header.toSeq });
  const range = { fromSeq: header.fromSeq, toSeq: header.toSeq };
  let expected = header.fromSeq;
  let prevHash = typeof header.prevHash === 'string' ? header.prevHash : null;
  const hashes = new Map<number, string>();
  // The export is authenticated only if a signed checkpoint holds the hash of its last event:
  // that hash covers, link by link, every event and link line before it.
  let signedEnd = false;
  for (const [i, line] of lines.slice(1).entries()) {
    let item: Record<string, unknown>;
    try {
      item = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return fail(`line ${i + 2} is not JSON`, expected, range);
    }
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return fail(`line ${i + 2} is not an object`, expected, range);
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
      events += 1;
    } else if (item.type === 'link') {
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
  return { valid: true, events, links, checkpoints, ...range, brokenAt: null, reason: null };
}
