/**
 * Helpers of the auth tests: seeding organisations, users and clients straight into the
 * database (fast), signing in over real HTTP, and sending requests as a given principal.
 */
import { parseSetCookie, type SetCookie } from 'cookie';
import { SYSTEM_ACTOR } from '../../src/audit/record.js';
import { createApiClient } from '../../src/auth/api-clients.js';
import { createAuditorGrant } from '../../src/auth/auditor-grants.js';
import { createOrganization } from '../../src/auth/organizations.js';
import { hashPassword } from '../../src/auth/passwords.js';
import type { Role, Scope } from '../../src/auth/permissions.js';
import { createUser } from '../../src/auth/users.js';
import type { TestApp } from '../support/app.js';

export const PASSWORD = 'correct-Horse-battery-staple-42';
let counter = 0;
/** A string unique within the test run. */
export function unique(prefix = 'x'): string {
  counter += 1;
  return `${prefix}${process.pid}-${Date.now().toString(36)}-${counter}`;
}

const audit = (): { actor: typeof SYSTEM_ACTOR; request: null; now: Date } => ({ actor: SYSTEM_ACTOR, request: null, now: new Date() });

export async function seedOrganization(app: TestApp, name = unique('Org ')): Promise<string> {
  return (await app.t.database.db.transaction().execute((trx) => createOrganization(trx, { name }, audit()))).id;
}

export async function seedUser(app: TestApp, organizationId: string, roles: readonly Role[], options: { email?: string; password?: string; grants?: readonly string[] } = {}): Promise<{ id: string; email: string; password: string }> {
  const email = options.email ?? `${unique('u')}@example.org`;
  const password = options.password ?? PASSWORD;
  const passwordHash = await hashPassword(password, app.config.auth.passwordHashCost);
  const user = await app.t.database.db.transaction().execute((trx) => createUser(trx, { email, organizationId, roles, passwordHash }, audit()));
  for (const org of options.grants ?? []) await app.t.database.db.transaction().execute((trx) => createAuditorGrant(trx, { auditorId: user.id, organizationId: org }, audit()));
  return { id: user.id, email, password };
}

export async function seedClient(app: TestApp, organizationId: string, scopes: readonly Scope[]): Promise<{ id: string; secret: string }> {
  const made = await app.t.database.db.transaction().execute((trx) => createApiClient(trx, { name: unique('client '), organizationId, scopes }, audit()));
  return { id: made.client.id, secret: made.clientSecret };
}

export interface Session {
  /** The Cookie request header carrying both session cookies. */
  cookie: string;
  csrfToken: string;
  access: string;
  refresh: string;
  setCookies: SetCookie[];
}

/** Parses a response's Set-Cookie headers. */
export function setCookiesOf(res: Response): SetCookie[] {
  return res.headers.getSetCookie().map((c) => parseSetCookie(c));
}

function sessionFrom(res: Response, body: { csrfToken: string }, names: { access: string; refresh: string }): Session {
  const setCookies = setCookiesOf(res);
  const access = setCookies.find((c) => c.name === names.access)?.value ?? '';
  const refresh = setCookies.find((c) => c.name === names.refresh)?.value ?? '';
  return { cookie: `${names.access}=${access}; ${names.refresh}=${refresh}`, csrfToken: body.csrfToken, access, refresh, setCookies };
}

export function names(app: TestApp): { access: string; refresh: string } {
  return app.config.auth.secureCookies ? { access: '__Host-hipaa_access', refresh: '__Host-hipaa_refresh' } : { access: 'hipaa_access', refresh: 'hipaa_refresh' };
}

export async function postJson(app: TestApp, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Signs in over HTTP; throws unless 200. */
export async function login(app: TestApp, email: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<Session> {
  const res = await postJson(app, '/v1/auth/login', { email, password }, headers);
  if (res.status !== 200) throw new Error(`login of ${email} failed: ${res.status} ${await res.text()}`);
  return sessionFrom(res, (await res.json()) as { csrfToken: string }, names(app));
}

/** POST /v1/auth/refresh with a session's cookies; returns the response and the new session if 200. */
export async function refresh(app: TestApp, session: Pick<Session, 'cookie'>): Promise<{ res: Response; session?: Session }> {
  const res = await fetch(`${app.url}/v1/auth/refresh`, { method: 'POST', headers: { cookie: session.cookie } });
  if (res.status !== 200) return { res };
  return { res, session: sessionFrom(res, (await res.json()) as { csrfToken: string }, names(app)) };
}

/** A client access token from the token endpoint (HTTP Basic); throws unless 200. */
export async function clientToken(app: Pick<TestApp, 'url'>, client: { id: string; secret: string }, scope?: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', ...(scope !== undefined ? { scope } : {}) });
  const res = await fetch(`${app.url}/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}` },
    body: form.toString(),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export type Credentials = { kind: 'session'; session: Session } | { kind: 'bearer'; token: string } | { kind: 'none' };

/** Sends a request with the given credentials (the CSRF header is added for sessions). */
export async function send(app: TestApp, method: string, path: string, credentials: Credentials, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<Response> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (credentials.kind === 'session') {
    headers.cookie = credentials.session.cookie;
    if (!['GET', 'HEAD'].includes(method) && headers['x-csrf-token'] === undefined) headers['x-csrf-token'] = credentials.session.csrfToken;
  }
  if (credentials.kind === 'bearer') headers.authorization = `Bearer ${credentials.token}`;
  return fetch(`${app.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}

/** Audit events of an action, oldest first. */
export async function auditEvents(app: TestApp, action: string): Promise<{ outcome: string; decision: Record<string, unknown>; actor_id: string | null; source_ip: string | null }[]> {
  return await app.t.database.db.selectFrom('audit_events').select(['outcome', 'decision', 'actor_id', 'source_ip']).where('action', '=', action).orderBy('seq').execute() as never;
}

/** The settings the session tests run with: 30 min idle, 1 h absolute, 10 min access tokens, behind a loopback proxy. */
export const SESSION_TEST_ENV = { PUBLIC_URL: 'https://risk.example.test', TRUST_PROXY: 'loopback', SESSION_IDLE_TIMEOUT_SECONDS: '1800', SESSION_ABSOLUTE_TIMEOUT_SECONDS: '3600', ACCESS_TOKEN_TTL_SECONDS: '600' };
