/**
 * The answer stash: what a questionnaire POST carried when its session had ended.
 *
 * Choice (docs/web.md): the stash travels in the re-rendered sign-in form as one hidden field,
 * not in server memory or a table. The service is stateless (several instances behind a load
 * balancer, no sticky sessions), nothing is written for an unauthenticated request, and nothing
 * outlives the browser tab. After a successful sign-in the questionnaire is rendered again with
 * the stashed values (not saved: the person reviews and saves). Only same-origin POSTs can create
 * a stash (cross-site POSTs are refused before), and the stash is parsed as untrusted input.
 */

/** Paths whose POST may be stashed: the new-assessment form and the edit form of an assessment. */
export const STASHABLE = /^\/assessments\/(new|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/edit)$/;

/** What is kept: the form's target, its title and the raw answer values (text or option lists). */
export interface AnswerStash {
  readonly target: string;
  readonly title: string;
  readonly answers: Readonly<Record<string, string | readonly string[]>>;
}

const MAX_STASH_ANSWERS = 1000;

/** The stash of a posted questionnaire form (only string and string-list values are kept). */
export function stashOf(target: string, body: unknown): AnswerStash | undefined {
  if (!STASHABLE.test(target)) return undefined;
  const b = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const answers: Record<string, string | string[]> = {};
  const raw = b.answers !== null && typeof b.answers === 'object' && !Array.isArray(b.answers) ? (b.answers as Record<string, unknown>) : {};
  for (const key of Object.keys(raw).slice(0, MAX_STASH_ANSWERS)) {
    const v = raw[key];
    if (typeof v === 'string') answers[key] = v;
    else if (Array.isArray(v)) answers[key] = v.filter((x): x is string => typeof x === 'string');
  }
  return { target, title: typeof b.title === 'string' ? b.title.slice(0, 500) : '', answers };
}

/** Serialises a stash for the hidden field. */
export function encodeStash(stash: AnswerStash): string {
  return JSON.stringify(stash);
}

/** Parses the hidden field back; undefined for anything that is not a well-formed stash. */
export function decodeStash(text: unknown): AnswerStash | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 2_000_000) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const p = parsed as Record<string, unknown>;
  if (typeof p.target !== 'string') return undefined;
  return stashOf(p.target, { title: p.title, answers: p.answers });
}
