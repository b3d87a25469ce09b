/**
 * The objects of a PDF written by pdfkit, for comparing two files by what they say rather than how
 * they spell it: each object as `N G obj` + its dictionary + its stream's decoded bytes, with the
 * differences that follow from a stream's spelling alone taken out:
 * - `/Length` (a stream's encoded size) and the cross-reference table (byte offsets) are dropped;
 * - FlateDecode streams are inflated;
 * - in page content streams (a page's /Contents) and ToUnicode CMaps, every string, hex `<…>` or
 *   literal `(…)`, becomes `<its bytes in lower-case hex>`;
 * - a signature dictionary's `/ByteRange` and `/Contents` (they follow from the file's bytes).
 *
 * For test files written by pdfkit only (one object after another, `stream`/`endstream` framing
 * as pdfkit writes it, direct `/Length`); throws on anything else rather than guessing.
 */
import { inflateSync } from 'node:zlib';

export interface PdfObject {
  /** `N G obj` */
  readonly id: string;
  /** The dictionary (or other value) as written, `/Length` removed. */
  readonly value: string;
  /** The stream's decoded bytes, content-stream strings normalised; absent for objects without one. */
  readonly stream?: string;
}

const OBJ = /(\d+) (\d+) obj\n/g;

export function pdfObjects(pdf: Buffer, options: { readonly normaliseStrings?: boolean } = {}): { objects: PdfObject[]; trailer: string } {
  const text = pdf.toString('latin1');
  const objects: PdfObject[] = [];
  let pos = 0;
  for (;;) {
    OBJ.lastIndex = pos;
    const head = OBJ.exec(text);
    const xref = text.indexOf('\nxref\n', pos);
    if (head === null || (xref !== -1 && xref < head.index)) break;
    const start = head.index + head[0].length;
    const streamAt = text.indexOf('\nstream\n', start);
    const endAt = text.indexOf('\nendobj\n', start);
    if (endAt === -1) throw new Error(`object ${head[1]}: no endobj`);
    const id = `${head[1]} ${head[2]} obj`;
    if (streamAt === -1 || endAt < streamAt) {
      objects.push({ id, value: normaliseValue(text.slice(start, endAt)) });
      pos = endAt + '\nendobj\n'.length;
      continue;
    }
    const dict = text.slice(start, streamAt);
    const length = /\/Length (\d+)\n/.exec(dict);
    if (length === null) throw new Error(`object ${head[1]}: a stream without a direct /Length`);
    const dataStart = streamAt + '\nstream\n'.length;
    const dataEnd = dataStart + Number(length[1]);
    if (text.slice(dataEnd, dataEnd + '\nendstream\nendobj\n'.length) !== '\nendstream\nendobj\n') throw new Error(`object ${head[1]}: no endstream where /Length says`);
    let data = pdf.subarray(dataStart, dataEnd);
    if (dict.includes('/Filter /FlateDecode')) data = inflateSync(data);
    objects.push({ id, value: normaliseValue(dict), stream: data.toString('latin1') });
    pos = dataEnd + '\nendstream\nendobj\n'.length;
  }
  const content = contentIds(objects);
  if (options.normaliseStrings !== false) {
    for (const [i, o] of objects.entries()) if (o.stream !== undefined && content.has(o.id)) objects[i] = { ...o, stream: normaliseContentStrings(o.stream) };
  }
  const trailerAt = text.indexOf('\ntrailer\n', pos);
  const startxref = text.indexOf('\nstartxref\n', trailerAt);
  if (trailerAt === -1 || startxref === -1) throw new Error('no trailer');
  return { objects, trailer: text.slice(trailerAt, startxref) };
}

/** The objects holding page content streams (a page's /Contents) and ToUnicode CMaps. */
function contentIds(objects: readonly PdfObject[]): Set<string> {
  const ids = new Set<string>();
  for (const o of objects) {
    if (/\/Type \/Page\n/.test(o.value)) for (const m of o.value.matchAll(/\/Contents (\d+) (\d+) R/g)) ids.add(`${m[1]} ${m[2]} obj`);
    for (const m of o.value.matchAll(/\/ToUnicode (\d+) (\d+) R/g)) ids.add(`${m[1]} ${m[2]} obj`);
  }
  return ids;
}

function normaliseValue(value: string): string {
  let out = value.replace(/\/Length \d+\n/g, '');
  if (/\/Type \/Sig\n/.test(out)) out = out.replace(/\/ByteRange \[[^\]]*\]/, '/ByteRange _').replace(/\/Contents <[0-9a-fA-F]*>/, '/Contents _');
  return out;
}

