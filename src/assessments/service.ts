import { randomUUID } from 'node:crypto';
import { sql, type Compilable, type Insertable, type Kysely, type QueryCreator, type Selectable, type Transaction } from 'kysely';
import type { AssessmentRevisionsTable, AssessmentsTable, AuditPendingTable, DB, ReportRulesetsTable, ReportsTable } from '../db/schema.js';
import { AppError } from '../errors.js';
import { auditPendingRow, recordAuditEventAlone, type AuditActor } from '../audit/record.js';
import { recordSigningKey } from './keys.js';
import { buildSignedReport, inProcessReportBuilder, type BuiltReport, type EvaluationInput, type ReportBuilder, type ReportSubject } from './report-builder.js';
import type { CurrentSigningKey, KeyRing } from '../signing/key-ring.js';
import { withLatestKeys } from '../signing/rotatable.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import type { Actor, Evaluator, RequestMeta, RulesetRef } from './types.js';
import { isUniqueViolation } from '../db/errors.js';
import { resolveRulesetRefs } from '../rules/evaluate.js';

export interface AssessmentServiceDeps {
  readonly db: Kysely<DB>;
  readonly evaluator: Evaluator;
  readonly reportKeys: KeyRing<'report'>;
  /** Wall clock for submission times (the only time a report carries). */
  readonly clock?: () => Date;
  readonly newId?: () => string;
  /** Evaluates and builds reports for submissions (default: in-process with `evaluator`). */
  readonly reportBuilder?: ReportBuilder;
}

export interface ReportSummary {
  readonly id: string;
  readonly revision: number;
  readonly sha256: string;
  readonly kid: string;
  readonly overallRisk: string;
  readonly rulesets: readonly { id: string; version: string; sha256: string }[];
  readonly summary: unknown;
  readonly createdAt: string;
}

export interface RevisionView {
  readonly revision: number;
  readonly status: 'draft' | 'submitted';
  readonly questionnaireVersion: string;
  readonly answersSha256: string;
  readonly submittedAt: string;
  readonly submittedBy: { readonly type: string; readonly id: string; readonly name: string };
}

export interface AssessmentView {
  readonly id: string;
  readonly organizationId: string;
  readonly title: string;
  readonly createdAt: string;
  readonly createdBy: { readonly type: string; readonly id: string };
}

export interface SubmissionResult {
  readonly assessment: AssessmentView;
  readonly revision: RevisionView;
  readonly report: ReportSummary | null;
  /** True when an Idempotency-Key replay returned the original result. */
  readonly replayed: boolean;
}

const ASSESSMENT_LOCK_NAMESPACE = 73_116_404;

/**
 * Who acts, as the service records it: an `Actor` whose `role` is what the audit trail records,
 * the roles that permitted the action (`actorOf(principal, action)`), null for an API client
 * (which holds scopes, not roles).
 */
export type ServiceActor = Omit<Actor, 'role'> & { readonly role: string | null };

/** Detail of the 409 for a report asked of a draft revision (src/http/openapi/assessments.ts documents it). */
export function draftRevisionDetail(revision: number): string {
  return `revision ${revision} is a draft; submit it first`;
}

/**
 * The cause of a 404 for a resource that exists in an organisation outside the caller's reach:
 * the answer is still 404 (no existence oracle), but the route records the denial in the trail.
 */
export const OTHER_ORGANIZATION = Symbol('resource of another organisation');
/** The reason such a denial is recorded with, by the API and the pages alike. */
export const OTHER_ORGANIZATION_REASON = 'resource of another organisation';

/** The organisations a caller may see: a list, or every organisation. */
export type OrgScope = 'all' | readonly string[];

