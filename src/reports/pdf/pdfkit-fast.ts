/**
 * Shortcuts through pdfkit's hottest paths, installed on one document at a time. They change what
 * the output costs, not what it says: every object of the file is the same with and without them
 * but for one spelling inside page content streams (6 below), where a line's glyph codes are
 * written as a literal string instead of pdfkit's hex string of the same bytes.
 * test/reports/pdf-determinism.test.ts renders the same reports and lines with and without them
 * and compares the files object by object, content-stream strings by their bytes. On the
 * poorly-controlled example 1–5 took a render in a pool worker from 108 to 53–57 ms median
 * (bench/pdf, with the other changes of that session; see docs/pdf.md); see 6–8 for theirs.
 *
 * 1. Page content streams. pdfkit turns every operator it writes (`BT`, `1 0 0 1 x y Tm`, each
 *    `TJ`, each colour) into its own Uint8Array through a character loop, keeps them in an array,
 *    and concatenates them when the page ends: tens of thousands of tiny typed arrays per report,
 *    most of the garbage collector's work (18% of a render's CPU profile). Here the operators
 *    stay strings and become bytes once per run of strings (`Buffer.from(…, 'latin1')` keeps the
 *    low byte of each UTF-16 unit, as pdfkit's loop does); byte chunks written in between keep
 *    their place.
 * 2. Words. For every line drawn, pdfkit shapes it word by word (concatenating the glyph and
 *    position arrays once per word), then looks every glyph up in the font subset and formats its
 *    4-digit hex code (9.5% of the profile), and pdfkit keeps shaped words per document only. A
 *    shaped, scaled word is a pure function of the font file and the word, so it is shared by
 *    every document of the thread (bounded); and a word encodes to the same glyph codes throughout
 *    one document (a glyph keeps the subset id it was first given), so each font keeps the
 *    encoded words of its document. The first time a document meets a word, the word goes
 *    through pdfkit's own subset in the order pdfkit would use, so the subset, widths and
 *    ToUnicode map come out the same.
 * 3. Colours. pdfkit parses a `#RRGGBB` colour and prints its three components anew each
 *    time one is set; the operators of each colour are kept instead.
 * 4. Embedded files. pdfkit's `file()` hashes the file with an MD5 written in JavaScript; the
 *    same objects are written here with node:crypto's.
 * 5. Lines. `_fragment`, called once per line drawn, walks every glyph of the line to split the
 *    `TJ` array where a glyph's advance differs from its width (kerning), then joins the hex
 *    codes. Those splits happen inside words only (pdfkit shapes words one by one), so each
 *    encoded word keeps its pieces of `TJ` text, and a line is the concatenation of its words'.
 *    Only the plain case takes this path (options `textWidth` and `wordCount` alone, as
 *    canvas.ts draws every line, and no glyph with an x/y offset); anything else goes to pdfkit.
 * 6. Glyph codes. pdfkit writes a line's 2-byte glyph codes as a hex string, `<001d0018…>`: four
 *    characters a glyph, so the hex is over a third of a page's content stream and most of what
 *    deflate works through (its Flate compression took 17% of a render's CPU). The plain lines of
 *    5 write the same bytes as a literal string, `(\0\x1d\0\x18…)` in bytes: two a glyph, with
 *    `(`, `)`, `\`, CR and LF escaped (ISO 32000-1 §7.3.4.2). A reader decodes both to the same
 *    codes. The page streams of the poorly-controlled example shrank from 882 to 741 KB, and a
 *    render took 5–6 ms less CPU (median of 150 interleaved pairs of renders on one core, twice).
 * 7. Words shared by documents. A glyph's code is its index in the document's font subset, given
 *    in order of first use, so until now each document encoded each of its words anew (for that
 *    example: 2,695 distinct words, 22,690 glyphs; 10% of a render's profile) and built the `TJ`
 *    of each of its 1,233 distinct lines. `preloadSubset` puts the same glyphs first into every
 *    document's subset (render.ts preloads printable ASCII and a few more, fonts.ts), and a word
 *    or line made only of those glyphs is then encoded once per thread. A document shares them
 *    only with documents whose subset held exactly the same glyphs in the same order after the
 *    preload (looked up once per document and font); other words are encoded per document as
 *    in 2. A render took a further 7.5–8.6 ms less CPU (measured as in 6).
 * 8. Font files shared by documents. fontkit writes a document's font file (`subset.encode`, the
 *    `FontFile2` stream) from the subset's glyph list alone, and pdfkit deflates it with zlib's
 *    defaults; with the preloads of 7, reports whose text adds the same glyphs in the same order
 *    (most reports with names in ASCII) have the same list. The encoded and deflated file is kept
 *    per parsed font and exact glyph list (bounded), and written as pdfkit writes it: the same
 *    `/Length`, `/Filter` and bytes. A render of the same report again took 3.6–3.7 ms less CPU
 *    (measured as in 6); a report with a glyph no earlier one had encodes its own.
 *
 * They rely on pdfkit 0.20 internals (`PDFReference#write/finalize`, `EmbeddedFont#encode`,
 * `EmbeddedFont#embed`, `layoutCached`, `layoutRun`, `subset.includeGlyph`, `subset.glyphs`,
 * `subset.encode`, `_fragment`); each is
 * checked before it is replaced and left alone if missing, so a pdfkit upgrade that changes them
 * costs speed, not correctness. The tests compare the files with and without them on each upgrade.
 */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import type { Doc } from './canvas.js';

