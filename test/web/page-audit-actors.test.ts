/**
 * Who the pages record in the audit trail, through the real app, on every database kind: the
 * roles that permitted the action (`actorOf(principal, action)`), narrowed, for a resource of one
 * organisation, to the roles that reach it (`auditActorOf`, as the API records), never a role
 * picked by name; and the edit page's prefill recorded as the API's revision read is.
 */
import { SYSTEM_ACTOR } from '../../src/audit/record.js';
import { createAuditorGrant } from '../../src/auth/auditor-grants.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { PERMISSIONS, type Role } from '../../src/auth/permissions.js';
import { createUser } from '../../src/auth/users.js';
import { CURRENT_QUESTIONNAIRE_VERSION } from '../../src/questionnaire/index.js';
import { canonicalJson } from '../../src/util/canonical-json.js';
import { sha256Hex } from '../../src/util/hash.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { answersToForm, poorlyControlled } from './helpers.js';
import { PageClient, PASSWORD, startWebApp, type WebApp } from './support.js';
import type { AuditRow } from '../support/audit-events.js';

type EventRow = Pick<AuditRow, 'seq' | 'actor_id' | 'actor_role' | 'organization_id' | 'target_type' | 'target_id' | 'input_sha256' | 'decision'>;

describe.each(DATABASE_KINDS)('audit actors of the pages (%s)', (kind) => {
  let app: WebApp;
  /** A compliance officer of the main organisation who is also an auditor granted the other one. */
  let dual: { email: string; id: string };
  /** A compliance officer of the main organisation who is also the administrator (not an auditor). */
  let officerAdmin: { email: string; id: string };

  beforeAll(async () => {
    app = await startWebApp(kind);
    const hash = await hashPassword(PASSWORD, 10);
    const audit = { actor: SYSTEM_ACTOR, request: null, now: new Date() };
    const made = await app.t.database.db.transaction().execute(async (trx) => {
      const user = (email: string, roles: Role[]) => createUser(trx, { email, name: null, organizationId: app.orgs.main, roles, passwordHash: hash }, audit);
      const d = await user('dual@riverside.test', ['compliance_officer', 'auditor']);
      await createAuditorGrant(trx, { auditorId: d.id, organizationId: app.orgs.other }, audit);
      const oa = await user('officer-admin@riverside.test', ['compliance_officer', 'admin']);
      return { dual: { email: d.email, id: d.id }, officerAdmin: { email: oa.email, id: oa.id } };
    });
    dual = made.dual;
    officerAdmin = made.officerAdmin;
  });
  afterAll(async () => {
    await app?.stop();
  });

  const signedIn = async (email: string): Promise<PageClient> => {
    const c = new PageClient(app.url);
    expect((await c.login(email)).status).toBe(303);
    return c;
  };

  const csrfOf = async (c: PageClient): Promise<string> => PageClient.csrfOf(await (await c.get('/assessments/new')).text());

  /** Submits the poorly-controlled example as a new assessment: its report's id. */
  const submit = async (c: PageClient, title: string): Promise<string> => {
    const res = await c.post('/assessments/new', answersToForm(poorlyControlled(), new URLSearchParams({ _csrf: await csrfOf(c), title, _action: 'submit' })));
    expect(res.status).toBe(303);
    return /^\/reports\/([0-9a-f-]{36})\?submitted=1$/.exec(res.headers.get('location')!)![1]!;
  };

  const newest = async (action: string, targetId?: string): Promise<EventRow> => {
    const rows = await app.t.database.raw.query<EventRow>(
      `SELECT seq, actor_id, actor_role, organization_id, target_type, target_id, input_sha256, decision FROM audit_events WHERE action = $1 ${targetId ? 'AND target_id = $2' : ''} ORDER BY seq DESC LIMIT 1`,
      targetId ? [action, targetId] : [action],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  };

  const assessmentOf = async (reportId: string): Promise<string> =>
    (await app.t.database.db.selectFrom('reports').select('assessment_id').where('id', '=', reportId).executeTakeFirstOrThrow()).assessment_id;

  it("records a report read on the pages with the roles that reach the report's organisation", async () => {
    const otherReport = await submit(await signedIn(app.users.otherOfficer), 'Other clinic scribe');
    const c = await signedIn(dual.email);
    const ownReport = await submit(c, 'Own scribe');

    // A granted organisation's report: read as auditor (the officer role does not reach it).
    expect((await c.get(`/reports/${otherReport}`)).status).toBe(200);
    expect(await newest('report.viewed', otherReport)).toMatchObject({ actor_id: dual.id, actor_role: 'auditor', organization_id: app.orgs.other, target_type: 'report' });
    // Their own organisation's: as compliance officer (the auditor role does not reach it).
    expect((await c.get(`/reports/${ownReport}`)).status).toBe(200);
    expect(await newest('report.viewed', ownReport)).toMatchObject({ actor_id: dual.id, actor_role: 'compliance_officer', organization_id: app.orgs.main, target_type: 'report' });
  });

  it('records the report verify page with the roles that permit it, not a role picked by name', async () => {
    const dualClient = await signedIn(dual.email);
    const verifyPage = await (await dualClient.get('/verify')).text();
    const verified = await dualClient.post('/verify', new URLSearchParams({ _csrf: PageClient.csrfOf(verifyPage), report: '{"not":"a report"}', jws: 'not.a.jws' }));
    expect(verified.status).toBe(200);
    // Both roles permit `verify` (as POST /v1/verify records it), not "auditor" alone.
    expect(await newest('report.verified')).toMatchObject({ actor_id: dual.id, actor_role: 'compliance_officer auditor', organization_id: app.orgs.main });
  });

  it('records the audit chain page with the role that permits it, not the first role the user holds', async () => {
    const adminClient = await signedIn(officerAdmin.email);
    const chainPage = await (await adminClient.get('/audit/verify')).text();
    expect((await adminClient.post('/audit/verify', new URLSearchParams({ _csrf: PageClient.csrfOf(chainPage) }))).status).toBe(200);
    // Only the administrator role permits `audit.verify`; the user's first role does not.
    expect(await newest('audit.verified')).toMatchObject({ actor_id: officerAdmin.id, actor_role: 'admin' });
  });

  it('records a submission on the pages with the roles that permit it', async () => {
    const reportId = await submit(await signedIn(dual.email), 'Dual submission');
    const assessmentId = await assessmentOf(reportId);
    // Only the officer role permits creating (and the auditor role would not reach the user's own organisation).
    expect(await newest('assessment.created', assessmentId)).toMatchObject({ actor_id: dual.id, actor_role: 'compliance_officer', organization_id: app.orgs.main, decision: expect.objectContaining({ reportId, draft: false }) });
    // And a revision saved on the edit page.
    const c = await signedIn(dual.email);
    const revised = await c.post(`/assessments/${assessmentId}/edit`, answersToForm(poorlyControlled(), new URLSearchParams({ _csrf: await csrfOf(c), _action: 'draft' })));
    expect(revised.status).toBe(303);
    expect(await newest('assessment.revised', assessmentId)).toMatchObject({ actor_id: dual.id, actor_role: 'compliance_officer', organization_id: app.orgs.main });
  });

  it('takes the submitter\'s role from the permission table, not a name written in the page', async () => {
    // The table is the one source of who may do what: were administrators allowed to create
    // assessments, an administrator's submission would be recorded as theirs. (Restored below.)
    const roles = PERMISSIONS['assessments.create'].roles as unknown as Role[];
    roles.push('admin');
    try {
      const c = await signedIn(app.users.admin);
      const res = await c.post('/assessments/new', answersToForm({ 'uc.name': 'By the administrator' }, new URLSearchParams({ _csrf: await csrfOf(c), title: 'Admin draft', _action: 'draft' })));
      expect(res.status).toBe(303);
      const assessmentId = /assessments\/([0-9a-f-]{36})\/edit/.exec(res.headers.get('location')!)![1]!;
      expect(await newest('assessment.created', assessmentId)).toMatchObject({ actor_role: 'admin', organization_id: app.orgs.main });
    } finally {
      roles.splice(roles.indexOf('admin'), 1);
    }
    expect(PERMISSIONS['assessments.create'].roles).toEqual(['compliance_officer']);
  });

  it("records the edit page's prefill as the API records a revision read: assessment.revision_read, before the page is sent", async () => {
    const c = await signedIn(app.users.officer);
    const csrf = await csrfOf(c);
    const created = await c.post('/assessments/new', answersToForm({ 'uc.name': 'Prefilled' }, new URLSearchParams({ _csrf: csrf, title: 'Prefill', _action: 'draft' })));
    const id = /assessments\/([0-9a-f-]{36})\/edit/.exec(created.headers.get('location')!)![1]!;
    const saved = await c.post(`/assessments/${id}/edit`, answersToForm({ 'uc.name': 'Prefilled again' }, new URLSearchParams({ _csrf: csrf, _action: 'draft' })));
    expect(saved.status).toBe(303);
    const before = (await app.t.database.raw.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_events WHERE action = 'assessment.revision_read'"))[0]!.n;

    const edit = await c.get(`/assessments/${id}/edit`);
    expect(edit.status).toBe(200);
    expect(await edit.text()).toContain('value="Prefilled again"');
    const stored = await app.t.database.db.selectFrom('assessment_revisions').select(['answers_canonical']).where('assessment_id', '=', id).where('revision', '=', 2).executeTakeFirstOrThrow();
    const page = await newest('assessment.revision_read', id);
    const officerId = (await app.t.database.db.selectFrom('users').select('id').where('email', '=', app.users.officer).executeTakeFirstOrThrow()).id;
    expect(page).toMatchObject({
      actor_id: officerId,
      actor_role: 'compliance_officer',
      organization_id: app.orgs.main,
      target_type: 'assessment',
      target_id: id,
      input_sha256: sha256Hex(canonicalJson(JSON.parse(stored.answers_canonical))),
      decision: { revision: 2, questionnaireVersion: CURRENT_QUESTIONNAIRE_VERSION },
    });
    expect((await app.t.database.raw.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_events WHERE action = 'assessment.revision_read'"))[0]!.n).toBe(before + 1);

    // The same read through the API records the same facts.
    const api = await c.get(`/v1/assessments/${id}/revisions/2`);
    expect(api.status).toBe(200);
    const viaApi = await newest('assessment.revision_read', id);
    expect(viaApi.seq).toBeGreaterThan(page.seq);
    expect({ ...viaApi, seq: 0 }).toEqual({ ...page, seq: 0 });
  });
});
