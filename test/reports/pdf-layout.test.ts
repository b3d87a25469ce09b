import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatUtcDateTime, groupHex, parseIsoInstant } from '../../src/reports/pdf/format.js';
import { DEFAULT_LAYOUT_PATH, fill, loadPdfLayout, text } from '../../src/reports/pdf/layout.js';
import { makeTempDir } from '../signing/helpers.js';

describe('the PDF layout template', () => {
  it('loads, frozen, with every text the drawing code asks for', () => {
    const layout = loadPdfLayout();
    expect(Object.isFrozen(layout.colors)).toBe(true);
    expect(layout.sections[0]).toBe('cover');
    expect(text(layout, 'pageNumber', { n: 2, total: 9 })).toBe('Page 2 of 9');
    expect(() => text(layout, 'no.such.text')).toThrow(/missing/);
  });

  it.each([
    ['a colour that is not #RRGGBB', (l: Record<string, unknown>) => ((l.colors as Record<string, unknown>).text = 'red'), /colors|text/],
    ['risk levels out of NIST order', (l: Record<string, unknown>) => (l.riskLevels as unknown[]).reverse(), /riskLevels/],
    ['a finding status without a style', (l: Record<string, unknown>) => (l.statuses = (l.statuses as { code: string }[]).filter((s) => s.code !== 'not_assessed')), /not_assessed/],
    ['an unknown section', (l: Record<string, unknown>) => (l.sections as string[]).push('appendix'), /appendix/],
  ])('refuses a template with %s', async (_name, breakIt, message) => {
    const tmp = await makeTempDir('pdf-layout-');
    try {
      const layout = JSON.parse(await readFile(DEFAULT_LAYOUT_PATH, 'utf8')) as Record<string, unknown>;
      breakIt(layout);
      const path = join(tmp.dir, 'layout.json');
      await writeFile(path, JSON.stringify(layout));
      expect(() => loadPdfLayout(path)).toThrow(message);
    } finally {
      await tmp.cleanup();
    }
  });

  it('fills known placeholders and leaves unknown ones as written', () => {
    expect(fill('{a} and {b} {}', { a: 1 })).toBe('1 and {b} {}');
  });
});

describe('formatting for reports', () => {
  it('writes UTC date-times the same in any time zone', () => {
    const saved = process.env.TZ;
    try {
      for (const tz of ['UTC', 'America/Los_Angeles', 'Asia/Kolkata']) {
        process.env.TZ = tz;
        expect(formatUtcDateTime(parseIsoInstant('2025-03-04T05:06:07.000Z'))).toBe('2025-03-04 05:06:07 UTC');
        expect(formatUtcDateTime(parseIsoInstant('2025-03-03T21:06:07-08:00'))).toBe('2025-03-04 05:06:07 UTC');
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
    expect(() => parseIsoInstant('2025-03-04 05:06')).toThrow(TypeError);
    expect(groupHex('0123456789abcdef01')).toBe('01234567 89abcdef 01');
  });

});
