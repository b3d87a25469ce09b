/**
 * A 429 names who hit the limit: the authenticated client or user for the limits counted after
 * authentication, anonymous only for the per-IP limit that runs before it.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { clientToken, seedClient, seedOrganization, send, type Credentials } from '../auth/helpers.js';

describe.each(DATABASE_KINDS)('the actor of a rate-limited request on %s', (kind) => {
  let app: TestApp;
  let org: string;
  let clientId: string;
  let integrator: Credentials;
  const well = example('well-controlled');

  beforeAll(async () => {
    app = await startTestApp(kind, { RATE_LIMIT_EVALUATE: '2', RATE_LIMIT_WINDOW_MS: '3600000' });
    org = await seedOrganization(app);
    const client = await seedClient(app, org, ['evaluate']);
    clientId = client.id;
    integrator = { kind: 'bearer', token: await clientToken(app, client) };
  });
  afterAll(async () => {
    await app.stop();
  });

  it('records the client that went over the evaluation limit, in its organisation', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(app, 'POST', '/v1/evaluate', integrator, well)).status);
    expect(statuses).toEqual([200, 200, 429]);
    // The 429 is recorded after the response is sent (the limiter's denial forwarder).
    const limitedEvents = async (): Promise<{ actor_type: string; actor_id: string | null; organization_id: string | null }[]> =>
      (await app.t.database.db.selectFrom('audit_events').select(['actor_type', 'actor_id', 'organization_id', 'decision']).where('action', '=', 'request.denied').execute())
        .filter((r) => (r.decision as { reason?: string }).reason === 'rate_limited:evaluate');
    let limited = await limitedEvents();
    for (let i = 0; i < 50 && limited.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      limited = await limitedEvents();
    }
    expect(limited).toHaveLength(1);
    expect(limited[0]).toMatchObject({ actor_type: 'client', actor_id: clientId, organization_id: org });
  });
});
