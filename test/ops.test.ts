/**
 * Every op of the Node API against the plain reference loops, on random configurations
 * drawn from a seeded generator, at max-norm relative error TOL = 1e-10. Each
 * configuration is one test whose name shows it; the last test checks how many were
 * compared (at least 200) and that the list covers the cases DESIGN.md asks for.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import type { Pair } from '../src/params.js';
import { Api, Rng, makeRng, randn, distinct, copy, size, expectClose, expectCloseNumber, show } from './util.js';

const api: Api = main;
const oracle: Api = ref;

const compared: Record<string, number> = {};
function done(op: string): void {
  compared[op] = (compared[op] ?? 0) + 1;
}

const h = (p: Pair): number => (typeof p === 'number' ? p : p[0]);
const w = (p: Pair): number => (typeof p === 'number' ? p : p[1]);
function pairOf(r: Rng, a: number, b: number): Pair {
  return a === b && r.chance(0.5) ? a : [a, b];
}

// ---------------------------------------------------------------- convolution

interface ConvCase { x: number[]; w: number[]; stride: Pair; pad: Pair }

function randomConv(r: Rng): ConvCase {
  const N = r.pick([1, 1, 2, 3]);
  const C = r.int(1, 4);
  const F = r.int(1, 5);
  const HH = r.int(1, 5);
  const WW = r.chance(0.6) ? r.int(1, 5) : HH;
  const SH = r.int(1, 3);
  const SW = r.chance(0.5) ? r.int(1, 3) : SH;
  const PH = r.int(0, 3);
  const PW = r.chance(0.5) ? r.int(0, 3) : PH;
  const H = r.int(Math.max(1, HH - 2 * PH), HH + 7);
  const W = r.int(Math.max(1, WW - 2 * PW), WW + 7);
  return { x: [N, C, H, W], w: [F, C, HH, WW], stride: pairOf(r, SH, SW), pad: pairOf(r, PH, PW) };
}

const convCases: ConvCase[] = [
  // Chosen by hand: each is a case DESIGN.md names.
  { x: [1, 1, 5, 5], w: [1, 1, 3, 3], stride: 1, pad: 1 },            // N = C = F = 1
  { x: [2, 3, 7, 9], w: [4, 3, 3, 2], stride: [2, 3], pad: [1, 0] },   // odd, non-square, floor in W
  { x: [1, 2, 8, 5], w: [3, 2, 2, 3], stride: 3, pad: 2 },             // (8+4−2) % 3 ≠ 0
  { x: [2, 1, 3, 4], w: [2, 1, 1, 2], stride: 2, pad: 3 },             // pad larger than the kernel
  { x: [1, 3, 1, 1], w: [5, 3, 3, 3], stride: 1, pad: 1 },             // a 1x1 input, all but the centre is padding
  { x: [1, 2, 2, 3], w: [2, 2, 5, 5], stride: 2, pad: 2 },             // kernel larger than the input itself
  { x: [3, 4, 6, 6], w: [1, 4, 1, 1], stride: 1, pad: 0 },             // 1x1 pointwise path, F = 1
  { x: [2, 3, 7, 6], w: [2, 3, 1, 1], stride: 2, pad: 0 },             // 1x1 but strided: im2col path
  { x: [1, 2, 5, 4], w: [3, 2, 1, 1], stride: 1, pad: 1 },             // 1x1 but padded: im2col path
  { x: [1, 1, 9, 4], w: [1, 1, 4, 1], stride: [3, 1], pad: [0, 3] },
  { x: [2, 2, 4, 11], w: [3, 2, 2, 5], stride: [1, 3], pad: [3, 1] },
  { x: [1, 3, 6, 5], w: [2, 3, 6, 5], stride: 1, pad: 0 },             // kernel = input: one output
  { x: [1, 1, 2, 2], w: [1, 1, 3, 3], stride: 3, pad: 3 },
];
{
  const r = makeRng(1001);
  while (convCases.length < 100) convCases.push(randomConv(r));
}

function compareConv(c: ConvCase, seed: number): void {
  const r = makeRng(seed);
  const x = randn(r, c.x);
  const wt = randn(r, c.w);
  const b = randn(r, [c.w[0]]);
  const p = { stride: c.stride, pad: c.pad };
  const xc = copy(x);
  const got = api.convForward(x, wt, b, p);
  const want = oracle.convForward(x, wt, b, p);
  expectClose(got.out, want.out, 'convForward out');
  const dout = randn(r, want.out.shape);
  const g = api.convBackward(dout, got.cache);
  const e = oracle.convBackward(dout, want.cache);
  expectClose(g.dx, e.dx, 'convBackward dx');
  expectClose(g.dw, e.dw, 'convBackward dw');
  expectClose(g.db, e.db, 'convBackward db');
  expect(Array.from(x.data), 'x is not mutated').toEqual(Array.from(xc.data));
  done('conv');
}

describe('conv forward and backward vs reference', () => {
  convCases.forEach((c, i) => {
    it(`conv #${i} ${show(c)}`, () => compareConv(c, 2000 + i));
  });
});

// ---------------------------------------------------------------- pooling

interface PoolCase { x: number[]; poolHeight: number; poolWidth: number; stride: Pair; negative?: boolean }

function randomPool(r: Rng): PoolCase {
  const ph = r.int(1, 4);
  const pw = r.chance(0.6) ? r.int(1, 4) : ph;
  const SH = r.int(1, 3);
  const SW = r.chance(0.5) ? r.int(1, 3) : SH;
  return {
    x: [r.pick([1, 1, 2, 3]), r.int(1, 4), r.int(ph, ph + 8), r.int(pw, pw + 8)],
    poolHeight: ph, poolWidth: pw, stride: pairOf(r, SH, SW), negative: r.chance(0.25),
  };
}

const poolCases: PoolCase[] = [
  { x: [1, 2, 18, 20], poolHeight: 17, poolWidth: 17, stride: [1, 3] },       // 289 cells: argmax kept as i32
  { x: [1, 1, 16, 18], poolHeight: 16, poolWidth: 16, stride: 2 },            // 256 cells: the largest kept as bytes
  { x: [2, 1, 2, 260], poolHeight: 1, poolWidth: 257, stride: [1, 2], negative: true },
  { x: [2, 3, 8, 8], poolHeight: 2, poolWidth: 2, stride: 2 },                 // tiling 2x2 (the fast path)
  { x: [1, 1, 4, 6], poolHeight: 2, poolWidth: 2, stride: 2, negative: true }, // all-negative windows
  { x: [2, 2, 7, 7], poolHeight: 2, poolWidth: 2, stride: 2 },                 // 2x2, floor: the last row is dropped
  { x: [1, 2, 5, 6], poolHeight: 2, poolWidth: 2, stride: 1 },                 // 2x2 overlapping
  { x: [1, 1, 7, 9], poolHeight: 3, poolWidth: 3, stride: 2 },                 // 3x3 overlapping
  { x: [3, 1, 5, 8], poolHeight: 2, poolWidth: 3, stride: [1, 2] },            // non-square, overlapping in W
  { x: [1, 2, 6, 6], poolHeight: 1, poolWidth: 1, stride: 1 },                 // identity
  { x: [1, 1, 3, 10], poolHeight: 3, poolWidth: 2, stride: [1, 3], negative: true },
  { x: [2, 2, 9, 9], poolHeight: 2, poolWidth: 2, stride: 3 },                 // gaps between windows
  { x: [1, 1, 4, 4], poolHeight: 4, poolWidth: 4, stride: 1 },                 // window = input
];
{
  const r = makeRng(3001);
  while (poolCases.length < 48) poolCases.push(randomPool(r));
}

/** Distinct values (no ties, so the argmax is unique), all negative when asked. */
function poolInput(r: Rng, c: PoolCase): Tensor {
  const n = size(c.x);
  return distinct(r, c.x, 0.25, c.negative ? -0.25 * n - 3 : -0.125 * n);
}

