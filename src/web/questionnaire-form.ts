/**
 * The questionnaire as a form: from the definition to what the template shows (sections, fields,
 * progress, branching data, error messages), and from a posted form back to answers.
 *
 * Field names: `answers[<questionId>]` (`answers[<questionId>][]` for checkboxes), parsed by
 * `express.urlencoded({ extended: true })`. Only ids of the questionnaire are ever read from the
 * posted object (with Object.hasOwn), so extra or hostile keys are ignored.
 */
import type { FieldError } from '../errors.js';
import { visibleQuestions, type AnswerValue, type Question, type Questionnaire, type ShowIf } from '../questionnaire/index.js';

/** A value as the form holds it: text, or the selected option values. */
export type FormValue = string | readonly string[];

/** One option of a radio group or checkbox list. */
export interface OptionView {
  readonly value: string;
  readonly label: string;
  readonly checked: boolean;
  readonly domId: string;
}

/** One question as the template renders it. */
export interface FieldView {
  readonly id: string;
  /** `q-<id>`: the id of the input (the first option for groups), the target of error links. */
  readonly domId: string;
  readonly name: string;
  readonly type: Question['type'];
  readonly widget: Question['ui']['widget'];
  readonly text: string;
  readonly help: string;
  readonly informs: readonly string[];
  readonly required: boolean;
  /** Addressable implementation specifications answer on the three-way (four-option) scale. */
  readonly addressable: boolean;
  readonly options: readonly OptionView[];
  readonly value: string;
  readonly visible: boolean;
  readonly error: string | null;
  /** The `showIf` condition as JSON, for the script that shows and hides questions live ('' when none). */
  readonly showIf: string;
  readonly unit: string;
  readonly maxLength: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly step: string;
}

/** One section with its progress. */
export interface SectionView {
  readonly id: string;
  readonly anchor: string;
  readonly title: string;
  readonly description: string;
  readonly fields: readonly FieldView[];
  readonly answered: number;
  readonly visible: number;
}

/** The whole form: sections, errors not tied to a field, and totals. */
export interface FormView {
  readonly sections: readonly SectionView[];
  readonly answered: number;
  readonly visible: number;
  /** Errors in question order, for the summary at the top: text and the field they link to. */
  readonly errorList: readonly { readonly href: string; readonly text: string }[];
}

/** The DOM id of a question's input. */
export function domIdOf(questionId: string): string {
  return `q-${questionId}`;
}

