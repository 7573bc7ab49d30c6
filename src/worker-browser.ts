// The pool's worker in a page: src/worker.ts in a Web Worker. scripts/build-browser.mjs
// bundles this file into one script, which the browser entries start as a blob: worker
// (src/browser-threads.ts), so that no worker script has to be served.
import { WorkerData, runWorker } from './worker.js';

interface WorkerScope {
  onmessage: ((e: { data: WorkerData }) => void) | null;
  postMessage(m: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (e) => {
  scope.onmessage = null;
  runWorker(e.data, (m) => scope.postMessage(m));
};
