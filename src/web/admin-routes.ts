/**
 * Administration pages: users (create with a one-time password, roles, disable, reset password),
 * organisations, API clients (create and rotate show the secret once; revoke), auditor grants,
 * and the signing keys (rotation when the ring is a RotatableKeyRing over the embedded key
 * directory; keys from a secrets manager are shown read-only). Every change goes through the auth module's
 * functions, each in one transaction with its audit event, exactly as the admin API does.
 */
import { Router, type Request, type Response } from 'express';
import { sql, type Kysely, type Transaction } from 'kysely';
import { createApiClient, listApiClients, revokeApiClient, rotateApiClientSecret } from '../auth/api-clients.js';
import { createAuditorGrant, listAuditorGrants, revokeAuditorGrant } from '../auth/auditor-grants.js';
import { generatePassword } from '../auth/bootstrap.js';
import { actorOf } from '../auth/context.js';
import { createOrganization, listOrganizations } from '../auth/organizations.js';
import { hashPassword } from '../auth/passwords.js';
import { isUuid } from '../auth/secrets.js';
import { isPermitted, ROLES, SCOPES, type Action, type Role, type Scope } from '../auth/permissions.js';
import { assertPasswordPolicy, createUser, findUser, listUsers, updateUser, type AuditInfo } from '../auth/users.js';
import type { DB } from '../db/schema.js';
import { AppError } from '../errors.js';
import { auditRequestContext } from '../http/audit-context.js';
import { recordRead } from '../http/record-read.js';
import { CreateOrganizationBody, CreateUserBody } from '../http/routes/auth-schemas.js';
import { rotateIfCurrent } from '../assessments/keys.js';
import type { KeyRing } from '../signing/key-ring.js';
import { RotatableKeyRing, withLatestKeys } from '../signing/rotatable.js';
import type { TokenKeyRing } from '../signing/token-keys.js';
import { page, recordPageRefusal, refusalOf, renderPage, type PageSession, type WebContext } from './page.js';
import { formErrors, type FieldIds } from './form-errors.js';

