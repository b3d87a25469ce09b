import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../../src/db/schema.js';
import { recordAuditEvent, recordAuditEventAlone, type AuditEventInput } from '../../src/audit/record.js';
import { createCheckpoint } from '../../src/audit/checkpoint.js';
import { verifyAuditChain } from '../../src/audit/verify.js';
import { loadReportKeyRing, type ReportKeyRing } from '../../src/signing/report-keys.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';

function event(i: number, org = 'org-a'): AuditEventInput {
  return {
    action: 'report.downloaded',
    outcome: 'success',
    actor: { type: 'user', id: `user-${i % 3}`, role: 'auditor', organizationId: org },
    organizationId: org,
    target: { type: 'report', id: `report-${i}` },
    request: { id: `req-${i}`, ip: '127.0.0.1', userAgent: 'jest' },
    inputSha256: null,
    decision: { format: 'json', sha256: 'a'.repeat(64) },
  };
}

class Rollback extends Error {}

/** Runs `tamper` as the table owner with the append-only triggers disabled, verifies, rolls back. */
async function tamperAndVerify(db: Kysely<DB>, jwks: unknown, tamper: (trx: Transaction<DB>) => Promise<void>) {
  let result: Awaited<ReturnType<typeof verifyAuditChain>> | undefined;
  await db
    .transaction()
    .execute(async (trx) => {
      await sql`ALTER TABLE audit_events DISABLE TRIGGER USER`.execute(trx);
      await tamper(trx);
      // Events recorded by the tamperer are linked now rather than at a commit that never comes.
      await sql`SET CONSTRAINTS ALL IMMEDIATE`.execute(trx);
      await sql`ALTER TABLE audit_events ENABLE TRIGGER USER`.execute(trx);
      result = await verifyAuditChain(trx, jwks);
      throw new Rollback();
    })
    .catch((err: unknown) => {
      if (!(err instanceof Rollback)) throw err;
    });
  return result!;
}

