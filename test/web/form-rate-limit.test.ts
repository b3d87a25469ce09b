/**
 * The submission rate limit on the questionnaire forms, through the real app, on every database
 * kind: it counts per user once the page has authenticated (not per IP: a hospital's officers
 * behind one NAT each have their own budget, shared with their own API calls), and a form it
 * refuses comes back with what was typed (429, Retry-After, when to send it again), unsaved.
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { roomInWindow } from '../support/rate-limit-window.js';
import { answersToForm } from './helpers.js';
import { PageClient, startWebApp, type WebApp } from './support.js';

/** The window: an hour, so that no window ends between a test's requests (see roomInWindow). */
const WINDOW_MS = 3_600_000;
const EVALUATE = 2;

describe.each(DATABASE_KINDS)('questionnaire forms under the submission rate limit (%s)', (kind) => {
  let app: WebApp;
  beforeAll(async () => {
    // The shared SQL store (the default wherever DATABASE_URL is set), on both databases.
    app = await startWebApp(kind, { RATE_LIMIT_STORE: 'postgres', RATE_LIMIT_EVALUATE: String(EVALUATE), RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) });
  });
  afterAll(async () => {
    await app?.stop();
  });

  const signedIn = async (email: string): Promise<{ c: PageClient; csrf: string }> => {
    const c = new PageClient(app.url);
    expect((await c.login(email)).status).toBe(303);
    return { c, csrf: PageClient.csrfOf(await (await c.get('/assessments/new')).text()) };
  };

  const revisionsOf = async (id: string): Promise<number> =>
    (await app.t.database.db.selectFrom('assessment_revisions').select('revision').where('assessment_id', '=', id).execute()).length;

  /**
   * Posts drafts of new assessments until the limiter refuses one: the user's budget is spent
   * (at most EVALUATE + 1 posts). Returns the refusal.
   */
  const exhaust = async (c: PageClient, csrf: string): Promise<Response> => {
    for (let i = 0; i <= EVALUATE; i++) {
      const res = await c.post('/assessments/new', answersToForm({ 'uc.name': `Draft ${i}` }, new URLSearchParams({ _csrf: csrf, title: `Draft ${i}`, _action: 'draft' })));
      await res.arrayBuffer();
      if (res.status === 429) return res;
      expect(res.status).toBe(303);
    }
    throw new Error(`no 429 after ${EVALUATE + 1} drafts`);
  };

  beforeEach(() => roomInWindow(30_000, WINDOW_MS));

  it("counts per user, not per IP: another organisation's officer at the same address keeps a budget of their own", async () => {
    const officer = await signedIn(app.users.officer);
    await exhaust(officer.c, officer.csrf);
    // Another organisation's officer, same address (127.0.0.1), same window: not refused.
    const other = await signedIn(app.users.otherOfficer);
    const theirs = await other.c.post('/assessments/new', answersToForm({ 'uc.name': 'Theirs' }, new URLSearchParams({ _csrf: other.csrf, title: 'Their draft', _action: 'draft' })));
    expect(theirs.status).toBe(303);
    expect(theirs.headers.get('ratelimit')).toMatch(/"evaluate"; r=1; t=\d+/);
    // The refused officer is still refused: the budget is theirs, whoever else posts.
    expect((await exhaust(officer.c, officer.csrf)).status).toBe(429);
  });

  it('shows a refused form again as typed (429, Retry-After, when to send it again) and stores nothing', async () => {
    const officer = await signedIn(app.users.officer);
    await exhaust(officer.c, officer.csrf);
    const { id } = await app.t.database.db.selectFrom('assessments').select('id').where('organization_id', '=', app.orgs.main).orderBy('created_at', 'desc').executeTakeFirstOrThrow();
    const revisions = await revisionsOf(id);

    // A save of an existing assessment, from a browser: the form again with what was typed.
    const typed = 'Typed after the limit <b>kept</b>';
    const refused = await officer.c.post(
      `/assessments/${id}/edit`,
      answersToForm({ 'uc.name': typed, 'uc.autonomy': 'acts_through_tools' }, new URLSearchParams({ _csrf: officer.csrf, _action: 'update:use_case' })),
      { accept: 'text/html' },
    );
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    const html = await refused.text();
    expect(html).not.toContain('Too many attempts');
    expect(html).toContain(`action="/assessments/${id}/edit"`);
    expect(html).toContain('value="Typed after the limit &lt;b&gt;kept&lt;/b&gt;"');
    expect(html).toMatch(/value="acts_through_tools"[^>]*checked/);
    expect(html).toContain(`send them again in ${retryAfter} seconds`);
    expect(html).toContain('this one was not saved');
    // The form can be sent again as it is: its CSRF token is the session's.
    expect(PageClient.csrfOf(html)).toBe(officer.csrf);
    expect(await revisionsOf(id)).toBe(revisions);

    // A new assessment (a submit): the title comes back too, and nothing is created.
    const before = (await app.t.database.db.selectFrom('assessments').select('id').execute()).length;
    const refusedNew = await officer.c.post('/assessments/new', answersToForm({ 'uc.name': 'Another' }, new URLSearchParams({ _csrf: officer.csrf, title: 'Triage bot', _action: 'submit' })), { accept: 'text/html' });
    expect(refusedNew.status).toBe(429);
    expect(refusedNew.headers.get('retry-after')).toMatch(/^\d+$/);
    const newHtml = await refusedNew.text();
    expect(newHtml).toContain('action="/assessments/new"');
    expect(newHtml).toContain('value="Triage bot"');
    expect(newHtml).toContain('value="Another"');
    expect((await app.t.database.db.selectFrom('assessments').select('id').execute()).length).toBe(before);
  });
});
