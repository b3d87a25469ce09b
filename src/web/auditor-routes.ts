/**
 * The auditor's pages beyond the reports themselves: an assessment's audit trail, verifying a
 * report's signature (pasted or loaded from files), and verifying the audit hash chain.
 */
import { Router, type Request, type Response } from 'express';
import type { Kysely } from 'kysely';
import { isPermitted, reachableOrganizations } from '../auth/permissions.js';
import { reportJwks } from '../assessments/keys.js';
import { withLatestKeys } from '../signing/rotatable.js';
import type { AssessmentService } from '../assessments/service.js';
import { AUDIT_ACTIONS, isAuditAction } from '../audit/events.js';
import { actorIdOf, AUDIT_OUTCOMES, decodeAuditCursor, listAuditEvents, type AuditEventView, type AuditFilters, type AuditOutcome } from '../audit/query.js';
import { recordAuditEventAlone } from '../audit/record.js';
import { verifyAuditChain } from '../audit/verify.js';
import { isUuid } from '../auth/secrets.js';
import type { DB } from '../db/schema.js';
import { AppError } from '../errors.js';
import { auditRequestContext } from '../http/audit-context.js';
import { auditActorOf, readFilters, recordRead } from '../http/record-read.js';
import { exclusiveUpperBound } from '../http/date-range.js';
import type { KeyRing } from '../signing/key-ring.js';
import { auditableVerifyReason, verifyReportOffline } from '../signing/verify-offline.js';
import { sha256Hex } from '../util/hash.js';
import { assessmentAuditTrail } from './audit-trail.js';
import { organizationNames, page, pageFilter, recordPageRefusal, renderError, renderPage, type PageSession, type WebContext } from './page.js';

/** Longest report JSON accepted by the verify form (the body limit applies first). */
const MAX_REPORT_CHARS = 5 * 1024 * 1024;

function decisionText(decision: unknown): string {
  if (decision === null || typeof decision !== 'object') return '';
  return Object.entries(decision as Record<string, unknown>)
    .filter(([k]) => ['revision', 'overallRisk', 'draft', 'format', 'valid', 'reportId', 'status', 'route', 'reason', 'view', 'resource', 'returned'].includes(k))
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' · ');
}

/**
 * The trail pages' rows: each event with a summary of its decision, the decision in full, and who
 * its actor is to a person (a user's e-mail address, an API client's name; the id stays in the
 * title). Events record ids only: names can change, ids cannot.
 */
async function eventRows(db: Kysely<DB>, events: readonly AuditEventView[]): Promise<(AuditEventView & { summary: string; decisionJson: string; actorName: string })[]> {
  const ids = (type: string): string[] => [...new Set(events.filter((e) => e.actor.type === type && e.actor.id !== null && isUuid(e.actor.id)).map((e) => e.actor.id!))];
  const [users, clients] = [ids('user'), ids('client')];
  const names = new Map<string, string>([
    ...(users.length > 0 ? await db.selectFrom('users').select(['id', 'email']).where('id', 'in', users).execute() : []).map((u): [string, string] => [`user:${u.id}`, u.email]),
    ...(clients.length > 0 ? await db.selectFrom('api_clients').select(['id', 'name']).where('id', 'in', clients).execute() : []).map((c): [string, string] => [`client:${c.id}`, c.name]),
  ]);
  return events.map((e) => ({ ...e, summary: decisionText(e.decision), decisionJson: JSON.stringify(e.decision, null, 2), actorName: names.get(`${e.actor.type}:${e.actor.id ?? ''}`) ?? '' }));
}

/** Events per page of the audit trail page. */
const EVENTS_PER_PAGE = 50;

/** What the audit trail page's filters hold, as typed (empty: no filter). */
interface TrailFilters {
  readonly outcome: string;
  readonly action: string;
  readonly from: string;
  readonly to: string;
  readonly actor: string;
}

/**
 * The filters of the audit trail page from its query string. An empty field is no filter (a GET
 * form sends them all); a value the form cannot send (a repeated parameter, an unknown outcome or
 * action, a date that is not YYYY-MM-DD) is a 400 page at its field.
 */
