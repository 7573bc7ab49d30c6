/**
 * Centered numerical gradient checks, one list per layer family. Each check takes the
 * entry under test (the main one or the reference), so both pass the same checks.
 * L = Σ out·dout for a random dout; numericGradient differentiates L, the backward
 * under test returns dL/d(input), and the two must agree to relError < 1e-7.
 */
import { expect } from 'vitest';
import { numericGradient, relError } from '../src/gradcheck.js';
import type { Tensor } from '../src/tensor.js';
import type { Pair } from '../src/params.js';
import { Api, Rng, makeRng, randn, distinct, awayFromZero, show } from './util.js';

export const GRAD_TOL = 1e-7;

export interface GradientCheck {
  name: string;
  /** How many gradients (one per differentiated input) the check compares. */
  count: number;
  run(api: Api): void;
}

function expectGradient(label: string, analytic: Tensor, numeric: Tensor): void {
  expect(Array.from(analytic.shape), `${label}: shape`).toEqual(Array.from(numeric.shape));
  expect(relError(analytic, numeric), `${label}: relError`).toBeLessThan(GRAD_TOL);
}

function labels(r: Rng, N: number, C: number): number[] {
  return Array.from({ length: N }, () => r.int(0, C - 1));
}

/** w is (F, C/groups, HH, WW); dilation and groups are left out of convParam when not given. */
interface ConvGradCase { x: number[]; w: number[]; stride: Pair; pad: Pair; dilation?: Pair; groups?: number }

const convGradCases: ConvGradCase[] = [
  { x: [2, 3, 5, 6], w: [4, 3, 3, 2], stride: [2, 1], pad: [1, 2] },
  { x: [1, 2, 8, 5], w: [3, 2, 2, 3], stride: 3, pad: 2 },  // (8+4−2) % 3 ≠ 0: the last row is never reached
  { x: [2, 4, 3, 3], w: [5, 4, 1, 1], stride: 1, pad: 0 },  // 1x1
  { x: [1, 1, 3, 4], w: [2, 1, 2, 1], stride: 2, pad: 3 },  // pad larger than the kernel
  { x: [2, 3, 7, 6], w: [4, 3, 2, 3], stride: [2, 1], pad: [1, 2], dilation: [2, 1] },   // stride and dilation together
  { x: [1, 2, 9, 8], w: [2, 2, 3, 3], stride: 1, pad: 1, dilation: 3 },
  { x: [1, 4, 6, 7], w: [6, 2, 3, 3], stride: 1, pad: 2, dilation: 2, groups: 2 },       // 1 < groups < C
  { x: [2, 6, 3, 4], w: [4, 3, 1, 1], stride: 1, pad: 0, groups: 2 },                    // grouped 1x1 (pointwise path)
  { x: [2, 3, 5, 6], w: [3, 1, 3, 3], stride: 1, pad: 1, groups: 3 },                    // depthwise, F = C
  { x: [2, 3, 5, 6], w: [6, 1, 3, 3], stride: [1, 2], pad: 1, groups: 3 },               // depthwise, F = 2C
  { x: [1, 3, 6, 7], w: [9, 1, 3, 2], stride: 2, pad: [1, 2], dilation: [1, 2], groups: 3 },   // depthwise, F = 3C
  { x: [1, 2, 4, 5], w: [2, 1, 2, 2], stride: 2, pad: 3, dilation: 3, groups: 2 },       // depthwise, pad larger than the kernel
];

export const convGradientChecks: GradientCheck[] = convGradCases.map((c, i) => ({
  name: `conv ${show(c)}`,
  count: 3,
  run(api: Api): void {
    const r = makeRng(101 + i);
    const x = randn(r, c.x);
    const w = randn(r, c.w);
    const b = randn(r, [c.w[0]]);
    const p = {
      stride: c.stride, pad: c.pad,
      ...(c.dilation === undefined ? {} : { dilation: c.dilation }), ...(c.groups === undefined ? {} : { groups: c.groups }),
    };
    const { out, cache } = api.convForward(x, w, b, p);
    const dout = randn(r, out.shape);
    const { dx, dw, db } = api.convBackward(dout, cache);
    expectGradient('convBackward dx', dx, numericGradient((t) => api.convForward(t, w, b, p).out, x, dout));
    expectGradient('convBackward dw', dw, numericGradient((t) => api.convForward(x, t, b, p).out, w, dout));
    expectGradient('convBackward db', db, numericGradient((t) => api.convForward(x, w, t, p).out, b, dout));
  },
}));

