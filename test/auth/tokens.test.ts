/**
 * Token attacks, through real HTTP: every forged, tampered, expired or misplaced token is a 401;
 * revoked and rotated clients lose their tokens at once; tokens signed by a retired key of the
 * ring verify until they expire. Plus the OAuth 2.0 token endpoint's contract (RFC 6749 §4.4, §5.2).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, SignJWT, type JWTPayload } from 'jose';
import { issueClientToken, issueSessionToken, tokenAudience, type TokenSettings } from '../../src/auth/tokens.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startTestApp, testTokenKeyRing, type TestApp } from '../support/app.js';
import { auditEvents, clientToken, login, names, seedClient, seedOrganization, seedUser, send } from './helpers.js';

const ISSUER = 'https://risk.example.test';

async function forge(key: KeyObject | Uint8Array, header: Record<string, unknown>, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe.each(DATABASE_KINDS)('token attacks on %s', (kind) => {
  let app: TestApp;
  let settings: TokenSettings;
  let orgId: string;
  let client: { id: string; secret: string };
  let user: { id: string; email: string };
  let retiredKey: KeyObject;
  let retiredKid: string;

  beforeAll(async () => {
    const old = await testTokenKeyRing();
    retiredKey = old.current.privateKey;
    retiredKid = old.current.kid;
    const ring = await testTokenKeyRing([old]); // current key + the retired one
    // TRUST_PROXY: a test gives its requests their own address (audit bounds count per address).
    app = await startTestApp(kind, { PUBLIC_URL: ISSUER, TRUST_PROXY: 'loopback' }, { tokenKeys: ring });
    settings = { keys: ring, issuer: ISSUER, ttlSeconds: app.config.auth.accessTokenTtlSeconds };
    orgId = await seedOrganization(app);
    client = await seedClient(app, orgId, ['assessments:read', 'reports:read']);
    user = await seedUser(app, orgId, ['compliance_officer']);
  });
  afterAll(async () => {
    await app.stop();
  });

  const now = (): number => Math.floor(Date.now() / 1000);
  const clientClaims = (): JWTPayload => ({ iss: ISSUER, aud: tokenAudience(ISSUER), sub: client.id, client_id: client.id, org: orgId, scope: 'assessments:read', av: 1, iat: now(), exp: now() + 300, jti: 'j1' });
  const header = (): Record<string, unknown> => ({ alg: 'EdDSA', kid: settings.keys.current.kid, typ: 'at+jwt' });
  const bearer = (token: string): Promise<Response> => send(app, 'GET', '/v1/me', { kind: 'bearer', token });

  it('accepts a well-formed client token (the control case)', async () => {
    const token = await forge(settings.keys.current.privateKey, header(), clientClaims());
    const res = await bearer(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ type: 'client', id: client.id, scopes: ['assessments:read'] });
  });

  it('401 without a token, with a malformed header or token', async () => {
    const none = await send(app, 'GET', '/v1/me', { kind: 'none' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    for (const authorization of ['Bearer', 'Bearer ', 'Basic abc', 'Bearer a.b', 'Bearer not a token', `Bearer ${'a'.repeat(5000)}.b.c`]) {
      const res = await fetch(`${app.url}/v1/me`, { headers: { authorization } });
      expect(res.status).toBe(401);
    }
  });

  const attacks: [string, () => Promise<string>][] = [
    ['alg none', () => Promise.resolve(`${b64({ alg: 'none', typ: 'at+jwt', kid: settings.keys.current.kid })}.${b64(clientClaims())}.`)],
    ['alg none with a signature part', () => Promise.resolve(`${b64({ alg: 'none', typ: 'at+jwt', kid: settings.keys.current.kid })}.${b64(clientClaims())}.AAAA`)],
    ['HS256 signed with the public key', async () => forge(new Uint8Array(Buffer.from(settings.keys.current.publicJwk.x, 'base64url')), { ...header(), alg: 'HS256' }, clientClaims())],
    ['HS256 signed with the public JWK text', async () => forge(new TextEncoder().encode(JSON.stringify(settings.keys.current.publicJwk)), { ...header(), alg: 'HS256' }, clientClaims())],
    ['wrong issuer', async () => forge(settings.keys.current.privateKey, header(), { ...clientClaims(), iss: 'https://evil.example' })],
    ['wrong audience', async () => forge(settings.keys.current.privateKey, header(), { ...clientClaims(), aud: 'https://other.example/v1' })],
    ['expired', async () => forge(settings.keys.current.privateKey, header(), { ...clientClaims(), iat: now() - 1000, exp: now() - 60 })],
    ['not yet valid (nbf)', async () => forge(settings.keys.current.privateKey, header(), { ...clientClaims(), nbf: now() + 600 })],
    ['issued in the future', async () => forge(settings.keys.current.privateKey, header(), { ...clientClaims(), iat: now() + 600, exp: now() + 900 })],
    ['lifetime longer than allowed', async () => forge(settings.keys.current.privateKey, header(), { ...clientClaims(), iat: now() - 3600, exp: now() + 3600 })],
    ['missing jti', async () => forge(settings.keys.current.privateKey, header(), { ...clientClaims(), jti: undefined })],
    ['missing av', async () => forge(settings.keys.current.privateKey, header(), { ...clientClaims(), av: undefined })],
    ['unknown kid (a key outside the ring)', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const kid = await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }));
      return forge(privateKey, { ...header(), kid }, clientClaims());
    }],
    ['the ring\'s kid, signed by another key', async () => forge(generateKeyPairSync('ed25519').privateKey, header(), clientClaims())],
    ['no kid', async () => forge(settings.keys.current.privateKey, { alg: 'EdDSA', typ: 'at+jwt' }, clientClaims())],
    ['an embedded jwk header instead of kid', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      return forge(privateKey, { alg: 'EdDSA', typ: 'at+jwt', jwk: publicKey.export({ format: 'jwk' }) }, clientClaims());
    }],
    ['changed claims (scope widened after signing)', async () => {
      const [h, , s] = (await forge(settings.keys.current.privateKey, header(), clientClaims())).split('.');
      return `${h}.${b64({ ...clientClaims(), scope: 'assessments:read audit:read' })}.${s}`;
    }],
    ['changed claims (another organisation)', async () => {
      const [h, , s] = (await forge(settings.keys.current.privateKey, header(), clientClaims())).split('.');
      return `${h}.${b64({ ...clientClaims(), org: '00000000-0000-4000-8000-000000000000' })}.${s}`;
    }],
    ['signed, but for another organisation', async () => forge(settings.keys.current.privateKey, header(), { ...clientClaims(), org: await seedOrganization(app) })],
    ['signed, with a scope the client does not hold (only narrows)', async () => forge(settings.keys.current.privateKey, header(), { ...clientClaims(), scope: 'audit:read' })],
    ['a session token used as a bearer token', async () => (await issueSessionToken(settings, { userId: user.id, organizationId: orgId, roles: ['compliance_officer'], sessionId: '00000000-0000-4000-8000-000000000001', authzVersion: 1 }, new Date())).token],
    ['a client token with typ JWT', async () => forge(settings.keys.current.privateKey, { ...header(), typ: 'JWT' }, clientClaims())],
  ];

  it.each(attacks)('refuses a bearer token: %s', async (_name, make) => {
    const res = await bearer(await make());
    if (_name.startsWith('signed, with a scope')) {
      // Verified, but the scope the client does not hold is dropped: nothing is permitted.
      expect(res.status).toBe(403);
      return;
    }
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_(token|request)"/);
  });

  it('refuses forged or misplaced session cookies', async () => {
    const real = await login(app, user.email);
    const n = names(app);
    const claims = { iss: ISSUER, aud: tokenAudience(ISSUER), sub: user.id, org: orgId, roles: ['compliance_officer', 'admin'], sid: '00000000-0000-4000-8000-000000000002', av: 1, iat: now(), exp: now() + 300, jti: 'x' };
    const [h, p, s] = real.access.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const forged = [
      `${h}.${b64({ ...payload, roles: ['compliance_officer', 'admin'] })}.${s}`,
      await forge(generateKeyPairSync('ed25519').privateKey, { alg: 'EdDSA', kid: settings.keys.current.kid, typ: 'session+jwt' }, claims),
      await forge(settings.keys.current.privateKey, { alg: 'EdDSA', kid: settings.keys.current.kid, typ: 'session+jwt' }, claims), // unknown session id
      (await issueClientToken(settings, { clientId: client.id, organizationId: orgId, scopes: ['assessments:read'], authzVersion: 1 }, new Date())).token, // client token in the cookie
      `${b64({ alg: 'none', typ: 'session+jwt' })}.${p}.`,
    ];
    for (const token of forged) {
      const res = await fetch(`${app.url}/v1/me`, { headers: { cookie: `${n.access}=${token}` } });
      expect(res.status).toBe(401);
    }
    expect((await fetch(`${app.url}/v1/me`, { headers: { cookie: `${n.access}=${real.access}` } })).status).toBe(200);
  });

  it('tokens signed by a retired key of the ring still verify until they expire (rotation)', async () => {
    const token = await forge(retiredKey, { alg: 'EdDSA', kid: retiredKid, typ: 'at+jwt' }, clientClaims());
    expect((await bearer(token)).status).toBe(200);
    const expired = await forge(retiredKey, { alg: 'EdDSA', kid: retiredKid, typ: 'at+jwt' }, { ...clientClaims(), iat: now() - 900, exp: now() - 10 });
    expect((await bearer(expired)).status).toBe(401);
  });

  it('a revoked client and a rotated secret lose their unexpired tokens at once', async () => {
    const c = await seedClient(app, orgId, ['verify']);
    const admin = await login(app, (await seedUser(app, orgId, ['admin'])).email);
    const token = await clientToken(app, c);
    expect((await bearer(token)).status).toBe(200);
    const rotated = await send(app, 'POST', `/v1/api-clients/${c.id}/rotate`, { kind: 'session', session: admin });
    expect(rotated.status).toBe(200);
    const { clientSecret } = (await rotated.json()) as { clientSecret: string };
    expect((await bearer(token)).status).toBe(401);
    await expect(clientToken(app, c)).rejects.toThrow(/401/);
    const fresh = await clientToken(app, { id: c.id, secret: clientSecret });
    expect((await bearer(fresh)).status).toBe(200);
    expect((await send(app, 'DELETE', `/v1/api-clients/${c.id}`, { kind: 'session', session: admin })).status).toBe(204);
    expect((await bearer(fresh)).status).toBe(401);
    await expect(clientToken(app, { id: c.id, secret: clientSecret })).rejects.toThrow(/401/);
  });

  describe('POST /v1/oauth/token (RFC 6749 §4.4)', () => {
    const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const token = (body: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${app.url}/v1/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });

    it('issues a Bearer token with the requested scopes (Basic or form credentials), no-store', async () => {
      const res = await token('grant_type=client_credentials&scope=reports%3Aread', { authorization: basic(client.id, client.secret) });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600, scope: 'reports:read' });
      const me = (await (await bearer(body.access_token as string)).json()) as { scopes: string[] };
      expect(me.scopes).toEqual(['reports:read']);
      const form = await token(`grant_type=client_credentials&client_id=${client.id}&client_secret=${client.secret}`);
      expect(((await form.json()) as { scope: string }).scope).toBe('assessments:read reports:read');
      const json = await fetch(`${app.url}/v1/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }) });
      expect(json.status).toBe(200);
    });

    it.each([
      ['a wrong secret', (): [string, Record<string, string>] => ['grant_type=client_credentials', { authorization: basic(client.id, 'harc_wrong') }]],
      ['an unknown client', (): [string, Record<string, string>] => ['grant_type=client_credentials', { authorization: basic('00000000-0000-4000-8000-000000000009', client.secret) }]],
      ['a client id that is not a UUID', (): [string, Record<string, string>] => ['grant_type=client_credentials&client_id=%27%3B--&client_secret=x', {}]],
      ['no credentials', (): [string, Record<string, string>] => ['grant_type=client_credentials', {}]],
    ])('invalid_client (401 + WWW-Authenticate) for %s', async (_name, make) => {
      const [body, headers] = make();
      const res = await token(body, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect(await res.json()).toMatchObject({ error: 'invalid_client' });
    });

    it('unsupported_grant_type, invalid_scope and invalid_request (400)', async () => {
      const auth = { authorization: basic(client.id, client.secret) };
      expect(await (await token('grant_type=password&username=a&password=b', auth)).json()).toMatchObject({ error: 'unsupported_grant_type' });
      const scope = await token('grant_type=client_credentials&scope=reports%3Aread%20audit%3Aread', auth);
      expect(scope.status).toBe(400);
      expect(await scope.json()).toMatchObject({ error: 'invalid_scope' });
      expect(await (await token('grant_type=client_credentials&scope=nope', auth)).json()).toMatchObject({ error: 'invalid_scope' });
      expect(await (await token('scope=reports%3Aread', auth)).json()).toMatchObject({ error: 'invalid_request' });
      expect(await (await token(`grant_type=client_credentials&client_id=${client.id}`, auth)).json()).toMatchObject({ error: 'invalid_request' });
    });

    it('records each refused token request once, without the body', async () => {
      // From an address of its own: denials and refusals are bounded per address and minute.
      const ip = `198.51.100.${kind === 'pglite' ? 71 : 72}`;
      const reasons = async (action: string): Promise<string[]> => (await auditEvents(app, action)).filter((e) => e.source_ip === ip).map((e) => `${String(e.decision.status)} ${String(e.decision.reason)}`);
      const auth = { authorization: basic(client.id, client.secret), 'x-forwarded-for': ip };
      expect((await token('grant_type=password&username=a&password=b', auth)).status).toBe(400);
      expect((await token('scope=reports%3Aread', auth)).status).toBe(400);
      expect((await token('grant_type=client_credentials', { authorization: 'Bearer x', 'x-forwarded-for': ip })).status).toBe(401);
      // Recorded by the exchange itself, once: a wrong secret (denied) and a scope the client lacks.
      expect((await token('grant_type=client_credentials', { authorization: basic(client.id, 'harc_wrong'), 'x-forwarded-for': ip })).status).toBe(401);
      expect((await token('grant_type=client_credentials&scope=audit%3Aread', auth)).status).toBe(400);
      expect(await reasons('request.refused')).toEqual(['400 unsupported_grant_type', '400 invalid_request']);
      expect(await reasons('request.denied')).toEqual(['401 invalid_client', '401 invalid_client']);
      expect((await auditEvents(app, 'oauth.token.denied')).at(-1)!.decision.reason).toMatch(/^invalid_scope: audit:read/);
      const rows = await app.t.database.db.selectFrom('audit_events').select(['input_sha256', 'outcome']).where('action', '=', 'request.refused').execute();
      expect(rows.every((r) => r.input_sha256 === null && r.outcome === 'error')).toBe(true);
    });
  });
});
