/**
 * Evaluating answers and building the signed report: in-process, or in worker threads.
 *
 * Building a report is most of a submission's CPU: on the poorly-controlled example, ~1 ms to
 * evaluate and ~1.9 ms to serialise (~160 KB of RFC 8785 JSON), hash and sign it when measured
 * alone, ~4 ms of the service's CPU under load (docs/deployment.md §10). On the event loop it
 * made the loop the bottleneck while part of the machine stayed idle. A worker gets the answers
 * (a few KB) and returns the bytes (transferred, not copied) with the few facts the transaction
 * and the audit event need; the findings never cross threads.
 *
 * Both builders give the same bytes for the same request: the worker runs this module's
 * `buildReport` on the same rules (test/assessments/report-builder.test.ts compares them).
 */
import type { KeyObject } from 'node:crypto';
import { defaultReportWorkers } from '../config/index.js';
import { AppError, validationError } from '../errors.js';
import { validateAnswers } from '../questionnaire/index.js';
import { REPORT_SCHEMA, reportBytes, reportSha256, type Report } from '../reports/report.js';
import type { EvaluationResult } from '../rules/types.js';
import { signReport } from '../signing/jws.js';
import { createWorkerPool } from '../util/worker-pool.js';
import type { WorkerPool, WorkerPoolStats } from '../util/worker-pool.js';
import type { Evaluator, RulesetRef } from './types.js';

/** Who and what a report is about: everything it carries besides the evaluation. */
export interface ReportSubject {
  readonly assessmentId: string;
  readonly title: string;
  readonly organizationId: string;
  readonly organizationName: string;
  readonly revision: {
    readonly revision: number;
    /** ISO 8601: the revision's submission time, the only time a report carries. */
    readonly submittedAt: string;
    readonly submittedBy: { readonly type: string; readonly id: string; readonly name: string };
  };
}

/** The answers to evaluate, under which questionnaire and ruleset versions. */
export interface EvaluationInput {
  readonly questionnaireVersion: string;
  readonly answers: unknown;
  readonly rulesets?: readonly RulesetRef[];
}

/** One report to build. */
export interface BuildReportRequest {
  readonly input: EvaluationInput;
  readonly subject: ReportSubject;
  readonly reportId: string;
  readonly key: { readonly kid: string; readonly privateKey: KeyObject };
}

/** A built report: its bytes, hash and detached JWS, and what storing it needs of the evaluation. */
export interface BuiltReport {
  readonly bytes: Buffer;
  readonly sha256: string;
  readonly jws: string;
  readonly questionnaireVersion: string;
  readonly rulesets: readonly { readonly id: string; readonly version: string; readonly sha256: string }[];
  readonly summary: EvaluationResult['summary'];
}

/** Evaluates and builds reports. */
export interface ReportBuilder {
  /**
   * Guarantees: the answers are validated first, and refused with the evaluator's 422 AppError
   * (field pointers included); the bytes are `buildSignedReport`'s for the same evaluation.
   */
  build(request: BuildReportRequest): Promise<BuiltReport>;
}

/** Wraps an evaluation into a report, serialises it canonically, hashes and signs it. Pure but for the signature key. */
export async function buildSignedReport(input: ReportSubject & { evaluation: EvaluationResult; reportId: string; key: { kid: string; privateKey: KeyObject } }): Promise<{ bytes: Buffer; sha256: string; jws: string }> {
  const report: Report = {
    schema: REPORT_SCHEMA,
    reportId: input.reportId,
    assessment: {
      id: input.assessmentId,
      title: input.title,
      organization: { id: input.organizationId, name: input.organizationName },
      revision: input.revision.revision,
      submittedBy: { id: input.revision.submittedBy.id, type: input.revision.submittedBy.type as 'user' | 'client', name: input.revision.submittedBy.name },
      submittedAt: input.revision.submittedAt,
    },
    signing: { alg: 'EdDSA', kid: input.key.kid, format: 'JWS detached, RFC 7797 unencoded payload' },
    evaluation: input.evaluation,
  };
  const bytes = reportBytes(report);
  return { bytes, sha256: reportSha256(bytes), jws: await signReport(bytes, input.key) };
}

