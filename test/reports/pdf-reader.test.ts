import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { PdfReadError, readEmbeddedFiles, signatureByteRanges } from '../../src/reports/pdf/pdf-reader.js';

/** Assembles a classic PDF (objects + xref + trailer) from object bodies numbered from 1. */
function buildPdf(objects: readonly (string | Buffer)[], rootNum = 1): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xff\xff\xff\xff\n', 'latin1')];
  const offsets: number[] = [];
  let length = parts[0]!.length;
  objects.forEach((body, i) => {
    offsets.push(length);
    const chunk = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`, 'latin1'), typeof body === 'string' ? Buffer.from(body, 'latin1') : body, Buffer.from('\nendobj\n', 'latin1')]);
    parts.push(chunk);
    length += chunk.length;
  });
  const xref = [`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`, ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
  parts.push(Buffer.from(`${xref}trailer\n<<\n/Size ${objects.length + 1}\n/Root ${rootNum} 0 R\n>>\nstartxref\n${length}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(parts);
}

function stream(dict: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`<<\n${dict}\n/Length ${data.length}\n>>\nstream\n`, 'latin1'), data, Buffer.from('\nendstream', 'latin1')]);
}

describe('readEmbeddedFiles', () => {
  it('reads Flate-compressed and unfiltered files, names in PDFDocEncoding and UTF-16BE, through /Kids', () => {
    const json = Buffer.from('{"a":"Ελληνικά (escaped \\\\ ) ok"}', 'utf8');
    const utf16Name = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('résumé-Ж.txt', 'utf16le').swap16()]).toString('hex');
    const pdf = buildPdf([
      '<<\n/Type /Catalog\n/Names << /EmbeddedFiles 2 0 R >>\n>>',
      '<<\n/Kids [3 0 R]\n>>',
      '<<\n/Names [(report.json) 4 0 R <' + utf16Name + '> 6 0 R]\n>>',
      '<<\n/Type /Filespec\n/F (report.json)\n/UF (report.json)\n/AFRelationship /Data\n/EF << /F 5 0 R >>\n>>',
      stream('/Type /EmbeddedFile\n/Subtype /application#2Fjson\n/Filter /FlateDecode', deflateSync(json)),
      '<<\n/Type /Filespec\n/UF <' + utf16Name + '>\n/EF << /F 7 0 R >>\n>>',
      stream('/Type /EmbeddedFile', Buffer.from('plain (not compressed)\n')),
    ]);
    const files = readEmbeddedFiles(pdf);
    expect(files).toHaveLength(2);
    expect(files[0]).toMatchObject({ name: 'report.json', mimeType: 'application/json', relationship: 'Data' });
    expect(files[0]!.bytes.equals(json)).toBe(true);
    expect(files[1]!.name).toBe('résumé-Ж.txt');
    expect(files[1]!.bytes.toString()).toBe('plain (not compressed)\n');
  });

  it('returns no files for a PDF without an EmbeddedFiles tree', () => {
    expect(readEmbeddedFiles(buildPdf(['<<\n/Type /Catalog\n>>']))).toEqual([]);
  });

  it.each([
    ['no startxref', Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n')],
    ['an xref pointing outside the file', Buffer.from('%PDF-1.7\nstartxref\n999999\n%%EOF\n')],
    ['a cross-reference stream', Buffer.from('%PDF-1.7\n1 0 obj\n<</Type/XRef>>\nendobj\nstartxref\n9\n%%EOF\n')],
    ['a reference loop in the name tree', buildPdf(['<<\n/Names << /EmbeddedFiles 2 0 R >>\n>>', '<<\n/Kids [2 0 R]\n>>'])],
    ['a stream longer than the file', buildPdf(['<<\n/Names << /EmbeddedFiles 2 0 R >>\n>>', '<<\n/Names [(x) 3 0 R]\n>>', '<<\n/EF << /F 4 0 R >>\n>>', '<<\n/Length 999999\n>>\nstream\nabc\nendstream'])],
    ['an unsupported filter', buildPdf(['<<\n/Names << /EmbeddedFiles 2 0 R >>\n>>', '<<\n/Names [(x) 3 0 R]\n>>', '<<\n/EF << /F 4 0 R >>\n>>', stream('/Filter /LZWDecode', Buffer.from('abc'))])],
    ['corrupt Flate data', buildPdf(['<<\n/Names << /EmbeddedFiles 2 0 R >>\n>>', '<<\n/Names [(x) 3 0 R]\n>>', '<<\n/EF << /F 4 0 R >>\n>>', stream('/Filter /FlateDecode', Buffer.from('not zlib'))])],
  ])('refuses %s with a PdfReadError', (_name, pdf) => {
    expect(() => readEmbeddedFiles(pdf)).toThrow(PdfReadError);
  });

  it('throws nothing but PdfReadError on randomly damaged input', () => {
    const pdf = buildPdf([
      '<<\n/Type /Catalog\n/Names << /EmbeddedFiles 2 0 R >>\n>>',
      '<<\n/Names [(report.json) 3 0 R]\n>>',
      '<<\n/Type /Filespec\n/UF (report.json)\n/EF << /F 4 0 R >>\n>>',
      stream('/Filter /FlateDecode', deflateSync(Buffer.from('{"x":1}'))),
    ]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(pdf.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
        const damaged = Buffer.from(pdf);
        for (const [at, value] of edits) damaged[at] = value;
        try {
          readEmbeddedFiles(damaged);
        } catch (error) {
          if (!(error instanceof PdfReadError)) throw error;
        }
      }),
      { numRuns: 500, seed: 42 },
    );
  });
});

describe('signatureByteRanges', () => {
  it('finds /ByteRange arrays and ignores malformed ones', () => {
    const text = Buffer.from('x /ByteRange [0 10 20 30] y /ByteRange [1 2] z /ByteRange[ 0  5 9 1 ]');
    expect(signatureByteRanges(text)).toEqual([
      [0, 10, 20, 30],
      [0, 5, 9, 1],
    ]);
  });
});
