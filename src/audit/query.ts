import type { Kysely } from 'kysely';
import { normalizeEmail } from '../auth/sessions.js';
import type { DB } from '../db/schema.js';
import { AppError } from '../errors.js';
import { assertDecision } from './events.js';
import { contentOfRow, type AuditEventRow } from './verify.js';

/** The outcomes an audit event can have. */
export const AUDIT_OUTCOMES = ['success', 'denied', 'error'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditFilters {
  /** Events at or after this moment. */
  readonly from?: Date;
  /**
   * Events before this moment (exclusive). A `to` given as a date alone includes that day: pass
   * the next day's midnight (`exclusiveUpperBound`, src/http/date-range.ts), as the API and the
   * trail page do.
   */
  readonly to?: Date;
  readonly actorId?: string;
  readonly action?: string;
  readonly targetType?: string;
  readonly targetId?: string;
  readonly outcome?: AuditOutcome;
  /** Return events with seq greater than this (keyset pagination, oldest first). */
  readonly afterSeq?: number;
  /** Newest first instead (what a person browsing wants); the cursor is then the seq to go below. */
  readonly newestFirst?: boolean;
  readonly limit: number;
}

/** An event as the API returns it: its hashed content plus its hash. */
export interface AuditEventView {
  readonly seq: number;
  readonly occurredAt: string;
  readonly action: string;
  readonly outcome: string;
  readonly actor: { readonly type: string; readonly id: string | null; readonly role: string | null; readonly organizationId: string | null };
  readonly organizationId: string | null;
  readonly target: { readonly type: string; readonly id: string } | null;
  readonly request: { readonly id: string | null; readonly ip: string | null; readonly userAgent: string | null };
  readonly inputSha256: string | null;
  readonly decision: unknown;
  readonly prevHash: string;
  readonly hash: string;
}

/** The API view of a stored row; the decision is validated against its schema on read. */
export function viewOfRow(row: AuditEventRow): AuditEventView {
  const content = contentOfRow(row);
  assertDecision(row.action, content.decision);
  return { ...content, hash: row.hash };
}

/**
 * The actor filter (API and pages) as the trail records actors: for an e-mail address, in any case
 * and with surrounding spaces, that user's id (null when no user has it: nothing matches, and
 * the answer does not say whether the user exists elsewhere); anything else is an actor id (a user's
 * or an API client's), as given.
 */
export async function actorIdOf(db: Kysely<DB>, typed: string): Promise<string | null> {
  if (!typed.includes('@')) return typed;
  const user = await db.selectFrom('users').select('id').where('email', '=', normalizeEmail(typed)).executeTakeFirst();
  return user?.id ?? null;
}

/** Opaque cursor of the audit listing: the last sequence number seen. */
export function encodeAuditCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`, 'utf8').toString('base64url');
}

export function decodeAuditCursor(cursor: string): number {
  const text = /^[A-Za-z0-9_-]{1,40}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const m = /^seq:(\d{1,15})$/.exec(text);
  if (!m) throw new AppError('bad-request', 'The cursor query parameter is not a cursor this service issued', { errors: [{ pointer: '/cursor', detail: 'invalid cursor' }] });
  return Number(m[1]);
}

/**
 * Audit events of the organisations in `scope` (or all), oldest first (newest first with
 * `newestFirst`), filtered and paginated by sequence number: `afterSeq` is the last sequence
 * number seen, so the next page starts past it in the listing's order. Events without an
 * organisation (system events) are listed only for `all`.
 */
export async function listAuditEvents(db: Kysely<DB>, scope: 'all' | readonly string[], f: AuditFilters): Promise<{ items: AuditEventView[]; nextCursor: string | null }> {
  if (scope !== 'all' && scope.length === 0) return { items: [], nextCursor: null };
  let q = db.selectFrom('audit_events').selectAll();
  if (scope !== 'all') q = q.where('organization_id', 'in', scope);
  if (f.from) q = q.where('occurred_at', '>=', f.from);
  if (f.to) q = q.where('occurred_at', '<', f.to);
  if (f.actorId !== undefined) q = q.where('actor_id', '=', f.actorId);
  if (f.action !== undefined) q = q.where('action', '=', f.action);
  if (f.targetType !== undefined) q = q.where('target_type', '=', f.targetType);
  if (f.targetId !== undefined) q = q.where('target_id', '=', f.targetId);
  if (f.outcome !== undefined) q = q.where('outcome', '=', f.outcome);
  if (f.afterSeq !== undefined) q = q.where('seq', f.newestFirst === true ? '<' : '>', f.afterSeq);
  const rows = await q.orderBy('seq', f.newestFirst === true ? 'desc' : 'asc').limit(f.limit + 1).execute();
  const page = rows.slice(0, f.limit);
  const last = page.at(-1);
  return { items: page.map(viewOfRow), nextCursor: rows.length > f.limit && last ? encodeAuditCursor(last.seq) : null };
}

/**
 * One page of the audit trail of an assessment: events of the assessment's organisation whose
 * target is the assessment or one of its reports, oldest first (chain order), each validated
 * through `viewOfRow` (the caller has already checked that the assessment is within its scope);
 * keyset paginated like `listAuditEvents`: `afterSeq` is the last sequence number seen (from
 * `decodeAuditCursor`), `nextCursor` is null on the last page. Pages never overlap or skip an
 * event, also when events are added between two requests (they come later in the chain).
 */
export async function pageOfAssessmentTrail(
  db: Kysely<DB>,
  assessment: { readonly id: string; readonly organizationId: string },
  f: { readonly limit: number; readonly afterSeq?: number },
): Promise<{ items: AuditEventView[]; nextCursor: string | null }> {
  const reportIds = (await db.selectFrom('reports').select('id').where('assessment_id', '=', assessment.id).execute()).map((r) => r.id);
  let q = db
    .selectFrom('audit_events')
    .selectAll()
    .where('organization_id', '=', assessment.organizationId)
    .where((eb) =>
      eb.or([
        eb.and([eb('target_type', '=', 'assessment'), eb('target_id', '=', assessment.id)]),
        ...(reportIds.length > 0 ? [eb.and([eb('target_type', '=', 'report'), eb('target_id', 'in', reportIds)])] : []),
      ]),
    );
  if (f.afterSeq !== undefined) q = q.where('seq', '>', f.afterSeq);
  const rows = await q.orderBy('seq').limit(f.limit + 1).execute();
  const page = rows.slice(0, f.limit);
  const last = page.at(-1);
  return { items: page.map(viewOfRow), nextCursor: rows.length > f.limit && last ? encodeAuditCursor(last.seq) : null };
}
