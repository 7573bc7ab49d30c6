// The browser entry for bundlers and import maps: the module is fetched from
// convcore.relaxed.wasm or convcore.wasm beside this file (the build copies both into dist/;
// src/wasm.ts picks the build). Bundlers that
// understand `new URL(..., import.meta.url)` (Vite, webpack 5, Parcel) emit the .wasm as an
// asset and rewrite the URL; esbuild does not, so with esbuild import `convcore/inline`
// (src/browser-inline.ts) instead. `await init()` first.
import { setDefaultSource } from './wasm.js';

// Two literal URLs, so that a bundler emits both files.
setDefaultSource((level) => (level === 'relaxed'
  ? new URL('./convcore.relaxed.wasm', import.meta.url)
  : new URL('./convcore.wasm', import.meta.url)));

import { setBrowserThreadHost } from './browser-threads.js';

setBrowserThreadHost();

export * from './api.js';
