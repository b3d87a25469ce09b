/**
 * Drawing primitives over a pdfkit document: a vertical cursor inside the page's content box,
 * measured text, badges, panels and a table that breaks across pages and repeats its header.
 *
 * Text is wrapped here, not by pdfkit: words are measured once per process (a bounded cache of
 * advance widths per font), lines are broken greedily at spaces (a word wider than the box is
 * broken between characters), and each line is drawn with `lineBreak: false`. That is one pass
 * instead of pdfkit's two (measure, then wrap again to draw), without its Unicode line breaker,
 * and pdfkit can never add a page on its own: page breaks happen only here, where the running
 * header and the table header are known. No text is drawn outside its box.
 */
import type PDFDocument from 'pdfkit';
import { FONT } from './fonts.js';
import type { BadgeStyle, Hex, PdfLayout } from './layout.js';

/** A pdfkit document instance. */
export type Doc = InstanceType<typeof PDFDocument>;

/** Which registered font a text uses. */
export type FontRole = keyof typeof FONT;

/** How a run of text looks. */
export interface TextStyle {
  readonly font?: FontRole;
  readonly size?: number;
  readonly color?: Hex;
  readonly align?: 'left' | 'center' | 'right' | 'justify';
  readonly lineGap?: number;
}

/** A line of a table cell: its text and style. */
export interface CellLine extends TextStyle {
  readonly text: string;
  /** Space above this line, in points (not above the first). */
  readonly gapBefore?: number;
}

/** What a table cell holds: lines of text, or badges in a row. */
export type Cell = { readonly lines: readonly CellLine[] } | { readonly badges: readonly BadgeStyle[]; readonly align?: 'left' | 'center' };

/** A full-width labelled block under a row's cells (e.g. "Why" and "Remediation" of a finding). */
export interface DetailBlock {
  readonly label: string;
  readonly lines: readonly string[];
  /** Bulleted lines (when there is more than one). */
  readonly bullets?: boolean;
}

/** A table row. */
export interface Row {
  readonly cells: readonly Cell[];
  readonly details?: readonly DetailBlock[];
  /** Background fill of the whole row, overriding zebra striping. */
  readonly fill?: Hex;
}

/** A table column: header text, width in points (one column may be `'*'`: the rest). */
export interface Column {
  readonly header: string;
  readonly width: number | '*';
  readonly align?: 'left' | 'center' | 'right';
}

/** Options of `Canvas.table`. */
export interface TableOptions {
  readonly x?: number;
  readonly width?: number;
  readonly zebra?: boolean;
  /** Label column width of detail blocks. */
  readonly detailLabelWidth?: number;
  /** Called after a page break, before the repeated header (e.g. to write "(continued)"). */
  readonly onContinue?: () => void;
}

const DETAIL_LABEL_WIDTH = 84;
const MAX_CACHED_WIDTHS = 100_000;
const MAX_CACHED_WRAPS = 20_000;
// Wrapped text by font role, size, line gap, width and text: a pure function of those and the
// font files, so it is shared across renders (standard names, question texts and remediation
// repeat from report to report) and measuring a cell before drawing it wraps it only once.
// Keyed by font role, size, gap and width, then by the text itself: the texts come from the report
// model, so the same string objects recur and their hashes are computed once (a key built by
// concatenating them was hashed anew on every call).
const wraps = new Map<string, Map<string, Wrapped>>();
let wrapCount = 0;
// Advance width at size 1 of a token in a font role: a pure function of the font file and text.
const unitWidths: Record<FontRole, Map<string, number>> = { regular: new Map(), bold: new Map(), mono: new Map() };

/** A wrapped text: its lines with their widths, and its height. */
interface Wrapped {
  readonly lines: readonly string[];
  readonly widths: readonly number[];
  readonly lineHeight: number;
  readonly height: number;
}

/**
 * A cursor over a pdfkit document. `y` is where the next block starts; `ensure(h)` starts a new
 * page when `h` points do not fit.
 */