function trailFiltersOf(req: Request): { typed: TrailFilters; filters: Omit<AuditFilters, 'limit'> } {
  const date = (name: string): Date | undefined => {
    const v = pageFilter(req, name);
    if (v === '') return undefined;
    const d = new Date(`${v}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) throw new AppError('bad-request', `The filter ${name} must be a date, YYYY-MM-DD`, { errors: [{ pointer: `/${name}`, detail: 'must be a date, YYYY-MM-DD' }] });
    return d;
  };
  const typed: TrailFilters = { outcome: pageFilter(req, 'outcome'), action: pageFilter(req, 'action'), from: pageFilter(req, 'from'), to: pageFilter(req, 'to'), actor: pageFilter(req, 'actor') };
  if (typed.outcome !== '' && !(AUDIT_OUTCOMES as readonly string[]).includes(typed.outcome)) throw new AppError('bad-request', 'The outcome filter must be success, denied or error', { errors: [{ pointer: '/outcome', detail: 'unknown outcome' }] });
  if (typed.action !== '' && !isAuditAction(typed.action)) throw new AppError('bad-request', `No audit action is called ${typed.action}`, { errors: [{ pointer: '/action', detail: 'unknown action' }] });
  const from = date('from');
  const to = date('to');
  const cursor = pageFilter(req, 'cursor');
  return {
    typed,
    filters: {
      newestFirst: true,
      ...(typed.outcome !== '' ? { outcome: typed.outcome as AuditOutcome } : {}),
      ...(typed.action !== '' ? { action: typed.action } : {}),
      ...(from ? { from } : {}),
      // "Until" a day includes that day, as the API's `to` does.
      ...(to ? { to: exclusiveUpperBound(typed.to, to) } : {}),
      ...(cursor !== '' ? { afterSeq: decodeAuditCursor(cursor) } : {}),
    },
  };
}

/** The auditor routes. */
export function auditorRoutes(ctx: WebContext, service: AssessmentService, reportKeys: KeyRing<'report'>): Router {
  const router = Router();
  const db: Kysely<DB> = ctx.db;

  router.get('/assessments/:id/audit', ...page(ctx, { action: 'audit.read' }, async (req, res, session) => {
    const cursor = pageFilter(req, 'cursor');
    const trail = await assessmentAuditTrail(db, service, String(req.params.id), reachableOrganizations(session.principal, 'audit.read'), cursor === '' ? {} : { afterSeq: decodeAuditCursor(cursor) });
    const names = await organizationNames(db, [trail.organizationId]);
    await recordRead(db, req, session.principal, {
      action: 'audit.read',
      permission: 'audit.read',
      organizationId: trail.organizationId,
      target: { type: 'assessment', id: trail.assessmentId },
      decision: { via: 'page', view: 'assessment', returned: trail.items.length, ...readFilters({ cursor }) },
    });
    renderPage(ctx, res, session, 'audit-trail.njk', {
      title: `Audit trail: ${trail.title}`,
      active: 'home',
      trail,
      organizationName: names.get(trail.organizationId) ?? '',
      events: await eventRows(db, trail.items),
      nextHref: trail.nextCursor !== null ? `/assessments/${trail.assessmentId}/audit?cursor=${encodeURIComponent(trail.nextCursor)}` : null,
      continued: cursor !== '',
    });
  }));

  // The trail of every organisation the reader may audit (auditors: granted ones; administrators:
  // the installation), newest first, with the filters of GET /v1/audit/events.
  router.get('/audit', ...page(ctx, { action: 'audit.read' }, async (req, res, session) => {
    const p = session.principal;
    const scope = reachableOrganizations(p, 'audit.read');
    const { typed, filters } = trailFiltersOf(req);
    const actorId = typed.actor === '' ? undefined : await actorIdOf(db, typed.actor);
    const list = actorId === null ? { items: [], nextCursor: null } : await listAuditEvents(db, scope, { ...filters, ...(actorId === undefined ? {} : { actorId }), limit: EVENTS_PER_PAGE });
    const names = await organizationNames(db, scope === 'all' ? undefined : scope);
    await recordRead(db, req, p, { action: 'audit.read', permission: 'audit.read', decision: { via: 'page', view: 'events', returned: list.items.length, ...readFilters({ ...typed, cursor: pageFilter(req, 'cursor') }) } });
    const query = new URLSearchParams(Object.entries(typed).filter(([, v]) => v !== ''));
    if (list.nextCursor !== null) query.set('cursor', list.nextCursor);
    renderPage(ctx, res, session, 'audit-events.njk', {
      title: 'Audit trail',
      active: 'trail',
      scopeLabel: scope === 'all' ? 'All organisations' : scope.map((id) => names.get(id) ?? id).join(', '),
      filters: typed,
      outcomes: AUDIT_OUTCOMES,
      actions: Object.keys(AUDIT_ACTIONS).sort(),
      events: await eventRows(db, list.items),
      showOrg: scope === 'all' || scope.length > 1,
      orgNames: Object.fromEntries(names),
      nextHref: list.nextCursor !== null ? `/audit?${query.toString()}` : null,
      canVerify: isPermitted(p, 'audit.verify'),
    });
  }));

  /**
   * The verify form again with what was posted, verifying nothing: after the session ended
   * (`session` null: no user, no CSRF token; once signed in again, the next post lands in the
   * second case) or when the form came from an earlier session (a fresh token).
   */
  const redisplayVerify = (req: Request, res: Response, session: PageSession | null, notice: string, status: number): Promise<void> => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const context = { title: 'Verify a report', active: 'verify', reportText: typeof body.report === 'string' ? body.report.trim() : '', jwsText: typeof body.jws === 'string' ? body.jws.trim() : '', result: null, error: '', notice };
    if (session === null) ctx.views.render(res, status, 'verify.njk', { ...context, user: null, csrfToken: '' });
    else if (!isPermitted(session.principal, 'verify')) renderError(ctx, res, 403, 'Not allowed', 'Your role does not allow this page. Ask an administrator if you need access.', session);
    else renderPage(ctx, res, session, 'verify.njk', context, status);
    return Promise.resolve();
  };
  const verifyHooks = {
    onSignedOut: (req: Request, res: Response) => redisplayVerify(req, res, null, 'Your session has ended and nothing was verified. What you pasted is kept below: sign in again in another tab, then press Verify here.', 401),
    onCsrfFailure: (req: Request, res: Response, session: PageSession) => redisplayVerify(req, res, session, 'This form was opened in an earlier session and nothing was verified. What you pasted is kept below: press Verify again.', 403),
  };

  router.get('/verify', ...page(ctx, { action: 'verify' }, (_req, res, session) => {
    renderPage(ctx, res, session, 'verify.njk', { title: 'Verify a report', active: 'verify', reportText: '', jwsText: '', result: null, error: '' });
    return Promise.resolve();
  }));

  router.post('/verify', ...page(ctx, { action: 'verify', ...verifyHooks }, async (req, res, session) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    // Canonical report JSON never starts or ends with white space; a pasted file often does.
    const reportText = typeof body.report === 'string' ? body.report.trim() : '';
    const jwsText = typeof body.jws === 'string' ? body.jws.trim() : '';
    if (reportText === '' || jwsText === '' || reportText.length > MAX_REPORT_CHARS) {
      await recordPageRefusal(ctx, req, { status: 422, reason: 'validation-failed', pointers: [reportText === '' || reportText.length > MAX_REPORT_CHARS ? '/report' : '/jws'] });
      renderPage(ctx, res, session, 'verify.njk', { title: 'Verify a report', active: 'verify', reportText, jwsText, result: null, error: reportText === '' ? 'Paste or load the report JSON.' : jwsText === '' ? 'Paste or load the signature (.jws).' : 'The report is too large.' }, 422);
      return;
    }
    const bytes = Buffer.from(reportText, 'utf8');
    const result = await verifyReportOffline(bytes, jwsText, reportJwks(await withLatestKeys(reportKeys)));
    const p = session.principal;
    await recordAuditEventAlone(db, {
      action: 'report.verified',
      outcome: 'success',
      actor: auditActorOf(p, 'verify'),
      organizationId: p.organizationId,
      target: result.valid && result.identity.reportId ? { type: 'report', id: result.identity.reportId } : null,
      request: auditRequestContext(req),
      inputSha256: sha256Hex(bytes),
      decision: result.valid ? { valid: true, kid: result.kid, reason: null, reportId: result.identity.reportId ?? null } : { valid: false, kid: null, reason: auditableVerifyReason(result.reason), reportId: null },
    });
    let summary: { title: string; organization: string; revision: string; submittedAt: string; overallRisk: string } | null = null;
    if (result.valid) {
      try {
        const r = JSON.parse(reportText) as { assessment?: { title?: string; organization?: { name?: string }; revision?: number; submittedAt?: string }; evaluation?: { summary?: { overallRisk?: string } } };
        summary = {
          title: String(r.assessment?.title ?? ''),
          organization: String(r.assessment?.organization?.name ?? ''),
          revision: String(r.assessment?.revision ?? ''),
          submittedAt: String(r.assessment?.submittedAt ?? ''),
          overallRisk: String(r.evaluation?.summary?.overallRisk ?? ''),
        };
      } catch {
        summary = null;
      }
    }
    renderPage(ctx, res, session, 'verify.njk', { title: 'Verify a report', active: 'verify', reportText, jwsText, result: { ...result, summary }, error: '' });
  }));

  router.get('/audit/verify', ...page(ctx, { action: 'audit.verify' }, (_req, res, session) => {
    renderPage(ctx, res, session, 'audit-verify.njk', { title: 'Audit chain', active: 'audit', result: null, canExport: isPermitted(session.principal, 'audit.read') });
    return Promise.resolve();
  }));

  /**
   * The trail's export goes to the API (`GET /v1/audit/export`: a signed checkpoint of the head,
   * the export recorded, JSON Lines with the chain proof). This hop authenticates as a page first,
   * so an access cookie that expired while the page stayed open is refreshed before the browser
   * follows the redirect, as for report downloads.
   */
  router.get('/audit/export', ...page(ctx, { action: 'audit.read' }, (_req, res) => {
    res.redirect(303, '/v1/audit/export');
    return Promise.resolve();
  }));

  router.post('/audit/verify', ...page(ctx, { action: 'audit.verify' }, async (req, res, session) => {
    const result = await verifyAuditChain(db, reportJwks(await withLatestKeys(reportKeys)));
    await recordAuditEventAlone(db, {
      action: 'audit.verified',
      outcome: 'success',
      actor: auditActorOf(session.principal, 'audit.verify'),
      organizationId: session.principal.organizationId,
      target: null,
      request: auditRequestContext(req),
      decision: { valid: result.valid, checkedEvents: result.checkedEvents, brokenAt: result.brokenAt, reason: result.reason },
    });
    renderPage(ctx, res, session, 'audit-verify.njk', { title: 'Audit chain', active: 'audit', result, canExport: isPermitted(session.principal, 'audit.read') });
  }));

  return router;
}
