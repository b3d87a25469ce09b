/**
 * Questionnaire versions: definitions (data + derived JSON Schema + UI hints), answer validation and
 * branching. See docs/methodology.md for the question-id scheme and the meaning of option ranks.
 */
import { loadQuestionnaire, QUESTIONNAIRE_VERSIONS } from './load.js';
import type { Questionnaire } from './types.js';

export type { AnswerValue, Answers, OptionValue, Question, QuestionOption, QuestionType, Questionnaire, QuestionnaireData, Section, ShowIf } from './types.js';
export { validateAnswers, pointerOf, FORBIDDEN_KEYS, MAX_FIELD_ERRORS } from './validate.js';
export type { ValidateAnswersResult } from './validate.js';
export { visibleQuestions } from './visibility.js';

/** The questionnaire version new assessments use. */
export const CURRENT_QUESTIONNAIRE_VERSION = '1';

/** Every questionnaire version this build can validate and evaluate, oldest first. */
export function listQuestionnaireVersions(): readonly string[] {
  return QUESTIONNAIRE_VERSIONS;
}

/** The full, frozen definition of a questionnaire version, or undefined if the version is unknown. */
export function getQuestionnaire(version: string): Questionnaire | undefined {
  return loadQuestionnaire(version);
}
