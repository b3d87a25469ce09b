import { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Kysely } from 'kysely';
import type { Action, Principal } from '../../auth/permissions.js';
import { reachableOrganizations } from '../../auth/permissions.js';
import { AppError, validationError } from '../../errors.js';
import { recordAuditEventAlone } from '../../audit/record.js';
import { OTHER_ORGANIZATION, OTHER_ORGANIZATION_REASON, type AssessmentService, type ServiceActor, type StoredReport } from '../../assessments/service.js';
import { recordDenied } from '../../audit/denied.js';
import { actorOf as actorOfPrincipal } from '../../auth/context.js';
import { listAssessments } from '../../assessments/queries.js';
import { dateQueryParam, queryParam } from '../query.js';
import { upperBoundQueryParam } from '../date-range.js';
import { refuseHead } from '../record-read.js';
import { reportJwks } from '../../assessments/keys.js';
import { withLatestKeys } from '../../signing/rotatable.js';
import type { Evaluator } from '../../assessments/types.js';
import { RISK_LEVELS } from '../../assessments/types.js';
import type { DB } from '../../db/schema.js';
import { diffReports } from '../../reports/diff.js';
import type { Report } from '../../reports/report.js';
import type { KeyRing } from '../../signing/key-ring.js';
import { auditableVerifyReason, verifyReportOffline } from '../../signing/verify-offline.js';
import { sha256Hex } from '../../util/hash.js';
import { canonicalJson } from '../../util/canonical-json.js';
import { auditRequestContext, deniedRequestFacts } from '../audit-context.js';
import { auditActorOf, readFilters, recordRead } from '../record-read.js';
import { validateBody } from '../validate.js';
import {
  CreateAssessmentBody,
  EvaluateBody,
  ReportRequestBody,
  ReviseAssessmentBody,
  VerifyBody,
  type CreateAssessmentInput,
  type EvaluateInput,
  type ReportRequestInput,
  type ReviseAssessmentInput,
  type VerifyInput,
} from '../schemas/assessments.js';

export interface AssessmentRouteDeps {
  readonly db: Kysely<DB>;
  readonly service: AssessmentService;
  readonly evaluator: Evaluator;
  readonly reportKeys: KeyRing<'report'>;
  /** `authorize(action)`: authenticates the caller and refuses unless the table permits the action. */
  readonly authorize: (action: Action) => RequestHandler;
  readonly principalOf: (req: Request) => Principal;
  /** Renders (or loads) the signed PDF of a stored report; absent until the PDF feature is wired. */
  readonly pdfFor?: (report: StoredReport, req: Request) => Promise<Buffer>;
  /** The PDF signing certificate's public facts, published for auditors to pin (`verify --pdf-cert-sha256`). */
  readonly pdfCertificate?: { readonly certificatePem: string; readonly fingerprintSha256: string; readonly subject: string; readonly notBefore: Date; readonly notAfter: Date; readonly selfSigned: boolean };
  readonly clock?: () => Date;
  /** Denials recorded individually per (IP, status) and minute (AUDIT_DENIED_PER_MINUTE). */
  readonly deniedPerMinute?: number;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,200}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The actor the assessment service records and names in reports, for `action`. */
function serviceActorOf(p: Principal, action: Action): ServiceActor {
  return { type: p.type, id: p.id, name: p.displayName, role: actorOfPrincipal(p, action).role, organizationId: p.organizationId };
}

/**
 * The request's `Idempotency-Key`, or undefined when absent. A malformed one is a 400 that names
 * the header: no body pointer, since the body is not what failed.
 */
function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw new AppError('bad-request', 'The Idempotency-Key header must be 1–200 characters of A–Z a–z 0–9 . _ : -');
  }
  return key;
}

/**
 * Base64 (or base64url) text as bytes, line breaks and padding allowed; undefined unless every
 * character is of the alphabet and the text is exactly the encoding of at least one byte.
 * (`Buffer.from(text, 'base64')` skips what it does not know: `"!!!!"` would be zero bytes.)
 */
function decodeBase64(text: string): Buffer | undefined {
  const normalized = text.replace(/\s+/g, '').replace(/={1,2}$/, '').replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]+$/.test(normalized)) return undefined;
  const bytes = Buffer.from(normalized, 'base64');
  return bytes.length > 0 && bytes.toString('base64').replace(/=+$/, '') === normalized ? bytes : undefined;
}

function intParam(value: string | undefined, name: string): number {
  if (value === undefined || !/^[1-9]\d{0,8}$/.test(value)) throw new AppError('not-found', `No ${name} ${value ?? ''}`);
  return Number(value);
}

