/**
 * A pool of worker threads that render report PDFs off the event loop, so a burst of PDF
 * downloads does not stall other requests. Each worker loads the layout and fonts once; requests
 * wait in a bounded FIFO queue; a worker that dies is replaced and its request fails.
 *
 * Workers run `worker.js` beside this file when compiled (dist/), and `worker.ts` through a small
 * bootstrap that registers tsx when running from source (development, tests, tsx).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AppError } from '../../errors.js';
import type { RenderReportPdfInput } from './render.js';
import type { WorkerRequest, WorkerResponse } from './worker.js';

/** Options of `createPdfRenderPool`. */
export interface PdfRenderPoolOptions {
  /** Worker threads (default min(2, available cores)). */
  readonly size?: number;
  /** Requests that may wait beyond those being rendered (default 64); more are refused with 503. */
  readonly maxQueue?: number;
  /** A render taking longer fails with 503 and its worker is replaced (default 30 s). */
  readonly timeoutMs?: number;
  /** Each worker's young generation in MB (default 192, see DEFAULT_YOUNG_GENERATION_MB). */
  readonly youngGenerationMb?: number;
}

/**
 * A render allocates many short-lived objects (pdfkit turns every content operator into a small
 * typed array), and with V8's default young generation (48 MB) garbage collection took 18 % of
 * a profile of 45 renders. With 192 MB (64 MB semi-spaces): in-process, the median render went from
 * 89 to 80 ms wall and 110 to 92 ms CPU (bench/pdf with --max-semi-space-size=64; 128 gave the
 * same, 32 nothing); in a worker, p95 went from 115–130 to 92–105 ms and the median from 82–95 to
 * 79–88 ms over two alternating runs of 40.
 */
export const DEFAULT_YOUNG_GENERATION_MB = 192;

/** A running pool. */
export interface PdfRenderPool {
  /**
   * Renders in a worker. Guarantees: the same bytes as `renderReportPdf(input)` in-process;
   * rejects with `AppError('service-unavailable')` (Retry-After 1) when the queue is full or the
   * pool is closed, with the worker's `AppError` (e.g. 'bad-request') when the input is refused,
   * and with an `Error` once workers have failed to start three times in a row (not retried).
   */
  renderInPool(input: RenderReportPdfInput): Promise<Buffer>;
  /** Rejects queued requests, waits for nothing else, and terminates the workers. Idempotent. */
  close(): Promise<void>;
  /** Workers, requests being rendered, requests waiting. */
  stats(): { readonly workers: number; readonly busy: number; readonly queued: number };
}

