/**
 * OpenAPI fragment of authentication and administration: sign-in, sessions, the OAuth 2.0 token
 * endpoint, the caller's identity, organisations, users, API clients and auditor grants.
 * The request schemas are the objects the routes validate with (src/http/routes/auth-schemas.ts).
 */
import { PERMISSIONS, ROLES, SCOPES } from '../../auth/permissions.js';
import { problem, type OpenApiFragment } from './document.js';
import { ChangePasswordBody, CreateApiClientBody, CreateAuditorGrantBody, CreateOrganizationBody, CreateUserBody, LoginBody, TokenRequestBody, UpdateUserBody } from '../routes/auth-schemas.js';

const json = (schema: unknown, example?: unknown): Record<string, unknown> => ({ content: { 'application/json': { schema, ...(example !== undefined ? { example } : {}) } } });
const ref = (name: string): Record<string, string> => ({ $ref: `#/components/schemas/${name}` });
const list = (name: string): Record<string, unknown> => ({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref(name) } } });
const idParam = (name: string, description: string): Record<string, unknown> => ({ name, in: 'path', required: true, schema: { type: 'string', format: 'uuid' }, description });
const sessionOrBearer = [{ cookieSession: [] }, { bearerToken: [] }];

/** `problem(…)` responses with a sentence added to one status's description. */
function explained(responses: Record<string, unknown>, status: string, sentence: string): Record<string, unknown> {
  const response = responses[status] as { description: string };
  return { ...responses, [status]: { ...response, description: `${response.description}. ${sentence}` } };
}

const cookieOnly = [{ cookieSession: [] }];
const adminErrors = problem('unauthenticated', 'forbidden', 'csrf-token-invalid');
const csrfHeader = { name: 'X-CSRF-Token', in: 'header', required: false, schema: { type: 'string' }, description: 'Required on cookie-authenticated requests that change state: the csrfToken returned by login/refresh and GET /v1/me.' };

const roleDoc = 'Roles: `compliance_officer` (create and revise the own organisation\'s assessments, read its reports), `auditor` (read reports and audit trail of granted organisations, verify), `admin` (installation-wide: organisations, users, API clients, grants, keys; nothing else unless also granted another role).';

