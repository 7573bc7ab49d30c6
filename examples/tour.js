// A short tour of convcore: every layer forward and backward on example data, each
// backward checked against a centered numerical gradient; a few steps of every update
// rule compared with the reference loops; then one conv timed against the reference
// loops. Run with `npm run tour`.
import * as cc from 'convcore';
import * as ref from 'convcore/reference';
import { numericGradient, relError, maxNormRelError } from 'convcore/gradcheck';

let seed = 1;
function random() {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647;
}
function randn(shape, scale = 1) {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = (random() * 2 - 1) * scale;
  return cc.tensor(d, shape);
}
/** Values spaced apart and shuffled, so no max-pool window has a near tie and no ReLU input is near 0. */
function spaced(shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = (i - n / 2 + 0.5) * 0.1;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [d[i], d[j]] = [d[j], d[i]];
  }
  return cc.tensor(d, shape);
}

/** Prints rows (objects with the same keys) as a table with a header and no index column. */
function printTable(rows) {
  const keys = Object.keys(rows[0]);
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(width[i])).join('  ').trimEnd();
  console.log(line(keys));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(keys.map((k) => r[k])));
}

const rows = [];
function check(layer, name, analytic, f, x, dout) {
  const numeric = numericGradient(f, x, dout);
  rows.push({ layer, gradient: name, 'relative error': relError(analytic, numeric).toExponential(2) });
}

// Convolution: x (2,3,7,7), w (4,3,3,3), stride 2, pad 1.
{
  const x = randn([2, 3, 7, 7]), w = randn([4, 3, 3, 3]), b = randn([4]);
  const p = { stride: 2, pad: 1 };
  const { out, cache } = cc.convForward(x, w, b, p);
  const dout = randn(out.shape);
  const { dx, dw, db } = cc.convBackward(dout, cache);
  check('conv', 'dx', dx, (t) => cc.convForward(t, w, b, p).out, x, dout);
  check('conv', 'dw', dw, (t) => cc.convForward(x, t, b, p).out, w, dout);
  check('conv', 'db', db, (t) => cc.convForward(x, w, t, p).out, b, dout);
}
// Max pooling and average pooling: x (2,3,8,8), 2x2 windows, stride 2.
for (const [layer, fwd, bwd] of [['max pool', cc.maxPoolForward, cc.maxPoolBackward], ['avg pool', cc.avgPoolForward, cc.avgPoolBackward]]) {
  const x = spaced([2, 3, 8, 8]);
  const p = { poolHeight: 2, poolWidth: 2, stride: 2 };
  const { out, cache } = fwd(x, p);
  const dout = randn(out.shape);
  check(layer, 'dx', bwd(dout, cache).dx, (t) => fwd(t, p).out, x, dout);
}
// Batch normalization, train mode: x (8,5); spatial batchnorm: x (4,3,5,5).
for (const [layer, fwd, bwd, shape] of [
  ['batchnorm', cc.batchnormForward, cc.batchnormBackward, [8, 5]],
  ['spatial batchnorm', cc.spatialBatchnormForward, cc.spatialBatchnormBackward, [4, 3, 5, 5]],
]) {
  const D = shape[1];
  const x = randn(shape, 3), gamma = randn([D]), beta = randn([D]);
  const p = { mode: 'train' };
  const { out, cache } = fwd(x, gamma, beta, p);
  const dout = randn(out.shape);
  const g = bwd(dout, cache);
  check(layer, 'dx', g.dx, (t) => fwd(t, gamma, beta, p).out, x, dout);
  check(layer, 'dgamma', g.dgamma, (t) => fwd(x, t, beta, p).out, gamma, dout);
  check(layer, 'dbeta', g.dbeta, (t) => fwd(x, gamma, t, p).out, beta, dout);
}
// Layer normalization: x (6,7); spatial group normalization: x (2,6,4,3) in 3 groups.
for (const [layer, fwd, bwd, shape, p] of [
  ['layernorm', cc.layernormForward, cc.layernormBackward, [6, 7], { eps: 1e-5 }],
  ['spatial groupnorm', cc.spatialGroupnormForward, cc.spatialGroupnormBackward, [2, 6, 4, 3], { groups: 3 }],
]) {
  const D = shape[1];
  const x = randn(shape, 3), gamma = randn([D]), beta = randn([D]);
  const { out, cache } = fwd(x, gamma, beta, p);
  const dout = randn(out.shape);
  const g = bwd(dout, cache);
  check(layer, 'dx', g.dx, (t) => fwd(t, gamma, beta, p).out, x, dout);
  check(layer, 'dgamma', g.dgamma, (t) => fwd(x, t, beta, p).out, gamma, dout);
  check(layer, 'dbeta', g.dbeta, (t) => fwd(x, gamma, t, p).out, beta, dout);
}
// Dropout, train mode with a seed (the same mask on every call): x (4,3,5), keepProb 0.7.
{
  const x = randn([4, 3, 5]);
  const p = { mode: 'train', keepProb: 0.7, seed: 3 };
  const { out, cache } = cc.dropoutForward(x, p);
  const dout = randn(out.shape);
  check('dropout', 'dx', cc.dropoutBackward(dout, cache).dx, (t) => cc.dropoutForward(t, p).out, x, dout);
}
// ReLU on x (4,10); affine: x (3,2,4) flattened to (3,8), w (8,5).
{
  const x = spaced([4, 10]);
  const { out, cache } = cc.reluForward(x);
  const dout = randn(out.shape);
  check('relu', 'dx', cc.reluBackward(dout, cache).dx, (t) => cc.reluForward(t).out, x, dout);
}
{
  const x = randn([3, 2, 4]), w = randn([8, 5]), b = randn([5]);
  const { out, cache } = cc.affineForward(x, w, b);
  const dout = randn(out.shape);
  const g = cc.affineBackward(dout, cache);
  check('affine', 'dx', g.dx, (t) => cc.affineForward(t, w, b).out, x, dout);
  check('affine', 'dw', g.dw, (t) => cc.affineForward(x, t, b).out, w, dout);
  check('affine', 'db', g.db, (t) => cc.affineForward(x, w, t).out, b, dout);
}
// Softmax loss on scores (6,4).
{
  const scores = randn([6, 4], 2), y = [0, 3, 1, 2, 2, 0];
  const { loss, dscores } = cc.softmaxLoss(scores, y);
  console.log(`softmax loss on 6 examples of 4 classes: ${loss.toFixed(6)}`);
  check('softmax loss', 'dscores', dscores, (t) => cc.softmaxLoss(t, y).loss, scores);
}

