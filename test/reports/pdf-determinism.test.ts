import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import PDFDocument from 'pdfkit';
import { Canvas } from '../../src/reports/pdf/canvas.js';
import { FONT, fontPath, loadFonts, SUBSET_PRELOAD } from '../../src/reports/pdf/fonts.js';
import { loadPdfLayout } from '../../src/reports/pdf/layout.js';
import { installPdfkitFastPaths, literalCode, preloadSubset } from '../../src/reports/pdf/pdfkit-fast.js';
import { renderReportPdf } from '../../src/reports/pdf/render.js';
import { collectPdfBytes } from '../../src/signing/pdf-sign.js';
import { hasExecutable, makeTempDir, run } from '../signing/helpers.js';
import { contentStreams, fontFileStreams, normaliseContentStrings, pdfObjects, toUnicodeMaps } from './pdf-objects.js';
import { buildFixtureReport, fixturePdfIdentity, LIGATURE_TEXT, MIXED_SCRIPT_ANSWERS, ROOT, writeAnswersWithText } from './pdf-fixture.js';
import type { FixtureReport } from './pdf-fixture.js';
import type { PdfSigningIdentity } from '../../src/signing/pdf-cert.js';

const HAS_PDFTOTEXT = await hasExecutable('pdftotext');

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let fixture: FixtureReport;
let identity: PdfSigningIdentity;

beforeAll(async () => {
  tmp = await makeTempDir('pdf-determinism-');
  fixture = await buildFixtureReport({ keyDir: join(tmp.dir, 'report-keys') });
  identity = await fixturePdfIdentity(join(tmp.dir, 'data'));
});
afterAll(async () => {
  await tmp.cleanup();
});

/** `report` rendered by a new process (render-child.ts), in a directory of its own under `name`. */
async function renderInChild(report: FixtureReport, name: string, env: Record<string, string> = {}): Promise<Buffer> {
  const dir = join(tmp.dir, name);
  await mkdir(dir);
  await writeFile(join(dir, 'report.json'), report.bytes);
  await writeFile(join(dir, 'report.jws'), report.jws);
  await writeFile(join(dir, 'signing.p12'), identity.p12);
  await writeFile(join(dir, 'signing.pass'), identity.passphrase);
  const child = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'reports', 'render-child.ts'), dir], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  expect(child.stderr).toBe('');
  expect(child.code).toBe(0);
  return readFile(join(dir, 'out.pdf'));
}

