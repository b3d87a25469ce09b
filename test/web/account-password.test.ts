/**
 * Changing one's own password on the page (`/account/password`), over real HTTP and the real
 * database, on every database kind: it does what `POST /v1/me/password` does (the same
 * `changeOwnPassword`, the same audit actor and denials, the same per-user `password` limiter,
 * one budget for both), refuses a confirmation that does not match before any hash, shows each
 * error at its field, and never sends a submitted password back in a page. The other sessions end;
 * the page's own goes on.
 */
import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/audit/record.js';
import { attemptKeys } from '../../src/auth/login-limits.js';
import { checkPasswordPolicy, hashPassword } from '../../src/auth/passwords.js';
import type { Role } from '../../src/auth/permissions.js';
import { createUser } from '../../src/auth/users.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { roomInWindow } from '../support/rate-limit-window.js';
import { PageClient, PASSWORD, startWebApp, type WebApp } from './support.js';

/** New passwords that pass the policy. */
const NEW = ['violet-Harbour-lantern-1131', 'violet-Harbour-lantern-2231', 'violet-Harbour-lantern-3331', 'violet-Harbour-lantern-4431', 'violet-Harbour-lantern-5531', 'violet-Harbour-lantern-6631'];

/** The error summary's links, as [href, text]. */
function summaryOf(html: string): [string, string][] {
  const box = /<div class="error-summary"[^]*?<\/div>/.exec(html)?.[0] ?? '';
  return [...box.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => [m[1]!, m[2]!]);
}

/** The message shown at a field (`<id>-error`), or ''. */
function fieldErrorOf(html: string, id: string): string {
  return new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(html)?.[1] ?? '';
}

/** The start tag of the input with this id, or ''. */
function tagOf(html: string, id: string): string {
  return new RegExp(`<input\\b[^>]*\\bid="${id}"[^>]*>`).exec(html)?.[0] ?? '';
}

/** A submitted password must appear nowhere in a page (not in a field's value, not in a message). */
function expectNoPasswords(html: string, ...passwords: string[]): void {
  for (const p of passwords) expect(html).not.toContain(p);
  for (const id of ['p-current', 'p-new', 'p-confirm']) expect(tagOf(html, id)).not.toContain('value=');
}

