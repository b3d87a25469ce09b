import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '../db/schema.js';
import { AppError } from '../errors.js';
import { RISK_LEVELS, type RiskLevel } from './types.js';

export interface ListFilters {
  readonly status?: 'draft' | 'submitted';
  readonly overallRisk?: RiskLevel;
  /** Created at or after this moment. */
  readonly createdFrom?: Date;
  /**
   * Created before this moment (exclusive). A `createdTo` given as a date alone includes that day:
   * pass the next day's midnight (`exclusiveUpperBound`, src/http/date-range.ts), as the API does.
   */
  readonly createdTo?: Date;
  /** Case-insensitive text that the title must contain (no wildcards). */
  readonly q?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface AssessmentListItem {
  readonly id: string;
  readonly organizationId: string;
  readonly title: string;
  readonly createdAt: string;
  readonly latestRevision: number;
  readonly status: 'draft' | 'submitted';
  readonly lastSubmittedAt: string;
  /** Overall risk of the latest report of the latest submitted revision; null for drafts only. */
  readonly overallRisk: RiskLevel | null;
  readonly latestReportId: string | null;
}

interface Cursor {
  readonly createdAt: string;
  readonly id: string;
}

/** Opaque keyset cursor: base64url of `[createdAt, id]` of the last item seen. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor or throws a 400 naming the parameter. */
export function decodeCursor(value: string): Cursor {
  try {
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(value)) throw new Error('shape');
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(parsed) || parsed.length !== 2) throw new Error('shape');
    const [createdAt, id] = parsed as unknown[];
    if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)) || typeof id !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) || !/^(19|20)\d{2}-/.test(createdAt)) throw new Error('shape');
    return { createdAt, id };
  } catch {
    throw new AppError('bad-request', 'The cursor query parameter is not a cursor this service issued', { errors: [{ pointer: '/cursor', detail: 'invalid cursor' }] });
  }
}

interface Row {
  id: string;
  organization_id: string;
  title: string;
  created_at: Date;
  latest_revision: number;
  status: 'draft' | 'submitted';
  last_submitted_at: Date;
  overall_risk: RiskLevel | null;
  report_id: string | null;
}

/** The filters of a list that select assessments (not the page: no limit, no cursor). */
export type SelectionFilters = Omit<ListFilters, 'limit' | 'cursor'>;

/**
 * The FROM and WHERE that `listAssessments` and `summarizeAssessments` share: the assessments of
 * the organisations, each with its latest revision (`lr`) and the latest report (`rp`), filtered.
 */
function selection(organizationIds: 'all' | readonly string[], f: SelectionFilters): RawBuilder<unknown> {
  if (f.overallRisk !== undefined && !RISK_LEVELS.includes(f.overallRisk)) throw new AppError('bad-request', 'overallRisk is not a risk level', { errors: [{ pointer: '/overallRisk', detail: `one of ${RISK_LEVELS.join(', ')}` }] });
  const like = f.q !== undefined ? `%${f.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%` : undefined;
  return sql`
    FROM assessments a
    JOIN LATERAL (
      SELECT r.revision, r.status, r.submitted_at FROM assessment_revisions r
      WHERE r.assessment_id = a.id ORDER BY r.revision DESC LIMIT 1
    ) lr ON true
    LEFT JOIN LATERAL (
      SELECT p.id, p.overall_risk FROM reports p
      WHERE p.assessment_id = a.id ORDER BY p.revision DESC, p.created_at ASC, p.id ASC LIMIT 1
    ) rp ON true
    WHERE ${organizationIds === 'all' ? sql`true` : sql`a.organization_id IN (${sql.join(organizationIds.map((id) => sql`${id}::uuid`))})`}
      ${f.status !== undefined ? sql`AND lr.status = ${f.status}` : sql``}
      ${f.overallRisk !== undefined ? sql`AND rp.overall_risk = ${f.overallRisk}` : sql``}
      ${f.createdFrom !== undefined ? sql`AND a.created_at >= ${f.createdFrom}` : sql``}
      ${f.createdTo !== undefined ? sql`AND a.created_at < ${f.createdTo}` : sql``}
      ${like !== undefined ? sql`AND a.title ILIKE ${like}` : sql``}`;
}

/**
 * Lists the assessments of the given organisations, newest first, with keyset pagination (stable
 * under concurrent inserts: the cursor is the last item's creation time and id).
 */
export async function listAssessments(db: Kysely<DB>, organizationIds: 'all' | readonly string[], f: ListFilters): Promise<{ items: AssessmentListItem[]; nextCursor: string | null }> {
  if (organizationIds !== 'all' && organizationIds.length === 0) return { items: [], nextCursor: null };
  const cursor = f.cursor !== undefined ? decodeCursor(f.cursor) : undefined;
  const result = await sql<Row>`
    SELECT a.id, a.organization_id, a.title, a.created_at,
           lr.revision AS latest_revision, lr.status, lr.submitted_at AS last_submitted_at,
           rp.overall_risk, rp.id AS report_id
    ${selection(organizationIds, f)}
      ${cursor !== undefined ? sql`AND (a.created_at, a.id) < (${new Date(cursor.createdAt)}, ${cursor.id}::uuid)` : sql``}
    ORDER BY a.created_at DESC, a.id DESC
    LIMIT ${f.limit + 1}
  `.execute(db);
  const rows = result.rows.slice(0, f.limit);
  const items = rows.map((r) => ({
    id: r.id,
    organizationId: r.organization_id,
    title: r.title,
    createdAt: r.created_at.toISOString(),
    latestRevision: r.latest_revision,
    status: r.status,
    lastSubmittedAt: r.last_submitted_at.toISOString(),
    overallRisk: r.overall_risk,
    latestReportId: r.report_id,
  }));
  const last = rows.at(-1);
  return { items, nextCursor: result.rows.length > f.limit && last ? encodeCursor({ createdAt: last.created_at.toISOString(), id: last.id }) : null };
}

/** Counts over every assessment a list selects (all its pages). */
export interface AssessmentSummary {
  readonly total: number;
  /** Latest revision a draft. */
  readonly drafts: number;
  /** Latest revision submitted. */
  readonly submitted: number;
  /** Latest report's overall risk high or very high. */
  readonly high: number;
}

/**
 * The counts of the assessments `listAssessments` selects with the same organisations and filters,
 * over all of them (not one page), in one aggregate query: the dashboard's summary.
 */
export async function summarizeAssessments(db: Kysely<DB>, organizationIds: 'all' | readonly string[], f: SelectionFilters): Promise<AssessmentSummary> {
  if (organizationIds !== 'all' && organizationIds.length === 0) return { total: 0, drafts: 0, submitted: 0, high: 0 };
  const result = await sql<{ total: string | number; drafts: string | number; submitted: string | number; high: string | number }>`
    SELECT count(*) AS total,
           count(*) FILTER (WHERE lr.status = 'draft') AS drafts,
           count(*) FILTER (WHERE lr.status = 'submitted') AS submitted,
           count(*) FILTER (WHERE rp.overall_risk IN ('high', 'very_high')) AS high
    ${selection(organizationIds, f)}
  `.execute(db);
  const row = result.rows[0];
  return { total: Number(row?.total ?? 0), drafts: Number(row?.drafts ?? 0), submitted: Number(row?.submitted ?? 0), high: Number(row?.high ?? 0) };
}
