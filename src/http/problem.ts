import type { Request, Response } from 'express';
import type { AppError} from '../errors.js';
import { PROBLEM_BASE_URI, PROBLEM_TYPES, type FieldError, type ProblemCode } from '../errors.js';

/** An RFC 9457 problem details body, with our stable extension members. */
export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance: string;
  readonly requestId: string | undefined;
  readonly pointer?: string;
  readonly errors?: readonly FieldError[];
}

export function problemTypeUri(code: ProblemCode): string {
  return PROBLEM_BASE_URI + code;
}

// C0 controls (NUL to U+001F), DEL and C1 controls (U+0080 to U+009F).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Text of a problem as it may be shown: a lone UTF-16 surrogate (which JSON.stringify would write
 * as `\ud800`, text no UTF-8 reader can decode, jq refuses it) and every control character become
 * U+FFFD. Details and pointers quote what the client sent (`No report <id>`, `/answers/<key>`), so
 * every problem goes through this, whichever route made it.
 */
export function printable(text: string): string {
  return text.toWellFormed().replace(CONTROL_CHARACTERS, '\ufffd');
}

/** Builds the problem body for an AppError in the context of a request. */
export function problemBody(err: AppError, req: Request): ProblemBody {
  const body: ProblemBody = {
    type: problemTypeUri(err.code),
    title: PROBLEM_TYPES[err.code].title,
    status: err.status,
    detail: printable(err.detail),
    instance: printable(req.originalUrl.split('?')[0] ?? req.originalUrl),
    requestId: req.id,
    ...(err.pointer !== undefined ? { pointer: printable(err.pointer) } : {}),
    ...(err.errors.length > 0 ? { errors: err.errors.map((e) => ({ pointer: printable(e.pointer), detail: printable(e.detail) })) } : {}),
  };
  return body;
}

/** Sends an AppError as `application/problem+json`. */
export function sendProblem(res: Response, req: Request, err: AppError): void {
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res.status(err.status).type('application/problem+json').send(JSON.stringify(problemBody(err, req)));
}
