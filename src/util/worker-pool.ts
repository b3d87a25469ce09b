/**
 * A pool of worker threads for CPU-heavy work that must not stall the event loop (PDF rendering,
 * building and signing reports). Requests wait in a bounded FIFO queue; a worker that dies is
 * replaced and its request fails; a request that takes too long fails and its worker is replaced.
 *
 * Workers run `<name>.js` beside their module when compiled (dist/), and `<name>.ts` through a
 * small bootstrap that registers tsx when running from source (development, tests, tsx). The
 * worker side is `serveWorkerRequests` (worker-serve.ts).
 */
import { Worker } from 'node:worker_threads';
import type { ResourceLimits, Transferable } from 'node:worker_threads';
import { AppError } from '../errors.js';
import type { WorkerFailure, WorkerReply } from './worker-serve.js';

/** Options of `createWorkerPool`. */
export interface WorkerPoolOptions<I, O> {
  /** What the workers do, for messages: "PDF rendering", "report building". */
  readonly label: string;
  /** The worker module: its URL without extension, beside the module creating the pool (e.g. `new URL('./worker', import.meta.url)`). */
  readonly entry: URL;
  /** Whether the pool's creator runs from TypeScript source (then the worker does too, through tsx). */
  readonly fromSource: boolean;
  readonly size: number;
  /** Requests that may wait beyond those being worked on; more are refused with 503. */
  readonly maxQueue: number;
  /** A request taking longer fails with 503 and its worker is replaced. */
  readonly timeoutMs: number;
  readonly resourceLimits?: ResourceLimits;
  /** The message for a request, and what to transfer rather than copy. */
  readonly encode: (input: I) => { readonly message: unknown; readonly transfer?: readonly Transferable[] };
  /** The result from a worker's successful reply. */
  readonly decode: (result: unknown) => O;
}

/** What a pool is doing: its workers, the requests they are working on, the requests waiting. */
export interface WorkerPoolStats {
  readonly workers: number;
  readonly busy: number;
  readonly queued: number;
}

/** A running pool. */
export interface WorkerPool<I, O> {
  /**
   * Runs one request in a worker. Guarantees: rejects with `AppError('service-unavailable')`
   * (Retry-After 1) when the queue is full, the pool is closed or the request timed out; with the
   * worker's `AppError` (same code, detail and field errors) when the worker refused the input;
   * with an `Error` once workers have failed to start three times in a row (not retried).
   */
  run(input: I): Promise<O>;
  /** Rejects queued requests, waits for nothing else, and terminates the workers. Idempotent. */
  close(): Promise<void>;
  /** Workers, requests being worked on, requests waiting. */
  stats(): WorkerPoolStats;
}

interface Task<I, O> {
  readonly id: number;
  readonly input: I;
  readonly resolve: (result: O) => void;
  readonly reject: (error: Error) => void;
}

interface Slot<I, O> {
  worker: Worker;
  ready: boolean;
  task: Task<I, O> | undefined;
  timer: NodeJS.Timeout | undefined;
}

const MAX_STARTUP_FAILURES = 3;
const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);

/** The error a worker reported, as the AppError it was (with its field errors) or a plain Error. */
function errorFromWorker(failure: WorkerFailure): Error {
  if (failure.code === undefined) return new Error(failure.message);
  return new AppError(failure.code, failure.message, { errors: failure.errors ?? [], ...(failure.pointer === undefined ? {} : { pointer: failure.pointer }) });
}

/**
 * Starts a pool of `size` workers. Guarantees: at most `size` requests run at once, at most
 * `maxQueue` wait, in arrival order; the calling thread only encodes requests and decodes replies.
 */