export class Canvas {
  readonly doc: Doc;
  readonly layout: PdfLayout;
  y: number;
  /** Called after every page this canvas adds (the renderer records page numbers with it). */
  onNewPage: (() => void) | undefined;
  /** The fill colour each page's content stream has set outside `save()`/`restore()`. */
  readonly #pageColors = new WeakMap<object, Hex>();
  #saveDepth = 0;

  constructor(doc: Doc, layout: PdfLayout) {
    this.doc = doc;
    // Count save()/restore() nesting, so that `style` knows whether a colour it sets outlives the
    // next restore() (at depth 0) or not.
    const save = doc.save.bind(doc);
    const restore = doc.restore.bind(doc);
    doc.save = (): Doc => {
      this.#saveDepth++;
      return save();
    };
    doc.restore = (): Doc => {
      this.#saveDepth = Math.max(0, this.#saveDepth - 1);
      return restore();
    };
    this.layout = layout;
    this.y = this.top;
    this.onNewPage = undefined;
  }

  get left(): number {
    return this.layout.page.margins.left;
  }
  get right(): number {
    return this.doc.page.width - this.layout.page.margins.right;
  }
  get width(): number {
    return this.right - this.left;
  }
  get top(): number {
    return this.layout.page.margins.top;
  }
  get bottom(): number {
    return this.doc.page.height - this.layout.page.margins.bottom;
  }
  /** Points left on this page. */
  get room(): number {
    return this.bottom - this.y;
  }

  /** Adds a page and moves the cursor to its top. */
  newPage(): void {
    this.doc.addPage();
    this.y = this.top;
    this.onNewPage?.();
  }

  /** Starts a new page unless `height` points fit below the cursor. Returns true if it did. */
  ensure(height: number): boolean {
    if (this.y + height <= this.bottom + 0.01) return false;
    this.newPage();
    return true;
  }

  /**
   * Selects font, size and colour for the next text call. Outside `save()`/`restore()` the colour
   * operators are written only when the page's fill colour changes (a new page starts without
   * one): every other colour in a report is set between `save()` and `restore()`, so outside them
   * a page keeps the last colour set here. Writing it once per line made a fifth of the content
   * streams' bytes. Inside `save()` the colour is always written and not remembered.
   */
  style(style: TextStyle): this {
    this.doc.font(FONT[style.font ?? 'regular']).fontSize(style.size ?? this.layout.fontSizes.body);
    const color = style.color ?? this.layout.colors.text;
    if (this.#saveDepth > 0) {
      this.doc.fillColor(color);
    } else if (this.#pageColors.get(this.doc.page) !== color) {
      this.doc.fillColor(color);
      this.#pageColors.set(this.doc.page, color);
    }
    return this;
  }

  /** Height of `text` wrapped to `width` in `style` (as pdfkit's `heightOfString` counts it). */
  measure(text: string, width: number, style: TextStyle = {}): number {
    return this.wrap(text, width, style).height;
  }

  /** Width of `text` on one line in `style`. */
  textWidth(text: string, style: TextStyle = {}): number {
    return this.#unitWidth(text, style.font ?? 'regular') * (style.size ?? this.layout.fontSizes.body);
  }

  /**
   * Breaks `text` into lines of at most `width` points: at spaces, at explicit newlines, and
   * inside a word only when the word alone is wider than the line.
   */
  wrap(text: string, width: number, style: TextStyle = {}): Wrapped {
    const role = style.font ?? 'regular';
    const size = style.size ?? this.layout.fontSizes.body;
    const lineGap = style.lineGap ?? this.layout.lineGap;
    const key = `${role}|${size}|${lineGap}|${width}`;
    let byText = wraps.get(key);
    const known = byText?.get(text);
    if (known !== undefined) return known;
    const wrapped = this.#wrapUncached(text, width, role, size, lineGap);
    if (wrapCount >= MAX_CACHED_WRAPS) {
      wraps.clear();
      wrapCount = 0;
      byText = undefined;
    }
    if (byText === undefined) {
      byText = new Map();
      wraps.set(key, byText);
    }
    byText.set(text, wrapped);
    wrapCount++;
    return wrapped;
  }

