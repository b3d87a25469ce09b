/**
 * POST /v1/verify answers as the offline verifier does for what reviewers found it called valid
 * or refused with the wrong error: a genuine audit checkpoint or export manifest (signed with the
 * report key, same header) is not a report, and an attached JWS (the report as its middle part,
 * far over 4096 characters) is `attached-payload`, not a 422.
 */
import { createCheckpoint } from '../../src/audit/checkpoint.js';
import { exportManifestBytes } from '../../src/audit/export.js';
import { signReport } from '../../src/signing/jws.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { auditEvents, clientToken, seedClient, seedOrganization, send, type Credentials } from '../auth/helpers.js';

interface VerifyAnswer {
  readonly valid: boolean;
  readonly kid?: string;
  readonly code?: string;
  readonly reason?: string;
}

describe.each(DATABASE_KINDS)('POST /v1/verify on %s: only a detached report signature is valid', (kind) => {
  let app: TestApp;
  let integrator: Credentials;
  let reportBytes: Buffer;
  let reportJws: string;

  beforeAll(async () => {
    // A body limit above the JWS schema limit, so that limit is what the last test meets.
    app = await startTestApp(kind, { BODY_LIMIT_BYTES: String(8 * 1024 * 1024) });
    const org = await seedOrganization(app, `Verify API ${kind}`);
    integrator = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read', 'verify'])) };
    const created = await send(app, 'POST', '/v1/assessments', integrator, { title: 'Ambient scribe', ...example('poorly-controlled') });
    expect(created.status).toBe(201);
    const { report } = (await created.json()) as { report: { id: string } };
    reportBytes = Buffer.from(await (await send(app, 'GET', `/v1/reports/${report.id}`, integrator)).arrayBuffer());
    reportJws = await (await send(app, 'GET', `/v1/reports/${report.id}/signature`, integrator)).text();
  });
  afterAll(async () => {
    await app.stop();
  });

  const verify = async (body: Record<string, string>): Promise<{ status: number; body: VerifyAnswer }> => {
    const res = await send(app, 'POST', '/v1/verify', integrator, body);
    return { status: res.status, body: (await res.json()) as VerifyAnswer };
  };

  it('still verifies the stored report and its stored JWS', async () => {
    expect(await verify({ reportBase64: reportBytes.toString('base64'), jws: reportJws })).toMatchObject({ status: 200, body: { valid: true, kid: app.reportKeys.current.kid } });
  });

  it('answers a genuine audit checkpoint (payload + JWS) as not valid, code not-a-report', async () => {
    const cp = await createCheckpoint(app.t.database.db, app.reportKeys.current, { force: true });
    expect(cp).not.toBeNull();
    const answer = await verify({ report: cp!.payload, jws: cp!.jws });
    expect(answer).toMatchObject({ status: 200, body: { valid: false, code: 'not-a-report', reason: expect.stringContaining('their schema is "hipaa-ai-risk/audit-checkpoint/1"') } });
    const [last] = (await auditEvents(app, 'report.verified')).slice(-1);
    expect(last?.decision).toMatchObject({ valid: false, kid: null, reportId: null, reason: expect.stringMatching(/^these bytes are not a report/) });
  });

  it('answers a genuine audit export manifest as not valid, code not-a-report', async () => {
    const manifest = exportManifestBytes({ sha256: 'e'.repeat(64), scope: 'all', fromSeq: 1, toSeq: 3, lines: 5 });
    const jws = await signReport(manifest, app.reportKeys.current);
    expect(await verify({ reportBase64: manifest.toString('base64'), jws })).toMatchObject({ status: 200, body: { valid: false, code: 'not-a-report' } });
  });

  it('answers an attached JWS of the report (far over 4096 characters) as not valid, code attached-payload, not 422', async () => {
    const attached = reportJws.replace('..', `.${reportBytes.toString('base64url')}.`);
    expect(attached.length).toBeGreaterThan(4096);
    const answer = await verify({ reportBase64: reportBytes.toString('base64'), jws: attached });
    expect(answer).toMatchObject({ status: 200, body: { valid: false, code: 'attached-payload', reason: 'the JWS carries a payload; a report signature must be detached (empty middle part)' } });
  });

  it('still bounds the JWS: one character past the schema limit is a 422 at /jws', async () => {
    const res = await send(app, 'POST', '/v1/verify', integrator, { report: '{}', jws: `AAAA.${'A'.repeat(3_000_000)}.AAAA` });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { pointer: string }).pointer).toBe('/jws');
  });
});
