/**
 * Administration: organisations, users, API clients and auditor grants. Every route requires an
 * administrator (the installation-wide `admin` role; clients never administer) and every change
 * is an audit event written in the transaction that makes it. Passwords are hashed before the
 * transaction opens.
 */
import { Router, type Request, type Response } from 'express';
import { createApiClient, listApiClients, revokeApiClient, rotateApiClientSecret } from '../../auth/api-clients.js';
import { createAuditorGrant, listAuditorGrants, revokeAuditorGrant } from '../../auth/auditor-grants.js';
import { actorOf, type AuthContext } from '../../auth/context.js';
import { createOrganization, listOrganizations } from '../../auth/organizations.js';
import { hashPassword } from '../../auth/passwords.js';
import type { Action } from '../../auth/permissions.js';
import { assertPasswordPolicy, canonicalUuid, createUser, findUser, listUsers, updateUser, type AuditInfo } from '../../auth/users.js';
import { AppError } from '../../errors.js';
import { auditRequestContext } from '../audit-context.js';
import { readFilters, recordRead, refuseHead } from '../record-read.js';
import { uuidQueryParam } from '../query.js';
import type { AuthMiddleware } from '../middleware/auth.js';
import { validateBody } from '../validate.js';
import {
  CreateApiClientBody,
  CreateAuditorGrantBody,
  CreateOrganizationBody,
  CreateUserBody,
  UpdateUserBody,
  type CreateApiClientInput,
  type CreateAuditorGrantInput,
  type CreateOrganizationInput,
  type CreateUserInput,
  type UpdateUserInput,
} from './auth-schemas.js';

function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
}

