// The browser entry for bundlers and import maps: the module is fetched from
// convcore.wasm beside this file (the build copies it into dist/). Bundlers that
// understand `new URL(..., import.meta.url)` (Vite, webpack 5, Parcel, esbuild with a
// file loader) emit the .wasm as an asset and rewrite the URL. `await init()` first.
import { setDefaultSource } from './wasm.js';

setDefaultSource(() => new URL('./convcore.wasm', import.meta.url));

import { setBrowserThreadHost } from './browser-threads.js';

setBrowserThreadHost();

export * from './api.js';