export function createWorkerPool<I, O>(options: WorkerPoolOptions<I, O>): WorkerPool<I, O> {
  const { label, size, maxQueue, timeoutMs } = options;
  const queue: Task<I, O>[] = [];
  const slots: Slot<I, O>[] = [];
  let nextId = 1;
  let closed = false;
  // Workers that died before becoming ready, in a row: a broken installation (a missing font or
  // template) must fail requests, not respawn workers forever.
  let startupFailures = 0;
  let broken: Error | undefined;

  // A worker keeps the process alive only while it has work: its task, or the queue while it
  // starts. An idle pool never holds a process open, closed or not.
  const updateRefs = (): void => {
    for (const slot of slots) {
      if (slot.task !== undefined || (!slot.ready && queue.length > 0)) slot.worker.ref();
      else slot.worker.unref();
    }
  };

  const unavailable = (detail: string): AppError => new AppError('service-unavailable', detail, { headers: { 'Retry-After': '1' } });

  const spawn = (): Slot<I, O> => {
    const resourceLimits = options.resourceLimits ?? {};
    const worker = options.fromSource
      ? new Worker(BOOTSTRAP, { workerData: { entry: `${options.entry.href}.ts` }, resourceLimits })
      : new Worker(new URL(`${options.entry.href}.js`), { resourceLimits });
    const slot: Slot<I, O> = { worker, ready: false, task: undefined, timer: undefined };
    worker.on('message', (message: WorkerReply | { ready: true }) => {
      if ('ready' in message) {
        slot.ready = true;
        startupFailures = 0;
        dispatch();
        updateRefs();
        return;
      }
      const task = slot.task;
      if (task === undefined || task.id !== message.id) return;
      finish(slot);
      if (message.ok) {
        let result: O;
        try {
          result = options.decode(message.result);
        } catch (error) {
          task.reject(error instanceof Error ? error : new Error(String(error)));
          dispatch();
          updateRefs();
          return;
        }
        task.resolve(result);
      } else {
        task.reject(errorFromWorker(message.error));
      }
      dispatch();
      updateRefs();
    });
    const fail = (error: Error): void => {
      const task = slot.task;
      finish(slot);
      const index = slots.indexOf(slot);
      if (index >= 0) slots.splice(index, 1);
      task?.reject(error);
      if (!slot.ready && ++startupFailures >= MAX_STARTUP_FAILURES) {
        broken = new Error(`${label} workers fail to start: ${error.message}`);
        for (const queued of queue.splice(0)) queued.reject(broken);
        return;
      }
      if (!closed) slots.push(spawn());
      updateRefs();
    };
    worker.on('error', (error) => fail(error));
    worker.on('exit', (code) => {
      if (slots.includes(slot)) fail(new Error(`${label} worker exited with code ${code}`));
    });
    return slot;
  };

  const finish = (slot: Slot<I, O>): void => {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.task = undefined;
  };

  const dispatch = (): void => {
    for (const slot of slots) {
      if (queue.length === 0) return;
      if (!slot.ready || slot.task !== undefined) continue;
      const task = queue.shift()!;
      slot.task = task;
      slot.timer = setTimeout(() => {
        // A stuck request: fail it and replace the worker.
        const index = slots.indexOf(slot);
        if (index >= 0) slots.splice(index, 1);
        finish(slot);
        task.reject(unavailable(`${label} took longer than ${timeoutMs} ms`));
        void slot.worker.terminate();
        if (!closed) slots.push(spawn());
        updateRefs();
      }, timeoutMs);
      try {
        // Both may throw: encode on a bad input, postMessage on what structured clone refuses.
        const encoded = options.encode(task.input);
        slot.worker.postMessage({ id: task.id, request: encoded.message }, encoded.transfer === undefined ? undefined : [...encoded.transfer]);
      } catch (error) {
        finish(slot);
        task.reject(error instanceof Error ? error : new Error(String(error)));
        queueMicrotask(dispatch); // the slot is free again for the next request
      }
    }
  };

  for (let i = 0; i < size; i++) slots.push(spawn());
  updateRefs();

  return {
    run(input: I): Promise<O> {
      if (closed) return Promise.reject(unavailable(`${label} is shut down`));
      if (broken !== undefined) return Promise.reject(broken);
      const idle = slots.filter((s) => s.ready && s.task === undefined).length;
      if (queue.length - idle >= maxQueue) return Promise.reject(unavailable(`too many requests are waiting for ${label}; retry shortly`));
      return new Promise<O>((resolve, reject) => {
        queue.push({ id: nextId++, input, resolve, reject });
        dispatch();
        updateRefs();
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const task of queue.splice(0)) task.reject(unavailable(`${label} is shut down`));
      const all = slots.splice(0);
      for (const slot of all) {
        if (slot.timer !== undefined) clearTimeout(slot.timer);
        slot.task?.reject(unavailable(`${label} is shut down`));
      }
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
    stats() {
      return { workers: slots.length, busy: slots.filter((s) => s.task !== undefined).length, queued: queue.length };
    },
  };
}
