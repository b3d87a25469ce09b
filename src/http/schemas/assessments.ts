/**
 * JSON Schemas of the assessment API's request bodies. One source of truth: the routes validate
 * with them and the OpenAPI document publishes them. The answers themselves are validated
 * against the questionnaire version (field errors point at `/answers/<questionId>`).
 */
import { BIDI_MAX_DEPTH, BIDI_PAIRED_PATTERN, VISIBLE_PATTERN } from '../../util/visible-text.js';

const rulesetRef = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 100, description: 'ruleset id, e.g. hipaa-security' },
    version: { type: 'string', minLength: 1, maxLength: 50, description: 'semantic version, e.g. 1.0.0' },
  },
} as const;

export const RulesetRefs = {
  type: 'array',
  minItems: 1,
  maxItems: 10,
  items: rulesetRef,
  description: 'The ruleset versions to evaluate under; omitted means the current versions.',
} as const;

const answers = {
  type: 'object',
  maxProperties: 1000,
  description: 'Answers keyed by question id, as defined by the questionnaire version (GET /v1/questionnaires/{version}).',
} as const;

export const CreateAssessmentBody = {
  $id: 'CreateAssessmentBody',
  type: 'object',
  additionalProperties: false,
  required: ['title', 'questionnaireVersion', 'answers'],
  properties: {
    title: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      // The rule the pages apply too (src/util/visible-text.ts).
      pattern: VISIBLE_PATTERN,
      allOf: [{ pattern: BIDI_PAIRED_PATTERN }],
      description: `The AI use case, e.g. "Ambient scribe in primary care". It must have a visible character (not only format, separator, control or space characters), and each direction control must be closed in order (U+202A, U+202B, U+202D, U+202E by U+202C; U+2066–U+2068 by U+2069), nested at most ${BIDI_MAX_DEPTH} deep.`,
    },
    questionnaireVersion: { type: 'string', minLength: 1, maxLength: 50 },
    answers,
    rulesets: RulesetRefs,
    draft: { type: 'boolean', description: 'Save without evaluating (no report) — for forms saved over several sittings.' },
  },
} as const;

export const ReviseAssessmentBody = {
  $id: 'ReviseAssessmentBody',
  type: 'object',
  additionalProperties: false,
  required: ['answers'],
  properties: {
    answers,
    questionnaireVersion: { type: 'string', minLength: 1, maxLength: 50, description: 'Defaults to the version of the latest revision.' },
    rulesets: RulesetRefs,
    draft: { type: 'boolean' },
  },
} as const;

export const ReportRequestBody = {
  $id: 'ReportRequestBody',
  type: 'object',
  additionalProperties: false,
  properties: { rulesets: RulesetRefs },
} as const;

export const EvaluateBody = {
  $id: 'EvaluateBody',
  type: 'object',
  additionalProperties: false,
  required: ['questionnaireVersion', 'answers'],
  properties: { questionnaireVersion: { type: 'string', minLength: 1, maxLength: 50 }, answers, rulesets: RulesetRefs },
} as const;

export const VerifyBody = {
  $id: 'VerifyBody',
  type: 'object',
  additionalProperties: false,
  required: ['jws'],
  properties: {
    report: { type: 'string', minLength: 2, maxLength: 2_000_000, description: 'The report JSON exactly as downloaded (UTF-8 text).' },
    reportBase64: { type: 'string', minLength: 4, maxLength: 3_000_000, description: 'The report bytes, base64 — use when the exact bytes matter to your client.' },
    // A detached JWS is ~130 characters. The bound is the attached form's (header + base64url of
    // a report up to `report`'s 2,000,000 characters), so that one is answered as not valid with
    // code `attached-payload`, not refused here; the request body limit still bounds the whole.
    jws: { type: 'string', minLength: 10, maxLength: 3_000_000, description: 'The detached JWS from GET /v1/reports/{id}/signature. A JWS with the report attached as its middle part is answered `valid: false`, code `attached-payload`.' },
  },
  description: 'Exactly one of `report` and `reportBase64`.',
} as const;

export interface CreateAssessmentInput {
  title: string;
  questionnaireVersion: string;
  answers: Record<string, unknown>;
  rulesets?: { id: string; version: string }[];
  draft?: boolean;
}
export interface ReviseAssessmentInput {
  answers: Record<string, unknown>;
  questionnaireVersion?: string;
  rulesets?: { id: string; version: string }[];
  draft?: boolean;
}
export interface ReportRequestInput {
  rulesets?: { id: string; version: string }[];
}
export interface EvaluateInput {
  questionnaireVersion: string;
  answers: Record<string, unknown>;
  rulesets?: { id: string; version: string }[];
}
export interface VerifyInput {
  report?: string;
  reportBase64?: string;
  jws: string;
}
