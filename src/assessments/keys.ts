import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { KeyRing, PublicSigningJwk } from '../signing/key-ring.js';
import { recordAuditEvent, SYSTEM_ACTOR, type AuditActor, type AuditRequestContext } from '../audit/record.js';

/**
 * Stores every public key of the ring in the append-only `signing_keys` table (once per kid), so
 * a key stays published after it leaves the ring's configuration. Returns the kids that were new.
 */
export async function publishKeys(
  db: Kysely<DB>,
  ring: KeyRing,
  now: Date = new Date(),
  who: { actor: AuditActor; request: AuditRequestContext | null } = { actor: SYSTEM_ACTOR, request: null },
): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    const added: string[] = [];
    const previous = await trx.selectFrom('signing_keys').select('kid').where('purpose', '=', ring.purpose).orderBy('first_seen_at', 'desc').orderBy('kid').limit(1).executeTakeFirst();
    // Oldest first, so first_seen_at order follows the ring's history.
    for (const key of [...ring.all].reverse()) {
      const inserted = await trx
        .insertInto('signing_keys')
        .values({ kid: key.kid, purpose: ring.purpose, public_jwk: JSON.stringify(key.publicJwk), first_seen_at: now })
        .onConflict((oc) => oc.column('kid').doNothing())
        .returning('kid')
        .executeTakeFirst();
      if (!inserted) continue;
      added.push(inserted.kid);
      const rotated = key.kid === ring.current.kid && previous !== undefined;
      await recordAuditEvent(
        trx,
        {
          action: rotated ? 'key.rotated' : 'key.created',
          outcome: 'success',
          actor: who.actor,
          organizationId: null,
          target: { type: 'signing_key', id: key.kid },
          request: who.request,
          decision: rotated ? { purpose: ring.purpose, kid: key.kid, previousKid: previous.kid } : { purpose: ring.purpose, kid: key.kid },
        },
        now,
      );
    }
    return added;
  });
}

/**
 * The JWKS to publish and to verify with: the configured ring's keys only (current first, then
 * every retired key the ring holds). Keys are trusted from the key directory or the secrets
 * manager, never from the database: `signing_keys` is a record of what signed what, and a row a
 * database owner slipped in there must not make a forged report or checkpoint verify.
 */
export function reportJwks(ring: KeyRing<'report'>): { keys: PublicSigningJwk[] } {
  return { keys: ring.jwks().keys.map((k) => ({ ...k })) };
}

/**
 * Stored report-signing keys that the configured ring does not hold: reports they signed will not
 * verify until the key is added back (REPORT_SIGNING_RETIRED_JWKS_FILE), or the row was not written
 * by this service. Checked at start and logged.
 */
export async function keysMissingFromRing(db: Kysely<DB>, ring: KeyRing<'report'>): Promise<string[]> {
  const stored = await db.selectFrom('signing_keys').select('kid').where('purpose', '=', 'report').orderBy('kid').execute();
  return stored.map((r) => r.kid).filter((kid) => ring.publicKey(kid) === undefined);
}