function poolParam(c: PoolCase): { poolHeight: number; poolWidth: number; stride: Pair } {
  return { poolHeight: c.poolHeight, poolWidth: c.poolWidth, stride: c.stride };
}

describe('max pool forward and backward vs reference', () => {
  poolCases.forEach((c, i) => {
    it(`maxPool #${i} ${show(c)}`, () => {
      const r = makeRng(4000 + i);
      const x = poolInput(r, c);
      const got = api.maxPoolForward(x, poolParam(c));
      const want = oracle.maxPoolForward(x, poolParam(c));
      expectClose(got.out, want.out, 'maxPoolForward out');
      const dout = randn(r, want.out.shape);
      expectClose(api.maxPoolBackward(dout, got.cache).dx, oracle.maxPoolBackward(dout, want.cache).dx, 'maxPoolBackward dx');
      done('maxPool');
    });
  });
});

/** Small integers: many ties, which both entries must break the same way (the first argmax, row-major). */
const tieCases = poolCases.slice(0, 20);

describe('max pool with ties vs reference (first argmax)', () => {
  tieCases.forEach((c, i) => {
    it(`maxPool ties #${i} ${show(c)}`, () => {
      const r = makeRng(4500 + i);
      const x = { data: Float64Array.from({ length: size(c.x) }, () => r.int(-2, 1) - (c.negative ? 3 : 0)), shape: c.x };
      const got = api.maxPoolForward(x, poolParam(c));
      const want = oracle.maxPoolForward(x, poolParam(c));
      expectClose(got.out, want.out, 'maxPoolForward out');
      const dout = randn(r, want.out.shape);
      expectClose(api.maxPoolBackward(dout, got.cache).dx, oracle.maxPoolBackward(dout, want.cache).dx, 'maxPoolBackward dx');
      done('maxPoolTies');
    });
  });
});

