import type { Answers, Questionnaire, ShowIf } from './types.js';

/**
 * Which questions are shown for a set of answers. Questions are visited in questionnaire order and a
 * `showIf` may only refer to earlier questions, so one pass suffices. A condition on a question that is
 * hidden or unanswered is false: the follow-up stays hidden until its gate is answered.
 *
 * Guarantees: pure, deterministic, never reads prototype properties of `answers`.
 */
export function visibleQuestions(questionnaire: Questionnaire, answers: Readonly<Record<string, unknown>>): ReadonlySet<string> {
  const visible = new Set<string>();
  for (const q of questionnaire.questions) {
    if (q.showIf === undefined || evalShowIf(q.showIf, answers, visible)) visible.add(q.id);
  }
  return visible;
}

/** Evaluates one `showIf` condition against answers, given the questions already known to be visible. */
export function evalShowIf(cond: ShowIf, answers: Readonly<Record<string, unknown>>, visible: ReadonlySet<string>): boolean {
  if ('all' in cond) return cond.all.every((c) => evalShowIf(c, answers, visible));
  if ('any' in cond) return cond.any.some((c) => evalShowIf(c, answers, visible));
  if (!visible.has(cond.question) || !Object.hasOwn(answers, cond.question)) return false;
  const value = answers[cond.question];
  if ('contains' in cond) return Array.isArray(value) && value.includes(cond.contains);
  return cond.in.some((v) => v === value);
}

/** The question ids a `showIf` refers to. */
export function showIfQuestions(cond: ShowIf): string[] {
  if ('all' in cond) return cond.all.flatMap(showIfQuestions);
  if ('any' in cond) return cond.any.flatMap(showIfQuestions);
  return [cond.question];
}

export type { Answers };