/** The question id of a `/answers/<id>` pointer (RFC 6901 unescaped), or undefined. */
export function questionIdOfPointer(pointer: string): string | undefined {
  const m = /^\/answers\/(.+)$/.exec(pointer);
  if (!m) return undefined;
  const segment = m[1]!.split('/')[0]!;
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The stored answers of a revision as form values. */
export function formValuesOf(questionnaire: Questionnaire, answers: Readonly<Record<string, unknown>>): Record<string, FormValue> {
  const out: Record<string, FormValue> = {};
  for (const q of questionnaire.questions) {
    if (!Object.hasOwn(answers, q.id)) continue;
    const v = answers[q.id];
    if (Array.isArray(v)) out[q.id] = v.length === 0 ? [NONE_OF_THESE] : v.map(String);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[q.id] = String(v);
  }
  return out;
}

/**
 * The value of the "None of these" box of a multiple-choice question that allows an empty
 * selection: without it an empty selection could not be told from a question not yet answered
 * (a browser posts nothing for unticked boxes), so the page could not give the API's `[]`.
 */
export const NONE_OF_THESE = '__none__';

/** The result of reading a posted form. */
export interface ParsedForm {
  /** Answers to the visible questions, typed for validation (hidden questions' answers dropped). */
  readonly answers: Record<string, AnswerValue>;
  /** What was typed, to re-render the form exactly (also for questions hidden by branching). */
  readonly values: Record<string, FormValue>;
  /** Errors found while reading (a number not taken as typed, a field posted twice, a NUL removed). */
  readonly errors: FieldError[];
}

function optionOf(q: Question, raw: string): AnswerValue {
  const option = (q.options ?? []).find((o) => String(o.value) === raw);
  // An unknown value is passed on as text: the validator then names the allowed options.
  return option ? option.value : raw;
}

/** A posted value quoted for an error message (shortened: the field shows the value itself). */
function quoted(value: string): string {
  const points = [...value];
  return `“${points.length > 40 ? `${points.slice(0, 40).join('')}…` : value}”`;
}

/**
 * The message for a single-valued field posted more than once (a tampered or duplicated form):
 * the values it got, so that none is lost from sight. Also used for the title.
 */
export function repeatedValueDetail(list: readonly string[], what = 'value'): string {
  const shown = list.slice(0, 3).map(quoted).join(', ');
  return `give one ${what}: the form sent ${list.length} values (${shown}${list.length > 3 ? `, and ${list.length - 3} more` : ''})`;
}

/** The message for a single-valued field posted as a nested (bracketed) field. */
export function structuredValueDetail(what = 'value'): string {
  return `give one ${what}: the form sent a structured value instead of text`;
}

/** The message for a field whose NUL characters the form parser removed (see page.ts, formBody). */
export const NUL_DETAIL = 'contained a NUL character (U+0000), which cannot be stored. It has been removed from the value shown here: check it and save again';

/** `12.50e0` and `1.25e+1` alike: sign, significant digits and exponent, or '0'. */
function canonicalDecimal(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text);
  if (!m) return text;
  const frac = m[3] ?? '';
  let digits = `${m[2]!}${frac}`.replace(/^0+/, '');
  if (digits === '') return '0';
  let exponent = Number(m[4] ?? '0') - frac.length;
  const trailing = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  return `${m[1]!}${digits}e${exponent}`;
}

/** The schema's range message (Ajv's wording, as the validator words it), or null when in range. */
function rangeDetail(q: Question, above: boolean): string {
  return above ? `must be <= ${String(q.maximum)}` : `must be >= ${String(q.minimum)}`;
}

/**
 * A typed number as the number it stands for, or the reason it cannot be taken: not a number; a
 * fraction for a whole-number question; outside the question's range (the schema's message, also
 * for values too large for a double); or more digits than a double keeps (a value that would be
 * stored as something other than what was typed).
 */
export function readNumber(q: Question, text: string): { readonly value: number } | { readonly detail: string } {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return { detail: 'must be a number' };
  const [, sign, whole, frac = ''] = m;
  if (q.integer) {
    if (/[1-9]/.test(frac)) return { detail: 'must be a whole number (no decimal places)' };
    const big = BigInt(`${sign!}${whole!}`);
    if (q.maximum !== undefined && big > BigInt(Math.floor(q.maximum))) return { detail: rangeDetail(q, true) };
    if (q.minimum !== undefined && big < BigInt(Math.ceil(q.minimum))) return { detail: rangeDetail(q, false) };
    const n = Number(big);
    if (!Number.isSafeInteger(n)) return { detail: 'is too large to be stored exactly' };
    return { value: n === 0 ? 0 : n };
  }
  const n = Number(text);
  if (!Number.isFinite(n)) {
    if (sign === '' && q.maximum !== undefined) return { detail: rangeDetail(q, true) };
    if (sign === '-' && q.minimum !== undefined) return { detail: rangeDetail(q, false) };
    return { detail: 'is too large to be stored' };
  }
  if (q.maximum !== undefined && n > q.maximum) return { detail: rangeDetail(q, true) };
  if (q.minimum !== undefined && n < q.minimum) return { detail: rangeDetail(q, false) };
  if (canonicalDecimal(text) !== canonicalDecimal(String(n))) {
    return { detail: 'has more digits than can be stored exactly: round it (at most 15 significant digits)' };
  }
  return { value: n === 0 ? 0 : n };
}

/** Options of {@link parseAnswerForm}. */
export interface ParseOptions {
  /** Questions whose posted value had NUL characters removed by the form parser: each gets an error. */
  readonly nulRemoved?: ReadonlySet<string>;
}

