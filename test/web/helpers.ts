/** Helpers shared by the page tests: the example answers as form fields. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The answers of `docs/examples/<name>.json`. */
export function example(name: 'poorly-controlled' | 'well-controlled'): Record<string, unknown> {
  const file = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples', `${name}.json`), 'utf8')) as { answers: Record<string, unknown> };
  return file.answers;
}

/** `docs/examples/poorly-controlled.json`'s answers. */
export function poorlyControlled(): Record<string, unknown> {
  return example('poorly-controlled');
}

/** Answers as the form posts them: `answers[id]`, `answers[id][]` for lists, booleans as text. */
export function answersToForm(answers: Record<string, unknown>, form = new URLSearchParams()): URLSearchParams {
  for (const [id, v] of Object.entries(answers)) {
    // An empty selection is the "None of these" box (src/web/questionnaire-form.ts, NONE_OF_THESE).
    if (Array.isArray(v)) for (const x of v.length === 0 ? ['__none__'] : v) form.append(`answers[${id}][]`, String(x));
    else form.append(`answers[${id}]`, String(v));
  }
  return form;
}
