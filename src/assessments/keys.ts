import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/schema.js';
import type { KeyPurpose, KeyRing, PublicSigningJwk } from '../signing/key-ring.js';
import type { RotatableKeyRing } from '../signing/rotatable.js';
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
    // The key the purpose had before this call (keys inserted below share one first_seen_at).
    const previous = (await latestSigningKey(trx, ring.purpose)) ?? null;
    // Oldest first, so first_seen_at order follows the ring's history.
    for (const key of [...ring.all].reverse()) {
      if (await recordSigningKey(trx, ring.purpose, key.publicJwk, key.kid === ring.current.kid, now, who, previous)) added.push(key.kid);
    }
    return added;
  });
}

/** Advisory lock key that serialises rotations done by the service (every instance). */
const KEY_ROTATION_LOCK = 73_116_406;

/**
 * Rotates a key directory's ring on behalf of `who` and records it: the new key's row and its
 * `key.rotated` event (naming `who`, with the key it replaced) are written in a transaction that
 * stays open until the key file is in the directory. So the first process to sign with the new
 * key (this one, another instance, or a submission racing this request) finds the row there
 * (its insert waits for this commit) and records nothing of its own; before, the event named the
 * system whenever a submission signed with the new key first. If the rotation fails nothing is
 * recorded; if only the commit fails, the key is in use unrecorded and the first report it signs
 * records it (as the system), as for a key another process added.
 *
 * Guarantees: rotations through the service are serialised across instances, and each event's
 * `previousKid` is the key that was current when its rotation started (the ring is re-read under
 * the lock, so another instance's rotation just before counts).
 */
export async function rotateAndRecord<P extends KeyPurpose>(
  db: Kysely<DB>,
  ring: RotatableKeyRing<P>,
  now: Date,
  who: { actor: AuditActor; request: AuditRequestContext | null },
): Promise<{ kid: string; previousKid: string }> {
  const done = await rotateUnder(db, ring, now, who, undefined);
  if (done === undefined) throw new Error('rotateAndRecord: no rotation');
  return done;
}

/**
 * `rotateAndRecord`, only if the current key is still `expectedKid` once the lock is held (the
 * ring re-read under it): undefined, with nothing rotated or recorded, when a rotation by any
 * instance came first. A form sent twice, even to two instances at once, rotates once.
 */
export function rotateIfCurrent<P extends KeyPurpose>(
  db: Kysely<DB>,
  ring: RotatableKeyRing<P>,
  now: Date,
  who: { actor: AuditActor; request: AuditRequestContext | null },
  expectedKid: string,
): Promise<{ kid: string; previousKid: string } | undefined> {
  return rotateUnder(db, ring, now, who, expectedKid);
}

async function rotateUnder<P extends KeyPurpose>(
  db: Kysely<DB>,
  ring: RotatableKeyRing<P>,
  now: Date,
  who: { actor: AuditActor; request: AuditRequestContext | null },
  expectedKid: string | undefined,
): Promise<{ kid: string; previousKid: string } | undefined> {
  let previousKid = ring.current.kid;
  const rotated = await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${KEY_ROTATION_LOCK})`.execute(trx);
    await ring.refresh();
    previousKid = ring.current.kid;
    if (expectedKid !== undefined && previousKid !== expectedKid) return false;
    await ring.rotate(async (key) => {
      await recordSigningKey(trx, ring.purpose, key.publicJwk, true, now, who, previousKid);
    });
    return true;
  });
  if (!rotated) return undefined;
  // Any other key of the ring not stored yet (as at start).
  await publishKeys(db, ring, now, who);
  return { kid: ring.current.kid, previousKid };
}

/**
 * Records one public key in `signing_keys` unless its kid is there, and then, in the same
 * transaction, its audit event: `key.rotated` (with the previous kid) for a current key when the
 * purpose had a key before, `key.created` otherwise. Whichever path stores a key first (start-up,
 * a rotation, or the first report signed with a key another process added) records its event.
 * Returns whether the key was new.
 */
export async function recordSigningKey(
  trx: Transaction<DB>,
  purpose: KeyPurpose,
  publicJwk: PublicSigningJwk,
  current: boolean,
  now: Date,
  who: { actor: AuditActor; request: AuditRequestContext | null } = { actor: SYSTEM_ACTOR, request: null },
  previousKid?: string | null,
): Promise<boolean> {
  const previous = previousKid === undefined ? await latestSigningKey(trx, purpose) : (previousKid ?? undefined);
  const inserted = await trx
    .insertInto('signing_keys')
    .values({ kid: publicJwk.kid, purpose, public_jwk: JSON.stringify(publicJwk), first_seen_at: now })
    .onConflict((oc) => oc.column('kid').doNothing())
    .returning('kid')
    .executeTakeFirst();
  if (!inserted) return false;
  const rotated = current && previous !== undefined;
  await recordAuditEvent(
    trx,
    {
      action: rotated ? 'key.rotated' : 'key.created',
      outcome: 'success',
      actor: who.actor,
      organizationId: null,
      target: { type: 'signing_key', id: publicJwk.kid },
      request: who.request,
      decision: rotated ? { purpose, kid: publicJwk.kid, previousKid: previous } : { purpose, kid: publicJwk.kid },
    },
    now,
  );
  return true;
}

/** The kid of the purpose's most recently recorded key, if any. */
async function latestSigningKey(trx: Transaction<DB>, purpose: KeyPurpose): Promise<string | undefined> {
  const row = await trx.selectFrom('signing_keys').select('kid').where('purpose', '=', purpose).orderBy('first_seen_at', 'desc').orderBy('kid').limit(1).executeTakeFirst();
  return row?.kid;
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
