/**
 * The embedded DejaVu fonts, parsed once per process (or worker thread) and shared by every
 * document: pdfkit accepts an already-parsed fontkit font, which saves reading and parsing ~1.5 MB
 * of TrueType per report (measured 48 → 14 ms for an 8-page document). Each document still embeds
 * its own subset, and a glyph's code points (which go into the document's ToUnicode map) are those
 * of the text that looked it up, not of the thread's first such text (`glyphsAsLookedUp`), so
 * sharing changes no byte of the output: what a thread rendered before does not show.
 *
 * Shaping a word (OpenType GSUB/GPOS lookups) is most of the remaining layout time, and pdfkit
 * caches shaped words per document only. Reports share most of their words (template texts,
 * question texts, citations), so the shared font also keeps a bounded per-process cache of shaped
 * runs. A shaped run depends only on the text and the features, so cached and fresh runs are the
 * same; pdfkit scales the positions it gets in place, so every call returns fresh copies.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PdfLayout } from './layout.js';

/**
 * The characters whose glyphs every report document puts first into the subsets of its regular
 * and bold fonts (see `preloadSubset` in pdfkit-fast.ts), separated by spaces so that each is
 * shaped alone: printable ASCII and the other characters the layout, the questionnaire and the
 * rulesets use. Documents then number these glyphs alike, and the words made of them are encoded
 * once per thread instead of once per document (94% of the 2,695 distinct words of the
 * poorly-controlled example are ASCII). The few glyphs a report does not use are embedded too:
 * that PDF grew by about 2 KB (0.9%).
 */
export const SUBSET_PRELOAD = [...Array.from({ length: 0x7e - 0x20 }, (_, i) => String.fromCharCode(0x21 + i)), ...'§–—·×→…•‘’“”'].join(' ');

/**
 * The characters put first into the monospaced font's subset: the hexadecimal digits and the
 * hyphen of the hashes and UUIDs it shows, which differ from report to report, and whose order
 * of first use would otherwise give nearly every report a subset of its own. With them first, the
 * reports signed with one key number the monospaced glyphs alike and share its encoded font file
 * (8 in pdfkit-fast.ts). A report uses them all (any SHA-256 in hex does), so none is extra.
 */
export const MONO_PRELOAD = [...'0123456789abcdef-'].join(' ');

/** Names under which every report document registers its fonts. */
export const FONT = { regular: 'Report-Regular', bold: 'Report-Bold', mono: 'Report-Mono' } as const;

/** The opaque, parsed font object pdfkit hands to its `EmbeddedFont` (anything with a `layout` function). */
export interface ParsedFont {
  layout(text: string, features?: unknown): unknown;
}

type FontRole = keyof typeof FONT;

const require = createRequire(import.meta.url);
// The fontkit that pdfkit itself uses (resolved from pdfkit's own location), so the parsed
// object is exactly what pdfkit would have built from the path.
const fontkit = createRequire(require.resolve('pdfkit'))('fontkit') as { create(buffer: Uint8Array): ParsedFont };
const MAX_CACHED_RUNS = 50_000;

interface Position {
  xAdvance: number;
  yAdvance: number;
  xOffset: number;
  yOffset: number;
}
interface ShapedRun {
  readonly glyphs: readonly unknown[];
  readonly positions: readonly Position[];
}

/** What `font.layout` returns to pdfkit: glyphs, positions it may scale, and their total advance. */
class RunCopy {
  readonly glyphs: unknown[];
  readonly positions: Position[];
  constructor(run: ShapedRun) {
    this.glyphs = [...run.glyphs];
    this.positions = run.positions.map((p) => ({ xAdvance: p.xAdvance, yAdvance: p.yAdvance, xOffset: p.xOffset, yOffset: p.yOffset }));
  }
  get advanceWidth(): number {
    let width = 0;
    for (const p of this.positions) width += p.xAdvance;
    return width;
  }
}

interface Glyph {
  readonly id: number;
  readonly codePoints: readonly number[];
  readonly _font: unknown;
  _decode?: () => unknown;
}
/** fontkit's glyph classes: the constructor sets `codePoints`, `isMark` and `isLigature` from the code points. */
type GlyphClass = new (id: number, codePoints: number[], font: unknown) => Glyph & { readonly isMark: boolean; readonly isLigature: boolean };

