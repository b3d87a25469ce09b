import { validationError } from '../errors.js';
import { validateAnswers } from '../questionnaire/index.js';
import { evaluate, resolveRulesetRefs, rulesetContent } from '../rules/index.js';
import type { Evaluator } from './types.js';

/** The rules module as the assessment service's evaluator: validation, evaluation, ruleset content. */
export const rulesEvaluator: Evaluator = {
  evaluate: (input) => evaluate(input),
  validateDraft(input) {
    const result = validateAnswers(input.questionnaireVersion, input.answers, { partial: true });
    if (!result.ok) throw validationError(result.errors);
  },
  resolveRulesets: (input) => resolveRulesetRefs(input.questionnaireVersion, input.rulesets),
  rulesetContent: (ref) => rulesetContent(ref),
};

/** Wraps an evaluator to report each evaluation's duration (for the metrics histogram). */
export function timedEvaluator(inner: Evaluator, observe: (ms: number) => void): Evaluator {
  return {
    async evaluate(input) {
      const start = process.hrtime.bigint();
      try {
        return await inner.evaluate(input);
      } finally {
        observe(Number(process.hrtime.bigint() - start) / 1e6);
      }
    },
    validateDraft: (input) => inner.validateDraft(input),
    resolveRulesets: (input) => inner.resolveRulesets(input),
    rulesetContent: (ref) => inner.rulesetContent(ref),
  };
}
