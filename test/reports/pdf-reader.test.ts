import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { decodePdfTextString, PdfReadError, readEmbeddedFiles, readSignatureDictionaries, signatureByteRanges } from '../../src/reports/pdf/pdf-reader.js';

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

/** `text` as a PDF text string in UTF-16BE with its byte order mark FE FF. */
function utf16(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
}

/** `bytes` as a literal string, escaped exactly as pdfkit escapes them (PDFObject.convert). */
function literal(bytes: Buffer): Buffer {
  const escapes: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\\': '\\\\', '(': '\\(', ')': '\\)' };
  return Buffer.from(`(${bytes.toString('latin1').replace(/[\n\r\t\b\f()\\]/g, (c) => escapes[c]!)})`, 'latin1');
}

describe('decodePdfTextString (ISO 32000-1 §7.9.2.2)', () => {
  it('reads PDFDocEncoding, which is not Latin-1 at 0x18–0x1F and 0x7F–0xA0', () => {
    const bytes = Buffer.from([0x41, ...Array.from({ length: 8 }, (_, i) => 0x18 + i), 0x7f, ...Array.from({ length: 33 }, (_, i) => 0x80 + i), 0xad, 0xe9, 0xff]);
    // Annex D, Table D.2; 0x7F and 0x9F are undefined there.
    expect(decodePdfTextString(bytes)).toBe('A˘ˇˆ˙˝˛˚˜\uFFFD•†‡…—–ƒ⁄‹›−‰„“”‘’‚™ﬁﬂŁŒŠŸŽıłœšž\uFFFD€\u00ADéÿ');
    expect(decodePdfTextString(Buffer.from([0xfe]))).toBe('þ');
  });

  it('reads UTF-16BE after FE FF: surrogate pairs, language escapes removed, broken code units as U+FFFD', () => {
    expect(decodePdfTextString(utf16('Клиника Σ «Υγεία» 🏥'))).toBe('Клиника Σ «Υγεία» 🏥');
    expect(decodePdfTextString(Buffer.from('feffd83cdfe5d835dd38', 'hex'))).toBe('🏥𝔸');
    // ESC "en" ESC and ESC "enUS" ESC mark the language; they are not text.
    expect(decodePdfTextString(Buffer.from('feff001b656e001b0041001b656e5553001b0042', 'hex'))).toBe('AB');
    expect(decodePdfTextString(Buffer.from('feffd83c0041dfe5001b', 'hex'))).toBe('\uFFFDA\uFFFD\u001b');
    expect(decodePdfTextString(Buffer.from('feff004100', 'hex'))).toBe('A\uFFFD');
    expect(decodePdfTextString(Buffer.from('feff', 'hex'))).toBe('');
  });

  it('reads UTF-8 after EF BB BF (ISO 32000-2 §7.9.2.2.1), invalid bytes as U+FFFD', () => {
    expect(decodePdfTextString(Buffer.concat([Buffer.from('efbbbf', 'hex'), Buffer.from('Больница №1 🏥', 'utf8'), Buffer.from([0xff])]))).toBe('Больница №1 🏥\uFFFD');
  });
});

describe('readSignatureDictionaries', () => {
  const NAME = 'Клиника Σ (ШЩ) ќ Љ Њ Ѝ Ќ Ј 🏥';

  /** A catalog whose /AcroForm holds a signature field, a non-signature field and a signature under /Kids. */
  function signedFormPdf(): Buffer {
    return buildPdf([
      '<<\n/Type /Catalog\n/AcroForm 2 0 R\n>>',
      '<<\n/Fields [3 0 R 7 0 R 5 0 R]\n/SigFlags 3\n>>',
      '<<\n/Type /Annot\n/Subtype /Widget\n/FT /Sig\n/T (Signature1)\n/V 4 0 R\n>>',
      Buffer.concat([
        Buffer.from('<<\n/Type /Sig\n/Filter /Adobe.PPKLite\n/ByteRange [0 10 20 30]   \n/Contents <3082abcd0000>\n/Name ', 'latin1'),
        // pdfkit's form: UTF-16BE with BOM in a literal string, its 28 29 5C 09 0A 0D 0C 08 bytes escaped.
        literal(utf16(NAME)),
        // A hex string: upper and lower case, white space between the digits.
        Buffer.from('\n/Reason <FEFF 0391 03b8 03AE\n03BD 03B1 0020 d83c dfe5>', 'latin1'),
        // PDFDocEncoding with octal escapes, an escaped backslash, an unescaped CR LF (read as LF)
        // and a backslash-newline (read as nothing).
        Buffer.from('\n/Location (Caf\\351 \\222\\225\r\nnext \\\\ back\\\nslash)', 'latin1'),
        // UTF-16BE written with 3- and 1-digit octal escapes.
        Buffer.from('\n/ContactInfo (\\376\\377\\0Z\\000o\\0\\353)\n/M (D:20250304050607Z)\n>>', 'latin1'),
      ]),
      '<<\n/T (parent)\n/Kids [6 0 R]\n>>',
      '<<\n/FT /Sig\n/Parent 5 0 R\n/V << /ByteRange [0 1 2 3] /Name (plain) /Reason 8 0 R >>\n>>',
      '<<\n/FT /Tx\n/T (comment)\n/V (not a signature)\n>>',
      '<FEFF041F0440043E0432043504400435043D043E>',
    ]);
  }

  it('decodes /Name, /Reason, /Location and /ContactInfo from literal, escaped, octal and hex strings', () => {
    expect(readSignatureDictionaries(signedFormPdf())).toEqual([
      { byteRange: [0, 10, 20, 30], name: NAME, reason: 'Αθήνα 🏥', location: 'Café ™Ł\nnext \\ backslash', contactInfo: 'Zoë' },
      { byteRange: [0, 1, 2, 3], name: 'plain', reason: 'Проверено' },
    ]);
  });

  it('finds none without a form, and refuses a looping field tree with a PdfReadError', () => {
    expect(readSignatureDictionaries(buildPdf(['<<\n/Type /Catalog\n>>']))).toEqual([]);
    const loop = buildPdf(['<<\n/Type /Catalog\n/AcroForm << /Fields [2 0 R] >>\n>>', '<<\n/Kids [2 0 R]\n>>']);
    expect(() => readSignatureDictionaries(loop)).toThrow(PdfReadError);
  });

  it('throws nothing but PdfReadError on randomly damaged input', () => {
    const pdf = signedFormPdf();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(pdf.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
        const damaged = Buffer.from(pdf);
        for (const [at, value] of edits) damaged[at] = value;
        try {
          for (const found of readSignatureDictionaries(damaged)) for (const text of [found.name, found.reason, found.location, found.contactInfo]) if (text !== undefined) expect(text.isWellFormed()).toBe(true);
        } catch (error) {
          if (!(error instanceof PdfReadError)) throw error;
        }
      }),
      { numRuns: 500, seed: 42 },
    );
  });
});