/**
 * The font's `getGlyph` for the fonts shared by the documents of a thread, with two changes.
 *
 * 1. Code points. fontkit keeps one glyph object per glyph id and stores in it the code points
 *    of the first lookup; later lookups get that object whatever code points they pass. With the
 *    font shared, the first lookup may have come from another document: DejaVu draws "fi" with the
 *    glyph of U+FB01 (ﬁ), and a report rendered after one whose title had that character got
 *    `codePoints` [U+FB01] for "fi" in "specification". pdfkit writes a glyph's `codePoints` into
 *    the document's ToUnicode map (the first use in the document wins), and fontkit's shaping reads
 *    them (marks, ligature components, default-ignorable characters), so the PDF depended on what
 *    the thread had rendered before. Here a lookup returns fontkit's object when its code points
 *    are the ones asked for, else a view of it (outline, metrics and decoding inherited from it)
 *    with its own `codePoints`, `isMark` and `isLigature`, as fontkit's constructor sets them for
 *    the code points asked for; one view per glyph and code points, kept. A shaped run is then a
 *    function of its text and features alone, as the run caches here and in pdfkit-fast.ts assume,
 *    and a document's ToUnicode map a function of the document's own text: each glyph maps to the
 *    code points of the first run of the document that used it.
 *    Glyph 0 (.notdef) is left as it is: pdfkit looks it up first, with no code points, when it
 *    opens the font for a document (so it never had any) and maps it to U+0000 itself.
 * 2. Decoding. Each glyph's outline record is decoded once per thread: every document's font
 *    subset decodes each glyph it embeds (to find the parts of composite glyphs), 4% of a report's
 *    render. The record is a pure function of the font file and only read afterwards (by the subset
 *    and by outline drawing, which pdfkit does not use); for a variable font, whose outlines depend
 *    on the chosen instance, nothing is memoised.
 */
function glyphsAsLookedUp(font: ParsedFont, cached: ParsedFont): void {
  const f = font as ParsedFont & { getGlyph?: (id: number, characters?: number[]) => Glyph | null; fvar?: unknown };
  if (typeof f.getGlyph !== 'function') return;
  const getGlyph = f.getGlyph;
  const memoiseDecoding = f.fvar === undefined;
  const memoised = new WeakSet<Glyph>();
  const views = new WeakMap<Glyph, Map<string, Glyph>>();
  (cached as typeof f).getGlyph = function (this: unknown, id: number, characters: number[] = []): Glyph | null {
    const glyph = getGlyph.call(this, id, characters);
    if (glyph === null || typeof glyph !== 'object') return glyph;
    if (memoiseDecoding && typeof glyph._decode === 'function' && !memoised.has(glyph)) {
      memoised.add(glyph);
      const decode = glyph._decode.bind(glyph);
      let decoded: { value: unknown } | undefined;
      glyph._decode = () => (decoded ??= { value: decode() }).value;
    }
    if (id === 0 || !Array.isArray(characters) || !Array.isArray(glyph.codePoints) || sameCodePoints(glyph.codePoints, characters)) return glyph;
    let byCodePoints = views.get(glyph);
    if (byCodePoints === undefined) {
      byCodePoints = new Map();
      views.set(glyph, byCodePoints);
    }
    const key = characters.join(',');
    let view = byCodePoints.get(key);
    if (view === undefined) {
      // What fontkit's constructor derives from the code points, on a throw-away glyph of the same class.
      const fresh = new (glyph.constructor as GlyphClass)(glyph.id, [...characters], glyph._font);
      view = Object.create(glyph, {
        codePoints: { value: fresh.codePoints, enumerable: true, writable: true },
        isMark: { value: fresh.isMark, enumerable: true, writable: true },
        isLigature: { value: fresh.isLigature, enumerable: true, writable: true },
      }) as Glyph;
      byCodePoints.set(key, view);
    }
    return view;
  };
}

function sameCodePoints(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The parsed font with a memoising `layout`; every other property comes from the font itself. */
function withRunCache(font: ParsedFont): ParsedFont {
  const cache = new Map<string, ShapedRun>();
  const cached = Object.create(font) as ParsedFont;
  glyphsAsLookedUp(font, cached);
  cached.layout = (text: string, features?: unknown): unknown => {
    const key = features === undefined ? text : `${JSON.stringify(features)}\u0000${text}`;
    let run = cache.get(key);
    if (run === undefined) {
      const fresh = font.layout.call(cached, text, features) as ShapedRun;
      run = new RunCopy(fresh); // keep an unscaled copy: pdfkit scales what it receives
      if (cache.size >= MAX_CACHED_RUNS) cache.clear();
      cache.set(key, run);
    }
    return new RunCopy(run);
  };
  return cached;
}
const FONT_DIR = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
const parsed = new Map<string, ParsedFont>();

/** Absolute path of a DejaVu TTF file by name (e.g. `DejaVuSans.ttf`). */
export function fontPath(file: string): string {
  if (!/^[A-Za-z0-9-]+\.ttf$/.test(file)) throw new Error(`not a font file name: ${file}`);
  return join(FONT_DIR, file);
}

/**
 * The parsed fonts of a layout, read from disk the first time and reused afterwards.
 * Guarantees: one parse per font file per thread; throws if a file is missing.
 */
export function loadFonts(layout: PdfLayout): Readonly<Record<FontRole, ParsedFont>> {
  const get = (file: string): ParsedFont => {
    let font = parsed.get(file);
    if (font === undefined) {
      font = withRunCache(fontkit.create(readFileSync(fontPath(file))));
      parsed.set(file, font);
    }
    return font;
  };
  return { regular: get(layout.fonts.regular), bold: get(layout.fonts.bold), mono: get(layout.fonts.mono) };
}
