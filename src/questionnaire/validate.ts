import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { FieldError } from '../errors.js';
import { createAjv } from './ajv.js';
import { loadQuestionnaire } from './load.js';
import type { AnswerValue, Answers, Questionnaire } from './types.js';
import { visibleQuestions } from './visibility.js';
import { pointerToken } from '../util/json-pointer.js';

/** Keys that are never accepted, anywhere, because of prototype pollution. */
export const FORBIDDEN_KEYS: readonly string[] = Object.freeze(['__proto__', 'constructor', 'prototype']);

/** At most this many field errors are reported (sorted by pointer), so hostile input cannot blow up a response. */
export const MAX_FIELD_ERRORS = 50;

/** Outcome of {@link validateAnswers}. */
export type ValidateAnswersResult = { readonly ok: true; readonly answers: Answers } | { readonly ok: false; readonly errors: readonly FieldError[] };

const validators = new Map<string, ValidateFunction>();

/**
 * Validates answers against a questionnaire version.
 *
 * Error pointers are RFC 6901 pointers relative to a request body `{questionnaireVersion, answers}`:
 * `/answers/<questionId>` for a field, `/answers` for the object itself, `/questionnaireVersion` for an
 * unknown version. Rejected: a non-object, unknown questions, wrong types, values outside the options,
 * numbers outside the bounds, strings over the question's maxLength (2,000 code points for free text),
 * invalid dates, repeated selections, the keys `__proto__`, `constructor`, `prototype`, answers to
 * questions hidden by branching, and required questions left unanswered while shown.
 *
 * With `partial` (drafts saved over several sittings), required questions may still be unanswered;
 * every other rule holds.
 *
 * On success the answers are copied into a fresh frozen object in questionnaire order, with
 * multiple-choice selections in option order, so equal answer sets have equal canonical JSON.
 */
export function validateAnswers(version: string, answers: unknown, options: { readonly partial?: boolean } = {}): ValidateAnswersResult {
  const questionnaire = loadQuestionnaire(version);
  if (!questionnaire) return fail([{ pointer: '/questionnaireVersion', detail: `unknown questionnaire version ${JSON.stringify(version)}` }]);
  const r = checkAnswers(questionnaire, answers, options);
  return r.ok ? { ok: true, answers: r.answers } : r;
}

/**
 * {@link validateAnswers} for a loaded questionnaire, also returning the set of visible questions
 * (the evaluator needs it and should not compute it twice).
 */
export function checkAnswers(
  questionnaire: Questionnaire,
  answers: unknown,
  options: { readonly partial?: boolean } = {},
): { readonly ok: true; readonly answers: Answers; readonly visible: ReadonlySet<string> } | { readonly ok: false; readonly errors: readonly FieldError[] } {
  if (answers === null || typeof answers !== 'object' || Array.isArray(answers)) {
    return fail([{ pointer: '/answers', detail: 'must be an object keyed by question id' }]);
  }
  const proto: unknown = Object.getPrototypeOf(answers);
  if (proto !== Object.prototype && proto !== null) return fail([{ pointer: '/answers', detail: 'must be a plain JSON object' }]);
  const record = answers as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const key of Object.keys(record)) {
    if (FORBIDDEN_KEYS.includes(key)) errors.push({ pointer: pointerOf(key), detail: 'forbidden key (prototype pollution)' });
  }
  if (errors.length > 0) return fail(errors);

  const validate = validatorFor(questionnaire);
  if (!validate(record)) {
    for (const e of validate.errors ?? []) errors.push(fromAjv(e, questionnaire));
    return fail(errors);
  }
  const visible = visibleQuestions(questionnaire, record);
  for (const q of questionnaire.questions) {
    const answered = Object.hasOwn(record, q.id);
    if (answered && !visible.has(q.id)) {
      errors.push({ pointer: pointerOf(q.id), detail: 'question is not shown for the given answers (branching); remove this answer' });
    } else if (q.required && visible.has(q.id) && options.partial !== true && (!answered || (q.type === 'free_text' && typeof record[q.id] === 'string' && !hasVisibleText(record[q.id] as string)))) {
      errors.push({ pointer: pointerOf(q.id), detail: 'required' });
    }
  }
  if (errors.length > 0) return fail(errors);
  return { ok: true, answers: normalise(questionnaire, record), visible };
}

/**
 * Whether a required text shows something: at least one visible character. White space of any
 * kind, invisible format characters (zero-width space U+200B, word joiner U+2060, BOM), controls
 * and the blank "letters" (Hangul fillers, the blank Braille pattern) do not count, so text that
 * looks empty cannot stand in for the documentation an answer requires (e.g. the
 * `…_documentation` of an equivalent alternative measure).
 */
export function hasVisibleText(text: string): boolean {
  return /[^\p{White_Space}\p{Cf}\p{Cc}\p{Z}\u115F\u1160\u3164\uFFA0\u2800]/u.test(text);
}

function validatorFor(questionnaire: Questionnaire): ValidateFunction {
  let v = validators.get(questionnaire.version);
  if (!v) {
    v = createAjv().compile(questionnaire.jsonSchema);
    validators.set(questionnaire.version, v);
  }
  return v;
}

function normalise(questionnaire: Questionnaire, record: Record<string, unknown>): Answers {
  const out: Record<string, AnswerValue> = {};
  for (const q of questionnaire.questions) {
    if (!Object.hasOwn(record, q.id)) continue;
    const value = record[q.id] as AnswerValue;
    if (q.type === 'multiple_choice') {
      const selected = new Set(value as readonly string[]);
      out[q.id] = Object.freeze((q.options ?? []).map((o) => o.value as string).filter((v) => selected.has(v)));
    } else {
      out[q.id] = value;
    }
  }
  return Object.freeze(out);
}

/** `/answers/<id>` with RFC 6901 escaping. */
export function pointerOf(questionId: string): string {
  return `/answers/${pointerToken(questionId)}`;
}

function fromAjv(e: ErrorObject, questionnaire: Questionnaire): FieldError {
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    return { pointer: pointerOf(key), detail: 'unknown question' };
  }
  const segments = e.instancePath.split('/').slice(1);
  const questionId = (segments[0] ?? '').replace(/~1/g, '/').replace(/~0/g, '~');
  const pointer = segments.length === 0 ? '/answers' : `/answers${e.instancePath}`;
  const q = questionnaire.byId.get(questionId);
  switch (e.keyword) {
    case 'enum':
      return { pointer, detail: `must be one of: ${(q?.options ?? []).map((o) => JSON.stringify(o.value)).join(', ')}` };
    case 'maxLength':
      return { pointer, detail: `must be at most ${String((e.params as { limit: number }).limit)} characters` };
    case 'format':
      return { pointer, detail: 'must be a date (YYYY-MM-DD)' };
    case 'uniqueItems':
      return { pointer, detail: 'must not select the same option twice' };
    case 'maxProperties':
      return { pointer, detail: 'has more answers than the questionnaire has questions' };
    default:
      return { pointer, detail: e.message ?? 'invalid' };
  }
}

function fail(errors: FieldError[]): { readonly ok: false; readonly errors: readonly FieldError[] } {
  const sorted = [...errors].sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : a.detail < b.detail ? -1 : a.detail > b.detail ? 1 : 0));
  const unique = sorted.filter((e, i) => i === 0 || e.pointer !== sorted[i - 1]!.pointer || e.detail !== sorted[i - 1]!.detail);
  return { ok: false, errors: Object.freeze(unique.slice(0, MAX_FIELD_ERRORS)) };
}
