import express, { type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../errors.js';
import { assertCleanBody } from './clean-input.js';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * JSON request bodies for the API. A request that carries a body must declare
 * `application/json` (or `+json`), except on the paths in `formPaths` that also accept
 * `application/x-www-form-urlencoded` (the OAuth token endpoint, RFC 6749). Anything else is 415.
 * The body limit applies before parsing (413). A parsed body holding a NUL character or a lone
 * surrogate anywhere is refused (422 with the field's pointer): nothing could store or sign it.
 */
export function apiBody(limitBytes: number, formPaths: ReadonlySet<string> = new Set()) {
  const json = express.json({ limit: limitBytes, strict: true, type: ['application/json', 'application/*+json'] });
  const form = express.urlencoded({ limit: limitBytes, extended: false, parameterLimit: 50 });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!METHODS_WITH_BODY.has(req.method) || !hasBody(req)) {
      next();
      return;
    }
    const thenCheck = (err?: unknown): void => {
      if (err !== undefined) return next(err);
      try {
        assertCleanBody(req.body);
      } catch (e) {
        return next(e);
      }
      next();
    };
    if (req.is(['application/json', 'application/*+json'])) {
      json(req, res, thenCheck);
      return;
    }
    if (formPaths.has(req.path) && req.is('application/x-www-form-urlencoded')) {
      form(req, res, thenCheck);
      return;
    }
    next(new AppError('unsupported-media-type', `The request body must be application/json${formPaths.has(req.path) ? ' or application/x-www-form-urlencoded' : ''}; got ${req.get('content-type') ?? 'no Content-Type'}`));
  };
}