/** Evaluates with `evaluate` and builds the report: what both builders run. */
export async function buildReport(evaluate: (input: EvaluationInput) => Promise<EvaluationResult>, request: BuildReportRequest): Promise<BuiltReport> {
  const evaluation = await evaluate(request.input);
  const signed = await buildSignedReport({ ...request.subject, evaluation, reportId: request.reportId, key: request.key });
  return {
    ...signed,
    questionnaireVersion: evaluation.questionnaire.version,
    rulesets: evaluation.rulesets.map((r) => ({ id: r.id, version: r.version, sha256: r.sha256 })),
    summary: evaluation.summary,
  };
}

/** Builds on the calling thread with `evaluator` (which may be any Evaluator, e.g. a test's). */
export function inProcessReportBuilder(evaluator: Pick<Evaluator, 'evaluate'>): ReportBuilder {
  return {
    build: (request) => buildReport((input) => evaluator.evaluate(input), request),
  };
}

/** Options of `createReportPool`. */
export interface ReportPoolOptions {
  /** Worker threads (default: `defaultReportWorkers()`, cores − 1 and at least 2). */
  readonly size?: number;
  /** Reports that may wait beyond those being built (default 256); more are refused with 503. */
  readonly maxQueue?: number;
}

/** The OS name of report worker threads (`top -H`, /proc/<pid>/task/<tid>/comm; bench/api counts their CPU by it). */
export const REPORT_WORKER_THREAD_NAME = 'report-worker';

/** What a report worker returns (structured clone turns the Buffer into an ArrayBuffer). */
export interface WorkerBuiltReport extends Omit<BuiltReport, 'bytes'> {
  readonly bytes: ArrayBuffer;
  readonly evaluationMs: number;
}

/** A pool of report-building workers (src/util/worker-pool.ts). */
export type ReportPool = WorkerPool<BuildReportRequest, WorkerBuiltReport>;

const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * Starts worker threads that run the rules module (src/rules) themselves; each loads and checks
 * the rules before its first report. Guarantees: those of the pool (503 with Retry-After when the
 * queue is full or the pool is closed).
 */
export function createReportPool(options: ReportPoolOptions = {}): ReportPool {
  return createWorkerPool<BuildReportRequest, WorkerBuiltReport>({
    label: 'report building',
    entry: new URL('./report-worker', import.meta.url),
    fromSource: FROM_SOURCE,
    size: Math.max(1, Math.floor(options.size ?? defaultReportWorkers())),
    maxQueue: Math.max(0, Math.floor(options.maxQueue ?? 256)),
    timeoutMs: 30_000,
    encode: (request) => ({ message: request }),
    decode: (result) => result as WorkerBuiltReport,
  });
}

/**
 * Builds in the pool `pool()` returns at each call (the shared pool is started again after it
 * was closed). Guarantees: those of `ReportBuilder.build` and of the pool, including the 422 for
 * answers that fail the questionnaire even when they cannot reach a worker; `observeEvaluation`
 * gets each evaluation's duration in ms, measured in the worker (for the metrics).
 */
export function workerReportBuilder(pool: () => ReportPool, observeEvaluation?: (ms: number) => void): ReportBuilder {
  return {
    async build(request) {
      let built: WorkerBuiltReport;
      try {
        built = await pool().run(request);
      } catch (err) {
        // What is not a problem for the client (a structured clone that overflowed the stack on
        // answers nested thousands deep, which a worker would have refused) is checked here
        // first, so invalid answers get the same 422 as in-process, never a 500.
        if (!(err instanceof AppError)) {
          const validated = validateAnswers(request.input.questionnaireVersion, request.input.answers);
          if (!validated.ok) throw validationError(validated.errors);
        }
        throw err;
      }
      const { evaluationMs, bytes, ...rest } = built;
      observeEvaluation?.(evaluationMs);
      return { ...rest, bytes: Buffer.from(bytes) };
    },
  };
}

let shared: ReportPool | undefined;

/** The process-wide report pool, started on first use with `size` workers (the first caller's). */
export function sharedReportPool(size?: number): ReportPool {
  shared ??= createReportPool(size === undefined ? {} : { size });
  return shared;
}

/** What the process-wide report pool is doing; undefined before its first use. */
export function sharedReportPoolStats(): WorkerPoolStats | undefined {
  return shared?.stats();
}

/** Closes the process-wide report pool, if one was started. Idempotent. */
export async function closeSharedReportPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
