/**
 * Over real HTTP, on every database kind: a cookie of someone else on the same host (a name the
 * `cookie` package refuses to serialise, `a b=1` or `ü=1`) never breaks a page that refreshes the
 * session. Before, the page re-serialised the whole Cookie header after committing the refresh and
 * answered 500 with the new Set-Cookie (a questionnaire POST lost its answers).
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { PageClient, startWebApp, type WebApp } from '../web/support.js';

const FOREIGN = ['a b=1', 'ü=1'] as const;

describe.each(DATABASE_KINDS)('pages with foreign cookies (%s)', (kind) => {
  let app: WebApp;
  beforeAll(async () => {
    app = await startWebApp(kind);
  });
  afterAll(async () => {
    await app?.stop();
  });

  /** A signed-in officer's refresh cookie, and a CSRF token of the session. */
  async function signedIn(): Promise<{ refresh: string; csrf: string }> {
    const officer = new PageClient(app.url);
    await officer.login(app.users.officer);
    const csrf = PageClient.csrfOf(await (await officer.get('/assessments/new')).text());
    const refresh = /(?:^|; )hipaa_refresh=([^;]+)/.exec(officer.cookieHeader())?.[1];
    if (refresh === undefined) throw new Error('no refresh cookie');
    return { refresh, csrf };
  }
  const refreshes = async (): Promise<number> => (await app.t.database.raw.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_events WHERE action = 'auth.refresh.succeeded'"))[0]!.n;
  const setCookieNames = (res: Response): string[] => res.headers.getSetCookie().map((c) => c.slice(0, c.indexOf('='))).sort();

  it.each(FOREIGN)('saves a form posted with only the refresh cookie and %s: 303, refreshed once', async (foreign) => {
    const { refresh, csrf } = await signedIn();
    const before = await refreshes();
    const res = await fetch(`${app.url}/assessments/new`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.url, cookie: `hipaa_refresh=${refresh}; ${foreign}` },
      body: new URLSearchParams({ _csrf: csrf, title: `Foreign cookie ${foreign}`, _action: 'draft' }).toString(),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/assessments\//);
    expect(setCookieNames(res)).toEqual(['hipaa_access', 'hipaa_refresh']);
    expect(await refreshes()).toBe(before + 1);
    const saved = await app.t.database.raw.query<{ n: number }>('SELECT count(*)::int AS n FROM assessments WHERE title = $1', [`Foreign cookie ${foreign}`]);
    expect(saved[0]!.n).toBe(1);
  });

  it.each(FOREIGN)('opens a page with the foreign cookie first and %s: 200, refreshed once', async (foreign) => {
    const { refresh } = await signedIn();
    const before = await refreshes();
    const res = await fetch(`${app.url}/`, { redirect: 'manual', headers: { cookie: `${foreign}; hipaa_refresh=${refresh}` } });
    expect(res.status).toBe(200);
    expect(setCookieNames(res)).toEqual(['hipaa_access', 'hipaa_refresh']);
    expect(await refreshes()).toBe(before + 1);
  });

  it('sends to sign in, not 500, when the refresh is refused and a foreign cookie is present', async () => {
    const { refresh } = await signedIn();
    // Rotate the token once, so presenting it again later is reuse (outside the grace window).
    expect((await fetch(`${app.url}/`, { redirect: 'manual', headers: { cookie: `hipaa_refresh=${refresh}` } })).status).toBe(200);
    app.advance(60_000);
    const res = await fetch(`${app.url}/`, { redirect: 'manual', headers: { cookie: `hipaa_refresh=${refresh}; a b=1` } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?next=%2F');
    expect(res.headers.getSetCookie().every((c) => /Max-Age=0/i.test(c))).toBe(true);
  });
});
