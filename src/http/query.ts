/**
 * Query strings of the API: one reader for single values and dates, and the check that refuses
 * parameters an operation does not take.
 */
import type { NextFunction, Request, Response } from 'express';
import { isUuid } from '../auth/secrets.js';
import { AppError } from '../errors.js';
import { OPENAPI_METHODS, pathTemplatePattern } from './openapi/paths.js';
import { pointerToken } from '../util/json-pointer.js';

/**
 * One parameter's value, or undefined when absent. Repeated (`?a=1&a=2`) or nested (`?a[b]=1`):
 * 400 at `/name`. A value that is a UUID is answered in lower case, whatever case it was typed in
 * (UUIDs compare case-insensitively and are written in lower case, RFC 9562 §4; the service stores
 * and records them so): a filter such as `/v1/audit/events?targetId=` then matches in either case.
 */
export function queryParam(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new AppError('bad-request', `The query parameter ${name} must be given once, as a plain value`, { errors: [{ pointer: `/${name}`, detail: 'must be a single value' }] });
  return isUuid(v) ? v.toLowerCase() : v;
}

/**
 * A UUID parameter (an id filter such as `organizationId`), in lower case, or undefined when absent
 * or empty; any other value is a 400 at `/name` (as the OpenAPI document's `format: uuid` says),
 * never a filter that silently matches nothing.
 */
export function uuidQueryParam(req: Request, name: string): string | undefined {
  const v = queryParam(req, name);
  if (v === undefined || v === '') return undefined;
  if (!isUuid(v)) throw new AppError('bad-request', `The query parameter ${name} must be a UUID`, { errors: [{ pointer: `/${name}`, detail: 'must be a UUID' }] });
  return v;
}

/** ISO 8601 dates and date-times with an offset, years 1900–2199; the fields are checked against the calendar by `isCalendarDate`. */
const ISO_DATE = /^((?:19|20|21)\d{2})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

/**
 * Whether the fields matched by ISO_DATE name a real moment: a month 01–12, a day that month has
 * (29 February in leap years only), hours 00–23, minutes and seconds 00–59, an offset of at most
 * 23:59. `Date` would roll the others over (`2026-02-30` to 2 March, `T24:00Z` to the next day).
 */
function isCalendarDate(m: RegExpExecArray): boolean {
  const [year, month, day, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] = m.slice(1).map((f) => (f === undefined ? undefined : Number(f)));
  if (year === undefined || month === undefined || day === undefined) return false;
  if (month < 1 || month > 12 || day < 1) return false;
  // Day 0 of the next month is the last day of this one.
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return false;
  return hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
}

/**
 * A date or date-time parameter (`2026-12-01`, `2026-12-01T08:00:00Z`), or undefined; anything
 * else, a date the calendar does not have (`2026-02-30`, `T24:00Z`) included, is a 400 at `/name`.
 */
export function dateQueryParam(req: Request, name: string): Date | undefined {
  const v = queryParam(req, name);
  if (v === undefined) return undefined;
  const m = ISO_DATE.exec(v);
  const d = new Date(v);
  if (m === null || !isCalendarDate(m) || Number.isNaN(d.getTime())) {
    throw new AppError('bad-request', `The query parameter ${name} must be an ISO 8601 date or date-time that exists in the calendar`, { errors: [{ pointer: `/${name}`, detail: 'must be an ISO 8601 date or date-time that exists in the calendar' }] });
  }
  return d;
}

interface OperationQuery {
  readonly pattern: RegExp;
  readonly method: string;
  readonly names: ReadonlySet<string>;
}

function queryNames(parameters: unknown): string[] {
  if (!Array.isArray(parameters)) return [];
  return parameters.flatMap((p: unknown) => {
    const param = p as { in?: unknown; name?: unknown };
    return param.in === 'query' && typeof param.name === 'string' ? [param.name] : [];
  });
}

/**
 * Refuses (400 bad-request, pointer `/<name>`) a request to a documented operation that carries a
 * query parameter the OpenAPI document does not list for it, so that a misspelt filter
 * (`?overall_risk=high`, `?from=` for `createdFrom`) is an error instead of an unfiltered answer.
 * Paths and methods the document does not have pass through (to the pages, or to 404 and 405);
 * HEAD is checked as GET.
 */
export function knownQueryParameters(paths: Readonly<Record<string, unknown>>) {
  const operations: OperationQuery[] = [];
  for (const [template, item] of Object.entries(paths)) {
    const pathItem = item as Record<string, unknown>;
    const shared = queryNames(pathItem.parameters);
    for (const [method, operation] of Object.entries(pathItem)) {
      if (!OPENAPI_METHODS.has(method)) continue;
      operations.push({ pattern: pathTemplatePattern(template), method: method.toUpperCase(), names: new Set([...shared, ...queryNames((operation as { parameters?: unknown }).parameters)]) });
    }
  }
  return (req: Request, _res: Response, next: NextFunction): void => {
    const keys = Object.keys(req.query);
    if (keys.length === 0) {
      next();
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const operation = operations.find((o) => o.method === method && o.pattern.test(req.path));
    const unknown = operation === undefined ? undefined : keys.find((k) => !operation.names.has(k));
    if (operation === undefined || unknown === undefined) {
      next();
      return;
    }
    const accepted = [...operation.names];
    const takes = accepted.length === 0 ? 'it takes no query parameters' : `it takes ${accepted.join(', ')}`;
    const shown = unknown.length > 64 ? `${unknown.slice(0, 64)}…` : unknown;
    const pointer = `/${pointerToken(unknown)}`;
    next(new AppError('bad-request', `Unknown query parameter ${JSON.stringify(shown)} for ${method} ${req.path}: ${takes}`, { errors: [{ pointer, detail: 'unknown query parameter' }] }));
  };
}
