// A short tour of convcore: every layer forward and backward on example data, each
// backward checked against a centered numerical gradient, then one conv timed against
// the plain reference loops. Run with `npm start`.
import * as cc from 'convcore';
import * as ref from 'convcore/reference';
import { numericGradient, relError } from 'convcore/gradcheck';

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

console.log('\nGradient checks (centered difference, h = 1e-5):');
console.table(rows);
const worst = Math.max(...rows.map((r) => Number(r['relative error'])));
console.log(`worst relative error: ${worst.toExponential(2)} (${worst < 1e-7 ? 'below' : 'NOT below'} 1e-7)`);

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
if (!(worst < 1e-7)) process.exitCode = 1;
