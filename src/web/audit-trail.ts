/**
 * The audit trail of one assessment for the web pages: its own events and those of its reports,
 * oldest first. The query is `auditTrailOfAssessment` (src/audit/query.ts), shared with
 * `GET /v1/assessments/:id/audit` (src/http/routes/audit.ts).
 */
import type { Kysely } from 'kysely';
import type { AssessmentService, OrgScope } from '../assessments/service.js';
import { auditTrailOfAssessment, type AuditEventView } from '../audit/query.js';
import type { DB } from '../db/schema.js';

/**
 * The events of an assessment within `scope` (404 outside it). Guarantees: only events of the
 * assessment's organisation that target the assessment or one of its reports; in chain order.
 */
export async function assessmentAuditTrail(db: Kysely<DB>, service: AssessmentService, id: string, scope: OrgScope): Promise<{ assessmentId: string; organizationId: string; title: string; items: AuditEventView[] }> {
  const assessment = await service.findAssessment(id, scope);
  const items = await auditTrailOfAssessment(db, assessment);
  return { assessmentId: assessment.id, organizationId: assessment.organizationId, title: assessment.title, items };
}