function list(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The ticked roles a user form posted that the service knows (kept to show the form again). */
function postedRoles(body: Record<string, unknown>): Role[] {
  return list(body.roles).filter((r): r is Role => (ROLES as readonly string[]).includes(r));
}

/**
 * Refuses (422 at `/roles`) a user form's roles unless they are one or more known roles: a role
 * the service does not have is never dropped silently (the user would be stored without it); an
 * empty value is no role.
 */
function assertPostedRoles(body: Record<string, unknown>, roles: readonly Role[]): void {
  if (list(body.roles).some((r) => r !== '' && !(ROLES as readonly string[]).includes(r))) throw new AppError('validation-failed', 'Choose roles from the list', { errors: [{ pointer: '/roles', detail: 'Choose roles from the list.' }] });
  if (roles.length === 0) throw new AppError('validation-failed', 'Choose at least one role', { errors: [{ pointer: '/roles', detail: 'Choose at least one role.' }] });
}

/**
 * A field, trimmed; with `max`, at most that many code points (never half of a surrogate pair),
 * for fields checked further (ids). Text with a limit is refused by `assertMaxLength`, not cut.
 */
function text(body: Record<string, unknown>, name: string, max = Infinity): string {
  const v = body[name];
  if (typeof v !== 'string') return '';
  const trimmed = v.trim();
  return trimmed.length <= max ? trimmed : [...trimmed].slice(0, max).join('');
}

/** The admin API's limits (its request schemas), so that a page accepts exactly what the API does. */
const EMAIL_MAX_LENGTH = CreateUserBody.properties.email.maxLength;
const NAME_MAX_LENGTH = CreateOrganizationBody.properties.name.maxLength;

/**
 * Refuses (422 at `pointer`) a value longer than `max` characters, counted as the API's schema
 * validation counts them (code points, so an emoji is one) and with the API's wording. Over-long
 * values are refused, never cut: a cut could split a surrogate pair, which neither the database nor
 * the audit trail can hold.
 */
function assertMaxLength(value: string, max: number, pointer: string, label: string): void {
  if (value.length <= max || [...value].length <= max) return;
  const detail = `must NOT have more than ${max} characters`;
  throw new AppError('validation-failed', `${label} ${detail}`, { errors: [{ pointer, detail: `${label} ${detail}.` }] });
}

/** Messages shown after a redirect, chosen by a fixed code (nothing from the URL is echoed). */
const DONE: Readonly<Record<string, string>> = {
  'user-updated': 'The user was updated.',
  'org-created': 'The organisation was created.',
  'client-revoked': 'The API client was revoked. Its tokens no longer work.',
  'grant-created': 'The auditor can now read the reports and audit trail of that organisation.',
  'grant-revoked': 'The grant was revoked.',
};

const USER_FIELDS: FieldIds = { '/email': 'u-email', '/name': 'u-name', '/organizationId': 'u-org', '/roles': `u-role-${ROLES[0]}`, '/password': 'u-password' };
const USER_EDIT_FIELDS: FieldIds = { '/name': 'e-name', '/roles': `e-role-${ROLES[0]}`, '/disabled': 'e-disabled', '/password': 'e-password' };
const ORG_FIELDS: FieldIds = { '/name': 'o-name' };
const CLIENT_FIELDS: FieldIds = { '/name': 'c-name', '/organizationId': 'c-org', '/scopes': 'c-scope-1' };
const GRANT_FIELDS: FieldIds = { '/auditorId': 'g-auditor', '/organizationId': 'g-org' };

/**
 * The one-time field (`_once`) of the forms whose answer cannot be shown again or whose action
 * must not happen twice: "Create client" and "Rotate secret" (the secret is shown once, in the
 * answer to the POST) and "Rotate key". Its value is the state the form was rendered against,
 * which the action itself changes: the number of API clients the administrator has created, the
 * client's `authz_version` (every rotation bumps it), the ring's current key id. A POST is carried
 * out only while that state is unchanged, checked under a lock in the transaction of the action,
 * so the same form sent again (a reload, a double click, the back button) finds the state moved
 * on and does nothing: a 409 page saying the action was already done. Nothing is stored for it,
 * and the secret only ever exists in the one answer that showed it.
 */
const ONCE_FIELD = '_once';

function onceOf(body: Record<string, unknown>): string {
  const v = body[ONCE_FIELD];
  return typeof v === 'string' ? v : '';
}

/** The `_once` value of the "Create client" form: how many API clients this administrator has created. */
async function clientsCreatedBy(db: Kysely<DB> | Transaction<DB>, userId: string): Promise<string> {
  const row = await db.selectFrom('api_clients').select((eb) => eb.fn.countAll().as('n')).where('created_by', '=', userId).executeTakeFirst();
  return String(row?.n ?? 0);
}

/** The refusal recorded for a one-time form sent again. */
const ALREADY_DONE = { status: 409, reason: 'form_already_sent', pointers: [`/${ONCE_FIELD}`] } as const;

/** The administration routes. */
export function adminRoutes(ctx: WebContext, keys: { readonly reportKeys: KeyRing<'report'>; readonly tokenKeys: TokenKeyRing }): Router {
  const router = Router();
  const db: Kysely<DB> = ctx.db;
  const cost = ctx.authContext.config.auth.passwordHashCost;
  const auditOf = (req: Request, session: PageSession, action: Action): AuditInfo => ({ actor: actorOf(session.principal, action), request: auditRequestContext(req), now: ctx.authContext.clock() });
  /**
   * Records what an administration page showed (`admin.read`), before it is sent. Only for a GET:
   * a form posted is recorded as what it did or why it was refused, and the page it comes back on
   * shows what the GET before it showed.
   */
  const recordShown = async (req: Request, session: PageSession, permission: Action, resource: string, returned: number, one?: { type: string; id: string; organizationId: string }): Promise<void> => {
    if (req.method !== 'GET') return;
    // A list (installation-wide) in the installation's trail, which only administrators read: in
    // the administrator's organisation's, its auditors and API clients would see other
    // organisations' counts. One user in the user's, whose trail shows who read them.
    await recordRead(db, req, session.principal, { action: 'admin.read', permission, ...(one ? { target: { type: one.type, id: one.id }, organizationId: one.organizationId } : { organizationId: null }), decision: { via: 'page', resource, returned } });
  };
  const done = (req: Request): string => (typeof req.query.done === 'string' && Object.hasOwn(DONE, req.query.done) ? DONE[req.query.done]! : '');

  router.get('/admin', ...page(ctx, { action: 'users.manage' }, async (req, res, session) => {
    const [users, orgs, clients, grants, reportKeys] = await Promise.all([listUsers(db), listOrganizations(db), listApiClients(db), listAuditorGrants(db), withLatestKeys(keys.reportKeys)]);
    // Counts only: no record is shown (`returned` 0).
    await recordShown(req, session, 'users.manage', 'overview', 0);
    renderPage(ctx, res, session, 'admin/index.njk', {
      title: 'Administration',
      active: 'admin',
      counts: { users: users.length, disabled: users.filter((u) => u.disabled).length, organizations: orgs.length, clients: clients.filter((c) => !c.revoked).length, grants: grants.length },
      canAudit: isPermitted(session.principal, 'audit.verify'),
      currentKid: reportKeys.current.kid,
    });
  }));

  // ------------------------------------------------------------------ users
  async function renderUsers(req: Request, res: Response, session: PageSession, extra: { error?: AppError; values?: Record<string, unknown>; created?: { email: string; password: string } | null }, status = 200): Promise<void> {
    const [users, orgs] = await Promise.all([listUsers(db), listOrganizations(db)]);
    const orgName = new Map(orgs.map((o) => [o.id, o.name]));
    await recordShown(req, session, 'users.manage', 'users', users.length);
    renderPage(ctx, res, session, 'admin/users.njk', {
      title: 'Users',
      active: 'admin',
      section: 'users',
      users: users.map((u) => ({ ...u, organizationName: orgName.get(u.organizationId) ?? '' })),
      organizations: orgs,
      roles: ROLES,
      ...formErrors(extra.error, USER_FIELDS, 'new-user'),
      values: { email: '', name: '', organizationId: session.principal.organizationId, roles: ['compliance_officer'], ...(extra.values ?? {}) },
      created: extra.created ?? null,
      done: done(req),
    }, status);
  }

  router.get('/admin/users', ...page(ctx, { action: 'users.manage' }, (req, res, session) => renderUsers(req, res, session, {})));

  router.post('/admin/users', ...page(ctx, { action: 'users.manage' }, async (req, res, session) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const email = text(body, 'email');
    const name = text(body, 'name');
    const organizationId = text(body, 'organizationId', 64);
    const roles = postedRoles(body);
    const values = { email, name, organizationId, roles };
    const typed = typeof body.password === 'string' ? body.password : '';
    const password = typed === '' ? generatePassword(email) : typed;
    try {
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new AppError('validation-failed', 'Enter a valid e-mail address', { errors: [{ pointer: '/email', detail: 'Enter a valid e-mail address.' }] });
      // Counted as stored: lower-cased (which can lengthen it, `İ` is two code points in lower case).
      assertMaxLength(email.toLowerCase(), EMAIL_MAX_LENGTH, '/email', 'The e-mail address');
      assertMaxLength(name, NAME_MAX_LENGTH, '/name', 'The name');
      assertPostedRoles(body, roles);
      assertPasswordPolicy(password, email, '/password');
      const passwordHash = await hashPassword(password, cost);
      await db.transaction().execute((trx) => createUser(trx, { email, name: name || null, organizationId, roles, passwordHash }, auditOf(req, session, 'users.manage')));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await recordPageRefusal(ctx, req, refusalOf(err));
      await renderUsers(req, res, session, { error: err, values }, err.status);
      return;
    }
    // Shown once, in this response only (no-store): the administrator hands it over.
    await renderUsers(req, res, session, { created: { email, password: typed === '' ? password : '' } }, 201);
  }));

  router.get('/admin/users/:id', ...page(ctx, { action: 'users.manage' }, async (req, res, session) => {
    const user = await findUser(db, String(req.params.id));
    if (!user) throw new AppError('not-found', 'No such user');
    await recordShown(req, session, 'users.manage', 'user', 1, { type: 'user', id: user.id, organizationId: user.organizationId });
    renderPage(ctx, res, session, 'admin/user.njk', { title: `User ${user.email}`, active: 'admin', section: 'users', u: user, roles: ROLES, ...formErrors(undefined, USER_EDIT_FIELDS, 'edit-user') });
  }));

  router.post('/admin/users/:id', ...page(ctx, { action: 'users.manage' }, async (req, res, session) => {
    const id = String(req.params.id);
    const user = await findUser(db, id);
    if (!user) throw new AppError('not-found', 'No such user');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const roles = postedRoles(body);
    const password = typeof body.password === 'string' ? body.password : '';
    const name = text(body, 'name');
    try {
      // As on the create form: one or more roles of the list (an empty list was stored as `{}`).
      assertPostedRoles(body, roles);
      let passwordHash: string | undefined;
      if (password !== '') {
        assertPasswordPolicy(password, user.email, '/password');
        passwordHash = await hashPassword(password, cost);
      }
      assertMaxLength(name, NAME_MAX_LENGTH, '/name', 'The name');
      await db.transaction().execute((trx) => updateUser(trx, id, { roles, disabled: body.disabled === 'on', name: name || null, ...(passwordHash ? { passwordHash } : {}) }, auditOf(req, session, 'users.manage')));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await recordPageRefusal(ctx, req, refusalOf(err));
      // What was posted, not what is stored (the password is never shown again).
      renderPage(ctx, res, session, 'admin/user.njk', { title: `User ${user.email}`, active: 'admin', section: 'users', u: { ...user, name, roles, disabled: body.disabled === 'on' }, roles: ROLES, ...formErrors(err, USER_EDIT_FIELDS, 'edit-user') }, err.status);
      return;
    }
    res.redirect(303, '/admin/users?done=user-updated');
  }));

  // ------------------------------------------------------------------ organisations
  async function renderOrgs(req: Request, res: Response, session: PageSession, extra: { error?: AppError; values?: { name: string } } = {}, status = 200): Promise<void> {
    const organizations = await listOrganizations(db);
    await recordShown(req, session, 'organizations.manage', 'organizations', organizations.length);
    renderPage(ctx, res, session, 'admin/organizations.njk', { title: 'Organisations', active: 'admin', section: 'organizations', organizations, ...formErrors(extra.error, ORG_FIELDS, 'new-org'), values: { name: '', ...extra.values }, done: done(req) }, status);
  }
  router.get('/admin/organizations', ...page(ctx, { action: 'organizations.manage' }, (req, res, session) => renderOrgs(req, res, session)));
  router.post('/admin/organizations', ...page(ctx, { action: 'organizations.manage' }, async (req, res, session) => {
    const name = text((req.body ?? {}) as Record<string, unknown>, 'name');
    try {
      if (name === '') throw new AppError('validation-failed', 'Give the organisation a name', { pointer: '/name' });
      assertMaxLength(name, NAME_MAX_LENGTH, '/name', 'The name');
      await db.transaction().execute((trx) => createOrganization(trx, { name }, auditOf(req, session, 'organizations.manage')));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await recordPageRefusal(ctx, req, refusalOf(err));
      await renderOrgs(req, res, session, { error: err, values: { name } }, err.status);
      return;
    }
    res.redirect(303, '/admin/organizations?done=org-created');
  }));

  // ------------------------------------------------------------------ API clients
  async function renderClients(req: Request, res: Response, session: PageSession, extra: { error?: AppError; values?: { name: string; organizationId: string; scopes: readonly string[] }; secret?: { clientId: string; clientSecret: string; name: string; rotated: boolean } | null; repeated?: string }, status = 200): Promise<void> {
    const [clients, orgs, versions, created] = await Promise.all([
      listApiClients(db),
      listOrganizations(db),
      db.selectFrom('api_clients').select(['id', 'authz_version']).execute(),
      clientsCreatedBy(db, session.principal.id),
    ]);
    const version = new Map(versions.map((v) => [v.id, String(v.authz_version)]));
    const orgName = new Map(orgs.map((o) => [o.id, o.name]));
    await recordShown(req, session, 'api_clients.manage', 'api_clients', clients.length);
    renderPage(ctx, res, session, 'admin/clients.njk', {
      title: 'API clients',
      active: 'admin',
      section: 'clients',
      clients: clients.map((c) => ({ ...c, organizationName: orgName.get(c.organizationId) ?? '', once: version.get(c.id) ?? '' })),
      organizations: orgs,
      scopes: SCOPES,
      createOnce: created,
      repeated: extra.repeated ?? '',
      ...formErrors(extra.error, CLIENT_FIELDS, 'new-client'),
      values: { name: '', organizationId: session.principal.organizationId, scopes: [], ...extra.values },
      secret: extra.secret ?? null,
      done: done(req),
    }, status);
  }
  router.get('/admin/clients', ...page(ctx, { action: 'api_clients.manage' }, (req, res, session) => renderClients(req, res, session, {})));
  router.post('/admin/clients', ...page(ctx, { action: 'api_clients.manage' }, async (req, res, session) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const name = text(body, 'name');
    const organizationId = text(body, 'organizationId', 64) || session.principal.organizationId;
    const scopes = list(body.scopes).filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
    try {
      if (name === '') throw new AppError('validation-failed', 'Give the client a name', { pointer: '/name' });
      assertMaxLength(name, NAME_MAX_LENGTH, '/name', 'The name');
      if (scopes.length === 0) throw new AppError('validation-failed', 'Choose at least one scope', { pointer: '/scopes' });
      const me = session.principal.id;
      const made = await db.transaction().execute(async (trx) => {
        // One create of this administrator at a time, so two sends of one form cannot both see the count unchanged.
        await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`web.api_client.create:${me}`}, 0))`.execute(trx);
        if ((await clientsCreatedBy(trx, me)) !== onceOf(body)) return null;
        return createApiClient(trx, { name, organizationId, scopes }, auditOf(req, session, 'api_clients.manage'));
      });
      if (!made) {
        await recordPageRefusal(ctx, req, ALREADY_DONE);
        const repeated = 'This form was already sent: an API client was created from it, or from another of your pages, since it was shown (see the list). Nothing was created now. A new client\'s secret is shown once, on the page that answered the form; if it was lost, rotate the client\'s secret. To add another client, send the form again.';
        await renderClients(req, res, session, { values: { name, organizationId, scopes }, repeated }, 409);
        return;
      }
      await renderClients(req, res, session, { secret: { clientId: made.client.id, clientSecret: made.clientSecret, name: made.client.name, rotated: false } }, 201);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await recordPageRefusal(ctx, req, refusalOf(err));
      await renderClients(req, res, session, { error: err, values: { name, organizationId, scopes } }, err.status);
    }
  }));
  router.post('/admin/clients/:id/rotate', ...page(ctx, { action: 'api_clients.manage' }, async (req, res, session) => {
    const id = String(req.params.id);
    const once = onceOf((req.body ?? {}) as Record<string, unknown>);
    const made = await db.transaction().execute(async (trx) => {
      const row = isUuid(id) ? await trx.selectFrom('api_clients').select(['name', 'authz_version', 'revoked_at']).where('id', '=', id).forUpdate().executeTakeFirst() : undefined;
      // A rotation or revocation since the form was shown moved the version on. A client that is
      // missing or revoked: rotateApiClientSecret says so (404, 409).
      if (row && row.revoked_at === null && String(row.authz_version) !== once) return { already: row.name };
      return rotateApiClientSecret(trx, id, auditOf(req, session, 'api_clients.manage'));
    });
    if ('already' in made) {
      await recordPageRefusal(ctx, req, ALREADY_DONE);
      const repeated = `The secret of ${made.already} was already rotated since this page was shown (sending the form again, by a reload for instance, does not rotate it twice): nothing was rotated now. The new secret was shown once, on the page that answered; if it was lost, rotate the secret again.`;
      await renderClients(req, res, session, { repeated }, 409);
      return;
    }
    await renderClients(req, res, session, { secret: { clientId: made.client.id, clientSecret: made.clientSecret, name: made.client.name, rotated: true } });
  }));
  router.post('/admin/clients/:id/revoke', ...page(ctx, { action: 'api_clients.manage' }, async (req, res, session) => {
    await db.transaction().execute((trx) => revokeApiClient(trx, String(req.params.id), auditOf(req, session, 'api_clients.manage')));
    res.redirect(303, '/admin/clients?done=client-revoked');
  }));

  // ------------------------------------------------------------------ auditor grants
  async function renderGrants(req: Request, res: Response, session: PageSession, extra: { error?: AppError; values?: { auditorId: string; organizationId: string } } = {}, status = 200): Promise<void> {
    const [grants, users, orgs] = await Promise.all([listAuditorGrants(db), listUsers(db), listOrganizations(db)]);
    const orgName = new Map(orgs.map((o) => [o.id, o.name]));
    const email = new Map(users.map((u) => [u.id, u.email]));
    await recordShown(req, session, 'auditor_grants.manage', 'auditor_grants', grants.length);
    renderPage(ctx, res, session, 'admin/grants.njk', {
      title: 'Auditor grants',
      active: 'admin',
      section: 'grants',
      grants: grants.map((g) => ({ ...g, auditorEmail: email.get(g.auditorId) ?? g.auditorId, organizationName: orgName.get(g.organizationId) ?? g.organizationId })),
      auditors: users.filter((u) => u.roles.includes('auditor') && !u.disabled),
      organizations: orgs,
      ...formErrors(extra.error, GRANT_FIELDS, 'new-grant'),
      values: { auditorId: '', organizationId: '', ...extra.values },
      done: done(req),
    }, status);
  }
  router.get('/admin/grants', ...page(ctx, { action: 'auditor_grants.manage' }, (req, res, session) => renderGrants(req, res, session)));
  router.post('/admin/grants', ...page(ctx, { action: 'auditor_grants.manage' }, async (req, res, session) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const values = { auditorId: text(body, 'auditorId', 64), organizationId: text(body, 'organizationId', 64) };
    try {
      await db.transaction().execute((trx) => createAuditorGrant(trx, values, auditOf(req, session, 'auditor_grants.manage')));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await recordPageRefusal(ctx, req, refusalOf(err));
      await renderGrants(req, res, session, { error: err, values }, err.status);
      return;
    }
    res.redirect(303, '/admin/grants?done=grant-created');
  }));
  router.post('/admin/grants/:id/revoke', ...page(ctx, { action: 'auditor_grants.manage' }, async (req, res, session) => {
    await db.transaction().execute((trx) => revokeAuditorGrant(trx, String(req.params.id), auditOf(req, session, 'auditor_grants.manage')));
    res.redirect(303, '/admin/grants?done=grant-revoked');
  }));

  // ------------------------------------------------------------------ signing keys
  const rotatable = (ring: KeyRing): boolean => ring instanceof RotatableKeyRing && ring.rotatable;
  async function renderKeys(req: Request, res: Response, session: PageSession, extra: { errors?: string[]; rotated?: string; repeated?: string } = {}, status = 200): Promise<void> {
    await Promise.all([withLatestKeys(keys.reportKeys), withLatestKeys(keys.tokenKeys)]);
    const stored = await db.selectFrom('signing_keys').select(['kid', 'purpose', 'first_seen_at']).orderBy('first_seen_at', 'desc').orderBy('kid').execute();
    await recordShown(req, session, 'keys.rotate', 'keys', stored.length);
    renderPage(ctx, res, session, 'admin/keys.njk', {
      title: 'Signing keys',
      active: 'admin',
      section: 'keys',
      report: { current: keys.reportKeys.current.kid, all: keys.reportKeys.all.map((k) => ({ kid: k.kid, status: k.status, createdAt: k.createdAt ?? '' })), source: keys.reportKeys.source },
      token: { current: keys.tokenKeys.current.kid, all: keys.tokenKeys.all.map((k) => ({ kid: k.kid, status: k.status, createdAt: k.createdAt ?? '' })), source: keys.tokenKeys.source },
      stored: stored.map((s) => ({ kid: s.kid, purpose: s.purpose, firstSeenAt: new Date(s.first_seen_at).toISOString() })),
      rotatable: { report: rotatable(keys.reportKeys), token: rotatable(keys.tokenKeys) },
      errors: extra.errors ?? [],
      rotated: extra.rotated ?? '',
      repeated: extra.repeated ?? '',
    }, status);
  }
  router.get('/admin/keys', ...page(ctx, { action: 'keys.rotate' }, (req, res, session) => renderKeys(req, res, session)));
  router.post('/admin/keys/rotate', ...page(ctx, { action: 'keys.rotate' }, async (req, res, session) => {
    const purpose = (req.body as Record<string, unknown> | undefined)?.purpose;
    const ring = purpose === 'report' ? keys.reportKeys : purpose === 'token' ? keys.tokenKeys : undefined;
    if (!ring) throw new AppError('bad-request', 'Choose the report or the token key');
    if (!(ring instanceof RotatableKeyRing) || !ring.rotatable) {
      await recordPageRefusal(ctx, req, { status: 409, reason: 'key_managed_externally' });
      await renderKeys(req, res, session, { errors: [`The ${String(purpose)}-signing key is managed outside this service: rotate it there and restart.`] }, 409);
      return;
    }
    const once = onceOf((req.body ?? {}) as Record<string, unknown>);
    // The key current when the page was shown must still be, checked under the rotation lock of
    // every instance: a rotation since (this form sent again, or another page's) moved it on.
    const didRotate = await rotateIfCurrent(db, ring, ctx.authContext.clock(), { actor: actorOf(session.principal, 'keys.rotate'), request: auditRequestContext(req) }, once);
    if (didRotate === undefined) {
      await recordPageRefusal(ctx, req, ALREADY_DONE);
      await renderKeys(req, res, session, { repeated: `The ${purpose === 'report' ? 'report-signing' : 'session and API token'} key was already rotated since this page was shown (sending the form again, by a reload for instance, does not rotate it twice): nothing was rotated now. The current key is shown below.` }, 409);
      return;
    }
    await renderKeys(req, res, session, { rotated: `${purpose === 'report' ? 'Reports' : 'Session and API tokens'} are now signed with key ${ring.current.kid}. The previous key stays published.` });
  }));

  return router;
}
