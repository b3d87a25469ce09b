/**
 * What the auth module works with: the database, the configuration, the token key ring and a
 * clock. Built once by the app factory; tests inject the clock to move time instead of sleeping.
 */
import type { Config } from '../config/index.js';
import type { Database } from '../db/database.js';
import type { AuditActor } from '../audit/record.js';
import type { TokenKeyRing } from '../signing/token-keys.js';
import { rolesPermitting, type Action, type Principal } from './permissions.js';
import type { TokenSettings } from './tokens.js';

export interface AuthContext {
  readonly database: Database;
  readonly config: Config;
  readonly tokens: TokenSettings;
  /** Wall clock for tokens, sessions and audit timestamps (never for report content). */
  readonly clock: () => Date;
}

/** Builds the auth context. Guarantees: token issuer = PUBLIC_URL, lifetime = ACCESS_TOKEN_TTL_SECONDS. */
export function createAuthContext(deps: { database: Database; config: Config; tokenKeys: TokenKeyRing; clock?: () => Date }): AuthContext {
  return {
    database: deps.database,
    config: deps.config,
    tokens: { keys: deps.tokenKeys, issuer: deps.config.publicUrl, ttlSeconds: deps.config.auth.accessTokenTtlSeconds },
    clock: deps.clock ?? (() => new Date()),
  };
}

/** The audit actor for an unauthenticated caller. */
export const ANONYMOUS_ACTOR: AuditActor = { type: 'anonymous', id: null, role: null, organizationId: null };

/**
 * The audit actor for a principal: its type and id, its organisation, and as `role` the
 * principal's roles that permit `action` (space-separated), or all its roles when no action is given.
 */
export function actorOf(principal: Principal, action?: Action): AuditActor {
  const roles = action === undefined ? principal.roles : rolesPermitting(principal, action);
  return { type: principal.type, id: principal.id, role: roles.length > 0 ? roles.join(' ') : null, organizationId: principal.organizationId };
}
