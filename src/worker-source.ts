// The source of the browser worker (src/worker-browser.ts, bundled into one script), for
// the blob: workers of src/browser-threads.ts. scripts/build-browser.mjs writes the real
// dist/worker-source.js over what tsc makes of this file, and puts the same text in the
// inlined bundle; this stand-in only says so if it is ever run unbuilt.
export function workerSource(): string {
  throw new Error('convcore: the browser worker is bundled by scripts/build-browser.mjs; run `npm run build`');
}
