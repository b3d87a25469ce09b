// Starts a worker of a pool (worker-pool.ts) from TypeScript source (development and tests):
// registers tsx in this worker thread, then imports the entry given in workerData. Compiled
// builds (dist/) start the compiled worker directly and never load this file.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
