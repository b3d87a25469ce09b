/**
 * A minimal, defensive PDF reader: just enough to find the embedded files of a PDF written by
 * pdfkit (classic cross-reference tables, incremental updates followed through `/Prev`, direct or
 * indirect objects, FlateDecode or unfiltered streams), the byte ranges of its signatures and the
 * text entries of its signature dictionaries.
 *
 * It never evaluates anything, follows at most a bounded number of references, refuses streams
 * that inflate beyond a limit, and reports every problem as a `PdfReadError` (never another kind
 * of exception), so it is safe on untrusted input. Cross-reference streams and object streams
 * (PDF 1.5 compression) are not supported: files that use them are refused with a clear message.
 */
import { inflateSync } from 'node:zlib';

/** A PDF value as read. Strings are raw bytes (latin1-decoded), names without the slash. */
export type PdfValue =
  | null
  | boolean
  | number
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'string'; readonly bytes: Buffer }
  | { readonly kind: 'ref'; readonly num: number; readonly gen: number }
  | readonly PdfValue[]
  | PdfDict;

/** A dictionary, with its stream data when it is a stream object. */
export interface PdfDict {
  readonly kind: 'dict';
  readonly entries: ReadonlyMap<string, PdfValue>;
  readonly stream?: Buffer;
}

/** An embedded file found in the `/EmbeddedFiles` name tree. */
export interface EmbeddedFile {
  readonly name: string;
  readonly bytes: Buffer;
  readonly mimeType: string | undefined;
  readonly relationship: string | undefined;
}

/**
 * The text entries of a signature dictionary (ISO 32000-1 §12.8.1, Table 252), decoded as text
 * strings. They lie inside the signed bytes, but only the signer states them: nobody vouches for them.
 */
export interface SignatureDictionary {
  /** The `/ByteRange` numbers as written (empty when missing or not an array of numbers). */
  readonly byteRange: readonly number[];
  /** `/Name`: the signer's name as the signer wrote it. */
  readonly name?: string;
  readonly reason?: string;
  readonly location?: string;
  readonly contactInfo?: string;
}

/** Why a PDF could not be read. */
export class PdfReadError extends Error {
  override readonly name = 'PdfReadError';
}

const MAX_INFLATED_BYTES = 64 * 1024 * 1024;
const MAX_DEPTH = 64;
const MAX_NAME_TREE_NODES = 10_000;
const MAX_XREF_SECTIONS = 64;
const MAX_FORM_FIELDS = 10_000;

/**
 * Reads the files of a PDF's `/Names /EmbeddedFiles` tree, in tree order.
 *
 * Guarantees: throws only `PdfReadError`; the bytes are the decoded stream contents exactly
 * (Flate-decoded when filtered with FlateDecode, as written otherwise); names are decoded from
 * PDFDocEncoding or UTF-16BE; the latest revision of every object is used.
 */
export function readEmbeddedFiles(pdf: Uint8Array): EmbeddedFile[] {
  return withReader(pdf, (reader) => reader.embeddedFiles());
}

/**
 * The signature dictionaries of the PDF: the `/V` of every form field of `/Root /AcroForm /Fields`
 * (through `/Kids`) that is a signature dictionary (`/Type /Sig` or a `/ByteRange`), in field order.
 *
 * Guarantees: throws only `PdfReadError`; text entries are decoded by `decodePdfTextString`; an
 * entry that is missing or not a string is left out; the latest revision of every object is used.
 */
export function readSignatureDictionaries(pdf: Uint8Array): SignatureDictionary[] {
  return withReader(pdf, (reader) => reader.signatureDictionaries());
}

