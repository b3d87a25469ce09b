import { randomUUID } from 'node:crypto';
import { AssessmentService } from '../../src/assessments/service.js';
import { rulesEvaluator } from '../../src/assessments/evaluator.js';
import type { Actor } from '../../src/assessments/types.js';
import { verifyReport } from '../../src/signing/jws.js';
import type { ReportKeyRing } from '../../src/signing/report-keys.js';
import { verifyAuditChain } from '../../src/audit/verify.js';
import { AppError } from '../../src/errors.js';
import type { Report } from '../../src/reports/report.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';
import { example, insertOrganization, tempReportKeys } from '../support/fixtures.js';

describe.each(DATABASE_KINDS)('assessment service on %s', (kind) => {
  let t: TestDatabase;
  let ring: ReportKeyRing;
  let service: AssessmentService;
  let actor: Actor;
  let otherOrg: string;
  const poorly = example('poorly-controlled');
  const well = example('well-controlled');

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    ring = await tempReportKeys();
    service = new AssessmentService({ db: t.database.db, evaluator: rulesEvaluator, reportKeys: ring });
    const org = await insertOrganization(t.database, `Clinic ${kind}`);
    otherOrg = await insertOrganization(t.database, `Other ${kind}`);
    actor = { type: 'user', id: randomUUID(), name: 'officer@example.org', role: 'compliance_officer', organizationId: org };
  });
  afterAll(async () => {
    await t.drop();
  });

  it('creates revision 1 with a signed report whose bytes verify against the published key', async () => {
    const r = await service.create(actor, 'Clinic', { title: 'Patient messaging agent', ...poorly });
    expect(r.revision.revision).toBe(1);
    expect(r.report).not.toBeNull();
    const { row } = await service.report(r.report!.id, [actor.organizationId]);
    const report = JSON.parse(row.bytes.toString('utf8')) as Report;
    expect(report).toMatchObject({ schema: 'hipaa-ai-risk/report/1', reportId: r.report!.id, assessment: { id: r.assessment.id, revision: 1, title: 'Patient messaging agent' }, signing: { kid: ring.current.kid } });
    expect(['high', 'very_high']).toContain(report.evaluation.summary.overallRisk);
    expect(await verifyReport(row.bytes, row.jws, ring.jwks())).toEqual({ valid: true, kid: ring.current.kid });
    const audit = await t.database.db.selectFrom('audit_events').selectAll().where('target_id', '=', r.assessment.id).execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'assessment.created', outcome: 'success', actor_id: actor.id, input_sha256: r.revision.answersSha256 });
  });

  it('honours idempotency keys: same body replays, another body is refused, nothing duplicated', async () => {
    const key = `idem-${kind}-1`;
    const body = { title: 'Scribe', ...well };
    const [a, b] = await Promise.all([service.create(actor, 'Clinic', body, { idempotencyKey: key }), service.create(actor, 'Clinic', body, { idempotencyKey: key })]);
    expect(a.assessment.id).toBe(b.assessment.id);
    expect(a.report!.id).toBe(b.report!.id);
    expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
    await expect(service.create(actor, 'Clinic', { ...body, title: 'Changed' }, { idempotencyKey: key })).rejects.toMatchObject({ code: 'idempotency-key-reused', status: 409 });
    const rows = await t.database.db.selectFrom('assessments').select('id').where('idempotency_key', '=', key).execute();
    expect(rows).toHaveLength(1);
  });

  it('numbers 50 concurrent revisions 2..51 with no gap or duplicate', async () => {
    const created = await service.create(actor, 'Clinic', { title: 'Concurrency', ...well });
    const results = await Promise.all(Array.from({ length: 50 }, () => service.revise(actor, 'Clinic', created.assessment.id, { answers: well.answers })));
    expect(results.map((r) => r.revision.revision).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    const view = await service.get(created.assessment.id, [actor.organizationId]);
    expect(view.revisions.map((r) => r.revision)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    expect(view.revisions.every((r) => r.reports.length === 1)).toBe(true);
    expect((await verifyAuditChain(t.database.db, ring.jwks())).valid).toBe(true);
  });

  it('returns the existing report for the same revision and ruleset versions, a new one for other versions', async () => {
    const created = await service.create(actor, 'Clinic', { title: 'Re-evaluate', ...poorly });
    const again = await service.reportForRevision(actor, 'Clinic', created.assessment.id, 1, undefined);
    expect(again).toMatchObject({ created: false, report: { id: created.report!.id, sha256: created.report!.sha256 } });
    const older = await service.reportForRevision(actor, 'Clinic', created.assessment.id, 1, [{ id: 'hipaa-security', version: '1.0.0' }, { id: 'ai-safeguards', version: '1.0.0' }]);
    const usedVersions = created.report!.rulesets.map((r) => `${r.id}@${r.version}`);
    if (usedVersions.includes('hipaa-security@1.0.0')) expect(older.created).toBe(false);
    else expect(older.created).toBe(true);
    expect(older.report.rulesets.map((r) => `${r.id}@${r.version}`).sort()).toEqual(['ai-safeguards@1.0.0', 'hipaa-security@1.0.0']);
    const repeat = await service.reportForRevision(actor, 'Clinic', created.assessment.id, 1, [{ id: 'hipaa-security', version: '1.0.0' }, { id: 'ai-safeguards', version: '1.0.0' }]);
    expect(repeat).toMatchObject({ created: false, report: { id: older.report.id } });
    await expect(service.reportForRevision(actor, 'Clinic', created.assessment.id, 1, [{ id: 'hipaa-security', version: '9.9.9' }])).rejects.toBeInstanceOf(AppError);
  });

  it('regenerates a stored report byte for byte, in a new service instance (as after a restart)', async () => {
    // The organisation's name as stored: regeneration reads it from the database.
    const created = await service.create(actor, `Clinic ${kind}`, { title: 'Determinism', ...poorly });
    const fresh = new AssessmentService({ db: t.database.db, evaluator: rulesEvaluator, reportKeys: ring });
    const { row } = await fresh.report(created.report!.id, [actor.organizationId]);
    const regenerated = await fresh.regenerate(created.report!.id, [actor.organizationId]);
    expect(regenerated.bytes.equals(row.bytes)).toBe(true);
    expect(regenerated.jws).toBe(row.jws);
    expect(regenerated.sha256).toBe(row.sha256);
  });

  it('saves drafts with unanswered required questions as revisions without a report, audited', async () => {
    const partial = { 'uc.name': 'Half-finished scribe' };
    const draft = await service.create(actor, 'Clinic', { title: 'Draft', questionnaireVersion: '1', answers: partial, draft: true });
    expect(draft.revision.status).toBe('draft');
    expect(draft.report).toBeNull();
    const next = await service.revise(actor, 'Clinic', draft.assessment.id, { answers: { ...partial, 'uc.purpose': 'drafts notes' }, draft: true });
    expect(next.revision).toMatchObject({ revision: 2, status: 'draft' });
    // A draft still refuses what is wrong, only required answers may wait.
    await expect(service.revise(actor, 'Clinic', draft.assessment.id, { answers: { 'uc.autonomy': 'telepathy' }, draft: true })).rejects.toMatchObject({ status: 422 });
    // Submitting without the required answers is refused.
    await expect(service.revise(actor, 'Clinic', draft.assessment.id, { answers: partial })).rejects.toMatchObject({ status: 422 });
    const events = await t.database.db.selectFrom('audit_events').select(['action', 'decision']).where('target_id', '=', draft.assessment.id).orderBy('seq').execute();
    expect(events.map((e) => [e.action, (e.decision as { draft: boolean; reportId: string | null }).draft, (e.decision as { reportId: string | null }).reportId])).toEqual([
      ['assessment.created', true, null],
      ['assessment.revised', true, null],
    ]);
  });

  it('answers 404 for another organisation, and stores nothing for invalid answers', async () => {
    const created = await service.create(actor, 'Clinic', { title: 'Private', ...well });
    await expect(service.get(created.assessment.id, [otherOrg])).rejects.toMatchObject({ status: 404 });
    await expect(service.report(created.report!.id, [otherOrg])).rejects.toMatchObject({ status: 404 });
    const before = await t.database.raw.query<{ n: number }>('SELECT count(*)::int AS n FROM assessments');
    await expect(service.create(actor, 'Clinic', { title: 'Bad', questionnaireVersion: '1', answers: { 'no.such.question': true } })).rejects.toMatchObject({ status: 422, code: 'validation-failed' });
    await expect(service.create(actor, 'Clinic', { title: 'Bad', questionnaireVersion: '42', answers: {} })).rejects.toMatchObject({ status: 422 });
    const after = await t.database.raw.query<{ n: number }>('SELECT count(*)::int AS n FROM assessments');
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('stores none of a submission\'s rows when the database refuses its audit event, for a new key too', async () => {
    const tables = ['assessments', 'assessment_revisions', 'reports', 'report_rulesets', 'rulesets_used', 'signing_keys', 'audit_pending', 'audit_events'];
    const counts = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      for (const table of tables) out[table] = (await t.database.raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;
      return out;
    };
    const existing = await service.create(actor, 'Clinic', { title: 'Refusal target', ...well });
    // The audit event is the last row a submission writes: refusing it must undo the others.
    await t.database.raw.query('CREATE TABLE refuse_audit (id int)');
    await t.database.raw.query(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF EXISTS (SELECT 1 FROM refuse_audit) THEN RAISE EXCEPTION 'audit event refused (test)'; END IF; RETURN NEW; END $$`);
    await t.database.raw.query('CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_pending FOR EACH ROW EXECUTE FUNCTION refuse_audit()');
    try {
      await t.database.raw.query('INSERT INTO refuse_audit VALUES (1)');
      const before = await counts();
      await expect(service.create(actor, 'Clinic', { title: 'Refused', ...poorly })).rejects.toThrow(/audit event refused/);
      await expect(service.revise(actor, 'Clinic', existing.assessment.id, { answers: poorly.answers })).rejects.toThrow(/audit event refused/);
      await expect(service.reportForRevision(actor, 'Clinic', existing.assessment.id, 1, [{ id: 'hipaa-security', version: '1.0.0' }])).rejects.toThrow(/audit event refused/);
      // A service with a key the database has not seen records the key (and its audit event) in
      // the submission's transaction: refused together.
      const fresh = new AssessmentService({ db: t.database.db, evaluator: rulesEvaluator, reportKeys: await tempReportKeys() });
      await expect(fresh.create(actor, 'Clinic', { title: 'Refused with a new key', ...poorly })).rejects.toThrow(/audit event refused/);
      expect(await counts()).toEqual(before);
    } finally {
      await t.database.raw.query('DROP TRIGGER refuse_audit ON audit_pending');
      await t.database.raw.query('DROP FUNCTION refuse_audit()');
      await t.database.raw.query('DROP TABLE refuse_audit');
    }
    const after = await service.revise(actor, 'Clinic', existing.assessment.id, { answers: poorly.answers });
    expect(after.revision.revision).toBe(2);
  });

  it.each(['assessments', 'assessment_revisions', 'reports', 'report_rulesets', 'rulesets_used', 'signing_keys'])('refuses UPDATE and DELETE on %s once it holds data', async (table) => {
    const rows = await t.database.raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    expect(rows[0]!.n).toBeGreaterThan(0);
    const column = (await t.database.raw.query<{ c: string }>(`SELECT column_name AS c FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position LIMIT 1`, [table]))[0]!.c;
    await expect(t.database.raw.query(`UPDATE ${table} SET ${column} = ${column}`)).rejects.toThrow(/append-only/);
    await expect(t.database.raw.query(`DELETE FROM ${table}`)).rejects.toThrow(/append-only/);
  });
});
