import type { NextFunction, Request, Response } from 'express';
import { AppError, type FieldError } from '../errors.js';

/** How deep the check looks; deeper bodies are refused by the schemas anyway. */
const MAX_DEPTH = 64;

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function badString(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character (U+0000)';
  if (!s.isWellFormed()) return 'is not well-formed Unicode (a lone surrogate)';
  return null;
}

/**
 * The first string (value or key) in a parsed body or query that no part of the service can
 * store or sign: a NUL character (PostgreSQL text refuses it) or a lone UTF-16 surrogate (RFC 8785
 * cannot canonicalise it). Iterative, so a deeply nested body cannot exhaust the stack.
 */
export function firstUncleanString(value: unknown, root = ''): FieldError | null {
  const stack: [unknown, string, number][] = [[value, root, 0]];
  while (stack.length > 0) {
    const [v, pointer, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = badString(v);
      if (problem) return { pointer, detail: problem };
    } else if (v !== null && typeof v === 'object' && depth < MAX_DEPTH) {
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${pointer}/${i}`, depth + 1]);
      } else {
        for (const [k, child] of Object.entries(v)) {
          const keyProblem = badString(k);
          if (keyProblem) return { pointer: `${pointer}/${escapePointer(k)}`, detail: `the field name ${keyProblem}` };
          stack.push([child, `${pointer}/${escapePointer(k)}`, depth + 1]);
        }
      }
    }
  }
  return null;
}

/** Refuses a request whose query string carries such a string (400, naming the parameter). */
export function cleanQuery() {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const bad = firstUncleanString(req.query);
    if (bad) {
      next(new AppError('bad-request', `The query parameter ${bad.pointer.slice(1).split('/')[0] ?? ''} ${bad.detail}`, { errors: [bad] }));
      return;
    }
    next();
  };
}

/** Refuses a parsed body carrying such a string (422 with the field's JSON pointer). */
export function assertCleanBody(body: unknown): void {
  const bad = firstUncleanString(body);
  if (bad) throw new AppError('validation-failed', `${bad.pointer || '/'} ${bad.detail}`, { errors: [bad] });
}
