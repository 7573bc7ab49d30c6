// The Node entry: the module is read from disk and instantiated synchronously on the
// first op, so no init() is needed (it is still exported, and accepts another source).
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { setFileReader, setDefaultSource } from './wasm.js';
import { setThreadHost } from './threads.js';

setFileReader((source) => new Uint8Array(readFileSync(source instanceof URL || !/^file:/.test(source) ? source : new URL(source))));
// The package ships one .wasm, dist/convcore.wasm, beside this file (the browser entry loads
// the same one); run from src/ (the tests), the entry finds it where asc writes it, in build/.
const beside = new URL('./convcore.wasm', import.meta.url);
const built = new URL('../build/convcore.wasm', import.meta.url);
setDefaultSource(() => (existsSync(beside) ? beside : built));

// The pool's workers: eval workers (the worker is a string, src/threads.ts), unref'd so that
// they never keep the process alive.
setThreadHost({
  cores: () => availableParallelism(),
  isolated: () => true,
  spawn(source, data, events) {
    const w = new Worker(`${source}\nconst { workerData, parentPort } = require('node:worker_threads');\nrun(workerData, (m) => parentPort.postMessage(m));`,
      // execArgv: [] so that a parent's --input-type=module does not make the worker's script a module.
      { eval: true, workerData: data, execArgv: [] });
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