interface PoolGradCase { x: number[]; poolHeight: number; poolWidth: number; stride: Pair; lo: number }

// Entries 0.01 apart: a step of h = 1e-5 never changes which entry of a window is the maximum.
const maxPoolGradCases: PoolGradCase[] = [
  { x: [2, 2, 5, 6], poolHeight: 2, poolWidth: 3, stride: [1, 2], lo: -1 },  // overlapping rows
  { x: [1, 3, 6, 6], poolHeight: 3, poolWidth: 3, stride: 2, lo: 0.5 },      // overlapping both ways
  { x: [1, 1, 4, 5], poolHeight: 2, poolWidth: 2, stride: 1, lo: -5 },       // every window all negative
  { x: [2, 2, 4, 6], poolHeight: 2, poolWidth: 2, stride: 2, lo: -0.5 },     // 2x2 windows tiling the input
  { x: [1, 2, 5, 7], poolHeight: 2, poolWidth: 2, stride: 2, lo: -0.3 },     // 2x2, the last row and column unused
  { x: [1, 1, 17, 18], poolHeight: 17, poolWidth: 16, stride: 1, lo: -1 },   // 272 cells per window
];

export const maxPoolGradientChecks: GradientCheck[] = maxPoolGradCases.map((c, i) => ({
  name: `maxPool ${show(c)}`,
  count: 1,
  run(api: Api): void {
    const r = makeRng(201 + i);
    const x = distinct(r, c.x, 0.01, c.lo);
    const p = { poolHeight: c.poolHeight, poolWidth: c.poolWidth, stride: c.stride };
    const { out, cache } = api.maxPoolForward(x, p);
    const dout = randn(r, out.shape);
    const { dx } = api.maxPoolBackward(dout, cache);
    expectGradient('maxPoolBackward dx', dx, numericGradient((t) => api.maxPoolForward(t, p).out, x, dout));
  },
}));

const avgPoolGradCases: Omit<PoolGradCase, 'lo'>[] = [
  { x: [2, 2, 5, 7], poolHeight: 2, poolWidth: 3, stride: [2, 1] },
  { x: [1, 1, 6, 6], poolHeight: 4, poolWidth: 4, stride: 1 },
];

export const avgPoolGradientChecks: GradientCheck[] = avgPoolGradCases.map((c, i) => ({
  name: `avgPool ${show(c)}`,
  count: 1,
  run(api: Api): void {
    const r = makeRng(301 + i);
    const x = randn(r, c.x);
    const p = { poolHeight: c.poolHeight, poolWidth: c.poolWidth, stride: c.stride };
    const { out, cache } = api.avgPoolForward(x, p);
    const dout = randn(r, out.shape);
    const { dx } = api.avgPoolBackward(dout, cache);
    expectGradient('avgPoolBackward dx', dx, numericGradient((t) => api.avgPoolForward(t, p).out, x, dout));
  },
}));

export const globalAvgPoolGradientChecks: GradientCheck[] = [[2, 3, 4, 5], [1, 1, 1, 1], [3, 2, 1, 7]].map((shape, i) => ({
  name: `globalAvgPool x (${shape.join(',')})`,
  count: 1,
  run(api: Api): void {
    const r = makeRng(351 + i);
    const x = randn(r, shape);
    const { out, cache } = api.globalAvgPoolForward(x);
    const dout = randn(r, out.shape);
    const { dx } = api.globalAvgPoolBackward(dout, cache);
    expectGradient('globalAvgPoolBackward dx', dx, numericGradient((t) => api.globalAvgPoolForward(t).out, x, dout));
  },
}));

interface BnGradCase { x: number[]; mode: 'train' | 'test'; running: boolean; spatial: boolean }

const bnGradCases: BnGradCase[] = [
  { x: [5, 4], mode: 'train', running: true, spatial: false },
  { x: [7, 3], mode: 'train', running: false, spatial: false },
  { x: [4, 5], mode: 'test', running: true, spatial: false },
  { x: [2, 3, 2, 3], mode: 'train', running: true, spatial: true },
  { x: [2, 2, 3, 2], mode: 'test', running: true, spatial: true },
];