describe.each(DATABASE_KINDS)('changing one\'s own password on the page (%s)', (kind) => {
  let app: WebApp;
  beforeAll(async () => {
    // The shared SQL store of the rate limits, as wherever DATABASE_URL is set; every denial its own event.
    app = await startWebApp(kind, { RATE_LIMIT_STORE: 'postgres', AUDIT_DENIED_PER_MINUTE: '10000' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  /** A new user of the main organisation with the suite's password: each test its own counters. */
  const newUser = async (roles: Role[] = ['compliance_officer']): Promise<{ id: string; email: string }> => {
    const hash = await hashPassword(PASSWORD, 10);
    const user = await app.t.database.db.transaction().execute((trx) => createUser(trx, { email: `${randomUUID()}@riverside.test`, name: null, organizationId: app.orgs.main, roles, passwordHash: hash }, { actor: SYSTEM_ACTOR, request: null, now: new Date() }));
    return { id: user.id, email: user.email };
  };

  const signedIn = async (email: string, password = PASSWORD): Promise<PageClient> => {
    const c = new PageClient(app.url);
    expect((await c.login(email, password)).status).toBe(303);
    return c;
  };

  /** Posts the page's form as a browser would (its CSRF token), with `fields`. */
  const post = async (c: PageClient, fields: Record<string, string>): Promise<{ res: Response; html: string }> => {
    const csrf = PageClient.csrfOf(await (await c.get('/account/password')).text());
    const res = await c.post('/account/password', new URLSearchParams({ _csrf: csrf, ...fields }));
    return { res, html: await res.text() };
  };
  const change = (c: PageClient, current: string, next: string, confirm = next): Promise<{ res: Response; html: string }> => post(c, { currentPassword: current, newPassword: next, confirmPassword: confirm });

  /** A session of the API (`POST /v1/auth/login`): its cookies and CSRF token. */
  const apiLogin = async (email: string, password = PASSWORD): Promise<{ cookie: string; csrf: string }> => {
    const res = await fetch(`${app.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: app.url }, body: JSON.stringify({ email, password }) });
    expect(res.status).toBe(200);
    const cookie = res.headers.getSetCookie().map((line) => line.split(';')[0]!).join('; ');
    return { cookie, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
  };
  const apiMe = async (s: { cookie: string }): Promise<number> => (await fetch(`${app.url}/v1/me`, { headers: { cookie: s.cookie } })).status;
  const apiChange = async (s: { cookie: string; csrf: string }, currentPassword: string, newPassword: string): Promise<Response> =>
    fetch(`${app.url}/v1/me/password`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: s.cookie, 'x-csrf-token': s.csrf }, body: JSON.stringify({ currentPassword, newPassword }) });

  const events = async (action: string, actorId: string): Promise<{ actor_type: string; actor_role: string | null; target_id: string | null; decision: unknown }[]> =>
    await app.t.database.db.selectFrom('audit_events').select(['actor_type', 'actor_role', 'target_id', 'decision']).where('action', '=', action).where('actor_id', '=', actorId).orderBy('seq').execute();
  const signsIn = async (email: string, password: string): Promise<number> => (await new PageClient(app.url).login(email, password)).status;

  it('is there for every role, linked from the header', async () => {
    for (const email of [app.users.officer, app.users.auditor, app.users.admin]) {
      const c = await signedIn(email);
      const home = await c.get('/', { accept: 'text/html' });
      const html = await (home.status === 303 ? await c.get(home.headers.get('location')!) : home).text();
      expect(html).toContain('<a class="button button-quiet button-small" href="/account/password">Change password</a>');
      const res = await c.get('/account/password');
      expect(res.status).toBe(200);
      const form = await res.text();
      expect(form).toContain('action="/account/password"');
      expect(tagOf(form, 'p-current')).toContain('autocomplete="current-password"');
      expect(tagOf(form, 'p-new')).toContain('autocomplete="new-password"');
      expect(tagOf(form, 'p-confirm')).toContain('autocomplete="new-password"');
      expect(form).toContain('href="/account/password" aria-current="page"');
    }
  });

  it('changes it: the new password signs in and the old does not, other sessions end, this one goes on, recorded as the API records it', async () => {
    const user = await newUser(['compliance_officer', 'auditor']);
    const c = await signedIn(user.email);
    const other = await signedIn(user.email);
    const api = await apiLogin(user.email);
    expect(await apiMe(api)).toBe(200);

    const { res, html } = await change(c, PASSWORD, NEW[0]!);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account/password?done=1');
    expect(html).not.toContain(NEW[0]!);
    const done = await c.get('/account/password?done=1');
    expect(done.status).toBe(200);
    const doneHtml = await done.text();
    expect(doneHtml).toContain('Your password was changed; your other sessions were signed out.');
    expectNoPasswords(doneHtml, PASSWORD, NEW[0]!);

    // The page's session goes on (its pages and its forms); the others are over.
    expect((await c.get('/')).status).toBe(200);
    expect((await change(c, NEW[0]!, NEW[1]!)).res.status).toBe(303);
    expect(await apiMe(api)).toBe(401);
    const ended = await other.get('/account/password');
    expect(ended.status).toBe(303);
    expect(ended.headers.get('location')).toBe('/login?next=%2Faccount%2Fpassword');
    expect(await signsIn(user.email, PASSWORD)).not.toBe(303);
    expect(await signsIn(user.email, NEW[0]!)).not.toBe(303);
    expect(await signsIn(user.email, NEW[1]!)).toBe(303);

    // `user.password_changed`, with the actor the API records (another user of the same roles, through the API).
    const changed = await events('user.password_changed', user.id);
    expect(changed).toEqual([0, 1].map(() => ({ actor_type: 'user', actor_role: expect.any(String) as unknown, target_id: user.id, decision: { userId: user.id } })));
    const twin = await newUser(['compliance_officer', 'auditor']);
    expect((await apiChange(await apiLogin(twin.email), PASSWORD, NEW[0]!)).status).toBe(204);
    expect(changed[0]!.actor_role).toBe((await events('user.password_changed', twin.id))[0]!.actor_role);
    expect(changed[0]!.actor_role).toBe('compliance_officer auditor');
  });

  it('refuses a wrong current password (401 at the field), recorded as a denial as the API records it', async () => {
    const user = await newUser();
    const c = await signedIn(user.email);
    const { res, html } = await change(c, 'not-my-password-at-all', NEW[0]!);
    expect(res.status).toBe(401);
    expect(summaryOf(html)).toEqual([['#p-current', 'The current password is not right.']]);
    expect(fieldErrorOf(html, 'p-current')).toBe('The current password is not right.');
    expect(tagOf(html, 'p-current')).toContain('aria-invalid="true"');
    expectNoPasswords(html, 'not-my-password-at-all', NEW[0]!);
    expect((await events('request.denied', user.id)).map((e) => e.decision)).toEqual([{ status: 401, method: 'POST', route: '/account/password', reason: 'current_password_invalid' }]);
    expect(await events('user.password_changed', user.id)).toEqual([]);
    // The form can be sent again as it is (same session and token).
    expect(PageClient.csrfOf(html)).toBe(PageClient.csrfOf(await (await c.get('/account/password')).text()));
  });

  it('counts wrong current passwords with the sign-in\'s: then a 429 with Retry-After, the right password included', async () => {
    const user = await newUser();
    const c = await signedIn(user.email);
    for (let i = 0; i < 5; i++) expect((await change(c, `wrong-guess-${i}-xyz`, NEW[0]!)).res.status).toBe(401);
    const { res, html } = await change(c, PASSWORD, NEW[0]!);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(summaryOf(html)[0]![1]).toMatch(/^Too many failed sign-in attempts; try again in \d+ seconds\.$/);
    expectNoPasswords(html, PASSWORD, NEW[0]!);
    expect((await events('request.denied', user.id)).map((e) => (e.decision as { reason: string }).reason)).toEqual([...Array<string>(5).fill('current_password_invalid'), 'login_rate_limited']);
    expect(await events('user.password_changed', user.id)).toEqual([]);
  });

  it('refuses a confirmation that does not match (422 at it) before checking the current password: no hash, no guess counted, nothing changed', async () => {
    const user = await newUser();
    const c = await signedIn(user.email);
    // A wrong current password too: had it been checked (scrypt), the answer would be a 401.
    const { res, html } = await change(c, 'not-my-password-at-all', NEW[0]!, NEW[1]);
    expect(res.status).toBe(422);
    expect(summaryOf(html)).toEqual([['#p-confirm', 'The confirmation does not match the new password: type the new password twice.']]);
    expect(fieldErrorOf(html, 'p-confirm')).toBe('The confirmation does not match the new password: type the new password twice.');
    expect(tagOf(html, 'p-confirm')).toContain('aria-describedby="p-confirm-error" aria-invalid="true"');
    expect(fieldErrorOf(html, 'p-current')).toBe('');
    expectNoPasswords(html, 'not-my-password-at-all', NEW[0]!, NEW[1]!);
    expect((await events('request.refused', user.id)).map((e) => e.decision)).toEqual([expect.objectContaining({ status: 422, route: '/account/password', pointers: ['/confirmPassword'] })]);
    expect(await events('request.denied', user.id)).toEqual([]);
    expect(await events('user.password_changed', user.id)).toEqual([]);
    const [account] = attemptKeys(user.email, null);
    expect(await app.t.database.db.selectFrom('login_failures').select('key').where('key', '=', account).execute()).toEqual([]);
  });

  it('refuses the same password again and a weak one (422 at the new password, with the policy\'s message)', async () => {
    const user = await newUser();
    const c = await signedIn(user.email);
    const same = await change(c, PASSWORD, PASSWORD);
    expect(same.res.status).toBe(422);
    expect(summaryOf(same.html)).toEqual([['#p-new', 'The new password must differ from the current password.']]);
    expect(tagOf(same.html, 'p-new')).toContain('aria-describedby="p-new-help p-new-error" aria-invalid="true"');
    expectNoPasswords(same.html, PASSWORD);

    const weak = 'Password2024!';
    const reasons = checkPasswordPolicy(weak, { email: user.email });
    expect(reasons.length).toBeGreaterThan(0);
    const refused = await change(c, PASSWORD, weak);
    expect(refused.res.status).toBe(422);
    expect(fieldErrorOf(refused.html, 'p-new')).toContain(`The password ${reasons[0]!}`);
    expectNoPasswords(refused.html, PASSWORD, weak);
    // With a mismatched confirmation and no current password: every error in one round.
    const all = await change(c, '', weak, 'something else');
    expect(all.res.status).toBe(422);
    expect(summaryOf(all.html).map(([href]) => href)).toEqual(['#p-current', ...reasons.map(() => '#p-new'), '#p-confirm']);
    expect(await events('user.password_changed', user.id)).toEqual([]);
    expect((await events('request.refused', user.id)).length).toBe(3);
    expect(await signsIn(user.email, PASSWORD)).toBe(303);
  });

  it('shares the API\'s per-user budget of changes: 3 through the API and 2 on the page, then the page refuses (429, Retry-After)', async () => {
    // No window of the fixed 900 s window ends between the changes.
    await roomInWindow(30_000, 900_000);
    const user = await newUser();
    let api = await apiLogin(user.email);
    const passwords = [PASSWORD, ...NEW];
    for (let i = 0; i < 3; i++) expect((await apiChange(api, passwords[i]!, passwords[i + 1]!)).status).toBe(204);
    // (Each change ended the other sessions: the page signs in with the latest password.)
    const c = await signedIn(user.email, passwords[3]);
    for (let i = 3; i < 5; i++) expect((await change(c, passwords[i]!, passwords[i + 1]!)).res.status).toBe(303);
    const { res, html } = await change(c, passwords[5]!, passwords[6]!);
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(html).toContain(`Your password cannot be changed again yet: try again in ${retryAfter} seconds. Nothing was changed.`);
    expect(html).toContain('action="/account/password"');
    expectNoPasswords(html, passwords[5]!, passwords[6]!);
    expect((await events('user.password_changed', user.id)).length).toBe(5);
    // The limiter's denial names the user (written after the answer: wait for it).
    const limited = async (): Promise<unknown[]> => (await events('request.denied', user.id)).map((e) => e.decision);
    for (let i = 0; i < 50 && (await limited()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await limited()).toContainEqual(expect.objectContaining({ status: 429, route: '/account/password', reason: 'rate_limited:password' }));
    // And the API is out of budget too.
    api = await apiLogin(user.email, passwords[5]);
    expect((await apiChange(api, passwords[5]!, passwords[6]!)).status).toBe(429);
    expect(await signsIn(user.email, passwords[5]!)).toBe(303);
  });

  it('refuses a post without the session\'s CSRF token (403) and sends the signed-out to sign in', async () => {
    const user = await newUser();
    const c = await signedIn(user.email);
    const fields = { currentPassword: PASSWORD, newPassword: NEW[0]!, confirmPassword: NEW[0]! };
    for (const body of [new URLSearchParams(fields), new URLSearchParams({ _csrf: 'not-the-token', ...fields })]) {
      const res = await c.post('/account/password', body);
      expect(res.status).toBe(403);
      expectNoPasswords(await res.text(), PASSWORD, NEW[0]!);
    }
    expect(await events('user.password_changed', user.id)).toEqual([]);

    const anonymous = new PageClient(app.url);
    const get = await anonymous.get('/account/password');
    expect(get.status).toBe(303);
    expect(get.headers.get('location')).toBe('/login?next=%2Faccount%2Fpassword');
    const posted = await anonymous.post('/account/password', new URLSearchParams({ _csrf: 'x', ...fields }));
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toBe('/login?next=%2Faccount%2Fpassword');
    expect(await signsIn(user.email, PASSWORD)).toBe(303);
  });
});