interface ContentRef {
  write(chunk: unknown): void;
  finalize(): void;
}

interface Position {
  readonly xAdvance: number;
  readonly advanceWidth: number;
  readonly xOffset: number;
  readonly yOffset: number;
}

interface Run {
  readonly glyphs: readonly { readonly id: number; readonly advanceWidth: number; readonly codePoints: readonly number[] }[];
  readonly positions: readonly Position[];
}

interface PdfkitFont {
  id: string;
  ascender: number;
  encode(text: string, features?: unknown): [string[], object[]];
  ref(): unknown;
  layoutCached?(word: string): Run;
  layoutRun?(word: string): Run;
  /** The parsed (fontkit) font, shared by the documents of a thread. */
  font?: object;
  subset?: FontSubset;
  document?: { ref?: (data?: object) => unknown; _security?: unknown };
  embed?(): unknown;
  widths?: (number | undefined)[];
  unicode?: (readonly number[] | undefined)[];
  scale?: number;
}

/** fontkit's TrueType subset: glyph ids of the font by subset id, `encode` writes the font file. */
interface FontSubset {
  includeGlyph(id: number): number;
  glyphs?: number[];
  mapping?: Record<number, number>;
  encode?(): Uint8Array;
}

/** A stream object of pdfkit (`PDFReference`), the parts used for a font file. */
interface StreamRef {
  data: Record<string, unknown>;
  compress: boolean;
  buffer: unknown[];
  write(chunk: Uint8Array): void;
  end(chunk?: Uint8Array): void;
  finalize(): void;
}

/** A word as one document's font encodes it. */
interface EncodedWord {
  readonly hex: readonly string[];
  readonly positions: readonly Position[];
  /**
   * `TJ` pieces: the glyph codes up to and including each glyph whose advance differs from its
   * width (as the inside of a PDF literal string), and that difference negated.
   */
  readonly pieces: readonly { readonly codes: string; readonly adjust: number }[];
  /** Glyph codes after the last such glyph (inside of a literal string). */
  readonly tail: string;
  /** Some glyph has an x or y offset (a mark placed by GPOS): pdfkit then moves the text matrix. */
  readonly offset: boolean;
}

