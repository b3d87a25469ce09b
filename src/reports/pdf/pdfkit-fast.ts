/**
 * Two shortcuts through pdfkit's hottest paths, installed on one document at a time. Neither
 * changes a byte of the output (test/reports/pdf-fast-paths.test.ts renders the same report with
 * and without them and compares the files); they change how much garbage the same bytes cost.
 *
 * 1. Page content streams. pdfkit turns every operator it writes (`BT`, `1 0 0 1 x y Tm`, each
 *    `TJ`, each colour) into its own Uint8Array through a character loop, keeps them in an array,
 *    and concatenates them when the page ends: on an 8-page report, tens of thousands of tiny
 *    typed arrays, most of the garbage collector's work (18% of a render's CPU profile). Here the
 *    operators stay strings and become bytes once per run of strings (`Buffer.from(…, 'latin1')`
 *    keeps the low byte of each UTF-16 unit, as pdfkit's loop does); byte chunks written in
 *    between (none in our reports) keep their place.
 * 2. Text encoding. For every line drawn, pdfkit lays it out word by word (concatenating the
 *    glyph and position arrays once per word), then looks every glyph up in the font subset and
 *    formats its 4-digit hex code (9.5% of the profile). A word encodes to the same glyph codes
 *    throughout one document (a glyph keeps the subset id it was first given), so each font keeps
 *    the encoded words of this document: the first time a word is seen it goes through pdfkit's
 *    own layout and subset in the same order as pdfkit would, so the subset, widths and ToUnicode
 *    map come out the same; after that it is looked up.
 *
 * Both rely on pdfkit 0.20 internals (`PDFReference#write/finalize`, `EmbeddedFont#encode`,
 * `layoutCached`, `subset.includeGlyph`); `installPdfkitFastPaths` checks they exist and leaves the
 * document alone otherwise, so a pdfkit upgrade that changes them costs speed, not correctness.
 */
import type { Doc } from './canvas.js';

interface ContentRef {
  write(chunk: unknown): void;
  finalize(): void;
}

interface Run {
  readonly glyphs: readonly { readonly id: number; readonly advanceWidth: number; readonly codePoints: readonly number[] }[];
  readonly positions: readonly object[];
}

interface PdfkitFont {
  encode(text: string, features?: unknown): [string[], object[]];
  layoutCached?(word: string): Run;
  layoutRun?(word: string): Run;
  /** The parsed (fontkit) font, shared by the documents of a thread. */
  font?: object;
  subset?: { includeGlyph(id: number): number };
  widths?: (number | undefined)[];
  unicode?: (readonly number[] | undefined)[];
  scale?: number;
}

interface EncodedWord {
  readonly hex: readonly string[];
  readonly positions: readonly object[];
}

type FastDoc = Doc & {
  page: { content: ContentRef };
  _font?: PdfkitFont;
  addPage(options?: object): Doc;
  font(...args: unknown[]): Doc;
};

const patchedFonts = new WeakSet<object>();

/**
 * Installs both shortcuts on `doc` (a fresh pdfkit document: call it before drawing). Returns
 * false, changing nothing, if this pdfkit lacks the internals they need.
 */
export function installPdfkitFastPaths(doc: Doc): boolean {
  const d = doc as FastDoc;
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
  d.font = (...args: unknown[]): Doc => {
    const result = font(...args);
    if (d._font !== undefined && !patchedFonts.has(d._font)) {
      patchedFonts.add(d._font);
      cacheEncodedWords(d._font);
    }
    return result;
  };
  return true;
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

/** Shaped words per parsed font file, shared by every document of this thread (bounded). */
const sharedRuns = new WeakMap<object, Map<string, Run>>();
const MAX_SHARED_RUNS = 50_000;

/**
 * Memoises, for one document's font, the encoding of each word; and shares the scaled layout of
 * each word with every other document that uses the same parsed font (pdfkit keeps it per
 * document, so every report shaped and scaled its words anew). A scaled run is a pure function
 * of the font file and the word, and pdfkit never changes a run once it has cached it.
 */
function cacheEncodedWords(font: PdfkitFont): void {
  const { subset, widths, unicode, scale, font: parsed } = font;
  if (typeof font.layoutCached !== 'function' || typeof font.layoutRun !== 'function' || subset === undefined || widths === undefined || unicode === undefined || scale === undefined || parsed === undefined) return;
  let runs = sharedRuns.get(parsed);
  if (runs === undefined) {
    runs = new Map();
    sharedRuns.set(parsed, runs);
  }
  const shared = runs;
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
  const encode = font.encode.bind(font);
  const words = new Map<string, EncodedWord>();
  const encodeWord = (word: string): EncodedWord => {
    const run = font.layoutCached!(word);
    const hex = run.glyphs.map((glyph) => {
      const gid = subset.includeGlyph(glyph.id);
      if (widths[gid] == null) widths[gid] = glyph.advanceWidth * scale;
      if (unicode[gid] == null) unicode[gid] = glyph.codePoints;
      return `0000${gid.toString(16)}`.slice(-4);
    });
    return { hex, positions: run.positions };
  };
  font.encode = (text: string, features?: unknown): [string[], object[]] => {
    if (features) return encode(text, features);
    const hex: string[] = [];
    const positions: object[] = [];
    // Words as pdfkit's layout splits them: each ends after a space or tab, the last at the end.
    let last = 0;
    for (let index = 0; index <= text.length; index++) {
      const atEnd = index === text.length;
      if (atEnd ? last >= index : text[index] !== ' ' && text[index] !== '\t') continue;
      const word = text.slice(last, atEnd ? index : index + 1);
      last = index + 1;
      let encoded = words.get(word);
      if (encoded === undefined) {
        encoded = encodeWord(word);
        words.set(word, encoded);
      }
      for (let i = 0; i < encoded.hex.length; i++) {
        hex.push(encoded.hex[i]!);
        positions.push(encoded.positions[i]!);
      }
    }
    return [hex, positions];
  };
}
