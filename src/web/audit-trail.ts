/**
 * The audit trail of one assessment for the web pages: its own events and those of its reports,
 * oldest first, in pages. The query is `pageOfAssessmentTrail` (src/audit/query.ts), shared with
 * `GET /v1/assessments/:id/audit` (src/http/routes/audit.ts).
 */
import type { Kysely } from 'kysely';
import type { AssessmentService, OrgScope } from '../assessments/service.js';
import { pageOfAssessmentTrail, type AuditEventView } from '../audit/query.js';
import type { DB } from '../db/schema.js';

/** Events per page of an assessment's trail page. */
export const TRAIL_PAGE_EVENTS = 500;

/**
 * One page of the events of an assessment within `scope` (404 outside it), oldest first, after the
 * cursor's event. Guarantees: only events of the assessment's organisation that target the
 * assessment or one of its reports; in chain order; pages never overlap or skip an event, and
 * `nextCursor` is null only on the last one (no silent cut-off, however long the trail grows).
 */
export async function assessmentAuditTrail(
  db: Kysely<DB>,
  service: AssessmentService,
  id: string,
  scope: OrgScope,
  page: { readonly afterSeq?: number; readonly limit?: number } = {},
): Promise<{ assessmentId: string; organizationId: string; title: string; items: AuditEventView[]; nextCursor: string | null }> {
  const assessment = await service.findAssessment(id, scope);
  const { items, nextCursor } = await pageOfAssessmentTrail(db, assessment, { limit: page.limit ?? TRAIL_PAGE_EVENTS, ...(page.afterSeq !== undefined ? { afterSeq: page.afterSeq } : {}) });
  return { assessmentId: assessment.id, organizationId: assessment.organizationId, title: assessment.title, items, nextCursor };
}
