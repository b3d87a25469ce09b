import { join } from 'node:path';
import { createPdfRenderPool } from '../../src/reports/pdf/pool.js';
import type { PdfRenderPool } from '../../src/reports/pdf/pool.js';
import { renderReportPdf } from '../../src/reports/pdf/render.js';
import { AppError } from '../../src/errors.js';
import type { PdfSigningIdentity } from '../../src/signing/pdf-cert.js';
import { makeTempDir } from '../signing/helpers.js';
import { toUnicodeMaps } from './pdf-objects.js';
import { buildFixtureReport, fixturePdfIdentity, LIGATURE_TEXT, writeAnswersWithText } from './pdf-fixture.js';
import type { FixtureReport } from './pdf-fixture.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let fixture: FixtureReport;
let identity: PdfSigningIdentity;
const pools: PdfRenderPool[] = [];

function pool(options: Parameters<typeof createPdfRenderPool>[0] = {}): PdfRenderPool {
  const p = createPdfRenderPool(options);
  pools.push(p);
  return p;
}

beforeAll(async () => {
  tmp = await makeTempDir('pdf-pool-');
  fixture = await buildFixtureReport({ keyDir: join(tmp.dir, 'report-keys') });
  identity = await fixturePdfIdentity(join(tmp.dir, 'data'));
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await tmp.cleanup();
});

describe('the PDF worker pool', () => {
  it('renders in worker threads the same bytes as in-process, several at once', async () => {
    const input = { reportBytes: fixture.bytes, jws: fixture.jws, signer: { p12: identity.p12, passphrase: identity.passphrase } };
    const p = pool({ size: 2 });
    const [a, b, c] = await Promise.all([p.renderInPool(input), p.renderInPool(input), p.renderInPool(input)]);
    const local = await renderReportPdf(input);
    expect(a.equals(local)).toBe(true);
    expect(b.equals(local)).toBe(true);
    expect(c.equals(local)).toBe(true);
    expect(p.stats()).toEqual({ workers: 2, busy: 0, queued: 0 });
  });

  it('renders a report in a worker the same whatever the worker rendered before (ligatures, unusual characters)', async () => {
    const answersFile = await writeAnswersWithText(tmp.dir, LIGATURE_TEXT);
    const ligatures = await buildFixtureReport({ keyDir: join(tmp.dir, 'report-keys'), answersFile, title: `Speciﬁcation ﬂow: ${LIGATURE_TEXT}`, revision: 5 });
    const input = (report: FixtureReport) => ({ reportBytes: report.bytes, jws: report.jws, signer: identity });
    // Two one-worker pools, each worker rendering the two reports in the other order.
    const [one, two] = [pool({ size: 1 }), pool({ size: 1 })];
    const ligaturesFirst = await one.renderInPool(input(ligatures));
    const ordinaryAfter = await one.renderInPool(input(fixture));
    const ordinaryFirst = await two.renderInPool(input(fixture));
    const ligaturesAfter = await two.renderInPool(input(ligatures));
    expect(toUnicodeMaps(ordinaryAfter)).toEqual(toUnicodeMaps(ordinaryFirst));
    expect(ordinaryAfter.equals(ordinaryFirst)).toBe(true);
    expect(toUnicodeMaps(ligaturesAfter)).toEqual(toUnicodeMaps(ligaturesFirst));
    expect(ligaturesAfter.equals(ligaturesFirst)).toBe(true);
    // Not vacuous: the ordinary report maps its "fi" ligature glyph to "f" "i", the other to U+FB01.
    expect(toUnicodeMaps(ordinaryAfter).some(([, cmap]) => cmap.includes('<0066 0069>'))).toBe(true);
    for (const [, cmap] of toUnicodeMaps(ordinaryAfter)) expect(cmap).not.toMatch(/<fb0[0-6]>/i);
    expect(toUnicodeMaps(ligaturesFirst).some(([, cmap]) => /<fb01>/i.test(cmap))).toBe(true);
  });

  it('passes the worker\'s refusal of a bad report through as the same AppError', async () => {
    const p = pool({ size: 1 });
    const refused = p.renderInPool({ reportBytes: Buffer.from('{"not":"a report"}'), jws: fixture.jws, signer: identity });
    await expect(refused).rejects.toBeInstanceOf(AppError);
    await expect(refused).rejects.toMatchObject({ code: 'bad-request' });
  });

  it('refuses work beyond its queue bound with 503 and Retry-After, and keeps serving', async () => {
    const p = pool({ size: 1, maxQueue: 1 });
    const input = { reportBytes: fixture.bytes, jws: fixture.jws, signer: identity };
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => p.renderInPool(input)));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThanOrEqual(2);
    for (const r of refused) expect((r).reason).toMatchObject({ code: 'service-unavailable', headers: { 'Retry-After': '1' } });
    expect(results[0]!.status).toBe('fulfilled');
    await expect(p.renderInPool(input)).resolves.toBeInstanceOf(Buffer);
  });

  it('rejects waiting and new work once closed', async () => {
    const p = pool({ size: 1 });
    const input = { reportBytes: fixture.bytes, jws: fixture.jws, signer: identity };
    const pending = Promise.allSettled([p.renderInPool(input), p.renderInPool(input)]);
    await p.close();
    const settled = await pending;
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    await expect(p.renderInPool(input)).rejects.toMatchObject({ code: 'service-unavailable' });
    await p.close(); // idempotent
  });
});
