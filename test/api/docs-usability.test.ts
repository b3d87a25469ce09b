/**
 * What an integrator meets at /docs and in a 403: the OpenAPI document's server resolves to the
 * origin the docs were loaded from (so "Try it out" stays within the docs' CSP, connect-src
 * 'self'), whatever PUBLIC_URL names; a client's missing scope is named in the 403, with the
 * token's scopes; the list filters and the session cookie are described as they behave.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, seedClient, seedOrganization, send, type Credentials } from '../auth/helpers.js';

interface OpenApi {
  servers: { url: string; description?: string }[];
  paths: Record<string, Record<string, { parameters?: { name: string; in: string; description?: string }[] }>>;
  components: { securitySchemes: Record<string, { name?: string; description?: string }> };
}

describe('the API documentation and scope errors', () => {
  let app: TestApp;
  let doc: OpenApi;
  const publicUrl = 'http://localhost:3000'; // the default PUBLIC_URL of `npm start`

  beforeAll(async () => {
    // Served at http://127.0.0.1:<port>, as `npm start` is reached at http://127.0.0.1:3000.
    app = await startTestApp(DATABASE_KINDS[0]!, { PUBLIC_URL: publicUrl });
    doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as OpenApi;
  });
  afterAll(async () => {
    await app.stop();
  });

  it('the document\'s server is the origin the docs were loaded from, allowed by the docs\' CSP', async () => {
    const docs = await fetch(`${app.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-security-policy')).toContain("connect-src 'self'");
    // Swagger UI resolves a relative server URL against the document's own URL.
    expect(doc.servers).toHaveLength(1);
    const server = new URL(doc.servers[0]!.url, `${app.url}/openapi.json`);
    expect(server.origin).toBe(new URL(app.url).origin);
    expect(server.origin).not.toBe(publicUrl);
    // The public URL is still stated.
    expect(doc.servers[0]!.description).toContain(publicUrl);
    // And a request resolved against it reaches this service.
    expect((await fetch(new URL('healthz', server))).status).toBe(200);
  });

  it('describes the list filters as applying to the latest revision', () => {
    const params = doc.paths['/v1/assessments']!.get!.parameters!;
    for (const name of ['overallRisk', 'status']) expect(params.find((p) => p.name === name)?.description).toMatch(/latest revision/);
  });

  it('names both session cookie names in the cookieSession scheme', () => {
    const scheme = doc.components.securitySchemes.cookieSession!;
    expect(scheme.name).toBe('__Host-hipaa_access');
    expect(scheme.description).toMatch(/`hipaa_access`/);
    expect(scheme.description).toMatch(/plain-http loopback PUBLIC_URL/);
  });

  it('a 403 for a missing scope names the scope needed and the token\'s scopes', async () => {
    const org = await seedOrganization(app, 'Scope clinic');
    const client = await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read']);
    const readOnly: Credentials = { kind: 'bearer', token: await clientToken(app, client, 'assessments:read reports:read') };
    const well = example('well-controlled');

    const create = await send(app, 'POST', '/v1/assessments', readOnly, { title: 'Scribe', ...well });
    expect(create.status).toBe(403);
    expect(create.headers.get('www-authenticate')).toBe('Bearer realm="hipaa-ai-risk", error="insufficient_scope", scope="assessments:write"');
    const body = (await create.json()) as { type: string; status: number; detail: string };
    expect(body).toMatchObject({ type: 'https://hipaa-ai-risk.dev/problems/forbidden', status: 403, detail: 'This needs the scope assessments:write; your token has assessments:read reports:read' });

    const evaluate = await send(app, 'POST', '/v1/evaluate', readOnly, well);
    expect(evaluate.status).toBe(403);
    expect(((await evaluate.json()) as { detail: string }).detail).toBe('This needs the scope evaluate; your token has assessments:read reports:read');

    // An action no scope allows (people only) says so.
    const verify = await send(app, 'GET', '/v1/audit/verify', readOnly);
    expect(verify.status).toBe(403);
    expect(((await verify.json()) as { detail: string }).detail).toBe('This is not available to API clients (people only); your token has assessments:read reports:read');
  });
});
