/**
 * API clients (integrators): OAuth 2.0 client credentials (RFC 6749 §4.4) for one organisation
 * with a fixed set of scopes.
 *
 * The secret is 32 random bytes (prefixed `harc_` so secret scanners can spot a leaked one),
 * shown once at creation and at each rotation, and stored as its SHA-256 only: for a 256-bit
 * random secret a fast hash is enough (no dictionary to try), and a slow one would cost CPU on
 * every token request. Rotation and revocation bump the client's `authz_version`, so every
 * token issued before stops working at once, not when it expires.
 */
import type { Kysely, Transaction } from 'kysely';
import { recordAuditEventAlone, recordAuditEvent, type AuditRequestContext } from '../audit/record.js';
import { recordDenied } from '../audit/denied.js';
import type { DB } from '../db/schema.js';
import { AppError } from '../errors.js';
import { ANONYMOUS_ACTOR, type AuthContext } from './context.js';
import { assertOrganizationExists } from './organizations.js';
import { SCOPES, type Scope } from './permissions.js';
import { normalizeScopes } from './principal.js';
import { isUuid, newId, newSecret, safeEqual, secretSha256 } from './secrets.js';
import { issueClientToken } from './tokens.js';
import { canonicalUuid, type AuditInfo } from './users.js';

/** Prefix of every client secret. */
export const CLIENT_SECRET_PREFIX = 'harc_';

export interface ApiClient {
  readonly id: string;
  readonly organizationId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
  readonly secretRotatedAt: string | null;
  readonly revoked: boolean;
  readonly revokedAt: string | null;
}

interface Row {
  id: string;
  organization_id: string;
  name: string;
  scopes: string[];
  created_at: Date;
  secret_rotated_at: Date | null;
  revoked_at: Date | null;
}

const iso = (d: Date | null): string | null => (d === null ? null : new Date(d).toISOString());

function toClient(row: Row): ApiClient {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    scopes: normalizeScopes(row.scopes),
    createdAt: new Date(row.created_at).toISOString(),
    secretRotatedAt: iso(row.secret_rotated_at),
    revoked: row.revoked_at !== null,
    revokedAt: iso(row.revoked_at),
  };
}

/** Every API client (revoked ones included, marked), or those of one organisation. */
export async function listApiClients(db: Kysely<DB>, filter: { organizationId?: string } = {}): Promise<ApiClient[]> {
  let q = db.selectFrom('api_clients').selectAll();
  if (filter.organizationId !== undefined) {
    if (!isUuid(filter.organizationId)) return [];
    q = q.where('organization_id', '=', filter.organizationId);
  }
  return (await q.orderBy('created_at').orderBy('id').execute()).map(toClient);
}

/**
 * Creates a client in the caller's transaction, recording `api_client.created`. Returns the
 * secret, which is stored nowhere in clear and can never be read again.
 */
export async function createApiClient(trx: Transaction<DB>, given: { name: string; organizationId: string; scopes: readonly Scope[] }, audit: AuditInfo): Promise<{ client: ApiClient; clientSecret: string }> {
  const input = { ...given, organizationId: canonicalUuid(given.organizationId) };
  await assertOrganizationExists(trx, input.organizationId, '/organizationId');
  const clientSecret = newSecret(CLIENT_SECRET_PREFIX);
  const row = {
    id: newId(),
    organization_id: input.organizationId,
    name: input.name.trim(),
    scopes: normalizeScopes(input.scopes),
    secret_sha256: secretSha256(clientSecret),
    authz_version: 1,
    created_at: audit.now,
    created_by: audit.actor.type === 'user' ? audit.actor.id : null,
    secret_rotated_at: null,
    revoked_at: null,
  };
  await trx.insertInto('api_clients').values(row).execute();
  await recordAuditEvent(trx, { action: 'api_client.created', outcome: 'success', actor: audit.actor, organizationId: row.organization_id, target: { type: 'api_client', id: row.id }, request: audit.request, decision: { name: row.name, scopes: [...row.scopes] } }, audit.now);
  return { client: toClient(row), clientSecret };
}

