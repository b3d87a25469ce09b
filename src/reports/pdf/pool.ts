/**
 * A pool of worker threads that render report PDFs off the event loop, so a burst of PDF
 * downloads does not stall other requests. Each worker loads the layout and fonts once; requests
 * wait in a bounded FIFO queue; a worker that dies is replaced and its request fails.
 *
 * Workers run `worker.js` beside this file when compiled (dist/), and `worker.ts` through tsx when
 * running from source (src/util/worker-pool.ts).
 */
import { availableParallelism } from 'node:os';
import { createWorkerPool, type WorkerPoolStats } from '../../util/worker-pool.js';
import type { RenderReportPdfInput } from './render.js';
import type { WorkerRequest } from './worker.js';

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
  stats(): WorkerPoolStats;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * Starts a pool. Guarantees: at most `size` renders run at once, at most `maxQueue` wait, in
 * arrival order; the event loop of the calling thread only copies bytes in and out.
 */
export function createPdfRenderPool(options: PdfRenderPoolOptions = {}): PdfRenderPool {
  const pool = createWorkerPool<RenderReportPdfInput, Buffer>({
    label: 'PDF rendering',
    entry: new URL('./worker', import.meta.url),
    fromSource: FROM_SOURCE,
    size: Math.max(1, Math.floor(options.size ?? Math.min(2, availableParallelism()))),
    maxQueue: Math.max(0, Math.floor(options.maxQueue ?? 64)),
    timeoutMs: options.timeoutMs ?? 30_000,
    resourceLimits: { maxYoungGenerationSizeMb: options.youngGenerationMb ?? DEFAULT_YOUNG_GENERATION_MB },
    encode: (input) => ({ message: { reportBytes: input.reportBytes, jws: input.jws, signer: { p12: input.signer.p12, passphrase: input.signer.passphrase } } satisfies WorkerRequest }),
    decode: (result) => Buffer.from(result as ArrayBuffer),
  });
  return { renderInPool: (input) => pool.run(input), close: () => pool.close(), stats: () => pool.stats() };
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

/** What the process-wide PDF pool is doing; undefined before its first use. */
export function sharedPdfPoolStats(): WorkerPoolStats | undefined {
  return shared?.stats();
}

/** Closes the process-wide pool, if one was started. Idempotent. */
export async function closeSharedPdfPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
