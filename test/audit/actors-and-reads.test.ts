/**
 * Over real HTTP: the role an event records is one that permitted the action (and, for another
 * organisation's resource, reached it); reading a revision's raw answers is recorded; the audit
 * trail of one assessment is paged with a cursor instead of stopping silently.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { canonicalJson } from '../../src/util/canonical-json.js';
import { sha256Hex } from '../../src/util/hash.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';

interface Event {
  seq: number;
  action: string;
  organizationId: string | null;
  actor: { type: string; id: string | null; role: string | null; organizationId: string | null };
  target: { type: string; id: string } | null;
  inputSha256: string | null;
  decision: Record<string, unknown>;
}

describe.each(DATABASE_KINDS)('audit actors, revision reads and trail pages on %s', (kind) => {
  let app: TestApp;
  let own: string;
  let granted: string;
  let officerAdmin: { id: string; creds: Credentials };
  let officerAuditor: { id: string; creds: Credentials };
  let ownClient: Credentials;
  let grantedClient: Credentials;
  let ownAssessment: { id: string; reportId: string };
  let grantedAssessment: { id: string; reportId: string };
  const well = example('well-controlled');
  const poorly = example('poorly-controlled');

  const submit = async (creds: Credentials, title: string): Promise<{ id: string; reportId: string }> => {
    const res = await send(app, 'POST', '/v1/assessments', creds, { title, ...poorly });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { assessment: { id: string }; report: { id: string } };
    return { id: body.assessment.id, reportId: body.report.id };
  };

  /** The newest stored event of `action` by `actorId`, as the API shows it. */
  const lastEvent = async (action: string, actorId: string): Promise<Event> => {
    const res = await send(app, 'GET', `/v1/audit/events?limit=1000&action=${action}&actor=${actorId}`, officerAdmin.creds);
    expect(res.status).toBe(200);
    const items = ((await res.json()) as { items: Event[] }).items;
    const e = items.at(-1);
    if (!e) throw new Error(`no ${action} event by ${actorId}`);
    return e;
  };

  beforeAll(async () => {
    app = await startTestApp(kind);
    own = await seedOrganization(app, `Actors own ${kind}`);
    granted = await seedOrganization(app, `Actors granted ${kind}`);
    const oa = await seedUser(app, own, ['compliance_officer', 'admin']);
    officerAdmin = { id: oa.id, creds: { kind: 'session', session: await login(app, oa.email) } };
    const oau = await seedUser(app, own, ['compliance_officer', 'auditor'], { grants: [granted] });
    officerAuditor = { id: oau.id, creds: { kind: 'session', session: await login(app, oau.email) } };
    ownClient = { kind: 'bearer', token: await clientToken(app, await seedClient(app, own, ['assessments:read', 'assessments:write', 'reports:read'])) };
    grantedClient = { kind: 'bearer', token: await clientToken(app, await seedClient(app, granted, ['assessments:read', 'assessments:write', 'reports:read'])) };
    ownAssessment = await submit(ownClient, 'Own scribe');
    grantedAssessment = await submit(grantedClient, 'Granted scribe');
  });
  afterAll(async () => {
    await app.stop();
  });

  it('records the admin role, not compliance_officer, for a checkpoint and a chain verification', async () => {
    expect((await send(app, 'POST', '/v1/audit/checkpoints', officerAdmin.creds, {})).status).toBe(201);
    expect((await lastEvent('audit.checkpoint.created', officerAdmin.id)).actor).toMatchObject({ type: 'user', id: officerAdmin.id, role: 'admin' });
    expect((await send(app, 'GET', '/v1/audit/verify', officerAdmin.creds)).status).toBe(200);
    expect((await lastEvent('audit.verified', officerAdmin.id)).actor.role).toBe('admin');
    expect((await send(app, 'GET', '/v1/audit/export', officerAdmin.creds)).status).toBe(200);
    expect((await lastEvent('audit.exported', officerAdmin.id)).actor.role).toBe('admin');
  });

  it('records auditor for a granted organisation\'s report and compliance_officer for the own one', async () => {
    expect((await send(app, 'GET', `/v1/reports/${grantedAssessment.reportId}`, officerAuditor.creds)).status).toBe(200);
    const grantedDownload = await lastEvent('report.downloaded', officerAuditor.id);
    expect(grantedDownload).toMatchObject({ organizationId: granted, target: { type: 'report', id: grantedAssessment.reportId }, actor: { role: 'auditor' } });
    expect((await send(app, 'GET', `/v1/reports/${ownAssessment.reportId}/signature`, officerAuditor.creds)).status).toBe(200);
    expect(await lastEvent('report.downloaded', officerAuditor.id)).toMatchObject({ organizationId: own, actor: { role: 'compliance_officer' } });
  });

  it('records the permitting role of a submission, and none for an API client', async () => {
    const mine = await submit(officerAdmin.creds, 'Officer admin scribe');
    const created = await lastEvent('assessment.created', officerAdmin.id);
    expect(created).toMatchObject({ target: { id: mine.id }, actor: { role: 'compliance_officer' } });
    const clientEvent = (await app.t.database.db.selectFrom('audit_events').select(['actor_type', 'actor_role']).where('action', '=', 'assessment.created').where('target_id', '=', ownAssessment.id).executeTakeFirstOrThrow());
    expect(clientEvent).toEqual({ actor_type: 'client', actor_role: null });
  });

  it('records each read of a revision\'s answers in the assessment\'s organisation', async () => {
    const res = await send(app, 'GET', `/v1/assessments/${grantedAssessment.id}/revisions/1`, officerAuditor.creds);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { assessmentId: string; revision: number; answers: unknown };
    expect(body).toMatchObject({ assessmentId: grantedAssessment.id, revision: 1, answers: poorly.answers });
    const read = await lastEvent('assessment.revision_read', officerAuditor.id);
    expect(read).toMatchObject({
      organizationId: granted,
      target: { type: 'assessment', id: grantedAssessment.id },
      actor: { type: 'user', id: officerAuditor.id, role: 'auditor', organizationId: own },
      inputSha256: sha256Hex(canonicalJson(poorly.answers)),
      decision: { revision: 1, questionnaireVersion: '1' },
    });
    // The assessment's own trail shows it, for the organisation's auditors.
    const trail = (await (await send(app, 'GET', `/v1/assessments/${grantedAssessment.id}/audit`, officerAuditor.creds)).json()) as { items: Event[] };
    expect(trail.items.some((e) => e.action === 'assessment.revision_read' && e.actor.id === officerAuditor.id)).toBe(true);
    // A revision that does not exist is a 404 and records no read.
    const count = async (): Promise<number> => (await app.t.database.db.selectFrom('audit_events').select('seq').where('action', '=', 'assessment.revision_read').execute()).length;
    const before = await count();
    expect((await send(app, 'GET', `/v1/assessments/${grantedAssessment.id}/revisions/9`, officerAuditor.creds)).status).toBe(404);
    expect(await count()).toBe(before);
  });

  it('pages the audit trail of one assessment with limit and cursor, none skipped or repeated', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await send(app, 'POST', `/v1/assessments/${ownAssessment.id}/revisions`, ownClient, { answers: well.answers })).status).toBe(201);
      expect((await send(app, 'GET', `/v1/assessments/${ownAssessment.id}/revisions/1`, ownClient)).status).toBe(200);
    }
    const all = (await (await send(app, 'GET', `/v1/assessments/${ownAssessment.id}/audit`, officerAdmin.creds)).json()) as { items: Event[]; nextCursor: string | null };
    expect(all.nextCursor).toBeNull();
    expect(all.items.length).toBeGreaterThanOrEqual(7);
    const paged: Event[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await send(app, 'GET', `/v1/assessments/${ownAssessment.id}/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`, officerAdmin.creds);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { assessmentId: string; items: Event[]; nextCursor: string | null };
      expect(page.assessmentId).toBe(ownAssessment.id);
      expect(page.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.items);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 100);
    // Every read of the trail is recorded in it (`audit.read`, target the assessment): the pages
    // end with the reads made while paging, after every event of the whole trail read first.
    const last = all.items.at(-1)!.seq;
    expect(paged.filter((e) => e.seq <= last).map((e) => e.seq)).toEqual(all.items.map((e) => e.seq));
    const reads = paged.filter((e) => e.seq > last);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((e) => e.action === 'audit.read' && e.actor.id === officerAdmin.id)).toBe(true);
    expect(paged.map((e) => e.seq)).toEqual([...new Set(paged.map((e) => e.seq))].sort((a, b) => a - b));
    expect(pages).toBe(Math.ceil(paged.length / 2));

    for (const bad of ['limit=0', 'limit=1001', 'limit=x', 'cursor=nope!']) {
      const res = await send(app, 'GET', `/v1/assessments/${ownAssessment.id}/audit?${bad}`, officerAdmin.creds);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('documents the paging parameters and the draft conflict in /openapi.json', async () => {
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { parameters?: { name: string }[]; responses: Record<string, unknown> }>> };
    expect(doc.paths['/v1/assessments/{id}/audit']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['limit', 'cursor']));
    expect(doc.paths['/v1/assessments/{id}/revisions/{n}/reports']?.post?.responses).toHaveProperty(['409']);
  });
});
