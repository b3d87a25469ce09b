import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { AppError, validationError, type FieldError } from '../errors.js';
import { MAX_FIELD_ERRORS } from '../questionnaire/validate.js';
import { pointerToken } from '../util/json-pointer.js';
import { PATTERN_DETAILS } from '../util/visible-text.js';

const ajv = new Ajv({ allErrors: true, strict: true, coerceTypes: false, useDefaults: false });
(addFormats as unknown as (a: Ajv) => void)(ajv);

const compiled = new WeakMap<object, ValidateFunction>();

function pointerOf(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return `${e.instancePath}/${pointerToken(String((e.params as { additionalProperty: string }).additionalProperty))}`;
  if (e.keyword === 'required') return `${e.instancePath}/${String((e.params as { missingProperty: string }).missingProperty)}`;
  return e.instancePath;
}

function detailOf(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return 'is not a known field';
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'pattern') {
    const known = PATTERN_DETAILS.get(String((e.params as { pattern: string }).pattern));
    if (known !== undefined) return known;
  }
  return e.message ?? 'is invalid';
}

/**
 * Field errors with JSON pointers (RFC 6901) of ajv errors, first error first (the order ajv
 * reports them in: the schema's, then the body's keys, so the same body always gives the same
 * list), each pointer and message once: the first `limit` of them, and how many there are in all.
 */
function collectFieldErrors(errors: readonly ErrorObject[] | null | undefined, prefix: string, limit: number): { listed: FieldError[]; total: number } {
  const seen = new Set<string>();
  const listed: FieldError[] = [];
  for (const e of errors ?? []) {
    const pointer = prefix + pointerOf(e);
    const detail = detailOf(e);
    const key = `${pointer} ${detail}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (listed.length < limit) listed.push({ pointer, detail });
  }
  return { listed, total: seen.size };
}

/** Converts ajv errors into field errors with JSON pointers (RFC 6901), first error first; at most `limit`. */
export function fieldErrors(errors: readonly ErrorObject[] | null | undefined, prefix = '', limit = MAX_FIELD_ERRORS): FieldError[] {
  return collectFieldErrors(errors, prefix, limit).listed;
}

/**
 * The 422 of a body that failed its schema: its first MAX_FIELD_ERRORS field errors (capped as the
 * questionnaire's answers are), so that a body of 80,000 unknown keys cannot make an answer many
 * times its size; the detail says how many there were and that the others are left out.
 */
export function schemaValidationError(errors: readonly ErrorObject[] | null | undefined): AppError {
  const { listed, total } = collectFieldErrors(errors, '', MAX_FIELD_ERRORS);
  const first = listed[0];
  if (first === undefined || total <= listed.length) return validationError(listed);
  return new AppError('validation-failed', `${first.pointer || '/'}: ${first.detail} (and ${total - 1} more; only the first ${listed.length} are listed, the other ${total - listed.length} are left out)`, { errors: listed });
}

/**
 * Validates a request body against a JSON Schema (the same schema the OpenAPI document
 * publishes) and returns it typed; throws a 422 problem naming the failing fields (at most
 * MAX_FIELD_ERRORS of them).
 */
export function validateBody<T>(schema: object, body: unknown): T {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (body === undefined) throw validationError([{ pointer: '', detail: 'a JSON request body is required' }]);
  if (!validate(body)) throw schemaValidationError(validate.errors);
  return body as T;
}
