/**
 * The worker side of a `WorkerPool` (worker-pool.ts): announces readiness, then answers each
 * `{ id, request }` message with `{ id, ok: true, result }` or `{ id, ok: false, error }`. Errors
 * keep their AppError code, detail and field errors, so the pool rethrows the same AppError.
 */
import { writeFileSync } from 'node:fs';
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
 * Names this thread for the operating system (at most 15 bytes on Linux), so that `top -H`,
 * `ps -L`, `perf` and /proc/<pid>/task/<tid>/comm tell the workers from the event loop (`node`)
 * and from V8's and libuv's helper threads (also `node`). Linux only; elsewhere, or where /proc is
 * not writable, the thread keeps its name.
 */
function nameThisThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // not Linux, or /proc read-only: the name is for people, nothing depends on it
  }
}

/**
 * Serves requests in this worker thread with `handle`, one reply per request, after running
 * `prepare` once (loading fonts, layouts, rules) and announcing readiness; the thread is named
 * `threadName` (see nameThisThread). Does nothing when not in a worker thread.
 */
export function serveWorkerRequests(threadName: string, handle: (request: unknown) => Promise<HandlerResult>, prepare?: () => void): void {
  const port = parentPort;
  if (port === null) return;
  nameThisThread(threadName);
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
