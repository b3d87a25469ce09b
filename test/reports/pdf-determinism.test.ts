import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderReportPdf } from '../../src/reports/pdf/render.js';
import { makeTempDir, run } from '../signing/helpers.js';
import { buildFixtureReport, fixturePdfIdentity, MIXED_SCRIPT_ANSWERS, ROOT } from './pdf-fixture.js';
import type { FixtureReport } from './pdf-fixture.js';
import type { PdfSigningIdentity } from '../../src/signing/pdf-cert.js';

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

describe('report PDF bytes are a pure function of the stored report, its JWS and the certificate', () => {
  it('renders the same bytes twice in one process', async () => {
    const input = { reportBytes: fixture.bytes, jws: fixture.jws, signer: identity };
    const first = await renderReportPdf(input);
    const second = await renderReportPdf(input);
    expect(second.equals(first)).toBe(true);
  });

  it('renders the same bytes in another process with another time zone and locale', async () => {
    await writeFile(join(tmp.dir, 'report.json'), fixture.bytes);
    await writeFile(join(tmp.dir, 'report.jws'), fixture.jws);
    await writeFile(join(tmp.dir, 'signing.p12'), identity.p12);
    await writeFile(join(tmp.dir, 'signing.pass'), identity.passphrase);
    const child = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'reports', 'render-child.ts'), tmp.dir], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TZ: 'America/Los_Angeles', LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' },
    });
    expect(child.stderr).toBe('');
    expect(child.code).toBe(0);
    const inChild = await readFile(join(tmp.dir, 'out.pdf'));

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