export const authSchemas: Record<string, unknown> = {
  SessionUser: {
    type: 'object',
    required: ['id', 'email', 'organizationId', 'roles'],
    properties: { id: { type: 'string', format: 'uuid' }, email: { type: 'string' }, name: { type: ['string', 'null'] }, organizationId: { type: 'string', format: 'uuid' }, roles: { type: 'array', items: { enum: [...ROLES] } } },
  },
  SessionAnswer: {
    type: 'object',
    required: ['csrfToken', 'user', 'expiresIn'],
    description: 'The session and refresh tokens are set as httpOnly cookies and never appear in a body; only the CSRF token does.',
    properties: { csrfToken: { type: 'string', description: 'send back in X-CSRF-Token (or a `_csrf` form field) on state-changing requests' }, user: ref('SessionUser'), expiresIn: { type: 'integer', description: 'access token lifetime, seconds' } },
  },
  Me: {
    type: 'object',
    required: ['type', 'id', 'organization', 'roles', 'scopes'],
    properties: {
      type: { enum: ['user', 'client'] },
      id: { type: 'string', format: 'uuid' },
      email: { type: 'string' },
      name: { type: ['string', 'null'] },
      organization: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, name: { type: ['string', 'null'] } } },
      roles: { type: 'array', items: { enum: [...ROLES] } },
      scopes: { type: 'array', items: { enum: [...SCOPES] } },
      grantedOrganizationIds: { type: 'array', items: { type: 'string', format: 'uuid' } },
      sessionId: { type: 'string', format: 'uuid' },
      csrfToken: { type: 'string', description: 'cookie sessions only' },
    },
  },
  TokenResponse: {
    type: 'object',
    required: ['access_token', 'token_type', 'expires_in', 'scope'],
    properties: { access_token: { type: 'string' }, token_type: { const: 'Bearer' }, expires_in: { type: 'integer' }, scope: { type: 'string', description: 'space-separated scopes the token carries' } },
  },
  OAuthError: {
    type: 'object',
    required: ['error'],
    description: 'RFC 6749 §5.2 error response (not problem+json: OAuth clients expect this shape).',
    properties: { error: { enum: ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'] }, error_description: { type: 'string' } },
  },
  Organization: { type: 'object', required: ['id', 'name', 'createdAt'], properties: { id: { type: 'string', format: 'uuid' }, name: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } } },
  User: {
    type: 'object',
    required: ['id', 'organizationId', 'email', 'roles', 'disabled'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      organizationId: { type: 'string', format: 'uuid' },
      email: { type: 'string' },
      name: { type: ['string', 'null'] },
      roles: { type: 'array', items: { enum: [...ROLES] } },
      disabled: { type: 'boolean' },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  },
  ApiClient: {
    type: 'object',
    required: ['id', 'organizationId', 'name', 'scopes', 'revoked'],
    properties: {
      id: { type: 'string', format: 'uuid', description: 'the OAuth client_id' },
      organizationId: { type: 'string', format: 'uuid' },
      name: { type: 'string' },
      scopes: { type: 'array', items: { enum: [...SCOPES] } },
      createdAt: { type: 'string', format: 'date-time' },
      secretRotatedAt: { type: ['string', 'null'], format: 'date-time' },
      revoked: { type: 'boolean' },
      revokedAt: { type: ['string', 'null'], format: 'date-time' },
    },
  },
  ApiClientSecret: {
    type: 'object',
    required: ['clientId', 'clientSecret', 'client'],
    description: 'The secret is shown in this response only; it is stored as a SHA-256 digest.',
    properties: { clientId: { type: 'string', format: 'uuid' }, clientSecret: { type: 'string', pattern: '^harc_[A-Za-z0-9_-]{43}$' }, client: ref('ApiClient') },
  },
  AuditorGrant: { type: 'object', required: ['id', 'auditorId', 'organizationId'], properties: { id: { type: 'string', format: 'uuid' }, auditorId: { type: 'string', format: 'uuid' }, organizationId: { type: 'string', format: 'uuid' }, createdAt: { type: 'string', format: 'date-time' } } },
  LoginBody,
  ChangePasswordBody,
  CreateOrganizationBody,
  CreateUserBody,
  UpdateUserBody,
  CreateApiClientBody,
  CreateAuditorGrantBody,
  TokenRequestBody,
};

const permissionTable = Object.entries(PERMISSIONS)
  .map(([action, p]) => `| \`${action}\` | ${p.roles.join(', ') || '—'} | ${p.scopes.join(', ') || '—'} |`)
  .join('\n');

export const authPaths: Record<string, unknown> = {
  '/v1/auth/login': {
    post: {
      tags: ['Authentication'],
      summary: 'Sign in (browser session)',
      description:
        'Sets two cookies, both `HttpOnly; Secure; SameSite=Strict; Path=/` with the `__Host-` prefix: `__Host-hipaa_access` (EdDSA JWT, ≤ 15 min) and `__Host-hipaa_refresh` (opaque, rotated on every use). Returns the CSRF token to send in `X-CSRF-Token`. Failed sign-ins are limited per account (5 / 15 min) and per IP (20 / 15 min): 429 with `Retry-After`. An unknown e-mail, a wrong password and a disabled account get the same 401.',
      requestBody: { required: true, ...json(LoginBody, { email: 'officer@example.org', password: 'violet-Lantern-orbit-93' }) },
      responses: { '200': { description: 'Signed in; cookies set', ...json(ref('SessionAnswer')) }, ...problem('validation-failed', 'unauthenticated', 'forbidden', 'rate-limited') },
    },
  },
  '/v1/auth/refresh': {
    post: {
      tags: ['Authentication'],
      summary: 'Exchange the refresh cookie for new access and refresh cookies',
      description: 'Rotates the refresh token. Presenting a refresh token that was already used revokes the whole session. Refused after the idle timeout (30 min without a request) or the absolute lifetime (12 h). No CSRF token needed (nothing but rotation happens; SameSite=Strict and an Origin check apply).',
      responses: { '200': { description: 'New cookies set', ...json(ref('SessionAnswer')) }, ...problem('unauthenticated', 'forbidden') },
    },
  },
  '/v1/auth/logout': {
    post: {
      tags: ['Authentication'],
      summary: 'Sign out: revoke the session and expire the cookies',
      parameters: [csrfHeader],
      responses: { '204': { description: 'Signed out (also when there was no session)' }, ...problem('csrf-token-invalid', 'forbidden') },
    },
  },
  '/v1/me': {
    get: {
      tags: ['Authentication'],
      summary: "The caller's identity, organisation, roles (users) or scopes (API clients)",
      security: sessionOrBearer,
      responses: { '200': { description: 'The caller', ...json(ref('Me')) }, ...problem('unauthenticated') },
    },
  },
  '/v1/me/password': {
    post: {
      tags: ['Authentication'],
      summary: 'Change your own password (users); ends your other sessions. Wrong current passwords count against the sign-in limits (429 once locked)',
      description:
        'The new password must pass the policy and differ from the current one (422 at `/newPassword`, decided before the current password is checked). A wrong current password is a 401 that counts against the sign-in limits (5 per account, 20 per address, per 15 min; then 429 `rate-limited` with `Retry-After`, the right password included). A user makes at most 5 changes per 15 minutes (`LOGIN_MAX_FAILURES_PER_ACCOUNT` per `LOGIN_FAILURE_WINDOW_SECONDS`; refused requests do not count): then 429 `rate-limited` with `Retry-After`.',
      security: cookieOnly,
      parameters: [csrfHeader],
      requestBody: { required: true, ...json(ChangePasswordBody) },
      responses: explained(
        explained({ '204': { description: 'Changed' }, ...problem('validation-failed', 'unauthenticated', 'forbidden', 'csrf-token-invalid', 'rate-limited') }, '422', 'The new password fails the policy or equals the current one (`/newPassword`)'),
        '429',
        'The sign-in limits of the account or address are reached, or the 5 changes per 15 minutes of the user are made; `Retry-After` says when to try again',
      ),
    },
  },
  '/v1/oauth/token': {
    post: {
      tags: ['Authentication'],
      summary: 'OAuth 2.0 client credentials grant (RFC 6749 §4.4)',
      description:
        'Authenticate with HTTP Basic (`client_id:client_secret`, RFC 6749 §2.3.1) or the `client_id`/`client_secret` form fields, not both. `scope` is optional: omitted, the token carries every scope the client holds; a scope the client does not hold is `invalid_scope` (never silently dropped). Errors follow RFC 6749 §5.2: `invalid_client` is 401 with `WWW-Authenticate: Basic`. Send the token as `Authorization: Bearer`.',
      requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: TokenRequestBody }, 'application/json': { schema: TokenRequestBody } } },
      responses: {
        '200': { description: 'A bearer access token (Cache-Control: no-store)', ...json(ref('TokenResponse'), { access_token: 'eyJ…', token_type: 'Bearer', expires_in: 600, scope: 'assessments:read reports:read' }) },
        '400': { description: 'invalid_request, unsupported_grant_type or invalid_scope', ...json(ref('OAuthError')) },
        '401': { description: 'invalid_client', ...json(ref('OAuthError')) },
        // Refused before the endpoint reads the request: its body (a JSON body that is not an
        // object, or holds a NUL or a lone surrogate; too large; of another media type) or the
        // per-IP limit of sign-in and token requests. These are problem+json, not RFC 6749 errors.
        ...problem('validation-failed', 'payload-too-large', 'unsupported-media-type', 'rate-limited'),
      },
    },
  },
  '/v1/organizations': {
    get: { tags: ['Administration'], summary: 'List organisations (admin)', description: 'Recorded as `admin.read` (resource `organizations`).', security: cookieOnly, responses: { '200': { description: 'Organisations', ...json(list('Organization')) }, ...adminErrors } },
    post: {
      tags: ['Administration'],
      summary: 'Create an organisation (admin)',
      security: cookieOnly,
      parameters: [csrfHeader],
      requestBody: { required: true, ...json(CreateOrganizationBody, { name: 'Riverside Clinic' }) },
      responses: { '201': { description: 'Created', ...json(ref('Organization')) }, ...problem('validation-failed', 'conflict'), ...adminErrors },
    },
  },
  '/v1/users': {
    get: {
      tags: ['Administration'],
      summary: 'List users (admin), optionally of one organisation',
      description: 'Recorded as `admin.read` (resource `users`, the filter given, how many users were sent).',
      security: cookieOnly,
      parameters: [{ name: 'organizationId', in: 'query', required: false, schema: { type: 'string', format: 'uuid' } }],
      responses: { '200': { description: 'Users', ...json(list('User')) }, ...adminErrors },
    },
    post: {
      tags: ['Administration'],
      summary: 'Create a user with an initial password (admin)',
      description: `${roleDoc} The initial password is given to the user out of band; they change it with POST /v1/me/password.`,
      security: cookieOnly,
      parameters: [csrfHeader],
      requestBody: { required: true, ...json(CreateUserBody) },
      responses: { '201': { description: 'Created', ...json(ref('User')) }, ...problem('validation-failed', 'conflict'), ...adminErrors },
    },
  },
  '/v1/users/{id}': {
    get: { tags: ['Administration'], summary: 'One user (admin)', description: 'Recorded as `admin.read` (resource `user`, target the user).', security: cookieOnly, parameters: [idParam('id', 'user id')], responses: { '200': { description: 'The user', ...json(ref('User')) }, ...problem('not-found'), ...adminErrors } },
    patch: {
      tags: ['Administration'],
      summary: 'Change roles, organisation, name, disabled state or password (admin)',
      description: 'Takes effect at once: tokens minted before a change of roles, organisation or disabled state are refused; disabling or resetting the password ends every session. Refused (409) if it would leave no enabled administrator.',
      security: cookieOnly,
      parameters: [idParam('id', 'user id'), csrfHeader],
      requestBody: { required: true, ...json(UpdateUserBody, { roles: ['compliance_officer'], disabled: false }) },
      responses: { '200': { description: 'The updated user', ...json(ref('User')) }, ...problem('validation-failed', 'not-found', 'conflict'), ...adminErrors },
    },
  },
  '/v1/api-clients': {
    get: {
      tags: ['Administration'],
      summary: 'List API clients (admin)',
      description: 'Recorded as `admin.read` (resource `api_clients`).',
      security: cookieOnly,
      parameters: [{ name: 'organizationId', in: 'query', required: false, schema: { type: 'string', format: 'uuid' } }],
      responses: { '200': { description: 'Clients (never their secrets)', ...json(list('ApiClient')) }, ...adminErrors },
    },
    post: {
      tags: ['Administration'],
      summary: 'Create an API client; its secret is returned once',
      description: `Scopes: ${SCOPES.map((s) => `\`${s}\``).join(', ')}.`,
      security: cookieOnly,
      parameters: [csrfHeader],
      requestBody: { required: true, ...json(CreateApiClientBody, { name: 'EHR integration', scopes: ['assessments:read', 'assessments:write', 'reports:read'] }) },
      responses: { '201': { description: 'Created (Cache-Control: no-store)', ...json(ref('ApiClientSecret')) }, ...problem('validation-failed'), ...adminErrors },
    },
  },
  '/v1/api-clients/{id}/rotate': {
    post: {
      tags: ['Administration'],
      summary: 'Replace the secret (returned once); tokens issued before stop working',
      security: cookieOnly,
      parameters: [idParam('id', 'client id'), csrfHeader],
      responses: { '200': { description: 'The new secret', ...json(ref('ApiClientSecret')) }, ...problem('not-found', 'conflict'), ...adminErrors },
    },
  },
  '/v1/api-clients/{id}/revoke': {
    post: {
      tags: ['Administration'],
      summary: 'Revoke the client for good (idempotent); its tokens stop working at once',
      security: cookieOnly,
      parameters: [idParam('id', 'client id'), csrfHeader],
      responses: { '200': { description: 'The revoked client', ...json(ref('ApiClient')) }, ...problem('not-found'), ...adminErrors },
    },
  },
  '/v1/api-clients/{id}': {
    delete: {
      tags: ['Administration'],
      summary: 'Same as POST …/revoke (the record is kept for the audit trail)',
      security: cookieOnly,
      parameters: [idParam('id', 'client id'), csrfHeader],
      responses: { '204': { description: 'Revoked' }, ...problem('not-found'), ...adminErrors },
    },
  },
  '/v1/auditor-grants': {
    get: {
      tags: ['Administration'],
      summary: 'List auditor grants (admin)',
      description: 'Recorded as `admin.read` (resource `auditor_grants`).',
      security: cookieOnly,
      parameters: [
        { name: 'auditorId', in: 'query', required: false, schema: { type: 'string', format: 'uuid' } },
        { name: 'organizationId', in: 'query', required: false, schema: { type: 'string', format: 'uuid' } },
      ],
      responses: { '200': { description: 'Grants', ...json(list('AuditorGrant')) }, ...adminErrors },
    },
    post: {
      tags: ['Administration'],
      summary: "Grant an auditor read access to an organisation's reports and audit trail",
      security: cookieOnly,
      parameters: [csrfHeader],
      requestBody: { required: true, ...json(CreateAuditorGrantBody) },
      responses: { '201': { description: 'Created', ...json(ref('AuditorGrant')) }, ...problem('validation-failed', 'conflict'), ...adminErrors },
    },
  },
  '/v1/auditor-grants/{id}': {
    delete: {
      tags: ['Administration'],
      summary: 'Revoke a grant (effective on the auditor\'s next request)',
      security: cookieOnly,
      parameters: [idParam('id', 'grant id'), csrfHeader],
      responses: { '204': { description: 'Revoked' }, ...problem('not-found'), ...adminErrors },
    },
  },
};

/** The fragment to pass to `buildOpenApi`. */
export const authOpenApi: OpenApiFragment = {
  paths: authPaths,
  schemas: authSchemas,
  tags: [
    { name: 'Authentication', description: `Browser sessions (cookies + CSRF token) and OAuth 2.0 client credentials for integrators.\n\nPermission table (action: roles | scopes):\n\n| action | roles | scopes |\n|---|---|---|\n${permissionTable}` },
    { name: 'Administration', description: `Organisations, users, API clients and auditor grants. ${roleDoc}` },
  ],
};
