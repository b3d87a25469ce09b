/**
 * Through the real app: the per-principal limit (RATE_LIMIT_PER_PRINCIPAL) counts every
 * authenticated request, as docs/deployment.md §5 says: the account and administration routes,
 * the reference data and the pages too, not only assessments, reports and the audit trail.
 * Before, those were limited per IP only.
 */
import { roomInWindow } from '../support/rate-limit-window.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { login, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';
import { PageClient, startWebApp, type WebApp } from '../web/support.js';

const LIMIT = 4;
const ENV = { RATE_LIMIT_PER_PRINCIPAL: String(LIMIT), RATE_LIMIT_GLOBAL_PER_IP: '1000' };

describe('the per-principal limit on every authenticated API route', () => {
  let app: TestApp;
  let org: string;
  beforeAll(async () => {
    app = await startTestApp('pglite', ENV);
    org = await seedOrganization(app, 'Limited everywhere');
  });
  afterAll(async () => {
    await app.stop();
  });

  it.each([
    ['GET /v1/me', ['compliance_officer'], '/v1/me'],
    ['GET /v1/questionnaires', ['compliance_officer'], '/v1/questionnaires'],
    ['GET /v1/users (admin)', ['admin'], '/v1/users'],
  ] as const)(`%s: ${LIMIT} requests, then 429 from the principal limit`, async (_name, roles, path) => {
    const user = await seedUser(app, org, roles);
    const creds: Credentials = { kind: 'session', session: await login(app, user.email) };
    await roomInWindow(10_000);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i <= LIMIT; i++) {
      last = await send(app, 'GET', path, creds);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    expect(last!.headers.get('ratelimit')).toContain('"principal"; r=0');
  });
});

describe('the per-principal limit on the pages', () => {
  let app: WebApp;
  beforeAll(async () => {
    app = await startWebApp('pglite', ENV);
  });
  afterAll(async () => {
    await app.stop();
  });

  it('counts every page a signed-in user opens, and answers 429 as a page beyond it', async () => {
    const c = new PageClient(app.url);
    await roomInWindow(10_000);
    expect((await c.login(app.users.officer)).status).toBe(303);
    const statuses: number[] = [];
    let body = '';
    for (let i = 0; i <= LIMIT; i++) {
      const res = await c.get('/');
      statuses.push(res.status);
      body = await res.text();
    }
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    expect(body).toContain('<html');
    // Over the limit, the user can still sign out: it only takes access away.
    const csrf = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
    expect(csrf).toBeDefined();
    const out = await c.post('/logout', new URLSearchParams({ _csrf: csrf! }));
    expect([out.status, out.headers.get('location')]).toEqual([303, '/login?signed_out=1']);
    expect((await c.get('/')).status).toBe(303);
  });
});
