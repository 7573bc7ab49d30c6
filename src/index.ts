// The Node entry: the module is read from disk and instantiated synchronously on the
// first op, so no init() is needed (it is still exported, and accepts another source).
import { readFileSync } from 'node:fs';
import { setFileReader, setDefaultSource } from './wasm.js';

setFileReader((source) => new Uint8Array(readFileSync(source instanceof URL || !/^file:/.test(source) ? source : new URL(source))));
setDefaultSource(() => new URL('../build/convcore.wasm', import.meta.url));

export * from './api.js';
