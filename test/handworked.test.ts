/**
 * Tiny cases worked out by hand: the expected numbers are written here, computed on paper
 * from the maths in docs/api.md ("Semantics"), not taken from any implementation. Each runs on the Node
 * API and on the reference.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import type { Api } from './util.js';

const T = (data: number[], shape: number[]): Tensor => ({ data: Float64Array.from(data), shape });

/** Exact shape, and every value within 1e-12 relative to the largest expected one. */
function expectValues(actual: Tensor, shape: number[], values: number[], label: string): void {
  expect(Array.from(actual.shape), `${label} shape`).toEqual(shape);
  expect(actual.data.length, `${label} length`).toBe(values.length);
  const scale = Math.max(1, ...values.map(Math.abs));
  values.forEach((v, i) => {
    expect(Math.abs(actual.data[i] - v), `${label}[${i}] = ${actual.data[i]}, want ${v}`).toBeLessThanOrEqual(1e-12 * scale);
  });
}

// x = 1 2 3
//     4 5 6
//     7 8 9
const x33 = T([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);

for (const [entry, api] of [['wasm', main], ['reference', ref]] as [string, Api][]) {
  describe(`hand-worked cases (${entry})`, () => {
    it('conv: 1x1x3x3 input, 2x2 kernel, stride 1, no pad', () => {
      // w = 1 2 / 3 4, b = 1. out[h,w] = 1·x[h,w] + 2·x[h,w+1] + 3·x[h+1,w] + 4·x[h+1,w+1] + 1
      //   out[0,0] = 1 + 4 + 12 + 20 + 1 = 38     out[0,1] = 2 + 6 + 15 + 24 + 1 = 48
      //   out[1,0] = 4 + 10 + 21 + 32 + 1 = 68    out[1,1] = 5 + 12 + 24 + 36 + 1 = 78
      const w = T([1, 2, 3, 4], [1, 1, 2, 2]);
      const { out, cache } = api.convForward(x33, w, T([1], [1]), { stride: 1, pad: 0 });
      expectValues(out, [1, 1, 2, 2], [38, 48, 68, 78], 'out');
      // dout = all ones: db = 4; dw[i,j] = Σ of the 2x2 block of x starting at (i,j);
      // dx[h,w] = Σ of the w[i,j] whose window covers (h,w).
      const { dx, dw, db } = api.convBackward(T([1, 1, 1, 1], [1, 1, 2, 2]), cache);
      expectValues(db, [1], [4], 'db');
      expectValues(dw, [1, 1, 2, 2], [1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9], 'dw');
      expectValues(dx, [1, 1, 3, 3], [1, 3, 2, 4, 10, 6, 3, 7, 4], 'dx');
    });

    it('conv: dout picks single outputs (dout = e_(0,1))', () => {
      // Only out[0,1] receives gradient: dw = the window of x at (0,1), dx = w placed at (0,1).
      const w = T([1, 2, 3, 4], [1, 1, 2, 2]);
      const { cache } = api.convForward(x33, w, T([0], [1]), {});
      const { dx, dw, db } = api.convBackward(T([0, 1, 0, 0], [1, 1, 2, 2]), cache);
      expectValues(db, [1], [1], 'db');
      expectValues(dw, [1, 1, 2, 2], [2, 3, 5, 6], 'dw');
      expectValues(dx, [1, 1, 3, 3], [0, 1, 2, 0, 3, 4, 0, 0, 0], 'dx');
    });

    it('conv: 3x3 kernel of ones, stride 2, pad 1 on the 3x3 input', () => {
      // H2 = ⌊(3 + 2 − 3)/2⌋ + 1 = 2. Each output sums the 2x2 corner of x its window covers.
      const w = T(new Array(9).fill(1), [1, 1, 3, 3]);
      const { out, cache } = api.convForward(x33, w, T([0], [1]), { stride: 2, pad: 1 });
      expectValues(out, [1, 1, 2, 2], [1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9], 'out');
      // dout = ones: dx counts the windows covering each pixel (centre 4, edges 2, corners 1).
      const { dx } = api.convBackward(T([1, 1, 1, 1], [1, 1, 2, 2]), cache);
      expectValues(dx, [1, 1, 3, 3], [1, 2, 1, 2, 4, 2, 1, 2, 1], 'dx');
    });

    it('conv: floor case, rows and columns no window reaches get dx = 0', () => {
      // x 5x5, 2x2 kernel of ones, stride 2: H2 = ⌊3/2⌋ + 1 = 2, so row 4 and column 4 are never read.
      const x = T(Array.from({ length: 25 }, (_, i) => i), [1, 1, 5, 5]);
      const { out, cache } = api.convForward(x, T([1, 1, 1, 1], [1, 1, 2, 2]), T([0.5], [1]), { stride: 2 });
      // out[0,0] = 0+1+5+6 + .5, out[0,1] = 2+3+7+8 + .5, out[1,0] = 10+11+15+16 + .5, out[1,1] = 12+13+17+18 + .5
      expectValues(out, [1, 1, 2, 2], [12.5, 20.5, 52.5, 60.5], 'out');
      const { dx } = api.convBackward(T([1, 2, 3, 4], [1, 1, 2, 2]), cache);
      expectValues(dx, [1, 1, 5, 5], [
        1, 1, 2, 2, 0,
        1, 1, 2, 2, 0,
        3, 3, 4, 4, 0,
        3, 3, 4, 4, 0,
        0, 0, 0, 0, 0,
      ], 'dx');
    });

    it('conv: two channels and two filters, 1x1 kernels (the pointwise path)', () => {
      // x (1,2,1,2): channel 0 = [1, 2], channel 1 = [3, 4]; w (2,2,1,1) = [[1, 10], [−1, 0.5]]; b = [0, 1]
      //   filter 0: 1·[1,2] + 10·[3,4] = [31, 42];  filter 1: −[1,2] + 0.5·[3,4] + 1 = [1.5, 1]
      const x = T([1, 2, 3, 4], [1, 2, 1, 2]);
      const { out, cache } = api.convForward(x, T([1, 10, -1, 0.5], [2, 2, 1, 1]), T([0, 1], [2]), {});
      expectValues(out, [1, 2, 1, 2], [31, 42, 1.5, 1], 'out');
      // dout = ones: dx[c] = Σ_f w[f,c] = [0, 10.5]; dw[f,c] = Σ x[c] = [3, 7] for both f; db = [2, 2]
      const { dx, dw, db } = api.convBackward(T([1, 1, 1, 1], [1, 2, 1, 2]), cache);
      expectValues(dx, [1, 2, 1, 2], [0, 0, 10.5, 10.5], 'dx');
      expectValues(dw, [2, 2, 1, 1], [3, 7, 3, 7], 'dw');
      expectValues(db, [2], [2, 2], 'db');
    });

    it('max pool 2x2 stride 2 on a 4x4, with ties: dout goes to the FIRST argmax (row-major)', () => {
      //  1  5 | 2  8      window (0,0): max 5 at (0,1) and (1,1) → (0,1)
      //  3  5 | 8  7      window (0,1): max 8 at (0,3) and (1,2) → (0,3)
      // ------+------
      // -1 -1 | 7  7      window (1,0): all negative, max −1 at (2,0), (2,1), (3,1) → (2,0)
      // -2 -1 | 7  7      window (1,1): all 7 → (2,2)
      const x = T([1, 5, 2, 8, 3, 5, 8, 7, -1, -1, 7, 7, -2, -1, 7, 7], [1, 1, 4, 4]);
      const { out, cache } = api.maxPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: 2 });
      expectValues(out, [1, 1, 2, 2], [5, 8, -1, 7], 'out');
      const { dx } = api.maxPoolBackward(T([1, 2, 3, 4], [1, 1, 2, 2]), cache);
      expectValues(dx, [1, 1, 4, 4], [
        0, 1, 0, 2,
        0, 0, 0, 0,
        3, 0, 4, 0,
        0, 0, 0, 0,
      ], 'dx');
    });

    it('max pool 3x3 stride 1, ties and overlapping windows: gradients accumulate at the first argmax', () => {
      // 0 4 4 1     window (0,0) rows 0–2, cols 0–2: 4 at (0,1), (0,2), (1,0), (2,1) → (0,1)
      // 4 2 4 4     window (0,1) rows 0–2, cols 1–3: 4 at (0,1), (0,2), (1,2), (1,3), (2,1) → (0,1)
      // 3 4 0 0
      const x = T([0, 4, 4, 1, 4, 2, 4, 4, 3, 4, 0, 0], [1, 1, 3, 4]);
      const { out, cache } = api.maxPoolForward(x, { poolHeight: 3, poolWidth: 3, stride: 1 });
      expectValues(out, [1, 1, 1, 2], [4, 4], 'out');
      const { dx } = api.maxPoolBackward(T([10, 100], [1, 1, 1, 2]), cache);
      expectValues(dx, [1, 1, 3, 4], [0, 110, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'dx');
    });

    it('max pool 2x2 stride 1 (overlapping, not tiling)', () => {
      // 1 9 2      windows: (0,0) → 9 at (0,1); (0,1) → 9 at (0,1); (1,0) → 7 at (2,1); (1,1) → 8 at (2,2)
      // 3 4 5
      // 6 7 8
      const x = T([1, 9, 2, 3, 4, 5, 6, 7, 8], [1, 1, 3, 3]);
      const { out, cache } = api.maxPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: 1 });
      expectValues(out, [1, 1, 2, 2], [9, 9, 7, 8], 'out');
      const { dx } = api.maxPoolBackward(T([1, 2, 3, 4], [1, 1, 2, 2]), cache);
      expectValues(dx, [1, 1, 3, 3], [0, 3, 0, 0, 0, 0, 0, 3, 4], 'dx');
    });

    it('max pool of an all-negative input: the maximum is negative, not 0', () => {
      // Two planes (C = 2) of a 2x3 input, 2x2 windows with stride 1; the second plane has a tie.
      const x = T([-3, -2, -6, -5, -4, -1, -7, -7, -9, -8, -9, -7], [1, 2, 2, 3]);
      const { out, cache } = api.maxPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: 1 });
      expectValues(out, [1, 2, 1, 2], [-2, -1, -7, -7], 'out');
      const { dx } = api.maxPoolBackward(T([1, 2, 3, 4], [1, 2, 1, 2]), cache);
      // plane 0: −2 at (0,1), −1 at (1,2); plane 1: window 0 → first −7 at (0,0), window 1 → (0,1)
      expectValues(dx, [1, 2, 2, 3], [0, 1, 0, 0, 0, 2, 3, 4, 0, 0, 0, 0], 'dx');
    });

    it('avg pool 2x2 stride 2 on 1..16', () => {
      const x = T(Array.from({ length: 16 }, (_, i) => i + 1), [1, 1, 4, 4]);
      const { out, cache } = api.avgPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: 2 });
      // (1+2+5+6)/4 = 3.5, (3+4+7+8)/4 = 5.5, (9+10+13+14)/4 = 11.5, (11+12+15+16)/4 = 13.5
      expectValues(out, [1, 1, 2, 2], [3.5, 5.5, 11.5, 13.5], 'out');
      const { dx } = api.avgPoolBackward(T([4, 8, 12, 16], [1, 1, 2, 2]), cache);
      expectValues(dx, [1, 1, 4, 4], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], 'dx');
    });

    it('avg pool 2x1 stride 1 overlapping in H', () => {
      // x column [1, 3, 8]: windows [1,3] → 2, [3,8] → 5.5; dout [2, 4] → dx [1, 1+2, 2]
      const { out, cache } = api.avgPoolForward(T([1, 3, 8], [1, 1, 3, 1]), { poolHeight: 2, poolWidth: 1, stride: 1 });
      expectValues(out, [1, 1, 2, 1], [2, 5.5], 'out');
      expectValues(api.avgPoolBackward(T([2, 4], [1, 1, 2, 1]), cache).dx, [1, 1, 3, 1], [1, 3, 2], 'dx');
    });

    it('batchnorm of [1, 2, 3] in train mode (biased variance, running statistics)', () => {
      // μ = 2, σ² = ((−1)² + 0² + 1²)/3 = 2/3 (biased). eps must be > 0; 1e-300 vanishes in σ² + eps
      // (float64), so as with eps = 0: x̂ = (x − 2)/√(2/3) = [−√1.5, 0, √1.5].
      // γ = 2, β = 1: out = 1 + 2·x̂. Running statistics from zeros, momentum 0.9:
      //   runningMean = 0.1·2 = 0.2, runningVar = 0.1·2/3 (the unbiased 1 would give 0.1).
      const s = Math.sqrt(1.5);
      const res = api.batchnormForward(T([1, 2, 3], [3, 1]), T([2], [1]), T([1], [1]), { mode: 'train', eps: 1e-300 });
      expectValues(res.out, [3, 1], [1 - 2 * s, 1, 1 + 2 * s], 'out');
      expectValues(res.runningMean, [1], [0.2], 'runningMean');
      expectValues(res.runningVar, [1], [0.1 * 2 / 3], 'runningVar');
      // Backward with dout = [1, 0, 0]: dβ = Σ dout = 1, dγ = Σ dout·x̂ = x̂[0] = −√1.5, and
      //   dx = γ/(N·σ)·(N·dout − dβ − x̂·dγ), with σ = √(2/3), N = 3, γ = 2:
      //   x̂·dγ = [−√1.5, 0, √1.5]·(−√1.5) = [1.5, 0, −1.5]
      //   N·dout − dβ − x̂·dγ = [3 − 1 − 1.5, −1, −1 + 1.5] = [0.5, −1, 0.5]
      //   1/σ = √1.5, so dx = 2·√1.5/3 · [0.5, −1, 0.5]
      const g = api.batchnormBackward(T([1, 0, 0], [3, 1]), res.cache);
      expectValues(g.dbeta, [1], [1], 'dbeta');
      expectValues(g.dgamma, [1], [-s], 'dgamma');
      expectValues(g.dx, [3, 1], [(2 * s / 3) * 0.5, (2 * s / 3) * -1, (2 * s / 3) * 0.5], 'dx');
    });

    it('batchnorm: running statistics move by momentum from the given ones; the caller\'s are left alone', () => {
      // Two features. x rows [0, 10], [4, 10]: μ = [2, 10], σ² = [4, 0].
      // momentum 0.5 from runningMean [1, 1], runningVar [2, 2]: mean [1.5, 5.5], var [3, 1].
      const rm = T([1, 1], [2]);
      const rv = T([2, 2], [2]);
      const res = api.batchnormForward(T([0, 10, 4, 10], [2, 2]), T([1, 1], [2]), T([0, 0], [2]),
        { mode: 'train', momentum: 0.5, eps: 0.25, runningMean: rm, runningVar: rv });
      expectValues(res.runningMean, [2], [1.5, 5.5], 'runningMean');
      expectValues(res.runningVar, [2], [3, 1], 'runningVar');
      // x̂ = (x − μ)/√(σ² + eps): feature 0 → ±2/√4.25; feature 1 → 0
      const a = 2 / Math.sqrt(4.25);
      expectValues(res.out, [2, 2], [-a, 0, a, 0], 'out');
      expectValues(rm, [2], [1, 1], 'runningMean input');
      expectValues(rv, [2], [2, 2], 'runningVar input');
    });

    it('batchnorm in test mode uses the running statistics and returns them unchanged', () => {
      // runningMean 1, runningVar 4, eps 1e-300 (4 + eps = 4): x̂ = (x − 1)/2; γ = 3, β = −1: out = 3·x̂ − 1
      const res = api.batchnormForward(T([1, 2, 3], [3, 1]), T([3], [1]), T([-1], [1]),
        { mode: 'test', eps: 1e-300, runningMean: T([1], [1]), runningVar: T([4], [1]) });
      expectValues(res.out, [3, 1], [-1, 0.5, 2], 'out');
      expectValues(res.runningMean, [1], [1], 'runningMean');
      expectValues(res.runningVar, [1], [4], 'runningVar');
      // The statistics are constants: dx = γ/√(var + eps) · dout = 1.5·dout
      const g = api.batchnormBackward(T([1, -2, 4], [3, 1]), res.cache);
      expectValues(g.dx, [3, 1], [1.5, -3, 6], 'dx');
      expectValues(g.dbeta, [1], [3], 'dbeta');
      expectValues(g.dgamma, [1], [0 * 1 + 0.5 * -2 + 1 * 4], 'dgamma');
    });

    it('spatial batchnorm normalizes each channel over N, H and W (not over rows of a reshape)', () => {
      // x (1,2,1,2): channel 0 = [1, 3] (μ 2, σ² 1), channel 1 = [2, 6] (μ 4, σ² 4). eps 1e-300 (σ² + eps = σ²), γ = 1, β = 0:
      // out = [−1, 1, −1, 1]. Reading NCHW as (2,2) rows without the transpose would pair [1, 2] and [3, 6].
      const res = api.spatialBatchnormForward(T([1, 3, 2, 6], [1, 2, 1, 2]), T([1, 1], [2]), T([0, 0], [2]), { mode: 'train', eps: 1e-300, momentum: 0 });
      expectValues(res.out, [1, 2, 1, 2], [-1, 1, -1, 1], 'out');
      expectValues(res.runningMean, [2], [2, 4], 'runningMean');
      expectValues(res.runningVar, [2], [1, 4], 'runningVar');
      // Over N as well: x (2,2,1,1) with n0 = [1, 2], n1 = [3, 6] gives the same channel statistics.
      const res2 = api.spatialBatchnormForward(T([1, 2, 3, 6], [2, 2, 1, 1]), T([2, 1], [2]), T([0, 5], [2]), { mode: 'train', eps: 1e-300 });
      expectValues(res2.out, [2, 2, 1, 1], [-2, 4, 2, 6], 'out (N = 2)');
    });

    it('relu and its gradient (the gradient at 0 is 0)', () => {
      const { out, cache } = api.reluForward(T([-2, -0, 0, 0.5, 3, -1e-300], [2, 3]));
      expectValues(out, [2, 3], [0, 0, 0, 0.5, 3, 0], 'out');
      expectValues(api.reluBackward(T([1, 2, 3, 4, 5, 6], [2, 3]), cache).dx, [2, 3], [0, 0, 0, 4, 5, 0], 'dx');
    });

    it('conv: dilation 2 on the 3x3 input, a 2x2 kernel reaching its corners', () => {
      // The taps are 2 apart, so the 2x2 kernel spans 3x3: H2 = ⌊(3 − 3)/1⌋ + 1 = 1.
      // w = 1 2 / 3 4, b = 1: out = 1·x[0,0] + 2·x[0,2] + 3·x[2,0] + 4·x[2,2] + 1
      //                           = 1·1 + 2·3 + 3·7 + 4·9 + 1 = 1 + 6 + 21 + 36 + 1 = 65
      const w = T([1, 2, 3, 4], [1, 1, 2, 2]);
      const { out, cache } = api.convForward(x33, w, T([1], [1]), { dilation: 2 });
      expectValues(out, [1, 1, 1, 1], [65], 'out');
      // dout = 1: dw = the four corners of x, dx = w placed on the corners, db = 1.
      const { dx, dw, db } = api.convBackward(T([1], [1, 1, 1, 1]), cache);
      expectValues(dw, [1, 1, 2, 2], [1, 3, 7, 9], 'dw');
      expectValues(dx, [1, 1, 3, 3], [1, 0, 2, 0, 0, 0, 3, 0, 4], 'dx');
      expectValues(db, [1], [1], 'db');
    });

    it('conv: dilation 2 with stride 2 and pad 1, where three taps of each window fall in the padding', () => {
      // Padded input 5x5, kernel span 3: H2 = ⌊(3 + 2 − 3)/2⌋ + 1 = 2. Window (h2, w2) reads
      // input rows 2·h2 − 1 + {0, 2} and columns 2·w2 − 1 + {0, 2}: rows {−1, 1} or {1, 3};
      // only row 1 and column 1 are inside (3 is past the edge), so each window sees x[1,1] = 5
      // through one tap: out[0,0] through w[1,1] = 4, out[0,1] through w[1,0] = 3,
      // out[1,0] through w[0,1] = 2, out[1,1] through w[0,0] = 1.
      const w = T([1, 2, 3, 4], [1, 1, 2, 2]);
      const { out, cache } = api.convForward(x33, w, T([0], [1]), { dilation: 2, stride: 2, pad: 1 });
      expectValues(out, [1, 1, 2, 2], [20, 15, 10, 5], 'out');
      // dout = ones: dx[1,1] = 4 + 3 + 2 + 1 = 10 and every other dx is 0; each w[i,j] met x[1,1] once: dw = 5.
      const { dx, dw, db } = api.convBackward(T([1, 1, 1, 1], [1, 1, 2, 2]), cache);
      expectValues(dx, [1, 1, 3, 3], [0, 0, 0, 0, 10, 0, 0, 0, 0], 'dx');
      expectValues(dw, [1, 1, 2, 2], [5, 5, 5, 5], 'dw');
      expectValues(db, [1], [4], 'db');
    });

    it('conv: groups 2 on four channels, 1x1 kernels (x (1,4,1,1) = [1, 2, 3, 4])', () => {
      // w (2, 2, 1, 1): filter 0 sees channels 0, 1 and filter 1 channels 2, 3.
      //   out[0] = 1·1 + 10·2 = 21;  out[1] = 100·3 + 1000·4 = 4300  (b = 0)
      const x = T([1, 2, 3, 4], [1, 4, 1, 1]);
      const { out, cache } = api.convForward(x, T([1, 10, 100, 1000], [2, 2, 1, 1]), T([0, 0], [2]), { groups: 2 });
      expectValues(out, [1, 2, 1, 1], [21, 4300], 'out');
      // dout = [1, 2]: dx = [1, 10, 2·100, 2·1000]; dw = [x0, x1, 2·x2, 2·x3] = [1, 2, 6, 8]; db = [1, 2].
      const { dx, dw, db } = api.convBackward(T([1, 2], [1, 2, 1, 1]), cache);
      expectValues(dx, [1, 4, 1, 1], [1, 10, 200, 2000], 'dx');
      expectValues(dw, [2, 2, 1, 1], [1, 2, 6, 8], 'dw');
      expectValues(db, [2], [1, 2], 'db');
    });

    it('conv: depthwise, groups = C = 2 with two filters per channel (F = 2C), 2x2 kernels', () => {
      // x channel 0 = the 3x3 input 1..9, channel 1 = all ones. Filters 0, 1 read channel 0,
      // filters 2, 3 channel 1. No pad, stride 1: H2 = W2 = 2.
      //   f0 = 1 0 / 0 0 (top-left):      out = x[h,w]     = 1 2 / 4 5
      //   f1 = 0 0 / 0 1 (bottom-right):  out = x[h+1,w+1] = 5 6 / 8 9
      //   f2 = 1 1 / 1 1 on ones:         out = 4 everywhere
      //   f3 = 1 −1 / 0 2 on ones, b = 10: out = 1 − 1 + 0 + 2 + 10 = 12 everywhere
      const x = T([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 2, 3, 3]);
      const w = T([1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, -1, 0, 2], [4, 1, 2, 2]);
      const { out, cache } = api.convForward(x, w, T([0, 0, 0, 10], [4]), { groups: 2 });
      expectValues(out, [1, 4, 2, 2], [1, 2, 4, 5, 5, 6, 8, 9, 4, 4, 4, 4, 12, 12, 12, 12], 'out');
      // dout = ones. db = 4 per filter. dw of f0 and f1 (on channel 0): tap (i,j) sums the
      // 2x2 block of x at (i,j): [1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9] = [12, 16, 24, 28];
      // f2 and f3 on ones: 4 per tap.
      const { dx, dw, db } = api.convBackward(T(new Array(16).fill(1), [1, 4, 2, 2]), cache);
      expectValues(db, [4], [4, 4, 4, 4], 'db');
      expectValues(dw, [4, 1, 2, 2], [12, 16, 24, 28, 12, 16, 24, 28, 4, 4, 4, 4, 4, 4, 4, 4], 'dw');
      // dx channel 0: f0 sends 1 to the top-left cell of each window ((0,0), (0,1), (1,0), (1,1)),
      // f1 to the bottom-right one ((1,1), (1,2), (2,1), (2,2)):  1 1 0 / 1 2 1 / 0 1 1.
      // dx channel 1: f2 gives each cell the number of windows over it, 1 2 1 / 2 4 2 / 1 2 1;
      // f3 gives cell (h,w) the sum of w3[h−h2, w−w2] over the windows (h2,w2) over it:
      //   (0,0) 1; (0,1) −1 + 1 = 0; (0,2) −1; (1,0) 0 + 1 = 1; (1,1) 2 + 0 − 1 + 1 = 2;
      //   (1,2) 2 − 1 = 1; (2,0) 0; (2,1) 2 + 0 = 2; (2,2) 2.
      // Channel 1 = f2 + f3 = 2 2 0 / 3 6 3 / 1 4 3.
      expectValues(dx, [1, 2, 3, 3], [1, 1, 0, 1, 2, 1, 0, 1, 1, 2, 2, 0, 3, 6, 3, 1, 4, 3], 'dx');
    });

    it('global average pool: the mean of each plane; dx spreads dout evenly', () => {
      // x33 has mean 45/9 = 5; x (1,2,1,2) = [1, 2 | 3, 5] has means 1.5 and 4.
      const a = api.globalAvgPoolForward(x33);
      expectValues(a.out, [1, 1], [5], 'out 3x3');
      expectValues(api.globalAvgPoolBackward(T([3], [1, 1]), a.cache).dx, [1, 1, 3, 3], new Array(9).fill(3 / 9), 'dx 3x3');
      const b = api.globalAvgPoolForward(T([1, 2, 3, 5], [1, 2, 1, 2]));
      expectValues(b.out, [1, 2], [1.5, 4], 'out (1,2,1,2)');
      expectValues(api.globalAvgPoolBackward(T([2, -4], [1, 2]), b.cache).dx, [1, 2, 1, 2], [1, 1, -2, -2], 'dx (1,2,1,2)');
    });

    it('svm loss of two rows, one margin exactly 0', () => {
      // Row 0 = [3, 1, 2.5], label 0: margins max(0, 1 − 3 + 1) = 0 and max(0, 2.5 − 3 + 1) = 0.5.
      // Row 1 = [1, 2, 4], label 1: margins max(0, 1 − 2 + 1) = 0 (not > 0) and 4 − 2 + 1 = 3.
      // loss = (0.5 + 3) / 2 = 1.75. One positive margin per row: dscores at the label −1/2,
      // at the positive margin +1/2, 0 elsewhere.
      const { loss, dscores } = api.svmLoss(T([3, 1, 2.5, 1, 2, 4], [2, 3]), [0, 1]);
      expect(Math.abs(loss - 1.75)).toBeLessThan(1e-15);
      expectValues(dscores, [2, 3], [-0.5, 0, 0.5, 0, -0.5, 0.5], 'dscores');
    });

    it('svm loss with every margin positive: C − 1 at the label', () => {
      // One row [0, 0, 0, 0], label 2: every other margin is 0 − 0 + 1 = 1: loss = 3, dscores = [1, 1, −3, 1].
      const { loss, dscores } = api.svmLoss(T([0, 0, 0, 0], [1, 4]), Int32Array.from([2]));
      expect(loss).toBe(3);
      expectValues(dscores, [1, 4], [1, 1, -3, 1], 'dscores');
    });

    it('affine of x (2,1,2) flattened to (2,2)', () => {
      // x = [[1, 2], [3, 4]], w = [[1, 0, −1], [2, 1, 0]], b = [0.5, 0, −1]
      //   out[0] = [1 + 4, 2, −1] + b = [5.5, 2, −2];  out[1] = [3 + 8, 4, −3] + b = [11.5, 4, −4]
      const { out, cache } = api.affineForward(T([1, 2, 3, 4], [2, 1, 2]), T([1, 0, -1, 2, 1, 0], [2, 3]), T([0.5, 0, -1], [3]));
      expectValues(out, [2, 3], [5.5, 2, -2, 11.5, 4, -4], 'out');
      // dout = [[1, 0, 0], [0, 0, 2]]: dx = dout·wᵀ = [[1, 2], [−2, 0]] (shape of x),
      // dw = xᵀ·dout = [[1, 0, 6], [2, 0, 8]], db = [1, 0, 2]
      const g = api.affineBackward(T([1, 0, 0, 0, 0, 2], [2, 3]), cache);
      expectValues(g.dx, [2, 1, 2], [1, 2, -2, 0], 'dx');
      expectValues(g.dw, [2, 3], [1, 0, 6, 2, 0, 8], 'dw');
      expectValues(g.db, [3], [1, 0, 2], 'db');
    });

    it('softmax loss of uniform scores is log C; dscores = (1/C − onehot)/N', () => {
      const { loss, dscores } = api.softmaxLoss(T(new Array(8).fill(3), [2, 4]), [1, 3]);
      expect(Math.abs(loss - Math.log(4))).toBeLessThan(1e-15);
      expectValues(dscores, [2, 4], [0.125, -0.375, 0.125, 0.125, 0.125, 0.125, 0.125, -0.375], 'dscores');
    });

    it('softmax loss of [0, ln 3] with label 0: p = [1/4, 3/4], loss = ln 4', () => {
      const { loss, dscores } = api.softmaxLoss(T([0, Math.log(3)], [1, 2]), Int32Array.from([0]));
      expect(Math.abs(loss - Math.log(4))).toBeLessThan(1e-15);
      expectValues(dscores, [1, 2], [-0.75, 0.75], 'dscores');
    });

    it('softmax loss is stable for huge scores (the row max is subtracted)', () => {
      // Scores [1e4, 1e4 + ln 3] behave like [0, ln 3]: label 1 → loss = ln(4/3); exp(1e4) alone would overflow.
      const { loss, dscores } = api.softmaxLoss(T([1e4, 1e4 + Math.log(3), -1e4, -1e4], [2, 2]), [1, 0]);
      // row 0: −log(3/4); row 1: uniform → ln 2. Mean over N = 2.
      expect(Math.abs(loss - (Math.log(4 / 3) + Math.log(2)) / 2)).toBeLessThan(1e-12);
      expectValues(dscores, [2, 2], [0.125, -0.125, -0.25, 0.25], 'dscores');
    });

    it('softmax loss with C = 1 is 0', () => {
      const { loss, dscores } = api.softmaxLoss(T([5, -7], [2, 1]), [0, 0]);
      expect(loss).toBe(0);
      expectValues(dscores, [2, 1], [0, 0], 'dscores');
    });

    it('transpose of a 2x3 matrix, and a 3-D permutation', () => {
      expectValues(api.transpose(T([1, 2, 3, 4, 5, 6], [2, 3])), [3, 2], [1, 4, 2, 5, 3, 6], 'default axes');
      // x (2,2,2) = 0..7, x[i,j,k] = 4i + 2j + k. axes [2, 0, 1]: out[k,i,j] = x[i,j,k]
      expectValues(api.transpose(T([0, 1, 2, 3, 4, 5, 6, 7], [2, 2, 2]), [2, 0, 1]), [2, 2, 2], [0, 2, 4, 6, 1, 3, 5, 7], 'axes [2,0,1]');
      // (1,3) with axes [1, 0]: a column
      expectValues(api.transpose(T([7, 8, 9], [1, 3]), [1, 0]), [3, 1], [7, 8, 9], '(1,3) -> (3,1)');
    });
  });
}

// ReLU of NaN is NaN (numpy.maximum propagates it); its gradient is 0 there.
describe('relu with NaN and signed zeros', () => {
  for (const [entry, api] of [['wasm', main], ['reference', ref]] as [string, Api][]) {
    it(`keeps NaN, zeroes -0 and negatives (${entry})`, () => {
      const x = T([NaN, -0, -1, 2, NaN], [5]);
      const { out, cache } = api.reluForward(x);
      expect(Number.isNaN(out.data[0])).toBe(true);
      expect(Object.is(out.data[1], 0)).toBe(true);
      expect(out.data[2]).toBe(0);
      expect(out.data[3]).toBe(2);
      expect(Number.isNaN(out.data[4])).toBe(true);
      const { dx } = api.reluBackward(T([1, 1, 1, 1, 1], [5]), cache);
      expect(Array.from(dx.data)).toEqual([0, 0, 0, 1, 0]);
    });
  }
});
