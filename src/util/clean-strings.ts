/** Strings that nothing in the service can store or sign, found with their JSON pointer. */
import type { FieldError } from '../errors.js';
import { pointerToken } from './json-pointer.js';

/** How deep the check looks; deeper values are refused by the schemas anyway. */
const MAX_DEPTH = 64;

function badString(s: string, refuseNul: boolean): string | null {
  if (refuseNul && s.includes('\u0000')) return 'contains a NUL character (U+0000)';
  if (!s.isWellFormed()) return 'is not well-formed Unicode (a lone surrogate)';
  return null;
}

/**
 * The first string (value or key) in a parsed body, query or set of answers that no part of the
 * service can store or sign: a NUL character (PostgreSQL text refuses it) or a lone UTF-16
 * surrogate (RFC 8785 cannot canonicalise it); with `refuseNul` false, only the latter.
 * Iterative, so a deeply nested value cannot exhaust the stack.
 */
export function firstUncleanString(value: unknown, root = '', refuseNul = true): FieldError | null {
  const stack: [unknown, string, number][] = [[value, root, 0]];
  while (stack.length > 0) {
    const [v, pointer, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = badString(v, refuseNul);
      if (problem) return { pointer, detail: problem };
    } else if (v !== null && typeof v === 'object' && depth < MAX_DEPTH) {
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${pointer}/${i}`, depth + 1]);
      } else {
        for (const [k, child] of Object.entries(v)) {
          const keyProblem = badString(k, refuseNul);
          if (keyProblem) return { pointer: `${pointer}/${pointerToken(k)}`, detail: `the field name ${keyProblem}` };
          stack.push([child, `${pointer}/${pointerToken(k)}`, depth + 1]);
        }
      }
    }
  }
  return null;
}
