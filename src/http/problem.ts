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

/** Builds the problem body for an AppError in the context of a request. */
export function problemBody(err: AppError, req: Request): ProblemBody {
  const body: ProblemBody = {
    type: problemTypeUri(err.code),
    title: PROBLEM_TYPES[err.code].title,
    status: err.status,
    detail: err.detail,
    instance: req.originalUrl.split('?')[0] ?? req.originalUrl,
    requestId: req.id,
    ...(err.pointer !== undefined ? { pointer: err.pointer } : {}),
    ...(err.errors.length > 0 ? { errors: err.errors } : {}),
  };
  return body;
}

/** Sends an AppError as `application/problem+json`. */
export function sendProblem(res: Response, req: Request, err: AppError): void {
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res.status(err.status).type('application/problem+json').send(JSON.stringify(problemBody(err, req)));
}
