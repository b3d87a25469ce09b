import fc from 'fast-check';
import type { Question, Questionnaire } from '../../src/questionnaire/index.js';
import { evalShowIf } from '../../src/questionnaire/visibility.js';
import { hasVisibleText } from '../../src/questionnaire/validate.js';

/** A random value of the right type for a question, ignoring branching. */
function valueArb(q: Question): fc.Arbitrary<unknown> {
  const values = (q.options ?? []).map((o) => o.value);
  switch (q.type) {
    case 'single_choice':
      return fc.constantFrom(...values);
    case 'yes_no':
      return fc.boolean();
    case 'multiple_choice':
      return fc.subarray(values as string[], { minLength: q.minSelected ?? 0 });
    case 'number':
      return q.integer ? fc.integer({ min: q.minimum ?? 0, max: q.maximum ?? 100 }) : fc.double({ min: q.minimum ?? 0, max: q.maximum ?? 100, noNaN: true });
    case 'date':
      return fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2040-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    case 'free_text':
      // A required free-text answer must not be blank (validateAnswers refuses whitespace only).
      return q.required ? fc.string({ maxLength: 40, unit: 'binary' }).map((s) => (hasVisibleText(s) ? s : `x${s}`)) : fc.string({ maxLength: 40, unit: 'binary' });
  }
}

/**
 * Random VALID answers generated from the questionnaire definition itself: every question gets a
 * candidate value and an "answer it" flag; walking the questions in order, a question is answered
 * only if it is shown given the answers so far, and always when it is shown and required.
 */
export function validAnswersArb(questionnaire: Questionnaire, answerRate = 0.85): fc.Arbitrary<Record<string, unknown>> {
  const entries = questionnaire.questions.map((q) => fc.record({ value: valueArb(q), answer: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < answerRate) }));
  return fc.tuple(...entries).map((picked) => pruneToVisible(questionnaire, Object.fromEntries(questionnaire.questions.map((q, i) => [q.id, picked[i]!] as const)), true));
}

/** Keeps only answers of shown questions (in questionnaire order); with candidates, also applies the answer flags. */
export function pruneToVisible(questionnaire: Questionnaire, source: Record<string, unknown>, candidates = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const visible = new Set<string>();
  for (const q of questionnaire.questions) {
    if (q.showIf && !evalShowIf(q.showIf, out, visible)) continue;
    visible.add(q.id);
    if (candidates) {
      const c = source[q.id] as { value: unknown; answer: boolean };
      if (q.required || c.answer) out[q.id] = c.value;
    } else if (Object.hasOwn(source, q.id)) {
      out[q.id] = source[q.id];
    }
  }
  return out;
}

/** Rank of an answer for single-choice / yes-no questions. */
export function rankOf(q: Question, value: unknown): number {
  return (q.options ?? []).find((o) => o.value === value)?.rank ?? -1;
}

/**
 * Every single-step change of one answered question to a strictly more protective answer:
 * a higher-ranked option; toggling one multiple-choice option to its higher-ranked state (respecting
 * minSelected); moving a number in its protective direction. Returned as changes; apply one with
 * {@link applyChange}, which also drops follow-ups the change hides.
 */
export function moreProtectiveChanges(questionnaire: Questionnaire, answers: Record<string, unknown>): { questionId: string; value: unknown }[] {
  const out: { questionId: string; value: unknown }[] = [];
  for (const q of questionnaire.questions) {
    if (!Object.hasOwn(answers, q.id)) continue;
    const current = answers[q.id];
    if (q.type === 'single_choice' || q.type === 'yes_no') {
      const r = rankOf(q, current);
      for (const o of q.options ?? []) if (o.rank > r) out.push({ questionId: q.id, value: o.value });
    } else if (q.type === 'multiple_choice') {
      const sel = current as string[];
      const unselectedRank = q.unselectedRank ?? 0;
      for (const o of q.options ?? []) {
        const selected = sel.includes(o.value as string);
        if (!selected && o.rank > unselectedRank) out.push({ questionId: q.id, value: [...sel, o.value] });
        if (selected && unselectedRank > o.rank && sel.length - 1 >= (q.minSelected ?? 0)) out.push({ questionId: q.id, value: sel.filter((v) => v !== o.value) });
      }
    } else if (q.type === 'number' && (q.protective === 'higher' || q.protective === 'lower')) {
      const n = current as number;
      const candidate = q.protective === 'higher' ? Math.min(q.maximum ?? n, n + 1 + (n % 7)) : Math.max(q.minimum ?? n, n - 1 - (n % 7));
      if (candidate !== n) out.push({ questionId: q.id, value: candidate });
    }
  }
  return out;
}

/** What a required free-text question revealed by a change is answered with (e.g. the documentation of an addressable alternative). */
export const REVEALED_FREE_TEXT = 'Documented in the security policy binder, section 4.';

/**
 * Applies one change, drops the answers of questions it hides and answers the required questions it
 * reveals. Only free text can be revealed as required by a more protective answer (the ruleset linter
 * allows nothing else): the documentation §164.306(d)(3) requires of an equivalent alternative or of
 * a rationale, without which the more protective answer is incomplete.
 */
export function applyChange(questionnaire: Questionnaire, answers: Record<string, unknown>, change: { questionId: string; value: unknown }): Record<string, unknown> {
  const out = pruneToVisible(questionnaire, { ...answers, [change.questionId]: change.value });
  const visible = new Set<string>();
  for (const q of questionnaire.questions) {
    if (q.showIf && !evalShowIf(q.showIf, out, visible)) continue;
    visible.add(q.id);
    if (q.required && !Object.hasOwn(out, q.id)) {
      if (q.type !== 'free_text') throw new Error(`a more protective answer revealed the required ${q.type} question ${q.id}`);
      out[q.id] = REVEALED_FREE_TEXT;
    }
  }
  return pruneToVisible(questionnaire, out);
}

/** The same answers with keys inserted in reverse order (and multiple-choice selections reversed). */
export function reordered(answers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(answers).reverse()) {
    const v = answers[k];
    out[k] = Array.isArray(v) ? [...(v as unknown[])].reverse() : v;
  }
  return out;
}