const avgCases = poolCases.slice(0, 35);

describe('avg pool forward and backward vs reference', () => {
  avgCases.forEach((c, i) => {
    it(`avgPool #${i} ${show(c)}`, () => {
      const r = makeRng(5000 + i);
      const x = randn(r, c.x, 1, c.negative ? -3 : 0);
      const got = api.avgPoolForward(x, poolParam(c));
      const want = oracle.avgPoolForward(x, poolParam(c));
      expectClose(got.out, want.out, 'avgPoolForward out');
      const dout = randn(r, want.out.shape);
      expectClose(api.avgPoolBackward(dout, got.cache).dx, oracle.avgPoolBackward(dout, want.cache).dx, 'avgPoolBackward dx');
      done('avgPool');
    });
  });
});

// ---------------------------------------------------------------- batchnorm

interface BnCase {
  x: number[];
  mode: 'train' | 'test';
  eps?: number;
  momentum?: number;
  /** Which running statistics the caller passes. */
  running: 'both' | 'none' | 'mean' | 'var';
}

function randomBn(r: Rng, rank: 2 | 4): BnCase {
  const x = rank === 2
    ? [r.pick([1, 2, 3, 5, 8, 17]), r.pick([1, 2, 3, 4, 5, 7, 8, 9, 17])]
    : [r.int(1, 3), r.int(1, 5), r.int(1, 6), r.int(1, 6)];
  return {
    x,
    mode: r.chance(0.6) ? 'train' : 'test',
    eps: r.pick([undefined, 1e-5, 1e-3, 0.1]),
    momentum: r.pick([undefined, 0, 0.5, 0.9, 0.99, 1]),
    running: r.pick(['both', 'both', 'none', 'mean', 'var'] as const),
  };
}

function bnParam(r: Rng, c: BnCase, D: number): { mode: 'train' | 'test'; eps?: number; momentum?: number; runningMean?: Tensor; runningVar?: Tensor } {
  const p: { mode: 'train' | 'test'; eps?: number; momentum?: number; runningMean?: Tensor; runningVar?: Tensor } = { mode: c.mode };
  if (c.eps !== undefined) p.eps = c.eps;
  if (c.momentum !== undefined) p.momentum = c.momentum;
  if (c.running === 'both' || c.running === 'mean') p.runningMean = randn(r, [D]);
  if (c.running === 'both' || c.running === 'var') {
    p.runningVar = { data: Float64Array.from({ length: D }, () => r.uniform(0.1, 3)), shape: [D] };
  }
  return p;
}

