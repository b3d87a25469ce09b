/**
 * The worker side of a `WorkerPool` (worker-pool.ts): announces readiness, then answers each
 * `{ id, request }` message with `{ id, ok: true, result }` or `{ id, ok: false, error }`. Errors
 * keep their AppError code, detail and field errors, so the pool rethrows the same AppError.
 */
import { parentPort } from 'node:worker_threads';
import type { Transferable } from 'node:worker_threads';
import { AppError } from '../errors.js';
import type { FieldError, ProblemCode } from '../errors.js';

/** An error as a worker reports it. */
export interface WorkerFailure {
  readonly message: string;
  readonly code?: ProblemCode;
  readonly errors?: readonly FieldError[];
  readonly pointer?: string;
}

/** A worker's answer to one request. */
export type WorkerReply = { readonly id: number; readonly ok: true; readonly result: unknown } | { readonly id: number; readonly ok: false; readonly error: WorkerFailure };

/** What a handler returns: the result, and what to transfer rather than copy. */
export interface HandlerResult {
  readonly result: unknown;
  readonly transfer?: readonly Transferable[];
}

function failure(error: unknown): WorkerFailure {
  if (error instanceof AppError) return { message: error.detail, code: error.code, errors: error.errors, ...(error.pointer === undefined ? {} : { pointer: error.pointer }) };
  return { message: error instanceof Error ? error.message : String(error) };
}

/**
 * Serves requests in this worker thread with `handle`, one reply per request, after running
 * `prepare` once (loading fonts, layouts, rules) and announcing readiness. Does nothing when not
 * in a worker thread.
 */
export function serveWorkerRequests(handle: (request: unknown) => Promise<HandlerResult>, prepare?: () => void): void {
  const port = parentPort;
  if (port === null) return;
  prepare?.();
  port.on('message', (message: { id: number; request: unknown }) => {
    void handle(message.request).then(
      ({ result, transfer }) => port.postMessage({ id: message.id, ok: true, result } satisfies WorkerReply, transfer === undefined ? undefined : [...transfer]),
      (error: unknown) => port.postMessage({ id: message.id, ok: false, error: failure(error) } satisfies WorkerReply),
    );
  });
  port.postMessage({ ready: true });
}

/** The bytes of a Buffer as an ArrayBuffer of their own, to transfer. */
export function ownArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : new Uint8Array(bytes).buffer;
}