  #wrapUncached(text: string, width: number, role: FontRole, size: number, lineGap: number): Wrapped {
    // Font and size only: measuring draws nothing, so it must not write a colour into the page.
    this.doc.font(FONT[role]).fontSize(size);
    const lineHeight = this.doc.currentLineHeight(true) + lineGap;
    const w = (token: string): number => this.#unitWidth(token, role) * size;
    // DejaVu has no kerning pairs with the space, so a line's width is its words plus its spaces.
    const spaceWidth = w(' ');
    const lines: string[] = [];
    const widths: number[] = [];
    for (const paragraph of text.split('\n')) {
      let line = '';
      let committed = 0; // width of the line up to and including the space before the last word
      let last = 0; // width of the last word
      const push = (): void => {
        lines.push(line);
        widths.push(committed + last);
      };
      for (const word of paragraph.split(' ')) {
        if (line === '') {
          if (w(word) <= width) {
            line = word;
            last = w(word);
            continue;
          }
          // A word wider than the line: break it between characters.
          let rest = Array.from(word);
          while (rest.length > 0) {
            let n = rest.length;
            while (n > 1 && w(rest.slice(0, n).join('')) > width) n = Math.max(1, Math.floor(n * 0.8));
            while (n < rest.length && w(rest.slice(0, n + 1).join('')) <= width) n++;
            // Prefer breaking after punctuation (`:`, `-`, `/`, `)`, `_`, `.`) when one is near.
            if (n < rest.length) {
              for (let k = n; k > Math.floor(n * 0.25); k--) {
                if (/[-:/)_.,]/.test(rest[k - 1]!)) {
                  n = k;
                  break;
                }
              }
            }
            line = rest.slice(0, n).join('');
            committed = 0;
            last = w(line);
            rest = rest.slice(n);
            if (rest.length > 0) push();
          }
          continue;
        }
        const wordWidth = w(word);
        const withSpace = committed + last + spaceWidth;
        if (withSpace + wordWidth <= width) {
          line = `${line} ${word}`;
          committed = withSpace;
          last = wordWidth;
        } else {
          push();
          line = '';
          committed = 0;
          last = 0;
          if (w(word) <= width) {
            line = word;
            last = w(word);
          } else {
            // Re-run the long-word path for this word.
            const again = this.#wrapUncached(word, width, role, size, lineGap);
            again.lines.forEach((l, i) => {
              if (i < again.lines.length - 1) {
                lines.push(l);
                widths.push(again.widths[i]!);
              } else {
                line = l;
                last = again.widths[i]!;
              }
            });
          }
        }
      }
      push();
    }
    return { lines, widths, lineHeight, height: lines.length * lineHeight };
  }

  /** Draws `text` in a box at (x, y) of `width`; never breaks the page. Returns its height. */
  textAt(text: string, x: number, y: number, width: number, style: TextStyle = {}, _height?: number): number {
    const wrapped = this.wrap(text, width, style);
    this.style(style);
    const align = style.align ?? 'left';
    wrapped.lines.forEach((line, i) => {
      if (line === '') return;
      const lw = wrapped.widths[i]!;
      const dx = align === 'center' ? (width - lw) / 2 : align === 'right' ? width - lw : 0;
      this.#drawLine(line, x + dx, y + i * wrapped.lineHeight, lw);
    });
    return wrapped.height;
  }

  /**
   * One line at (x, y). pdfkit's `text()` lays the line out three times (to measure it, to encode
   * it, and again to advance x); its internal `_fragment` takes the width we already know and lays
   * it out once. Same operators, same bytes (the tests compare PDFs byte for byte); `text()` is the
   * fallback should a pdfkit upgrade remove `_fragment`.
   */
  #drawLine(line: string, x: number, y: number, width: number): void {
    const doc = this.doc as Doc & { _fragment?: (text: string, x: number, y: number, options: object) => void };
    if (typeof doc._fragment === 'function') doc._fragment(line, x, y, { textWidth: width, wordCount: 1 });
    else doc.text(line, x, y, { lineBreak: false });
  }

  #unitWidth(token: string, role: FontRole): number {
    const cache = unitWidths[role];
    let width = cache.get(token);
    if (width === undefined) {
      this.doc.font(FONT[role]).fontSize(1000);
      width = this.doc.widthOfString(token) / 1000;
      if (cache.size >= MAX_CACHED_WIDTHS) cache.clear();
      cache.set(token, width);
    }
    return width;
  }

  /** A paragraph at the cursor, full width unless given; moves the cursor below it plus `gap`. */
  paragraph(text: string, style: TextStyle = {}, options: { readonly gap?: number; readonly x?: number; readonly width?: number } = {}): void {
    const x = options.x ?? this.left;
    const width = options.width ?? this.right - x;
    const h = this.measure(text, width, style);
    this.ensure(h);
    this.textAt(text, x, this.y, width, style, h);
    this.y += h + (options.gap ?? this.layout.spacing.paragraph);
  }

  /**
   * A heading; `keepWithNext` points of what follows must fit on the same page, so a heading is
   * never left alone at the bottom of a page.
   */
  heading(text: string, level: 1 | 2 | 3, keepWithNext = 60): void {
    const sizes = { 1: this.layout.fontSizes.h1, 2: this.layout.fontSizes.h2, 3: this.layout.fontSizes.h3 } as const;
    const style: TextStyle = { font: 'bold', size: sizes[level], color: level === 3 ? this.layout.colors.text : this.layout.colors.primary };
    const h = this.measure(text, this.width, style);
    const before = level === 1 ? 0 : level === 2 ? 6 : 3;
    const after = level === 1 ? 12 : 6;
    if (!this.ensure(before + h + after + keepWithNext) && this.y > this.top) this.y += before;
    this.textAt(text, this.left, this.y, this.width, style, h);
    this.y += h + (level === 1 ? 4 : 2);
    if (level === 1) {
      this.doc.save().moveTo(this.left, this.y).lineTo(this.right, this.y).lineWidth(1.2).strokeColor(this.layout.colors.primary).stroke().restore();
    }
    this.y += after - (level === 1 ? 4 : 2);
  }

  /** Width of a badge for `label`. */
  badgeWidth(label: string): number {
    return this.textWidth(label, { font: 'bold', size: this.layout.fontSizes.badge }) + 2 * this.layout.spacing.badgePaddingX;
  }

  /** A rounded, coloured badge with its top-left corner at (x, y). Returns its width. */
  badge(label: string, x: number, y: number, style: BadgeStyle, options: { readonly size?: number; readonly height?: number; readonly minWidth?: number } = {}): number {
    const size = options.size ?? this.layout.fontSizes.badge;
    const height = options.height ?? this.layout.spacing.badgeHeight;
    const pad = this.layout.spacing.badgePaddingX * (size / this.layout.fontSizes.badge);
    const w = Math.max(options.minWidth ?? 0, this.textWidth(label, { font: 'bold', size }) + 2 * pad);
    const doc = this.doc;
    doc.save();
    doc.roundedRect(x, y, w, height, Math.min(3, height / 3)).fillColor(style.fill);
    if (style.stroke === undefined) doc.fill();
    else doc.lineWidth(0.8).fillAndStroke(style.fill, style.stroke);
    doc.restore();
    // Centre the cap height in the badge: DejaVu's ascent leaves ~0.2 em above the caps.
    this.textAt(label, x, y + (height - size) / 2 - size * 0.06, w, { font: 'bold', size, color: style.text, align: 'center' });
    return w;
  }

  /**
   * Label/value pairs, one per line, label in a fixed column; a pair is never split across pages.
   * Values may be monospaced (hashes, ids) and wrap within their column.
   */
  keyValues(pairs: readonly { readonly label: string; readonly value: string; readonly mono?: boolean }[], labelWidth: number, options: { readonly x?: number; readonly width?: number; readonly gap?: number } = {}): void {
    const x = options.x ?? this.left;
    const width = options.width ?? this.right - x;
    const labelStyle: TextStyle = { font: 'bold', size: this.layout.fontSizes.small, color: this.layout.colors.muted };
    for (const pair of pairs) {
      const valueStyle: TextStyle = pair.mono === true ? { font: 'mono', size: this.layout.fontSizes.mono } : { size: this.layout.fontSizes.table };
      const h = Math.max(this.measure(pair.value, width - labelWidth, valueStyle), this.measure(pair.label, labelWidth - 8, labelStyle));
      this.ensure(h);
      this.textAt(pair.label, x, this.y + 1, labelWidth - 8, labelStyle);
      this.textAt(pair.value, x + labelWidth, this.y, width - labelWidth, valueStyle, h);
      this.y += h + (options.gap ?? 3.5);
    }
  }

  /** A block of monospaced lines on a tinted panel (commands to type). Kept on one page. */
  code(lines: string, options: { readonly gap?: number } = {}): void {
    const pad = 6;
    const style: TextStyle = { font: 'mono', size: this.layout.fontSizes.mono, color: this.layout.colors.text, lineGap: 2.2 };
    const h = this.measure(lines, this.width - 2 * pad, style) + 2 * pad;
    this.ensure(h);
    this.doc.save().roundedRect(this.left, this.y, this.width, h, 3).fillColor(this.layout.colors.codeBg).fill().restore();
    this.rect(this.left, this.y, 2.5, h, this.layout.colors.accent);
    this.textAt(lines, this.left + pad + 2, this.y + pad, this.width - 2 * pad - 2, style);
    this.y += h + (options.gap ?? this.layout.spacing.paragraph);
  }

  /** A horizontal rule across the content width at the cursor. */
  rule(color: Hex = this.layout.colors.rule, gap = 8): void {
    this.doc.save().moveTo(this.left, this.y).lineTo(this.right, this.y).lineWidth(0.6).strokeColor(color).stroke().restore();
    this.y += gap;
  }

  /** A filled rectangle (no stroke). */
  rect(x: number, y: number, w: number, h: number, fill: Hex): void {
    this.doc.save().rect(x, y, w, h).fillColor(fill).fill().restore();
  }

  /**
   * A table at the cursor. Rows are kept whole; a row that does not fit starts a new page, where
   * the header is drawn again. Returns nothing; the cursor ends below the table.
   */
  table(columns: readonly Column[], rows: readonly Row[], options: TableOptions = {}): void {
    const { cellPaddingX: px, cellPaddingY: py } = this.layout.spacing;
    const x0 = options.x ?? this.left;
    const total = options.width ?? this.right - x0;
    const fixed = columns.reduce((s, c) => s + (c.width === '*' ? 0 : c.width), 0);
    const widths = columns.map((c) => (c.width === '*' ? total - fixed : c.width));
    const headerStyle: TextStyle = { font: 'bold', size: this.layout.fontSizes.tableHeader, color: this.layout.colors.tableHeaderText };
    const headerHeight = Math.max(...columns.map((c, i) => this.measure(c.header, widths[i]! - 2 * px, headerStyle))) + 2 * py;
    const labelWidth = options.detailLabelWidth ?? DETAIL_LABEL_WIDTH;

    const drawHeader = (): void => {
      this.rect(x0, this.y, total, headerHeight, this.layout.colors.tableHeaderBg);
      let x = x0;
      columns.forEach((c, i) => {
        this.textAt(c.header, x + px, this.y + py, widths[i]! - 2 * px, { ...headerStyle, align: c.align ?? 'left' });
        x += widths[i]!;
      });
      this.y += headerHeight;
    };

    const measured = rows.map((row) => this.#measureRow(row, columns, widths, total, labelWidth));
    this.ensure(headerHeight + (measured[0]?.height ?? 0));
    drawHeader();
    rows.forEach((row, r) => {
      const m = measured[r]!;
      if (this.ensure(m.height)) {
        options.onContinue?.();
        drawHeader();
      }
      const fill = row.fill ?? (options.zebra !== false && r % 2 === 1 ? this.layout.colors.zebra : undefined);
      if (fill !== undefined) this.rect(x0, this.y, total, m.height, fill);
      let x = x0;
      row.cells.forEach((cell, i) => {
        this.#drawCell(cell, x + px, this.y + py, widths[i]! - 2 * px, m.cellLines[i]!, columns[i]?.align);
        x += widths[i]!;
      });
      let y = this.y + m.cellsHeight;
      (row.details ?? []).forEach((block, b) => {
        y += this.#drawDetail(block, x0 + px, y, total - 2 * px, labelWidth, m.details[b]!);
      });
      this.y += m.height;
      this.doc.save().moveTo(x0, this.y).lineTo(x0 + total, this.y).lineWidth(0.5).strokeColor(this.layout.colors.rule).stroke().restore();
    });
    this.y += this.layout.spacing.paragraph + 4;
  }

  #measureRow(row: Row, columns: readonly Column[], widths: readonly number[], total: number, labelWidth: number): {
    height: number;
    cellsHeight: number;
    cellLines: number[][];
    details: { height: number; lines: number[] }[];
  } {
    const { cellPaddingX: px, cellPaddingY: py } = this.layout.spacing;
    const cells = row.cells.map((cell, i) => this.#measureCell(cell, widths[i]! - 2 * px));
    const cellsHeight = Math.max(0, ...cells.map((c) => c.height)) + 2 * py;
    const details = (row.details ?? []).map((block) => this.#measureDetail(block, total - 2 * px, labelWidth));
    const detailTotal = details.reduce((s, d) => s + d.height, 0);
    void columns;
    return { height: cellsHeight + detailTotal + (detailTotal > 0 ? py : 0), cellsHeight, cellLines: cells.map((c) => c.lines), details };
  }

  #measureCell(cell: Cell, width: number): { height: number; lines: number[] } {
    if ('badges' in cell) return { height: cell.badges.length === 0 ? 0 : this.layout.spacing.badgeHeight, lines: [] };
    const lines = cell.lines.map((line) => this.measure(line.text, width, line));
    return { height: lines.reduce((h, l, i) => h + l + (i > 0 ? (cell.lines[i]!.gapBefore ?? 1) : 0), 0), lines };
  }

  #drawCell(cell: Cell, x: number, y: number, width: number, lineHeights: readonly number[], align: Column['align']): void {
    if ('badges' in cell) {
      const gap = 3;
      const widthsOf = cell.badges.map((b) => this.badgeWidth(b.label));
      const all = widthsOf.reduce((s, w) => s + w, 0) + gap * Math.max(0, widthsOf.length - 1);
      let bx = (cell.align ?? align) === 'center' ? x + Math.max(0, (width - all) / 2) : x;
      cell.badges.forEach((b) => {
        bx += this.badge(b.label, bx, y, b) + gap;
      });
      return;
    }
    let cy = y;
    cell.lines.forEach((line, i) => {
      if (i > 0) cy += line.gapBefore ?? 1;
      cy += this.textAt(line.text, x, cy, width, { ...line, align: line.align ?? align ?? 'left' }, lineHeights[i]);
    });
  }

  #detailStyles(): { label: TextStyle; body: TextStyle } {
    return {
      label: { font: 'bold', size: this.layout.fontSizes.small, color: this.layout.colors.muted },
      body: { size: this.layout.fontSizes.table, color: this.layout.colors.text },
    };
  }

  #detailLines(block: DetailBlock): string[] {
    const bulleted = block.bullets === true && block.lines.length > 1;
    return block.lines.map((l) => (bulleted ? `•  ${l}` : l));
  }

  #measureDetail(block: DetailBlock, width: number, labelWidth: number): { height: number; lines: number[] } {
    const { label, body } = this.#detailStyles();
    const lines = this.#detailLines(block).map((l) => this.measure(l, width - labelWidth, body));
    const bodyHeight = lines.reduce((h, l) => h + l + 1.5, 0);
    const labelHeight = this.measure(block.label.toUpperCase(), labelWidth - 6, label);
    return { height: Math.max(bodyHeight, labelHeight + 1.5) + 2, lines };
  }

  #drawDetail(block: DetailBlock, x: number, y: number, width: number, labelWidth: number, measured: { height: number; lines: number[] }): number {
    const { label, body } = this.#detailStyles();
    this.textAt(block.label.toUpperCase(), x, y + 1, labelWidth - 6, label);
    let cy = y;
    this.#detailLines(block).forEach((line, i) => {
      cy += this.textAt(line, x + labelWidth, cy, width - labelWidth, body, measured.lines[i]) + 1.5;
    });
    return measured.height;
  }
}
