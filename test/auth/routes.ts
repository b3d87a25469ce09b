/**
 * The routes of the authorisation matrix (test/auth/matrix.test.ts), in one place.
 *
 * To add a route: append a `RouteCase` naming its permission-table action, whether the resource
 * belongs to an organisation (`orgScoped`: the matrix then calls it for the caller's organisation
 * and for another one, expecting 404 there), a `path` (which may create a fresh target through
 * `ctx.fixtures`, e.g. an assessment of `ctx.orgId`), a valid `body` and the success status.
 * Expected statuses are computed from src/auth/permissions.ts, never written here.
 *
 * Actions whose routes do not exist yet are covered by PROBE cases: test-only routes mounted by
 * the matrix that run exactly `authorize(action)` + `assertOrganizationAccess` (what a real route
 * must do). When a feature adds the real route, add its RouteCase; the probe can stay.
 */
import type { Action, Role, Scope } from '../../src/auth/permissions.js';
import { seedClient, seedOrganization, seedUser, unique } from './helpers.js';
import type { TestApp } from '../support/app.js';
import { randomUUID } from 'node:crypto';
import { AssessmentService } from '../../src/assessments/service.js';
import { rulesEvaluator } from '../../src/assessments/evaluator.js';
import { example } from '../support/fixtures.js';

export interface RouteContext {
  readonly app: TestApp;
  /** The organisation the call targets: the caller's own (or granted), or another one. */
  readonly orgId: string;
  /** The caller's password (routes that re-check it). */
  readonly password: string;
}

export interface RouteCase {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly action: Action;
  readonly orgScoped: boolean;
  path(ctx: RouteContext): string | Promise<string>;
  body?(ctx: RouteContext): unknown;
  readonly success: number;
}

/** Fixtures created on demand for routes that consume or change a target. */
export const fixtures = {
  org: (app: TestApp): Promise<string> => seedOrganization(app),
  user: async (app: TestApp, orgId: string, roles: readonly Role[] = ['compliance_officer']): Promise<string> => (await seedUser(app, orgId, roles)).id,
  client: async (app: TestApp, orgId: string, scopes: readonly Scope[] = ['assessments:read']): Promise<string> => (await seedClient(app, orgId, scopes)).id,
  grant: async (app: TestApp, orgId: string): Promise<string> => {
    const auditor = await seedUser(app, orgId, ['auditor'], { grants: [orgId] });
    const row = await app.t.database.db.selectFrom('auditor_grants').select('id').where('auditor_id', '=', auditor.id).executeTakeFirstOrThrow();
    return row.id;
  },
};

const poorly = example('poorly-controlled');

/** An assessment (revision 1 + report) of `orgId`, created through the domain service. */
async function seedAssessment(app: TestApp, orgId: string): Promise<{ id: string; reportId: string }> {
  const service = new AssessmentService({ db: app.t.database.db, evaluator: rulesEvaluator, reportKeys: app.reportKeys });
  const r = await service.create({ type: 'user', id: randomUUID(), name: 'matrix', role: 'compliance_officer', organizationId: orgId }, 'Matrix org', { title: 'Matrix assessment', ...poorly });
  return { id: r.assessment.id, reportId: r.report!.id };
}

