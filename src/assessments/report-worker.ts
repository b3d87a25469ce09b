/**
 * A report-building worker thread (report-builder.ts): evaluates one submission's answers with
 * the rules module and builds, hashes and signs its report. The bytes go back transferred.
 */
import { evaluate, listRulesets } from '../rules/index.js';
import { ownArrayBuffer, serveWorkerRequests } from '../util/worker-serve.js';
import { buildReport, REPORT_WORKER_THREAD_NAME } from './report-builder.js';
import type { BuildReportRequest, WorkerBuiltReport } from './report-builder.js';

async function handle(message: unknown): Promise<{ result: WorkerBuiltReport; transfer: ArrayBuffer[] }> {
  let evaluationMs = 0;
  const built = await buildReport(async (input) => {
    const start = performance.now();
    try {
      return await evaluate(input);
    } finally {
      evaluationMs = performance.now() - start;
    }
  }, message as BuildReportRequest);
  const bytes = ownArrayBuffer(built.bytes);
  return { result: { ...built, bytes, evaluationMs }, transfer: [bytes] };
}

// Loads and checks every ruleset once, before the first request.
serveWorkerRequests(REPORT_WORKER_THREAD_NAME, handle, () => void listRulesets());
