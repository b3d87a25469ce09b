/**
 * Over real HTTP, on every database kind, three rules of the administration API:
 * - a user always holds one or more roles: `PATCH /v1/users/{id}` with `roles: []` is a 422 at
 *   `/roles` (it was a 200 storing `{}`), and the service refuses an empty list whoever calls it;
 * - ids are UUIDs in either case, normalised to lower case: the id filters of the administration
 *   lists refuse what is not a UUID (400 at `/organizationId`, `/auditorId`; it was a 200 with an
 *   empty list), and upper-case ids find assessments, reports and audit events (they were 404s and
 *   an empty page while `/v1/users/{UPPER}` was a 200);
 * - the 409s of the last administrator and of a duplicate grant name their field in `pointer`
 *   (it was `null`).
 */
import { SYSTEM_ACTOR } from '../../src/audit/record.js';
import { updateUser } from '../../src/auth/users.js';
import { AppError } from '../../src/errors.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { login, seedOrganization, seedUser, send, type Credentials } from './helpers.js';
import type { ProblemBody as Problem } from '../../src/http/problem.js';


const PROBLEMS = 'https://hipaa-ai-risk.dev/problems/';

describe.each(DATABASE_KINDS)('user roles, UUID ids and 409 pointers (%s)', (kind) => {
  let app: TestApp;
  let home: string;
  let admin: { id: string; creds: Credentials };
  let officer: Credentials;

  const roleOf = async (id: string): Promise<string[]> => (await app.t.database.db.selectFrom('users').select('roles').where('id', '=', id).executeTakeFirstOrThrow()).roles;

  beforeAll(async () => {
    app = await startTestApp(kind);
    home = await seedOrganization(app);
    // The only enabled administrator of this database.
    const a = await seedUser(app, home, ['admin']);
    admin = { id: a.id, creds: { kind: 'session', session: await login(app, a.email) } };
    const o = await seedUser(app, home, ['compliance_officer']);
    officer = { kind: 'session', session: await login(app, o.email) };
  });
  afterAll(async () => {
    await app.stop();
  });

  describe('a user holds one or more roles', () => {
    it('refuses PATCH /v1/users/{id} with roles [] (422 at /roles) and keeps the roles', async () => {
      const user = await seedUser(app, home, ['compliance_officer']);
      const res = await send(app, 'PATCH', `/v1/users/${user.id}`, admin.creds, { roles: [] });
      expect(res.status).toBe(422);
      const problem = (await res.json()) as Problem;
      expect(problem.type).toBe(`${PROBLEMS}validation-failed`);
      expect(problem.pointer).toBe('/roles');
      expect(await roleOf(user.id)).toEqual(['compliance_officer']);
    });

    it('publishes minItems 1 for the roles of PATCH /v1/users/{id}', async () => {
      const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: { properties: { roles: { minItems?: number } } } }> } }>> };
      expect(doc.paths['/v1/users/{id}']!.patch!.requestBody.content['application/json']!.schema.properties.roles.minItems).toBe(1);
    });

    it('refuses an empty role list in the service itself (no route can store one)', async () => {
      const user = await seedUser(app, home, ['auditor']);
      const audit = { actor: SYSTEM_ACTOR, request: null, now: new Date() };
      const refused = await app.t.database.db
        .transaction()
        .execute((trx) => updateUser(trx, user.id, { roles: [] }, audit))
        .then(
          () => null,
          (err: unknown) => err,
        );
      expect(refused).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({ code: 'validation-failed', pointer: '/roles' });
      expect(await roleOf(user.id)).toEqual(['auditor']);
    });
  });

  describe('UUID id filters and ids in either case', () => {
    it.each([
      ['/v1/users?organizationId=not-a-uuid', '/organizationId'],
      ['/v1/api-clients?organizationId=not-a-uuid', '/organizationId'],
      ['/v1/auditor-grants?auditorId=not-a-uuid', '/auditorId'],
      ['/v1/auditor-grants?organizationId=12345', '/organizationId'],
    ])('refuses %s with a 400 at %s', async (path, pointer) => {
      const res = await send(app, 'GET', path, admin.creds);
      expect(res.status).toBe(400);
      const problem = (await res.json()) as Problem;
      expect(problem.type).toBe(`${PROBLEMS}bad-request`);
      expect(problem.pointer).toBe(pointer);
      expect(problem.detail).toContain(pointer.slice(1));
    });

    it('filters by an organisation id typed in upper case, and takes an empty filter as absent', async () => {
      const org = await seedOrganization(app);
      const user = await seedUser(app, org, ['auditor'], { grants: [org] });
      const users = (await (await send(app, 'GET', `/v1/users?organizationId=${org.toUpperCase()}`, admin.creds)).json()) as { items: { id: string }[] };
      expect(users.items.map((u) => u.id)).toEqual([user.id]);
      const grants = (await (await send(app, 'GET', `/v1/auditor-grants?auditorId=${user.id.toUpperCase()}&organizationId=${org.toUpperCase()}`, admin.creds)).json()) as { items: { auditorId: string }[] };
      expect(grants.items.map((g) => g.auditorId)).toEqual([user.id]);
      expect((await send(app, 'GET', '/v1/users?organizationId=', admin.creds)).status).toBe(200);
    });

    it('finds an assessment, its report and its audit events by ids in upper case', async () => {
      const create = await send(app, 'POST', '/v1/assessments', officer, { title: 'Upper-case ids', ...example('poorly-controlled') });
      expect(create.status).toBe(201);
      const created = (await create.json()) as { assessment: { id: string }; report: { id: string } };
      const id = created.assessment.id;
      const upper = id.toUpperCase();
      expect(upper).not.toBe(id);

      const assessment = await send(app, 'GET', `/v1/assessments/${upper}`, officer);
      expect(assessment.status).toBe(200);
      expect(((await assessment.json()) as { id: string }).id).toBe(id);
      const report = await send(app, 'GET', `/v1/reports/${created.report.id.toUpperCase()}`, officer, undefined, { accept: 'application/json' });
      expect(report.status).toBe(200);

      const lower = (await (await send(app, 'GET', `/v1/audit/events?targetId=${id}`, admin.creds)).json()) as { items: { seq: number; target: { id: string } }[] };
      expect(lower.items.map((e) => e.target.id)).toContain(id);
      const byUpper = (await (await send(app, 'GET', `/v1/audit/events?targetId=${upper}`, admin.creds)).json()) as { items: { seq: number }[] };
      expect(byUpper.items.map((e) => e.seq)).toStrictEqual(lower.items.map((e) => e.seq));
    });
  });

  describe('409s name their field', () => {
    it('points the last administrator’s demotion at /roles and disabling at /disabled', async () => {
      const demote = await send(app, 'PATCH', `/v1/users/${admin.id}`, admin.creds, { roles: ['compliance_officer'] });
      expect(demote.status).toBe(409);
      expect(((await demote.json()) as Problem).pointer).toBe('/roles');
      const disable = await send(app, 'PATCH', `/v1/users/${admin.id}`, admin.creds, { disabled: true });
      expect(disable.status).toBe(409);
      expect(((await disable.json()) as Problem).pointer).toBe('/disabled');
      expect(await roleOf(admin.id)).toEqual(['admin']);
    });

    it('points a duplicate auditor grant at /organizationId', async () => {
      const org = await seedOrganization(app);
      const auditor = await seedUser(app, home, ['auditor'], { grants: [org] });
      const res = await send(app, 'POST', '/v1/auditor-grants', admin.creds, { auditorId: auditor.id, organizationId: org });
      expect(res.status).toBe(409);
      const problem = (await res.json()) as Problem;
      expect(problem.type).toBe(`${PROBLEMS}conflict`);
      expect(problem.pointer).toBe('/organizationId');
    });
  });
});
