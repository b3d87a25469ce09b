/**
 * The PDF's own "Verifying this report" page is what an auditor holding only the PDF follows, so
 * its commands are run here as printed (read back from the PDF with pdftotext), against the real
 * service for the JWKS and the PDF signing certificate: each must end in VALID. A reviewer found
 * the one-step command printed without `--pdf-cert-sha256`, which answers SIGNER NOT VERIFIED
 * (exit 3), while the page said it prints VALID.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApp, type TestApp } from '../support/app.js';
import { example } from '../support/fixtures.js';
import { ROOT } from '../support/process.js';
import { clientToken, seedClient, seedOrganization, send, type Credentials } from '../auth/helpers.js';
import { hasExecutable, run } from '../signing/helpers.js';

const TOOLS = ['pdftotext', 'pdfdetach', 'curl', 'jq', 'bash'];
const missing: string[] = [];
for (const tool of TOOLS) if (!(await hasExecutable(tool, tool === 'bash' || tool === 'curl' || tool === 'jq' ? '--version' : '-v'))) missing.push(tool);
if (missing.length > 0) console.warn(`${missing.join(', ')} not found: the test that runs the PDF's verification commands is skipped`);
const maybe = missing.length === 0 ? it : it.skip;

/** The text of the PDF's verification section, as pdftotext reads it. */
async function verificationText(pdfPath: string): Promise<string> {
  const out = await run('pdftotext', ['-enc', 'UTF-8', '-layout', pdfPath, '-']);
  if (out.code !== 0) throw new Error(out.stderr);
  const text = out.stdout;
  const start = text.lastIndexOf('Verifying this report');
  expect(start).toBeGreaterThan(0);
  return text.slice(start);
}

/** The printed command lines: those that start with one of the commands the page names. */
function commandLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(curl -|PIN=|npx hipaa-ai-risk |pdfdetach -|pdfsig report)/.test(l));
}

describe('the PDF verification page', () => {
  let app: TestApp;
  let integrator: Credentials;
  let dir: string;

  beforeAll(async () => {
    app = await startTestApp('pglite');
    const org = await seedOrganization(app, 'Verification page clinic');
    integrator = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read'])) };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdf-verify-page-'));
  });
  afterAll(async () => {
    await app.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  maybe('prints commands that verify the PDF and its embedded report as written, each ending in VALID', async () => {
    const created = (await (await send(app, 'POST', '/v1/assessments', integrator, { title: 'Verification page', ...example('poorly-controlled') })).json()) as { report: { id: string } };
    const pdfRes = await send(app, 'GET', `/v1/reports/${created.report.id}/pdf`, integrator);
    expect(pdfRes.status).toBe(200);
    fs.writeFileSync(path.join(dir, 'report.pdf'), Buffer.from(await pdfRes.arrayBuffer()));

    const text = await verificationText(path.join(dir, 'report.pdf'));
    const lines = commandLines(text);
    // Two-step (extract, fetch the keys, verify) and one-step (the PDF with its pinned certificate).
    expect(lines).toEqual([
      'pdfsig report.pdf',
      'pdfdetach -list report.pdf',
      'pdfdetach -saveall report.pdf',
      'curl -o jwks.json https://<service-host>/.well-known/jwks.json',
      'npx hipaa-ai-risk verify report.json report.jws --jwks jwks.json',
      'curl -o certificate.json https://<service-host>/.well-known/pdf-signing-certificate.json',
      'PIN=$(jq -r .sha256 certificate.json)',
      'npx hipaa-ai-risk verify --pdf report.pdf --jwks jwks.json --pdf-cert-sha256 "$PIN"',
    ]);
    expect(text).toContain('/.well-known/pdf-signing-certificate.json');

    // Run them as printed, with the service's address for <service-host> (plain HTTP here) and the
    // package's own bin for npx (what `npx hipaa-ai-risk` runs once the package is installed).
    const script = lines
      .filter((l) => !l.startsWith('pdfsig '))
      .map((l) =>
        l
          .replace('https://<service-host>', app.url)
          .replace('curl -o', 'curl -sSf -o')
          .replace('npx hipaa-ai-risk', `node ${JSON.stringify(path.join(ROOT, 'bin', 'hipaa-ai-risk.js'))}`),
      );
    // Asynchronously: the service answering curl runs in this process.
    const outputs: { code: number; stdout: string }[] = [];
    let env = '';
    for (const line of script) {
      // Each line in the same shell state: the PIN assignment carries over to the next line.
      const result = await run('bash', ['-c', `set -e\n${env}\n${line}`], { cwd: dir });
      if (line.startsWith('PIN=')) env = line;
      outputs.push({ code: result.code, stdout: result.stdout + result.stderr });
    }
    expect(outputs.map((o) => o.code)).toEqual(script.map(() => 0));
    const verifications = outputs.filter((_o, i) => script[i]!.includes('hipaa-ai-risk.js'));
    expect(verifications).toHaveLength(2);
    for (const v of verifications) {
      expect(v.stdout).toMatch(/^VALID: /);
      expect(v.stdout).toContain(created.report.id);
    }
  });
});
