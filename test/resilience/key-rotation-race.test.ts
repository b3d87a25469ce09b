import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publishKeys } from '../../src/assessments/keys.js';
import { prepareKey } from '../../src/signing/key-ring.js';
import { ensurePrivateDir, publishFileExclusive } from '../../src/signing/secret-files.js';
import { loadReportKeyRing } from '../../src/signing/report-keys.js';
import { RotatableKeyRing } from '../../src/signing/rotatable.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { example } from '../support/fixtures.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';

// Two instances on one PostgreSQL sharing a key directory, the race that matters: on PGlite one
// connection orders every transaction, so the rotation's own always came first.
const enabled = process.env.TEST_DATABASE_URL !== undefined;
if (!enabled) process.stdout.write('TEST_DATABASE_URL not set: the key-rotation race test (two instances on PostgreSQL) is skipped\n');
const describeIfPg = enabled ? describe : describe.skip;

/** Key files already in the directory: each one lengthens the rotating instance's reload and publication. */
const EARLIER_KEYS = 300;

describeIfPg('a key rotation while another instance signs with the new key at once', () => {
  let a: TestApp;
  let b: TestApp;
  let dir: string;
  let ringB: RotatableKeyRing<'report'>;
  let admin: Credentials;
  let adminId: string;
  let integrator: Credentials;
  const poorly = example('poorly-controlled');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rotation-race-'));
    await ensurePrivateDir(dir);
    const keys = await Promise.all(Array.from({ length: EARLIER_KEYS }, () => prepareKey('report')));
    for (const [i, key] of keys.entries()) await publishFileExclusive(path.join(dir, `${String(i + 1).padStart(6, '0')}.key.json`), key.fileContent);
    const ringA = new RotatableKeyRing(await loadReportKeyRing({ kind: 'directory', dir }), dir);
    ringB = new RotatableKeyRing(await loadReportKeyRing({ kind: 'directory', dir }), dir);
    a = await startTestApp('postgres', {}, { reportKeys: ringA });
    b = await startTestApp('postgres', {}, { reportKeys: ringB, database: a.t, tokenKeys: a.tokenKeys });
    await publishKeys(a.t.database.db, ringA); // as the service does at start
    const org = await seedOrganization(a);
    const user = await seedUser(a, org, ['admin']);
    adminId = user.id;
    admin = { kind: 'session', session: await login(a, user.email) };
    integrator = { kind: 'bearer', token: await clientToken(a, await seedClient(a, org, ['assessments:write', 'assessments:read'])) };
  }, 120_000);
  afterAll(async () => {
    await b.stop();
    await a.stop();
  });

  it('records the rotation once, naming the administrator, never the system', async () => {
    for (let round = 0; round < 3; round++) {
      const before = new Set(fs.readdirSync(dir));
      let signedByB: Promise<Response> | undefined;
      // Instance B loads the key the moment its file appears and submits with it.
      const watcher = fs.watch(dir, (_event, name) => {
        if (signedByB === undefined && typeof name === 'string' && /^\d{6}\.key\.json$/.test(name) && !before.has(name)) {
          signedByB = ringB.refresh().then(async () => {
            const all = await Promise.all(Array.from({ length: 4 }, () => send(b, 'POST', '/v1/assessments', integrator, { title: `Rotation race ${round}`, ...poorly })));
            return all[0]!;
          });
        }
      });
      let rotate: Response;
      try {
        rotate = await send(a, 'POST', '/v1/keys/rotate', admin, { purpose: 'report' });
        for (let i = 0; i < 100 && signedByB === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      } finally {
        watcher.close();
      }
      expect(rotate.status).toBe(201);
      const { kid, previousKid } = (await rotate.json()) as { kid: string; previousKid: string };
      expect(signedByB).toBeDefined();
      const submitted = await signedByB!;
      expect(submitted.status).toBe(201);
      expect(((await submitted.json()) as { report: { kid: string } }).report.kid).toBe(kid);
      const events = await a.t.database.db.selectFrom('audit_events').select(['action', 'actor_type', 'actor_id', 'decision']).where('target_id', '=', kid).execute();
      expect(events).toEqual([{ action: 'key.rotated', actor_type: 'user', actor_id: adminId, decision: { purpose: 'report', kid, previousKid } }]);
    }
  }, 60_000);
});
