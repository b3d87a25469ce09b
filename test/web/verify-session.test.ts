/**
 * /verify after the session ended or with a form of an earlier session: the form comes back with
 * what was pasted and a notice, nothing is verified; signing in again and sending once more works.
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { PageClient, startWebApp, type WebApp } from './support.js';

describe.each(DATABASE_KINDS)('/verify across an ended session (%s)', (kind) => {
  let app: WebApp;
  beforeAll(async () => {
    app = await startWebApp(kind);
  });
  afterAll(async () => {
    await app?.stop();
  });
  const events = async (): Promise<number> => Number((await app.t.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).where('action', '=', 'report.verified').executeTakeFirstOrThrow()).n);

  it('keeps the pasted report and signature when the session has ended, then verifies after sign-in', async () => {
    const c = new PageClient(app.url);
    expect((await c.login(app.users.auditor)).status).toBe(303);
    const token = PageClient.csrfOf(await (await c.get('/verify')).text());
    const before = await events();
    app.advance(2 * 3600 * 1000); // past the idle timeout: refresh is refused
    try {
      const ended = await c.post('/verify', new URLSearchParams({ _csrf: token, report: '{"reportId":"x"}', jws: 'a..b' }));
      expect(ended.status).toBe(401);
      const html = await ended.text();
      expect(html).toContain('Your session has ended and nothing was verified.');
      expect(html).toContain('{&quot;reportId&quot;:&quot;x&quot;}</textarea>');
      expect(html).toContain('>a..b</textarea>');
      expect(html).toContain('name="_csrf" value=""');
      expect(await events()).toBe(before);

      // Signed in again (another tab); this page's form has no token: shown again with one.
      expect((await c.login(app.users.auditor)).status).toBe(303);
      const again = await c.post('/verify', new URLSearchParams({ _csrf: '', report: '{"reportId":"x"}', jws: 'a..b' }));
      expect(again.status).toBe(403);
      const page = await again.text();
      expect(page).toContain('press Verify again');
      expect(page).toContain('>a..b</textarea>');
      expect(await events()).toBe(before);

      const done = await c.post('/verify', new URLSearchParams({ _csrf: PageClient.csrfOf(page), report: '{"reportId":"x"}', jws: 'a..b' }));
      expect(done.status).toBe(200);
      expect(await done.text()).toContain('Not valid');
      expect(await events()).toBe(before + 1);
    } finally {
      app.advance(-2 * 3600 * 1000);
    }
  });
});