function compareBn(c: BnCase, seed: number, spatial: boolean): void {
  const r = makeRng(seed);
  const D = c.x[1];
  const x = randn(r, c.x, r.uniform(0.5, 3), r.uniform(-2, 2));
  const gamma = randn(r, [D], 1, 0.5);
  const beta = randn(r, [D]);
  const p = bnParam(r, c, D);
  const before = [p.runningMean, p.runningVar].map((t) => (t ? Array.from(t.data) : null));
  const fwd = spatial ? 'spatialBatchnormForward' : 'batchnormForward';
  const bwd = spatial ? 'spatialBatchnormBackward' : 'batchnormBackward';
  const got = api[fwd](x, gamma, beta, p);
  const want = oracle[fwd](x, gamma, beta, p);
  expectClose(got.out, want.out, `${fwd} out`);
  expectClose(got.runningMean, want.runningMean, `${fwd} runningMean`);
  expectClose(got.runningVar, want.runningVar, `${fwd} runningVar`);
  expect([p.runningMean, p.runningVar].map((t) => (t ? Array.from(t.data) : null)), 'the caller\'s running statistics are left alone').toEqual(before);
  const dout = randn(r, c.x);
  const g = api[bwd](dout, got.cache);
  const e = oracle[bwd](dout, want.cache);
  expectClose(g.dx, e.dx, `${bwd} dx`);
  expectClose(g.dgamma, e.dgamma, `${bwd} dgamma`);
  expectClose(g.dbeta, e.dbeta, `${bwd} dbeta`);
  done(spatial ? 'spatialBatchnorm' : 'batchnorm');
}

const bnCases: BnCase[] = [
  { x: [1, 3], mode: 'train', running: 'both' },                // N = 1: zero variance, x̂ = 0
  { x: [4, 1], mode: 'train', running: 'none' },                // D = 1
  { x: [6, 5], mode: 'test', running: 'both', eps: 1e-3 },
  { x: [9, 7], mode: 'train', running: 'both', momentum: 0 },   // running = batch
  { x: [9, 7], mode: 'train', running: 'both', momentum: 1 },   // running unchanged
  { x: [3, 4], mode: 'test', running: 'none', eps: 0.1 },       // test mode from zero statistics
];
{
  const r = makeRng(6001);
  while (bnCases.length < 30) bnCases.push(randomBn(r, 2));
}

describe('batchnorm forward and backward vs reference (train and test, running statistics)', () => {
  bnCases.forEach((c, i) => {
    it(`batchnorm #${i} ${show(c)}`, () => compareBn(c, 6100 + i, false));
  });
});

const sbnCases: BnCase[] = [
  { x: [1, 1, 1, 1], mode: 'train', running: 'both' },
  { x: [2, 3, 3, 5], mode: 'train', running: 'none' },          // H·W odd
  { x: [3, 2, 4, 4], mode: 'test', running: 'both' },
  { x: [1, 4, 1, 7], mode: 'train', running: 'mean', momentum: 0.5 },
  { x: [2, 2, 3, 3], mode: 'test', running: 'none', eps: 0.1 },
];
{
  const r = makeRng(7001);
  while (sbnCases.length < 25) sbnCases.push(randomBn(r, 4));
}

describe('spatial batchnorm forward and backward vs reference', () => {
  sbnCases.forEach((c, i) => {
    it(`spatialBatchnorm #${i} ${show(c)}`, () => compareBn(c, 7100 + i, true));
  });
});

/** The batch statistics computed here, independently of both entries. */
function batchStats(x: Tensor, spatial: boolean): { mean: number[]; variance: number[] } {
  const [N, D] = x.shape;
  const L = spatial ? x.shape[2] * x.shape[3] : 1;
  const M = N * L;
  const vals = (d: number): number[] => {
    const v: number[] = [];
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) v.push(x.data[(n * D + d) * L + l]);
    return v;
  };
  const mean: number[] = [];
  const variance: number[] = [];
  for (let d = 0; d < D; d++) {
    const v = vals(d);
    const m = v.reduce((s, a) => s + a, 0) / M;
    mean.push(m);
    variance.push(v.reduce((s, a) => s + (a - m) * (a - m), 0) / M);   // biased: divided by M, not M − 1
  }
  return { mean, variance };
}

