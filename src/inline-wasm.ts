// Where the self-contained browser bundle finds each build's module. As compiled by tsc this
// is the file beside the entry, as in browser.ts; scripts/build-browser.mjs replaces this
// module, when it bundles dist/convcore.browser.js, with one that returns the bytes of
// build/convcore.wasm or build/convcore.relaxed.wasm, both inlined as base64.
import type { SimdLevel } from './wasm.js';

export function inlineWasm(level: SimdLevel): URL | Uint8Array {
  return level === 'relaxed' ? new URL('./convcore.relaxed.wasm', import.meta.url) : new URL('./convcore.wasm', import.meta.url);
}
