/**
 * The administration forms that must not act twice, on every database kind: "Create client" and
 * "Rotate secret" (their answer shows a secret once) and "Rotate key". The same form sent again (a
 * reload of the answer, a double click, the back button) does nothing: a 409 page saying the action
 * was already done, no second client, no second rotation, no secret, recorded as `request.refused`.
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { PageClient, startWebApp, type WebApp } from './support.js';

const SECRET = /harc_[A-Za-z0-9_-]{43}/;

describe.each(DATABASE_KINDS)('one-time admin forms (%s)', (kind) => {
  let app: WebApp;
  let admin: PageClient;
  beforeAll(async () => {
    app = await startWebApp(kind, {}, { rotatableKeys: true });
    admin = new PageClient(app.url);
    expect((await admin.login(app.users.admin)).status).toBe(303);
  });
  afterAll(async () => {
    await app?.stop();
  });

  const db = () => app.t.database.db;
  const clientsNamed = async (name: string): Promise<number> => Number((await db().selectFrom('api_clients').select((eb) => eb.fn.countAll().as('n')).where('name', '=', name).executeTakeFirstOrThrow()).n);
  const events = async (action: string): Promise<number> => Number((await db().selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).where('action', '=', action).executeTakeFirstOrThrow()).n);
  const lastEvent = async (): Promise<unknown> => (await db().selectFrom('audit_events').select(['action', 'decision']).orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow());
  /** The form posting to `action` as the page at `path` renders it: CSRF token and `_once`. */
  const formOf = async (path: string, action: string): Promise<[string, string][]> => {
    const html = await (await admin.get(path)).text();
    const once = PageClient.hiddenOf(html, action, '_once');
    expect(once).toBeDefined();
    return [['_csrf', PageClient.csrfOf(html)], ['_once', once!]];
  };

  it('creates an API client once: the same form sent again is a 409 page that creates nothing and shows no secret', async () => {
    const name = `EHR integration ${kind}`;
    const form = new URLSearchParams([...(await formOf('/admin/clients', '/admin/clients')), ['name', name], ['organizationId', app.orgs.main], ['scopes', 'assessments:read']]);
    const first = await admin.post('/admin/clients', form);
    expect(first.status).toBe(201);
    expect(await first.text()).toMatch(SECRET);

    const again = await admin.post('/admin/clients', form);
    expect(again.status).toBe(409);
    const html = await again.text();
    expect(html).toContain('This form was already sent');
    expect(html).toContain('if it was lost, rotate the client&#39;s secret');
    expect(html).not.toMatch(SECRET);
    expect(await clientsNamed(name)).toBe(1);
    expect(await lastEvent()).toMatchObject({ action: 'request.refused', decision: { status: 409, route: '/admin/clients', reason: 'form_already_sent', pointers: ['/_once'] } });
    // The page it came back on keeps the values and carries a fresh token: sent deliberately, it creates another.
    expect(html).toContain(`value="${name}"`);
    const fresh = PageClient.hiddenOf(html, '/admin/clients', '_once')!;
    form.set('_once', fresh);
    expect((await admin.post('/admin/clients', form)).status).toBe(201);
    expect(await clientsNamed(name)).toBe(2);
  });

  it('creates one client when the same form is sent twice at once', async () => {
    const name = `Concurrent ${kind}`;
    const form = new URLSearchParams([...(await formOf('/admin/clients', '/admin/clients')), ['name', name], ['organizationId', app.orgs.main], ['scopes', 'verify']]);
    const statuses = (await Promise.all([admin.post('/admin/clients', form), admin.post('/admin/clients', form)])).map((r) => r.status);
    expect(statuses.sort()).toEqual([201, 409]);
    expect(await clientsNamed(name)).toBe(1);
  });

  it('rotates a secret once: the same form sent again is a 409 page that rotates nothing', async () => {
    const name = `Rotated ${kind}`;
    const made = new URLSearchParams([...(await formOf('/admin/clients', '/admin/clients')), ['name', name], ['organizationId', app.orgs.main], ['scopes', 'verify']]);
    expect((await admin.post('/admin/clients', made)).status).toBe(201);
    const { id } = await db().selectFrom('api_clients').select('id').where('name', '=', name).executeTakeFirstOrThrow();
    const action = `/admin/clients/${id}/rotate`;
    const clientsPage = await (await admin.get('/admin/clients')).text();
    // The rotate form asks first (app.js), as revoking does.
    expect(clientsPage).toMatch(new RegExp(`<form method="post" action="${action}" data-confirm="Rotate the secret of ${name}\\?`));
    const form = new URLSearchParams(await formOf('/admin/clients', action));
    const rotations = await events('api_client.secret_rotated');
    const first = await admin.post(action, form);
    expect(first.status).toBe(200);
    expect(await first.text()).toMatch(SECRET);
    const { authz_version: version } = await db().selectFrom('api_clients').select('authz_version').where('id', '=', id).executeTakeFirstOrThrow();

    const again = await admin.post(action, form);
    expect(again.status).toBe(409);
    const html = await again.text();
    expect(html).toContain(`The secret of ${name} was already rotated`);
    expect(html).not.toMatch(SECRET);
    expect(await events('api_client.secret_rotated')).toBe(rotations + 1);
    expect((await db().selectFrom('api_clients').select('authz_version').where('id', '=', id).executeTakeFirstOrThrow()).authz_version).toBe(version);
    expect(await lastEvent()).toMatchObject({ action: 'request.refused', decision: { status: 409, reason: 'form_already_sent' } });
  });

  it('rotates a signing key once: the same form sent again is a 409 page that rotates nothing', async () => {
    const keysPage = await (await admin.get('/admin/keys')).text();
    expect(keysPage).toContain('Rotate report signing key');
    const before = app.reportKeys.current.kid;
    const form = new URLSearchParams([...(await formOf('/admin/keys', '/admin/keys/rotate')), ['purpose', 'report']]);
    expect(form.get('_once')).toBe(before);
    const first = await admin.post('/admin/keys/rotate', form);
    expect(first.status).toBe(200);
    const after = app.reportKeys.current.kid;
    expect(after).not.toBe(before);
    const rotations = await events('key.rotated');

    const again = await admin.post('/admin/keys/rotate', form);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('The report-signing key was already rotated since this page was shown');
    expect(app.reportKeys.current.kid).toBe(after);
    expect(await events('key.rotated')).toBe(rotations);
  });
});
