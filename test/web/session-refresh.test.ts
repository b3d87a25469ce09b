/**
 * A page session whose roles an administrator changed is refreshed silently (new roles, no
 * sign-in), as one whose access token is about to expire; a disabled user is sent to sign in.
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { PageClient, startWebApp, type WebApp } from './support.js';

describe.each(DATABASE_KINDS)('a page session after an administrator changes the user (%s)', (kind) => {
  let app: WebApp;
  beforeAll(async () => {
    app = await startWebApp(kind);
  });
  afterAll(async () => {
    await app?.stop();
  });

  const idOf = async (email: string): Promise<string> => (await app.t.database.raw.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email]))[0]!.id;
  async function editUser(id: string, form: Record<string, string | string[]>): Promise<void> {
    const admin = new PageClient(app.url);
    await admin.login(app.users.admin);
    const csrf = PageClient.csrfOf(await (await admin.get(`/admin/users/${id}`)).text());
    const body = new URLSearchParams({ _csrf: csrf });
    for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
    const res = await admin.post(`/admin/users/${id}`, body);
    expect(res.status).toBe(303);
  }

  it('keeps the user signed in with the new roles, without a denial in the trail', async () => {
    const officer = new PageClient(app.url);
    await officer.login(app.users.officer);
    expect((await officer.get('/audit')).status).toBe(403); // not an auditor yet
    const id = await idOf(app.users.officer);
    const denialsBefore = (await app.t.database.raw.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_events WHERE action = 'request.denied' AND actor_id = $1 AND decision->>'reason' = 'authz_changed'", [id]))[0]!.n;
    await editUser(id, { name: 'Officer', roles: ['compliance_officer', 'auditor'] });

    const home = await officer.get('/');
    expect(home.status).toBe(200);
    expect(home.headers.getSetCookie().length).toBeGreaterThan(0); // the refreshed session's cookies
    // The new role counts at once: the audit pages open (an auditor of its own organisation).
    expect((await officer.get('/audit')).status).toBe(200);
    // A form posted with the page's CSRF token still saves after the refresh.
    const csrf = PageClient.csrfOf(await (await officer.get('/assessments/new')).text());
    const saved = await officer.post('/assessments/new', new URLSearchParams({ _csrf: csrf, title: 'After a role change', _action: 'draft' }));
    expect(saved.status).toBe(303);
    const denialsAfter = (await app.t.database.raw.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_events WHERE action = 'request.denied' AND actor_id = $1 AND decision->>'reason' = 'authz_changed'", [id]))[0]!.n;
    expect(denialsAfter).toBe(denialsBefore);
    await editUser(id, { name: 'Officer', roles: ['compliance_officer'] });
    expect((await officer.get('/audit')).status).toBe(403);
  });

  it('sends a disabled user to sign in', async () => {
    const other = new PageClient(app.url);
    await other.login(app.users.otherOfficer);
    expect((await other.get('/')).status).toBe(200);
    const id = await idOf(app.users.otherOfficer);
    await editUser(id, { name: 'Other', roles: ['compliance_officer'], disabled: 'on' });
    const home = await other.get('/');
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe('/login?next=%2F');
  });
});
