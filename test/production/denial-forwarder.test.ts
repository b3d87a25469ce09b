/**
 * The rate limiters' denial forwarder: a burst of 429s from many addresses at once is recorded,
 * not dropped past the few writes in flight; what cannot even be queued is summarised in one event.
 */
import express from 'express';
import { createDenialForwarder, type DenialForwarder } from '../../src/http/rate-limit/denials.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';
import { createLogger } from '../../src/logging/logger.js';

describe.each(DATABASE_KINDS)('the denial forwarder on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await t.drop();
  });

  /**
   * 429s from `addresses` distinct clients in the same tick: one real Express request, forwarded
   * as if it came from each address (the burst a load balancer delivers at once).
   */
  async function burst(forwarder: DenialForwarder, addresses: number, path: string): Promise<void> {
    const app = express();
    app.get(path, (req, res) => {
      for (let i = 0; i < addresses; i++) forwarder.forward(Object.create(req, { ip: { value: `198.51.100.${i + 1}` } }) as typeof req, 'test');
      res.status(429).end();
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    try {
      expect((await fetch(`http://127.0.0.1:${port}${path}`)).status).toBe(429);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    await forwarder.drain();
  }

  const denials = async (route: string): Promise<{ ip: string | null; decision: Record<string, unknown> }[]> =>
    (await t.database.db.selectFrom('audit_events').select(['source_ip as ip', 'decision']).where('action', '=', 'request.denied').execute())
      .map((r) => ({ ip: r.ip, decision: r.decision as Record<string, unknown> }))
      .filter((r) => r.decision.route === route || (r.decision.reason === 'unforwarded' && route === '*'));

  it('records every 429 of a burst from ten addresses (four writes at a time, the rest queued)', async () => {
    const forwarder = createDenialForwarder({ database: t.database, logger: createLogger('error'), limitPerMinute: 20 });
    await burst(forwarder, 10, '/burst');
    const events = await denials('/burst');
    expect(events).toHaveLength(10);
    expect(new Set(events.map((e) => e.ip)).size).toBe(10);
  });

  it('summarises what it could not queue in one event, with how many', async () => {
    let unforwarded = 0;
    const forwarder = createDenialForwarder({ database: t.database, logger: createLogger('error'), limitPerMinute: 20, maxQueued: 2, onUnforwarded: () => (unforwarded += 1) });
    await burst(forwarder, 10, '/overflow');
    const detailed = await denials('/overflow');
    const summary = (await denials('*')).filter((e) => e.decision.reason === 'unforwarded');
    expect(detailed.length + unforwarded).toBe(10);
    expect(unforwarded).toBeGreaterThan(0);
    expect(summary).toHaveLength(1);
    expect(summary[0]!.decision).toMatchObject({ status: 429, route: '*', reason: 'unforwarded', suppressed: unforwarded });
  });
});