// Transpose: its gradient is dout transposed back.
{
  const x = randn([2, 3, 4]), axes = [2, 0, 1], back = [1, 2, 0];
  const out = cc.transpose(x, axes);
  const dout = randn(out.shape);
  check('transpose', 'dx', cc.transpose(dout, back), (t) => cc.transpose(t, axes), x, dout);
}

console.log('\nGradient checks (centered difference, h = 1e-5):');
printTable(rows);
const worst = Math.max(...rows.map((r) => Number(r['relative error'])));
console.log(`worst relative error: ${worst.toExponential(2)} (${worst < 1e-7 ? 'below' : 'NOT below'} 1e-7)`);

// The update rules: three steps from the same weights, gradients and config, on the Wasm
// path and in the reference loops; the next weights and the state compared.
const rules = [];
for (const [rule, config, state] of [
  ['sgd', { learningRate: 1e-2 }, []],
  ['sgdMomentum', { learningRate: 1e-2, momentum: 0.9 }, ['velocity']],
  ['rmsprop', { learningRate: 1e-2, decayRate: 0.99, epsilon: 1e-8 }, ['cache']],
  ['adam', { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, ['m', 'v']],
]) {
  let w = randn([5, 8]), wr = w, c = config, cr = config;
  for (let step = 0; step < 3; step++) {
    const dw = randn([5, 8]);
    ({ w, config: c } = cc[rule](w, dw, c));
    ({ w: wr, config: cr } = ref[rule](wr, dw, cr));
  }
  const err = Math.max(maxNormRelError(w, wr), ...state.map((k) => maxNormRelError(c[k], cr[k])));
  rules.push({ 'update rule': rule, compared: ['w', ...state].join(', '), 'max-norm relative error vs reference': err.toExponential(2) });
}
console.log('\nUpdate rules, three steps (Wasm against the reference loops):');
printTable(rules);
const worstRule = Math.max(...rules.map((r) => Number(r['max-norm relative error vs reference'])));

// One conv shape, timed: the Wasm path against the reference loops.
const x = randn([16, 16, 32, 32]), w = randn([32, 16, 3, 3]), b = randn([32]);
const p = { stride: 1, pad: 1 };
function median(f, runs) {
  const t = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    f();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(runs / 2)];
}
const fast = cc.convForward(x, w, b, p), slow = ref.convForward(x, w, b, p);
console.log(`\nconv x (16,16,32,32), w (32,16,3,3), stride 1, pad 1: Wasm and reference agree to ${relError(fast.out, slow.out).toExponential(2)}`);
const flops = 2 * 16 * 32 * 32 * 32 * 16 * 9;
const report = (name, fwdW, fwdR, k) => console.log(
  `${name.padEnd(9)} Wasm ${fwdW.toFixed(1).padStart(7)} ms (${((k * flops) / fwdW / 1e6).toFixed(1)} GFLOP/s)   reference ${fwdR.toFixed(1).padStart(7)} ms   ${(fwdR / fwdW).toFixed(1)}x faster`);
report('forward', median(() => cc.convForward(x, w, b, p), 9), median(() => ref.convForward(x, w, b, p), 3), 1);
report('backward', median(() => cc.convBackward(fast.out, fast.cache), 9), median(() => ref.convBackward(slow.out, slow.cache), 3), 2);
if (!(worst < 1e-7) || !(worstRule <= 1e-10)) process.exitCode = 1;
