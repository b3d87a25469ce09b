/**
 * Refused requests in the audit trail: a state-changing API request answered with a client error
 * (400 bad request or malformed JSON, 409 conflict, 413, 415, 422 validation) changed nothing,
 * but who tried what, when and why it was refused is activity an auditor reviews (45 CFR
 * §164.312(b)). Recorded as `request.refused` with outcome `error`, bounded per (IP, status) and
 * minute like every denial (src/audit/denied.ts), before the problem is sent.
 */
import type { ErrorRequestHandler, Request } from 'express';
import type { Kysely } from 'kysely';
import { isRefusedStatus, recordDenied } from '../audit/denied.js';
import { ANONYMOUS_ACTOR, actorOf } from '../auth/context.js';
import type { Principal } from '../auth/permissions.js';
import type { DB } from '../db/schema.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { deniedRequestFacts } from './audit-context.js';
import { clientProblemOf } from './errors-middleware.js';

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
            actor: principal ? actorOf(principal) : ANONYMOUS_ACTOR,
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
