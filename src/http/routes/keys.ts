import { Router, type Request, type RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import { actorOf } from '../../auth/context.js';
import type { Action, Principal } from '../../auth/permissions.js';
import { rotateAndRecord } from '../../assessments/keys.js';
import type { DB } from '../../db/schema.js';
import type { KeyRing } from '../../signing/key-ring.js';
import { RotatableKeyRing, withLatestKeys } from '../../signing/rotatable.js';
import { auditRequestContext } from '../audit-context.js';
import { recordRead, refuseHead } from '../record-read.js';
import { validateBody } from '../validate.js';
import { AppError } from '../../errors.js';

export const RotateKeyBody = {
  $id: 'RotateKeyBody',
  type: 'object',
  additionalProperties: false,
  required: ['purpose'],
  properties: { purpose: { enum: ['report', 'token'], description: 'Which ring gets a new current key.' } },
} as const;

export interface KeyRouteDeps {
  readonly db: Kysely<DB>;
  readonly reportKeys: KeyRing<'report'>;
  readonly tokenKeys: KeyRing<'token'>;
  readonly authorize: (action: Action) => RequestHandler;
  readonly principalOf: (req: Request) => Principal;
}

/** The signing keys (admin): list every published key, rotate the report or token key. */
export function keyRoutes(deps: KeyRouteDeps): Router {
  const router = Router();
  // The list is recorded as an administration read: HEAD, which sends nothing, is a 405.
  refuseHead(router, ['/v1/keys']);
  router.get('/v1/keys', deps.authorize('keys.rotate'), async (req, res) => {
    await Promise.all([withLatestKeys(deps.reportKeys), withLatestKeys(deps.tokenKeys)]);
    const rows = await deps.db.selectFrom('signing_keys').select(['kid', 'purpose', 'first_seen_at']).orderBy('first_seen_at', 'desc').orderBy('kid').execute();
    const current = new Set([deps.reportKeys.current.kid, deps.tokenKeys.current.kid]);
    const rotatable = (ring: KeyRing): boolean => ring instanceof RotatableKeyRing && ring.rotatable;
    // The installation's keys: recorded in the installation's trail (no organisation), as the administration lists.
    await recordRead(deps.db, req, deps.principalOf(req), { action: 'admin.read', permission: 'keys.rotate', organizationId: null, decision: { via: 'api', resource: 'keys', returned: rows.length } });
    res.json({
      rotatable: { report: rotatable(deps.reportKeys), token: rotatable(deps.tokenKeys) },
      items: rows.map((r) => ({ kid: r.kid, purpose: r.purpose, firstSeenAt: r.first_seen_at.toISOString(), current: current.has(r.kid) })),
    });
  });
  router.post('/v1/keys/rotate', deps.authorize('keys.rotate'), async (req, res) => {
    const { purpose } = validateBody<{ purpose: 'report' | 'token' }>(RotateKeyBody, req.body);
    const ring = purpose === 'report' ? deps.reportKeys : deps.tokenKeys;
    if (!(ring instanceof RotatableKeyRing)) throw new AppError('conflict', `The ${purpose}-signing key cannot be rotated by this process; rotate it where it is managed and restart`);
    const { kid, previousKid } = await rotateAndRecord(deps.db, ring, new Date(), { actor: actorOf(deps.principalOf(req), 'keys.rotate'), request: auditRequestContext(req) });
    res.status(201).json({ purpose, kid, previousKid });
  });
  return router;
}
