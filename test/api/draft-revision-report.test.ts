/**
 * A draft revision has no signed report: POST /v1/assessments/{id}/revisions/{n}/reports on a
 * draft is a 409 problem (complete or incomplete answers alike), and nothing is stored.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { ROOT } from '../support/process.js';
import { clientToken, seedClient, seedOrganization, send, type Credentials } from '../auth/helpers.js';

const PROBLEM = 'https://hipaa-ai-risk.dev/problems/';

describe.each(DATABASE_KINDS)('reports of draft revisions on %s', (kind) => {
  let app: TestApp;
  let integrator: Credentials;
  const well = example('well-controlled');
  const unanswered = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/cases/unanswered-draft.json'), 'utf8')) as { answers: Record<string, unknown> };

  beforeAll(async () => {
    app = await startTestApp(kind);
    const org = await seedOrganization(app, `Draft report clinic ${kind}`);
    integrator = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read'])) };
  });
  afterAll(async () => {
    await app.stop();
  });

  const stored = async (assessmentId: string): Promise<{ reports: number; reportEvents: number }> => {
    const reports = await app.t.database.db.selectFrom('reports').select('id').where('assessment_id', '=', assessmentId).execute();
    const events = await app.t.database.db.selectFrom('audit_events').select('seq').where('action', '=', 'report.created').execute();
    return { reports: reports.length, reportEvents: events.length };
  };

  const expectDraftConflict = async (res: Response, n: number): Promise<void> => {
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ type: `${PROBLEM}conflict`, status: 409, detail: `revision ${n} is a draft; submit it first` });
  };

  it('checks the ruleset versions named with a draft (422 at the pointer) instead of ignoring them, and stores nothing', async () => {
    const count = async (): Promise<number> => (await app.t.database.db.selectFrom('assessments').select('id').execute()).length;
    const before = await count();
    const created = await send(app, 'POST', '/v1/assessments', integrator, { title: 'Draft with rulesets', questionnaireVersion: well.questionnaireVersion, answers: well.answers, draft: true, rulesets: [{ id: 'hipaa-security', version: '9.9.9' }] });
    expect(created.status).toBe(422);
    expect(await created.json()).toMatchObject({ type: `${PROBLEM}validation-failed`, pointer: '/rulesets/0' });
    expect(await count()).toBe(before);
    const ok = await send(app, 'POST', '/v1/assessments', integrator, { title: 'Draft with rulesets', questionnaireVersion: well.questionnaireVersion, answers: well.answers, draft: true, rulesets: [{ id: 'hipaa-security', version: '1.1.0' }] });
    expect(ok.status).toBe(201);
    const { assessment } = (await ok.json()) as { assessment: { id: string } };
    const revised = await send(app, 'POST', `/v1/assessments/${assessment.id}/revisions`, integrator, { answers: well.answers, draft: true, rulesets: [{ id: 'ai-safeguards', version: '0.0.1' }] });
    expect(revised.status).toBe(422);
    expect(await revised.json()).toMatchObject({ pointer: '/rulesets/0' });
    expect((await app.t.database.db.selectFrom('assessment_revisions').select('revision').where('assessment_id', '=', assessment.id).execute()).length).toBe(1);
  });

  it('refuses a report of a draft with complete answers (409), stores nothing, and reports the submitted revision', async () => {
    const created = await send(app, 'POST', '/v1/assessments', integrator, { title: 'Draft then report', questionnaireVersion: well.questionnaireVersion, answers: well.answers, draft: true });
    expect(created.status).toBe(201);
    const { assessment, report } = (await created.json()) as { assessment: { id: string }; report: unknown };
    expect(report).toBeNull();
    const revised = await send(app, 'POST', `/v1/assessments/${assessment.id}/revisions`, integrator, { answers: well.answers, draft: true });
    expect(revised.status).toBe(201);
    const before = await stored(assessment.id);
    expect(before.reports).toBe(0);

    await expectDraftConflict(await send(app, 'POST', `/v1/assessments/${assessment.id}/revisions/2/reports`, integrator), 2);
    await expectDraftConflict(await send(app, 'POST', `/v1/assessments/${assessment.id}/revisions/1/reports`, integrator, {}), 1);
    expect(await stored(assessment.id)).toEqual(before);
    const listed = (await (await send(app, 'GET', '/v1/assessments?status=draft', integrator)).json()) as { items: { id: string; overallRisk?: unknown }[] };
    const row = listed.items.find((i) => i.id === assessment.id);
    expect(row).toBeDefined();
    expect(row?.overallRisk ?? null).toBeNull();

    // Submitted, the same answers have their report.
    const submitted = (await (await send(app, 'POST', `/v1/assessments/${assessment.id}/revisions`, integrator, { answers: well.answers })).json()) as { report: { id: string } };
    const again = await send(app, 'POST', `/v1/assessments/${assessment.id}/revisions/3/reports`, integrator);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ created: false, report: { id: submitted.report.id } });
  });

  it('answers 409, not a 422 about answers the request did not carry, for an incomplete draft', async () => {
    const created = await send(app, 'POST', '/v1/assessments', integrator, { title: 'Incomplete draft', questionnaireVersion: '1', answers: unanswered.answers, draft: true });
    expect(created.status).toBe(201);
    const { assessment } = (await created.json()) as { assessment: { id: string } };
    const before = await stored(assessment.id);
    await expectDraftConflict(await send(app, 'POST', `/v1/assessments/${assessment.id}/revisions/1/reports`, integrator), 1);
    expect(await stored(assessment.id)).toEqual(before);
  });
});