describe('running statistics: momentum·old + (1 − momentum)·batch, biased variance', () => {
  const cases: { x: number[]; momentum?: number; spatial: boolean }[] = [
    { x: [5, 3], spatial: false },
    { x: [4, 6], momentum: 0.3, spatial: false },
    { x: [2, 1], momentum: 0.75, spatial: false },
    { x: [2, 3, 2, 3], spatial: true },
    { x: [3, 2, 1, 5], momentum: 0.6, spatial: true },
  ];
  cases.forEach((c, i) => {
    it(`${c.spatial ? 'spatialBatchnormForward' : 'batchnormForward'} ${show(c)}`, () => {
      const r = makeRng(7500 + i);
      const D = c.x[1];
      const x = randn(r, c.x, 2, 1);
      const old = { mean: randn(r, [D]), variance: { data: Float64Array.from({ length: D }, () => r.uniform(0.5, 2)), shape: [D] } };
      const p = { mode: 'train' as const, momentum: c.momentum, runningMean: old.mean, runningVar: old.variance };
      const res = c.spatial ? api.spatialBatchnormForward(x, randn(r, [D]), randn(r, [D]), p) : api.batchnormForward(x, randn(r, [D]), randn(r, [D]), p);
      const m = c.momentum ?? 0.9;
      const { mean, variance } = batchStats(x, c.spatial);
      const wantMean = { data: Float64Array.from(mean, (b, d) => m * old.mean.data[d] + (1 - m) * b), shape: [D] };
      const wantVar = { data: Float64Array.from(variance, (b, d) => m * old.variance.data[d] + (1 - m) * b), shape: [D] };
      expectClose(res.runningMean, wantMean, 'runningMean');
      expectClose(res.runningVar, wantVar, 'runningVar');
      // A missing running statistic starts at zero.
      const fresh = c.spatial ? api.spatialBatchnormForward(x, randn(r, [D]), randn(r, [D]), { mode: 'train', momentum: c.momentum })
        : api.batchnormForward(x, randn(r, [D]), randn(r, [D]), { mode: 'train', momentum: c.momentum });
      expectClose(fresh.runningMean, { data: Float64Array.from(mean, (b) => (1 - m) * b), shape: [D] }, 'runningMean from zeros');
      expectClose(fresh.runningVar, { data: Float64Array.from(variance, (b) => (1 - m) * b), shape: [D] }, 'runningVar from zeros');
      // Test mode returns them unchanged and normalizes with them.
      const t = api.batchnormForward(randn(r, [4, D]), { data: new Float64Array(D).fill(1), shape: [D] }, { data: new Float64Array(D), shape: [D] },
        { mode: 'test', runningMean: res.runningMean, runningVar: res.runningVar });
      expect(Array.from(t.runningMean.data)).toEqual(Array.from(res.runningMean.data));
      expect(Array.from(t.runningVar.data)).toEqual(Array.from(res.runningVar.data));
    });
  });
});

// ---------------------------------------------------------------- relu, affine, softmax, transpose

const reluShapes: number[][] = [[1], [2], [7], [1, 1], [3, 5], [2, 3, 4], [1, 9, 1], [2, 3, 5, 7], [4, 1, 3, 3], [33], [2, 2, 2, 2, 3], [65, 3]];

describe('relu forward and backward vs reference', () => {
  reluShapes.forEach((shape, i) => {
    it(`relu #${i} x ${show(shape)}`, () => {
      const r = makeRng(8000 + i);
      const x = randn(r, shape);
      // Some exact zeros and negative zeros: relu'(0) = 0 in both entries.
      for (let k = 0; k < x.data.length; k += 5) x.data[k] = k % 10 === 0 ? 0 : -0;
      const got = api.reluForward(x);
      const want = oracle.reluForward(x);
      expectClose(got.out, want.out, 'reluForward out');
      const dout = randn(r, shape);
      expectClose(api.reluBackward(dout, got.cache).dx, oracle.reluBackward(dout, want.cache).dx, 'reluBackward dx');
      done('relu');
    });
  });
});

const affineCases: { x: number[]; M: number }[] = [
  { x: [1, 1], M: 1 }, { x: [2, 3], M: 4 }, { x: [5, 2, 3], M: 7 }, { x: [3, 2, 2, 2], M: 9 },
  { x: [7, 9], M: 1 }, { x: [1, 17], M: 3 }, { x: [8, 4, 1], M: 8 }, { x: [4, 1, 1, 1], M: 5 },
];
{
  const r = makeRng(8501);
  while (affineCases.length < 20) {
    const rank = r.int(2, 4);
    affineCases.push({ x: [r.int(1, 9), ...Array.from({ length: rank - 1 }, () => r.int(1, 5))], M: r.int(1, 9) });
  }
}

