import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request id: the caller's X-Request-Id when well-formed, otherwise a new UUID. */
    id: string;
  }
}

const ACCEPTABLE = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Gives every request an id, echoed in `X-Request-Id` and written in every log line and problem
 * body. An incoming id is kept only if it is 8–128 safe characters (no log injection).
 */
export function requestId() {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.get('x-request-id');
    req.id = incoming !== undefined && ACCEPTABLE.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    next();
  };
}
