// Where the self-contained browser bundle finds its module. As compiled by tsc this is
// the file beside the entry, as in browser.ts; scripts/build-browser.mjs replaces this
// module, when it bundles dist/convcore.browser.js, with one that returns the bytes of
// build/convcore.wasm, inlined as base64.
export function inlineWasm(): URL | Uint8Array {
  return new URL('./convcore.wasm', import.meta.url);
}