async function lockClient(trx: Transaction<DB>, id: string): Promise<Row & { authz_version: number }> {
  const row = isUuid(id) ? await trx.selectFrom('api_clients').selectAll().where('id', '=', canonicalUuid(id)).forUpdate().executeTakeFirst() : undefined;
  if (!row) throw new AppError('not-found', 'No such API client');
  return row;
}

/**
 * Replaces a client's secret (the old one stops working, and so does every token issued
 * with it), recording `api_client.secret_rotated`. 409 for a revoked client.
 */
export async function rotateApiClientSecret(trx: Transaction<DB>, givenId: string, audit: AuditInfo): Promise<{ client: ApiClient; clientSecret: string }> {
  const row = await lockClient(trx, givenId);
  const id = row.id;
  if (row.revoked_at !== null) throw new AppError('conflict', 'The API client is revoked');
  const clientSecret = newSecret(CLIENT_SECRET_PREFIX);
  await trx
    .updateTable('api_clients')
    .set((eb) => ({ secret_sha256: secretSha256(clientSecret), secret_rotated_at: audit.now, authz_version: eb('authz_version', '+', 1) }))
    .where('id', '=', id)
    .execute();
  await recordAuditEvent(trx, { action: 'api_client.secret_rotated', outcome: 'success', actor: audit.actor, organizationId: row.organization_id, target: { type: 'api_client', id }, request: audit.request, decision: { clientId: id } }, audit.now);
  return { client: toClient({ ...row, secret_rotated_at: audit.now }), clientSecret };
}

/**
 * Revokes a client for good (its tokens stop working at once), recording `api_client.revoked`.
 * Idempotent: revoking a revoked client changes and records nothing.
 */
export async function revokeApiClient(trx: Transaction<DB>, givenId: string, audit: AuditInfo): Promise<ApiClient> {
  const row = await lockClient(trx, givenId);
  const id = row.id;
  if (row.revoked_at !== null) return toClient(row);
  await trx.updateTable('api_clients').set((eb) => ({ revoked_at: audit.now, authz_version: eb('authz_version', '+', 1) })).where('id', '=', id).execute();
  await recordAuditEvent(trx, { action: 'api_client.revoked', outcome: 'success', actor: audit.actor, organizationId: row.organization_id, target: { type: 'api_client', id }, request: audit.request, decision: { clientId: id } }, audit.now);
  return toClient({ ...row, revoked_at: audit.now });
}

/** An RFC 6749 §5.2 error response. */
export class OAuthError extends Error {
  /** Whether the refusal is already in the audit trail (the token endpoint records the others). */
  readonly recorded: boolean;

  constructor(
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope',
    readonly description: string,
    options: { readonly recorded?: boolean } = {},
  ) {
    super(description);
    this.name = 'OAuthError';
    this.recorded = options.recorded ?? false;
  }

  /** 401 for invalid_client (with WWW-Authenticate), 400 otherwise. */
  get status(): number {
    return this.error === 'invalid_client' ? 401 : 400;
  }
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
}

/** A dummy digest compared against when the client id is unknown (equal work either way). */
const DUMMY_SHA256 = secretSha256('no such client');

/**
 * The client credentials grant. Guarantees:
 * - `grant_type` must be `client_credentials` (`unsupported_grant_type`);
 * - the client must exist, be unrevoked and present its current secret (`invalid_client`,
 *   same answer whichever is wrong; the digest comparison is constant-time);
 * - the token's scopes are exactly the requested ones, which must all be held by the client
 *   (`invalid_scope` otherwise, RFC 6749 §5.2: never silently narrowed); no `scope` means every
 *   scope the client holds;
 * - `oauth.token.issued` is recorded; failures of an authenticated client (a scope it lacks, a
 *   malformed `scope`) are recorded as `oauth.token.denied` naming it, failed client
 *   authentication as a bounded `request.denied`; an error so recorded has `recorded` set.
 */