interface Task {
  readonly id: number;
  readonly input: RenderReportPdfInput;
  readonly resolve: (pdf: Buffer) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  task: Task | undefined;
  timer: NodeJS.Timeout | undefined;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const MAX_STARTUP_FAILURES = 3;

/**
 * Starts a pool. Guarantees: at most `size` renders run at once, at most `maxQueue` wait, in
 * arrival order; the event loop of the calling thread only copies bytes in and out.
 */
export function createPdfRenderPool(options: PdfRenderPoolOptions = {}): PdfRenderPool {
  const size = Math.max(1, Math.floor(options.size ?? Math.min(2, availableParallelism())));
  const maxQueue = Math.max(0, Math.floor(options.maxQueue ?? 64));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const youngGenerationMb = options.youngGenerationMb ?? DEFAULT_YOUNG_GENERATION_MB;
  const queue: Task[] = [];
  const slots: Slot[] = [];
  let nextId = 1;
  let closed = false;
  // Workers that died before becoming ready, in a row: a broken installation (a missing font or
  // template) must fail requests, not respawn workers forever.
  let startupFailures = 0;
  let broken: Error | undefined;

  const unavailable = (detail: string): AppError => new AppError('service-unavailable', detail, { headers: { 'Retry-After': '1' } });

  const spawn = (): Slot => {
    const resourceLimits = { maxYoungGenerationSizeMb: youngGenerationMb };
    const worker = FROM_SOURCE
      ? new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: { entry: new URL('./worker.ts', import.meta.url).href }, resourceLimits })
      : new Worker(new URL('./worker.js', import.meta.url), { resourceLimits });
    const slot: Slot = { worker, ready: false, task: undefined, timer: undefined };
    worker.on('message', (message: WorkerResponse | { ready: true }) => {
      if ('ready' in message) {
        slot.ready = true;
        startupFailures = 0;
        dispatch();
        return;
      }
      const task = slot.task;
      if (task === undefined || task.id !== message.id) return;
      finish(slot);
      if (message.ok) task.resolve(Buffer.from(message.pdf));
      else task.reject(message.error.code === undefined ? new Error(message.error.message) : new AppError(message.error.code, message.error.message));
      dispatch();
    });
    const fail = (error: Error): void => {
      const task = slot.task;
      finish(slot);
      const index = slots.indexOf(slot);
      if (index >= 0) slots.splice(index, 1);
      task?.reject(error);
      if (!slot.ready && ++startupFailures >= MAX_STARTUP_FAILURES) {
        broken = new Error(`PDF workers fail to start: ${error.message}`);
        for (const queued of queue.splice(0)) queued.reject(broken);
        return;
      }
      if (!closed) {
        slots.push(spawn());
      }
    };
    worker.on('error', (error) => fail(error));
    worker.on('exit', (code) => {
      if (slots.includes(slot)) fail(new Error(`PDF worker exited with code ${code}`));
    });
    return slot;
  };

  const finish = (slot: Slot): void => {
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
        // A stuck render: fail it and replace the worker.
        const index = slots.indexOf(slot);
        if (index >= 0) slots.splice(index, 1);
        finish(slot);
        task.reject(unavailable(`PDF rendering took longer than ${timeoutMs} ms`));
        void slot.worker.terminate();
        if (!closed) slots.push(spawn());
      }, timeoutMs);
      const request: WorkerRequest = { id: task.id, input: { reportBytes: task.input.reportBytes, jws: task.input.jws, signer: { p12: task.input.signer.p12, passphrase: task.input.signer.passphrase } } };
      slot.worker.postMessage(request);
    }
  };

  for (let i = 0; i < size; i++) slots.push(spawn());

  return {
    renderInPool(input: RenderReportPdfInput): Promise<Buffer> {
      if (closed) return Promise.reject(unavailable('the PDF renderer is shut down'));
      if (broken !== undefined) return Promise.reject(broken);
      const idle = slots.filter((s) => s.ready && s.task === undefined).length;
      if (queue.length - idle >= maxQueue) return Promise.reject(unavailable('too many PDF renders are waiting; retry shortly'));
      return new Promise<Buffer>((resolve, reject) => {
        queue.push({ id: nextId++, input, resolve, reject });
        dispatch();
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const task of queue.splice(0)) task.reject(unavailable('the PDF renderer is shut down'));
      const all = slots.splice(0);
      for (const slot of all) {
        if (slot.timer !== undefined) clearTimeout(slot.timer);
        slot.task?.reject(unavailable('the PDF renderer is shut down'));
      }
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
    stats() {
      return { workers: slots.length, busy: slots.filter((s) => s.task !== undefined).length, queued: queue.length };
    },
  };
}

let shared: PdfRenderPool | undefined;

/**
 * Renders through a process-wide pool created on first use with the default options.
 * Guarantees: those of `PdfRenderPool.renderInPool`. Call `closeSharedPdfPool()` at shutdown.
 */
export function renderInPool(input: RenderReportPdfInput): Promise<Buffer> {
  shared ??= createPdfRenderPool();
  return shared.renderInPool(input);
}

/** Closes the process-wide pool, if one was started. Idempotent. */
export async function closeSharedPdfPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