/** The administration routes under /v1/organizations, /v1/users, /v1/api-clients, /v1/auditor-grants. */
export function adminRoutes(ctx: AuthContext, auth: AuthMiddleware): Router {
  const router = Router();
  // Each GET records an administration read: HEAD, which sends nothing, is a 405 (src/http/record-read.ts).
  refuseHead(router, ['/v1/organizations', '/v1/users', '/v1/users/:id', '/v1/api-clients', '/v1/auditor-grants']);
  const { db } = ctx.database;
  const auditOf = (req: Request, action: Action): AuditInfo => ({ actor: actorOf(auth.principalOf(req), action), request: auditRequestContext(req), now: ctx.clock() });
  /**
   * Records an administration read: one user in the user's organisation (whose trail shows who read
   * them); a list filtered to one organisation in that organisation's; any other list, which spans
   * the installation, in the installation's trail (no organisation: administrators only). Before,
   * every list went to the administrator's own organisation, whose auditors and audit:read clients
   * then read other organisations' ids and the installation's counts.
   */
  const recordAdminRead = (req: Request, permission: Action, decision: Record<string, unknown>, scope: { organizationId?: string; target?: { type: string; id: string } } = {}): Promise<void> =>
    recordRead(db, req, auth.principalOf(req), {
      action: 'admin.read',
      permission,
      organizationId: scope.organizationId === undefined ? null : canonicalUuid(scope.organizationId),
      target: scope.target ?? null,
      decision: { via: 'api', ...decision },
    });

  // organisations
  router.get('/v1/organizations', auth.authorize('organizations.manage'), async (req, res) => {
    const items = await listOrganizations(db);
    await recordAdminRead(req, 'organizations.manage', { resource: 'organizations', returned: items.length });
    res.json({ items });
  });
  router.post('/v1/organizations', auth.authorize('organizations.manage'), async (req, res) => {
    const body = validateBody<CreateOrganizationInput>(CreateOrganizationBody, req.body);
    const org = await db.transaction().execute((trx) => createOrganization(trx, body, auditOf(req, 'organizations.manage')));
    res.status(201).location(`/v1/organizations/${org.id}`).json(org);
  });

  // users
  router.get('/v1/users', auth.authorize('users.manage'), async (req, res) => {
    const organizationId = uuidQueryParam(req, 'organizationId');
    const items = await listUsers(db, { organizationId });
    await recordAdminRead(req, 'users.manage', { resource: 'users', returned: items.length, ...readFilters({ organizationId }) }, { organizationId });
    res.json({ items });
  });
  router.get('/v1/users/:id', auth.authorize('users.manage'), async (req, res) => {
    const user = await findUser(db, String(req.params.id));
    if (!user) throw new AppError('not-found', 'No such user');
    await recordAdminRead(req, 'users.manage', { resource: 'user', returned: 1 }, { organizationId: user.organizationId, target: { type: 'user', id: user.id } });
    res.json(user);
  });
  router.post('/v1/users', auth.authorize('users.manage'), async (req, res) => {
    const body = validateBody<CreateUserInput>(CreateUserBody, req.body);
    assertPasswordPolicy(body.password, body.email, '/password');
    const passwordHash = await hashPassword(body.password, ctx.config.auth.passwordHashCost);
    const user = await db.transaction().execute((trx) => createUser(trx, { email: body.email, name: body.name ?? null, organizationId: body.organizationId, roles: body.roles, passwordHash }, auditOf(req, 'users.manage')));
    res.status(201).location(`/v1/users/${user.id}`).json(user);
  });
  router.patch('/v1/users/:id', auth.authorize('users.manage'), async (req, res) => {
    const body = validateBody<UpdateUserInput>(UpdateUserBody, req.body);
    const id = String(req.params.id);
    let passwordHash: string | undefined;
    if (body.password !== undefined) {
      const existing = await findUser(db, id);
      assertPasswordPolicy(body.password, existing?.email ?? null, '/password');
      passwordHash = await hashPassword(body.password, ctx.config.auth.passwordHashCost);
    }
    const user = await db.transaction().execute((trx) =>
      updateUser(trx, id, { roles: body.roles, disabled: body.disabled, name: body.name, organizationId: body.organizationId, passwordHash }, auditOf(req, 'users.manage')),
    );
    res.json(user);
  });

  // API clients
  router.get('/v1/api-clients', auth.authorize('api_clients.manage'), async (req, res) => {
    const organizationId = uuidQueryParam(req, 'organizationId');
    const items = await listApiClients(db, { organizationId });
    await recordAdminRead(req, 'api_clients.manage', { resource: 'api_clients', returned: items.length, ...readFilters({ organizationId }) }, { organizationId });
    res.json({ items });
  });
  router.post('/v1/api-clients', auth.authorize('api_clients.manage'), async (req, res) => {
    const body = validateBody<CreateApiClientInput>(CreateApiClientBody, req.body);
    const organizationId = body.organizationId ?? auth.principalOf(req).organizationId;
    const made = await db.transaction().execute((trx) => createApiClient(trx, { name: body.name, organizationId, scopes: body.scopes }, auditOf(req, 'api_clients.manage')));
    noStore(res);
    res.status(201).location(`/v1/api-clients/${made.client.id}`).json({ clientId: made.client.id, clientSecret: made.clientSecret, client: made.client });
  });
  router.post('/v1/api-clients/:id/rotate', auth.authorize('api_clients.manage'), async (req, res) => {
    const made = await db.transaction().execute((trx) => rotateApiClientSecret(trx, String(req.params.id), auditOf(req, 'api_clients.manage')));
    noStore(res);
    res.json({ clientId: made.client.id, clientSecret: made.clientSecret, client: made.client });
  });
  router.post('/v1/api-clients/:id/revoke', auth.authorize('api_clients.manage'), async (req, res) => {
    res.json(await db.transaction().execute((trx) => revokeApiClient(trx, String(req.params.id), auditOf(req, 'api_clients.manage'))));
  });
  router.delete('/v1/api-clients/:id', auth.authorize('api_clients.manage'), async (req, res) => {
    await db.transaction().execute((trx) => revokeApiClient(trx, String(req.params.id), auditOf(req, 'api_clients.manage')));
    res.status(204).end();
  });

  // auditor grants
  router.get('/v1/auditor-grants', auth.authorize('auditor_grants.manage'), async (req, res) => {
    const filters = { auditorId: uuidQueryParam(req, 'auditorId'), organizationId: uuidQueryParam(req, 'organizationId') };
    const items = await listAuditorGrants(db, filters);
    await recordAdminRead(req, 'auditor_grants.manage', { resource: 'auditor_grants', returned: items.length, ...readFilters(filters) }, { organizationId: filters.organizationId });
    res.json({ items });
  });
  router.post('/v1/auditor-grants', auth.authorize('auditor_grants.manage'), async (req, res) => {
    const body = validateBody<CreateAuditorGrantInput>(CreateAuditorGrantBody, req.body);
    const grant = await db.transaction().execute((trx) => createAuditorGrant(trx, body, auditOf(req, 'auditor_grants.manage')));
    res.status(201).location(`/v1/auditor-grants/${grant.id}`).json(grant);
  });
  router.delete('/v1/auditor-grants/:id', auth.authorize('auditor_grants.manage'), async (req, res) => {
    await db.transaction().execute((trx) => revokeAuditorGrant(trx, String(req.params.id), auditOf(req, 'auditor_grants.manage')));
    res.status(204).end();
  });

  return router;
}
