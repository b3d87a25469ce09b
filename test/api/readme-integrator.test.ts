/**
 * The README's integrator path, as a new integrator follows it: the API client an administrator
 * creates with the README's own request body, the token the README's command obtains, then the
 * README's "Over the API" and "Download and verify" snippets run as they stand by bash (curl and
 * jq, in a copy of docs/examples, with the README's address replaced by the test server's). Every
 * request they send must succeed: no 403 for a missing scope, no undefined $ID/$A/$B/$REPORT.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { login, seedOrganization, seedUser } from '../auth/helpers.js';

const root = join(import.meta.dirname, '..', '..');
const README = readFileSync(join(root, 'README.md'), 'utf8');
const README_BASE = 'http://127.0.0.1:3000';

/** The one ```sh block of the README that contains `marker`. */
function shBlock(marker: string): string {
  const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes(marker));
  if (blocks.length !== 1) throw new Error(`expected one README sh block containing ${marker}, found ${blocks.length}`);
  return blocks[0]!;
}

/** Runs a bash script; resolves with its exit status and output (killed after 60 s). */
function bash(script: string, cwd: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env: { ...process.env, NODE_OPTIONS: '', ...env }, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The README's snippets need bash, curl and jq (.ci/run installs them); without them, said once and skipped. */
const HAS_TOOLS = spawnSync('bash', ['-c', 'command -v curl && command -v jq'], { stdio: 'ignore' }).status === 0;
if (!HAS_TOOLS) console.warn('curl or jq not found: the README integrator snippets are not run (apt-get install -y curl jq)');
const itTools = HAS_TOOLS ? it : it.skip;

describe('the README integrator path', () => {
  let app: TestApp;
  let dir: string;

  beforeAll(async () => {
    app = await startTestApp(DATABASE_KINDS[0]!);
    dir = mkdtempSync(join(tmpdir(), 'readme-'));
    cpSync(join(root, 'docs', 'examples'), join(dir, 'docs', 'examples'), { recursive: true });
  });
  afterAll(async () => {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('defines BASE where the API snippets start, with the address the service listens on', () => {
    const overTheApi = shBlock('H="Authorization: Bearer $TOKEN"');
    expect(overTheApi.split('\n')[0]).toBe(`BASE=${README_BASE}`);
    expect(README).toContain('`jq`');
    // $ID, $A, $B and $REPORT are assigned before they are used
    const download = shBlock('report.jws');
    const script = `${overTheApi}\n${download}`;
    for (const name of ['ID', 'A', 'B', 'REPORT']) {
      const assigned = script.search(new RegExp(`^${name}=`, 'm'));
      expect({ name, assigned: assigned >= 0 }).toEqual({ name, assigned: true });
      expect(script.search(new RegExp(`\\$${name}\\b`))).toBeGreaterThan(assigned);
    }
  });

  itTools('the client and token the README creates run every API example as written', async () => {
    const org = await seedOrganization(app, 'README clinic');
    const admin = await seedUser(app, org, ['admin', 'compliance_officer']);
    const session = await login(app, admin.email);
    // The administrator's request, with the README's body.
    const clientBlock = shBlock('/v1/api-clients');
    const body = /-d '(\{"name":[^']*\})'/.exec(clientBlock)?.[1];
    expect(body).toBeDefined();
    const created = await fetch(`${app.url}/v1/api-clients`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrf-token': session.csrfToken }, body: body! });
    expect(created.status).toBe(201);
    const client = (await created.json()) as { clientId: string; clientSecret: string };

    const logsBefore = app.logs().length;
    const script = [
      'set -euo pipefail',
      `BASE=${README_BASE}`,
      shBlock('grant_type=client_credentials'),
      shBlock('H="Authorization: Bearer $TOKEN"'),
      shBlock('report.jws').replace('npx hipaa-ai-risk', `node ${join(root, 'bin', 'hipaa-ai-risk.js')}`),
    ]
      .join('\n')
      .replaceAll(README_BASE, app.url);
    // Asynchronously: the server answering the snippets runs in this process.
    const run = await bash(script, dir, { CLIENT_ID: client.clientId, CLIENT_SECRET: client.clientSecret });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });

    // Every request the snippets sent succeeded (the access log has each one's status).
    const requests = app
      .logs()
      .slice(logsBefore)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { method?: string; url?: string; route?: string; status?: number })
      .filter((l) => typeof l.status === 'number');
    expect(requests.length).toBeGreaterThanOrEqual(12);
    expect(requests.filter((r) => r.status! >= 400)).toEqual([]);

    // The token carried the scopes the examples need (the README's token command, /v1/me).
    expect(run.stdout).toMatch(/"scopes":\[[^\]]*"evaluate"/);
    // The list example, run after the revision to the well-controlled answers, lists the assessment.
    const id = (JSON.parse(readFileSync(join(dir, 'created.json'), 'utf8')) as { assessment: { id: string } }).assessment.id;
    const list = /\{"items":\[[\s\S]*?"nextCursor":[^}]*\}/.exec(run.stdout)?.[0] ?? '';
    expect(list).toContain(id);
    expect(list).toContain('"overallRisk":"low"');
    // The offline check and POST /v1/verify both accept the downloaded report.
    expect(run.stdout).toContain('"valid":true');
  });
});