/**
 * Reads `answers[...]` of a posted form. Guarantees: only questionnaire ids are read; empty inputs
 * are "not answered"; textarea line ends are normalised to LF (browsers post CRLF); answers to
 * questions hidden by branching are dropped (they would be refused), but kept in `values`.
 * Nothing posted is dropped silently: a single-valued question posted twice or as a nested field,
 * a checkbox list holding something other than values, a number that is not exactly what was
 * typed, and a value that had NUL characters removed are errors at the question (with what was
 * typed kept in `values` for the form shown again).
 */
export function parseAnswerForm(questionnaire: Questionnaire, posted: unknown, options: ParseOptions = {}): ParsedForm {
  const source = posted !== null && typeof posted === 'object' && !Array.isArray(posted) ? (posted as Record<string, unknown>) : {};
  const values: Record<string, FormValue> = {};
  const typed: Record<string, AnswerValue> = {};
  const errors: FieldError[] = [];
  for (const q of questionnaire.questions) {
    if (!Object.hasOwn(source, q.id)) continue;
    const raw = source[q.id];
    const pointer = `/answers/${q.id}`;
    if (options.nulRemoved?.has(q.id)) errors.push({ pointer, detail: NUL_DETAIL });
    if (q.type === 'multiple_choice') {
      const all = Array.isArray(raw) ? (raw as unknown[]) : [raw];
      const strings = all.filter((v): v is string => typeof v === 'string');
      const list = strings.filter((v) => v !== '');
      if (strings.length !== all.length) {
        errors.push({ pointer, detail: 'could not be read: the form sent something other than the selected options' });
        if (list.length > 0) values[q.id] = list;
        continue;
      }
      if (list.includes(NONE_OF_THESE)) {
        // "None of these": an answer (an empty selection, as the API's []), not a skipped question.
        values[q.id] = list;
        if (list.length > 1) errors.push({ pointer, detail: 'choose “None of these” or some of the options, not both' });
        else typed[q.id] = [];
        continue;
      }
      if (list.length === 0) continue;
      values[q.id] = list;
      typed[q.id] = list.map((v) => optionOf(q, v) as string);
      continue;
    }
    if (Array.isArray(raw)) {
      // One question, several values (a form with the field twice): which one was meant is not
      // ours to guess, so nothing is taken; every value is kept to be shown again.
      const list = (raw as unknown[]).filter((v): v is string => typeof v === 'string').map((v) => v.replace(/\r\n?/g, '\n'));
      values[q.id] = list;
      errors.push({ pointer, detail: list.length === raw.length ? repeatedValueDetail(list) : structuredValueDetail() });
      continue;
    }
    if (typeof raw !== 'string') {
      errors.push({ pointer, detail: structuredValueDetail() });
      continue;
    }
    const text = raw.replace(/\r\n?/g, '\n');
    values[q.id] = text;
    if (text.trim() === '') continue;
    switch (q.type) {
      case 'number': {
        const read = readNumber(q, text.trim());
        if ('detail' in read) {
          errors.push({ pointer, detail: read.detail });
          continue;
        }
        typed[q.id] = read.value;
        break;
      }
      case 'date':
        typed[q.id] = text.trim();
        break;
      case 'single_choice':
      case 'yes_no':
        typed[q.id] = optionOf(q, text);
        break;
      default:
        typed[q.id] = text;
    }
  }
  const visible = visibleQuestions(questionnaire, typed);
  const answers: Record<string, AnswerValue> = {};
  for (const [id, v] of Object.entries(typed)) if (visible.has(id)) answers[id] = v;
  // Errors at hidden questions are dropped with their answers; a form with errors is not saved.
  return { answers, values, errors: errors.filter((e) => visible.has(questionIdOfPointer(e.pointer) ?? '')) };
}