describe('report PDF bytes are a pure function of the stored report, its JWS and the certificate', () => {
  it('renders the same bytes twice in one process', async () => {
    const input = { reportBytes: fixture.bytes, jws: fixture.jws, signer: identity };
    const first = await renderReportPdf(input);
    const second = await renderReportPdf(input);
    expect(second.equals(first)).toBe(true);
  });

  it('renders the same bytes in another process with another time zone and locale', async () => {
    const inChild = await renderInChild(fixture, 'tz-locale', { TZ: 'America/Los_Angeles', LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' });

    // This process: UTC (jest may have been started with any TZ; Date reads TZ on each call).
    const savedTz = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      const here = await renderReportPdf({ reportBytes: fixture.bytes, jws: fixture.jws, signer: identity });
      expect(here.length).toBe(inChild.length);
      expect(here.equals(inChild)).toBe(true);
    } finally {
      if (savedTz === undefined) delete process.env.TZ;
      else process.env.TZ = savedTz;
    }
  });

  it('changes when the report bytes change (other answers, another revision)', async () => {
    const other = await buildFixtureReport({ keyDir: join(tmp.dir, 'report-keys'), answersFile: MIXED_SCRIPT_ANSWERS, revision: 4 });
    const a = await renderReportPdf({ reportBytes: fixture.bytes, jws: fixture.jws, signer: identity });
    const b = await renderReportPdf({ reportBytes: other.bytes, jws: other.jws, signer: identity });
    expect(b.equals(a)).toBe(false);
  });
});

describe('a report PDF does not depend on what the thread rendered before it (fonts shared by documents)', () => {
  // fontkit keeps one glyph object per glyph id for the thread, with the code points of the text
  // that first reached it; a ToUnicode map written from those would depend on the documents before.
  let ligatures: FixtureReport;
  beforeAll(async () => {
    const answersFile = await writeAnswersWithText(tmp.dir, LIGATURE_TEXT);
    ligatures = await buildFixtureReport({ keyDir: join(tmp.dir, 'report-keys'), answersFile, title: `Speciﬁcation ﬂow: ${LIGATURE_TEXT}`, revision: 5 });
  });
  const input = (report: FixtureReport) => ({ reportBytes: report.bytes, jws: report.jws, signer: identity });

  it('renders each report the same after the other as a fresh process renders it first', async () => {
    const [ordinaryFresh, ligaturesFresh] = await Promise.all([renderInChild(fixture, 'fresh-ordinary'), renderInChild(ligatures, 'fresh-ligatures')]);
    // Both orders in this thread, which has rendered other reports before.
    const ligaturesFirst = await renderReportPdf(input(ligatures));
    const ordinaryAfter = await renderReportPdf(input(fixture));
    const ligaturesAfter = await renderReportPdf(input(ligatures));
    expect(toUnicodeMaps(ordinaryAfter)).toEqual(toUnicodeMaps(ordinaryFresh));
    expect(ordinaryAfter.length).toBe(ordinaryFresh.length);
    expect(ordinaryAfter.equals(ordinaryFresh)).toBe(true);
    expect(toUnicodeMaps(ligaturesFirst)).toEqual(toUnicodeMaps(ligaturesFresh));
    expect(ligaturesFirst.equals(ligaturesFresh)).toBe(true);
    expect(ligaturesAfter.equals(ligaturesFresh)).toBe(true);
    // Not vacuous: the ordinary report draws "fi" with the ligature glyph and maps it to "f" "i";
    // no ligature character (U+FB00–U+FB06) appears in any of its maps.
    const maps = toUnicodeMaps(ordinaryAfter).map(([, cmap]) => cmap);
    expect(maps.some((cmap) => cmap.includes('<0066 0069>'))).toBe(true);
    for (const cmap of maps) expect(cmap).not.toMatch(/<fb0[0-6]>/i);
    // The other report's maps have the ligature characters it drew.
    expect(toUnicodeMaps(ligaturesFresh).some(([, cmap]) => /<fb01>/i.test(cmap))).toBe(true);
  });

  (HAS_PDFTOTEXT ? it : it.skip)('extracts "specification" as plain letters from a report rendered after one with ligatures', async () => {
    await renderReportPdf(input(ligatures));
    const after = await renderReportPdf(input(fixture));
    await writeFile(join(tmp.dir, 'ordinary-after-ligatures.pdf'), after);
    const text = (await run('pdftotext', ['-enc', 'UTF-8', join(tmp.dir, 'ordinary-after-ligatures.pdf'), '-'])).stdout;
    expect(text).toContain('specification');
    expect(text).not.toMatch(/[\ufb00-\ufb06]/u);
  });
});

describe('the pdfkit shortcuts (src/reports/pdf/pdfkit-fast.ts) change no object but the spelling of glyph strings', () => {
  it('renders both fixtures to the same objects with and without them, interleaved (shared caches)', async () => {
    const other = await buildFixtureReport({ keyDir: join(tmp.dir, 'report-keys'), answersFile: MIXED_SCRIPT_ANSWERS, revision: 4 });
    const inputs = [fixture, other].map((f) => ({ reportBytes: f.bytes, jws: f.jws, signer: identity }));
    const plain = [];
    for (const input of inputs) plain.push(await renderReportPdf(input, { pdfkitFastPaths: false }));
    for (let round = 0; round < 2; round++) {
      for (const [i, input] of inputs.entries()) {
        const fast = await renderReportPdf(input, { pdfkitFastPaths: true });
        const [a, b] = [pdfObjects(fast), pdfObjects(plain[i]!)];
        expect(a.objects.length).toBe(b.objects.length);
        for (const [k, o] of a.objects.entries()) expect({ ...o, stream: o.stream?.length }).toEqual({ ...b.objects[k]!, stream: b.objects[k]!.stream?.length });
        expect(a.objects.map((o) => o.stream)).toEqual(b.objects.map((o) => o.stream));
        expect(a.trailer).toBe(b.trailer);
        // Not vacuous: the files differ, by the spelling of their page streams only.
        expect(fast.length).toBeLessThan(plain[i]!.length);
        expect(contentStreams(fast)).toMatch(/\) 0\] TJ/);
        expect(contentStreams(fast)).not.toMatch(/> 0\] TJ/);
        expect(contentStreams(plain[i]!)).toMatch(/> 0\] TJ/);
      }
    }
  });

  it('writes lines (spaces, tabs, kerning, marks, scripts), colours and embedded files as pdfkit does', async () => {
    const lines = [
      'a  b', ' leading', 'trailing ', '\ttab\tsep\t', '', ' ', '\n', 'Zoë Ångström — Θεραπευτήριο «Υγεία» · Больница №1', '§164.308(a)(1)(ii)(A) ≤ ≥ → ✓', 'a a a a a a',
      // Kerning pairs (pieces inside words, at a word's end, at the line's end) and combining marks (glyph offsets).
      'AVAST Tomorrow WAVE Type', 'LT AV', 'To. Yo, P.', 'e\u0301te\u0301 cafe\u0301 Å', 'AV e\u0301 AV',
      // Over 92 distinct glyphs, so subset ids 10, 13, 40, 41 and 92 (LF, CR, '(', ')' and '\\' as
      // a code's low byte) occur, and occur again in later lines.
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
      'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞß àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ',
      'Fox (jumps) \\ over; ÀÁÂ ΑΒΓ АБВ',
    ];
    const render = async (fast: boolean): Promise<Buffer> => {
      const doc = new PDFDocument({ compress: false, info: { CreationDate: new Date(0), ModDate: new Date(0), Producer: 'test', Creator: 'test' } });
      if (fast) expect(installPdfkitFastPaths(doc)).toBe(true);
      doc.registerFont('Sans', fontPath('DejaVuSans.ttf'));
      doc.registerFont('Bold', fontPath('DejaVuSans-Bold.ttf'));
      const bytes = collectPdfBytes(doc);
      for (const [i, line] of [...lines, ...lines].entries()) {
        doc.font(i % 3 === 0 ? 'Bold' : 'Sans').fontSize(9 + (i % 4));
        doc.fillColor(['#1F2A3B', '#abcdef', 'red', [10, 20, 30]][i % 4] as string);
        doc.save().rect(60, 70 + i * 14, 4, 4).strokeColor(i % 2 === 0 ? '#C62828' : '#00000f').stroke().restore();
        doc.text(line, 72, 72 + i * 14, { lineBreak: false });
        // How canvas.ts draws every line of a report.
        (doc as unknown as { _fragment(t: string, x: number, y: number, o: object): void })._fragment(line, 300, 72 + i * 14, { textWidth: doc.widthOfString(line), wordCount: 1 });
        if (i === lines.length) doc.addPage();
      }
      // Embedded files: the renderer's case, a type to escape, a second file of one name, a hidden one.
      const file = doc.file.bind(doc) as (src: Buffer, o: PDFKit.Mixins.PDFAttachmentOptions & { relationship?: string }) => unknown;
      const when = { creationDate: new Date(0), modifiedDate: new Date(1000) };
      file(Buffer.from('{"a":"é"}'), { name: 'report.json', type: 'application/json', description: 'Report (JSON)', relationship: 'Data', ...when });
      file(Buffer.from('x'), { name: 'odd name.txt', type: 'text/x a#b(c)\u007f', ...when });
      file(Buffer.from('x'), { name: 'odd name.txt', type: 'text/x a#b(c)\u007f', ...when });
      file(Buffer.from('hidden'), { name: 'hidden.bin', hidden: true, ...when });
      doc.end();
      return bytes;
    };
    const [plain, fast] = [await render(false), await render(true)];
    const [a, b] = [pdfObjects(fast), pdfObjects(plain)];
    expect(a.objects.map((o) => o.id)).toEqual(b.objects.map((o) => o.id));
    expect(a.objects).toEqual(b.objects);
    expect(a.trailer).toBe(b.trailer);
    // Not vacuous: pdfkit wrote hex strings, the shortcut literal ones, with every escape.
    const [plainContent, fastContent] = [contentStreams(plain), contentStreams(fast)];
    expect(plainContent).toMatch(/<[0-9a-f]+> 0\] TJ/);
    expect(fastContent).toMatch(/\) 0\] TJ/);
    for (const escape of ['\\(', '\\)', '\\\\', '\\n', '\\r']) expect(fastContent).toContain(escape);
    if (HAS_PDFTOTEXT) {
      // And a real reader gets the same text from both.
      await writeFile(join(tmp.dir, 'lines-plain.pdf'), plain);
      await writeFile(join(tmp.dir, 'lines-fast.pdf'), fast);
      const [textPlain, textFast] = await Promise.all(['plain', 'fast'].map(async (name) => (await run('pdftotext', ['-enc', 'UTF-8', '-layout', join(tmp.dir, `lines-${name}.pdf`), '-'])).stdout));
      expect(textPlain).toContain('Fox (jumps) \\ over');
      expect(textFast).toBe(textPlain);
    }
  });

  it('spells every 2-byte glyph code as a literal string of the same bytes', () => {
    const wrong: number[] = [];
    for (let gid = 0; gid <= 0xffff; gid++) {
      const literal = literalCode(gid);
      if (normaliseContentStrings(`[(${literal}) 0] TJ`) !== `[<${gid.toString(16).padStart(4, '0')}> 0] TJ` || /[\r\n]/.test(literal)) wrong.push(gid);
    }
    expect(wrong).toEqual([]);
    expect([literalCode(0x0a0d), literalCode(0x2829), literalCode(0x5c41)]).toEqual(['\\n\\r', '\\(\\)', '\\\\A']);
  });
});

