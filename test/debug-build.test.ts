/**
 * The debug module (build/convcore.debug.wasm: no optimization, assertions kept) runs the
 * same kernels as the release module. This file loads it through init({ wasm }), checks
 * that it is the module loaded (its kernels' assertions are live, which the release
 * module's are not), and compares every kernel family with the reference loops at the
 * usual tolerance, so a difference that only optimization hides (or only the debug checks
 * catch) shows up. test/kernel-asserts.test.ts makes the assertions fail one by one.
 * Vitest isolates test files, so the module loaded here is this file's own.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { ConvcoreError } from '../src/index.js';
import { kernels, reserve, i32 } from '../src/wasm.js';
import { makeRng, randn, distinct, expectClose, expectCloseNumber } from './util.js';
import { compareConv, ConvCase } from './compare.js';

beforeAll(async () => {
  await main.init({ wasm: new URL('../build/convcore.debug.wasm', import.meta.url) });
});

/**
 * softmax_loss with a label outside [0, C), past the API's checks: the debug kernel's
 * assertion throws; a kernel without assertions only reads past the row and returns a
 * number. Returns what was thrown or returned.
 */
function badLabelCall(): unknown {
  const [ps, py, pd, pl] = reserve('test', [2 * 3 * 8, 2 * 4, 2 * 3 * 8, 2 * 8]);
  i32(py, 2).set([0, 3]);
  try {
    return kernels().softmax_loss(ps, py, pd, pl, 2, 3);
  } catch (e) {
    return e;
  }
}

