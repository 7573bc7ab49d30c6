// The Node entry: the module is read from disk and instantiated synchronously on the
// first op, so no init() is needed (it is still exported, and accepts another source).
import { existsSync, readFileSync } from 'node:fs';
import { setFileReader, setDefaultSource, setThreadHost } from './wasm.js';
import { nodeThreadHost } from './node-host.js';

setFileReader((source) => new Uint8Array(readFileSync(source instanceof URL || !/^file:/.test(source) ? source : new URL(source))));
// The package ships two builds beside this file, dist/convcore.wasm (plain) and
// dist/convcore.relaxed.wasm (the browser entry loads the same ones); run from src/ (the
// tests), the entry finds them where asc writes them, in build/.
const FILES = { plain: 'convcore.wasm', relaxed: 'convcore.relaxed.wasm' } as const;
setDefaultSource((level) => {
  const beside = new URL(`./${FILES[level]}`, import.meta.url);
  return existsSync(beside) ? beside : new URL(`../build/${FILES[level]}`, import.meta.url);
});

setThreadHost(nodeThreadHost());

export * from './api.js';