function sendReportDownload(res: Response, req: Request, body: Buffer | string, type: string, etag: string, filename: string): void {
  res.setHeader('ETag', `"${etag}"`);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
  if (req.get('if-none-match')?.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${etag}"`)) {
    res.status(304).end();
    return;
  }
  res.type(type).send(body);
}

/**
 * The assessment API under /v1 (and the JWKS under /.well-known). Handlers parse, authorise and
 * call the domain service; nothing here touches SQL except through the service and queries.
 */
export function assessmentRoutes(deps: AssessmentRouteDeps): Router {
  const { db, service, evaluator, authorize, principalOf } = deps;
  const router = Router();
  // Each of these GETs records what it sends (a read, a download) or renders a PDF first: HEAD is
  // a 405. The JWKS and the PDF certificate, the same for everyone and recorded nowhere, keep it.
  refuseHead(router, ['/v1/assessments', '/v1/assessments/:id', '/v1/assessments/:id/revisions/:n', '/v1/reports/:id', '/v1/reports/:id/signature', '/v1/reports/:id/pdf', '/v1/reports/:a/diff/:b']);

  router.get('/.well-known/jwks.json', async (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(reportJwks(await withLatestKeys(deps.reportKeys)));
  });

  // The certificate that signs the PDFs: a PDF's own signature says only that its bytes match the
  // certificate it carries, so `verify --pdf` trusts a PDF only when that certificate's SHA-256 is
  // pinned with this value (a self-signed certificate cannot be checked any other way).
  if (deps.pdfCertificate) {
    const cert = deps.pdfCertificate;
    router.get('/.well-known/pdf-signing-certificate.json', (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.json({ sha256: cert.fingerprintSha256, subject: cert.subject, notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString(), selfSigned: cert.selfSigned, certificatePem: cert.certificatePem });
    });
  }

  router.post('/v1/evaluate', authorize('evaluate'), async (req, res) => {
    const p = principalOf(req);
    const body = validateBody<EvaluateInput>(EvaluateBody, req.body);
    const evaluation = await evaluator.evaluate(body);
    await recordAuditEventAlone(db, {
      action: 'evaluation.dry_run',
      outcome: 'success',
      actor: auditActorOf(p, 'evaluate'),
      organizationId: p.organizationId,
      target: null,
      request: auditRequestContext(req),
      inputSha256: evaluation.answersSha256,
      decision: {
        rulesets: evaluation.rulesets.map((r) => ({ id: r.id, version: r.version, sha256: r.sha256 })),
        questionnaireVersion: evaluation.questionnaire.version,
        overallRisk: evaluation.summary.overallRisk,
        counts: { ...evaluation.summary.counts.byStatus },
      },
    });
    res.type('application/json').send(canonicalJson(evaluation));
  });

  router.post('/v1/assessments', authorize('assessments.create'), async (req, res) => {
    const p = principalOf(req);
    const key = idempotencyKeyOf(req);
    const body = validateBody<CreateAssessmentInput>(CreateAssessmentBody, req.body);
    const result = await service.create(serviceActorOf(p, 'assessments.create'), p.organizationName, body, {
      ...(key !== undefined ? { idempotencyKey: key } : {}),
      request: auditRequestContext(req),
    });
    res.setHeader('Location', `/v1/assessments/${result.assessment.id}`);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(result.replayed ? 200 : 201).json(result);
  });

  router.get('/v1/assessments', authorize('assessments.read'), async (req, res) => {
    const p = principalOf(req);
    const limitText = queryParam(req, 'limit');
    if (limitText !== undefined && !/^(100|[1-9]\d?)$/.test(limitText)) throw new AppError('bad-request', 'limit must be a whole number from 1 to 100', { errors: [{ pointer: '/limit', detail: 'must be 1–100' }] });
    const status = queryParam(req, 'status');
    if (status !== undefined && status !== 'draft' && status !== 'submitted') throw new AppError('bad-request', 'status must be draft or submitted', { errors: [{ pointer: '/status', detail: 'must be draft or submitted' }] });
    const overallRisk = queryParam(req, 'overallRisk');
    if (overallRisk !== undefined && !(RISK_LEVELS as readonly string[]).includes(overallRisk)) throw new AppError('bad-request', `overallRisk must be one of ${RISK_LEVELS.join(', ')}`, { errors: [{ pointer: '/overallRisk', detail: 'not a risk level' }] });
    const q = queryParam(req, 'q');
    // Counted in characters (code points), as the title's 200 are (JSON Schema maxLength): an
    // emoji is one character, not its two UTF-16 code units.
    if (q !== undefined && [...q].length > 200) throw new AppError('bad-request', 'q is limited to 200 characters', { errors: [{ pointer: '/q', detail: 'too long' }] });
    const cursor = queryParam(req, 'cursor');
    const createdFrom = dateQueryParam(req, 'createdFrom');
    // A date alone includes that day (UTC); a date-time is an exclusive bound (src/http/date-range.ts).
    const createdTo = upperBoundQueryParam(req, 'createdTo');
    const page = await listAssessments(db, reachableOrganizations(p, 'assessments.read'), {
      limit: limitText !== undefined ? Number(limitText) : 20,
      ...(status !== undefined ? { status } : {}),
      ...(overallRisk !== undefined ? { overallRisk: overallRisk as (typeof RISK_LEVELS)[number] } : {}),
      ...(q !== undefined ? { q } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
      ...(createdFrom ? { createdFrom } : {}),
      ...(createdTo ? { createdTo: createdTo.before } : {}),
    });
    await recordRead(db, req, p, {
      action: 'assessment.listed',
      permission: 'assessments.read',
      decision: { via: 'api', returned: page.items.length, ...readFilters({ limit: limitText, status, overallRisk, q, cursor, createdFrom, createdTo: createdTo?.given }) },
    });
    res.json(page);
  });

  router.get('/v1/assessments/:id', authorize('assessments.read'), async (req, res) => {
    const p = principalOf(req);
    const assessment = await service.get(req.params.id as string, reachableOrganizations(p, 'assessments.read'));
    await recordRead(db, req, p, {
      action: 'assessment.read',
      permission: 'assessments.read',
      organizationId: assessment.organizationId,
      target: { type: 'assessment', id: assessment.id },
      decision: { via: 'api', revisions: assessment.revisions.length },
    });
    res.json(assessment);
  });

  router.get('/v1/assessments/:id/revisions/:n', authorize('assessments.read'), async (req, res) => {
    const p = principalOf(req);
    const n = intParam(req.params.n as string, 'revision');
    const assessment = await service.findAssessment(req.params.id as string, reachableOrganizations(p, 'assessments.read'));
    const answers = await service.answersOf(assessment.id, n, [assessment.organizationId]);
    // The raw answers are the assessment's most sensitive content: reading them is recorded, as
    // a report download is, in the assessment's organisation, before a byte leaves.
    await recordAuditEventAlone(db, {
      action: 'assessment.revision_read',
      outcome: 'success',
      actor: auditActorOf(p, 'assessments.read', assessment.organizationId),
      organizationId: assessment.organizationId,
      target: { type: 'assessment', id: assessment.id },
      request: auditRequestContext(req),
      inputSha256: sha256Hex(canonicalJson(answers.answers)),
      decision: { revision: n, questionnaireVersion: answers.questionnaireVersion },
    });
    res.json({ assessmentId: assessment.id, revision: n, ...answers });
  });

  router.post('/v1/assessments/:id/revisions', authorize('assessments.revise'), async (req, res) => {
    const p = principalOf(req);
    const key = idempotencyKeyOf(req);
    const body = validateBody<ReviseAssessmentInput>(ReviseAssessmentBody, req.body);
    const result = await service.revise(serviceActorOf(p, 'assessments.revise'), p.organizationName, req.params.id as string, body, {
      ...(key !== undefined ? { idempotencyKey: key } : {}),
      request: auditRequestContext(req),
    });
    res.setHeader('Location', `/v1/assessments/${result.assessment.id}/revisions/${result.revision.revision}`);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(result.replayed ? 200 : 201).json(result);
  });

  router.post('/v1/assessments/:id/revisions/:n/reports', authorize('assessments.revise'), async (req, res) => {
    const p = principalOf(req);
    const n = intParam(req.params.n as string, 'revision');
    const body = req.body === undefined ? {} : validateBody<ReportRequestInput>(ReportRequestBody, req.body);
    const { report, created } = await service.reportForRevision(serviceActorOf(p, 'assessments.revise'), p.organizationName, req.params.id as string, n, body.rulesets, { request: auditRequestContext(req) });
    res.setHeader('Location', `/v1/reports/${report.id}`);
    res.status(created ? 201 : 200).json({ report, created });
  });

  /** Records that the caller received a report (or its signature, PDF, or a diff including it). */
  const recordDownload = async (req: Request, found: { row: StoredReport; organizationId: string }, format: 'json' | 'signature' | 'pdf' | 'diff', pdfSha256?: string): Promise<void> => {
    const p = principalOf(req);
    await recordAuditEventAlone(db, {
      action: 'report.downloaded',
      outcome: 'success',
      actor: auditActorOf(p, 'reports.read', found.organizationId),
      organizationId: found.organizationId,
      target: { type: 'report', id: found.row.id },
      request: auditRequestContext(req),
      inputSha256: null,
      decision: { format, sha256: found.row.sha256, ...(pdfSha256 !== undefined ? { pdfSha256 } : {}) },
    });
  };

  const download = async (req: Request, format: 'json' | 'signature'): Promise<{ row: StoredReport; organizationId: string }> => {
    const found = await service.report(req.params.id as string, reachableOrganizations(principalOf(req), 'reports.read'));
    await recordDownload(req, found, format);
    return found;
  };

  router.get('/v1/reports/:id', authorize('reports.read'), async (req, res) => {
    const { row } = await download(req, 'json');
    sendReportDownload(res, req, row.bytes, 'application/json', row.sha256, `report-${row.id}.json`);
  });

  router.get('/v1/reports/:id/signature', authorize('reports.read'), async (req, res) => {
    const { row } = await download(req, 'signature');
    sendReportDownload(res, req, row.jws, 'application/jose', sha256Hex(row.jws), `report-${row.id}.jws`);
  });

  router.get('/v1/reports/:id/pdf', authorize('reports.read'), async (req, res) => {
    if (!deps.pdfFor) throw new AppError('not-found', 'PDF reports are not enabled');
    // Rendered (or read) first, recorded once it exists: a render that fails is no download.
    const found = await service.report(req.params.id as string, reachableOrganizations(principalOf(req), 'reports.read'));
    const pdf = await deps.pdfFor(found.row, req);
    const pdfSha256 = sha256Hex(pdf);
    await recordDownload(req, found, 'pdf', pdfSha256);
    sendReportDownload(res, req, pdf, 'application/pdf', pdfSha256, `report-${found.row.id}.pdf`);
  });

  router.get('/v1/reports/:a/diff/:b', authorize('reports.read'), async (req, res) => {
    const p = principalOf(req);
    const scope = reachableOrganizations(p, 'reports.read');
    const a = await service.report(req.params.a as string, scope);
    const b = await service.report(req.params.b as string, scope);
    // A report compared with itself is one report read: one event.
    for (const found of a.row.id === b.row.id ? [a] : [a, b]) await recordDownload(req, found, 'diff');
    const parse = (r: StoredReport): Report => JSON.parse(r.bytes.toString('utf8')) as Report;
    res.json(diffReports(parse(a.row), parse(b.row)));
  });

  router.post('/v1/verify', authorize('verify'), async (req, res) => {
    const p = principalOf(req);
    const body = validateBody<VerifyInput>(VerifyBody, req.body);
    if ((body.report === undefined) === (body.reportBase64 === undefined)) {
      throw validationError([{ pointer: '/report', detail: 'give exactly one of report and reportBase64' }]);
    }
    const bytes = body.report !== undefined ? Buffer.from(body.report, 'utf8') : decodeBase64(body.reportBase64 ?? '');
    if (bytes === undefined) throw validationError([{ pointer: '/reportBase64', detail: 'must be the report bytes in base64 (RFC 4648)' }]);
    const jwks = reportJwks(await withLatestKeys(deps.reportKeys));
    const result = await verifyReportOffline(bytes, body.jws, jwks);
    // Everything here comes from the caller's bytes: keep only what is bounded and well-formed.
    const reportId = typeof result.identity.reportId === 'string' && UUID.test(result.identity.reportId) ? result.identity.reportId : null;
    const decision = result.valid
      ? { valid: true, kid: result.kid, reason: null, reportId }
      : { valid: false, kid: null, reason: auditableVerifyReason(result.reason), reportId: null };
    await recordAuditEventAlone(db, {
      action: 'report.verified',
      outcome: 'success',
      actor: auditActorOf(p, 'verify'),
      organizationId: p.organizationId,
      target: result.valid && reportId !== null ? { type: 'report', id: reportId } : null,
      request: auditRequestContext(req),
      inputSha256: sha256Hex(bytes),
      decision,
    });
    res.json({ ...result, sha256: sha256Hex(bytes) });
  });

  router.use(recordCrossOrganizationDenials(db, principalOf, deps.deniedPerMinute ?? 20));
  return router;
}

/**
 * An error middleware that records, bounded like every denial (src/audit/denied.ts), a 404
 * answered for a resource of another organisation, then passes the error on unchanged.
 */
export function recordCrossOrganizationDenials(db: Kysely<DB>, principalOf: (req: Request) => Principal, limitPerMinute: number): ErrorRequestHandler {
  return (err: unknown, req, _res, next) => {
    if (!(err instanceof AppError) || err.cause !== OTHER_ORGANIZATION || !req.principal) {
      next(err);
      return;
    }
    recordDenied(
      db,
      { status: 404, ...deniedRequestFacts(req), reason: OTHER_ORGANIZATION_REASON, actor: actorOfPrincipal(principalOf(req)), organizationId: null },
      { limitPerMinute },
    ).then(
      () => next(err),
      (auditErr: unknown) => next(auditErr),
    );
  };
}
