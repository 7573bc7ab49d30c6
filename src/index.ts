// The Node entry: the module is read from disk and instantiated synchronously on the
// first op, so no init() is needed (it is still exported, and accepts another source).
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { setFileReader, setDefaultSource, setThreadHost } from './wasm.js';

setFileReader((source) => new Uint8Array(readFileSync(source instanceof URL || !/^file:/.test(source) ? source : new URL(source))));
// The package ships one .wasm, dist/convcore.wasm, beside this file (the browser entry loads
// the same one); run from src/ (the tests), the entry finds it where asc writes it, in build/.
const beside = new URL('./convcore.wasm', import.meta.url);
const built = new URL('../build/convcore.wasm', import.meta.url);
setDefaultSource(() => (existsSync(beside) ? beside : built));

// The pool's worker, src/worker-node.ts, as compiled beside this file; run from src/ (the
// tests), the compiled one in dist/, which `npm run build` (and so `npm test`) makes first.
const workerBeside = new URL('./worker-node.js', import.meta.url);
const workerBuilt = new URL('../dist/worker-node.js', import.meta.url);

// Workers are unref'd once ready, so that they never keep the process alive.
setThreadHost({
  cores: () => availableParallelism(),
  isolated: () => true,
  spawn(data, events) {
    // execArgv: [] so that a parent's --input-type=module or loader flags do not reach the worker.
    const w = new Worker(existsSync(workerBeside) ? workerBeside : workerBuilt, { workerData: data, execArgv: [] });
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
});

export * from './api.js';
