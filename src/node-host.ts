// The pool's workers in Node: worker_threads running src/worker-node.ts, unref'd once ready
// so that they never keep the process alive.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ThreadHost } from './threads.js';

// The worker as compiled beside this file; run from src/ (the tests), the compiled one in
// dist/, which `npm run build` (and so `npm test`) makes first.
const beside = new URL('./worker-node.js', import.meta.url);
const built = new URL('../dist/worker-node.js', import.meta.url);

/** A host whose workers run `script` (a module that starts src/worker.ts's runWorker). */
export function nodeThreadHost(script: URL = existsSync(beside) ? beside : built): ThreadHost {
  return {
    cores: () => availableParallelism(),
    isolated: () => true,
    spawn(data, events) {
      // execArgv: [] so that a parent's --input-type=module or loader flags do not reach the worker.
      const w = new Worker(script, { workerData: data, execArgv: [] });
      // Referenced until it has said it is ready (init awaits that), then unref'd; after the
      // listeners, since adding a 'message' listener refs a worker again.
      w.on('message', (m) => {
        w.unref();
        events.message(m);
      });
      w.on('error', (e: Error) => events.error(e.message));
      w.on('exit', (code) => events.exit(code));
      return { terminate: () => { void w.terminate(); } };
    },
  };
}
