/**
 * GET /v1/audit/export ends on a `signature` line: a detached JWS, by the report-signing key, over
 * the SHA-256 of every byte before it, the number of lines, the scope and the range. Without it
 * the chain cannot tie a `link` line's hash to anything, nor the header's range to the service:
 * the reviewer's attacks (an event forged before a link line; invented events ending on a genuine
 * checkpoint; a range truncated to an earlier checkpoint; a header-only export; a line after the
 * signature; a signature by a key not in the JWKS) verified before, and must all fail now, through
 * `verifyAuditExport` and the `audit-verify-export` command, while a genuine export verifies.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportAuditTrail, exportManifestBytes } from '../../src/audit/export.js';
import { hashEventContent, type AuditEventContent } from '../../src/audit/record.js';
import { verifyAuditExport } from '../../src/audit/verify-export.js';
import { main, type CliIo } from '../../src/cli/main.js';
import { signReport, type ReportSigningKey } from '../../src/signing/jws.js';
import { canonicalJson } from '../../src/util/canonical-json.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';

type Line = Record<string, unknown> & { type: string };

const UNSIGNED = 'unsigned export: its link lines and range cannot be authenticated';

const parse = (text: string): Line[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);
/** Lines as the service writes them: canonical JSON, one per line, each ending with "\n". */
const join = (lines: readonly Line[]): string => lines.map((l) => canonicalJson(l) + '\n').join('');
const withoutSignature = (lines: readonly Line[]): Line[] => lines.filter((l) => l.type !== 'signature');

/** What an attacker holding `key` would append: a signature line over exactly these lines. */
async function signedBy(lines: readonly Line[], key: ReportSigningKey): Promise<string> {
  const body = join(lines);
  const header = lines[0]!;
  const manifest = { sha256: createHash('sha256').update(body, 'utf8').digest('hex'), scope: header.scope as 'all' | string[], fromSeq: header.fromSeq as number, toSeq: header.toSeq as number, lines: lines.length };
  return body + canonicalJson({ type: 'signature', ...manifest, kid: key.kid, jws: await signReport(exportManifestBytes(manifest), key) }) + '\n';
}

function attackerKey(): ReportSigningKey {
  return { kid: 'attacker-key', privateKey: generateKeyPairSync('ed25519').privateKey };
}

async function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {} };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