describe.each(DATABASE_KINDS)('audit hash chain on %s', (kind) => {
  let t: TestDatabase;
  let ring: ReportKeyRing;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    ring = await loadReportKeyRing({ kind: 'directory', dir: fs.mkdtempSync(path.join(os.tmpdir(), 'audit-keys-')) });
    for (let i = 1; i <= 20; i++) await recordAuditEventAlone(t.database.db, event(i), new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
  });
  afterAll(async () => {
    await t.drop();
  });

  it('links every event to the previous one and verifies', async () => {
    const rows = await t.database.db.selectFrom('audit_events').select(['seq', 'prev_hash', 'hash']).orderBy('seq').execute();
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    rows.slice(1).forEach((r, i) => expect(r.prev_hash).toBe(rows[i]!.hash));
    const v = await verifyAuditChain(t.database.db, ring.jwks());
    expect(v).toMatchObject({ valid: true, checkedEvents: 20, brokenAt: null });
  });

  it('stays valid under many concurrent writers', async () => {
    await Promise.all(Array.from({ length: 60 }, (_, i) => recordAuditEventAlone(t.database.db, event(100 + i, i % 2 ? 'org-a' : 'org-b'))));
    const v = await verifyAuditChain(t.database.db, ring.jwks());
    expect(v).toMatchObject({ valid: true, checkedEvents: 80 });
  });

  it('verifies a live chain while writers append to it (the events present when it starts)', async () => {
    // Small pages make the walk interleave with the writers; events written after the walk
    // starts must neither break it nor be counted as unlinked.
    const writers = Promise.all(Array.from({ length: 40 }, (_, i) => recordAuditEventAlone(t.database.db, event(300 + i))));
    const during = await Promise.all([verifyAuditChain(t.database.db, ring.jwks(), 3), verifyAuditChain(t.database.db, ring.jwks(), 7)]);
    await writers;
    for (const v of during) {
      expect(v).toMatchObject({ valid: true, brokenAt: null });
      expect(v.checkedEvents).toBeGreaterThanOrEqual(80);
      expect(v.checkedEvents).toBeLessThanOrEqual(120);
    }
    expect(await verifyAuditChain(t.database.db, ring.jwks())).toMatchObject({ valid: true, checkedEvents: 120 });
  });

  it('links the events of a transaction at commit, in the order recorded, and leaves nothing pending', async () => {
    const before = await verifyAuditChain(t.database.db, ring.jwks());
    const seen = await t.database.db.transaction().execute(async (trx) => {
      for (const i of [701, 702, 703]) await recordAuditEvent(trx, event(i));
      // Before commit the events wait unlinked; the chain is untouched.
      const pending = await trx.selectFrom('audit_pending').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const head = await trx.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirstOrThrow();
      return { pending: Number(pending.n), head: Number(head.seq) };
    });
    expect(seen).toEqual({ pending: 3, head: before.checkedEvents });
    const linked = await t.database.db.selectFrom('audit_events').select(['seq', 'target_id']).where('seq', '>', before.checkedEvents).orderBy('seq').execute();
    expect(linked).toEqual([701, 702, 703].map((i, k) => ({ seq: before.checkedEvents + 1 + k, target_id: `report-${i}` })));
    const left = await t.database.db.selectFrom('audit_pending').select('id').execute();
    expect(left).toEqual([]);
    expect(await verifyAuditChain(t.database.db, ring.jwks())).toMatchObject({ valid: true, checkedEvents: before.checkedEvents + 3 });
  });

  it('hashes any text in the database exactly as verification does, as the application role', async () => {
    const before = await verifyAuditChain(t.database.db, ring.jwks());
    const hostile = ['"quoted" \\ back', 'line\nbreak\u2028sep\u0001ctl\u007f', 'Ж ё Ω é 😀 𝄞', '<script>alert(1)</script>', '{"prevHash":"x","seq":1}'];
    await t.database.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL ROLE hipaa_app`.execute(trx);
      for (const [k, s] of hostile.entries()) {
        await recordAuditEvent(trx, {
          action: 'config.changed',
          outcome: 'success',
          actor: { type: 'user', id: s, role: 'admin', organizationId: s },
          organizationId: s,
          target: { type: s, id: s },
          request: { id: s, ip: s, userAgent: s },
          inputSha256: null,
          decision: { fingerprint: s, changed: [s, s.toUpperCase()], settings: { [s]: s, n: k + 0.1, big: 1e21, neg: -0, flag: true, none: null } },
        });
      }
    });
    const rows = await t.database.db.selectFrom('audit_events').select(['actor_id', 'user_agent']).where('seq', '>', before.checkedEvents).orderBy('seq').execute();
    expect(rows).toEqual(hostile.map((s) => ({ actor_id: s, user_agent: s })));
    expect(await verifyAuditChain(t.database.db, ring.jwks())).toMatchObject({ valid: true, checkedEvents: before.checkedEvents + hostile.length });
  });

  it('rolls the event back with the action, and fails the action when the event is invalid', async () => {
    const before = await verifyAuditChain(t.database.db, ring.jwks());
    await expect(
      t.database.db.transaction().execute(async (trx) => {
        await recordAuditEvent(trx, event(999));
        throw new Error('the action failed after its event');
      }),
    ).rejects.toThrow('the action failed');
    await expect(recordAuditEventAlone(t.database.db, { ...event(1000), decision: { format: 'xml' } })).rejects.toThrow(/decision for report.downloaded is invalid/);
    const after = await verifyAuditChain(t.database.db, ring.jwks());
    expect(after.checkedEvents).toBe(before.checkedEvents);
  });

  it('signs checkpoints of the head, and verifies them', async () => {
    const cp = await createCheckpoint(t.database.db, ring.current);
    expect(cp).not.toBeNull();
    expect(await createCheckpoint(t.database.db, ring.current)).toBeNull();
    const v = await verifyAuditChain(t.database.db, ring.jwks());
    expect(v).toMatchObject({ valid: true, checkedCheckpoints: 1 });
    for (let i = 0; i < 5; i++) await recordAuditEventAlone(t.database.db, event(200 + i));
    expect((await verifyAuditChain(t.database.db, ring.jwks())).valid).toBe(true);
  });

  describe('detects tampering by the database owner with the triggers disabled', () => {
    it('a changed field', async () => {
      const v = await tamperAndVerify(t.database.db, ring.jwks(), async (trx) => {
        await sql`UPDATE audit_events SET actor_id = 'someone-else' WHERE seq = 7`.execute(trx);
      });
      expect(v).toMatchObject({ valid: false, brokenAt: 7 });
      expect(v.reason).toMatch(/does not match its hash/);
    });

    it('a changed decision, in the queryable copy only', async () => {
      const v = await tamperAndVerify(t.database.db, ring.jwks(), async (trx) => {
        await sql`UPDATE audit_events SET decision = '{"format":"pdf"}'::jsonb WHERE seq = 3`.execute(trx);
      });
      expect(v).toMatchObject({ valid: false, brokenAt: 3 });
    });

    it('a changed field with its hash recomputed (the next link breaks)', async () => {
      const v = await tamperAndVerify(t.database.db, ring.jwks(), async (trx) => {
        await sql`UPDATE audit_events SET hash = repeat('b', 64) WHERE seq = 9`.execute(trx);
      });
      expect(v.valid).toBe(false);
      expect(v.brokenAt).toBe(9);
    });

    it('a deleted event', async () => {
      const v = await tamperAndVerify(t.database.db, ring.jwks(), async (trx) => {
        await sql`DELETE FROM audit_events WHERE seq = 12`.execute(trx);
      });
      expect(v).toMatchObject({ valid: false, brokenAt: 12 });
      expect(v.reason).toMatch(/missing/);
    });

    it('reordered events', async () => {
      const v = await tamperAndVerify(t.database.db, ring.jwks(), async (trx) => {
        await sql`ALTER TABLE audit_events DROP CONSTRAINT audit_events_seq_check`.execute(trx);
        await sql`UPDATE audit_events SET seq = -5 WHERE seq = 4`.execute(trx);
        await sql`UPDATE audit_events SET seq = 4 WHERE seq = 5`.execute(trx);
        await sql`UPDATE audit_events SET seq = 5 WHERE seq = -5`.execute(trx);
      });
      expect(v).toMatchObject({ valid: false, brokenAt: 4 });
    });

    it('a truncated tail (caught by the signed checkpoint)', async () => {
      const cp = await t.database.db.selectFrom('audit_checkpoints').select('seq').orderBy('id', 'desc').executeTakeFirstOrThrow();
      const v = await tamperAndVerify(t.database.db, ring.jwks(), async (trx) => {
        await sql`DELETE FROM audit_events WHERE seq >= ${cp.seq - 2}`.execute(trx);
      });
      expect(v.valid).toBe(false);
      expect(v.reason).toMatch(/removed from the tail/);
    });

    it('a rewritten suffix with a consistent new chain (caught by the checkpoint hash)', async () => {
      const cp = await t.database.db.selectFrom('audit_checkpoints').select('seq').orderBy('id', 'desc').executeTakeFirstOrThrow();
      const v = await tamperAndVerify(t.database.db, ring.jwks(), async (trx) => {
        await sql`DELETE FROM audit_events WHERE seq >= ${cp.seq}`.execute(trx);
        await sql`ALTER TABLE audit_events ENABLE TRIGGER USER`.execute(trx);
        for (let i = 0; i < 8; i++) await recordAuditEvent(trx, event(500 + i));
      });
      expect(v.valid).toBe(false);
      expect(v.reason).toMatch(/no longer has the hash that was signed/);
    });

    it('a forged checkpoint signature', async () => {
      const v = await tamperAndVerify(t.database.db, ring.jwks(), async (trx) => {
        await sql`ALTER TABLE audit_checkpoints DISABLE TRIGGER USER`.execute(trx);
        await sql`UPDATE audit_checkpoints SET jws = substr(jws, 1, length(jws) - 4) || 'AAAA'`.execute(trx);
      });
      expect(v.valid).toBe(false);
      expect(v.reason).toMatch(/signature invalid/);
    });
  });
});