describe('affine forward and backward vs reference', () => {
  affineCases.forEach((c, i) => {
    it(`affine #${i} ${show(c)}`, () => {
      const r = makeRng(8600 + i);
      const D = size(c.x.slice(1));
      const x = randn(r, c.x);
      const wt = randn(r, [D, c.M]);
      const b = randn(r, [c.M]);
      const got = api.affineForward(x, wt, b);
      const want = oracle.affineForward(x, wt, b);
      expectClose(got.out, want.out, 'affineForward out');
      const dout = randn(r, want.out.shape);
      const g = api.affineBackward(dout, got.cache);
      const e = oracle.affineBackward(dout, want.cache);
      expectClose(g.dx, e.dx, 'affineBackward dx');
      expectClose(g.dw, e.dw, 'affineBackward dw');
      expectClose(g.db, e.db, 'affineBackward db');
      done('affine');
    });
  });
});

const softmaxCases: { N: number; C: number; scale: number; shift: number; int32: boolean }[] = [];
{
  const r = makeRng(8701);
  const fixed = [[1, 1], [1, 2], [3, 1], [4, 10], [2, 33]];
  for (const [N, C] of fixed) softmaxCases.push({ N, C, scale: 1, shift: 0, int32: false });
  while (softmaxCases.length < 18) {
    const shift = r.pick([0, 0, 1000, -1000]);
    softmaxCases.push({ N: r.int(1, 8), C: r.int(2, 9), scale: shift === 0 ? r.pick([0.5, 1, 3]) : 0.5, shift, int32: r.chance(0.5) });
  }
}

describe('softmax loss vs reference', () => {
  softmaxCases.forEach((c, i) => {
    it(`softmaxLoss #${i} ${show(c)}`, () => {
      const r = makeRng(8800 + i);
      const scores = randn(r, [c.N, c.C], c.scale, c.shift);
      const labels = Array.from({ length: c.N }, () => r.int(0, c.C - 1));
      const y = c.int32 ? Int32Array.from(labels) : labels;
      const got = api.softmaxLoss(scores, y);
      const want = oracle.softmaxLoss(scores, y);
      expect(Number.isFinite(got.loss)).toBe(true);
      expectCloseNumber(got.loss, want.loss, 'softmaxLoss loss');
      expectClose(got.dscores, want.dscores, 'softmaxLoss dscores');
      done('softmaxLoss');
    });
  });
});

const transposeCases: { shape: number[]; axes?: number[] }[] = [
  { shape: [7], axes: [0] }, { shape: [3, 5] }, { shape: [2, 3, 4], axes: [0, 2, 1] },
  { shape: [2, 3, 4, 5], axes: [0, 2, 3, 1] }, { shape: [2, 4, 5, 3], axes: [0, 3, 1, 2] },
  { shape: [1, 1, 3] }, { shape: [3, 1, 2, 1, 2], axes: [4, 2, 0, 3, 1] },
];
{
  const r = makeRng(8901);
  while (transposeCases.length < 22) {
    const rank = r.int(1, 5);
    const shape = Array.from({ length: rank }, () => r.int(1, 5));
    transposeCases.push(r.chance(0.2) ? { shape } : { shape, axes: r.shuffle(Array.from({ length: rank }, (_, k) => k)) });
  }
}

describe('transpose vs reference', () => {
  transposeCases.forEach((c, i) => {
    it(`transpose #${i} ${show(c)}`, () => {
      const r = makeRng(9000 + i);
      const x = randn(r, c.shape);
      const got = api.transpose(x, c.axes);
      const want = oracle.transpose(x, c.axes);
      expect(Array.from(got.shape)).toEqual(Array.from(want.shape));
      expect(got.data).toBeInstanceOf(Float64Array);
      expect(Array.from(got.data), 'a permutation is exact').toEqual(Array.from(want.data));
      done('transpose');
    });
  });
});

// ---------------------------------------------------------------- the contract around the numbers

