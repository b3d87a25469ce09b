/**
 * The one permission table: which role (people) or scope (API clients) may perform which action.
 *
 * Everything that decides access reads this table: the `authorize(action)` middleware, the
 * organisation helpers below, and the authorisation matrix test (test/auth/matrix.test.ts), which
 * computes every expected status from it. Deny by default: an action absent from the table, a
 * role or scope not listed for it, is refused. Roles and scopes only ever grant; nothing here
 * widens what a token carries (a client token's scopes are intersected with the client's current
 * scopes on every request, see principal.ts).
 */
import { AppError } from '../errors.js';

/** Roles a user may hold (several at once). */
export const ROLES = ['compliance_officer', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Scopes an API client may hold and request (OAuth 2.0 `scope`). */
export const SCOPES = ['assessments:read', 'assessments:write', 'reports:read', 'evaluate', 'audit:read', 'verify'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * How far a role reaches for organisation-scoped resources:
 * - `own`: the user's own organisation;
 * - `granted`: the organisations listed in the user's auditor grants (not their own by default);
 * - `all`: every organisation (the installation-wide administrator).
 * An API client always reaches its own organisation only.
 */
export const ROLE_REACH: Readonly<Record<Role, 'own' | 'granted' | 'all'>> = {
  compliance_officer: 'own',
  auditor: 'granted',
  admin: 'all',
};

export interface Permission {
  /** Roles that may perform the action (a user needs any one of them). */
  readonly roles: readonly Role[];
  /** Scopes that allow the action to an API client (its token needs any one of them). */
  readonly scopes: readonly Scope[];
  /** One line for docs/auth.md and the OpenAPI description. */
  readonly description: string;
}

const ANY_ROLE: readonly Role[] = ROLES;
const ANY_SCOPE: readonly Scope[] = SCOPES;

/**
 * Action × role/scope. Organisation-scoped actions (assessments, reports, audit) are further
 * limited by `ROLE_REACH`: a resource outside the caller's reach answers 404, never 403.
 */
export const PERMISSIONS = {
  // assessments and reports (routes owned by the assessments/reports features)
  'assessments.read': { roles: ['compliance_officer', 'auditor'], scopes: ['assessments:read'], description: 'list and read assessments and their revisions' },
  'assessments.create': { roles: ['compliance_officer'], scopes: ['assessments:write'], description: 'create an assessment' },
  'assessments.revise': { roles: ['compliance_officer'], scopes: ['assessments:write'], description: 'save a new revision of an assessment' },
  'reports.read': { roles: ['compliance_officer', 'auditor'], scopes: ['reports:read'], description: 'read and download reports (JSON, PDF, signature, diff)' },
  evaluate: { roles: ['compliance_officer'], scopes: ['evaluate'], description: 'evaluate answers without storing them (dry run)' },
  verify: { roles: ['compliance_officer', 'auditor'], scopes: ['verify'], description: 'verify a report signature through the API' },
  'audit.read': { roles: ['auditor', 'admin'], scopes: ['audit:read'], description: 'read and export the audit trail (auditors: granted organisations; admins: the installation)' },
  'audit.verify': { roles: ['auditor', 'admin'], scopes: [], description: 'verify the whole audit hash chain and its checkpoints (installation-wide: people only, not API clients)' },
  'audit.checkpoint': { roles: ['admin'], scopes: [], description: 'sign a checkpoint of the audit chain head (installation-wide)' },
  // reference data: any authenticated caller
  'questionnaires.read': { roles: ANY_ROLE, scopes: ANY_SCOPE, description: 'read questionnaire versions' },
  'rulesets.read': { roles: ANY_ROLE, scopes: ANY_SCOPE, description: 'read ruleset versions' },
  // the caller's own identity
  'self.read': { roles: ANY_ROLE, scopes: ANY_SCOPE, description: 'read your own identity (GET /v1/me)' },
  'self.password': { roles: ANY_ROLE, scopes: [], description: 'change your own password' },
  // administration: the installation-wide administrator
  'organizations.manage': { roles: ['admin'], scopes: [], description: 'list and create organisations' },
  'users.manage': { roles: ['admin'], scopes: [], description: 'list, create and change users (roles, disabled, password)' },
  'api_clients.manage': { roles: ['admin'], scopes: [], description: 'create, list, rotate and revoke API clients' },
  'auditor_grants.manage': { roles: ['admin'], scopes: [], description: 'grant and revoke auditors access to organisations' },
  'keys.rotate': { roles: ['admin'], scopes: [], description: 'rotate signing keys' },
} as const satisfies Record<string, Permission>;

export type Action = keyof typeof PERMISSIONS;

/** Every action of the table, in table order. */
export const ACTIONS: readonly Action[] = Object.keys(PERMISSIONS) as Action[];

/** Whether `action` names an entry of the table. */
export function isAction(action: string): action is Action {
  return Object.hasOwn(PERMISSIONS, action);
}

/** The authenticated caller, as loaded (and re-checked against the database) on every request. */
export interface Principal {
  readonly type: 'user' | 'client';
  /** User id or API client id (client_id). */
  readonly id: string;
  /** The organisation the user or client belongs to. */
  readonly organizationId: string;
  /** That organisation's name as stored now (what its reports name), loaded with the principal. */
  readonly organizationName: string;
  /** The user's current roles (empty for a client). */
  readonly roles: readonly Role[];
  /** The client token's scopes, intersected with the client's current scopes (empty for a user). */
  readonly scopes: readonly Scope[];
  /** Organisations an auditor was granted (empty unless the user holds `auditor`). */
  readonly grantedOrganizationIds: readonly string[];
  /** The browser session (users authenticated by cookie). */
  readonly sessionId?: string;
  /** How the request authenticated. */
  readonly via: 'cookie' | 'bearer';
  /** A user's e-mail or a client's name, for display only. */
  readonly displayName: string;
}

/**
 * Whether the principal may perform `action` at all (before any organisation check).
 * Guarantees: false for an unknown action; a user is judged by roles only, a client by scopes only.
 */
export function isPermitted(principal: Pick<Principal, 'type' | 'roles' | 'scopes'>, action: Action): boolean {
  const permission: Permission | undefined = PERMISSIONS[action];
  if (permission === undefined) return false;
  if (principal.type === 'user') return principal.roles.some((r) => permission.roles.includes(r));
  return principal.scopes.some((s) => permission.scopes.includes(s));
}

/** The roles of the principal that permit `action` (for the audit trail's `actor.role`). */
export function rolesPermitting(principal: Pick<Principal, 'roles'>, action: Action): Role[] {
  const permission: Permission = PERMISSIONS[action];
  return principal.roles.filter((r) => permission.roles.includes(r));
}

/**
 * The organisations in which the principal may perform `action`: `'all'`, or a list (possibly
 * empty). A user's reach is the union over the roles that permit the action (`ROLE_REACH`); a
 * client's is its own organisation when one of its scopes permits the action.
 * Use it to filter list queries so nothing outside the reach is ever returned.
 */
export function reachableOrganizations(principal: Principal, action: Action): 'all' | readonly string[] {
  if (!isPermitted(principal, action)) return [];
  if (principal.type === 'client') return [principal.organizationId];
  const out = new Set<string>();
  for (const role of rolesPermitting(principal, action)) {
    const reach = ROLE_REACH[role];
    if (reach === 'all') return 'all';
    if (reach === 'own') out.add(principal.organizationId);
    else for (const id of principal.grantedOrganizationIds) out.add(id);
  }
  return [...out];
}

/**
 * Whether the principal may perform `action` on a resource of organisation `organizationId`.
 * Guarantees: false unless the action is permitted AND the organisation is within reach.
 */
export function canAccessOrganization(principal: Principal, action: Action, organizationId: string): boolean {
  const reach = reachableOrganizations(principal, action);
  return reach === 'all' || reach.includes(organizationId);
}

/**
 * Throws a 404 `not-found` AppError unless `canAccessOrganization` holds: a resource of an
 * organisation out of reach does not exist for the caller (its existence is not revealed, so the
 * answer is the same as for an id that exists nowhere). Call it after loading the resource and
 * before returning anything from it.
 */
export function assertOrganizationAccess(principal: Principal, action: Action, organizationId: string, what = 'resource'): void {
  if (!canAccessOrganization(principal, action, organizationId)) throw new AppError('not-found', `No such ${what}`);
}

/** `canAccessOrganization(principal, 'reports.read', organizationId)`: the reading shortcut. */
export function canReadOrganization(principal: Principal, organizationId: string): boolean {
  return canAccessOrganization(principal, 'reports.read', organizationId);
}

/**
 * Shortcut for routes acting within the caller's own organisation (create/revise): throws 404
 * unless `organizationId` is the principal's organisation and `action` is permitted there.
 */
export function assertSameOrganization(principal: Principal, action: Action, organizationId: string, what = 'resource'): void {
  if (organizationId !== principal.organizationId) throw new AppError('not-found', `No such ${what}`);
  assertOrganizationAccess(principal, action, organizationId, what);
}
