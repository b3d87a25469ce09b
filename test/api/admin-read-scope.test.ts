/**
 * The administration lists are installation-wide, so their reads are recorded where only
 * administrators read them. Before, GET /v1/users, /v1/api-clients, /v1/auditor-grants,
 * /v1/organizations and /v1/keys, filtered or not, were recorded in the administrator's own
 * organisation: its auditors and audit:read clients read another organisation's id (the filter)
 * and the installation's counts. Now an unfiltered list is in the installation's trail (no
 * organisation), and a list filtered to one organisation in that organisation's trail.
 * Through real HTTP, on both databases.
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';

interface EventView {
  action: string;
  organizationId: string | null;
  decision: Record<string, unknown>;
}

describe.each(DATABASE_KINDS)('administration reads are recorded in the installation or the organisation read (%s)', (kind) => {
  let app: TestApp;
  let home: string;
  let other: string;
  let admin: Credentials;
  let homeReader: Credentials;
  let otherReader: Credentials;

  beforeAll(async () => {
    app = await startTestApp(kind, { PUBLIC_URL: 'https://risk.example.test' });
    home = await seedOrganization(app, `Admin home ${kind}`);
    other = await seedOrganization(app, `Other clinic ${kind}`);
    const user = await seedUser(app, home, ['admin']);
    admin = { kind: 'session', session: await login(app, user.email) };
    await seedUser(app, other, ['compliance_officer']);
    await seedClient(app, other, ['assessments:read']);
    homeReader = { kind: 'bearer', token: await clientToken(app, await seedClient(app, home, ['audit:read'])) };
    otherReader = { kind: 'bearer', token: await clientToken(app, await seedClient(app, other, ['audit:read'])) };
  });
  afterAll(async () => {
    await app.stop();
  });

  const adminReads = async (who: Credentials): Promise<{ events: EventView[]; text: string }> => {
    const res = await send(app, 'GET', '/v1/audit/events?action=admin.read&limit=1000', who);
    expect(res.status).toBe(200);
    const text = await res.text();
    return { events: (JSON.parse(text) as { items: EventView[] }).items, text };
  };

  it("keeps installation-wide lists out of the administrator's organisation, and files a filtered list under the organisation filtered", async () => {
    const lists = ['/v1/organizations', '/v1/users', '/v1/api-clients', '/v1/auditor-grants', '/v1/keys'];
    const filtered = [`/v1/users?organizationId=${other.toUpperCase()}`, `/v1/api-clients?organizationId=${other}`, `/v1/auditor-grants?organizationId=${other}`];
    for (const path of [...lists, ...filtered]) expect((await send(app, 'GET', path, admin)).status).toBe(200);

    // The administrator's organisation: its audit:read client sees none of these reads, nor the other organisation's id.
    const homeView = await adminReads(homeReader);
    expect(homeView.events).toEqual([]);
    expect(homeView.text).not.toContain(other);

    // The organisation filtered: its trail shows who listed its users, clients and grants.
    const otherView = await adminReads(otherReader);
    expect(otherView.events.map((e) => [e.organizationId, e.decision.resource, e.decision.filters])).toEqual([
      [other, 'users', { organizationId: other }],
      [other, 'api_clients', { organizationId: other }],
      [other, 'auditor_grants', { organizationId: other }],
    ]);

    // The installation's trail (no organisation), which administrators read: every unfiltered list.
    const all = await adminReads(admin);
    expect(all.events.filter((e) => e.organizationId === null).map((e) => e.decision.resource)).toEqual(['organizations', 'users', 'api_clients', 'auditor_grants', 'keys']);
    expect(all.events.filter((e) => e.organizationId === home)).toEqual([]);
  });

  it('still files one user read in that user’s organisation', async () => {
    const member = await seedUser(app, home, ['compliance_officer']);
    expect((await send(app, 'GET', `/v1/users/${member.id}`, admin)).status).toBe(200);
    const homeView = await adminReads(homeReader);
    expect(homeView.events).toEqual([expect.objectContaining({ organizationId: home, decision: { via: 'api', resource: 'user', returned: 1 } })]);
  });
});