function showIfForForm(cond: ShowIf): unknown {
  if ('all' in cond) return { all: cond.all.map(showIfForForm) };
  if ('any' in cond) return { any: cond.any.map(showIfForForm) };
  if ('contains' in cond) return { question: cond.question, contains: cond.contains };
  return { question: cond.question, in: cond.in.map(String) };
}

function isAnswered(value: FormValue | undefined): boolean {
  if (value === undefined) return false;
  return Array.isArray(value) ? value.length > 0 : (value as string).trim() !== '';
}

/** A readable sentence from a validator detail ("required" → "Answer this question"). */
function messageOf(detail: string): string {
  if (detail === 'required') return 'Answer this question: it is required.';
  const text = detail.charAt(0).toUpperCase() + detail.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * The form view of a questionnaire for the given values and errors. Visibility is computed from
 * the values as they would be saved, exactly as the server validates them.
 */
export function buildFormView(questionnaire: Questionnaire, values: Readonly<Record<string, FormValue>>, errors: readonly FieldError[]): FormView {
  const parsed = parseAnswerForm(questionnaire, values);
  const visible = visibleQuestions(questionnaire, parsed.answers);
  const errorOf = new Map<string, string>();
  for (const e of errors) {
    const id = questionIdOfPointer(e.pointer);
    if (id !== undefined && !errorOf.has(id)) errorOf.set(id, messageOf(e.detail));
  }
  const addressableScale = questionnaire.answerScale.addressable.join(',');
  const errorList: { href: string; text: string }[] = [];
  let answeredTotal = 0;
  let visibleTotal = 0;
  const sections = questionnaire.sections.map((s) => {
    let answered = 0;
    let shown = 0;
    const fields = s.questions.map((id): FieldView => {
      const q = questionnaire.byId.get(id)!;
      const value = values[id];
      const isVisible = visible.has(id);
      if (isVisible) {
        shown += 1;
        if (isAnswered(value)) answered += 1;
      }
      // A single-valued question posted several times (refused, see parseAnswerForm) shows its
      // first value; the error message lists them all.
      const list: readonly string[] = Array.isArray(value) ? value : value !== undefined ? [value as string] : [];
      const displayed = q.type === 'multiple_choice' ? list : list.slice(0, 1);
      const selected = new Set(displayed);
      const error = errorOf.get(id) ?? null;
      if (error !== null) errorList.push({ href: `#${domIdOf(id)}`, text: `${q.text} — ${error}` });
      return {
        id,
        domId: domIdOf(id),
        name: q.type === 'multiple_choice' ? `answers[${id}][]` : `answers[${id}]`,
        type: q.type,
        widget: q.ui.widget,
        text: q.text,
        help: q.help,
        informs: q.informs,
        required: q.required,
        addressable: (q.options ?? []).map((o) => String(o.value)).join(',') === addressableScale,
        options: [
          ...(q.options ?? []).map((o, i) => ({ value: String(o.value), label: o.label, checked: selected.has(String(o.value)), domId: i === 0 ? domIdOf(id) : `${domIdOf(id)}--${i}` })),
          ...(q.type === 'multiple_choice' && (q.minSelected ?? 0) === 0 ? [{ value: NONE_OF_THESE, label: 'None of these', checked: selected.has(NONE_OF_THESE), domId: `${domIdOf(id)}--none` }] : []),
        ],
        value: q.type === 'multiple_choice' ? '' : (displayed[0] ?? ''),
        visible: isVisible,
        error,
        showIf: q.showIf ? JSON.stringify(showIfForForm(q.showIf)) : '',
        unit: q.ui.unit ?? '',
        maxLength: q.maxLength ?? (q.type === 'free_text' ? questionnaire.limits.freeTextMaxLength : null),
        min: q.minimum ?? null,
        max: q.maximum ?? null,
        step: q.integer ? '1' : 'any',
      };
    });
    answeredTotal += answered;
    visibleTotal += shown;
    return { id: s.id, anchor: `s-${s.id}`, title: s.title, description: s.description, fields, answered, visible: shown };
  });
  return { sections, answered: answeredTotal, visible: visibleTotal, errorList };
}
