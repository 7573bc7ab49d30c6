// The browser entry for bundlers and import maps: the module is fetched from
// convcore.wasm beside this file (the build copies it into dist/). Bundlers that
// understand `new URL(..., import.meta.url)` (Vite, webpack 5, Parcel) emit the .wasm as an
// asset and rewrite the URL; esbuild does not, so with esbuild import `convcore/inline`
// (src/browser-inline.ts) instead. `await init()` first.
import { setDefaultSource } from './wasm.js';

setDefaultSource(() => new URL('./convcore.wasm', import.meta.url));

import { setBrowserThreadHost } from './browser-threads.js';

setBrowserThreadHost();

export * from './api.js';
