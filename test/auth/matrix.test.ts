/**
 * The authorisation matrix: every route × every role and client scope × {own organisation,
 * another organisation, no credentials}, through real HTTP. The expected status of each cell is
 * computed from the permission table (src/auth/permissions.ts): 401 without credentials, 403
 * when no role/scope permits the action, 404 for an organisation out of reach, else success.
 */
import { Router, type Request, type Response } from 'express';
import type { AuthMiddleware } from '../../src/http/middleware/auth.js';
import { ACTIONS, assertOrganizationAccess, canAccessOrganization, isPermitted, ROLES, SCOPES, type Action, type Principal, type Role, type Scope } from '../../src/auth/permissions.js';
import { authPaths } from '../../src/http/openapi/auth.js';
import { assessmentPaths, auditPaths } from '../../src/http/openapi/assessments.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { clientToken, login, PASSWORD, seedClient, seedOrganization, seedUser, send, type Credentials } from './helpers.js';
import { probeCases, ROUTES, type RouteCase } from './routes.js';

interface Caller {
  readonly name: string;
  /** What the table sees: enough of a Principal to compute the expectation. */
  readonly model: Principal;
  credentials: Credentials;
}

const USER_ROLE_SETS: readonly (readonly Role[])[] = [['admin'], ['compliance_officer'], ['auditor'], ['admin', 'compliance_officer']];

const realActions = new Set(ROUTES.map((r) => r.action));
const CASES: readonly RouteCase[] = [...ROUTES, ...probeCases(ACTIONS.filter((a) => !realActions.has(a)))];

function probeRouter(auth: AuthMiddleware): Router {
  const router = Router();
  for (const action of ACTIONS) {
    const handler = (req: Request, res: Response): void => {
      assertOrganizationAccess(auth.principalOf(req), action, String(req.params.orgId));
      res.json({ ok: true });
    };
    router.get(`/test-probe/${action}/:orgId`, auth.authorize(action), handler);
    router.post(`/test-probe/${action}/:orgId`, auth.authorize(action), handler);
  }
  return router;
}

describe('the route list', () => {
  it('covers every action of the permission table', () => {
    const covered = new Set(CASES.map((c) => c.action));
    expect(ACTIONS.filter((a) => !covered.has(a))).toEqual([]);
  });

  it('every route is in the OpenAPI document', () => {
    const paths: Record<string, unknown> = { ...authPaths, ...assessmentPaths, ...auditPaths };
    for (const route of ROUTES) {
      const [method, path] = route.name.split(' ');
      expect([route.name, (paths[path!] as Record<string, unknown> | undefined)?.[method!.toLowerCase()]]).toEqual([route.name, expect.anything()]);
    }
  });
});

describe.each(DATABASE_KINDS)('authorisation matrix on %s', (kind) => {
  let app: TestApp;
  let orgA: string;
  let orgB: string;
  const callers: Caller[] = [];

  beforeAll(async () => {
    app = await startTestApp(kind, { PUBLIC_URL: 'https://risk.example.test' }, { extraRoutes: (auth) => [probeRouter(auth)] });
    orgA = await seedOrganization(app);
    orgB = await seedOrganization(app);
    const auditFirm = await seedOrganization(app);
    for (const roles of USER_ROLE_SETS) {
      const home = roles.includes('auditor') ? auditFirm : orgA;
      const grants = roles.includes('auditor') ? [orgA] : [];
      const user = await seedUser(app, home, roles, { grants });
      const session = await login(app, user.email);
      callers.push({
        name: `user ${roles.join('+')}`,
        model: { type: 'user', id: user.id, organizationId: home, organizationName: 'Home', roles, scopes: [], grantedOrganizationIds: grants, via: 'cookie', displayName: user.email },
        credentials: { kind: 'session', session },
      });
    }
    for (const scope of SCOPES) {
      const client = await seedClient(app, orgA, [scope]);
      callers.push({
        name: `client ${scope}`,
        model: { type: 'client', id: client.id, organizationId: orgA, organizationName: 'A', roles: [], scopes: [scope], grantedOrganizationIds: [], via: 'bearer', displayName: scope },
        credentials: { kind: 'bearer', token: await clientToken(app, client) },
      });
    }
    // An admin re-checks nothing else, so its own grants are also exercised (ROLES/SCOPES are all used).
    expect(new Set(callers.flatMap((c) => c.model.roles))).toEqual(new Set<Role>(ROLES));
    expect(new Set(callers.flatMap((c) => c.model.scopes))).toEqual(new Set<Scope>(SCOPES));
  });
  afterAll(async () => {
    await app.stop();
  });

  function expected(route: RouteCase, caller: Caller | undefined, orgId: string): number {
    if (!caller) return 401;
    if (!isPermitted(caller.model, route.action)) return 403;
    if (route.orgScoped && !canAccessOrganization(caller.model, route.action, orgId)) return 404;
    return route.success;
  }

  async function call(route: RouteCase, caller: Caller | undefined, orgId: string): Promise<{ status: number; expected: number; body: string }> {
    const ctx = { app, orgId, password: PASSWORD };
    const path = await route.path(ctx);
    const body = route.body ? await route.body(ctx) : undefined;
    const res = await send(app, route.method, path, caller?.credentials ?? { kind: 'none' }, body);
    return { status: res.status, expected: expected(route, caller, orgId), body: res.status >= 300 ? (await res.text()).slice(0, 300) : (await res.arrayBuffer(), '') };
  }

  it.each(CASES.map((c) => [c.name, c]))('%s', async (_name, route) => {
    const mismatches: string[] = [];
    const anon = await call(route, undefined, orgA);
    if (anon.status !== anon.expected) mismatches.push(`anonymous: got ${anon.status}, expected ${anon.expected} ${anon.body}`);
    for (const caller of callers) {
      for (const [label, orgId] of route.orgScoped ? ([['own', orgA], ['other', orgB]] as const) : ([['own', orgA]] as const)) {
        const r = await call(route, caller, orgId);
        if (r.status !== r.expected) mismatches.push(`${caller.name} (${label} org): got ${r.status}, expected ${r.expected} ${r.body}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('a denied cell is recorded in the audit trail (bounded)', async () => {
    const rows = await app.t.database.db.selectFrom('audit_events').select(['decision']).where('action', '=', 'request.denied').execute();
    const statuses = new Set(rows.map((r) => (r.decision as { status: number }).status));
    // 401 and 403 from the middleware; 404 for another organisation's assessment or report.
    expect(statuses).toEqual(new Set([401, 403, 404]));
  });

  it('every action the matrix exercised is in the table (no typo in a route case)', () => {
    for (const c of CASES) expect(ACTIONS).toContain<Action>(c.action);
  });
});