describe('words shared by documents whose subsets start alike (preloadSubset)', () => {
  type Fragment = { _fragment(t: string, x: number, y: number, o: object): void; _font: { layoutCached(word: string): unknown } };
  const lines = ['Risk analysis §164.308(a)(1)(ii)(A) — required', 'AVAST Tomorrow: To. Yo, P.', 'Zoë Ångström · Больница №1', 'Risk analysis again'];

  /** Draws `lines` in a document; `order` says when the preload happens (or with which text). */
  const render = async (fast: boolean, order: 'preload-first' | 'text-first' | 'other-preload', counter?: { calls: number }, first = 'Ωμέγα first'): Promise<Buffer> => {
    const doc = new PDFDocument({ compress: false, font: null as unknown as string, info: { CreationDate: new Date(0), ModDate: new Date(0), Producer: 'test', Creator: 'test' } });
    if (fast) expect(installPdfkitFastPaths(doc)).toBe(true);
    // The parsed font shared by the documents of the thread, as render.ts registers it.
    doc.registerFont('Sans', loadFonts(loadPdfLayout()).regular as unknown as string);
    const bytes = collectPdfBytes(doc);
    doc.font('Sans').fontSize(10);
    const d = doc as unknown as Fragment;
    const draw = (line: string, y: number): void => d._fragment(line, 72, y, { textWidth: 400, wordCount: 1 });
    if (order === 'text-first') draw(first, 60);
    preloadSubset(doc, order === 'other-preload' ? 'z y x' : SUBSET_PRELOAD);
    // Counts the words looked up to encode them while the lines are drawn.
    const font = d._font;
    const layoutCached = font.layoutCached.bind(font);
    font.layoutCached = (word: string): unknown => {
      if (counter !== undefined) counter.calls++;
      return layoutCached(word);
    };
    for (const [i, line] of lines.entries()) draw(line, 80 + i * 14);
    doc.end();
    return bytes;
  };

  it('writes the same objects as pdfkit whatever other documents of the thread preloaded, and whenever', async () => {
    const orders = ['preload-first', 'text-first', 'other-preload', 'preload-first', 'text-first'] as const;
    for (const order of orders) {
      const [fast, plain] = [await render(true, order), await render(false, order)];
      expect(pdfObjects(fast)).toEqual(pdfObjects(plain));
      expect(contentStreams(fast)).toMatch(/\) 0\] TJ/);
    }
  });

  it('encodes a shared word once per thread: a later document looks up only its other words', async () => {
    await render(true, 'preload-first'); // the thread has now encoded these lines' ASCII words
    const shared = { calls: 0 };
    await render(true, 'preload-first', shared);
    const alone = { calls: 0 };
    await render(true, 'text-first', alone, 'Ψ ψ'); // no other document's subset started so
    const plain = { calls: 0 };
    await render(false, 'preload-first', plain);
    // Only the words of 'Zoë Ångström · Больница №1' with glyphs outside the preload: 'Zoë ',
    // 'Ångström ', 'Больница ' and '№1'.
    expect(shared.calls).toBe(4);
    // A document whose subset starts otherwise, and pdfkit, encode every distinct word (the first
    // document of a subset looks those 4 up twice: once to find they cannot be shared).
    const distinct = new Set(lines.flatMap((line) => line.match(/[^ ]+ ?/g) ?? [])).size;
    expect(alone.calls).toBe(distinct + 4);
    expect(plain.calls).toBeGreaterThanOrEqual(distinct);
  });
});