/** The parts of a pdfkit document used here, internals included. */
interface FastDoc {
  page: { content: ContentRef; height: number; fonts: Record<string, unknown> };
  _font?: PdfkitFont;
  _fontSize: number;
  addPage(options?: object): Doc;
  font(...args: unknown[]): Doc;
  _fragment?(text: string, x: number, y: number, options: Record<string, unknown>): void;
  addContent(data: string): Doc;
  _setColorCore?(color: unknown, stroke: boolean): boolean;
  file?(src: unknown, options?: FileOptions): unknown;
  ref?(data: object): { end(data?: Uint8Array): void };
  addNamedEmbeddedFile?(name: string, ref: unknown): unknown;
  _fileRegistry?: Record<string, unknown>;
  _root: { data: { AF?: unknown[] } };
}

/** The options of pdfkit's `file()` (PDF/A-3 associated files use `relationship`). */
interface FileOptions {
  name?: string;
  type?: string;
  description?: string;
  hidden?: boolean;
  creationDate?: Date;
  modifiedDate?: Date;
  relationship?: string;
}

/** A line's `TJ` operator (see `tjOf`), per font patched here; absent for fonts pdfkit encodes itself. */
const lineEncoders = new WeakMap<object, (text: string) => string | null>();
/** Per font patched here: takes up the words shared by documents whose subset starts with `text`'s glyphs. */
const preloadHooks = new WeakMap<object, (text: string) => void>();

/**
 * Puts the glyphs of `text` into the current font's subset, in order, as pdfkit's `encode` does
 * for text that is drawn (widths and ToUnicode included), before anything else of the document
 * uses the font: every document then numbers those glyphs alike. Call it right after selecting a
 * font for the first time in a document, with the same `text` for every document. It changes the
 * document the same way with or without the shortcuts; with them, words made only of those glyphs
 * are encoded once per thread instead of once per document (7 in the header).
 */
export function preloadSubset(doc: Doc, text: string): void {
  const font = (doc as unknown as FastDoc)._font;
  if (font == null || typeof font.encode !== 'function') return;
  font.encode(text);
  preloadHooks.get(font)?.(text);
}

/**
 * The words and lines that documents starting a font's subset with the same glyphs encode alike,
 * shared by the documents of a thread: `order` is the subset (font glyph ids by subset id) as
 * the preload left it, `gidOf` the inverse.
 */
interface Preloaded {
  readonly order: readonly number[];
  readonly gidOf: ReadonlyMap<number, number>;
  /** null: the word has a glyph outside `order`, so each document encodes it. */
  readonly words: Map<string, EncodedWord | null>;
  /** null: a word of the line is not shared. */
  readonly lines: Map<string, string | null>;
}
/** Per parsed font file, per preload text and resulting subset. */
const preloaded = new WeakMap<object, Map<string, Preloaded>>();
const MAX_SHARED_WORDS = 50_000;

/**
 * Installs the shortcuts on `doc` (a fresh pdfkit document: call it before drawing). Returns
 * false, changing nothing, if this pdfkit lacks the internals they need.
 */
export function installPdfkitFastPaths(doc: Doc): boolean {
  const d = doc as unknown as FastDoc;
  const content = d.page?.content as Partial<ContentRef> | undefined;
  if (typeof content?.write !== 'function' || typeof content.finalize !== 'function' || typeof d.addPage !== 'function' || typeof d.font !== 'function') return false;
  bufferContentStrings(d.page.content);
  const addPage = d.addPage.bind(d);
  d.addPage = (options?: object): Doc => {
    const result = addPage(options);
    bufferContentStrings(d.page.content);
    return result;
  };
  const font = d.font.bind(d);
  const seen = new WeakSet<object>();
  d.font = (...args: unknown[]): Doc => {
    const result = font(...args);
    if (d._font != null && !seen.has(d._font)) {
      seen.add(d._font);
      cacheEncodedWords(d._font);
      cacheEncodedSubset(d._font);
    }
    return result;
  };
  if (typeof d._setColorCore === 'function') {
    const setColorCore = d._setColorCore.bind(d);
    d._setColorCore = (color: unknown, stroke: boolean): boolean => {
      if (typeof color !== 'string' || !HEX_COLOR.test(color)) return setColorCore(color, stroke);
      d.addContent(colorOperators(color, stroke));
      return true;
    };
  }
  if (typeof d.file === 'function' && typeof d.ref === 'function' && typeof d.addNamedEmbeddedFile === 'function') {
    const file = d.file.bind(d);
    d.file = (src: unknown, options: FileOptions = {}): unknown => embedFile(d, src, options) ?? file(src, options);
  }
  if (typeof d._fragment === 'function') {
    const fragment = d._fragment.bind(d);
    d._fragment = (text: string, x: number, y: number, options: Record<string, unknown>): void => {
      if (!plainLine(d, text, x, y, options)) fragment(text, x, y, options);
    };
  }
  return true;
}

