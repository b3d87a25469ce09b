/**
 * Through the real app on every database kind: each page that shows what the service holds records
 * the read before it is sent, as the API does (`via: 'page'`): the assessment list and an
 * assessment, the audit trail pages, and every administration page (users' e-mail addresses among
 * them). An auditor's read of a granted organisation's assessment is in that organisation's trail.
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { answersToForm, poorlyControlled } from './helpers.js';
import { PageClient, startWebApp, type WebApp } from './support.js';
import { recordAuditEventAlone, SYSTEM_ACTOR } from '../../src/audit/record.js';
import { TRAIL_PAGE_EVENTS } from '../../src/web/audit-trail.js';
import { auditEventsAfter, auditHead, type AuditRow } from '../support/audit-events.js';


describe.each(DATABASE_KINDS)('page reads recorded in the audit trail (%s)', (kind) => {
  let app: WebApp;
  let officer: PageClient;
  let auditor: PageClient;
  let admin: PageClient;
  let assessmentId: string;
  const idOf = async (email: string): Promise<string> => (await app.t.database.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;

  const head = (): Promise<number> => auditHead(app.t.database);
  /** GETs a page: its status and the events it wrote. */
  const view = async (c: PageClient, path: string): Promise<{ status: number; html: string; events: AuditRow[] }> => {
    const before = await head();
    const res = await c.get(path);
    const html = await res.text();
    const events = await auditEventsAfter(app.t.database, before);
    return { status: res.status, html, events };
  };
  const signedIn = async (email: string): Promise<PageClient> => {
    const c = new PageClient(app.url);
    expect((await c.login(email)).status).toBe(303);
    return c;
  };

  beforeAll(async () => {
    app = await startWebApp(kind);
    officer = await signedIn(app.users.officer);
    auditor = await signedIn(app.users.auditor);
    admin = await signedIn(app.users.admin);
    const csrf = PageClient.csrfOf(await (await officer.get('/assessments/new')).text());
    const res = await officer.post('/assessments/new', answersToForm(poorlyControlled(), new URLSearchParams({ _csrf: csrf, title: 'Discharge letter drafter', _action: 'submit' })));
    expect(res.status).toBe(303);
    const reportId = /^\/reports\/([0-9a-f-]{36})/.exec(res.headers.get('location')!)![1]!;
    assessmentId = (await app.t.database.db.selectFrom('reports').select('assessment_id').where('id', '=', reportId).executeTakeFirstOrThrow()).assessment_id;
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('records the assessment list with its filters, and an assessment in its own organisation', async () => {
    const officerId = await idOf(app.users.officer);
    const list = await view(officer, '/?q=discharge&status=submitted');
    expect(list.status).toBe(200);
    expect(list.html).toContain('Discharge letter drafter');
    expect(list.events).toEqual([
      expect.objectContaining({ action: 'assessment.listed', actor_id: officerId, actor_role: 'compliance_officer', organization_id: app.orgs.main, decision: { via: 'page', returned: 1, filters: { q: 'discharge', status: 'submitted' } } }),
    ]);
    // The auditor belongs to the other organisation: the read goes to the assessment's.
    const auditorId = await idOf(app.users.auditor);
    const one = await view(auditor, `/assessments/${assessmentId}`);
    expect(one.status).toBe(200);
    expect(one.events).toEqual([
      expect.objectContaining({ action: 'assessment.read', actor_id: auditorId, actor_role: 'auditor', organization_id: app.orgs.main, target_type: 'assessment', target_id: assessmentId, decision: { via: 'page', revisions: 1 } }),
    ]);
    // The comparison page lists the assessment's revisions and reports: a read of it too.
    const compare = await view(auditor, `/assessments/${assessmentId}/compare`);
    expect(compare.status).toBe(200);
    expect(compare.events).toEqual([expect.objectContaining({ action: 'assessment.read', actor_role: 'auditor', organization_id: app.orgs.main, target_id: assessmentId, decision: { via: 'page', revisions: 1 } })]);
  });

  it('records the audit trail pages, the whole trail with its filters and one assessment\'s', async () => {
    const auditorId = await idOf(app.users.auditor);
    const trail = await view(auditor, '/audit?action=assessment.created');
    expect(trail.status).toBe(200);
    expect(trail.events).toEqual([
      expect.objectContaining({ action: 'audit.read', actor_id: auditorId, actor_role: 'auditor', organization_id: app.orgs.other, target_type: null, decision: { via: 'page', view: 'events', returned: 1, filters: { action: 'assessment.created' } } }),
    ]);
    const one = await view(auditor, `/assessments/${assessmentId}/audit`);
    expect(one.status).toBe(200);
    expect(one.events).toEqual([
      expect.objectContaining({ action: 'audit.read', actor_role: 'auditor', organization_id: app.orgs.main, target_type: 'assessment', target_id: assessmentId, decision: expect.objectContaining({ via: 'page', view: 'assessment' }) }),
    ]);
    // The assessment's trail page lists who read it (the read above and the page before it).
    const again = await view(auditor, `/assessments/${assessmentId}/audit`);
    expect(again.html).toContain('assessment.read');
    expect(again.html).toContain('audit.read');
  });

  it("pages an assessment's trail instead of stopping at a limit, and records each page read", async () => {
    // More events than a page holds, all targeting the assessment (as reads of it are).
    const at = new Date();
    for (let i = 0; i < TRAIL_PAGE_EVENTS + 20; i++) {
      await recordAuditEventAlone(app.t.database.db, { action: 'assessment.read', outcome: 'success', actor: SYSTEM_ACTOR, organizationId: app.orgs.main, target: { type: 'assessment', id: assessmentId }, decision: { via: 'api', revisions: 1 } }, at);
    }
    const first = await view(auditor, `/assessments/${assessmentId}/audit`);
    expect(first.status).toBe(200);
    expect(first.events.map((e) => e.decision)).toEqual([{ via: 'page', view: 'assessment', returned: TRAIL_PAGE_EVENTS }]);
    const next = /href="(\/assessments\/[0-9a-f-]{36}\/audit\?cursor=[^"]+)"/.exec(first.html)?.[1];
    expect(next).toBeDefined();
    const second = await view(auditor, next!.replaceAll('&amp;', '&'));
    expect(second.status).toBe(200);
    expect(second.html).toContain('Back to the first page');
    const returned = second.events[0]!.decision.returned as number;
    // The rest: the events inserted above, this test's first page read, and those of the tests before.
    expect(returned).toBeGreaterThan(20);
    expect(returned).toBeLessThan(TRAIL_PAGE_EVENTS);
    expect(second.html).not.toContain('Later events');
    expect(second.events[0]!.decision.filters).toEqual({ cursor: expect.any(String) });
  });

  it('records every administration page, with the number of records it shows', async () => {
    const adminId = await idOf(app.users.admin);
    const officerId = await idOf(app.users.officer);
    const pages: [string, string, number][] = [
      ['/admin', 'overview', 0],
      ['/admin/users', 'users', 4],
      [`/admin/users/${officerId}`, 'user', 1],
      ['/admin/organizations', 'organizations', 2],
      ['/admin/clients', 'api_clients', 0],
      ['/admin/grants', 'auditor_grants', 1],
    ];
    for (const [path, resource, returned] of pages) {
      const r = await view(admin, path);
      expect(r.status).toBe(200);
      expect(r.events).toEqual([
        // Installation-wide lists in the installation's trail (null); one user in the user's organisation's.
        expect.objectContaining({ action: 'admin.read', actor_id: adminId, actor_role: 'admin', organization_id: resource === 'user' ? app.orgs.main : null, target_type: resource === 'user' ? 'user' : null, decision: { via: 'page', resource, returned } }),
      ]);
    }
    const keys = await view(admin, '/admin/keys');
    expect(keys.status).toBe(200);
    const stored = (await app.t.database.raw.query<{ n: number }>('SELECT count(*)::int AS n FROM signing_keys'))[0]!.n;
    expect(keys.events).toEqual([expect.objectContaining({ action: 'admin.read', organization_id: null, decision: { via: 'page', resource: 'keys', returned: stored } })]);
  });
});