/** Every string of a content stream as `<lower-case hex of its bytes>`; everything else unchanged. */
export function normaliseContentStrings(content: string): string {
  let out = '';
  let i = 0;
  while (i < content.length) {
    const c = content[i]!;
    if (c === '<' && content[i + 1] === '<') {
      out += '<<';
      i += 2;
    } else if (c === '<') {
      const end = content.indexOf('>', i);
      if (end === -1) throw new Error('unterminated hex string');
      let hex = content.slice(i + 1, end).replace(/\s+/g, '').toLowerCase();
      if (hex.length % 2 === 1) hex += '0';
      out += `<${hex}>`;
      i = end + 1;
    } else if (c === '(') {
      const { bytes, end } = literalString(content, i);
      out += `<${Buffer.from(bytes).toString('hex')}>`;
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const ESCAPES: Readonly<Record<string, number>> = { n: 0x0a, r: 0x0d, t: 0x09, b: 0x08, f: 0x0c, '(': 0x28, ')': 0x29, '\\': 0x5c };

/** The bytes of the literal string opening at `start` (ISO 32000-1 §7.3.4.2), and the index after it. */
function literalString(content: string, start: number): { bytes: number[]; end: number } {
  const bytes: number[] = [];
  let depth = 0;
  let i = start + 1;
  while (i < content.length) {
    const c = content[i]!;
    if (c === '\\') {
      const next = content[i + 1];
      if (next === undefined) break;
      if (ESCAPES[next] !== undefined) {
        bytes.push(ESCAPES[next]);
        i += 2;
      } else if (/[0-7]/.test(next)) {
        const octal = /^[0-7]{1,3}/.exec(content.slice(i + 1, i + 4))![0];
        bytes.push(parseInt(octal, 8) & 0xff);
        i += 1 + octal.length;
      } else if (next === '\r' || next === '\n') {
        i += next === '\r' && content[i + 2] === '\n' ? 3 : 2; // a line continuation
      } else {
        bytes.push(next.charCodeAt(0)); // an unknown escape: the backslash is ignored
        i += 2;
      }
    } else if (c === '(') {
      depth++;
      bytes.push(0x28);
      i++;
    } else if (c === ')') {
      if (depth === 0) return { bytes, end: i + 1 };
      depth--;
      bytes.push(0x29);
      i++;
    } else if (c === '\r') {
      bytes.push(0x0a); // an unescaped end of line reads as LF
      i += content[i + 1] === '\n' ? 2 : 1;
    } else {
      bytes.push(c.charCodeAt(0));
      i++;
    }
  }
  throw new Error('unterminated literal string');
}

/** The decoded page content streams of a file, as written: strings not normalised. */
export function contentStreams(pdf: Buffer): string {
  const { objects } = pdfObjects(pdf, { normaliseStrings: false });
  const ids = contentIds(objects);
  return objects
    .filter((o) => ids.has(o.id) && o.stream?.includes(' Tf') === true)
    .map((o) => o.stream)
    .join('\n');
}

/** The font files (`/FontFile2` streams) of a file, as written: still deflated. */
export function fontFileStreams(pdf: Buffer): Buffer[] {
  const text = pdf.toString('latin1');
  return [...text.matchAll(/\/FontFile2 (\d+) (\d+) R/g)].map((m) => {
    const head = `\n${m[1]} ${m[2]} obj\n`;
    const start = text.indexOf(head);
    const streamAt = text.indexOf('\nstream\n', start);
    const length = /\/Length (\d+)\n/.exec(text.slice(start, streamAt));
    if (start === -1 || streamAt === -1 || length === null) throw new Error(`font file ${m[1]}: not found as pdfkit writes it`);
    const dataStart = streamAt + '\nstream\n'.length;
    return pdf.subarray(dataStart, dataStart + Number(length[1]));
  });
}

/** The ToUnicode CMaps of a file (decoded), by font: `[BaseFont, CMap]`, strings as written. */
export function toUnicodeMaps(pdf: Buffer): [string, string][] {
  const { objects } = pdfObjects(pdf, { normaliseStrings: false });
  const byId = new Map(objects.map((o) => [o.id, o]));
  const maps: [string, string][] = [];
  for (const o of objects) {
    const ref = /\/ToUnicode (\d+) (\d+) R/.exec(o.value);
    if (ref === null) continue;
    const cmap = byId.get(`${ref[1]} ${ref[2]} obj`)?.stream;
    if (cmap === undefined) throw new Error(`ToUnicode ${ref[1]}: no stream`);
    maps.push([/\/BaseFont \/(\S+)/.exec(o.value)?.[1] ?? '', cmap]);
  }
  return maps;
}