const HEX_COLOR = /^#[0-9A-Fa-f]{6}$/;
const COLOR_OPERATORS = new Map<string, string>();

/**
 * What pdfkit's `_setColorCore` writes for a `#RRGGBB` colour: the colour space, then each
 * component / 255 as JavaScript prints it (`0.37254901960784315`, printed anew on every call;
 * every text line and badge sets a colour). Memoised: a pure function of the colour.
 */
function colorOperators(color: string, stroke: boolean): string {
  const key = stroke ? `S${color}` : color;
  let ops = COLOR_OPERATORS.get(key);
  if (ops === undefined) {
    const hex = parseInt(color.slice(1), 16);
    const components = [hex >> 16, (hex >> 8) & 0xff, hex & 0xff].map((part) => part / 255);
    ops = `/DeviceRGB ${stroke ? 'CS' : 'cs'}\n${components.join(' ')} ${stroke ? 'SCN' : 'scn'}`;
    if (COLOR_OPERATORS.size < 10_000) COLOR_OPERATORS.set(key, ops);
  }
  return ops;
}

/**
 * pdfkit's `file()` for the case the renderer uses (bytes, first file of that name, not hidden),
 * writing the same objects in the same order, with the MD5 /CheckSum from node:crypto: pdfkit
 * hashes in JavaScript, which for the 158 KB report JSON was 3% of a render's CPU and a quarter of
 * the memory it allocated. Returns undefined, writing nothing, for any other case.
 */
function embedFile(doc: FastDoc, src: unknown, options: FileOptions): unknown {
  if (!(src instanceof Uint8Array) || typeof options.name !== 'string' || options.name === '' || options.hidden === true || doc._fileRegistry?.[options.name] !== undefined) return undefined;
  const name = options.name;
  const relationship = options.relationship || 'Unspecified';
  const params: Record<string, unknown> = {};
  const body: Record<string, unknown> = { Type: 'EmbeddedFile', Params: params };
  if (options.creationDate instanceof Date) params.CreationDate = options.creationDate;
  if (options.modifiedDate instanceof Date) params.ModDate = options.modifiedDate;
  if (options.type) body.Subtype = escapeName(options.type);
  params.CheckSum = new String(createHash('md5').update(src).digest('hex'));
  params.Size = src.byteLength;
  const ref = doc.ref!(body);
  ref.end(src);
  (doc._fileRegistry ??= {})[name] = { ...body, ref };
  const spec: Record<string, unknown> = { Type: 'Filespec', AFRelationship: relationship, F: new String(name), EF: { F: ref }, UF: new String(name) };
  if (options.description) spec.Desc = new String(options.description);
  const filespec = doc.ref!(spec);
  filespec.end();
  doc.addNamedEmbeddedFile!(name, filespec);
  if (doc._root.data.AF) doc._root.data.AF.push(filespec);
  else doc._root.data.AF = [filespec];
  return filespec;
}