export const batchnormGradientChecks: GradientCheck[] = bnGradCases.map((c, i) => ({
  name: `${c.spatial ? 'spatialBatchnorm' : 'batchnorm'} ${show(c)}`,
  count: 3,
  run(api: Api): void {
    const r = makeRng(401 + i);
    const D = c.x[1];
    const x = randn(r, c.x, 2, 1);
    const gamma = randn(r, [D], 1, 0.5);
    const beta = randn(r, [D]);
    const bnParam = c.running
      ? { mode: c.mode, runningMean: randn(r, [D]), runningVar: { data: Float64Array.from({ length: D }, () => r.uniform(0.5, 2)), shape: [D] } }
      : { mode: c.mode };
    const forward = c.spatial ? api.spatialBatchnormForward.bind(api) : api.batchnormForward.bind(api);
    const backward = c.spatial ? api.spatialBatchnormBackward.bind(api) : api.batchnormBackward.bind(api);
    const name = c.spatial ? 'spatialBatchnormBackward' : 'batchnormBackward';
    const { out, cache } = forward(x, gamma, beta, bnParam);
    const dout = randn(r, out.shape);
    const { dx, dgamma, dbeta } = backward(dout, cache);
    expectGradient(`${name} dx`, dx, numericGradient((t) => forward(t, gamma, beta, bnParam).out, x, dout));
    expectGradient(`${name} dgamma`, dgamma, numericGradient((t) => forward(x, t, beta, bnParam).out, gamma, dout));
    expectGradient(`${name} dbeta`, dbeta, numericGradient((t) => forward(x, gamma, t, bnParam).out, beta, dout));
  },
}));

export const elementwiseGradientChecks: GradientCheck[] = [
  {
    name: 'relu x (3,4,5), |x| ≥ 0.1',
    count: 1,
    run(api: Api): void {
      const r = makeRng(501);
      const x = awayFromZero(r, [3, 4, 5], 0.1);
      const { out, cache } = api.reluForward(x);
      const dout = randn(r, out.shape);
      expectGradient('reluBackward dx', api.reluBackward(dout, cache).dx, numericGradient((t) => api.reluForward(t).out, x, dout));
    },
  },
  {
    name: 'affine x (3,2,3), w (6,4), b (4)',
    count: 3,
    run(api: Api): void {
      const r = makeRng(502);
      const x = randn(r, [3, 2, 3]);
      const w = randn(r, [6, 4]);
      const b = randn(r, [4]);
      const { out, cache } = api.affineForward(x, w, b);
      const dout = randn(r, out.shape);
      const { dx, dw, db } = api.affineBackward(dout, cache);
      expectGradient('affineBackward dx', dx, numericGradient((t) => api.affineForward(t, w, b).out, x, dout));
      expectGradient('affineBackward dw', dw, numericGradient((t) => api.affineForward(x, t, b).out, w, dout));
      expectGradient('affineBackward db', db, numericGradient((t) => api.affineForward(x, w, t).out, b, dout));
    },
  },
  ...([[6, 5], [1, 4], [9, 3]] as const).map(([N, C], i): GradientCheck => ({
    name: `svmLoss scores (${N},${C})`,
    count: 1,
    run(api: Api): void {
      const r = makeRng(511 + i);
      // Scores 0.07 apart: every margin s_j − s_y + 1 is at least 0.02 away from the hinge's
      // kink at 0 (0.07·d ≠ 1 for every integer d), far beyond the step h = 1e-5.
      const scores = distinct(r, [N, C], 0.07, -0.07 * N * C / 2);
      const y = labels(r, N, C);
      const { loss, dscores } = api.svmLoss(scores, y);
      expect(loss, 'some margins are positive').toBeGreaterThan(0);
      expectGradient('svmLoss dscores', dscores, numericGradient((t) => api.svmLoss(t, y).loss, scores));
    },
  })),
  {
    name: 'softmaxLoss scores (4,5)',
    count: 1,
    run(api: Api): void {
      const r = makeRng(503);
      const scores = randn(r, [4, 5]);
      const y = labels(r, 4, 5);
      const { dscores } = api.softmaxLoss(scores, y);
      expectGradient('softmaxLoss dscores', dscores, numericGradient((t) => api.softmaxLoss(t, y).loss, scores));
    },
  },
];

export function countChecks(checks: readonly GradientCheck[]): number {
  return checks.reduce((s, c) => s + c.count, 0);
}
