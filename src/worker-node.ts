// The pool's worker in Node: src/worker.ts on a worker_threads thread. Its exit, however it
// comes (process.exit, an uncaught error), is marked in the control block first, so that
// the calling thread notices a part the worker had claimed and will never finish.
import { parentPort, workerData } from 'node:worker_threads';
import { WorkerData, markExited, runWorker } from './worker.js';

const data = workerData as WorkerData;
process.on('exit', (code) => markExited(data, code));
runWorker(data, (m) => parentPort!.postMessage(m));
