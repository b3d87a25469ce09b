/**
 * `Idempotency-Key` on POST /v1/assessments/{id}/revisions, as on POST /v1/assessments: the same
 * key and body replay the original revision and report, the same key with another body is 409,
 * concurrent identical requests add one revision; keys are scoped to the assessment.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';

const PROBLEM = 'https://hipaa-ai-risk.dev/problems/';

interface Submission {
  assessment: { id: string };
  revision: { revision: number; answersSha256: string; submittedAt: string; status: string };
  report: { id: string; sha256: string } | null;
  replayed: boolean;
}

describe.each(DATABASE_KINDS)('Idempotency-Key on revisions on %s', (kind) => {
  let app: TestApp;
  let integrator: Credentials;
  let officer: Credentials;
  const poorly = example('poorly-controlled');
  const well = example('well-controlled');

  beforeAll(async () => {
    app = await startTestApp(kind, { RATE_LIMIT_EVALUATE: '1000' });
    const org = await seedOrganization(app, `Idempotent revisions ${kind}`);
    integrator = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read'])) };
    officer = { kind: 'session', session: await login(app, (await seedUser(app, org, ['compliance_officer'])).email) };
  });
  afterAll(async () => {
    await app.stop();
  });

  const count = async (table: string, assessmentId: string): Promise<number> =>
    (await app.t.database.raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE assessment_id = $1`, [assessmentId]))[0]!.n;
  const revisedEvents = async (assessmentId: string): Promise<number> =>
    (await app.t.database.raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'assessment.revised' AND target_id = $1`, [assessmentId]))[0]!.n;

  async function createAssessment(title: string): Promise<string> {
    const res = await send(app, 'POST', '/v1/assessments', integrator, { title, ...poorly });
    expect(res.status).toBe(201);
    return ((await res.json()) as Submission).assessment.id;
  }

  it('replays the same key and body: the original revision and report, nothing stored again', async () => {
    const id = await createAssessment('Replayed revision');
    const path = `/v1/assessments/${id}/revisions`;
    const first = await send(app, 'POST', path, integrator, { answers: well.answers }, { 'Idempotency-Key': 'rev-replay-1' });
    expect(first.status).toBe(201);
    const original = (await first.json()) as Submission;
    expect(original.revision.revision).toBe(2);
    expect(original.replayed).toBe(false);
    const counts = [await count('assessment_revisions', id), await count('reports', id), await revisedEvents(id)];
    // The revision's event records the key it was submitted with, as a creation's does.
    const recorded = await app.t.database.raw.query<{ decision: Record<string, unknown> }>("SELECT decision FROM audit_events WHERE action = 'assessment.revised' AND target_id = $1 ORDER BY seq", [id]);
    expect(recorded.map((e) => e.decision.idempotencyKey)).toEqual(['rev-replay-1']);

    const again = await send(app, 'POST', path, integrator, { answers: well.answers }, { 'Idempotency-Key': 'rev-replay-1' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(`/v1/assessments/${id}/revisions/2`);
    const replayed = (await again.json()) as Submission;
    expect(replayed).toEqual({ ...original, replayed: true });
    expect(replayed.report!.id).toBe(original.report!.id);
    expect([await count('assessment_revisions', id), await count('reports', id), await revisedEvents(id)]).toEqual(counts);

    // A re-evaluation of the revision adds a newer report: the replay still names the original.
    const older = await send(app, 'POST', `${path}/2/reports`, integrator, { rulesets: [{ id: 'hipaa-security', version: '1.0.0' }, { id: 'ai-safeguards', version: '1.0.0' }] });
    expect([200, 201]).toContain(older.status);
    const third = (await (await send(app, 'POST', path, integrator, { answers: well.answers }, { 'Idempotency-Key': 'rev-replay-1' })).json()) as Submission;
    expect(third.report!.id).toBe(original.report!.id);

    // Without a key, or with another key, the same body is a new revision.
    expect(((await (await send(app, 'POST', path, integrator, { answers: well.answers })).json()) as Submission).revision.revision).toBe(3);
    expect(((await (await send(app, 'POST', path, integrator, { answers: well.answers }, { 'Idempotency-Key': 'rev-replay-2' })).json()) as Submission).revision.revision).toBe(4);
  });

  it('replays a draft revision (no report) by key, for a session too', async () => {
    const id = await createAssessment('Replayed draft');
    const body = { answers: { 'uc.purpose': 'Drafting discharge summaries' }, draft: true };
    const first = await send(app, 'POST', `/v1/assessments/${id}/revisions`, officer, body, { 'Idempotency-Key': 'draft-key' });
    expect(first.status).toBe(201);
    const original = (await first.json()) as Submission;
    expect(original.report).toBeNull();
    const again = await send(app, 'POST', `/v1/assessments/${id}/revisions`, officer, body, { 'Idempotency-Key': 'draft-key' });
    expect(again.status).toBe(200);
    expect((await again.json()) as Submission).toEqual({ ...original, replayed: true });
    expect(await count('assessment_revisions', id)).toBe(2);
  });

  it('refuses the same key with another body (409 idempotency-key-reused), storing nothing', async () => {
    const id = await createAssessment('Reused key');
    const path = `/v1/assessments/${id}/revisions`;
    expect((await send(app, 'POST', path, integrator, { answers: well.answers }, { 'Idempotency-Key': 'rev-conflict' })).status).toBe(201);
    const counts = [await count('assessment_revisions', id), await count('reports', id), await revisedEvents(id)];
    for (const other of [{ answers: poorly.answers }, { answers: well.answers, draft: true }, { answers: well.answers, questionnaireVersion: '1' }]) {
      const res = await send(app, 'POST', path, integrator, other, { 'Idempotency-Key': 'rev-conflict' });
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await res.json()) as { type: string; detail: string };
      expect(problem.type).toBe(`${PROBLEM}idempotency-key-reused`);
      expect(problem.detail).toContain('Idempotency-Key');
    }
    expect([await count('assessment_revisions', id), await count('reports', id), await revisedEvents(id)]).toEqual(counts);
  });

  it('scopes keys to the assessment: one key on two assessments adds a revision to each', async () => {
    const a = await createAssessment('Scope A');
    const b = await createAssessment('Scope B');
    const ra = await send(app, 'POST', `/v1/assessments/${a}/revisions`, integrator, { answers: well.answers }, { 'Idempotency-Key': 'shared-key' });
    const rb = await send(app, 'POST', `/v1/assessments/${b}/revisions`, integrator, { answers: poorly.answers }, { 'Idempotency-Key': 'shared-key' });
    expect([ra.status, rb.status]).toEqual([201, 201]);
    // The key of a creation does not collide with a revision's either.
    const created = await send(app, 'POST', '/v1/assessments', integrator, { title: 'Keyed creation', ...poorly }, { 'Idempotency-Key': 'shared-key' });
    expect(created.status).toBe(201);
    const c = ((await created.json()) as Submission).assessment.id;
    expect((await send(app, 'POST', `/v1/assessments/${c}/revisions`, integrator, { answers: well.answers }, { 'Idempotency-Key': 'shared-key' })).status).toBe(201);
  });

  it('adds exactly one revision for 10 concurrent identical requests, and all answer with it', async () => {
    const id = await createAssessment('Concurrent retries');
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => send(app, 'POST', `/v1/assessments/${id}/revisions`, integrator, { answers: well.answers }, { 'Idempotency-Key': 'rev-concurrent' })),
    );
    const bodies = await Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Submission })));
    expect(bodies.map((b) => b.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(bodies.map((b) => b.body.revision.revision))).toEqual(new Set([2]));
    expect(new Set(bodies.map((b) => b.body.report?.id)).size).toBe(1);
    expect(await count('assessment_revisions', id)).toBe(2);
    expect(await count('reports', id)).toBe(2);
    expect(await revisedEvents(id)).toBe(1);
  });

  it('stores the key with the revision, one revision per key and assessment (migration 0009)', async () => {
    const id = await createAssessment('Unique index');
    expect((await send(app, 'POST', `/v1/assessments/${id}/revisions`, integrator, { answers: well.answers }, { 'Idempotency-Key': 'indexed' })).status).toBe(201);
    const stored = await app.t.database.raw.query<{ revision: number; idempotency_key: string | null; idempotency_sha256: string | null }>('SELECT revision, idempotency_key, idempotency_sha256 FROM assessment_revisions WHERE assessment_id = $1 ORDER BY revision', [id]);
    expect(stored.map((r) => [r.revision, r.idempotency_key])).toEqual([[1, null], [2, 'indexed']]);
    expect(stored[1]!.idempotency_sha256).toMatch(/^[0-9a-f]{64}$/);
    // Another revision row with the key (what a race past the lock would insert) is refused.
    const copy = (revision: number, key: string | null): Promise<unknown> =>
      app.t.database.raw.query(
        `INSERT INTO assessment_revisions (assessment_id, revision, status, questionnaire_version, answers, answers_canonical, answers_sha256, submitted_by_type, submitted_by_id, submitted_by_name, submitted_at, idempotency_key, idempotency_sha256)
         SELECT assessment_id, $2, status, questionnaire_version, answers, answers_canonical, answers_sha256, submitted_by_type, submitted_by_id, submitted_by_name, submitted_at, $3, idempotency_sha256 FROM assessment_revisions WHERE assessment_id = $1 AND revision = 2`,
        [id, revision, key],
      );
    await expect(copy(3, 'indexed')).rejects.toMatchObject({ code: '23505' });
    // Revisions without a key are not constrained (as the previous release inserts them).
    await copy(3, null);
    await copy(4, null);
    expect(await count('assessment_revisions', id)).toBe(4);
  });

  it('refuses a malformed key with a 400 naming the header, no body pointer, nothing stored', async () => {
    const id = await createAssessment('Bad key');
    for (const [path, body] of [[`/v1/assessments/${id}/revisions`, { answers: well.answers }], ['/v1/assessments', { title: 'Bad key', ...well }]] as const) {
      const res = await send(app, 'POST', path, integrator, body, { 'Idempotency-Key': 'spaces are bad' });
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { type: string; detail: string; pointer?: string; errors?: unknown };
      expect(problem.type).toBe(`${PROBLEM}bad-request`);
      expect(problem.detail).toContain('Idempotency-Key header');
      expect(problem).not.toHaveProperty('pointer');
      expect(problem).not.toHaveProperty('errors');
    }
    expect(await count('assessment_revisions', id)).toBe(1);
  });

  it('documents the header, the replay and the 409 of the revisions operation in /openapi.json', async () => {
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; responses: Record<string, { description: string }> }>> };
    const op = doc.paths['/v1/assessments/{id}/revisions']!.post!;
    expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header' })]));
    expect(op.responses['200']).toBeDefined();
    expect(op.responses['409']!.description).toContain('idempotency-key-reused');
    expect(op.responses['400']!.description).toContain('bad-request');
  });
});
