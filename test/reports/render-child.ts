// Renders a report PDF in a separate process (for the determinism test): reads report.json,
// report.jws, signing.p12 and signing.pass from the directory given as argument and writes out.pdf.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderReportPdf } from '../../src/reports/pdf/render.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: render-child.ts <dir>');
const pdf = await renderReportPdf({
  reportBytes: await readFile(join(dir, 'report.json')),
  jws: await readFile(join(dir, 'report.jws'), 'utf8'),
  signer: { p12: await readFile(join(dir, 'signing.p12')), passphrase: await readFile(join(dir, 'signing.pass'), 'utf8') },
});
await writeFile(join(dir, 'out.pdf'), pdf);
