/**
 * On every database kind: a rotation conditional on the current key (`rotateIfCurrent`, what the
 * keys page's form does) rotates once when two instances are asked at the same moment with the
 * same expected key: two rings over one key directory and one database, as two instances are.
 * The second finds the key moved on under the rotation lock and does nothing, records nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publishKeys, rotateIfCurrent } from '../../src/assessments/keys.js';
import { SYSTEM_ACTOR } from '../../src/audit/record.js';
import { loadRotatableKeyRing } from '../../src/signing/rotatable.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';

describe.each(DATABASE_KINDS)('a key rotation conditional on the current key (%s)', (kind) => {
  let t: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rotate-once-'));
  });
  afterAll(async () => {
    await t.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('rotates once when two instances are asked at once with the same expected key', async () => {
    const a = await loadRotatableKeyRing('report', {}, dataDir);
    const b = await loadRotatableKeyRing('report', {}, dataDir);
    await publishKeys(t.database.db, a);
    const expected = a.current.kid;
    expect(b.current.kid).toBe(expected);
    const who = { actor: SYSTEM_ACTOR, request: null };
    const results = await Promise.all([rotateIfCurrent(t.database.db, a, new Date(), who, expected), rotateIfCurrent(t.database.db, b, new Date(), who, expected)]);
    const done = results.filter((r) => r !== undefined);
    expect(done).toHaveLength(1);
    expect(done[0]!.previousKid).toBe(expected);
    const rotated = await t.database.db.selectFrom('audit_events').select(['decision']).where('action', '=', 'key.rotated').execute();
    expect(rotated).toEqual([{ decision: { purpose: 'report', kid: done[0]!.kid, previousKid: expected } }]);
    // Both rings see the one new key as current; a third request with the old expectation does nothing.
    await b.refresh();
    expect(b.current.kid).toBe(done[0]!.kid);
    expect(await rotateIfCurrent(t.database.db, b, new Date(), who, expected)).toBeUndefined();
    expect(await t.database.db.selectFrom('audit_events').select('seq').where('action', '=', 'key.rotated').execute()).toHaveLength(1);
  });
});
