import type { Question, QuestionnaireData } from './types.js';

/**
 * Derives the JSON Schema (draft 2020-12) of the `answers` object from a questionnaire's questions.
 * Guarantees: one property per question, `additionalProperties: false`, each property constrained to
 * its type, options, bounds and length. Branching (`showIf`) and `required` depend on other answers
 * and are checked by `validateAnswers` beside the schema, so that their errors name the field.
 */
export function deriveAnswersSchema(data: QuestionnaireData): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const q of data.questions) properties[q.id] = propertySchema(q, data.limits.freeTextMaxLength);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `urn:hipaa-ai-risk:questionnaire:${data.version}:answers`,
    title: `Answers to questionnaire version ${data.version}`,
    type: 'object',
    additionalProperties: false,
    maxProperties: data.questions.length,
    properties,
  };
}

function propertySchema(q: Question, freeTextMax: number): Record<string, unknown> {
  const title = q.text;
  switch (q.type) {
    case 'single_choice':
      return { title, type: 'string', enum: (q.options ?? []).map((o) => o.value) };
    case 'yes_no':
      return { title, type: 'boolean' };
    case 'multiple_choice':
      return {
        title,
        type: 'array',
        items: { type: 'string', enum: (q.options ?? []).map((o) => o.value) },
        uniqueItems: true,
        minItems: q.minSelected ?? 0,
        maxItems: (q.options ?? []).length,
      };
    case 'number':
      return { title, type: q.integer ? 'integer' : 'number', minimum: q.minimum, maximum: q.maximum };
    case 'date':
      return { title, type: 'string', format: 'date' };
    case 'free_text':
      return { title, type: 'string', maxLength: q.maxLength ?? freeTextMax };
  }
}
