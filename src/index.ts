// The Node entry: the module is read from disk and instantiated synchronously on the
// first op, so no init() is needed (it is still exported, and accepts another source).
import { existsSync, readFileSync } from 'node:fs';
import { setFileReader, setDefaultSource, setThreadHost } from './wasm.js';
import { nodeThreadHost } from './node-host.js';

setFileReader((source) => new Uint8Array(readFileSync(source instanceof URL || !/^file:/.test(source) ? source : new URL(source))));
// The package ships one .wasm, dist/convcore.wasm, beside this file (the browser entry loads
// the same one); run from src/ (the tests), the entry finds it where asc writes it, in build/.
const beside = new URL('./convcore.wasm', import.meta.url);
const built = new URL('../build/convcore.wasm', import.meta.url);
setDefaultSource(() => (existsSync(beside) ? beside : built));

setThreadHost(nodeThreadHost());

export * from './api.js';
