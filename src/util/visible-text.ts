/**
 * The title rule shared by the API's schema (src/http/schemas/assessments.ts) and the pages
 * (src/web/assessment-routes.ts): a title people read on the dashboard, the report and the trail
 * must show something, and must not reorder the text around it.
 *
 * - Visible: at least one character that is not a format character (`\p{Cf}`: zero-width spaces
 *   and joiners, direction marks and controls, soft hyphens…), a separator (`\p{Z}`), a control
 *   character (`\p{Cc}`) or white space. A title of zero-width spaces is refused.
 * - Paired direction controls: every embedding or override (U+202A LRE, U+202B RLE, U+202D LRO,
 *   U+202E RLO) is closed by its U+202C PDF, every isolate (U+2066 LRI, U+2067 RLI, U+2068 FSI) by
 *   its U+2069 PDI, in order and nested at most `BIDI_MAX_DEPTH` deep. An unclosed RLO would
 *   reverse what follows the title wherever it is shown ("Trojan source").
 *
 * Both are regular expressions (JSON Schema `pattern`, ECMA-262 with the `u` flag, as ajv compiles
 * them), so that the API and the pages refuse exactly the same titles. Titles stored before the
 * rule are shown as they are.
 */

/** Nesting of direction-control pairs a title may have (two: an isolate in an isolate). */
export const BIDI_MAX_DEPTH = 2;

const NOT_BIDI = '[^\\u202A-\\u202E\\u2066-\\u2069]';

/** Text whose direction controls are paired, nested at most `depth` deep (one unit of it). */
function pairedUnit(depth: number): string {
  if (depth === 0) return NOT_BIDI;
  const inner = pairedUnit(depth - 1);
  return `(?:${NOT_BIDI}|[\\u202A\\u202B\\u202D\\u202E]${inner}*\\u202C|[\\u2066-\\u2068]${inner}*\\u2069)`;
}

/** Matches (unanchored) a text with a visible character. */
export const VISIBLE_PATTERN = '[^\\p{Cf}\\p{Z}\\p{Cc}\\s]';

/** Matches a text whose direction controls are all paired (see above). */
export const BIDI_PAIRED_PATTERN = `^${pairedUnit(BIDI_MAX_DEPTH)}*$`;

/**
 * What a field failing one of the patterns is told (src/http/validate.ts), instead of ajv's
 * "must match pattern" quoting a regular expression of some 390 characters.
 */
export const PATTERN_DETAILS: ReadonlyMap<string, string> = new Map([
  [VISIBLE_PATTERN, 'must have a visible character (not only spaces, format or control characters)'],
  [BIDI_PAIRED_PATTERN, `must close each direction control in order (U+202A, U+202B, U+202D, U+202E by U+202C; U+2066–U+2068 by U+2069), nested at most ${BIDI_MAX_DEPTH} deep`],
]);

const VISIBLE = new RegExp(VISIBLE_PATTERN, 'u');
const BIDI_PAIRED = new RegExp(BIDI_PAIRED_PATTERN, 'u');

/** Whether the text has a character that shows (not only format, separator, control or space characters). */
export function hasVisibleCharacter(text: string): boolean {
  return VISIBLE.test(text);
}

/** Whether every direction control of the text is closed, in order (see above). */
export function hasPairedBidiControls(text: string): boolean {
  return BIDI_PAIRED.test(text);
}