/** pdfkit's `escapeName`: characters a PDF name may not hold as themselves, as #XX. */
function escapeName(name: string): string {
  let escaped = '';
  for (const char of name) {
    const code = char.charCodeAt(0);
    const safe = code > 0x7f || (code > 0x20 && code !== 0x7f && !'#%()/<>[]{}'.includes(char));
    escaped += safe ? char : `#${code.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return escaped;
}

/** Keeps the strings written to a content stream as strings until bytes are needed. */
function bufferContentStrings(ref: ContentRef): void {
  const write = ref.write.bind(ref);
  const finalize = ref.finalize.bind(ref);
  let pending: string[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const text = `${pending.join('\n')}\n`;
    pending = [];
    write(Buffer.from(text, 'latin1'));
  };
  ref.write = (chunk: unknown): void => {
    if (chunk instanceof Uint8Array) {
      flush();
      write(chunk);
    } else {
      pending.push(`${chunk as string}`);
    }
  };
  ref.finalize = (): void => {
    flush();
    finalize();
  };
}

/** The map `byFont` keeps for a parsed font file, made empty on first use. */
function perFont<V>(byFont: WeakMap<object, Map<string, V>>, parsed: object): Map<string, V> {
  let map = byFont.get(parsed);
  if (map === undefined) {
    map = new Map();
    byFont.set(parsed, map);
  }
  return map;
}

/**
 * A font file as a document embeds it: fontkit's encoding of a subset (the `FontFile2` stream),
 * the subset's glyph list after encoding (fontkit adds the components of composite glyphs), and
 * the stream deflated as pdfkit deflates it, once a document has embedded it.
 */
interface EncodedSubset {
  readonly bytes: Uint8Array;
  readonly glyphs: readonly number[];
  readonly mapping: Readonly<Record<number, number>> | undefined;
  deflated?: Buffer;
}
/** Per parsed font file, by the subset's glyph list before encoding: at most 32 (about 45 KB each). */
const encodedSubsets = new WeakMap<object, Map<string, EncodedSubset>>();
const MAX_ENCODED_SUBSETS = 32;

/**
 * Shares a font's encoded subset, and its deflated bytes, between the documents of a thread whose
 * subsets hold the same glyphs in the same order (8 in the header). fontkit's `encode` is a pure
 * function of the font file and that list; pdfkit writes its result as the first stream object of
 * `embed`, deflated with zlib's defaults, which is what is kept here. Anything else (encryption,
 * no compression, another first object) goes through pdfkit as before.
 */
function cacheEncodedSubset(font: PdfkitFont): void {
  const { subset, font: parsed, document: owner } = font;
  if (subset === undefined || typeof subset.encode !== 'function' || !Array.isArray(subset.glyphs) || typeof font.embed !== 'function' || owner === undefined || typeof owner.ref !== 'function' || owner._security != null || parsed === undefined) return;
  const byGlyphs = perFont(encodedSubsets, parsed);
  const encode = subset.encode.bind(subset);
  let current: EncodedSubset | undefined;
  subset.encode = (): Uint8Array => {
    const key = subset.glyphs!.join(',');
    let entry = byGlyphs.get(key);
    if (entry === undefined) {
      const bytes = encode();
      entry = { bytes, glyphs: [...subset.glyphs!], mapping: subset.mapping === undefined ? undefined : { ...subset.mapping } };
      if (byGlyphs.size >= MAX_ENCODED_SUBSETS) byGlyphs.clear();
      byGlyphs.set(key, entry);
    } else {
      // The subset as encoding would have left it.
      subset.glyphs = [...entry.glyphs];
      if (entry.mapping !== undefined) subset.mapping = { ...entry.mapping };
    }
    current = entry;
    return entry.bytes;
  };
  const embed = font.embed.bind(font);
  const ref = owner.ref;
  font.embed = (): unknown => {
    // The font file is the first object `embed` makes: its stream is the encoded subset.
    owner.ref = (data?: object): unknown => {
      owner.ref = ref;
      const stream = ref.call(owner, data) as Partial<StreamRef>;
      const end = stream.end;
      if (typeof end === 'function' && typeof stream.write === 'function' && typeof stream.finalize === 'function' && stream.data !== undefined && Array.isArray(stream.buffer)) {
        const file = stream as StreamRef;
        file.end = (chunk?: Uint8Array): void => {
          const entry = current;
          if (entry === undefined || chunk !== entry.bytes || file.compress !== true || file.buffer.length !== 0 || 'Filter' in file.data) {
            end.call(file, chunk);
            return;
          }
          // As pdfkit's write + finalize with compression: /Length, then /Filter, then the bytes.
          entry.deflated ??= deflateSync(entry.bytes);
          file.compress = false;
          file.write(entry.deflated);
          file.data.Filter = 'FlateDecode';
          file.finalize();
        };
      }
      return stream;
    };
    try {
      return embed();
    } finally {
      owner.ref = ref;
    }
  };
}

/** Shaped words per parsed font file, shared by every document of this thread (bounded). */
const sharedRuns = new WeakMap<object, Map<string, Run>>();
const MAX_SHARED_RUNS = 50_000;

/** The words of each line drawn, shared by the documents of a thread (bounded). */
const lineWords = new Map<string, readonly string[]>();
const MAX_LINES = 50_000;

/**
 * A line's words as pdfkit's layout splits them: each ends after a space or tab, the last at the
 * end. Memoised: lines recur from report to report (canvas.ts caches their wrapping), and the
 * same word strings then come back, whose hashes the per-document maps have already computed.
 */
function wordsOf(text: string): readonly string[] {
  const known = lineWords.get(text);
  if (known !== undefined) return known;
  const split: string[] = [];
  const tabs = text.includes('\t');
  let last = 0;
  while (last < text.length) {
    let end = text.indexOf(' ', last);
    if (tabs) {
      const tab = text.indexOf('\t', last);
      if (tab !== -1 && (end === -1 || tab < end)) end = tab;
    }
    end = end === -1 ? text.length : end + 1;
    split.push(text.slice(last, end));
    last = end;
  }
  if (lineWords.size >= MAX_LINES) lineWords.clear();
  lineWords.set(text, split);
  return split;
}

/** Shares a font's shaped words across documents and memoises its encoded words per document. */
function cacheEncodedWords(font: PdfkitFont): void {
  const { subset, widths, unicode, scale, font: parsed } = font;
  if (typeof font.layoutCached !== 'function' || typeof font.layoutRun !== 'function' || subset === undefined || widths === undefined || unicode === undefined || scale === undefined || parsed === undefined) return;
  const shared = perFont(sharedRuns, parsed);
  // pdfkit never changes a run once it has cached it (it scales positions before caching).
  const layoutRun = font.layoutRun.bind(font);
  font.layoutCached = (word: string): Run => {
    let run = shared.get(word);
    if (run === undefined) {
      run = layoutRun(word);
      if (shared.size >= MAX_SHARED_RUNS) shared.clear();
      shared.set(word, run);
    }
    return run;
  };
  const words = new Map<string, EncodedWord>();
  // As pdfkit's `encode`: every glyph into the subset in order, widths and ToUnicode on first use
  // in this document. A glyph's `codePoints` are those of the word that was shaped (fonts.ts gives
  // each lookup its own), never those of another document's text that reached the glyph first.
  const intoSubset = (glyph: Run['glyphs'][number]): number => {
    const gid = subset.includeGlyph(glyph.id);
    if (widths[gid] == null) widths[gid] = glyph.advanceWidth * scale;
    if (unicode[gid] == null) unicode[gid] = glyph.codePoints;
    return gid;
  };
  // The subset's words shared with other documents, once the preload has been checked.
  let sharing: Preloaded | undefined;
  preloadHooks.set(font, (text: string): void => {
    sharing = undefined;
    const glyphs = subset.glyphs;
    if (glyphs === undefined) return;
    const byText = perFont(preloaded, parsed);
    // Shared by the documents whose subset holds exactly these glyphs in this order: those that
    // preloaded `text` first. One that used the font before (or preloaded twice) gets its own.
    const key = `${text}\u0000${glyphs.join(',')}`;
    let known = byText.get(key);
    if (known === undefined) {
      known = { order: [...glyphs], gidOf: new Map(glyphs.map((id, gid) => [id, gid])), words: new Map(), lines: new Map() };
      if (byText.size >= 16) byText.clear();
      byText.set(key, known);
    }
    sharing = known;
  });
  const sharedWord = (word: string): EncodedWord | null => {
    const share = sharing!;
    let known = share.words.get(word);
    if (known === undefined) {
      // Every glyph of the word is already in this subset (and every such one), widths and ToUnicode set.
      known = encodeRun(font.layoutCached!(word), (glyph) => share.gidOf.get(glyph.id));
      if (share.words.size >= MAX_SHARED_WORDS) share.words.clear();
      share.words.set(word, known);
    }
    return known;
  };
  // Appends the line's encoded words to `into`; false if one of them is not shared.
  const encodeInto = (text: string, into: EncodedWord[]): boolean => {
    let allShared = true;
    for (const word of wordsOf(text)) {
      let known: EncodedWord | null | undefined = sharing === undefined ? undefined : sharedWord(word);
      if (known === null || known === undefined) {
        allShared = false;
        known = words.get(word);
        if (known === undefined) {
          known = encodeRun(font.layoutCached!(word), intoSubset)!;
          words.set(word, known);
        }
      }
      into.push(known);
    }
    return allShared && sharing !== undefined;
  };
  const encodeLine = (text: string): EncodedWord[] => {
    const encoded: EncodedWord[] = [];
    encodeInto(text, encoded);
    return encoded;
  };
  const encode = font.encode.bind(font);
  font.encode = (text: string, features?: unknown): [string[], object[]] => {
    if (features) return encode(text, features);
    const hex: string[] = [];
    const positions: object[] = [];
    for (const word of encodeLine(text)) {
      for (let i = 0; i < word.hex.length; i++) {
        hex.push(word.hex[i]!);
        positions.push(word.positions[i]!);
      }
    }
    return [hex, positions];
  };
  const lines = new Map<string, string | null>();
  lineEncoders.set(font, (text: string): string | null => {
    let tj = sharing?.lines.get(text);
    if (tj === undefined) tj = lines.get(text);
    if (tj === undefined) {
      const encoded: EncodedWord[] = [];
      const allShared = encodeInto(text, encoded);
      tj = tjOf(encoded);
      const into = allShared ? sharing!.lines : lines;
      if (allShared && into.size >= MAX_SHARED_WORDS) into.clear();
      into.set(text, tj);
    }
    return tj;
  });
}

/**
 * A shaped word's glyph codes (hex for pdfkit's `encode`, literal-string pieces for `TJ`), each
 * glyph numbered by `gidOf`; null if `gidOf` has no number for one of them.
 */
function encodeRun(run: Run, gidOf: (glyph: Run['glyphs'][number]) => number | undefined): EncodedWord | null {
  const { glyphs, positions } = run;
  const hex: string[] = [];
  const pieces: { codes: string; adjust: number }[] = [];
  let open = '';
  let offset = false;
  for (let i = 0; i < glyphs.length; i++) {
    const gid = gidOf(glyphs[i]!);
    if (gid === undefined) return null;
    hex.push((HEX4[gid] ??= `0000${gid.toString(16)}`.slice(-4)));
    open += LITERAL2[gid] ??= literalCode(gid);
    const p = positions[i]!;
    if (p.xOffset || p.yOffset) offset = true;
    const advance = p.xAdvance - p.advanceWidth;
    if (advance !== 0) {
      pieces.push({ codes: open, adjust: -advance });
      open = '';
    }
  }
  return { hex, positions, pieces, tail: open, offset };
}

const PLAIN_OPTIONS = new Set(['textWidth', 'wordCount']);
/** 4-digit hex glyph codes as pdfkit writes them, by subset glyph id. */
const HEX4: string[] = [];
/** The same codes as the inside of a PDF literal string, by subset glyph id (see `literalCode`). */
const LITERAL2: string[] = [];

/**
 * A 2-byte glyph code as it stands inside a PDF literal string (ISO 32000-1 §7.3.4.2): each byte
 * as the character of the same value (content streams are written as Latin-1), with the
 * delimiters `(` and `)` and the escape `\` escaped, and CR and LF as `\r` and `\n` (a reader
 * would otherwise read an end of line in a string as LF, whatever its bytes).
 */
export function literalCode(gid: number): string {
  return literalByte(gid >> 8) + literalByte(gid & 0xff);
}

function literalByte(byte: number): string {
  switch (byte) {
    case 0x28:
      return '\\(';
    case 0x29:
      return '\\)';
    case 0x5c:
      return '\\\\';
    case 0x0d:
      return '\\r';
    case 0x0a:
      return '\\n';
    default:
      return String.fromCharCode(byte);
  }
}

/** pdfkit's number formatting for content streams (`PDFObject.number`). */
function num(n: number): number {
  if (n > -1e21 && n < 1e21) return Math.round(n * 1e6) / 1e6;
  throw new Error(`unsupported number: ${n}`);
}

/**
 * The `TJ` operator of a line (with the newline before it), as pdfkit's `_fragment` writes it, from
 * its encoded words, but with literal strings for its hex strings (6 above); '' for no glyph; null
 * if a glyph has an x/y offset (pdfkit then moves the text matrix: left to pdfkit). pdfkit closes a
 * piece after each glyph whose advance differs from its width, with that difference; the rest
 * closes with the last glyph's, which is then 0.
 */
function tjOf(words: readonly EncodedWord[]): string | null {
  const commands: string[] = [];
  let open = '';
  for (const word of words) {
    if (word.offset) return null;
    for (const piece of word.pieces) {
      commands.push(`(${open}${piece.codes}) ${num(piece.adjust)}`);
      open = '';
    }
    open += word.tail;
  }
  if (open !== '') commands.push(`(${open}) 0`);
  return commands.length > 0 ? `\n[${commands.join(' ')}] TJ` : '';
}

/**
 * Writes one line exactly as pdfkit's `_fragment` does for options `{textWidth, wordCount}`
 * (left aligned, default baseline, no spacing, scaling, decoration, link or features), and
 * returns true; returns false, writing nothing, for anything else.
 */
function plainLine(doc: FastDoc, text: string, x: number, y: number, options: Record<string, unknown>): boolean {
  const font = doc._font;
  const encodeLine = font == null ? undefined : lineEncoders.get(font);
  if (font == null || encodeLine === undefined) return false;
  for (const key of Object.keys(options)) if (!PLAIN_OPTIONS.has(key) && options[key] !== undefined) return false;
  const line = typeof text === 'string' && !text.includes('\n') ? text : `${text}`.replace(/\n/g, '');
  if (line.length === 0) return true;
  const tj = encodeLine(line);
  if (tj === null) return false;
  const dy = (font.ascender / 1000) * doc._fontSize;
  const height = doc.page.height;
  if (doc.page.fonts[font.id] == null) doc.page.fonts[font.id] = font.ref();
  // pdfkit's save(), transform(1, 0, 0, -1, 0, height), the text object and restore(), one
  // operator a line as they write them, in one write. The save/restore pair leaves the CTM as it
  // was, so the transform's bookkeeping is skipped with it.
  doc.addContent(`q\n1 0 0 -1 0 ${num(height)} cm\nBT\n1 0 0 1 ${num(x)} ${num(height - y - dy)} Tm\n/${font.id} ${num(doc._fontSize)} Tf${tj}\nET\nQ`);
  return true;
}
