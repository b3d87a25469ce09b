import type { NextFunction, Request, Response } from 'express';
import { AppError, validationError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { isConnectionError } from '../db/errors.js';
import { sendProblem } from './problem.js';
import { OPENAPI_METHODS, pathTemplatePattern } from './openapi/paths.js';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  expose?: boolean;
  limit?: number;
}

/** Maps body-parser's error types to our problem codes (anything else is internal). */
function fromBodyParser(err: BodyParserError, limitBytes: number): AppError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new AppError('payload-too-large', `The request body exceeds the limit of ${limitBytes} bytes`);
    case 'entity.parse.failed':
      return unparsedJson(err);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported-media-type', 'The request body must be UTF-8 encoded');
    case 'parameters.too.many':
      return new AppError('payload-too-large', 'The request has too many form fields');
    case 'request.aborted':
    case 'request.size.invalid':
      return new AppError('bad-request', 'The request body was incomplete');
    default:
      break;
  }
  // The router could not decode a path parameter (`/v1/reports/%zz`).
  if (err instanceof URIError) return new AppError('bad-request', 'The address holds a %-escape that does not decode to UTF-8 text');
  // Other client errors raised by express or its middleware (static files, routing).
  if (typeof err.status === 'number' && err.status >= 400 && err.status < 500 && err.expose !== false) {
    if (err.status === 404) return new AppError('not-found', 'No such resource');
    if (err.status === 405) return new AppError('method-not-allowed', 'Method not allowed');
    if (err.status === 413) return new AppError('payload-too-large', `The request body exceeds the limit of ${limitBytes} bytes`);
    if (err.status === 415) return new AppError('unsupported-media-type', 'Unsupported media type');
    return new AppError('bad-request', 'The request could not be processed');
  }
  return undefined;
}

/**
 * The problem a client caused, or undefined for anything else: an AppError as it is, and the
 * errors express and body-parser raise for what a client sent (bodies, encodings, paths).
 */
export function clientProblemOf(err: unknown, bodyLimitBytes: number): AppError | undefined {
  if (err instanceof AppError) return err;
  return err instanceof Error ? fromBodyParser(err, bodyLimitBytes) : undefined;
}

/**
 * A JSON body the parser refused. Every request body of this API is an object, so the parser is
 * strict: valid JSON that is not an object or array (`null`, `42`, `"x"`) is a 422 at the root,
 * as an array is (the schemas say "must be object"); anything else is not JSON at all, a 400.
 */
function unparsedJson(err: BodyParserError & { body?: unknown }): AppError {
  if (typeof err.body === 'string') {
    let parsed: { value: unknown } | undefined;
    try {
      parsed = { value: JSON.parse(err.body) as unknown };
    } catch {
      parsed = undefined;
    }
    if (parsed !== undefined) return validationError([{ pointer: '', detail: `must be object, not ${parsed.value === null ? 'null' : typeof parsed.value}` }]);
  }
  // Not the parser's message: V8 quotes the input in it, and a body may hold patient data.
  return new AppError('malformed-json', 'The request body could not be parsed as JSON', { pointer: '' });
}

// 3D000: the database was dropped or renamed; 28000/28P01: the role may no longer log in or its
// password was rotated (both only ever raised while connecting).
const DB_UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '53300', '3D000', '28000', '28P01']);
const DB_UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|the database system is (starting up|shutting down)|terminating connection|Query read timeout/i;

/**
 * Whether an error means the database cannot be reached (refused, dropped, shutting down, pool
 * exhausted until its timeout, no answer within the query timeout, a connection that could not be
 * opened for any reason, such as 55000 for a database that accepts no connections): the request
 * gets a 503 with Retry-After, never a hang or a 500. PostgreSQL class 08 (connection exception)
 * counts too.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (isConnectionError(err)) return true;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (DB_UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  if (typeof e.message === 'string' && DB_UNAVAILABLE_MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some(isDatabaseUnavailable)) return true;
  return e.cause !== undefined && e.cause !== err && isDatabaseUnavailable(e.cause);
}

/**
 * The one error handler: AppError → its problem; body-parser errors → 400/413/415; anything
 * else → a bare 500 problem with no internal message (the details go to the log, by request id).
 */
export function errorHandler(logger: Logger, bodyLimitBytes: number) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let problem = clientProblemOf(err, bodyLimitBytes);
    if (!problem && isDatabaseUnavailable(err)) {
      logger.warn({ reqId: req.id, err: { message: (err as Error).message, code: (err as { code?: unknown }).code } }, 'database unavailable');
      problem = new AppError('service-unavailable', 'The database is unavailable; retry shortly (for submissions, with the same Idempotency-Key: a request cut off during its commit may have completed)', { headers: { 'Retry-After': '5' } });
    }
    if (!problem) {
      logger.error({ reqId: req.id, err }, 'unhandled error');
      problem = new AppError('internal-error', 'An internal error occurred. Quote the request id when reporting it.');
    } else if (problem.status >= 500) {
      logger.error({ reqId: req.id, code: problem.code, cause: problem.cause }, problem.detail);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(res, req, problem);
  };
}

/** 404 for every route nobody claimed. */
export function notFound(allowedMethods?: (path: string) => readonly string[]) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const allowed = allowedMethods?.(req.path) ?? [];
    if (allowed.length > 0 && !allowed.includes(req.method)) {
      // RFC 9110 §15.5.6: the resource exists, the method does not; Allow says which do.
      next(new AppError('method-not-allowed', `${req.method} is not allowed on ${req.path}; allowed: ${allowed.join(', ')}`, { headers: { Allow: allowed.join(', ') } }));
      return;
    }
    next(new AppError('not-found', `No resource at ${req.method} ${req.path}`));
  };
}

/**
 * The methods an OpenAPI document's `paths` allow on a request path (templates such as
 * `/v1/reports/{id}` match one segment per parameter; matched like express routes: any case, an
 * optional trailing slash), with HEAD wherever GET is (express answers HEAD with the GET route).
 * An empty list for a path no template matches. For `notFound`'s 405s.
 */
export function allowedMethodsFrom(paths: Readonly<Record<string, unknown>>): (path: string) => readonly string[] {
  const templates = Object.entries(paths).map(([template, item]) => ({
    pattern: pathTemplatePattern(template),
    methods: Object.keys(item as object).filter((m) => OPENAPI_METHODS.has(m)).map((m) => m.toUpperCase()),
  }));
  return (path) => {
    const allowed = new Set<string>();
    for (const t of templates) if (t.pattern.test(path)) for (const m of t.methods) allowed.add(m);
    if (allowed.has('GET')) allowed.add('HEAD');
    return [...allowed].sort();
  };
}