describe.each(DATABASE_KINDS)('the signed audit export on %s', (kind) => {
  let app: TestApp;
  let org: string;
  let auditor: Credentials;
  let admin: Credentials;
  let jwks: unknown;
  let dir: string;
  let jwksFile: string;
  /** The auditor's export as downloaded: events of `org`, link lines for the other organisation. */
  let scoped: Buffer;
  const well = example('well-controlled');

  /** Writes `text` to a file and runs `audit-verify-export` on it with the published JWKS. */
  async function cliVerify(name: string, text: string | Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return cli(['audit-verify-export', file, '--jwks', jwksFile]);
  }

  async function download(who: Credentials, query = ''): Promise<Buffer> {
    const res = await send(app, 'GET', `/v1/audit/export${query}`, who);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  beforeAll(async () => {
    app = await startTestApp(kind);
    org = await seedOrganization(app, `Signed export ${kind}`);
    const other = await seedOrganization(app, `Signed export other ${kind}`);
    auditor = { kind: 'session', session: await login(app, (await seedUser(app, org, ['auditor'], { grants: [org] })).email) };
    admin = { kind: 'session', session: await login(app, (await seedUser(app, org, ['admin'])).email) };
    const tokens = { [org]: await clientToken(app, await seedClient(app, org, ['assessments:write'])), [other]: await clientToken(app, await seedClient(app, other, ['assessments:write'])) };
    // Interleaved organisations: the auditor's export holds event lines followed by link lines.
    for (const o of [org, other, org, other, org, other]) {
      expect((await send(app, 'POST', '/v1/assessments', { kind: 'bearer', token: tokens[o]! }, { title: `Signed ${o}`, ...well })).status).toBe(201);
    }
    jwks = await (await fetch(`${app.url}/.well-known/jwks.json`)).json();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-export-signature-'));
    jwksFile = path.join(dir, 'jwks.json');
    fs.writeFileSync(jwksFile, JSON.stringify(jwks));
    scoped = await download(auditor);
  });
  afterAll(async () => {
    await app.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ends a genuine export on a signature over every byte before it, which verifies (function and CLI)', async () => {
    const lines = parse(scoped.toString('utf8'));
    const signature = lines.at(-1)!;
    const header = lines[0]!;
    expect(signature).toMatchObject({ type: 'signature', scope: [org], fromSeq: header.fromSeq, toSeq: header.toSeq, lines: lines.length - 1, kid: app.reportKeys.current.kid });
    const lastLine = scoped.lastIndexOf('\n', scoped.length - 2);
    expect(signature.sha256).toBe(createHash('sha256').update(scoped.subarray(0, lastLine + 1)).digest('hex'));
    const result = await verifyAuditExport(scoped, jwks);
    expect(result).toMatchObject({ valid: true, reason: null, signedBy: app.reportKeys.current.kid });
    expect(result.links).toBeGreaterThan(0);
    expect(result.events).toBeGreaterThan(0);
    expect((await verifyAuditExport(scoped.toString('utf8'), jwks)).valid).toBe(true);
    const ok = await cliVerify('genuine.jsonl', scoped);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toContain(`export signed by ${app.reportKeys.current.kid}`);
    // Every organisation's export, by an administrator, too.
    const all = await download(admin);
    expect(await verifyAuditExport(all, jwks)).toMatchObject({ valid: true, links: 0 });
  });

  it('refuses an event forged before a link line, its hash recomputed and the link relinked', async () => {
    const lines = parse(scoped.toString('utf8'));
    const i = lines.findIndex((l, n) => l.type === 'event' && lines[n + 1]?.type === 'link');
    expect(i).toBeGreaterThan(0);
    const forged: Line = { ...lines[i]!, actor: { ...(lines[i]!.actor as object), id: 'someone-else' } };
    const { type: _type, hash: _hash, ...content } = forged;
    forged.hash = hashEventContent(content as unknown as AuditEventContent);
    lines[i] = forged;
    lines[i + 1] = { ...lines[i + 1]!, prevHash: forged.hash };
    // The chain and the checkpoints alone accept it (the link's hash is not recomputable) ...
    expect(await verifyAuditExport(join(withoutSignature(lines)), jwks)).toMatchObject({ valid: false, reason: UNSIGNED });
    // ... the export's signature does not.
    const result = await verifyAuditExport(join(lines), jwks);
    expect(result).toMatchObject({ valid: false, reason: expect.stringContaining('does not match its signed SHA-256') });
    // Nor does a signature by the forger's own key.
    expect(await verifyAuditExport(await signedBy(withoutSignature(lines), attackerKey()), jwks)).toMatchObject({ valid: false, reason: expect.stringContaining('attacker-key is not in the key set') });
    const broken = await cliVerify('forged-before-link.jsonl', join(lines));
    expect(broken).toMatchObject({ code: 1, stdout: '' });
    expect(broken.stderr).toMatch(/^audit export BROKEN: the export does not match its signed SHA-256/);
  });

  it('refuses invented events ending on a genuine checkpoint through a crafted link line', async () => {
    const real = parse(scoped.toString('utf8'));
    const header = real[0]!;
    const toSeq = header.toSeq as number;
    const checkpoint = real.find((l) => l.type === 'checkpoint' && l.seq === toSeq)!;
    expect(checkpoint).toBeDefined();
    const invented: Line[] = [header];
    let prev = header.prevHash as string;
    for (let seq = header.fromSeq as number; seq < toSeq; seq++) {
      const content = {
        seq,
        occurredAt: '2020-01-01T00:00:00.000Z',
        action: 'organization.created',
        outcome: 'success',
        actor: { type: 'user', id: 'FAKE', role: 'admin', organizationId: org },
        organizationId: org,
        target: null,
        request: { id: null, ip: null, userAgent: null },
        inputSha256: null,
        decision: { name: `fabricated ${seq}` },
        prevHash: prev,
      };
      const hash = hashEventContent(content as unknown as AuditEventContent);
      invented.push({ type: 'event', ...content, hash });
      prev = hash;
    }
    invented.push({ type: 'link', seq: toSeq, prevHash: prev, hash: checkpoint.hash }, checkpoint);
    expect(await verifyAuditExport(join(invented), jwks)).toMatchObject({ valid: false, reason: UNSIGNED });
    // With the genuine export's signature line, or one by another key: refused as well.
    expect(await verifyAuditExport(join([...invented, real.at(-1)!]), jwks)).toMatchObject({ valid: false, reason: expect.stringContaining('signed SHA-256') });
    expect((await verifyAuditExport(await signedBy(invented, attackerKey()), jwks)).valid).toBe(false);
    const broken = await cliVerify('invented.jsonl', join(invented));
    expect(broken).toMatchObject({ code: 1, stdout: '', stderr: `audit export BROKEN: ${UNSIGNED}\n` });
  });

  it('refuses an export truncated to an earlier checkpoint, its header and signature line edited to match', async () => {
    // A second export signs a later head: the administrator's export now holds two checkpoints.
    const full = parse((await download(admin)).toString('utf8'));
    const checkpoints = full.filter((l) => l.type === 'checkpoint');
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    const first = checkpoints[0]!;
    const cut = first.seq as number;
    const kept: Line[] = [{ ...full[0]!, toSeq: cut }, ...full.filter((l) => (l.type === 'event' && (l.seq as number) <= cut)), first];
    expect(await verifyAuditExport(join(kept), jwks)).toMatchObject({ valid: false, reason: UNSIGNED });
    const signature = full.at(-1)!;
    expect(await verifyAuditExport(join([...kept, signature]), jwks)).toMatchObject({ valid: false, reason: expect.stringContaining('signed SHA-256') });
    const body = join(kept);
    const edited = { ...signature, sha256: createHash('sha256').update(body, 'utf8').digest('hex'), toSeq: cut, lines: kept.length };
    expect(await verifyAuditExport(body + canonicalJson(edited) + '\n', jwks)).toMatchObject({ valid: false, reason: expect.stringContaining("the export's signature is invalid") });
    expect((await cliVerify('truncated.jsonl', join(kept))).code).toBe(1);
  });

  it('refuses a header-only export, with the published keys and with none; a signed empty range verifies', async () => {
    const header = parse(scoped.toString('utf8'))[0]!;
    const toSeq = header.toSeq as number;
    const empty = canonicalJson({ type: 'header', schema: header.schema, scope: 'all', fromSeq: toSeq + 1, toSeq, prevHash: 'a'.repeat(64) }) + '\n';
    expect(await verifyAuditExport(empty, jwks)).toMatchObject({ valid: false, reason: UNSIGNED });
    expect(await verifyAuditExport(empty, { keys: [] })).toMatchObject({ valid: false, reason: UNSIGNED });
    expect((await cliVerify('header-only.jsonl', empty)).code).toBe(1);
    // An empty range is valid only as the service signs it: a scope without events.
    let text = '';
    for await (const line of exportAuditTrail(app.t.database.db, ['no-such-organization'], { toSeq }, app.reportKeys.current)) text += line;
    const lines = parse(text);
    expect(lines.map((l) => l.type)).toEqual(['header', 'signature']);
    expect(lines[0]).toMatchObject({ fromSeq: toSeq + 1, toSeq });
    expect(await verifyAuditExport(text, jwks)).toMatchObject({ valid: true, events: 0, links: 0 });
    expect((await verifyAuditExport(text, { keys: [] })).valid).toBe(false);
    expect(await verifyAuditExport(join(withoutSignature(lines)), jwks)).toMatchObject({ valid: false, reason: UNSIGNED });
  });

  it('refuses a line appended after the signature, even a copy of a genuine line or of the signature', async () => {
    const text = scoped.toString('utf8');
    const lines = text.split('\n').filter((l) => l !== '');
    for (const appended of [lines[1]!, lines.at(-2)!, lines.at(-1)!, '', ' ']) {
      const result = await verifyAuditExport(`${text}${appended}\n`, jwks);
      expect(result).toMatchObject({ valid: false, reason: expect.stringMatching(/signature must be its last line/) });
    }
    // Nor may the signature line itself carry anything more.
    expect((await verifyAuditExport(`${text.slice(0, -1)} \n`, jwks)).valid).toBe(false);
    const withExtra = `${lines.slice(0, -1).join('\n')}\n${canonicalJson({ ...(JSON.parse(lines.at(-1)!) as object), note: 'x' })}\n`;
    expect((await verifyAuditExport(withExtra, jwks)).valid).toBe(false);
    expect((await cliVerify('appended.jsonl', `${text}${lines[1]!}\n`)).code).toBe(1);
  });

  it('refuses a signature by a key not in the JWKS, and the genuine one against a JWKS without its key', async () => {
    const lines = withoutSignature(parse(scoped.toString('utf8')));
    const resigned = await signedBy(lines, attackerKey());
    expect((await verifyAuditExport(resigned, jwks)).reason).toContain('key attacker-key is not in the key set');
    expect((await cliVerify('other-key.jsonl', resigned)).code).toBe(1);
    // The signature line names a published key but its JWS is by another: refused.
    const genuine = parse(scoped.toString('utf8')).at(-1)!;
    const relabelled = resigned.replace(/"kid":"attacker-key"/, `"kid":"${String(genuine.kid)}"`);
    expect((await verifyAuditExport(relabelled, jwks)).valid).toBe(false);
    // The genuine export against a key set that lacks the report key.
    expect((await verifyAuditExport(scoped, { keys: [] })).valid).toBe(false);
  });
});