describe('results and inputs', () => {
  it('results are fresh arrays: later calls do not change them, and inputs are never mutated', () => {
    const r = makeRng(9500);
    const x = randn(r, [2, 3, 6, 5]);
    const wt = randn(r, [4, 3, 3, 3]);
    const b = randn(r, [4]);
    const saved = [x, wt, b].map(copy);
    const first = api.convForward(x, wt, b, { pad: 1 });
    const outCopy = copy(first.out);
    const dout = randn(r, first.out.shape);
    const doutCopy = copy(dout);
    const grads = api.convBackward(dout, first.cache);
    const gradCopies = [grads.dx, grads.dw, grads.db].map(copy);
    // Other calls reuse the same linear memory.
    api.convForward(randn(r, [2, 3, 6, 5]), randn(r, [4, 3, 3, 3]), randn(r, [4]), { pad: 1 });
    api.maxPoolForward(randn(r, [3, 4, 8, 8]), { poolHeight: 2, poolWidth: 2, stride: 2 });
    expect(Array.from(first.out.data)).toEqual(Array.from(outCopy.data));
    [grads.dx, grads.dw, grads.db].forEach((g, k) => expect(Array.from(g.data)).toEqual(Array.from(gradCopies[k].data)));
    [x, wt, b].forEach((t, k) => expect(Array.from(t.data)).toEqual(Array.from(saved[k].data)));
    expect(Array.from(dout.data)).toEqual(Array.from(doutCopy.data));
    // The same cache can be used twice.
    expectClose(api.convBackward(dout, first.cache).dx, gradCopies[0], 'second backward from one cache');
  });

  it('a Float64Array view with an offset into a larger buffer is read correctly', () => {
    const r = makeRng(9501);
    const big = randn(r, [100]);
    const x = { data: big.data.subarray(7, 7 + 2 * 2 * 4 * 3), shape: [2, 2, 4, 3] };
    const plain = { data: x.data.slice(), shape: x.shape };
    const pp = { poolHeight: 2, poolWidth: 2, stride: 1 };
    expectClose(api.avgPoolForward(x, pp).out, oracle.avgPoolForward(plain, pp).out, 'avgPool of a subarray');
  });

  it('stride and pad default to 1 and 0; an [h, w] pair equals the scalar when h = w', () => {
    const r = makeRng(9502);
    const x = randn(r, [1, 2, 5, 6]);
    const wt = randn(r, [3, 2, 2, 3]);
    const b = randn(r, [3]);
    const want = oracle.convForward(x, wt, b, { stride: 1, pad: 0 }).out;
    expectClose(api.convForward(x, wt, b, {}).out, want, 'convForward with {}');
    expectClose(api.convForward(x, wt, b, { stride: [1, 1], pad: [0, 0] }).out, want, 'convForward with pairs');
    expectClose(api.convForward(x, wt, b).out, want, 'convForward without convParam');
    expectClose(oracle.convForward(x, wt, b).out, want, 'reference convForward without convParam');
  });
});

describe('defaults', () => {
  it('pool stride defaults to the window, [poolHeight, poolWidth]', () => {
    const r = makeRng(9503);
    const x = distinct(r, [1, 2, 5, 7], 0.5, -3);
    const want = oracle.maxPoolForward(x, { poolHeight: 2, poolWidth: 3, stride: [2, 3] }).out;
    expect(want.shape).toEqual([1, 2, 2, 2]);
    expectClose(api.maxPoolForward(x, { poolHeight: 2, poolWidth: 3 }).out, want, 'maxPoolForward without stride');
    expectClose(oracle.maxPoolForward(x, { poolHeight: 2, poolWidth: 3 }).out, want, 'reference maxPoolForward without stride');
    expectClose(api.avgPoolForward(x, { poolHeight: 2, poolWidth: 3 }).out, oracle.avgPoolForward(x, { poolHeight: 2, poolWidth: 3, stride: [2, 3] }).out, 'avgPoolForward without stride');
  });

  it('eps defaults to 1e-5 and momentum to 0.9', () => {
    // x = [1, 2, 3]: μ = 2, σ² = 2/3, so x̂ = (x − 2)/√(2/3 + 1e-5); running stats from zeros: 0.1·μ, 0.1·σ².
    const res = api.batchnormForward({ data: Float64Array.from([1, 2, 3]), shape: [3, 1] }, { data: Float64Array.from([1]), shape: [1] },
      { data: Float64Array.from([0]), shape: [1] }, { mode: 'train' });
    const s = Math.sqrt(2 / 3 + 1e-5);
    expectClose(res.out, { data: Float64Array.from([-1 / s, 0, 1 / s]), shape: [3, 1] }, 'out with the default eps');
    expectClose(res.runningMean, { data: Float64Array.from([0.2]), shape: [1] }, 'runningMean with the default momentum');
    expectClose(res.runningVar, { data: Float64Array.from([0.2 / 3]), shape: [1] }, 'runningVar with the default momentum');
  });
});