/** The assessment, report and audit routes. */
const ASSESSMENT_ROUTES: readonly RouteCase[] = [
  { name: 'GET /v1/questionnaires', method: 'GET', action: 'questionnaires.read', orgScoped: false, path: () => '/v1/questionnaires', success: 200 },
  { name: 'GET /v1/questionnaires/{version}', method: 'GET', action: 'questionnaires.read', orgScoped: false, path: () => '/v1/questionnaires/1', success: 200 },
  { name: 'GET /v1/rulesets', method: 'GET', action: 'rulesets.read', orgScoped: false, path: () => '/v1/rulesets', success: 200 },
  { name: 'GET /v1/rulesets/{id}/{version}', method: 'GET', action: 'rulesets.read', orgScoped: false, path: () => '/v1/rulesets/hipaa-security/1.0.0', success: 200 },
  { name: 'POST /v1/evaluate', method: 'POST', action: 'evaluate', orgScoped: false, path: () => '/v1/evaluate', body: () => poorly, success: 200 },
  { name: 'POST /v1/assessments', method: 'POST', action: 'assessments.create', orgScoped: false, path: () => '/v1/assessments', body: () => ({ title: 'Matrix', ...poorly }), success: 201 },
  { name: 'GET /v1/assessments', method: 'GET', action: 'assessments.read', orgScoped: false, path: () => '/v1/assessments', success: 200 },
  { name: 'GET /v1/assessments/{id}', method: 'GET', action: 'assessments.read', orgScoped: true, path: async (c) => `/v1/assessments/${(await seedAssessment(c.app, c.orgId)).id}`, success: 200 },
  { name: 'GET /v1/assessments/{id}/revisions/{n}', method: 'GET', action: 'assessments.read', orgScoped: true, path: async (c) => `/v1/assessments/${(await seedAssessment(c.app, c.orgId)).id}/revisions/1`, success: 200 },
  { name: 'POST /v1/assessments/{id}/revisions', method: 'POST', action: 'assessments.revise', orgScoped: true, path: async (c) => `/v1/assessments/${(await seedAssessment(c.app, c.orgId)).id}/revisions`, body: () => ({ answers: poorly.answers }), success: 201 },
  { name: 'POST /v1/assessments/{id}/revisions/{n}/reports', method: 'POST', action: 'assessments.revise', orgScoped: true, path: async (c) => `/v1/assessments/${(await seedAssessment(c.app, c.orgId)).id}/revisions/1/reports`, body: () => ({}), success: 200 },
  { name: 'GET /v1/reports/{id}', method: 'GET', action: 'reports.read', orgScoped: true, path: async (c) => `/v1/reports/${(await seedAssessment(c.app, c.orgId)).reportId}`, success: 200 },
  { name: 'GET /v1/reports/{id}/pdf', method: 'GET', action: 'reports.read', orgScoped: true, path: async (c) => `/v1/reports/${(await seedAssessment(c.app, c.orgId)).reportId}/pdf`, success: 200 },
  { name: 'GET /v1/reports/{id}/signature', method: 'GET', action: 'reports.read', orgScoped: true, path: async (c) => `/v1/reports/${(await seedAssessment(c.app, c.orgId)).reportId}/signature`, success: 200 },
  {
    name: 'GET /v1/reports/{a}/diff/{b}',
    method: 'GET',
    action: 'reports.read',
    orgScoped: true,
    path: async (c) => {
      const a = await seedAssessment(c.app, c.orgId);
      return `/v1/reports/${a.reportId}/diff/${a.reportId}`;
    },
    success: 200,
  },
  { name: 'POST /v1/verify', method: 'POST', action: 'verify', orgScoped: false, path: () => '/v1/verify', body: () => ({ report: '{"a":1}', jws: 'eyJhbGciOiJFZERTQSJ9..AAAA' }), success: 200 },
  { name: 'GET /v1/audit/events', method: 'GET', action: 'audit.read', orgScoped: false, path: () => '/v1/audit/events', success: 200 },
  { name: 'GET /v1/assessments/{id}/audit', method: 'GET', action: 'audit.read', orgScoped: true, path: async (c) => `/v1/assessments/${(await seedAssessment(c.app, c.orgId)).id}/audit`, success: 200 },
  { name: 'GET /v1/audit/export', method: 'GET', action: 'audit.read', orgScoped: false, path: () => '/v1/audit/export', success: 200 },
  { name: 'GET /v1/audit/verify', method: 'GET', action: 'audit.verify', orgScoped: false, path: () => '/v1/audit/verify', success: 200 },
  { name: 'POST /v1/audit/checkpoints', method: 'POST', action: 'audit.checkpoint', orgScoped: false, path: () => '/v1/audit/checkpoints', body: () => ({}), success: 201 },
  { name: 'GET /v1/keys', method: 'GET', action: 'keys.rotate', orgScoped: false, path: () => '/v1/keys', success: 200 },
];

