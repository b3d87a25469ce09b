/**
 * Types of a questionnaire version: the data in `vN.json`, plus the JSON Schema derived from it.
 * Everything is readonly: a loaded questionnaire is frozen and shared.
 */

/** The six question types. `yes_no` answers are JSON booleans; `date` answers are `YYYY-MM-DD` strings. */
export type QuestionType = 'single_choice' | 'multiple_choice' | 'yes_no' | 'number' | 'date' | 'free_text';

/** A JSON scalar an option can take: strings for choices, booleans for yes/no. */
export type OptionValue = string | boolean;

/**
 * One answer option. `rank` orders options by how protective they are (higher = more protective).
 * For multiple-choice questions, `rank` is the protectiveness of the option when selected; the
 * question's `unselectedRank` is its protectiveness when not selected.
 */
export interface QuestionOption {
  readonly value: OptionValue;
  readonly label: string;
  readonly rank: number;
}

/**
 * Branching, as data. A question with `showIf` is shown only when the condition holds over earlier
 * answers; a condition on a hidden or unanswered question is false.
 */
export type ShowIf =
  | { readonly question: string; readonly in: readonly OptionValue[] }
  | { readonly question: string; readonly contains: string }
  | { readonly all: readonly ShowIf[] }
  | { readonly any: readonly ShowIf[] };

/** UI hints for the forms; no effect on validation or evaluation. */
export interface QuestionUi {
  readonly widget: 'radio' | 'checkboxes' | 'text' | 'textarea' | 'number' | 'date';
  readonly unit?: string;
}

export interface Question {
  /** Stable id, `<prefix>.<...>.<slug>`; see docs/methodology.md "Question ids". */
  readonly id: string;
  readonly section: string;
  readonly type: QuestionType;
  readonly text: string;
  /** Help text, naming the safeguard(s) the question informs. */
  readonly help: string;
  /** Citations of the safeguards this question informs (catalogue or reference citations). */
  readonly informs: readonly string[];
  /** Required questions must be answered whenever they are shown. */
  readonly required: boolean;
  readonly options?: readonly QuestionOption[];
  /** multiple_choice: protectiveness of an option that is not selected. */
  readonly unselectedRank?: number;
  /** multiple_choice: minimum number of selected options. */
  readonly minSelected?: number;
  /** free_text: maximum length in Unicode code points. */
  readonly maxLength?: number;
  /** number: bounds and integrality. */
  readonly minimum?: number;
  readonly maximum?: number;
  readonly integer?: boolean;
  /**
   * number and date: which direction is more protective. `neutral` questions are informational
   * and may not be referenced by rules (the ruleset linter enforces it).
   */
  readonly protective?: 'higher' | 'lower' | 'neutral';
  readonly showIf?: ShowIf;
  readonly ui: QuestionUi;
}

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  /** Question ids in display order. */
  readonly questions: readonly string[];
}

/** The data file of one questionnaire version. */
export interface QuestionnaireData {
  readonly id: string;
  readonly version: string;
  readonly title: string;
  readonly description: string;
  readonly limits: { readonly freeTextMaxLength: number; readonly maxQuestions: number };
  readonly answerScale: { readonly addressable: readonly string[]; readonly required: readonly string[] };
  readonly sections: readonly Section[];
  readonly questions: readonly Question[];
}

/** A loaded questionnaire version: its data, a JSON Schema (2020-12) for the answers object, and an index. */
export interface Questionnaire extends QuestionnaireData {
  /** JSON Schema of the `answers` object (branching and `required` are checked beside it; see validate.ts). */
  readonly jsonSchema: Readonly<Record<string, unknown>>;
  /** Questions by id (a Map, not serialised). */
  readonly byId: ReadonlyMap<string, Question>;
}

/** A single answer value. */
export type AnswerValue = string | number | boolean | readonly string[];

/** Validated answers: a flat, null-prototype-free plain object keyed by question id. */
export type Answers = Readonly<Record<string, AnswerValue>>;
