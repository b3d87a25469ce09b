/**
 * Refused forms of the administration and verify pages, over real HTTP and the real database, on
 * every database kind: the page comes back with every typed value (text, the chosen organisation,
 * the ticked roles and scopes; never a password), and each error is tied to its field as on the
 * questionnaire: a summary entry linking to the field's id, the message at the field, and the
 * field's `aria-invalid` and `aria-describedby` naming the message.
 */
import { randomUUID } from 'node:crypto';
import { DATABASE_KINDS } from '../support/databases.js';
import { PageClient, startWebApp, type WebApp } from './support.js';

/** The start tag of the element with this id (input, select, textarea or fieldset), or ''. */
function tagOf(html: string, id: string): string {
  return new RegExp(`<(?:input|select|textarea|fieldset)\\b[^>]*\\bid="${id}"[^>]*>`).exec(html)?.[0] ?? '';
}

/** The error summary's links, as [href, text]. */
function summaryOf(html: string): [string, string][] {
  const box = /<div class="error-summary"[^]*?<\/div>/.exec(html)?.[0] ?? '';
  return [...box.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => [m[1]!, m[2]!]);
}

/** The message shown at a field (`<id>-error`), or ''. */
function fieldErrorOf(html: string, id: string): string {
  return new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(html)?.[1] ?? '';
}

/** The value of the selected option of a select. */
function selectedOf(html: string, id: string): string[] {
  const select = new RegExp(`<select\\b[^>]*\\bid="${id}"[^>]*>([^]*?)</select>`).exec(html)?.[1] ?? '';
  return [...select.matchAll(/<option value="([^"]*)" selected>/g)].map((m) => m[1]!);
}

/** The values of the ticked checkboxes named `name`. */
function checkedOf(html: string, name: string): string[] {
  return [...html.matchAll(new RegExp(`<input type="checkbox" [^>]*name="${name}" value="([^"]*)"[^>]*>`, 'g'))].filter((m) => / checked\b/.test(m[0])).map((m) => m[1]!);
}

/** Expects the field `id` to be marked invalid and described by its message (after `help`, when it has one). */
function expectInvalid(html: string, id: string, message: string, help?: string): void {
  expect(fieldErrorOf(html, id)).toBe(message);
  const tag = tagOf(html, id);
  expect(tag).toContain(' aria-invalid="true"');
  expect(tag).toContain(` aria-describedby="${help ? `${help} ` : ''}${id}-error"`);
}