describe('the debug module', () => {
  it('is the one loaded: a bad kernel call fails its assertion, also after a second init with the release module', async () => {
    await main.init({ wasm: new URL('../build/convcore.wasm', import.meta.url) });
    const outcome = badLabelCall();
    expect(outcome, 'a ConvcoreError from the kernel assertion (the release module returns a number)').toBeInstanceOf(ConvcoreError);
    expect((outcome as Error).message).toMatch(/^convcore: a kernel assertion failed: softmax_loss: a label is outside \[0, C\) at assembly\/elementwise\.ts:\d+:\d+$/);
    const x = main.tensor(new Float64Array([1, -2, 3, -4]), [2, 2]);
    expect(Array.from(main.reluForward(x).out.data)).toEqual([1, 0, 3, 0]);
  });

  it('conv forward and backward, im2col and pointwise paths, across GEMM blocks', () => {
    const cases: ConvCase[] = [
      { x: [2, 3, 9, 7], w: [5, 3, 3, 2], stride: [2, 1], pad: [1, 2] },
      { x: [1, 40, 6, 6], w: [9, 40, 3, 3], stride: 1, pad: 1 }, // K = 360 > KC
      { x: [2, 17, 5, 4], w: [33, 17, 1, 1] },                   // pointwise
    ];
    cases.forEach((c, i) => compareConv(c, 71 + i));
  });

  it('conv with dilation and groups: a GEMM per group, and depthwise on its direct kernel', () => {
    const cases: ConvCase[] = [
      { x: [2, 3, 9, 8], w: [4, 3, 3, 2], stride: 2, pad: [2, 1], dilation: [2, 3] },
      { x: [1, 64, 5, 5], w: [8, 32, 3, 3], pad: 1, groups: 2 },            // Kg = 288 > KC
      { x: [2, 6, 4, 5], w: [9, 2, 1, 1], groups: 3 },                       // grouped pointwise
      { x: [2, 3, 9, 21], w: [6, 1, 3, 3], pad: 1, groups: 3 },              // depthwise, F = 2C, every vector path
      { x: [1, 2, 10, 19], w: [6, 1, 3, 3], stride: [2, 3], pad: 3, dilation: 2, groups: 2 },
    ];
    cases.forEach((c, i) => compareConv(c, 81 + i));
  });

  it('global average pool and svm loss', () => {
    const r = makeRng(75);
    const x = randn(r, [3, 4, 5, 7]);
    const a = main.globalAvgPoolForward(x), e = ref.globalAvgPoolForward(x);
    expectClose(a.out, e.out, 'global avg pool out');
    const dout = randn(r, [3, 4]);
    expectClose(main.globalAvgPoolBackward(dout, a.cache).dx, ref.globalAvgPoolBackward(dout, e.cache).dx, 'global avg pool dx');
    const scores = randn(r, [6, 9]);
    const y = [0, 8, 3, 3, 5, 1];
    const sa = main.svmLoss(scores, y), se = ref.svmLoss(scores, y);
    expectCloseNumber(sa.loss, se.loss, 'svm loss');
    expectClose(sa.dscores, se.dscores, 'svm dscores');
  });

  it('max and average pooling, with the 2x2 stride-2 fast paths and overlapping windows', () => {
    const r = makeRng(72);
    for (const [shape, p] of [
      [[2, 3, 8, 10], { poolHeight: 2, poolWidth: 2, stride: 2 }],
      [[1, 2, 7, 9], { poolHeight: 2, poolWidth: 2, stride: [1, 2] }],
      [[2, 2, 7, 6], { poolHeight: 3, poolWidth: 2, stride: 1 }],
    ] as const) {
      const x = distinct(r, shape as unknown as number[], 0.01, -1);
      const param = p as unknown as main.PoolParam;
      const a = main.maxPoolForward(x, param);
      const e = ref.maxPoolForward(x, param);
      expectClose(a.out, e.out, 'max out');
      const dout = randn(r, a.out.shape);
      expectClose(main.maxPoolBackward(dout, a.cache).dx, ref.maxPoolBackward(dout, e.cache).dx, 'max dx');
      const aa = main.avgPoolForward(x, param);
      const ae = ref.avgPoolForward(x, param);
      expectClose(aa.out, ae.out, 'avg out');
      expectClose(main.avgPoolBackward(dout, aa.cache).dx, ref.avgPoolBackward(dout, ae.cache).dx, 'avg dx');
    }
  });

  it('batchnorm and spatial batchnorm, train then test mode', () => {
    const r = makeRng(73);
    for (const spatial of [false, true]) {
      const shape = spatial ? [3, 4, 5, 3] : [7, 5];
      const D = shape[1];
      const x = randn(r, shape, 2, 1), gamma = randn(r, [D]), beta = randn(r, [D]);
      const runningMean = randn(r, [D]), runningVar = randn(r, [D], 0.5, 1);
      const fa = spatial ? main.spatialBatchnormForward : main.batchnormForward;
      const fe = spatial ? ref.spatialBatchnormForward : ref.batchnormForward;
      const ba = spatial ? main.spatialBatchnormBackward : main.batchnormBackward;
      const be = spatial ? ref.spatialBatchnormBackward : ref.batchnormBackward;
      for (const mode of ['train', 'test'] as const) {
        const p = { mode, eps: 1e-5, momentum: 0.8, runningMean, runningVar };
        const a = fa(x, gamma, beta, p);
        const e = fe(x, gamma, beta, p);
        expectClose(a.out, e.out, `${mode} out`);
        expectClose(a.runningMean, e.runningMean, `${mode} runningMean`);
        expectClose(a.runningVar, e.runningVar, `${mode} runningVar`);
        const dout = randn(r, shape);
        const ga = ba(dout, a.cache);
        const ge = be(dout, e.cache);
        expectClose(ga.dx, ge.dx, `${mode} dx`);
        expectClose(ga.dgamma, ge.dgamma, `${mode} dgamma`);
        expectClose(ga.dbeta, ge.dbeta, `${mode} dbeta`);
      }
    }
  });

  it('relu, affine, softmax loss and transpose', () => {
    const r = makeRng(74);
    const x = randn(r, [4, 3, 5]);
    const dout = randn(r, [4, 3, 5]);
    const ra = main.reluForward(x), re = ref.reluForward(x);
    expectClose(ra.out, re.out, 'relu out');
    expectClose(main.reluBackward(dout, ra.cache).dx, ref.reluBackward(dout, re.cache).dx, 'relu dx');
    const w = randn(r, [15, 7]), b = randn(r, [7]);
    const aa = main.affineForward(x, w, b), ae = ref.affineForward(x, w, b);
    expectClose(aa.out, ae.out, 'affine out');
    const d2 = randn(r, [4, 7]);
    const ga = main.affineBackward(d2, aa.cache), ge = ref.affineBackward(d2, ae.cache);
    expectClose(ga.dx, ge.dx, 'affine dx');
    expectClose(ga.dw, ge.dw, 'affine dw');
    expectClose(ga.db, ge.db, 'affine db');
    const scores = randn(r, [6, 9], 3);
    const y = [0, 8, 3, 3, 5, 1];
    const sa = main.softmaxLoss(scores, y), se = ref.softmaxLoss(scores, y);
    expectCloseNumber(sa.loss, se.loss, 'loss');
    expectClose(sa.dscores, se.dscores, 'dscores');
    expectClose(main.transpose(x, [2, 0, 1]), ref.transpose(x, [2, 0, 1]), 'transpose');
  });
});
