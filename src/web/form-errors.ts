/**
 * What the administration and account forms show of a refusal: a summary linking to each field it
 * names, and each field's message (the questionnaire has its own, src/web/questionnaire-form.ts).
 */
import type { AppError } from '../errors.js';

/** A form's fields that errors can name: JSON pointer (`/name`) → the id of the element a summary link focuses. */
export type FieldIds = Readonly<Record<string, string>>;

/** What a form page shows of a refusal: a summary linking to the fields, and each field's message. */
export interface FormErrors {
  /** The error summary's entries, each linking to its field (or to the form, for an error of no field). */
  readonly errorList: readonly { readonly href: string; readonly text: string }[];
  /** Each field's message by its name (the pointer without its `/`), '' when it has none. */
  readonly fieldErrors: Readonly<Record<string, string>>;
}

/** A detail as a sentence: capitalised, ending with a full stop. */
function sentence(detail: string): string {
  const d = detail.trim();
  const capitalised = d.charAt(0).toUpperCase() + d.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

/**
 * The errors of a refusal, tied to the form's fields by their pointers (as the questionnaire's are):
 * an error naming a field links to it and is shown at it; any other links to the form (`formId`).
 */
export function formErrors(err: AppError | undefined, fields: FieldIds, formId: string): FormErrors {
  const fieldErrors: Record<string, string> = Object.fromEntries(Object.keys(fields).map((pointer) => [pointer.slice(1), '']));
  if (!err) return { errorList: [], fieldErrors };
  const list = err.errors.length > 0 ? err.errors : [{ pointer: err.pointer ?? '', detail: err.detail }];
  const errorList = list.map((e) => {
    const text = sentence(e.detail);
    if (!Object.hasOwn(fields, e.pointer)) return { href: `#${formId}`, text };
    const name = e.pointer.slice(1);
    fieldErrors[name] = fieldErrors[name] ? `${fieldErrors[name]} ${text}` : text;
    return { href: `#${fields[e.pointer]!}`, text };
  });
  return { errorList, fieldErrors };
}