/** The real routes (auth and administration). Other features append theirs here. */
export const ROUTES: readonly RouteCase[] = [
  ...ASSESSMENT_ROUTES,
  { name: 'GET /v1/me', method: 'GET', action: 'self.read', orgScoped: false, path: () => '/v1/me', success: 200 },
  {
    name: 'POST /v1/me/password',
    method: 'POST',
    action: 'self.password',
    orgScoped: false,
    path: () => '/v1/me/password',
    // A new password (the same again is a 422); each caller changes it once and keeps its session.
    body: (c) => ({ currentPassword: c.password, newPassword: `${c.password}-renewed` }),
    success: 204,
  },
  { name: 'GET /v1/organizations', method: 'GET', action: 'organizations.manage', orgScoped: false, path: () => '/v1/organizations', success: 200 },
  { name: 'POST /v1/organizations', method: 'POST', action: 'organizations.manage', orgScoped: false, path: () => '/v1/organizations', body: () => ({ name: unique('Matrix org ') }), success: 201 },
  { name: 'GET /v1/users', method: 'GET', action: 'users.manage', orgScoped: false, path: () => '/v1/users', success: 200 },
  { name: 'GET /v1/users/{id}', method: 'GET', action: 'users.manage', orgScoped: false, path: async (c) => `/v1/users/${await fixtures.user(c.app, c.orgId)}`, success: 200 },
  {
    name: 'POST /v1/users',
    method: 'POST',
    action: 'users.manage',
    orgScoped: false,
    path: () => '/v1/users',
    body: (c) => ({ email: `${unique('new')}@example.org`, organizationId: c.orgId, roles: ['compliance_officer'], password: 'a-long-Initial-passphrase-7' }),
    success: 201,
  },
  { name: 'PATCH /v1/users/{id}', method: 'PATCH', action: 'users.manage', orgScoped: false, path: async (c) => `/v1/users/${await fixtures.user(c.app, c.orgId)}`, body: () => ({ roles: ['auditor'] }), success: 200 },
  { name: 'GET /v1/api-clients', method: 'GET', action: 'api_clients.manage', orgScoped: false, path: () => '/v1/api-clients', success: 200 },
  { name: 'POST /v1/api-clients', method: 'POST', action: 'api_clients.manage', orgScoped: false, path: () => '/v1/api-clients', body: (c) => ({ name: 'matrix client', organizationId: c.orgId, scopes: ['reports:read'] }), success: 201 },
  { name: 'POST /v1/api-clients/{id}/rotate', method: 'POST', action: 'api_clients.manage', orgScoped: false, path: async (c) => `/v1/api-clients/${await fixtures.client(c.app, c.orgId)}/rotate`, success: 200 },
  { name: 'POST /v1/api-clients/{id}/revoke', method: 'POST', action: 'api_clients.manage', orgScoped: false, path: async (c) => `/v1/api-clients/${await fixtures.client(c.app, c.orgId)}/revoke`, success: 200 },
  { name: 'DELETE /v1/api-clients/{id}', method: 'DELETE', action: 'api_clients.manage', orgScoped: false, path: async (c) => `/v1/api-clients/${await fixtures.client(c.app, c.orgId)}`, success: 204 },
  { name: 'GET /v1/auditor-grants', method: 'GET', action: 'auditor_grants.manage', orgScoped: false, path: () => '/v1/auditor-grants', success: 200 },
  {
    name: 'POST /v1/auditor-grants',
    method: 'POST',
    action: 'auditor_grants.manage',
    orgScoped: false,
    path: () => '/v1/auditor-grants',
    body: async (c: RouteContext) => ({ auditorId: await fixtures.user(c.app, c.orgId, ['auditor']), organizationId: c.orgId }),
    success: 201,
  },
  { name: 'DELETE /v1/auditor-grants/{id}', method: 'DELETE', action: 'auditor_grants.manage', orgScoped: false, path: async (c) => `/v1/auditor-grants/${await fixtures.grant(c.app, c.orgId)}`, success: 204 },
];

/** Which actions are organisation-scoped when probed (their real routes load an org's resource). */
const ORG_SCOPED_ACTIONS: ReadonlySet<Action> = new Set(['assessments.read', 'assessments.create', 'assessments.revise', 'reports.read', 'audit.read']);
const WRITE_ACTIONS: ReadonlySet<Action> = new Set(['assessments.create', 'assessments.revise', 'evaluate', 'verify', 'audit.checkpoint', 'keys.rotate']);

/** The path of the probe route of an action (mounted by the matrix test). */
export function probePath(action: Action, orgId: string): string {
  return `/test-probe/${action}/${orgId}`;
}

/** One probe case per action given (test-only routes, see above). */
export function probeCases(actions: readonly Action[]): RouteCase[] {
  return actions.map((action) => ({
    name: `probe ${action}`,
    method: WRITE_ACTIONS.has(action) ? 'POST' : 'GET',
    action,
    orgScoped: ORG_SCOPED_ACTIONS.has(action),
    path: (c: RouteContext) => probePath(action, c.orgId),
    ...(WRITE_ACTIONS.has(action) ? { body: () => ({}) } : {}),
    success: 200,
  }));
}
