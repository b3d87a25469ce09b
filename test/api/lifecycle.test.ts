import { generateKeyPairSync } from 'node:crypto';
import { createApp } from '../../src/http/app.js';
import { listen } from '../../src/http/server.js';
import { createLogger } from '../../src/logging/logger.js';
import { createKeyRing } from '../../src/signing/key-ring.js';
import { signReport } from '../../src/signing/jws.js';
import { keysMissingFromRing } from '../../src/assessments/keys.js';
import { verifyReportOffline } from '../../src/signing/verify-offline.js';
import { sha256Hex } from '../../src/util/hash.js';
import { verifyPdfOffline } from '../../src/reports/pdf/verify-pdf.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../support/process.js';
import { run } from '../signing/helpers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example, testPdfIdentity } from '../support/fixtures.js';
import { clientToken, seedClient, seedOrganization, send, type Credentials } from '../auth/helpers.js';

const PROBLEM = 'https://hipaa-ai-risk.dev/problems/';

describe.each(DATABASE_KINDS)('assessment API lifecycle on %s', (kind) => {
  let app: TestApp;
  let integrator: Credentials;
  let other: Credentials;
  const poorly = example('poorly-controlled');
  const well = example('well-controlled');

  let org: string;

  beforeAll(async () => {
    app = await startTestApp(kind);
    org = await seedOrganization(app, `Lifecycle clinic ${kind}`);
    const client = await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read', 'evaluate', 'verify']);
    integrator = { kind: 'bearer', token: await clientToken(app, client) };
    const otherOrg = await seedOrganization(app, `Lifecycle other ${kind}`);
    other = { kind: 'bearer', token: await clientToken(app, await seedClient(app, otherOrg, ['assessments:read', 'assessments:write', 'reports:read'])) };
  });
  afterAll(async () => {
    await app.stop();
  });

  const count = async (table: string): Promise<number> => (await app.t.database.raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

  it('serves the questionnaire, the rulesets and the OpenAPI document', async () => {
    const qs = await send(app, 'GET', '/v1/questionnaires', integrator);
    expect(qs.status).toBe(200);
    const q = (await (await send(app, 'GET', '/v1/questionnaires/1', integrator)).json()) as { version: string; sections: unknown[] };
    expect(q.version).toBe('1');
    expect(q.sections.length).toBeGreaterThan(3);
    const rs = (await (await send(app, 'GET', '/v1/rulesets', integrator)).json()) as { items: { id: string; version: string; sha256: string }[] };
    expect(rs.items.map((r) => r.id)).toEqual(expect.arrayContaining(['hipaa-security', 'ai-safeguards']));
    const one = await send(app, 'GET', `/v1/rulesets/hipaa-security/${rs.items.find((r) => r.id === 'hipaa-security')!.version}`, integrator);
    expect(one.status).toBe(200);
    expect((await send(app, 'GET', '/v1/rulesets/hipaa-security/0.0.0', integrator)).status).toBe(404);
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    for (const p of ['/v1/assessments', '/v1/assessments/{id}/revisions', '/v1/reports/{id}', '/v1/verify', '/v1/evaluate', '/.well-known/jwks.json']) expect(doc.paths).toHaveProperty([p]);
    const docs = await fetch(`${app.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${app.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
  });

  it('evaluates a dry run without storing anything', async () => {
    const before = await count('assessments');
    const res = await send(app, 'POST', '/v1/evaluate', integrator, poorly);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { schema: string; summary: { overallRisk: string } };
    expect(body.schema).toBe('hipaa-ai-risk/evaluation/1');
    expect(['high', 'very_high']).toContain(body.summary.overallRisk);
    expect(await count('assessments')).toBe(before);
  });

  it('runs the whole lifecycle: create, replay, revise, re-evaluate, download, verify, diff', async () => {
    const create = await send(app, 'POST', '/v1/assessments', integrator, { title: 'Patient messaging agent', ...poorly }, { 'Idempotency-Key': `life-${kind}` });
    expect(create.status).toBe(201);
    const created = (await create.json()) as { assessment: { id: string }; revision: { revision: number }; report: { id: string; sha256: string; overallRisk: string } };
    expect(create.headers.get('location')).toBe(`/v1/assessments/${created.assessment.id}`);
    expect(created.revision.revision).toBe(1);

    const replay = await send(app, 'POST', '/v1/assessments', integrator, { title: 'Patient messaging agent', ...poorly }, { 'Idempotency-Key': `life-${kind}` });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replay.json()) as typeof created).report.id).toBe(created.report.id);
    const conflict = await send(app, 'POST', '/v1/assessments', integrator, { title: 'Something else', ...poorly }, { 'Idempotency-Key': `life-${kind}` });
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { type: string }).type).toBe(`${PROBLEM}idempotency-key-reused`);

    const revise = await send(app, 'POST', `/v1/assessments/${created.assessment.id}/revisions`, integrator, { answers: well.answers });
    expect(revise.status).toBe(201);
    const revised = (await revise.json()) as { revision: { revision: number }; report: { id: string; overallRisk: string } };
    expect(revised.revision.revision).toBe(2);
    expect(['very_low', 'low']).toContain(revised.report.overallRisk);

    const older = await send(app, 'POST', `/v1/assessments/${created.assessment.id}/revisions/1/reports`, integrator, { rulesets: [{ id: 'hipaa-security', version: '1.0.0' }, { id: 'ai-safeguards', version: '1.0.0' }] });
    expect([200, 201]).toContain(older.status);
    const olderReport = ((await older.json()) as { report: { id: string } }).report;
    const again = await send(app, 'POST', `/v1/assessments/${created.assessment.id}/revisions/1/reports`, integrator, { rulesets: [{ id: 'hipaa-security', version: '1.0.0' }, { id: 'ai-safeguards', version: '1.0.0' }] });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { report: { id: string } }).report.id).toBe(olderReport.id);

    const view = (await (await send(app, 'GET', `/v1/assessments/${created.assessment.id}`, integrator)).json()) as { revisions: { revision: number; reports: { id: string }[] }[] };
    expect(view.revisions.map((r) => r.revision)).toEqual([1, 2]);

    const json = await send(app, 'GET', `/v1/reports/${created.report.id}`, integrator);
    expect(json.status).toBe(200);
    const bytes = Buffer.from(await json.arrayBuffer());
    expect(json.headers.get('etag')).toBe(`"${sha256Hex(bytes)}"`);
    expect(sha256Hex(bytes)).toBe(created.report.sha256);
    // The report names the caller's organisation, loaded with the caller's credentials.
    expect((JSON.parse(bytes.toString('utf8')) as { assessment: { organization: unknown } }).assessment.organization).toEqual({ id: org, name: `Lifecycle clinic ${kind}` });
    expect(json.headers.get('content-disposition')).toBe(`attachment; filename="report-${created.report.id}.json"`);
    expect((await send(app, 'GET', `/v1/reports/${created.report.id}`, integrator, undefined, { 'If-None-Match': `"${created.report.sha256}"` })).status).toBe(304);
    const again2 = Buffer.from(await (await send(app, 'GET', `/v1/reports/${created.report.id}`, integrator)).arrayBuffer());
    expect(again2.equals(bytes)).toBe(true);

    const jws = await (await send(app, 'GET', `/v1/reports/${created.report.id}/signature`, integrator)).text();
    const jwks = await (await fetch(`${app.url}/.well-known/jwks.json`)).json();
    const offline = await verifyReportOffline(bytes, jws, jwks);
    expect(offline).toMatchObject({ valid: true, kid: app.reportKeys.current.kid, identity: { reportId: created.report.id, assessmentId: created.assessment.id } });

    const pdfRes = await send(app, 'GET', `/v1/reports/${created.report.id}/pdf`, integrator);
    expect(pdfRes.status).toBe(200);
    expect(pdfRes.headers.get('content-type')).toBe('application/pdf');
    expect(pdfRes.headers.get('content-disposition')).toBe(`attachment; filename="report-${created.report.id}.pdf"`);
    const pdf = Buffer.from(await pdfRes.arrayBuffer());
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdfRes.headers.get('etag')).toBe(`"${sha256Hex(pdf)}"`);
    const pdfAgain = Buffer.from(await (await send(app, 'GET', `/v1/reports/${created.report.id}/pdf`, integrator)).arrayBuffer());
    expect(pdfAgain.equals(pdf)).toBe(true);
    const storedPdf = await app.t.database.db.selectFrom('report_pdfs').select(['sha256']).where('report_id', '=', created.report.id).execute();
    expect(storedPdf).toEqual([{ sha256: sha256Hex(pdf) }]);
    // The PDF's signer is trusted only when pinned: the service publishes its certificate's SHA-256.
    const certRes = await fetch(`${app.url}/.well-known/pdf-signing-certificate.json`);
    expect(certRes.status).toBe(200);
    const pin = ((await certRes.json()) as { sha256: string }).sha256;
    expect(pin).toBe((await testPdfIdentity()).fingerprintSha256);
    expect(await verifyPdfOffline(pdf, jwks)).toMatchObject({ valid: false, code: 'pdf-signer-not-verified' });
    const pdfCheck = await verifyPdfOffline(pdf, jwks, { pdfCertSha256: [pin] });
    expect(pdfCheck).toMatchObject({ valid: true, pdf: { intact: true, coversWholeFile: true } });
    await expect(app.t.database.raw.query(`UPDATE report_pdfs SET sha256 = sha256`)).rejects.toThrow(/append-only/);
    // The auditor's offline path for the PDF alone: the CLI, no database, no server.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdf-cli-'));
    fs.writeFileSync(path.join(dir, 'report.pdf'), pdf);
    fs.writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify(jwks));
    // Asynchronously: a blocked event loop (spawnSync) let the server's keep-alive timer close the
    // client's idle socket as the next request went out (ECONNRESET on a busy host).
    const ok = await run(process.execPath, ['bin/hipaa-ai-risk.js', 'verify', '--pdf', path.join(dir, 'report.pdf'), '--jwks', path.join(dir, 'jwks.json'), '--pdf-cert-sha256', pin], { cwd: ROOT });
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringContaining(created.report.id)]);
    const flipped = Buffer.from(pdf);
    flipped[Math.floor(flipped.length / 2)] = flipped[Math.floor(flipped.length / 2)]! ^ 0x20;
    fs.writeFileSync(path.join(dir, 'report.pdf'), flipped);
    const refused = await run(process.execPath, ['bin/hipaa-ai-risk.js', 'verify', '--pdf', path.join(dir, 'report.pdf'), '--jwks', path.join(dir, 'jwks.json'), '--pdf-cert-sha256', pin], { cwd: ROOT });
    expect(refused.code).toBe(1);

    const verified = (await (await send(app, 'POST', '/v1/verify', integrator, { report: bytes.toString('utf8'), jws })).json()) as { valid: boolean; kid: string };
    expect(verified).toMatchObject({ valid: true, kid: app.reportKeys.current.kid });
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 5] = tampered[tampered.length - 5]! ^ 1;
    const bad = (await (await send(app, 'POST', '/v1/verify', integrator, { reportBase64: tampered.toString('base64'), jws })).json()) as { valid: boolean; reason: string };
    expect(bad.valid).toBe(false);

    const diff = (await (await send(app, 'GET', `/v1/reports/${created.report.id}/diff/${revised.report.id}`, integrator)).json()) as { overallRiskChanged: boolean; changes: { citation: string; from: { status: string }; to: { status: string } }[] };
    expect(diff.overallRiskChanged).toBe(true);
    expect(diff.changes.length).toBeGreaterThan(5);
    expect(diff.changes.some((c) => c.from?.status === 'not_met' && c.to?.status === 'met')).toBe(true);

    // another organisation sees none of it
    for (const path of [`/v1/assessments/${created.assessment.id}`, `/v1/reports/${created.report.id}`, `/v1/reports/${created.report.id}/signature`]) {
      expect((await send(app, 'GET', path, other)).status).toBe(404);
    }
    expect((await send(app, 'POST', `/v1/assessments/${created.assessment.id}/revisions`, other, { answers: well.answers })).status).toBe(404);
  });

  it('lists with filters and an opaque keyset cursor', async () => {
    for (let i = 0; i < 3; i++) expect((await send(app, 'POST', '/v1/assessments', integrator, { title: `Paging ${i} zebra`, ...well })).status).toBe(201);
    const first = (await (await send(app, 'GET', '/v1/assessments?limit=2&q=zebra', integrator)).json()) as { items: { title: string }[]; nextCursor: string };
    expect(first.items.map((i) => i.title)).toEqual(['Paging 2 zebra', 'Paging 1 zebra']);
    const second = (await (await send(app, 'GET', `/v1/assessments?limit=2&q=zebra&cursor=${first.nextCursor}`, integrator)).json()) as { items: { title: string }[]; nextCursor: string | null };
    expect(second.items.map((i) => i.title)).toEqual(['Paging 0 zebra']);
    expect(second.nextCursor).toBeNull();
    const high = (await (await send(app, 'GET', '/v1/assessments?overallRisk=very_high&limit=100', integrator)).json()) as { items: { overallRisk: string }[] };
    expect(high.items.every((i) => i.overallRisk === 'very_high')).toBe(true);
    const bad = await send(app, 'GET', '/v1/assessments?cursor=not-a-cursor', integrator);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { pointer: string }).pointer).toBe('/cursor');
  });

  it('refuses a query parameter the operation does not take, instead of answering unfiltered', async () => {
    const created = (await (await send(app, 'POST', '/v1/assessments', integrator, { title: 'Query check', ...well })).json()) as { assessment: { id: string }; report: { id: string } };
    const cases: [string, string, string, string][] = [
      // A misspelt filter would otherwise list every assessment.
      ['/v1/assessments?overall_risk=very_high', '/overall_risk', '"overall_risk"', 'it takes status, overallRisk, createdFrom, createdTo, q, limit, cursor'],
      ['/v1/assessments?limit=5&from=2026-01-01', '/from', '"from"', 'createdFrom'],
      [`/v1/reports/${created.report.id}?download=1`, '/download', '"download"', 'it takes no query parameters'],
      [`/v1/assessments/${created.assessment.id}?a/b~c=1`, '/a~1b~0c', '"a/b~c"', 'it takes no query parameters'],
    ];
    for (const [url, pointer, name, takes] of cases) {
      const res = await send(app, 'GET', url, integrator);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { type: string; detail: string; pointer: string };
      expect(body.type).toBe(`${PROBLEM}bad-request`);
      expect(body.pointer).toBe(pointer);
      expect(body.detail).toContain(`Unknown query parameter ${name}`);
      expect(body.detail).toContain(takes);
    }
    expect((await fetch(`${app.url}/v1/reports/${created.report.id}?x=1`, { method: 'HEAD', headers: { authorization: `Bearer ${(integrator as { token: string }).token}` } })).status).toBe(400);
    // Documented parameters, and paths the document does not have (404), are not affected.
    expect((await send(app, 'GET', '/v1/assessments?overallRisk=low&createdFrom=2026-01-01&limit=5', integrator)).status).toBe(200);
    expect((await send(app, 'GET', '/v1/no-such-thing?x=1', integrator)).status).toBe(404);
    // A repeated one is refused too.
    const repeated = await send(app, 'GET', '/v1/assessments?status=draft&status=submitted', integrator);
    expect(repeated.status).toBe(400);
    expect(((await repeated.json()) as { pointer: string }).pointer).toBe('/status');
    // The document says so for every operation.
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> };
    const without400 = Object.entries(doc.paths).flatMap(([p, item]) => Object.entries(item).filter(([, op]) => op.responses !== undefined && !('400' in op.responses)).map(([m]) => `${m} ${p}`));
    expect(without400).toEqual([]);
  });

  const badInputs: [string, () => RequestInit & { path?: string }, number, string, string | undefined][] = [
    ['malformed JSON', () => ({ body: '{"title": "x", ', headers: { 'content-type': 'application/json' } }), 400, 'malformed-json', ''],
    ['JSON null instead of an object', () => ({ body: 'null' }), 422, 'validation-failed', ''],
    ['a JSON string instead of an object', () => ({ body: '"title"' }), 422, 'validation-failed', ''],
    ['an array instead of an object', () => ({ body: '[]' }), 422, 'validation-failed', ''],
    ['unknown field', () => ({ body: JSON.stringify({ title: 'x', ...well, extra: 1 }) }), 422, 'validation-failed', '/extra'],
    ['wrong type', () => ({ body: JSON.stringify({ ...well, title: 42 }) }), 422, 'validation-failed', '/title'],
    ['answers failing the questionnaire', () => ({ body: JSON.stringify({ title: 'x', questionnaireVersion: '1', answers: { ...well.answers, 'uc.autonomy': 'telepathy' } }) }), 422, 'validation-failed', '/answers/uc.autonomy'],
    ['unknown question', () => ({ body: JSON.stringify({ title: 'x', questionnaireVersion: '1', answers: { ...well.answers, 'no.such': true } }) }), 422, 'validation-failed', '/answers/no.such'],
    ['unknown questionnaire version', () => ({ body: JSON.stringify({ title: 'x', questionnaireVersion: '99', answers: well.answers }) }), 422, 'validation-failed', '/questionnaireVersion'],
    ['unknown ruleset version', () => ({ body: JSON.stringify({ title: 'x', ...well, rulesets: [{ id: 'hipaa-security', version: '9.9.9' }] }) }), 422, 'validation-failed', undefined],
    ['nesting deeper than the schema', () => ({ body: JSON.stringify({ title: 'x', questionnaireVersion: '1', answers: { 'uc.purpose': { a: { b: { c: [[[1]]] } } } } }) }), 422, 'validation-failed', '/answers/uc.purpose'],
    // Deeper than structured clone can copy to a report worker (a RangeError there was a 500).
    ['nesting 5,000 deep', () => ({ body: `{"title":"x","questionnaireVersion":"1","answers":{"uc.users":${'['.repeat(5000)}${']'.repeat(5000)}}}` }), 422, 'validation-failed', '/answers/uc.users/0'],
    ['prototype-pollution key', () => ({ body: `{"title":"x","questionnaireVersion":"1","answers":{"__proto__":{"admin":true}}}` }), 422, 'validation-failed', '/answers/__proto__'],
    ['10,000-character answer', () => ({ body: JSON.stringify({ title: 'x', questionnaireVersion: '1', answers: { ...well.answers, 'uc.purpose': 'x'.repeat(10_000) } }) }), 422, 'validation-failed', '/answers/uc.purpose'],
    ['oversized body', () => ({ body: JSON.stringify({ title: 'x', ...well, pad: 'x'.repeat(2 * 1024 * 1024) }) }), 413, 'payload-too-large', undefined],
    ['bad Idempotency-Key', () => ({ body: JSON.stringify({ title: 'x', ...well }), headers: { 'content-type': 'application/json', 'idempotency-key': 'spaces are bad' } }), 400, 'bad-request', undefined],
  ];
  it.each(badInputs)('refuses %s with a problem and stores nothing', async (_name, init, status, code, pointer) => {
    const tables = ['assessments', 'assessment_revisions', 'reports'];
    const before = await Promise.all(tables.map(count));
    const { headers, ...rest } = init();
    const res = await fetch(`${app.url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${(integrator as { token: string }).token}`, ...(headers as Record<string, string> | undefined) }, ...rest });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const body = (await res.json()) as { type: string; detail: string; pointer?: string };
    expect(body.type).toBe(`${PROBLEM}${code}`);
    expect(body.detail.length).toBeGreaterThan(5);
    if (pointer !== undefined) expect(body.pointer).toBe(pointer);
    expect(await Promise.all(tables.map(count))).toEqual(before);
  });

  it('says what is wrong with a body that is JSON but not an object, and never quotes an unparsable body back', async () => {
    const post = (body: string): Promise<Response> => fetch(`${app.url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${(integrator as { token: string }).token}` }, body });
    const nul = (await (await post('null')).json()) as { detail: string; errors: { pointer: string; detail: string }[] };
    expect(nul.detail).toBe('/: must be object, not null');
    expect(nul.errors).toEqual([{ pointer: '', detail: 'must be object, not null' }]);
    expect(((await (await post('42')).json()) as { detail: string }).detail).toBe('/: must be object, not number');
    // V8's parse errors quote the input; a body may hold patient data, so the detail does not.
    const res = await post('{"title": "x", "answers": {"uc.purpose": Jane Doe, MRN 1234567}}');
    expect(res.status).toBe(400);
    const broken = (await res.json()) as { detail: string };
    expect(broken.detail).toBe('The request body could not be parsed as JSON');
  });

  it('keeps verifying reports signed by a rotated-out key that the ring still holds, and never trusts a key from the database', async () => {
    const res = await send(app, 'POST', '/v1/assessments', integrator, { title: 'Before rotation', ...well });
    const report = ((await res.json()) as { report: { id: string } }).report;
    const bytes = Buffer.from(await (await send(app, 'GET', `/v1/reports/${report.id}`, integrator)).arrayBuffer());
    const jws = await (await send(app, 'GET', `/v1/reports/${report.id}/signature`, integrator)).text();
    // A second instance on the same database after a rotation: a new current key, the old one retired.
    const rotated = await createKeyRing({ purpose: 'report', source: 'test', privateKey: generateKeyPairSync('ed25519').privateKey, retired: app.reportKeys.all.map((k) => ({ publicJwk: k.publicJwk })) });
    // A key slipped into the database by someone with write access, and a report it signed.
    const rogue = generateKeyPairSync('ed25519').privateKey;
    const rogueRing = await createKeyRing({ purpose: 'report', source: 'rogue', privateKey: rogue });
    await app.t.database.raw.query('INSERT INTO signing_keys (kid, purpose, public_jwk, first_seen_at) VALUES ($1, $2, $3, now())', [rogueRing.current.kid, 'report', JSON.stringify(rogueRing.current.publicJwk)]);
    const forgedJws = await signReport(bytes, rogueRing.current);
    const second = createApp({ config: app.config, database: app.t.database, logger: createLogger('silent'), tokenKeys: app.tokenKeys, reportKeys: rotated });
    const server = await listen(second, app.config);
    const verifyOn = async (j: string): Promise<{ valid: boolean; kid?: string; code?: string }> =>
      (await (await fetch(`${server.url}/v1/verify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${(integrator as { token: string }).token}` }, body: JSON.stringify({ reportBase64: bytes.toString('base64'), jws: j }) })).json()) as { valid: boolean; kid?: string; code?: string };
    try {
      const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
      expect(jwks.keys[0]!.kid).toBe(rotated.current.kid);
      expect(jwks.keys.map((k) => k.kid)).toContain(app.reportKeys.current.kid);
      expect(jwks.keys.map((k) => k.kid)).not.toContain(rogueRing.current.kid);
      expect(await verifyOn(jws)).toMatchObject({ valid: true, kid: app.reportKeys.current.kid });
      expect(await verifyOn(forgedJws)).toMatchObject({ valid: false, code: 'unknown-kid' });
      expect(await keysMissingFromRing(app.t.database.db, rotated)).toEqual([rogueRing.current.kid]);
    } finally {
      await server.stop(500);
    }
  });
});

describe.each(DATABASE_KINDS)('hostile strings on %s', (kind) => {
  let app: TestApp;
  let integrator: Credentials;
  const well = example('well-controlled');
  beforeAll(async () => {
    app = await startTestApp(kind);
    const org = await seedOrganization(app, `Hostile ${kind}`);
    integrator = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:read', 'assessments:write', 'verify', 'audit:read'])) };
  });
  afterAll(async () => {
    await app.stop();
  });

  const bodies: [string, string, string][] = [
    ['a NUL in the title', JSON.stringify({ title: 'a\u0000b', ...well }), '/title'],
    ['a NUL in a free-text answer', JSON.stringify({ title: 'x', questionnaireVersion: '1', answers: { ...well.answers, 'uc.purpose': 'notes\u0000' } }), '/answers/uc.purpose'],
    ['a lone surrogate in the title', `{"title":"cut \\ud83d","questionnaireVersion":"1","answers":${JSON.stringify(well.answers)}}`, '/title'],
    // The pointer names the field, with the lone surrogate shown as U+FFFD (src/http/problem.ts, printable).
    ['a lone surrogate in a field name', `{"title":"x","questionnaireVersion":"1","answers":{"\\udc00":1}}`, '/answers/\ufffd'],
  ];
  it.each(bodies)('refuses %s with 422 and the pointer, storing nothing', async (_name, body, pointer) => {
    const res = await fetch(`${app.url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${(integrator as { token: string }).token}` }, body });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { pointer: string }).pointer).toBe(pointer);
  });

  it.each([
    ['/v1/assessments?q=%00', 400],
    ['/v1/assessments?cursor=' + Buffer.from(JSON.stringify(['2020-01-01T00:00:00Z', '------------------------------------'])).toString('base64url'), 400],
    ['/v1/assessments?createdFrom=0000-01-01', 400],
    ['/v1/assessments/%00', 404],
  ])('answers %s with a 4xx problem, not a 500', async (path, status) => {
    const res = await send(app, 'GET', path, integrator);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('keeps a caller-controlled JWS header out of the audit decision (no 500)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'x'.repeat(2500), kid: 'k'.repeat(2500), b64: false, crit: ['b64'] })).toString('base64url');
    const res = await send(app, 'POST', '/v1/verify', integrator, { report: '{"reportId":"' + 'r'.repeat(3000) + '"}', jws: `${header}..AAAA`.slice(0, 4000) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { valid: boolean }).valid).toBe(false);
    // A kid of 300 emoji: each is two UTF-16 units, so a reason cut before its characters were
    // replaced grew to 600 and the event was refused (a 500). Recorded bounded and clean.
    const emoji = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: '\u{1F600}'.repeat(300), b64: false, crit: ['b64'] })).toString('base64url');
    const res2 = await send(app, 'POST', '/v1/verify', integrator, { report: '{}', jws: `${emoji}..${Buffer.alloc(64).toString('base64url')}` });
    expect(res2.status).toBe(200);
    expect(((await res2.json()) as { valid: boolean }).valid).toBe(false);
    const [event] = await app.t.database.raw.query<{ decision: { reason: string } }>("SELECT decision FROM audit_events WHERE action = 'report.verified' ORDER BY seq DESC LIMIT 1");
    expect(event!.decision.reason).toMatch(/^[\x20-\x7e]{1,300}$/);
  });
});