/** Runs `read` on a reader of `pdf`; anything it throws comes out as a `PdfReadError`. */
function withReader<T>(pdf: Uint8Array, read: (reader: PdfObjectReader) => T): T {
  try {
    return read(new PdfObjectReader(Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength)));
  } catch (error) {
    if (error instanceof PdfReadError) throw error;
    throw new PdfReadError(`cannot read the PDF: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The `/ByteRange` arrays of the PDF's signature dictionaries (as written, in file order).
 * Guarantees: never throws; malformed entries are skipped.
 */
export function signatureByteRanges(pdf: Uint8Array): number[][] {
  const text = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength).toString('latin1');
  const out: number[][] = [];
  const re = /\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]);
  return out;
}

class PdfObjectReader {
  readonly #pdf: Buffer;
  readonly #offsets = new Map<number, number>();
  #trailer: PdfDict | undefined;
  #resolutions = 0;

  constructor(pdf: Buffer) {
    this.#pdf = pdf;
    this.#readXref();
  }

  embeddedFiles(): EmbeddedFile[] {
    const trailer = this.#trailer;
    if (trailer === undefined) throw new PdfReadError('the PDF has no trailer');
    const root = this.#dict(trailer.entries.get('Root'), 'the document catalog');
    const names = root.entries.get('Names');
    if (names === undefined) return [];
    const tree = this.#dict(names, 'the /Names dictionary').entries.get('EmbeddedFiles');
    if (tree === undefined) return [];
    const files: EmbeddedFile[] = [];
    let visited = 0;
    const walk = (nodeValue: PdfValue, depth: number): void => {
      if (depth > MAX_DEPTH || ++visited > MAX_NAME_TREE_NODES) throw new PdfReadError('the embedded-files name tree is too deep or too large');
      const node = this.#dict(nodeValue, 'a name-tree node');
      const kids = node.entries.get('Kids');
      if (kids !== undefined) for (const kid of this.#array(kids, '/Kids')) walk(kid, depth + 1);
      const pairs = node.entries.get('Names');
      if (pairs === undefined) return;
      const list = this.#array(pairs, '/Names');
      for (let i = 0; i + 1 < list.length; i += 2) files.push(this.#file(list[i]!, list[i + 1]!));
    };
    walk(tree, 0);
    return files;
  }

  signatureDictionaries(): SignatureDictionary[] {
    const trailer = this.#trailer;
    if (trailer === undefined) throw new PdfReadError('the PDF has no trailer');
    const root = this.#dict(trailer.entries.get('Root'), 'the document catalog');
    const form = this.#resolve(root.entries.get('AcroForm'));
    if (!isDict(form)) return [];
    const fields = this.#resolve(form.entries.get('Fields'));
    if (!Array.isArray(fields)) return [];
    const found: SignatureDictionary[] = [];
    let visited = 0;
    const walk = (fieldValue: PdfValue, depth: number): void => {
      if (depth > MAX_DEPTH || ++visited > MAX_FORM_FIELDS) throw new PdfReadError('the form field tree is too deep or too large');
      const field = this.#resolve(fieldValue);
      if (!isDict(field)) return;
      const value = this.#resolve(field.entries.get('V'));
      if (isDict(value) && isSignatureDictionary(value, this.#resolve(value.entries.get('Type')))) found.push(this.#signatureDictionary(value));
      const kids = this.#resolve(field.entries.get('Kids'));
      if (Array.isArray(kids)) for (const kid of kids as readonly PdfValue[]) walk(kid, depth + 1);
    };
    for (const field of fields as readonly PdfValue[]) walk(field, 0);
    return found;
  }

  #signatureDictionary(dict: PdfDict): SignatureDictionary {
    const text = (key: string): string | undefined => {
      const value = this.#resolve(dict.entries.get(key));
      return isString(value) ? decodePdfTextString(value.bytes) : undefined;
    };
    const range = this.#resolve(dict.entries.get('ByteRange'));
    const numbers = Array.isArray(range) ? (range as readonly PdfValue[]).map((n) => this.#resolve(n)) : [];
    const entries = { name: text('Name'), reason: text('Reason'), location: text('Location'), contactInfo: text('ContactInfo') };
    return {
      byteRange: numbers.every((n) => typeof n === 'number') ? numbers : [],
      ...Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)),
    };
  }

  #file(keyValue: PdfValue, specValue: PdfValue): EmbeddedFile {
    const spec = this.#dict(specValue, 'a file specification');
    const nameValue = this.#resolve(spec.entries.get('UF') ?? spec.entries.get('F') ?? keyValue);
    const name = isString(nameValue) ? decodePdfTextString(nameValue.bytes) : 'unnamed';
    const ef = this.#dict(spec.entries.get('EF'), `/EF of ${name}`);
    const stream = this.#dict(ef.entries.get('UF') ?? ef.entries.get('F'), `the embedded file stream of ${name}`);
    if (stream.stream === undefined) throw new PdfReadError(`the embedded file ${name} is not a stream`);
    const subtype = this.#resolve(stream.entries.get('Subtype'));
    const relationship = this.#resolve(spec.entries.get('AFRelationship'));
    return {
      name,
      bytes: this.#decode(stream, name),
      mimeType: isName(subtype) ? subtype.name : undefined,
      relationship: isName(relationship) ? relationship.name : undefined,
    };
  }

  #decode(stream: PdfDict, name: string): Buffer {
    const filter = this.#resolve(stream.entries.get('Filter'));
    const filters = filter === undefined || filter === null ? [] : Array.isArray(filter) ? (filter as readonly PdfValue[]).map((f) => this.#resolve(f)) : [filter];
    let data = stream.stream!;
    for (const f of filters) {
      if (!isName(f) || f.name !== 'FlateDecode') throw new PdfReadError(`the embedded file ${name} uses an unsupported filter`);
      try {
        data = inflateSync(data, { maxOutputLength: MAX_INFLATED_BYTES });
      } catch (cause) {
        throw new PdfReadError(`the embedded file ${name} cannot be inflated: ${cause instanceof Error ? cause.message : String(cause)}`);
      }
    }
    return data;
  }

  #readXref(): void {
    const pdf = this.#pdf;
    const tail = pdf.subarray(Math.max(0, pdf.length - 2048)).toString('latin1');
    const m = /startxref\s+(\d+)\s+%%EOF\s*$/.exec(tail);
    if (m === null) throw new PdfReadError('the PDF does not end with startxref/%%EOF');
    let offset: number | undefined = Number(m[1]);
    const seen = new Set<number>();
    for (let sections = 0; offset !== undefined; sections++) {
      if (sections >= MAX_XREF_SECTIONS || seen.has(offset)) throw new PdfReadError('the cross-reference chain loops or is too long');
      seen.add(offset);
      const trailer = this.#readXrefSection(offset);
      this.#trailer ??= trailer; // the newest trailer wins
      const prev = trailer.entries.get('Prev');
      offset = typeof prev === 'number' ? prev : undefined;
    }
  }

  #readXrefSection(offset: number): PdfDict {
    const pdf = this.#pdf;
    if (offset < 0 || offset >= pdf.length) throw new PdfReadError('startxref points outside the file');
    const lexer = new Lexer(pdf, offset);
    if (lexer.keyword() !== 'xref') throw new PdfReadError('cross-reference streams (PDF 1.5) are not supported; expected an xref table');
    for (;;) {
      const save = lexer.pos;
      const word = lexer.keyword();
      if (word === 'trailer') break;
      lexer.pos = save;
      const first = lexer.integer();
      const count = lexer.integer();
      if (count > 10_000_000) throw new PdfReadError('the xref table is implausibly large');
      for (let i = 0; i < count; i++) {
        const entryOffset = lexer.integer();
        lexer.integer(); // generation
        const kind = lexer.keyword();
        const num = first + i;
        // Older sections are read later: keep the newest entry of each object.
        if (!this.#offsets.has(num)) this.#offsets.set(num, kind === 'n' ? entryOffset : -1);
      }
    }
    const trailer = lexer.value(0);
    if (!isDict(trailer)) throw new PdfReadError('the trailer is not a dictionary');
    return trailer;
  }

  #object(num: number): PdfValue {
    if (++this.#resolutions > 100_000) throw new PdfReadError('too many object references');
    const offset = this.#offsets.get(num);
    if (offset === undefined || offset < 0) return null;
    const lexer = new Lexer(this.#pdf, offset);
    const n = lexer.integer();
    lexer.integer();
    if (n !== num || lexer.keyword() !== 'obj') throw new PdfReadError(`object ${num} is not where the xref table says`);
    const value = lexer.value(0);
    const save = lexer.pos;
    if (isDict(value) && lexer.keyword() === 'stream') {
      const length = this.#resolve(value.entries.get('Length'));
      if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw new PdfReadError(`object ${num}: stream without a valid /Length`);
      let start = lexer.pos;
      if (this.#pdf[start] === 0x0d) start++;
      if (this.#pdf[start] === 0x0a) start++;
      if (start + length > this.#pdf.length) throw new PdfReadError(`object ${num}: stream runs past the end of the file`);
      return { kind: 'dict', entries: value.entries, stream: this.#pdf.subarray(start, start + length) };
    }
    lexer.pos = save;
    return value;
  }

  #resolve(value: PdfValue | undefined): PdfValue | undefined {
    let v = value;
    for (let i = 0; i < 32 && v !== undefined && v !== null && isRef(v); i++) v = this.#object(v.num);
    return v !== undefined && v !== null && isRef(v) ? null : v;
  }

  #dict(value: PdfValue | undefined, what: string): PdfDict {
    const v = this.#resolve(value);
    if (v === undefined || v === null || !isDict(v)) throw new PdfReadError(`${what} is missing or not a dictionary`);
    return v;
  }

  #array(value: PdfValue, what: string): readonly PdfValue[] {
    const v = this.#resolve(value);
    if (!Array.isArray(v)) throw new PdfReadError(`${what} is not an array`);
    return v as readonly PdfValue[];
  }
}

const WHITESPACE = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const DELIMITERS = new Set([0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25]);

/** Tokens and values of PDF syntax (ISO 32000-1 §7.2–7.3), from a byte offset. */
class Lexer {
  pos: number;
  readonly #b: Buffer;

  constructor(bytes: Buffer, pos: number) {
    this.#b = bytes;
    this.pos = pos;
  }

  #skip(): void {
    const b = this.#b;
    while (this.pos < b.length) {
      const c = b[this.pos]!;
      if (WHITESPACE.has(c)) this.pos++;
      else if (c === 0x25) while (this.pos < b.length && b[this.pos] !== 0x0a && b[this.pos] !== 0x0d) this.pos++;
      else break;
    }
  }

  #regular(): string {
    const b = this.#b;
    const start = this.pos;
    while (this.pos < b.length && !WHITESPACE.has(b[this.pos]!) && !DELIMITERS.has(b[this.pos]!)) this.pos++;
    return b.toString('latin1', start, this.pos);
  }

  keyword(): string {
    this.#skip();
    return this.#regular();
  }

  integer(): number {
    const word = this.keyword();
    if (!/^\d{1,10}$/.test(word)) throw new PdfReadError(`expected an integer at byte ${this.pos}, found ${JSON.stringify(word.slice(0, 20))}`);
    return Number(word);
  }

  value(depth: number): PdfValue {
    if (depth > MAX_DEPTH) throw new PdfReadError('PDF objects nested too deeply');
    this.#skip();
    const b = this.#b;
    if (this.pos >= b.length) throw new PdfReadError('unexpected end of file');
    const c = b[this.pos]!;
    if (c === 0x2f) {
      this.pos++;
      return { kind: 'name', name: decodeName(this.#regular()) };
    }
    if (c === 0x28) return { kind: 'string', bytes: this.#literalString() };
    if (c === 0x3c && b[this.pos + 1] === 0x3c) {
      this.pos += 2;
      const entries = new Map<string, PdfValue>();
      for (;;) {
        this.#skip();
        if (b[this.pos] === 0x3e && b[this.pos + 1] === 0x3e) {
          this.pos += 2;
          return { kind: 'dict', entries };
        }
        const key = this.value(depth + 1);
        if (key === null || typeof key !== 'object' || !('kind' in key) || key.kind !== 'name') throw new PdfReadError('a dictionary key is not a name');
        entries.set(key.name, this.value(depth + 1));
      }
    }
    if (c === 0x3c) return { kind: 'string', bytes: this.#hexString() };
    if (c === 0x5b) {
      this.pos++;
      const items: PdfValue[] = [];
      for (;;) {
        this.#skip();
        if (b[this.pos] === 0x5d) {
          this.pos++;
          return items;
        }
        if (this.pos >= b.length) throw new PdfReadError('unterminated array');
        items.push(this.value(depth + 1));
      }
    }
    const word = this.#regular();
    if (word === '') throw new PdfReadError(`unexpected byte 0x${c.toString(16)} at ${this.pos}`);
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (word === 'null') return null;
    if (/^\d+$/.test(word)) {
      // `n g R` is a reference; look ahead without consuming anything else.
      const save = this.pos;
      this.#skip();
      const gen = this.#regular();
      this.#skip();
      if (/^\d+$/.test(gen) && this.#regular() === 'R') return { kind: 'ref', num: Number(word), gen: Number(gen) };
      this.pos = save;
      return Number(word);
    }
    if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(word)) return Number(word);
    throw new PdfReadError(`unexpected token ${JSON.stringify(word.slice(0, 20))}`);
  }

  #literalString(): Buffer {
    const b = this.#b;
    const out: number[] = [];
    let depth = 0;
    this.pos++;
    while (this.pos < b.length) {
      const c = b[this.pos++]!;
      if (c === 0x5c) {
        const e = b[this.pos++];
        if (e === undefined) break;
        const simple: Record<number, number> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x66: 0x0c, 0x28: 0x28, 0x29: 0x29, 0x5c: 0x5c };
        if (simple[e] !== undefined) out.push(simple[e]);
        else if (e >= 0x30 && e <= 0x37) {
          let v = e - 0x30;
          for (let k = 0; k < 2 && b[this.pos]! >= 0x30 && b[this.pos]! <= 0x37; k++) v = v * 8 + (b[this.pos++]! - 0x30);
          out.push(v & 0xff);
        } else if (e === 0x0d) {
          if (b[this.pos] === 0x0a) this.pos++;
        } else if (e !== 0x0a) out.push(e);
        continue;
      }
      // An unescaped end-of-line (CR, LF or CR LF) is read as one LF (ISO 32000-1 §7.3.4.2).
      if (c === 0x0d) {
        if (b[this.pos] === 0x0a) this.pos++;
        out.push(0x0a);
        continue;
      }
      if (c === 0x28) depth++;
      if (c === 0x29) {
        if (depth === 0) return Buffer.from(out);
        depth--;
      }
      out.push(c);
    }
    throw new PdfReadError('unterminated string');
  }

  #hexString(): Buffer {
    const b = this.#b;
    const end = b.indexOf(0x3e, this.pos);
    if (end < 0) throw new PdfReadError('unterminated hex string');
    const hex = b.toString('latin1', this.pos + 1, end).replace(/\s+/g, '');
    this.pos = end + 1;
    if (!/^[0-9A-Fa-f]*$/.test(hex)) throw new PdfReadError('invalid hex string');
    return Buffer.from(hex.length % 2 === 0 ? hex : `${hex}0`, 'hex');
  }
}

function decodeName(raw: string): string {
  return raw.replace(/#([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * PDFDocEncoding where it differs from Latin-1 (ISO 32000-1 §7.9.2.2 and Annex D.2, Table D.2):
 * byte → Unicode code point. 0x7F and 0x9F are undefined there and read as U+FFFD; every other
 * byte is the Latin-1 character of the same value.
 */
const PDF_DOC_ENCODING: ReadonlyMap<number, number> = new Map([
  [0x18, 0x02d8], [0x19, 0x02c7], [0x1a, 0x02c6], [0x1b, 0x02d9], [0x1c, 0x02dd], [0x1d, 0x02db], [0x1e, 0x02da], [0x1f, 0x02dc],
  [0x7f, 0xfffd],
  [0x80, 0x2022], [0x81, 0x2020], [0x82, 0x2021], [0x83, 0x2026], [0x84, 0x2014], [0x85, 0x2013], [0x86, 0x0192], [0x87, 0x2044],
  [0x88, 0x2039], [0x89, 0x203a], [0x8a, 0x2212], [0x8b, 0x2030], [0x8c, 0x201e], [0x8d, 0x201c], [0x8e, 0x201d], [0x8f, 0x2018],
  [0x90, 0x2019], [0x91, 0x201a], [0x92, 0x2122], [0x93, 0xfb01], [0x94, 0xfb02], [0x95, 0x0141], [0x96, 0x0152], [0x97, 0x0160],
  [0x98, 0x0178], [0x99, 0x017d], [0x9a, 0x0131], [0x9b, 0x0142], [0x9c, 0x0153], [0x9d, 0x0161], [0x9e, 0x017e], [0x9f, 0xfffd],
  [0xa0, 0x20ac],
]);

// A language escape of ISO 32000-1 §7.9.2.2: U+001B, a 2-byte ISO 639 language code and an
// optional 2-byte ISO 3166 country code (one or two UTF-16 code units), U+001B. Only complete ones
// are removed: a stray U+001B stays, for the caller to show.
// eslint-disable-next-line no-control-regex
const UTF16_LANGUAGE_ESCAPE = /\u001b[^\u001b]{1,2}\u001b/g;
// eslint-disable-next-line no-control-regex
const UTF8_LANGUAGE_ESCAPE = /\u001b[A-Za-z]{2}(?:[A-Za-z]{2})?\u001b/g;

/**
 * Decodes the bytes of a PDF text string (ISO 32000-1 §7.9.2.2), as the lexer produced them from
 * a literal `( )` or hex `< >` string: UTF-16BE after the byte order mark FE FF, UTF-8 after
 * EF BB BF (added by ISO 32000-2 §7.9.2.2.1), else PDFDocEncoding (not Latin-1: see the table).
 *
 * Guarantees: never throws; the result is well-formed UTF-16 (a lone surrogate, an odd trailing
 * byte or invalid UTF-8 becomes U+FFFD); language escape sequences are removed; control
 * characters are kept (escape them before printing to a terminal).
 */
export function decodePdfTextString(bytes: Uint8Array): string {
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return decodeUtf16Be(bytes.subarray(2)).replace(UTF16_LANGUAGE_ESCAPE, '');
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return new TextDecoder('utf-8').decode(bytes.subarray(3)).replace(UTF8_LANGUAGE_ESCAPE, '');
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(PDF_DOC_ENCODING.get(byte) ?? byte);
  return text;
}

/**
 * UTF-16BE bytes (no byte order mark) as a string, by the WHATWG decoder: surrogate pairs give
 * one code point; a lone surrogate, or an odd trailing byte, gives U+FFFD. Never throws.
 */
export function decodeUtf16Be(bytes: Uint8Array): string {
  return UTF16BE.decode(bytes);
}
// ignoreBOM: the caller has removed the text string's byte order mark; a U+FEFF after it is content.
const UTF16BE = new TextDecoder('utf-16be', { ignoreBOM: true });

function isSignatureDictionary(dict: PdfDict, type: PdfValue | undefined): boolean {
  return (isName(type) && type.name === 'Sig') || Array.isArray(dict.entries.get('ByteRange'));
}

function isRef(v: PdfValue): v is { kind: 'ref'; num: number; gen: number } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { kind?: string }).kind === 'ref';
}
function isDict(v: PdfValue | undefined): v is PdfDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { kind?: string }).kind === 'dict';
}
function isName(v: PdfValue | undefined): v is { kind: 'name'; name: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { kind?: string }).kind === 'name';
}
function isString(v: PdfValue | undefined): v is { kind: 'string'; bytes: Buffer } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { kind?: string }).kind === 'string';
}
