import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { validationError, type FieldError } from '../errors.js';
import { pointerToken } from '../util/json-pointer.js';

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
  return e.message ?? 'is invalid';
}

/** Converts ajv errors into field errors with JSON pointers (RFC 6901), first error first. */
export function fieldErrors(errors: readonly ErrorObject[] | null | undefined, prefix = ''): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of errors ?? []) {
    const pointer = prefix + pointerOf(e);
    const detail = detailOf(e);
    const key = `${pointer} ${detail}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ pointer, detail });
  }
  return out;
}

/**
 * Validates a request body against a JSON Schema (the same schema the OpenAPI document
 * publishes) and returns it typed; throws a 422 problem naming every failing field.
 */
export function validateBody<T>(schema: object, body: unknown): T {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (body === undefined) throw validationError([{ pointer: '', detail: 'a JSON request body is required' }]);
  if (!validate(body)) throw validationError(fieldErrors(validate.errors));
  return body as T;
}