describe('font files shared by documents whose subsets hold the same glyphs (8 in pdfkit-fast.ts)', () => {
  const font = loadFonts(loadPdfLayout()).regular as unknown as { createSubset(): object };
  // fontkit's TrueType subset, whose `encode` writes a font file: counted while a test runs.
  const subsetClass = Object.getPrototypeOf(font.createSubset()) as { encode: (this: unknown) => Uint8Array };
  const encode = subsetClass.encode;
  let encoded = 0;
  beforeAll(() => {
    subsetClass.encode = function (this: unknown): Uint8Array {
      encoded++;
      return encode.call(this);
    };
  });
  afterAll(() => {
    subsetClass.encode = encode;
  });

  /** A compressed document drawing `lines` in the report's regular font, as render.ts registers it. */
  const render = async (fast: boolean, lines: readonly string[]): Promise<Buffer> => {
    const doc = new PDFDocument({ font: null as unknown as string, info: { CreationDate: new Date(0), ModDate: new Date(0), Producer: 'test', Creator: 'test' } });
    if (fast) expect(installPdfkitFastPaths(doc)).toBe(true);
    doc.registerFont('Sans', font as unknown as string);
    const bytes = collectPdfBytes(doc);
    doc.font('Sans').fontSize(10);
    const d = doc as unknown as { _fragment(t: string, x: number, y: number, o: object): void };
    for (const [i, line] of lines.entries()) d._fragment(line, 72, 80 + i * 14, { textWidth: 400, wordCount: 1 });
    doc.end();
    return bytes;
  };

  it('encodes and deflates a subset once per thread, and writes the bytes pdfkit writes', async () => {
    // Glyphs (Latin Extended-A, a ligature) no other test of this file draws: a list of its own.
    const lines = ['Ŋŧ ǆ ﬁ Ŀ ŉ: a font file of its own', 'and a second line'];
    const before = encoded;
    const first = await render(true, lines);
    expect(encoded).toBe(before + 1);
    const again = await render(true, lines);
    expect(encoded).toBe(before + 1); // the font file of the first document
    expect(again.equals(first)).toBe(true);
    const plain = await render(false, lines);
    expect(encoded).toBe(before + 2);
    expect(pdfObjects(again)).toEqual(pdfObjects(plain));
    // Deflated as pdfkit deflates: the same stream bytes, not only the same font.
    expect(fontFileStreams(again)).toEqual(fontFileStreams(plain));
    expect(fontFileStreams(again)).toHaveLength(1);
  });

  it('gives a subset with another glyph, or the same glyphs in another order, its own font file', async () => {
    const variants = [['Ĳ ĳ: one order'], ['ĳ Ĳ: one order'], ['Ĳ ĳ: one order ŀ']];
    const files: Buffer[] = [];
    for (const lines of [...variants, ...variants]) {
      const [fast, plain] = [await render(true, lines), await render(false, lines)];
      expect(pdfObjects(fast)).toEqual(pdfObjects(plain));
      expect(fontFileStreams(fast)).toEqual(fontFileStreams(plain));
      files.push(...fontFileStreams(fast));
    }
    // Three different font files, each written again the same by the second round.
    expect(new Set(files.map((f) => f.toString('base64'))).size).toBe(3);
  });
});

