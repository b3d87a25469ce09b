/**
 * The upper end of a date range, one meaning everywhere (the API's `to` and `createdTo`, the
 * audit trail page's "until"): a date alone (`2026-12-07`) includes that whole day, UTC; a
 * date-time (`2026-12-07T08:00:00Z`) is an exclusive bound, the moment itself not included. A
 * lower end (`from`, `createdFrom`) is inclusive in both forms: a date alone is its first moment.
 */
import type { Request } from 'express';
import { dateQueryParam, queryParam } from './query.js';

const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The exclusive bound (`<`) of a range that ends at `text`, already parsed as `date`: the next
 * day's midnight (UTC) for a date alone, so that the day is included; the moment itself for a
 * date-time.
 */
export function exclusiveUpperBound(text: string, date: Date): Date {
  return DATE_ONLY.test(text) ? new Date(date.getTime() + DAY_MS) : date;
}

/**
 * An upper-bound query parameter (`to`, `createdTo`), validated as `dateQueryParam` (a 400 at
 * `/name` otherwise), or undefined when absent: `before`, the exclusive bound to filter with
 * (`exclusiveUpperBound`), and `given`, what to record of it (`readFilters`): a date alone as
 * given, not as the midnight that starts it, which would read as the day being excluded; a
 * date-time as the moment it names.
 */
export function upperBoundQueryParam(req: Request, name: string): { before: Date; given: string | Date } | undefined {
  const date = dateQueryParam(req, name);
  if (date === undefined) return undefined;
  const text = queryParam(req, name) ?? '';
  return { before: exclusiveUpperBound(text, date), given: DATE_ONLY.test(text) ? text : date };
}
