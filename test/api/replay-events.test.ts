/**
 * Over real HTTP, on every database kind: a request answered with an earlier result leaves a
 * trace (`submission.replayed`): an idempotent replay of a creation or a revision (who sent the key
 * again, which key, and the revision and report they got), and a report requested again under the
 * same ruleset versions. Only the first request of each is recorded as created.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';
import { auditEventsAfter, auditHead, type AuditRow } from '../support/audit-events.js';


describe.each(DATABASE_KINDS)('replays in the audit trail (%s)', (kind) => {
  let app: TestApp;
  let org: string;
  let integrator: { id: string; creds: Credentials };
  let officer: { id: string; creds: Credentials };

  const head = (): Promise<number> => auditHead(app.t.database);
  const after = (seq: number): Promise<AuditRow[]> => auditEventsAfter(app.t.database, seq);

  beforeAll(async () => {
    app = await startTestApp(kind);
    org = await seedOrganization(app, `Replays ${kind}`);
    const c = await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read']);
    integrator = { id: c.id, creds: { kind: 'bearer', token: await clientToken(app, c) } };
    const o = await seedUser(app, org, ['compliance_officer']);
    officer = { id: o.id, creds: { kind: 'session', session: await login(app, o.email) } };
  });
  afterAll(async () => {
    await app.stop();
  });

  it('records a replayed creation and a replayed revision with the key, naming who sent it again', async () => {
    const body = { title: 'Replayed intake bot', ...example('poorly-controlled') };
    const first = await send(app, 'POST', '/v1/assessments', integrator.creds, body, { 'Idempotency-Key': 'create-1' });
    expect(first.status).toBe(201);
    const created = (await first.json()) as { assessment: { id: string }; report: { id: string } };
    // Another member of the organisation sends the same key and body: the original result.
    let before = await head();
    const again = await send(app, 'POST', '/v1/assessments', officer.creds, body, { 'Idempotency-Key': 'create-1' });
    expect(again.status).toBe(200);
    expect(await after(before)).toEqual([
      expect.objectContaining({ action: 'submission.replayed', actor_id: officer.id, organization_id: org, target_type: 'assessment', target_id: created.assessment.id, decision: { kind: 'assessment', revision: 1, reportId: created.report.id, idempotencyKey: 'create-1' } }),
    ]);

    const path = `/v1/assessments/${created.assessment.id}/revisions`;
    const revised = await send(app, 'POST', path, integrator.creds, { answers: example('well-controlled').answers }, { 'Idempotency-Key': 'rev-1' });
    expect(revised.status).toBe(201);
    const revision = (await revised.json()) as { report: { id: string } };
    before = await head();
    expect((await send(app, 'POST', path, integrator.creds, { answers: example('well-controlled').answers }, { 'Idempotency-Key': 'rev-1' })).status).toBe(200);
    expect(await after(before)).toEqual([
      expect.objectContaining({ action: 'submission.replayed', actor_id: integrator.id, target_type: 'assessment', target_id: created.assessment.id, decision: { kind: 'revision', revision: 2, reportId: revision.report.id, idempotencyKey: 'rev-1' } }),
    ]);
    // A key sent with another body is refused (409), not replayed: no replay recorded.
    before = await head();
    expect((await send(app, 'POST', path, integrator.creds, { answers: example('poorly-controlled').answers }, { 'Idempotency-Key': 'rev-1' })).status).toBe(409);
    expect((await after(before)).map((e) => e.action)).toEqual(['request.refused']);
  });

  it('records a report requested again under the same ruleset versions', async () => {
    const res = await send(app, 'POST', '/v1/assessments', integrator.creds, { title: 'Re-evaluated', ...example('poorly-controlled') });
    const id = ((await res.json()) as { assessment: { id: string } }).assessment.id;
    const rulesets = { rulesets: [{ id: 'hipaa-security', version: '1.0.0' }, { id: 'ai-safeguards', version: '1.0.0' }] };
    const made = await send(app, 'POST', `/v1/assessments/${id}/revisions/1/reports`, integrator.creds, rulesets);
    expect(made.status).toBe(201);
    const report = ((await made.json()) as { report: { id: string } }).report.id;
    const before = await head();
    const again = await send(app, 'POST', `/v1/assessments/${id}/revisions/1/reports`, officer.creds, rulesets);
    expect([again.status, ((await again.json()) as { created: boolean }).created]).toEqual([200, false]);
    expect(await after(before)).toEqual([
      expect.objectContaining({ action: 'submission.replayed', actor_id: officer.id, organization_id: org, target_type: 'report', target_id: report, decision: { kind: 'report', revision: 1, reportId: report } }),
    ]);
  });
});
