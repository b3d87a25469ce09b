/**
 * GET /v1/reports/{a}/diff/{b} over real HTTP: any two reports the caller may read can be
 * compared (the API documents "two reports"), and the diff says what each side is (report,
 * assessment, revision, ruleset versions) and whether both are of one assessment, so a diff of
 * two assessments no longer looks like a revision diff. The response matches the published schema.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, seedClient, seedOrganization, send, type Credentials } from '../auth/helpers.js';
import { ReportDiff } from '../../src/http/schemas/reports.js';

interface Side {
  reportId: string;
  assessmentId: string;
  revision: number;
  rulesets: { id: string; version: string }[];
  overallRisk: string;
}
interface Diff {
  from: Side;
  to: Side;
  sameAssessment: boolean;
  overallRiskChanged: boolean;
  changes: unknown[];
  unchanged: number;
}

describe.each(DATABASE_KINDS)('report diffs say what they compare (%s)', (kind) => {
  let app: TestApp;
  let reader: Credentials;
  let a = { id: '', r1: '', r2: '', r1Old: '' };
  let b = { id: '', r1: '' };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const valid = ajv.compile(ReportDiff);

  beforeAll(async () => {
    app = await startTestApp(kind);
    const org = await seedOrganization(app, `Diff clinic ${kind}`);
    const writer: Credentials = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:write'])) };
    reader = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['reports:read'])) };
    const post = async (path: string, body: unknown): Promise<{ assessment: { id: string }; report: { id: string } }> => {
      const res = await send(app, 'POST', path, writer, body);
      expect([200, 201]).toContain(res.status);
      return (await res.json()) as never;
    };
    const created = await post('/v1/assessments', { title: 'Vendor A', ...example('poorly-controlled') });
    const revised = await post(`/v1/assessments/${created.assessment.id}/revisions`, { answers: example('well-controlled').answers });
    const old = (await post(`/v1/assessments/${created.assessment.id}/revisions/1/reports`, { rulesets: [{ id: 'hipaa-security', version: '1.0.0' }] })) as unknown as { report: { id: string } };
    a = { id: created.assessment.id, r1: created.report.id, r2: revised.report.id, r1Old: old.report.id };
    const other = await post('/v1/assessments', { title: 'Vendor B', ...example('well-controlled') });
    b = { id: other.assessment.id, r1: other.report.id };
  });
  afterAll(async () => {
    await app.stop();
  });

  const diff = async (x: string, y: string): Promise<Diff> => {
    const res = await send(app, 'GET', `/v1/reports/${x}/diff/${y}`, reader);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Diff;
    expect(valid(body)).toBe(true);
    return body;
  };

  it('a revision diff names one assessment, both revisions and their ruleset versions', async () => {
    const d = await diff(a.r1, a.r2);
    expect(d.sameAssessment).toBe(true);
    expect(d.from).toMatchObject({ reportId: a.r1, assessmentId: a.id, revision: 1 });
    expect(d.to).toMatchObject({ reportId: a.r2, assessmentId: a.id, revision: 2 });
    expect(d.from.rulesets.length).toBeGreaterThan(0);
    expect(d.changes.length).toBeGreaterThan(0);
  });

  it('a re-evaluation diff names the same revision under other ruleset versions', async () => {
    const d = await diff(a.r1Old, a.r1);
    expect(d.sameAssessment).toBe(true);
    expect([d.from.revision, d.to.revision]).toEqual([1, 1]);
    expect(d.from.rulesets).toEqual([{ id: 'hipaa-security', version: '1.0.0' }]);
    expect(d.to.rulesets).not.toEqual(d.from.rulesets);
  });

  it('a diff of two assessments is allowed and says so: each side its own assessment', async () => {
    const d = await diff(a.r2, b.r1);
    expect(d.sameAssessment).toBe(false);
    expect(d.from).toMatchObject({ reportId: a.r2, assessmentId: a.id, revision: 2 });
    expect(d.to).toMatchObject({ reportId: b.r1, assessmentId: b.id, revision: 1 });
  });

  it('records a report compared with itself as one read of it, and two reports as one read each', async () => {
    const downloads = async (): Promise<{ target_id: string | null }[]> =>
      app.t.database.db.selectFrom('audit_events').select(['target_id']).where('action', '=', 'report.downloaded').orderBy('seq').execute();
    const before = (await downloads()).length;
    expect((await send(app, 'GET', `/v1/reports/${a.r1}/diff/${a.r1}`, reader)).status).toBe(200);
    expect((await downloads()).slice(before)).toEqual([{ target_id: a.r1 }]);
    expect((await send(app, 'GET', `/v1/reports/${a.r1}/diff/${a.r2}`, reader)).status).toBe(200);
    expect((await downloads()).slice(before + 1)).toEqual([{ target_id: a.r1 }, { target_id: a.r2 }]);
  });
});
