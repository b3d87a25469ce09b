/**
 * Refused requests in the audit trail: a state-changing API request answered with a client error
 * (400 bad request or malformed JSON, 409 conflict, 413, 415, 422 validation) changed nothing,
 * but who tried what, when and why it was refused is activity an auditor reviews (45 CFR
 * §164.312(b)). Recorded as `request.refused` with outcome `error`, bounded per (IP, status) and
 * minute like every denial (src/audit/denied.ts), before the problem is sent.
 */
import type { ErrorRequestHandler, Request } from 'express';
import type { Kysely } from 'kysely';
import { isRefusedStatus, recordDenied, type FailedStatus } from '../audit/denied.js';
import { ANONYMOUS_ACTOR, actorOf } from '../auth/context.js';
import type { Principal } from '../auth/permissions.js';
import type { DB } from '../db/schema.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { deniedRequestFacts } from './audit-context.js';
import { clientProblemOf, isDatabaseUnavailable } from './errors-middleware.js';
import { AppError } from '../errors.js';
import type { AuditActor } from '../audit/record.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const API = /^\/v1\//i;
/**
 * Routes whose input is worth a hash (answers, report bytes). Never the sign-in, token, password
 * or user routes: a hash of a body holding a password would be an unsalted password hash.
 */
const HASHED_INPUT = /^\/v1\/(?:evaluate|assessments|verify)(?:\/|$)/i;

function inputSha256(req: Request): string | null {
  const body: unknown = req.body;
  if (!HASHED_INPUT.test(req.path) || body === null || typeof body !== 'object') return null;
  try {
    return sha256Hex(canonicalJson(body));
  } catch {
    // What cannot be canonicalised (a lone surrogate the checks refused) has no stable hash.
    return null;
  }
}

/** The error middleware: records the refusal (awaiting the write), then passes the error on unchanged. */
export function recordRefusals(options: {
  readonly db: Kysely<DB>;
  readonly bodyLimitBytes: number;
  readonly limitPerMinute: number;
  /** Establishes who sent a request refused before its route authenticated it (a body that is not JSON). */
  readonly identify: (req: Request) => Promise<Principal | undefined>;
  readonly clock?: () => Date;
}): ErrorRequestHandler {
  return (err: unknown, req, _res, next) => {
    const problem = clientProblemOf(err, options.bodyLimitBytes);
    if (problem === undefined || !isRefusedStatus(problem.status) || SAFE_METHODS.has(req.method) || !API.test(req.path)) {
      next(err);
      return;
    }
    const pointers = problem.errors.length > 0 ? problem.errors.map((e) => e.pointer) : problem.pointer !== undefined ? [problem.pointer] : [];
    const status = problem.status;
    options
      .identify(req)
      .then((principal) =>
        recordDenied(
          options.db,
          {
            status,
            ...deniedRequestFacts(req),
            reason: problem.code,
            actor: principal ? actorOf(principal, req.authorizedAction) : ANONYMOUS_ACTOR,
            pointers,
            inputSha256: inputSha256(req),
          },
          { limitPerMinute: options.limitPerMinute, now: options.clock?.() },
        ),
      )
      .then(
        () => next(err),
        (auditErr: unknown) => next(auditErr),
      );
  };
}

/**
 * The kind of an internal error, as an event may hold it: an AppError's code, a database error's
 * SQLSTATE, else the error's class name. Never its message, which may quote input.
 */
function failureKind(err: unknown): string {
  if (err instanceof AppError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,40}$/.test(code)) return code;
  const name = err instanceof Error ? err.constructor.name : typeof err;
  return /^[A-Za-z0-9_]{1,60}$/.test(name) ? name : 'Error';
}

/** Health checks: their 503 says the instance is not ready, not that a request was refused. */
const PROBES = /^\/(?:healthz|readyz)$/;

/**
 * The status of a request the service failed, or undefined when it did not: 500 for an internal
 * error, 503 for a refusal for want of capacity (a worker pool's queue full or closed:
 * `service-unavailable`). Never what a client caused, a health check, nor the database being
 * unreachable (a 503 too, but nothing could be recorded then anyway).
 */
export function failedStatusOf(err: unknown, bodyLimitBytes: number, path: string): FailedStatus | undefined {
  const problem = clientProblemOf(err, bodyLimitBytes);
  if (problem === undefined) return isDatabaseUnavailable(err) ? undefined : 500;
  if (problem.status === 500) return 500;
  return problem.code === 'service-unavailable' && !PROBES.test(path) ? 503 : undefined;
}

/** Whether the service failed the request (`failedStatusOf`). */
export function isInternalFailure(err: unknown, bodyLimitBytes: number, path = ''): boolean {
  return failedStatusOf(err, bodyLimitBytes, path) !== undefined;
}

/**
 * Records a request the service failed (`request.failed`, outcome `error`, bounded like every
 * denial; status 503 for `service-unavailable`, else 500): who tried what and the error's kind, in a transaction of its own (the request's rolled
 * back). Never throws: a failure to record is logged by `onError` and the request's own error is
 * what the client gets.
 */
export async function recordFailure(
  db: Kysely<DB>,
  req: Request,
  err: unknown,
  actor: AuditActor,
  options: { readonly limitPerMinute: number; readonly now?: Date; readonly onError: (auditErr: unknown) => void },
): Promise<void> {
  try {
    const status = err instanceof AppError && err.code === 'service-unavailable' ? 503 : 500;
    await recordDenied(db, { status, ...deniedRequestFacts(req), reason: failureKind(err), actor }, { limitPerMinute: options.limitPerMinute, now: options.now });
  } catch (auditErr) {
    options.onError(auditErr);
  }
}

/** The error middleware after `recordRefusals`: records a failed request (500, or 503 for want of capacity), then passes the error on unchanged. */
export function recordFailures(options: {
  readonly db: Kysely<DB>;
  readonly bodyLimitBytes: number;
  readonly limitPerMinute: number;
  readonly identify: (req: Request) => Promise<Principal | undefined>;
  readonly onAuditError: (auditErr: unknown) => void;
  readonly clock?: () => Date;
}): ErrorRequestHandler {
  return (err: unknown, req, _res, next) => {
    if (!isInternalFailure(err, options.bodyLimitBytes, req.path)) {
      next(err);
      return;
    }
    options
      .identify(req)
      .catch(() => undefined)
      .then((principal) => recordFailure(options.db, req, err, principal ? actorOf(principal, req.authorizedAction) : ANONYMOUS_ACTOR, { limitPerMinute: options.limitPerMinute, now: options.clock?.(), onError: options.onAuditError }))
      .then(() => next(err), () => next(err));
  };
}