describe('text colours (canvas.ts writes a colour only when the page’s colour changes)', () => {
  it('writes the colour again after a restore() undid one set inside save(), and on each new page', async () => {
    const layout = loadPdfLayout();
    const doc = new PDFDocument({ compress: false, font: null as unknown as string, info: { CreationDate: new Date(0), ModDate: new Date(0) } });
    const fonts = loadFonts(layout);
    doc.registerFont(FONT.regular, fonts.regular as unknown as string);
    doc.registerFont(FONT.bold, fonts.bold as unknown as string);
    doc.registerFont(FONT.mono, fonts.mono as unknown as string);
    const c = new Canvas(doc, layout);
    const bytes = collectPdfBytes(doc);
    const red = '#C62828';
    const blue = '#1565C0';
    c.textAt('one', 72, 72, 200, { color: red });
    c.textAt('two', 72, 90, 200, { color: red }); // same colour: not written again
    doc.save();
    c.textAt('three', 72, 108, 200, { color: blue }); // inside save(): written, forgotten at restore()
    doc.restore();
    c.textAt('four', 72, 126, 200, { color: blue }); // the page is red again: blue written again
    c.newPage();
    c.textAt('five', 72, 72, 200, { color: blue }); // a new page starts without a colour
    doc.end();
    const pdf = (await bytes).toString('latin1');
    const operators = (hex: string): number => {
      const n = parseInt(hex.slice(1), 16);
      const op = `${[n >> 16, (n >> 8) & 0xff, n & 0xff].map((v) => v / 255).join(' ')} scn`;
      return pdf.split(op).length - 1;
    };
    expect(operators(red)).toBe(1);
    expect(operators(blue)).toBe(3);
  });
});