export async function exchangeClientCredentials(
  ctx: AuthContext,
  input: { grantType: unknown; clientId: string | undefined; clientSecret: string | undefined; scope: unknown; request: AuditRequestContext },
): Promise<TokenResponse> {
  const now = ctx.clock();
  if (input.grantType !== 'client_credentials') {
    throw new OAuthError('unsupported_grant_type', 'Only grant_type=client_credentials is supported');
  }
  const row = input.clientId !== undefined && isUuid(input.clientId) ? await ctx.database.db.selectFrom('api_clients').selectAll().where('id', '=', input.clientId).executeTakeFirst() : undefined;
  const presented = secretSha256(input.clientSecret ?? '');
  const secretOk = safeEqual(presented, row?.secret_sha256 ?? DUMMY_SHA256) && row !== undefined;
  if (!row || !secretOk || row.revoked_at !== null || input.clientSecret === undefined) {
    // As a failed sign-in names its account: the client tried, in its organisation's trail, so a
    // guessed or leaked id shows there (an id that is no client's stays anonymous, untargeted).
    await recordDenied(
      ctx.database.db,
      { status: 401, method: 'POST', route: '/v1/oauth/token', reason: 'invalid_client', actor: ANONYMOUS_ACTOR, request: input.request, organizationId: row?.organization_id ?? null, target: row ? { type: 'api_client', id: row.id } : null },
      { limitPerMinute: ctx.config.auth.auditDeniedPerMinute, now },
    );
    throw new OAuthError('invalid_client', 'Client authentication failed', { recorded: true });
  }
  const held = normalizeScopes(row.scopes);
  let scopes: Scope[];
  if (input.scope === undefined || input.scope === '') scopes = held;
  else if (typeof input.scope !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/.test(input.scope)) {
    // The client is authenticated by now: the refusal is its own (never the scope as sent).
    await recordAuditEventDenied(ctx, row, 'invalid_request: malformed scope', input.request, now);
    throw new OAuthError('invalid_request', 'scope must be a space-separated list of scope tokens', { recorded: true });
  } else {
    const requested = [...new Set(input.scope.split(' '))];
    const unknown = requested.filter((s) => !(SCOPES as readonly string[]).includes(s) || !held.includes(s as Scope));
    if (unknown.length > 0) {
      await recordAuditEventDenied(ctx, row, `invalid_scope: ${unknown.join(' ')}`.slice(0, 400), input.request, now);
      throw new OAuthError('invalid_scope', `The client does not hold: ${unknown.join(' ')}`.slice(0, 300), { recorded: true });
    }
    scopes = normalizeScopes(requested);
  }
  const issued = await issueClientToken(ctx.tokens, { clientId: row.id, organizationId: row.organization_id, scopes, authzVersion: row.authz_version }, now);
  await recordAuditEventAlone(
    ctx.database.db,
    {
      action: 'oauth.token.issued',
      outcome: 'success',
      actor: { type: 'client', id: row.id, role: null, organizationId: row.organization_id },
      organizationId: row.organization_id,
      target: { type: 'api_client', id: row.id },
      request: input.request,
      decision: { clientId: row.id, scopes: [...scopes], expiresIn: issued.expiresIn },
    },
    now,
  );
  return { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn, scope: scopes.join(' ') };
}

async function recordAuditEventDenied(ctx: AuthContext, row: { id: string; organization_id: string }, reason: string, request: AuditRequestContext, now: Date): Promise<void> {
  await recordAuditEventAlone(
    ctx.database.db,
    {
      action: 'oauth.token.denied',
      outcome: 'denied',
      actor: { type: 'client', id: row.id, role: null, organizationId: row.organization_id },
      organizationId: row.organization_id,
      target: { type: 'api_client', id: row.id },
      request,
      decision: { reason, clientId: row.id },
    },
    now,
  );
}
