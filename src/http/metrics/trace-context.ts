/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), the cheap part: accept a valid
 * incoming `traceparent`, start a new trace otherwise, give this request its own span id, and
 * echo the result in a `traceparent` response header. The trace id goes in the access log line,
 * so a request can be followed from the proxy or the caller into our logs.
 */
import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/** The trace context of one request. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  /** The caller's span id, when a valid traceparent came in. */
  readonly parentId: string | undefined;
  readonly sampled: boolean;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** W3C trace context, set by `traceContext()`. */
    trace?: TraceContext;
  }
}

// version 00: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>; later versions may append
// fields after the flags, which we ignore (the spec's forward-compatibility rule).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Parses a `traceparent` header; undefined if absent or invalid (all-zero ids, version ff). */
export function parseTraceparent(header: string | undefined): { traceId: string; parentId: string; flags: number } | undefined {
  if (header === undefined) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, parentId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return undefined;
  return { traceId: traceId!, parentId: parentId!, flags: parseInt(flags!, 16) };
}

/**
 * Middleware setting `req.trace` and the `traceparent` response header. Guarantees: the incoming
 * trace id is kept only if the header is valid (lowercase hex, not all zeros); the response
 * always carries a fresh span id of this service; nothing of an invalid header is echoed.
 */
export function traceContext() {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = parseTraceparent(req.get('traceparent'));
    const trace: TraceContext = {
      traceId: incoming?.traceId ?? randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      parentId: incoming?.parentId,
      sampled: incoming ? (incoming.flags & 1) === 1 : false,
    };
    req.trace = trace;
    res.setHeader('traceparent', `00-${trace.traceId}-${trace.spanId}-${trace.sampled ? '01' : '00'}`);
    next();
  };
}
