import { Router, type Request, type RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import type { Action, Principal } from '../../auth/permissions.js';
import { reachableOrganizations } from '../../auth/permissions.js';
import { AppError } from '../../errors.js';
import { dateQueryParam, queryParam } from '../query.js';
import { upperBoundQueryParam } from '../date-range.js';
import { isAuditAction } from '../../audit/events.js';
import { createCheckpoint, logCheckpoint } from '../../audit/checkpoint.js';
import type { Logger } from '../../logging/logger.js';
import { countExportLines, exportAuditTrail, resolveExportRange } from '../../audit/export.js';
import { actorIdOf, AUDIT_OUTCOMES, decodeAuditCursor, listAuditEvents, pageOfAssessmentTrail, type AuditOutcome } from '../../audit/query.js';
import { recordAuditEventAlone } from '../../audit/record.js';
import { parseAnchor, verifyAuditChain, type ChainAnchor } from '../../audit/verify.js';
import { reportJwks } from '../../assessments/keys.js';
import { withLatestKeys } from '../../signing/rotatable.js';
import type { AssessmentService } from '../../assessments/service.js';
import type { DB } from '../../db/schema.js';
import type { KeyRing } from '../../signing/key-ring.js';
import { auditRequestContext } from '../audit-context.js';
import { recordCrossOrganizationDenials } from './assessments.js';
import { auditActorOf, readFilters, recordRead, refuseHead } from '../record-read.js';

export interface AuditRouteDeps {
  readonly db: Kysely<DB>;
  readonly service: AssessmentService;
  readonly reportKeys: KeyRing<'report'>;
  readonly authorize: (action: Action) => RequestHandler;
  readonly principalOf: (req: Request) => Principal;
  readonly deniedPerMinute?: number;
  /** Where signed checkpoints are logged (`logCheckpoint`). */
  readonly logger?: Pick<Logger, 'info'>;
}

function one(req: Request, name: string, pattern?: RegExp): string | undefined {
  const v = queryParam(req, name);
  if (v === undefined) return undefined;
  if (v.length > 200 || (pattern && !pattern.test(v))) throw new AppError('bad-request', `The query parameter ${name} is invalid`, { errors: [{ pointer: `/${name}`, detail: 'invalid value' }] });
  return v;
}

/** Events per page of GET /v1/assessments/{id}/audit without `limit` (also its maximum). */
export const ASSESSMENT_TRAIL_PAGE = 1000;

/** Reading, exporting and verifying the audit trail; creating checkpoints on demand. */
export function auditRoutes(deps: AuditRouteDeps): Router {
  const { db, authorize, principalOf } = deps;
  const router = Router();
  // Each of these GETs records what it sends (or signs a checkpoint first): HEAD is a 405.
  refuseHead(router, ['/v1/audit/events', '/v1/assessments/:id/audit', '/v1/audit/export', '/v1/audit/verify']);

  router.get('/v1/audit/events', authorize('audit.read'), async (req, res) => {
    const p = principalOf(req);
    const limit = one(req, 'limit', /^(1000|[1-9]\d{0,2})$/);
    const cursor = one(req, 'cursor');
    const outcome = one(req, 'outcome');
    if (outcome !== undefined && !(AUDIT_OUTCOMES as readonly string[]).includes(outcome)) throw new AppError('bad-request', 'outcome must be success, denied or error', { errors: [{ pointer: '/outcome', detail: 'invalid value' }] });
    const from = dateQueryParam(req, 'from');
    // A date alone includes that day (UTC); a date-time is an exclusive bound (src/http/date-range.ts).
    const to = upperBoundQueryParam(req, 'to');
    const actor = one(req, 'actor');
    const action = one(req, 'action');
    // As on the trail page: an action the service does not have is an error, not an empty list.
    if (action !== undefined && !isAuditAction(action)) throw new AppError('bad-request', `No audit action is called ${action}`, { errors: [{ pointer: '/action', detail: 'unknown action' }] });
    const targetType = one(req, 'targetType');
    const targetId = one(req, 'targetId');
    const filters = {
      limit: limit !== undefined ? Number(limit) : 100,
      ...(cursor !== undefined ? { afterSeq: decodeAuditCursor(cursor) } : {}),
      ...(outcome !== undefined ? { outcome: outcome as AuditOutcome } : {}),
      ...(from ? { from } : {}),
      ...(to ? { to: to.before } : {}),
      ...(action !== undefined ? { action } : {}),
      ...(targetType !== undefined ? { targetType } : {}),
      ...(targetId !== undefined ? { targetId } : {}),
    };
    // An actor id, or a user's e-mail address (as on the trail page); an address no user has matches nothing.
    const actorId = actor === undefined ? undefined : await actorIdOf(db, actor);
    const page = actorId === null ? { items: [], nextCursor: null } : await listAuditEvents(db, reachableOrganizations(p, 'audit.read'), { ...filters, ...(actorId === undefined ? {} : { actorId }) });
    // Recorded after the page is read, so the reader's own event is not in what they are sent.
    await recordRead(db, req, p, {
      action: 'audit.read',
      permission: 'audit.read',
      decision: { via: 'api', view: 'events', returned: page.items.length, ...readFilters({ limit, cursor, outcome, from, to: to?.given, actor, action, targetType, targetId }) },
    });
    res.json(page);
  });

  router.get('/v1/assessments/:id/audit', authorize('audit.read'), async (req, res) => {
    const p = principalOf(req);
    const scope = reachableOrganizations(p, 'audit.read');
    const limit = one(req, 'limit', /^(1000|[1-9]\d{0,2})$/);
    const cursor = one(req, 'cursor');
    const afterSeq = cursor === undefined ? undefined : decodeAuditCursor(cursor);
    const assessment = await deps.service.findAssessment(req.params.id as string, scope);
    const page = await pageOfAssessmentTrail(db, assessment, { limit: limit !== undefined ? Number(limit) : ASSESSMENT_TRAIL_PAGE, ...(afterSeq !== undefined ? { afterSeq } : {}) });
    await recordRead(db, req, p, {
      action: 'audit.read',
      permission: 'audit.read',
      organizationId: assessment.organizationId,
      target: { type: 'assessment', id: assessment.id },
      decision: { via: 'api', view: 'assessment', returned: page.items.length, ...readFilters({ limit, cursor }) },
    });
    res.json({ assessmentId: assessment.id, ...page });
  });

  router.get('/v1/audit/export', authorize('audit.read'), async (req, res) => {
    const p = principalOf(req);
    const scope = reachableOrganizations(p, 'audit.read');
    const fromSeq = one(req, 'fromSeq', /^[1-9]\d{0,14}$/);
    const toSeq = one(req, 'toSeq', /^[1-9]\d{0,14}$/);
    if (fromSeq !== undefined && toSeq !== undefined && Number(fromSeq) > Number(toSeq)) {
      throw new AppError('bad-request', `The range is empty: fromSeq ${fromSeq} is after toSeq ${toSeq}`, { errors: [{ pointer: '/fromSeq', detail: 'must not be greater than toSeq' }] });
    }
    // Everything that refuses the range is checked before a checkpoint is signed or the export
    // recorded. The export ends on a signed checkpoint: the head's (signed below) unless `toSeq`
    // is before the head, then the last one at or before `toSeq`. A range that starts after it
    // holds nothing (400 at /fromSeq); a `toSeq` before the first checkpoint has none to end on
    // (400 at /toSeq: a checkpoint signed now would be of the head, after `toSeq`).
    const head = (await db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst())?.seq ?? 0;
    const lastCheckpointAtOrBefore = async (seq: number | undefined): Promise<number | undefined> => {
      let last = db.selectFrom('audit_checkpoints').select('seq').orderBy('seq', 'desc').orderBy('id', 'desc').limit(1);
      if (seq !== undefined) last = last.where('seq', '<=', seq);
      return (await last.executeTakeFirst())?.seq;
    };
    const afterEnd = (endSeq: number): AppError =>
      new AppError('bad-request', `The query parameter fromSeq (${fromSeq}) is after ${endSeq}, the last event of the signed checkpoint the export ends on: the range holds no event`, { errors: [{ pointer: '/fromSeq', detail: `must not be greater than ${endSeq}` }] });
    const noCheckpointUpTo = async (seq: number, currentHead: number): Promise<AppError> => {
      const first = (await db.selectFrom('audit_checkpoints').select('seq').orderBy('seq').limit(1).executeTakeFirst())?.seq;
      const remedy =
        first !== undefined
          ? `give a toSeq of at least ${first} (the first signed checkpoint; the export ends on the last one at or before toSeq), or omit toSeq to export up to the head (event ${currentHead}), which the export signs first`
          : `none has been signed up to the head (event ${currentHead}): omit toSeq, or give one of at least ${currentHead}, to export up to the head, which the export signs first`;
      return new AppError('bad-request', `No signed checkpoint at or before event ${seq} (toSeq): an export ends on a signed checkpoint, and checkpoints are signed only of the head, never of an earlier event; ${remedy}`, {
        errors: [{ pointer: '/toSeq', detail: first !== undefined ? `must be at least ${first}` : `must be at least ${currentHead}, or omitted` }],
      });
    };
    const endsBeforeHead = toSeq !== undefined && Number(toSeq) < head;
    if (endsBeforeHead) {
      const expectedEnd = await lastCheckpointAtOrBefore(Number(toSeq));
      if (expectedEnd === undefined) throw await noCheckpointUpTo(Number(toSeq), head);
      if (fromSeq !== undefined && Number(fromSeq) > expectedEnd) throw afterEnd(expectedEnd);
    } else if (fromSeq !== undefined && head > 0 && Number(fromSeq) > head) {
      throw afterEnd(head);
    }
    // Sign the head first, so the export ends on a signed checkpoint of its last event; then
    // record the export before a byte leaves. The same key signs the export itself (its last line,
    // over every byte before it: link lines, range and all).
    const signingKey = (await withLatestKeys(deps.reportKeys)).current;
    const signed = await createCheckpoint(db, signingKey, { actor: auditActorOf(p, 'audit.read'), request: auditRequestContext(req) });
    if (signed && deps.logger) logCheckpoint(deps.logger, signed);
    const end = await lastCheckpointAtOrBefore(toSeq !== undefined ? Number(toSeq) : undefined);
    if (end === undefined) {
      // Only an empty trail (nothing to sign), or events appended after the head read above
      // when toSeq named that head: the checkpoint just signed is then past toSeq.
      if (signed === null && head === 0) throw new AppError('conflict', 'The audit trail is empty: nothing to export');
      throw await noCheckpointUpTo(Number(toSeq), signed?.seq ?? head);
    }
    // Only when another export signed a checkpoint in between could this differ from the check above.
    if (fromSeq !== undefined && Number(fromSeq) > end) throw afterEnd(end);
    const range = await resolveExportRange(db, scope, { ...(fromSeq !== undefined ? { fromSeq: Number(fromSeq) } : {}), toSeq: end });
    const { events } = await countExportLines(db, scope, range);
    await recordAuditEventAlone(db, {
      action: 'audit.exported',
      outcome: 'success',
      actor: auditActorOf(p, 'audit.read'),
      organizationId: p.organizationId,
      target: null,
      request: auditRequestContext(req),
      // The range the export's header states, and how many events' content it holds (`event`
      // lines; other organisations' events are `link` lines, hashes only).
      decision: { fromSeq: range.fromSeq, toSeq: range.toSeq, events },
    });
    res.setHeader('Content-Type', 'application/jsonl; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Disposition', 'attachment; filename="audit-export.jsonl"');
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    for await (const line of exportAuditTrail(db, scope, range, signingKey)) {
      if (gone) return;
      // Written exactly as yielded (UTF-8): the export's signature covers these bytes.
      if (!res.write(line, 'utf8')) {
        // Wait for the client to read on, or to go away: never hang on a stalled reader.
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.once('drain', done);
          res.once('close', done);
        });
      }
    }
    res.end();
  });

  router.get('/v1/audit/verify', authorize('audit.verify'), async (req, res) => {
    const p = principalOf(req);
    const anchorText = queryParam(req, 'anchor');
    const anchors = anchorText === undefined ? [] : anchorText.length > 2000 ? [null] : anchorText.split(',').map(parseAnchor);
    if (anchors.length > 20 || anchors.some((a) => a === null)) {
      throw new AppError('bad-request', 'anchor must be up to 20 seq:hash pairs (a sequence number, a colon and 64 lower-case hex digits), separated by commas', { errors: [{ pointer: '/anchor', detail: 'invalid value' }] });
    }
    const result = await verifyAuditChain(db, reportJwks(await withLatestKeys(deps.reportKeys)), 1000, anchors as ChainAnchor[]);
    await recordAuditEventAlone(db, {
      action: 'audit.verified',
      outcome: 'success',
      actor: auditActorOf(p, 'audit.verify'),
      organizationId: p.organizationId,
      target: null,
      request: auditRequestContext(req),
      decision: { valid: result.valid, checkedEvents: result.checkedEvents, brokenAt: result.brokenAt, reason: result.reason },
    });
    res.json(result);
  });

  router.post('/v1/audit/checkpoints', authorize('audit.checkpoint'), async (req, res) => {
    const p = principalOf(req);
    const cp = await createCheckpoint(db, (await withLatestKeys(deps.reportKeys)).current, { actor: auditActorOf(p, 'audit.checkpoint'), request: auditRequestContext(req), force: true });
    if (!cp) throw new AppError('conflict', 'The audit trail is empty: nothing to checkpoint');
    if (deps.logger) logCheckpoint(deps.logger, cp);
    res.status(201).json({ id: cp.id, seq: cp.seq, hash: cp.hash, createdAt: cp.created_at.toISOString(), kid: cp.kid, payload: cp.payload, jws: cp.jws });
  });

  router.use(recordCrossOrganizationDenials(db, principalOf, deps.deniedPerMinute ?? 20));
  return router;
}
