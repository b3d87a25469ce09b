/**
 * Crafted input on the administration and auditor pages, over real HTTP and the real database, on
 * every database kind: over-long e-mail addresses and names are refused (422 naming the field, as
 * the admin API refuses them) instead of failing the database's or the audit trail's checks, a
 * verified signature's caller-controlled `kid` is recorded bounded and clean, and the audit trail
 * page refuses dates the calendar does not have.
 */
import { randomUUID } from 'node:crypto';
import { DATABASE_KINDS } from '../support/databases.js';
import { PageClient, startWebApp, type WebApp } from './support.js';

type Table = 'users' | 'organizations' | 'api_clients' | 'audit_events';

describe.each(DATABASE_KINDS)('admin and auditor page input (%s)', (kind) => {
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

  const db = () => app.t.database.db;
  const count = async (table: Table): Promise<number> => Number((await db().selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const csrf = async (c: PageClient, path: string): Promise<string> => PageClient.csrfOf(await (await c.get(path)).text());
  /** The last audit event's action and decision. */
  const lastEvent = async (): Promise<unknown> => (await db().selectFrom('audit_events').select(['action', 'decision']).orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow());

  describe('POST /admin/users', () => {
    const post = async (fields: Record<string, string>): Promise<Response> => {
      const form = new URLSearchParams({ _csrf: await csrf(admin, '/admin/users'), name: '', organizationId: app.orgs.main, roles: 'compliance_officer', password: '', ...fields });
      return admin.post('/admin/users', form);
    };
    /** An address of exactly `length` code points. */
    const address = (length: number, local = ''): string => `${local}${'a'.repeat(length - local.length - '@example.org'.length)}@example.org`;

    it('refuses an e-mail address over 254 characters (the API\'s limit) with 422 at the field, storing no user', async () => {
      const users = await count('users');
      const email = address(255);
      const res = await post({ email });
      expect(res.status).toBe(422);
      const html = await res.text();
      expect(html).toContain('The e-mail address must NOT have more than 254 characters.');
      expect(html).toContain(`value="${email}"`);
      expect(await count('users')).toBe(users);
      expect(await lastEvent()).toMatchObject({ action: 'request.refused', decision: { status: 422, pointers: ['/email'] } });
    });

    it('refuses an address that grows past 254 characters when lower-cased as stored (İ), storing no user', async () => {
      const users = await count('users');
      const email = address(254, 'İ');
      expect([...email]).toHaveLength(254);
      const res = await post({ email });
      expect(res.status).toBe(422);
      expect(await res.text()).toContain('The e-mail address must NOT have more than 254 characters.');
      expect(await count('users')).toBe(users);
    });

    it('takes an address of exactly 254 characters', async () => {
      const email = address(254, 'edge');
      const res = await post({ email });
      expect(res.status).toBe(201);
      expect(await db().selectFrom('users').select('email').where('email', '=', email).executeTakeFirst()).toEqual({ email });
    });

    it('refuses a display name over 200 characters with 422 at the field, on create and on update', async () => {
      const users = await count('users');
      const name = `${'n'.repeat(199)}😀😀`;
      const created = await post({ email: `${randomUUID()}@example.org`, name });
      expect(created.status).toBe(422);
      expect(await created.text()).toContain('The name must NOT have more than 200 characters.');
      expect(await count('users')).toBe(users);

      const officer = await db().selectFrom('users').select(['id', 'name', 'updated_at']).where('email', '=', app.users.officer).executeTakeFirstOrThrow();
      const updated = await admin.post(`/admin/users/${officer.id}`, new URLSearchParams({ _csrf: await csrf(admin, `/admin/users/${officer.id}`), name, roles: 'compliance_officer' }));
      expect(updated.status).toBe(422);
      expect(await updated.text()).toContain('The name must NOT have more than 200 characters.');
      expect(await db().selectFrom('users').select(['id', 'name', 'updated_at']).where('id', '=', officer.id).executeTakeFirstOrThrow()).toEqual(officer);
    });
  });

  describe.each([
    ['/admin/organizations', 'organizations', {}],
    ['/admin/clients', 'api_clients', { scopes: 'assessments:read' }],
  ] as const)('POST %s', (path, table, extra) => {
    /** Posts the form as its page renders it: its CSRF token and, on the client form, its one-time `_once`. */
    const post = async (name: string): Promise<Response> => {
      const page = await (await admin.get(path)).text();
      const once = PageClient.hiddenOf(page, path, '_once');
      return admin.post(path, new URLSearchParams({ _csrf: PageClient.csrfOf(page), ...(once !== undefined ? { _once: once } : {}), name, ...extra }));
    };

    it('refuses a name over 200 characters ending in an emoji with 422 at the field, storing nothing (no cut surrogate pair)', async () => {
      const rows = await count(table);
      // 201 code points, 202 UTF-16 units: a cut at 200 units would have split the emoji.
      const res = await post(`${'o'.repeat(199)}😀😀`);
      expect(res.status).toBe(422);
      expect(await res.text()).toContain('The name must NOT have more than 200 characters.');
      expect(await count(table)).toBe(rows);
      expect(await lastEvent()).toMatchObject({ action: 'request.refused', decision: { status: 422, pointers: ['/name'] } });
    });

    it('refuses a plain name of 201 characters instead of storing it cut', async () => {
      const rows = await count(table);
      const res = await post('p'.repeat(201));
      expect(res.status).toBe(422);
      expect(await count(table)).toBe(rows);
    });

    it('takes a name of 200 characters (code points, as the API counts them) with an emoji, whole', async () => {
      const name = `${randomUUID()}${'q'.repeat(199 - 36)}😀`;
      expect([...name]).toHaveLength(200);
      expect(name).toHaveLength(201);
      const res = await post(name);
      expect([201, 303]).toContain(res.status);
      expect(await db().selectFrom(table).select('name').where('name', '=', name).executeTakeFirst()).toEqual({ name });
    });
  });

  describe('POST /verify', () => {
    /** A detached JWS that reaches the key lookup: a well-formed header naming `kid`, a 64-byte signature. */
    const jwsWithKid = (kid: string): string => `${Buffer.from(JSON.stringify({ alg: 'EdDSA', b64: false, crit: ['b64'], kid })).toString('base64url')}..${Buffer.alloc(64).toString('base64url')}`;

    it.each([
      ['over 500 characters', 'k'.repeat(600), `key ${'k'.repeat(296)}`],
      ['with a NUL and other control characters', 'evil\u0000kid\u0007\u001b[31m', 'key evil?kid??[31m is not in the key set'],
      // Not a header the service writes (no canonical JSON holds a lone surrogate): refused as such.
      ['with a lone surrogate and an emoji', `a\ud800b😀${'x'.repeat(700)}`, 'the protected header must be exactly {"alg":"EdDSA","b64":false,"crit":["b64"],"kid":...} in canonical JSON (no other, duplicate or escaped members)'],
      ['300 emoji (600 UTF-16 units)', '😀'.repeat(300), `key ${'?'.repeat(296)}`],
    ])('answers a signature whose kid is %s as not valid, recording the reason bounded and clean (no 500)', async (_what, kid, reason) => {
      const before = await count('audit_events');
      const res = await auditor.post('/verify', new URLSearchParams({ _csrf: await csrf(auditor, '/verify'), report: '{"reportId":"x"}', jws: jwsWithKid(kid) }));
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('Not valid');
      expect(await count('audit_events')).toBe(before + 1);
      expect(await lastEvent()).toEqual({ action: 'report.verified', decision: { valid: false, kid: null, reason, reportId: null } });
    });
  });

  describe('GET /audit date filters', () => {
    it.each([
      ['from', '2026-02-30'],
      ['to', '2025-02-29'],
      ['from', '2026-04-31'],
    ])('refuses %s=%s, a date the calendar does not have, with a 400 page', async (name, value) => {
      const res = await auditor.get(`/audit?${name}=${value}`);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(`The filter ${name} must be a date, YYYY-MM-DD`);
    });
  });
});