// ---------------------------------------------------------------- the count and the coverage

describe('configurations compared with the reference', () => {
  const planned: Record<string, number> = {
    conv: convCases.length,
    maxPool: poolCases.length,
    maxPoolTies: tieCases.length,
    avgPool: avgCases.length,
    batchnorm: bnCases.length,
    spatialBatchnorm: sbnCases.length,
    relu: reluShapes.length,
    affine: affineCases.length,
    softmaxLoss: softmaxCases.length,
    transpose: transposeCases.length,
  };
  const total = Object.values(planned).reduce((s, n) => s + n, 0);

  it(`${total} configurations compared (>= 200): ${show(planned)}`, () => {
    expect(total).toBeGreaterThanOrEqual(200);
    // Every planned comparison ran to its end (a failed one does not count).
    expect(compared).toEqual(planned);
  });

  it('the conv configurations cover the cases DESIGN.md names', () => {
    const g = convCases.map((c) => {
      const [N, C, H, W] = c.x;
      const [F, , HH, WW] = c.w;
      const SH = h(c.stride), SW = w(c.stride), PH = h(c.pad), PW = w(c.pad);
      return { N, C, H, W, F, HH, WW, SH, SW, PH, PW };
    });
    const has = (what: string, p: (q: (typeof g)[number]) => boolean): void => {
      expect(g.some(p), what).toBe(true);
    };
    for (const s of [1, 2, 3]) has(`stride ${s}`, (q) => q.SH === s || q.SW === s);
    for (const p of [0, 1, 2, 3]) has(`pad ${p}`, (q) => q.PH === p || q.PW === p);
    has('pad larger than the kernel', (q) => q.PH > q.HH || q.PW > q.WW);
    has('floor case (H+2P−HH) % S ≠ 0', (q) => (q.H + 2 * q.PH - q.HH) % q.SH !== 0);
    has('floor case (W+2P−WW) % S ≠ 0', (q) => (q.W + 2 * q.PW - q.WW) % q.SW !== 0);
    has('N = 1', (q) => q.N === 1);
    has('C = 1', (q) => q.C === 1);
    has('F = 1', (q) => q.F === 1);
    has('non-square kernel', (q) => q.HH !== q.WW);
    has('non-square input', (q) => q.H !== q.W);
    has('odd H and W', (q) => q.H % 2 === 1 && q.W % 2 === 1);
    has('different stride along H and W', (q) => q.SH !== q.SW);
    has('different pad along H and W', (q) => q.PH !== q.PW);
    has('1x1 stride-1 unpadded (pointwise path)', (q) => q.HH === 1 && q.WW === 1 && q.SH === 1 && q.SW === 1 && q.PH === 0 && q.PW === 0);
  });

  it('the pool configurations cover overlapping windows, floor cases and all-negative inputs', () => {
    const overlapping = poolCases.filter((c) => h(c.stride) < c.poolHeight || w(c.stride) < c.poolWidth);
    const floor = poolCases.filter((c) => (c.x[2] - c.poolHeight) % h(c.stride) !== 0 || (c.x[3] - c.poolWidth) % w(c.stride) !== 0);
    expect(overlapping.length).toBeGreaterThanOrEqual(10);
    expect(floor.length).toBeGreaterThanOrEqual(10);
    expect(poolCases.filter((c) => c.negative).length).toBeGreaterThanOrEqual(5);
    expect(poolCases.some((c) => c.poolHeight !== c.poolWidth)).toBe(true);
    expect(poolCases.some((c) => c.x[0] === 1 && c.x[1] === 1)).toBe(true);
    expect(poolCases.some((c) => c.poolHeight * c.poolWidth > 256), 'a window of more than 256 cells').toBe(true);
  });

  it('the batchnorm configurations cover train and test, with and without running statistics', () => {
    for (const list of [bnCases, sbnCases]) {
      for (const mode of ['train', 'test'] as const) {
        for (const running of ['both', 'none'] as const) {
          expect(list.some((c) => c.mode === mode && c.running === running), `${mode} ${running}`).toBe(true);
        }
      }
    }
  });
});
