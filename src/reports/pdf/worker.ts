/**
 * A PDF rendering worker thread: loads the layout and the fonts once, then renders one report per
 * request (`WorkerRequest` in, the PDF as a transferred ArrayBuffer out). Errors keep their
 * AppError code so the pool can rethrow them (src/util/worker-serve.ts).
 */
import { ownArrayBuffer, serveWorkerRequests } from '../../util/worker-serve.js';
import { loadFonts } from './fonts.js';
import { loadPdfLayout } from './layout.js';
import { renderReportPdf } from './render.js';

/** A render request as posted to the worker (structured clone turns Buffers into Uint8Arrays). */
export interface WorkerRequest {
  readonly reportBytes: Uint8Array;
  readonly jws: string;
  readonly signer: { readonly p12: Uint8Array; readonly passphrase: string };
}

/** The OS name of PDF worker threads (`top -H`, /proc/<pid>/task/<tid>/comm). */
export const PDF_WORKER_THREAD_NAME = 'pdf-worker';

serveWorkerRequests(
  PDF_WORKER_THREAD_NAME,
  async (message) => {
    const request = message as WorkerRequest;
    const pdf = await renderReportPdf({
      reportBytes: request.reportBytes,
      jws: request.jws,
      // The PKCS#12 arrives as a Uint8Array; the signer reads it as a Buffer.
      signer: { p12: Buffer.from(request.signer.p12), passphrase: request.signer.passphrase },
    });
    const own = ownArrayBuffer(pdf);
    return { result: own, transfer: [own] };
  },
  () => loadFonts(loadPdfLayout()), // once per worker, before the first request
);
