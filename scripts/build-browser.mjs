#!/usr/bin/env node
// The browser builds, the last step of `npm run build` (after asc and tsc):
// - dist/convcore.wasm and dist/convcore.relaxed.wasm: copies of the plain and the relaxed
//   builds in build/, beside dist/browser.js (the regular browser entry, compiled by tsc),
//   which loads the one src/wasm.ts picks through new URL('./convcore….wasm', import.meta.url);
// - dist/convcore.browser.js: one self-contained ES module, both builds inlined as base64,
//   that needs no configuration (the package's `convcore/inline` subpath, for bundlers that
//   do not rewrite new URL(..., import.meta.url), such as esbuild), and its dist/convcore.browser.d.ts.
// These are the two .wasm files the package ships: the Node entry (dist/index.js) reads them too.
// It also exports buildSupportBundles(), which the browser test and the demo server use to
// bundle src/reference and src/gradcheck for the browser (never shipped).
// It measures dist/convcore.browser.js, prints its size and writes it into README.md between
// the bundle-size markers, so the README states what the build measured (test/readme.test.ts
// checks that it does).
// esbuild: one small dependency-free binary that bundles TypeScript directly, in well under a
// second, with an onLoad hook that is all the inlining needs.
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const wasmPath = join(root, 'build', 'convcore.wasm');
const relaxedPath = join(root, 'build', 'convcore.relaxed.wasm');
const dist = join(root, 'dist');
export const bundlePath = join(dist, 'convcore.browser.js');
/** The inlined bundle with toOnnx, for the training page. */
export const onnxBundlePath = join(dist, 'convcore.onnx.browser.js');

/** The types of dist/convcore.browser.js (the `convcore/inline` subpath): those of the API. */
export const bundleTypes = "export * from './api.js';\n";

const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'warning' };

/** Replaces src/inline-wasm.ts with a module that returns the bytes of either build. */
function inlineWasmPlugin(builds) {
  return {
    name: 'convcore-inline-wasm',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]inline-wasm\.ts$/ }, () => ({
        loader: 'js',
        contents: [
          `const plain = ${JSON.stringify(Buffer.from(builds.plain).toString('base64'))};`,
          `const relaxed = ${JSON.stringify(Buffer.from(builds.relaxed).toString('base64'))};`,
          'export function inlineWasm(level) {',
          "  const s = atob(level === 'relaxed' ? relaxed : plain);",
          '  const bytes = new Uint8Array(s.length);',
          '  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);',
          '  return bytes;',
          '}',
        ].join('\n'),
      }));
    },
  };
}

function readWasm(path = wasmPath, script = 'asbuild:release') {
  try {
    return readFileSync(path);
  } catch {
    throw new Error(`build-browser: ${path} is missing; run \`npm run ${script}\` first`);
  }
}

/** The pool's browser worker (src/worker-browser.ts) bundled into one classic script, as text. */
export async function bundleWorker() {
  const out = await build({
    ...common,
    format: 'iife',
    entryPoints: [join(root, 'src', 'worker-browser.ts')],
    write: false,
    minify: true,
    legalComments: 'none',
  });
  return out.outputFiles[0].text;
}

/** The text of a module that gives the worker's source, in place of src/worker-source.ts. */
function workerSourceModule(source) {
  return `export function workerSource() { return ${JSON.stringify(source)}; }\n`;
}

/** Replaces src/worker-source.ts with a module that returns the bundled worker's source. */
function inlineWorkerPlugin(source) {
  return {
    name: 'convcore-inline-worker',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]worker-source\.ts$/ }, () => ({ loader: 'js', contents: workerSourceModule(source) }));
    },
  };
}

/**
 * Copies the .wasm beside dist/browser.js, writes the worker's source over what tsc made of
 * src/worker-source.ts, and writes the inlined bundle; returns the bundle's size in bytes.
 */
