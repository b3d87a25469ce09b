/** Request checks over src/util/clean-strings.ts: strings nothing in the service can store or sign. */
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';
import { firstUncleanString } from '../util/clean-strings.js';

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