function rulesetsKey(rulesets: BuiltReport['rulesets']): string {
  const refs = rulesets.map((r) => ({ id: r.id, version: r.version, sha256: r.sha256 }));
  refs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return canonicalJson(refs);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function evaluationDecision(built: BuiltReport): { rulesets: { id: string; version: string; sha256: string }[]; questionnaireVersion: string; overallRisk: string; counts: Record<string, number> } {
  return {
    rulesets: built.rulesets.map((r) => ({ id: r.id, version: r.version, sha256: r.sha256 })),
    questionnaireVersion: built.questionnaireVersion,
    overallRisk: built.summary.overallRisk,
    counts: { ...built.summary.counts.byStatus },
  };
}

/** A report built for a submission, with its id and signing key, not yet stored. */
interface PreparedReport extends BuiltReport {
  readonly id: string;
  readonly revision: number;
  readonly key: CurrentSigningKey;
  readonly rulesetsKey: string;
}

/**
 * The assessment use cases: submit, revise, re-evaluate, read, list, diff. Knows nothing of HTTP.
 * Every write is one transaction holding the rows and their audit event; everything is INSERT-only.
 */
export class AssessmentService {
  private readonly db: Kysely<DB>;
  private readonly evaluator: Evaluator;
  private readonly keys: KeyRing<'report'>;
  private readonly clock: () => Date;
  private readonly newId: () => string;
  /** Signing keys and ruleset contents known to be stored (committed), to skip re-inserting them. */
  private readonly stored = new Set<string>();
  private readonly builder: ReportBuilder;

  constructor(deps: AssessmentServiceDeps) {
    this.db = deps.db;
    this.evaluator = deps.evaluator;
    this.keys = deps.reportKeys;
    this.clock = deps.clock ?? (() => new Date());
    this.newId = deps.newId ?? randomUUID;
    this.builder = deps.reportBuilder ?? inProcessReportBuilder(deps.evaluator);
  }

  /**
   * Creates an assessment with revision 1 and its signed report. With an idempotency key, the same
   * key and body return the original result (`replayed`), the same key with another body is 409.
   */
  async create(
    actor: ServiceActor,
    organizationName: string,
    input: { title: string; questionnaireVersion: string; answers: unknown; rulesets?: readonly RulesetRef[]; draft?: boolean },
    options: { idempotencyKey?: string; request?: RequestMeta } = {},
  ): Promise<SubmissionResult> {
    const requestSha = options.idempotencyKey !== undefined ? sha256Hex(canonicalJson({ ...input })) : null;
    if (options.idempotencyKey !== undefined) {
      const replay = await this.replay(actor.organizationId, options.idempotencyKey, requestSha!);
      if (replay) return this.recordReplay(actor, replay, 'assessment', options.idempotencyKey, options.request);
    }
    const now = this.clock();
    const assessmentId = this.newId();
    const subject = { assessmentId, title: input.title, organizationId: actor.organizationId, organizationName, revision: { revision: 1, submittedAt: now.toISOString(), submittedBy: { type: actor.type, id: actor.id, name: actor.name } } };
    const prepared = input.draft ? await this.validateOnly(input) : await this.prepareReport(input, subject);
    const revision = revisionRow(assessmentId, 1, actor, input.questionnaireVersion, canonicalJson(input.answers), input.draft ? 'draft' : 'submitted', now);
    const report = prepared === null ? null : reportRows(assessmentId, prepared, now);
    const audit = auditPendingRow({
      action: 'assessment.created',
      outcome: 'success',
      actor: auditActor(actor),
      organizationId: actor.organizationId,
      target: { type: 'assessment', id: assessmentId },
      request: options.request ?? null,
      inputSha256: revision.view.answersSha256,
      decision: {
        title: [...input.title].slice(0, 200).join(''),
        revision: 1,
        reportId: report?.summary.id ?? null,
        draft: input.draft === true,
        ...(prepared ? evaluationDecision(prepared) : { rulesets: [], questionnaireVersion: input.questionnaireVersion }),
        ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey.slice(0, 200) } : {}),
      },
    }, now);
    try {
      await this.insertSubmission(prepared, now, {
        assessment: {
          id: assessmentId,
          organization_id: actor.organizationId,
          title: input.title,
          created_by_type: actor.type,
          created_by_id: actor.id,
          created_at: now,
          idempotency_key: options.idempotencyKey ?? null,
          idempotency_sha256: requestSha,
        },
        revision: revision.row,
        report,
        audit,
      });
      return {
        assessment: { id: assessmentId, organizationId: actor.organizationId, title: input.title, createdAt: now.toISOString(), createdBy: { type: actor.type, id: actor.id } },
        revision: revision.view,
        report: report?.summary ?? null,
        replayed: false,
      };
    } catch (err) {
      // Two requests with one idempotency key raced: the loser replays the winner's result.
      if (options.idempotencyKey !== undefined && isUniqueViolation(err)) {
        const replay = await this.replay(actor.organizationId, options.idempotencyKey, requestSha!);
        if (replay) return this.recordReplay(actor, replay, 'assessment', options.idempotencyKey, options.request);
      }
      throw err;
    }
  }

  /**
   * Adds revision n+1 (gap-free under concurrency: the assessment is locked) and its report. With
   * an idempotency key (scoped to the assessment), the same key and body return the original
   * revision and report (`replayed`), the same key with another body is 409; concurrent requests
   * with one key add one revision (the key is checked again under the assessment's lock, and a
   * unique index on (assessment_id, idempotency_key) backs it).
   */
  async revise(
    actor: ServiceActor,
    organizationName: string,
    assessmentId: string,
    input: { answers: unknown; questionnaireVersion?: string; rulesets?: readonly RulesetRef[]; draft?: boolean },
    options: { idempotencyKey?: string; request?: RequestMeta } = {},
  ): Promise<SubmissionResult> {
    const assessment = await this.findAssessment(assessmentId, [actor.organizationId]);
    const key = options.idempotencyKey;
    const requestSha = key !== undefined ? sha256Hex(canonicalJson({ ...input })) : null;
    if (key !== undefined) {
      const replay = await this.replayRevision(this.db, assessment, key, requestSha!);
      if (replay) return this.recordReplay(actor, replay, 'revision', key, options.request);
    }
    const latest = await this.db.selectFrom('assessment_revisions').select(['questionnaire_version']).where('assessment_id', '=', assessment.id).orderBy('revision', 'desc').limit(1).executeTakeFirstOrThrow();
    const questionnaireVersion = input.questionnaireVersion ?? latest.questionnaire_version;
    const evalInput = { questionnaireVersion, answers: input.answers, ...(input.rulesets ? { rulesets: input.rulesets } : {}) };
    if (input.draft) await this.validateOnly(evalInput);
    const answersCanonical = canonicalJson(input.answers);
    const pending: string[] = [];
    let result: SubmissionResult;
    try {
      result = await this.db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(${ASSESSMENT_LOCK_NAMESPACE}, hashtext(${assessment.id}))`.execute(trx);
        // A request with the same key that held the lock before this one has committed by now.
        if (key !== undefined) {
          const replay = await this.replayRevision(trx, assessment, key, requestSha!);
          if (replay) return replay;
        }
        const last = await trx.selectFrom('assessment_revisions').select((eb) => eb.fn.max('revision').as('n')).where('assessment_id', '=', assessment.id).executeTakeFirstOrThrow();
        const n = Number(last.n ?? 0) + 1;
        const now = this.clock();
        const revision = revisionRow(assessment.id, n, actor, questionnaireVersion, answersCanonical, input.draft ? 'draft' : 'submitted', now);
        // The report names the revision number, known only under the lock: evaluated and built here.
        const prepared = input.draft ? null : await this.prepareReport(evalInput, { assessmentId: assessment.id, title: assessment.title, organizationId: assessment.organizationId, organizationName, revision: revision.view });
        const report = prepared === null ? null : reportRows(assessment.id, prepared, now);
        if (prepared !== null) await this.storeOnce(trx, prepared, now, pending);
        await submissionStatement(trx, {
          revision: { ...revision.row, idempotency_key: key ?? null, idempotency_sha256: requestSha },
          report,
          audit: auditPendingRow({
            action: 'assessment.revised',
            outcome: 'success',
            actor: auditActor(actor),
            organizationId: assessment.organizationId,
            target: { type: 'assessment', id: assessment.id },
            request: options.request ?? null,
            inputSha256: revision.view.answersSha256,
            decision: {
              revision: n,
              reportId: report?.summary.id ?? null,
              draft: input.draft === true,
              ...(key !== undefined ? { idempotencyKey: key.slice(0, 200) } : {}),
              ...(prepared ? evaluationDecision(prepared) : { rulesets: [], questionnaireVersion }),
            },
          }, now),
        }).execute();
        return { assessment, revision: revision.view, report: report?.summary ?? null, replayed: false };
      });
    } catch (err) {
      // Backstop of the lock: a concurrent request with the key committed first; replay it.
      if (key !== undefined && isUniqueViolation(err)) {
        const replay = await this.replayRevision(this.db, assessment, key, requestSha!);
        if (replay) return this.recordReplay(actor, replay, 'revision', key, options.request);
      }
      throw err;
    }
    if (result.replayed) return this.recordReplay(actor, result, 'revision', key!, options.request);
    this.markStored(pending);
    return result;
  }

  /** The revision an idempotency key submitted to an assessment, replayed; 409 for another body; null if none. */
  private async replayRevision(db: Kysely<DB>, assessment: AssessmentView, key: string, requestSha: string): Promise<SubmissionResult | null> {
    const rev = await db.selectFrom('assessment_revisions').selectAll().where('assessment_id', '=', assessment.id).where('idempotency_key', '=', key).executeTakeFirst();
    if (!rev) return null;
    if (rev.idempotency_sha256 !== requestSha) throw idempotencyKeyReused();
    // The report stored with the revision (later re-evaluations of it are newer).
    const report = await db.selectFrom('reports').selectAll().where('assessment_id', '=', assessment.id).where('revision', '=', rev.revision).orderBy('created_at').limit(1).executeTakeFirst();
    return { assessment, revision: revisionView(rev), report: report ? summaryOfRow(report) : null, replayed: true };
  }

  /**
   * Records that a request was answered with an earlier result (`submission.replayed`): an
   * idempotent replay of a creation or revision (who sent the key again, and got whose result).
   * After the lookup, in a transaction of its own (the replay changes nothing else).
   */
  private async recordReplay(actor: ServiceActor, result: SubmissionResult, kind: 'assessment' | 'revision', idempotencyKey: string, request: RequestMeta | undefined): Promise<SubmissionResult> {
    await recordAuditEventAlone(this.db, {
      action: 'submission.replayed',
      outcome: 'success',
      actor: auditActor(actor),
      organizationId: result.assessment.organizationId,
      target: { type: 'assessment', id: result.assessment.id },
      request: request ?? null,
      decision: { kind, revision: result.revision.revision, reportId: result.report?.id ?? null, idempotencyKey: idempotencyKey.slice(0, 200) },
    });
    return result;
  }

  /** As `recordReplay`, for a report requested again under the same ruleset versions (the existing one is returned). */
  private async recordReuse(actor: ServiceActor, assessment: AssessmentView, revision: number, report: ReportSummary, request: RequestMeta | undefined): Promise<{ report: ReportSummary; created: false }> {
    await recordAuditEventAlone(this.db, {
      action: 'submission.replayed',
      outcome: 'success',
      actor: auditActor(actor),
      organizationId: assessment.organizationId,
      target: { type: 'report', id: report.id },
      request: request ?? null,
      decision: { kind: 'report', revision, reportId: report.id },
    });
    return { report, created: false };
  }

  private markStored(keys: readonly string[]): void {
    for (const k of keys) this.stored.add(k);
  }

  /**
   * Evaluates a stored revision under the given ruleset versions (default: current). The same
   * revision under the same versions returns the existing report, byte for byte.
   */
  async reportForRevision(
    actor: ServiceActor,
    organizationName: string,
    assessmentId: string,
    revisionNumber: number,
    rulesets: readonly RulesetRef[] | undefined,
    options: { request?: RequestMeta } = {},
  ): Promise<{ report: ReportSummary; created: boolean }> {
    const assessment = await this.findAssessment(assessmentId, [actor.organizationId]);
    const rev = await this.db.selectFrom('assessment_revisions').selectAll().where('assessment_id', '=', assessment.id).where('revision', '=', revisionNumber).executeTakeFirst();
    if (!rev) throw new AppError('not-found', `Assessment ${assessmentId} has no revision ${revisionNumber}`);
    // A draft is stored unevaluated (its required answers may still be missing): a signed report
    // of it would present unfinished answers as an assessment. Refused before anything is built.
    if (rev.status === 'draft') throw new AppError('conflict', draftRevisionDetail(revisionNumber));
    const evalInput = { questionnaireVersion: rev.questionnaire_version, answers: JSON.parse(rev.answers_canonical) as unknown, ...(rulesets ? { rulesets } : {}) };
    // Which ruleset versions apply, and so whether this report exists, is known without evaluating.
    const key = rulesetsKey(this.evaluator.resolveRulesets(evalInput));
    const existing = await this.db.selectFrom('reports').selectAll().where('assessment_id', '=', assessment.id).where('revision', '=', revisionNumber).where('rulesets_key', '=', key).executeTakeFirst();
    if (existing) return this.recordReuse(actor, assessment, revisionNumber, summaryOfRow(existing), options.request);
    const prepared = await this.prepareReport(evalInput, { assessmentId: assessment.id, title: assessment.title, organizationId: assessment.organizationId, organizationName, revision: revisionView(rev) });
    if (prepared.rulesetsKey !== key) throw new Error(`the evaluation used the rulesets ${prepared.rulesetsKey}, not the resolved ${key}`);
    try {
      const now = this.clock();
      const report = reportRows(assessment.id, prepared, now);
      await this.insertSubmission(prepared, now, {
        report,
        audit: auditPendingRow({
          action: 'report.created',
          outcome: 'success',
          actor: auditActor(actor),
          organizationId: assessment.organizationId,
          target: { type: 'report', id: report.summary.id },
          request: options.request ?? null,
          inputSha256: rev.answers_sha256,
          decision: { revision: revisionNumber, reportId: report.summary.id, sha256: report.summary.sha256, kid: report.summary.kid, ...evaluationDecision(prepared) },
        }, now),
      });
      return { report: report.summary, created: true };
    } catch (err) {
      if (isUniqueViolation(err)) {
        const row = await this.db.selectFrom('reports').selectAll().where('assessment_id', '=', assessment.id).where('revision', '=', revisionNumber).where('rulesets_key', '=', key).executeTakeFirst();
        if (row) return this.recordReuse(actor, assessment, revisionNumber, summaryOfRow(row), options.request);
      }
      throw err;
    }
  }

  /**
   * Rebuilds a stored report from its stored revision and ruleset versions, and signs it again
   * with the stored key id. Used to prove determinism: the result must equal the stored bytes and
   * JWS. Throws if the signing key is no longer the ring's current key (it cannot re-sign).
   */
  async regenerate(reportId: string, scope: OrgScope): Promise<{ bytes: Buffer; jws: string; sha256: string }> {
    const { row } = await this.report(reportId, scope);
    if (row.kid !== this.keys.current.kid) throw new Error(`report ${reportId} was signed by ${row.kid}, not the current key`);
    const assessment = await this.db.selectFrom('assessments').selectAll().where('id', '=', row.assessment_id).executeTakeFirstOrThrow();
    const rev = await this.db.selectFrom('assessment_revisions').selectAll().where('assessment_id', '=', row.assessment_id).where('revision', '=', row.revision).executeTakeFirstOrThrow();
    const organization = await this.db.selectFrom('organizations').select('name').where('id', '=', assessment.organization_id).executeTakeFirstOrThrow();
    const rulesets = (JSON.parse(row.rulesets_key) as { id: string; version: string }[]).map((r) => ({ id: r.id, version: r.version }));
    const evaluation = await this.evaluator.evaluate({ questionnaireVersion: rev.questionnaire_version, answers: JSON.parse(rev.answers_canonical) as unknown, rulesets });
    return buildSignedReport({
      assessmentId: assessment.id,
      title: assessment.title,
      organizationId: assessment.organization_id,
      organizationName: organization.name,
      revision: revisionView(rev),
      evaluation,
      reportId,
      key: this.keys.current,
    });
  }

  /** An assessment within `scope`, or 404 (never 403: no existence oracle for other organisations). */
  async findAssessment(typed: string, scope: OrgScope): Promise<AssessmentView> {
    const id = canonicalId(typed);
    if (id === undefined || (scope !== 'all' && scope.length === 0)) throw new AppError('not-found', `No assessment ${typed}`);
    let query = this.db.selectFrom('assessments').selectAll().where('id', '=', id);
    if (scope !== 'all') query = query.where('organization_id', 'in', scope);
    const row = await query.executeTakeFirst();
    if (!row) {
      const elsewhere = scope !== 'all' && (await this.db.selectFrom('assessments').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
      throw new AppError('not-found', `No assessment ${id}`, elsewhere ? { cause: OTHER_ORGANIZATION } : {});
    }
    return { id: row.id, organizationId: row.organization_id, title: row.title, createdAt: row.created_at.toISOString(), createdBy: { type: row.created_by_type, id: row.created_by_id } };
  }

  /** An assessment with all its revisions and reports. */
  async get(id: string, organizationIds: OrgScope): Promise<AssessmentView & { revisions: (RevisionView & { reports: ReportSummary[] })[] }> {
    const assessment = await this.findAssessment(id, organizationIds);
    const revisions = await this.db.selectFrom('assessment_revisions').selectAll().where('assessment_id', '=', id).orderBy('revision').execute();
    const reports = await this.db.selectFrom('reports').selectAll().where('assessment_id', '=', id).orderBy('revision').orderBy('created_at').orderBy('id').execute();
    return {
      ...assessment,
      revisions: revisions.map((r) => ({ ...revisionView(r), reports: reports.filter((p) => p.revision === r.revision).map(summaryOfRow) })),
    };
  }

  /** The stored answers of a revision (for the forms: prefill a revision). */
  async answersOf(id: string, revision: number, organizationIds: OrgScope): Promise<{ questionnaireVersion: string; answers: Record<string, unknown> }> {
    await this.findAssessment(id, organizationIds);
    const rev = await this.db.selectFrom('assessment_revisions').select(['questionnaire_version', 'answers_canonical']).where('assessment_id', '=', id).where('revision', '=', revision).executeTakeFirst();
    if (!rev) throw new AppError('not-found', `Assessment ${id} has no revision ${revision}`);
    return { questionnaireVersion: rev.questionnaire_version, answers: JSON.parse(rev.answers_canonical) as Record<string, unknown> };
  }

  /** A stored report row, readable by one of `organizationIds`, or 404. */
  async report(typed: string, scope: OrgScope): Promise<{ row: StoredReport; organizationId: string }> {
    const id = canonicalId(typed);
    if (id === undefined || (scope !== 'all' && scope.length === 0)) throw new AppError('not-found', `No report ${typed}`);
    let query = this.db
      .selectFrom('reports')
      .innerJoin('assessments', 'assessments.id', 'reports.assessment_id')
      .selectAll('reports')
      .select('assessments.organization_id')
      .where('reports.id', '=', id);
    if (scope !== 'all') query = query.where('assessments.organization_id', 'in', scope);
    const row = await query.executeTakeFirst();
    if (!row) {
      const elsewhere = scope !== 'all' && (await this.db.selectFrom('reports').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
      throw new AppError('not-found', `No report ${id}`, elsewhere ? { cause: OTHER_ORGANIZATION } : {});
    }
    return { row: { ...row, bytes: toBuffer(row.bytes) }, organizationId: row.organization_id };
  }

  private async replay(organizationId: string, key: string, requestSha: string): Promise<SubmissionResult | null> {
    const row = await this.db.selectFrom('assessments').selectAll().where('organization_id', '=', organizationId).where('idempotency_key', '=', key).executeTakeFirst();
    if (!row) return null;
    if (row.idempotency_sha256 !== requestSha) throw idempotencyKeyReused();
    const rev = await this.db.selectFrom('assessment_revisions').selectAll().where('assessment_id', '=', row.id).where('revision', '=', 1).executeTakeFirstOrThrow();
    const report = await this.db.selectFrom('reports').selectAll().where('assessment_id', '=', row.id).where('revision', '=', 1).orderBy('created_at').limit(1).executeTakeFirst();
    return {
      assessment: { id: row.id, organizationId: row.organization_id, title: row.title, createdAt: row.created_at.toISOString(), createdBy: { type: row.created_by_type, id: row.created_by_id } },
      revision: revisionView(rev),
      report: report ? summaryOfRow(report) : null,
      replayed: true,
    };
  }

  /**
   * Drafts are validated (no unknown questions or bad values; required ones may wait) but not
   * evaluated. Ruleset versions named with a draft are checked as a submission's are (an unknown
   * or mismatched one is a 422 at its pointer), not silently ignored.
   */
  private validateOnly(input: { questionnaireVersion: string; answers: unknown; rulesets?: readonly RulesetRef[] }): Promise<null> {
    this.evaluator.validateDraft(input);
    if (input.rulesets !== undefined) resolveRulesetRefs(input.questionnaireVersion, input.rulesets);
    return Promise.resolve(null);
  }

  /**
   * Evaluates the answers and builds and signs the report with the newest key, through the report
   * builder (in worker threads in the service); touches no database. Throws the evaluator's 422.
   */
  private async prepareReport(input: EvaluationInput, subject: ReportSubject): Promise<PreparedReport> {
    // Another instance may have rotated a shared key directory: sign with its newest key.
    const key = (await withLatestKeys(this.keys)).current;
    const id = this.newId();
    const built = await this.builder.build({ input, subject, reportId: id, key: { kid: key.kid, privateKey: key.privateKey } });
    return { ...built, id, revision: subject.revision.revision, key, rulesetsKey: rulesetsKey(built.rulesets) };
  }

  /**
   * Inserts a submission's rows and its audit event in one statement (one round trip; a single
   * statement is atomic). When the report names a signing key or ruleset content not yet known to
   * be stored, those are inserted first, in one transaction with the statement.
   */
  private async insertSubmission(prepared: PreparedReport | null, now: Date, parts: SubmissionRows): Promise<void> {
    if (prepared === null || this.storedAlready(prepared)) {
      await submissionStatement(this.db, parts).execute();
      return;
    }
    const pending: string[] = [];
    await this.db.transaction().execute(async (trx) => {
      await this.storeOnce(trx, prepared, now, pending);
      await submissionStatement(trx, parts).execute();
    });
    this.markStored(pending);
  }

  private storedAlready(report: PreparedReport): boolean {
    return this.stored.has(`kid:${report.key.kid}`) && report.rulesets.every((r) => this.stored.has(`ruleset:${r.sha256}`));
  }

  /**
   * Stores, once, the signing key and the ruleset contents a report names. Rows already known to be
   * committed are skipped; a key not yet recorded (another process added it to a shared key
   * directory) is recorded with its audit event, before the report that names it. Their keys go to
   * `pending`: known to exist only once the transaction commits, when the caller marks them.
   */
  private async storeOnce(trx: Transaction<DB>, report: PreparedReport, now: Date, pending: string[]): Promise<void> {
    const key = report.key;
    if (!this.stored.has(`kid:${key.kid}`)) await recordSigningKey(trx, 'report', key.publicJwk, true, now);
    pending.push(`kid:${key.kid}`);
    for (const r of report.rulesets) {
      if (!this.stored.has(`ruleset:${r.sha256}`)) {
        const content = this.evaluator.rulesetContent({ id: r.id, version: r.version });
        if (content.sha256 !== r.sha256) throw new Error(`ruleset ${r.id}@${r.version}: content hash changed during evaluation`);
        await trx
          .insertInto('rulesets_used')
          .values({ sha256: content.sha256, ruleset_id: r.id, version: r.version, content: content.content, first_used_at: now })
          .onConflict((oc) => oc.column('sha256').doNothing())
          .execute();
      }
      pending.push(`ruleset:${r.sha256}`);
    }
  }
}

/** The rows one submission writes: each part optional but the audit event. */
interface SubmissionRows {
  readonly assessment?: Insertable<AssessmentsTable>;
  readonly revision?: Insertable<AssessmentRevisionsTable>;
  readonly report?: ReportRows | null;
  readonly audit: Insertable<AuditPendingTable>;
}

/**
 * One INSERT statement for a submission's rows: each table's rows in a data-modifying WITH
 * clause, the audit event last. Foreign keys between them are checked at the end of the
 * statement, and the audit event is linked into the chain when the transaction commits
 * (migration 0007), so the rows and their event commit together or not at all.
 */
function submissionStatement(db: Kysely<DB>, rows: SubmissionRows): Compilable & { execute(): Promise<unknown> } {
  // Each WITH clause adds its name to the query creator's type; none is read back, so the
  // creator is kept at the base type between the optional clauses.
  let q: QueryCreator<DB> = db;
  if (rows.assessment) {
    const values = rows.assessment;
    q = q.with('new_assessment', (w) => w.insertInto('assessments').values(values)) as unknown as QueryCreator<DB>;
  }
  if (rows.revision) {
    const values = rows.revision;
    q = q.with('new_revision', (w) => w.insertInto('assessment_revisions').values(values)) as unknown as QueryCreator<DB>;
  }
  if (rows.report) {
    const { report, rulesets } = rows.report;
    q = q.with('new_report', (w) => w.insertInto('reports').values(report)) as unknown as QueryCreator<DB>;
    q = q.with('new_report_rulesets', (w) => w.insertInto('report_rulesets').values(rulesets)) as unknown as QueryCreator<DB>;
  }
  return q.insertInto('audit_pending').values(rows.audit);
}

/** The 409 for an Idempotency-Key already used with another request body (creations and revisions alike). */
function idempotencyKeyReused(): AppError {
  return new AppError('idempotency-key-reused', 'This Idempotency-Key was already used with a different request body', { pointer: '' });
}

/** Who acted, as the audit trail records it. */
function auditActor(actor: ServiceActor): AuditActor {
  return { type: actor.type, id: actor.id, role: actor.role, organizationId: actor.organizationId };
}

/** A revision's row and what the API shows of it. */
function revisionRow(assessmentId: string, n: number, actor: ServiceActor, questionnaireVersion: string, answersCanonical: string, status: 'draft' | 'submitted', now: Date): { row: Insertable<AssessmentRevisionsTable>; view: RevisionView } {
  const answersSha256 = sha256Hex(answersCanonical);
  return {
    row: {
      assessment_id: assessmentId,
      revision: n,
      status,
      questionnaire_version: questionnaireVersion,
      answers: answersCanonical,
      answers_canonical: answersCanonical,
      answers_sha256: answersSha256,
      submitted_by_type: actor.type,
      submitted_by_id: actor.id,
      submitted_by_name: actor.name,
      submitted_at: now,
    },
    view: { revision: n, status, questionnaireVersion, answersSha256, submittedAt: now.toISOString(), submittedBy: { type: actor.type, id: actor.id, name: actor.name } },
  };
}

interface ReportRows {
  readonly report: Insertable<ReportsTable>;
  readonly rulesets: Insertable<ReportRulesetsTable>[];
  readonly summary: ReportSummary;
}

/** A prepared report's row, its ruleset links and its summary. */
function reportRows(assessmentId: string, report: PreparedReport, now: Date): ReportRows {
  const key = report.key;
  return {
    report: {
      id: report.id,
      assessment_id: assessmentId,
      revision: report.revision,
      rulesets_key: report.rulesetsKey,
      bytes: report.bytes,
      sha256: report.sha256,
      jws: report.jws,
      kid: key.kid,
      overall_risk: report.summary.overallRisk,
      summary: JSON.stringify(report.summary),
      created_at: now,
    },
    rulesets: [...new Set(report.rulesets.map((r) => r.sha256))].sort().map((sha) => ({ report_id: report.id, ruleset_sha256: sha })),
    summary: {
      id: report.id,
      revision: report.revision,
      sha256: report.sha256,
      kid: key.kid,
      overallRisk: report.summary.overallRisk,
      rulesets: report.rulesets.map((r) => ({ id: r.id, version: r.version, sha256: r.sha256 })),
      summary: report.summary,
      createdAt: now.toISOString(),
    },
  };
}

/** A stored report row, its bytes as a Buffer whichever driver read them. */
export type StoredReport = Omit<Selectable<ReportsTable>, 'bytes'> & { bytes: Buffer };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An assessment or report id a caller typed, in lower case, or undefined if it is not a UUID.
 * UUIDs compare case-insensitively and are written in lower case (RFC 9562 §4), as the users,
 * clients and grants of src/auth/ take them (`canonicalUuid`): `/v1/assessments/6F1C…` is the
 * assessment `6f1c…`, not a 404.
 */
function canonicalId(id: string): string | undefined {
  return UUID.test(id) ? id.toLowerCase() : undefined;
}

function revisionView(r: { revision: number; status: 'draft' | 'submitted'; questionnaire_version: string; answers_sha256: string; submitted_at: Date; submitted_by_type: string; submitted_by_id: string; submitted_by_name: string }): RevisionView {
  return {
    revision: r.revision,
    status: r.status,
    questionnaireVersion: r.questionnaire_version,
    answersSha256: r.answers_sha256,
    submittedAt: r.submitted_at.toISOString(),
    submittedBy: { type: r.submitted_by_type, id: r.submitted_by_id, name: r.submitted_by_name },
  };
}

export function summaryOfRow(r: { id: string; revision: number; sha256: string; kid: string; overall_risk: string; rulesets_key: string; summary: unknown; created_at: Date }): ReportSummary {
  return {
    id: r.id,
    revision: r.revision,
    sha256: r.sha256,
    kid: r.kid,
    overallRisk: r.overall_risk,
    rulesets: JSON.parse(r.rulesets_key) as { id: string; version: string; sha256: string }[],
    summary: r.summary,
    createdAt: r.created_at.toISOString(),
  };
}