export async function buildBrowser() {
  const bytes = { plain: readWasm(), relaxed: readWasm(relaxedPath, 'asbuild:relaxed') };
  mkdirSync(dist, { recursive: true });
  copyFileSync(wasmPath, join(dist, 'convcore.wasm'));
  copyFileSync(relaxedPath, join(dist, 'convcore.relaxed.wasm'));
  const worker = await bundleWorker();
  writeFileSync(join(dist, 'worker-source.js'), workerSourceModule(worker));
  await build({
    ...common,
    entryPoints: [join(root, 'src', 'browser-inline.ts')],
    outfile: bundlePath,
    minify: true,
    keepNames: true,
    legalComments: 'none',
    plugins: [inlineWasmPlugin(bytes), inlineWorkerPlugin(worker)],
  });
  writeFileSync(join(dist, 'convcore.browser.d.ts'), bundleTypes);
  // The same with toOnnx (and protobuf), for pages that export their models.
  await build({
    ...common,
    entryPoints: [join(root, 'src', 'browser-inline-onnx.ts')],
    outfile: onnxBundlePath,
    minify: true,
    keepNames: true,
    legalComments: 'none',
    plugins: [inlineWasmPlugin(bytes), inlineWorkerPlugin(worker)],
  });
  writeFileSync(join(dist, 'convcore.onnx.browser.d.ts'), "export * from './api.js';\nexport { toOnnx, ONNX_OPSET } from './onnx.js';\n");
  return statSync(bundlePath).size;
}

/**
 * Bundles the reference loops and the gradient check for pages (tests, demo) into outdir,
 * as reference.js and gradcheck.js, plus any `extra` entries ({ name: path }).
 */
export async function buildSupportBundles(outdir = join(root, 'build', 'browser'), extra = {}) {
  await build({
    ...common,
    entryPoints: {
      reference: join(root, 'src', 'reference', 'index.ts'),
      gradcheck: join(root, 'src', 'gradcheck.ts'),
      ...extra,
    },
    outdir,
    sourcemap: 'inline',
  });
  return outdir;
}

/** The size of dist/convcore.browser.js as built: its bytes and its bytes gzipped. */
export function measureBundle() {
  const bytes = readFileSync(bundlePath);
  return { bytes: bytes.length, gzipped: gzipSync(bytes).length };
}

export const SIZE_START = '<!-- bundle-size -->';
export const SIZE_END = '<!-- /bundle-size -->';

/** How the README states the size: whole KiB, so that it changes only when the size does by a KiB. */
export function sizeText({ bytes, gzipped }) {
  return `${Math.round(bytes / 1024)} KiB, ${Math.round(gzipped / 1024)} KiB gzipped`;
}

/** `readme` with the text between its bundle-size markers replaced by `text`; null when it has no markers. */
export function withSize(readme, text) {
  const i = readme.indexOf(SIZE_START);
  const j = readme.indexOf(SIZE_END);
  if (i < 0 || j < i) return null;
  return `${readme.slice(0, i + SIZE_START.length)}${text}${readme.slice(j)}`;
}

/** Writes the measured size into README.md when it states another; returns what it did. */
function updateReadme(size) {
  const path = join(root, 'README.md');
  const readme = readFileSync(path, 'utf8');
  const next = withSize(readme, sizeText(size));
  if (next === null) return 'README.md has no bundle-size markers; not updated';
  if (next === readme) return `README.md states it (${sizeText(size)})`;
  writeFileSync(path, next);
  return `README.md updated to ${sizeText(size)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    await buildBrowser();
    const size = measureBundle();
    console.log(`dist/convcore.wasm, dist/convcore.relaxed.wasm: copied from build/ (${readWasm().length} and ${readWasm(relaxedPath).length} bytes)`);
    console.log(`dist/convcore.browser.js: ${size.bytes} bytes (${(size.bytes / 1024).toFixed(1)} KiB), ${size.gzipped} bytes gzipped (${(size.gzipped / 1024).toFixed(1)} KiB); ${updateReadme(size)}`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
