/**
 * A PDF rendering worker thread: loads the layout and the fonts once, then renders one report per
 * message. Messages: `{ id, input }` in, `{ id, ok: true, pdf }` (transferred ArrayBuffer) or
 * `{ id, ok: false, error }` out. Errors keep their AppError code so the pool can rethrow them.
 */
import { parentPort } from 'node:worker_threads';
import { AppError } from '../../errors.js';
import type { ProblemCode } from '../../errors.js';
import { loadFonts } from './fonts.js';
import { loadPdfLayout } from './layout.js';
import { renderReportPdf } from './render.js';
import type { RenderReportPdfInput } from './render.js';

/** A render request as posted to the worker (structured clone turns Buffers into Uint8Arrays). */
export interface WorkerRequest {
  readonly id: number;
  readonly input: { readonly reportBytes: Uint8Array; readonly jws: string; readonly signer: { readonly p12: Uint8Array; readonly passphrase: string } };
}

/** A worker's answer. */
export type WorkerResponse =
  | { readonly id: number; readonly ok: true; readonly pdf: ArrayBuffer }
  | { readonly id: number; readonly ok: false; readonly error: { readonly message: string; readonly code?: ProblemCode } };

const port = parentPort;
if (port !== null) {
  loadFonts(loadPdfLayout()); // once per worker, before the first request
  port.on('message', (request: WorkerRequest) => {
    void handle(request).then(({ response, transfer }) => port.postMessage(response, transfer));
  });
  port.postMessage({ ready: true });
}

async function handle(request: WorkerRequest): Promise<{ response: WorkerResponse; transfer: ArrayBuffer[] }> {
  try {
    const input: RenderReportPdfInput = {
      reportBytes: request.input.reportBytes,
      jws: request.input.jws,
      // The PKCS#12 arrives as a Uint8Array; the signer reads it as a Buffer.
      signer: { p12: Buffer.from(request.input.signer.p12), passphrase: request.input.signer.passphrase },
    };
    const pdf = await renderReportPdf(input);
    const own = pdf.byteOffset === 0 && pdf.byteLength === pdf.buffer.byteLength ? (pdf.buffer as ArrayBuffer) : new Uint8Array(pdf).buffer;
    return { response: { id: request.id, ok: true, pdf: own }, transfer: [own] };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { response: { id: request.id, ok: false, error: error instanceof AppError ? { message: error.detail, code: error.code } : { message } }, transfer: [] };
  }
}