describe.each(DATABASE_KINDS)('refused admin and verify forms (%s)', (kind) => {
  let app: WebApp;
  let admin: PageClient;
  let auditor: PageClient;
  beforeAll(async () => {
    app = await startWebApp(kind);
    admin = new PageClient(app.url);
    expect((await admin.login(app.users.admin)).status).toBe(303);
    auditor = new PageClient(app.url);
    expect((await auditor.login(app.users.auditor)).status).toBe(303);
  });
  afterAll(async () => {
    await app?.stop();
  });

  /** Posts the form of `path` as its page renders it: its CSRF token and, on a form that has one, its one-time `_once`. */
  const post = async (c: PageClient, path: string, fields: [string, string][]): Promise<{ status: number; html: string }> => {
    const page = await (await c.get(path)).text();
    const once = PageClient.hiddenOf(page, path, '_once');
    const res = await c.post(path, new URLSearchParams([['_csrf', PageClient.csrfOf(page)], ...(once !== undefined ? [['_once', once] as [string, string]] : []), ...fields]));
    return { status: res.status, html: await res.text() };
  };

  describe('the typed values come back (defect 1)', () => {
    it('keeps an organisation name over 200 characters, and a duplicate one', async () => {
      const long = `${randomUUID()} ${'o'.repeat(300)}`;
      const refused = await post(admin, '/admin/organizations', [['name', long]]);
      expect(refused.status).toBe(422);
      expect(tagOf(refused.html, 'o-name')).toContain(`value="${long}"`);

      const duplicate = await post(admin, '/admin/organizations', [['name', 'Riverside Health']]);
      expect(duplicate.status).toBe(409);
      expect(tagOf(duplicate.html, 'o-name')).toContain('value="Riverside Health"');
    });

    it('keeps an API client\'s name, organisation and scopes', async () => {
      const noScope = await post(admin, '/admin/clients', [['name', 'Scheduling bot'], ['organizationId', app.orgs.other]]);
      expect(noScope.status).toBe(422);
      expect(tagOf(noScope.html, 'c-name')).toContain('value="Scheduling bot"');
      expect(selectedOf(noScope.html, 'c-org')).toEqual([app.orgs.other]);

      const noName = await post(admin, '/admin/clients', [['name', '  '], ['organizationId', app.orgs.other], ['scopes', 'reports:read'], ['scopes', 'verify']]);
      expect(noName.status).toBe(422);
      expect(selectedOf(noName.html, 'c-org')).toEqual([app.orgs.other]);
      expect(checkedOf(noName.html, 'scopes')).toEqual(['reports:read', 'verify']);
    });

    it('keeps a user\'s posted name and roles when the new password is refused (never the password)', async () => {
      const officer = await app.t.database.db.selectFrom('users').select(['id', 'name']).where('email', '=', app.users.officer).executeTakeFirstOrThrow();
      const res = await post(admin, `/admin/users/${officer.id}`, [['name', 'Bob Changed'], ['roles', 'auditor'], ['password', 'short']]);
      expect(res.status).toBe(422);
      expect(tagOf(res.html, 'e-name')).toContain('value="Bob Changed"');
      expect(checkedOf(res.html, 'roles')).toEqual(['auditor']);
      expect(tagOf(res.html, 'e-password')).not.toContain('value=');
      expect(await app.t.database.db.selectFrom('users').select(['id', 'name']).where('id', '=', officer.id).executeTakeFirstOrThrow()).toEqual(officer);
    });

    it('keeps the chosen auditor and organisation of a refused grant', async () => {
      const auditorId = (await app.t.database.db.selectFrom('users').select('id').where('email', '=', app.users.auditor).executeTakeFirstOrThrow()).id;
      // The auditor already holds a grant for the main organisation: 409, at the organisation.
      const res = await post(admin, '/admin/grants', [['auditorId', auditorId], ['organizationId', app.orgs.main]]);
      expect(res.status).toBe(409);
      expect(selectedOf(res.html, 'g-auditor')).toEqual([auditorId]);
      expect(selectedOf(res.html, 'g-org')).toEqual([app.orgs.main]);
      expect(summaryOf(res.html)).toEqual([['#g-org', 'This auditor already holds a grant for this organisation.']]);
    });
  });

  describe('each error is at its field (defect 2)', () => {
    const user = (fields: Record<string, string>): [string, string][] => Object.entries({ email: `${randomUUID()}@example.org`, name: '', organizationId: app.orgs.main, roles: 'compliance_officer', password: '', ...fields });

    it('ties an invalid e-mail address to its field', async () => {
      const res = await post(admin, '/admin/users', user({ email: 'not-an-address' }));
      expect(res.status).toBe(422);
      expect(summaryOf(res.html)).toEqual([['#u-email', 'Enter a valid e-mail address.']]);
      expectInvalid(res.html, 'u-email', 'Enter a valid e-mail address.');
      expect(tagOf(res.html, 'u-email')).toContain('value="not-an-address"');
      expect(tagOf(res.html, 'u-name')).not.toContain('aria-invalid');
    });

    it('ties a missing role to the roles, linking to the first', async () => {
      const res = await post(admin, '/admin/users', user({ roles: '' }));
      expect(res.status).toBe(422);
      expect(summaryOf(res.html)).toEqual([['#u-role-compliance_officer', 'Choose at least one role.']]);
      expect(fieldErrorOf(res.html, 'u-roles')).toBe('Choose at least one role.');
      expect(res.html).toContain('<fieldset class="has-error" aria-describedby="u-roles-error"><legend>Roles</legend>');
      expect(tagOf(res.html, 'u-role-compliance_officer')).toContain(' aria-invalid="true"');
    });

    it('ties a duplicate e-mail address (409) to its field', async () => {
      const res = await post(admin, '/admin/users', user({ email: app.users.officer }));
      expect(res.status).toBe(409);
      expect(summaryOf(res.html)).toEqual([['#u-email', 'A user with this e-mail address already exists.']]);
      expectInvalid(res.html, 'u-email', 'A user with this e-mail address already exists.');
    });

    it('ties a user\'s over-long name and a refused password to their fields', async () => {
      const long = await post(admin, '/admin/users', user({ name: 'n'.repeat(201) }));
      expect(long.status).toBe(422);
      expect(summaryOf(long.html)).toEqual([['#u-name', 'The name must NOT have more than 200 characters.']]);
      expectInvalid(long.html, 'u-name', 'The name must NOT have more than 200 characters.');

      const officer = (await app.t.database.db.selectFrom('users').select('id').where('email', '=', app.users.officer).executeTakeFirstOrThrow()).id;
      const edit = await post(admin, `/admin/users/${officer}`, [['name', 'Bob'], ['roles', 'compliance_officer'], ['password', 'short']]);
      expect(edit.status).toBe(422);
      const summary = summaryOf(edit.html);
      expect(summary.length).toBeGreaterThan(0);
      for (const [href, text] of summary) {
        expect(href).toBe('#e-password');
        expect(text).toMatch(/^The password /);
      }
      expectInvalid(edit.html, 'e-password', summary.map(([, text]) => text).join(' '), 'e-password-help');
      expect(tagOf(edit.html, 'e-name')).not.toContain('aria-invalid');
    });

    it('ties an organisation\'s missing or over-long name to its field', async () => {
      const empty = await post(admin, '/admin/organizations', [['name', '  ']]);
      expect(empty.status).toBe(422);
      expect(summaryOf(empty.html)).toEqual([['#o-name', 'Give the organisation a name.']]);
      expectInvalid(empty.html, 'o-name', 'Give the organisation a name.');

      const long = await post(admin, '/admin/organizations', [['name', 'x'.repeat(201)]]);
      expect(summaryOf(long.html)).toEqual([['#o-name', 'The name must NOT have more than 200 characters.']]);
      expectInvalid(long.html, 'o-name', 'The name must NOT have more than 200 characters.');
    });

    it('ties an API client\'s missing name, scopes or unknown organisation to its field', async () => {
      const noName = await post(admin, '/admin/clients', [['name', ''], ['scopes', 'verify']]);
      expect(noName.status).toBe(422);
      expect(summaryOf(noName.html)).toEqual([['#c-name', 'Give the client a name.']]);
      expectInvalid(noName.html, 'c-name', 'Give the client a name.');

      const noScope = await post(admin, '/admin/clients', [['name', 'Bot']]);
      expect(summaryOf(noScope.html)).toEqual([['#c-scope-1', 'Choose at least one scope.']]);
      expect(fieldErrorOf(noScope.html, 'c-scopes')).toBe('Choose at least one scope.');
      expect(noScope.html).toContain('<fieldset class="has-error" aria-describedby="c-scopes-error"><legend>Scopes</legend>');
      expect(tagOf(noScope.html, 'c-scope-1')).toContain(' aria-invalid="true"');

      const noOrg = await post(admin, '/admin/clients', [['name', 'Bot'], ['organizationId', randomUUID()], ['scopes', 'verify']]);
      expect(noOrg.status).toBe(422);
      expect(summaryOf(noOrg.html)).toEqual([['#c-org', 'No such organisation.']]);
      expectInvalid(noOrg.html, 'c-org', 'No such organisation.');
    });

    it('shows no error marks on a page that was not refused', async () => {
      for (const path of ['/admin/users', '/admin/organizations', '/admin/clients', '/admin/grants']) {
        const html = await (await admin.get(path)).text();
        expect(html).not.toContain('aria-invalid');
        expect(html).not.toContain('class="error-summary"');
      }
    });

    it('ties a missing signature on /verify to the signature field, keeping the report', async () => {
      const res = await post(auditor, '/verify', [['report', '{"a":1}'], ['jws', '']]);
      expect(res.status).toBe(422);
      expect(summaryOf(res.html)).toEqual([['#jws', 'Paste or load the signature (.jws).']]);
      expectInvalid(res.html, 'jws', 'Paste or load the signature (.jws).', 'jws-help');
      expect(tagOf(res.html, 'report')).toBe('<textarea id="report" name="report" rows="8" class="mono" aria-describedby="report-help" spellcheck="false">');
      expect(res.html).toContain('{&quot;a&quot;:1}</textarea>');
    });

    it('ties a missing report on /verify to the report field, keeping the signature', async () => {
      const res = await post(auditor, '/verify', [['report', ' '], ['jws', 'a.b.c']]);
      expect(res.status).toBe(422);
      expect(summaryOf(res.html)).toEqual([['#report', 'Paste or load the report JSON.']]);
      expectInvalid(res.html, 'report', 'Paste or load the report JSON.', 'report-help');
      expect(tagOf(res.html, 'jws')).not.toContain('aria-invalid');
      expect(res.html).toContain('>a.b.c</textarea>');
    });
  });

  describe('a user edited on the page keeps one or more roles', () => {
    const officerRow = (): Promise<{ id: string; name: string | null; roles: string[] }> => app.t.database.db.selectFrom('users').select(['id', 'name', 'roles']).where('email', '=', app.users.officer).executeTakeFirstOrThrow();

    it.each([
      ['no role ticked', [] as [string, string][], 'Choose at least one role.'],
      ['a role the service does not have', [['roles', 'superuser']] as [string, string][], 'Choose roles from the list.'],
      ['an unknown role beside a known one', [['roles', 'compliance_officer'], ['roles', 'superuser']] as [string, string][], 'Choose roles from the list.'],
    ])('refuses %s (422 at the roles), keeping the typed name and storing nothing', async (_name, roles, message) => {
      const before = await officerRow();
      const res = await post(admin, `/admin/users/${before.id}`, [['name', 'Kept Name'], ...roles]);
      expect(res.status).toBe(422);
      expect(summaryOf(res.html)).toEqual([['#e-role-compliance_officer', message]]);
      expect(fieldErrorOf(res.html, 'e-roles')).toBe(message);
      expect(tagOf(res.html, 'e-role-compliance_officer')).toContain(' aria-invalid="true"');
      expect(tagOf(res.html, 'e-name')).toContain('value="Kept Name"');
      expect(await officerRow()).toEqual(before);
    });

    it('refuses an unknown role on the create form too', async () => {
      const email = `${randomUUID()}@example.org`;
      const res = await post(admin, '/admin/users', [['email', email], ['name', ''], ['organizationId', app.orgs.main], ['roles', 'superuser'], ['password', '']]);
      expect(res.status).toBe(422);
      expect(summaryOf(res.html)).toEqual([['#u-role-compliance_officer', 'Choose roles from the list.']]);
      expect(await app.t.database.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()).toBeUndefined();
    });
  });
});
