import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveAnswersSchema } from './schema.js';
import { showIfQuestions } from './visibility.js';
import type { Question, Questionnaire, QuestionnaireData, ShowIf } from './types.js';

/**
 * Loads questionnaire versions from `src/questionnaire/v<N>.json`. The path is resolved against the
 * source folder (`../../src/questionnaire` from this file), which is right both for `src/` under tsx
 * or jest and for a `dist/` build, whose JSON is not copied.
 */
const DATA_DIR = join(import.meta.dirname, '..', '..', 'src', 'questionnaire');

/** The versions shipped, oldest first. */
export const QUESTIONNAIRE_VERSIONS: readonly string[] = Object.freeze(['1']);

const cache = new Map<string, Questionnaire>();

/** Loads (once) and returns a questionnaire version; throws if the data file is inconsistent. */
export function loadQuestionnaire(version: string): Questionnaire | undefined {
  if (!QUESTIONNAIRE_VERSIONS.includes(version)) return undefined;
  const cached = cache.get(version);
  if (cached) return cached;
  const data = JSON.parse(readFileSync(join(DATA_DIR, `v${version}.json`), 'utf8')) as QuestionnaireData;
  const problems = checkQuestionnaireData(data);
  if (problems.length > 0) throw new Error(`questionnaire v${version} is inconsistent:\n${problems.join('\n')}`);
  const byId = new Map(data.questions.map((q) => [q.id, q] as const));
  const questionnaire: Questionnaire = deepFreeze({ ...data, jsonSchema: deriveAnswersSchema(data), byId });
  cache.set(version, questionnaire);
  return questionnaire;
}

const ID_RE = /^[a-z][a-z0-9_]*(\.[a-z0-9][a-z0-9_]*)+$/;
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Structural checks of a questionnaire's data that JSON Schema cannot express. Returns human-readable
 * problems (empty when consistent). Exported for the tests.
 */
export function checkQuestionnaireData(data: QuestionnaireData): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const sectionIds = new Set(data.sections.map((s) => s.id));
  data.questions.forEach((q, index) => {
    const where = `question ${q.id}`;
    if (!ID_RE.test(q.id)) problems.push(`${where}: id must be dot-separated lower-case segments`);
    if (q.id.split('.').some((s) => FORBIDDEN.has(s))) problems.push(`${where}: id uses a forbidden segment`);
    if (seen.has(q.id)) problems.push(`${where}: duplicate id`);
    seen.set(q.id, index);
    if (!sectionIds.has(q.section)) problems.push(`${where}: unknown section ${q.section}`);
    if (!q.text || !q.help) problems.push(`${where}: text and help are required`);
    const choice = q.type === 'single_choice' || q.type === 'multiple_choice' || q.type === 'yes_no';
    if (choice) {
      const opts = q.options ?? [];
      if (opts.length < 2) problems.push(`${where}: needs at least two options`);
      if (new Set(opts.map((o) => o.value)).size !== opts.length) problems.push(`${where}: duplicate option values`);
      if (opts.some((o) => !Number.isInteger(o.rank))) problems.push(`${where}: every option needs an integer rank`);
      if (q.type === 'yes_no' && !(opts.length === 2 && opts.some((o) => o.value === true) && opts.some((o) => o.value === false)))
        problems.push(`${where}: yes_no options must be true and false`);
      if (q.type !== 'yes_no' && opts.some((o) => typeof o.value !== 'string')) problems.push(`${where}: option values must be strings`);
      if (q.type === 'multiple_choice' && !Number.isInteger(q.unselectedRank)) problems.push(`${where}: multiple_choice needs unselectedRank`);
    } else if (q.options !== undefined) problems.push(`${where}: only choice questions have options`);
    if (q.type === 'number' && (q.minimum === undefined || q.maximum === undefined || !q.protective))
      problems.push(`${where}: number questions need minimum, maximum and protective`);
    if ((q.type === 'date' || q.type === 'free_text') && q.protective !== undefined && q.protective !== 'neutral')
      problems.push(`${where}: date and free-text questions are informational (protective: neutral)`);
    if (q.type === 'free_text' && !(q.maxLength !== undefined && q.maxLength <= data.limits.freeTextMaxLength))
      problems.push(`${where}: free text needs maxLength <= ${data.limits.freeTextMaxLength}`);
    if (q.showIf) {
      for (const ref of showIfQuestions(q.showIf)) {
        const at = seen.get(ref);
        if (at === undefined || at >= index) problems.push(`${where}: showIf must refer to an earlier question (${ref})`);
      }
      for (const v of showIfValues(q.showIf, data)) if (v) problems.push(`${where}: ${v}`);
    }
  });
  // Question ids become dot paths into the facts object: no id may be a path prefix of another.
  const ids = [...seen.keys()].sort();
  for (let i = 0; i + 1 < ids.length; i++) {
    const a = ids[i]!;
    for (let j = i + 1; j < ids.length && ids[j]!.startsWith(a); j++) {
      if (ids[j]!.startsWith(`${a}.`)) problems.push(`question ${ids[j]!}: id extends another id (${a})`);
    }
  }
  for (const s of data.sections) {
    for (const id of s.questions) if (!seen.has(id)) problems.push(`section ${s.id}: unknown question ${id}`);
  }
  return problems;
}

function showIfValues(cond: ShowIf, data: QuestionnaireData): string[] {
  if ('all' in cond) return cond.all.flatMap((c) => showIfValues(c, data));
  if ('any' in cond) return cond.any.flatMap((c) => showIfValues(c, data));
  const gate = data.questions.find((q) => q.id === cond.question);
  if (!gate) return [];
  const values = new Set((gate.options ?? []).map((o) => o.value));
  if ('contains' in cond) return gate.type === 'multiple_choice' && values.has(cond.contains) ? [] : [`showIf contains ${cond.contains} is not an option of ${gate.id}`];
  return cond.in.filter((v) => !values.has(v)).map((v) => `showIf value ${String(v)} is not an option of ${gate.id}`);
}

function deepFreeze<T>(value: T): T {
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
    return Object.freeze(value);
  }
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export type { Question };
