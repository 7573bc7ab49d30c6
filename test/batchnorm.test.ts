/**
 * Batchnorm and spatial batchnorm, forward and backward, of the Node API against the plain
 * reference loops at max-norm relative error TOL = 1e-10, in train and test mode, with and
 * without running statistics; each configuration is one test whose name shows it. The
 * running statistics and the defaults are also checked against numbers computed here, and
 * data with a large mean and a tiny spread checks the variance against its exact value.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import { Api, Rng, makeRng, randn, size, expectClose, maxNormRelError, show } from './util.js';

const api: Api = main;
const oracle: Api = ref;
const entries: [string, Api][] = [['wasm', api], ['reference', oracle]];

interface BnCase {
  x: number[];
  mode: 'train' | 'test';
  eps?: number;
  momentum?: number;
  /** Which running statistics the caller passes. */
  running: 'both' | 'none' | 'mean' | 'var';
}

type BnParam = { mode: 'train' | 'test'; eps?: number; momentum?: number; runningMean?: Tensor; runningVar?: Tensor };

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

function bnParam(r: Rng, c: BnCase, D: number): BnParam {
  const p: BnParam = { mode: c.mode };
  if (c.eps !== undefined) p.eps = c.eps;
  if (c.momentum !== undefined) p.momentum = c.momentum;
  if (c.running === 'both' || c.running === 'mean') p.runningMean = randn(r, [D]);
  if (c.running === 'both' || c.running === 'var') {
    p.runningVar = { data: Float64Array.from({ length: D }, () => r.uniform(0.1, 3)), shape: [D] };
  }
  return p;
}

/** Forward (out, running statistics) and backward (dx, dgamma, dbeta) of the Node API against the reference. */
function compareBn(x: Tensor, gamma: Tensor, beta: Tensor, p: BnParam, dout: Tensor, spatial: boolean): void {
  const before = [p.runningMean, p.runningVar].map((t) => (t ? Array.from(t.data) : null));
  const fwd = spatial ? 'spatialBatchnormForward' : 'batchnormForward';
  const bwd = spatial ? 'spatialBatchnormBackward' : 'batchnormBackward';
  const got = api[fwd](x, gamma, beta, p);
  const want = oracle[fwd](x, gamma, beta, p);
  expectClose(got.out, want.out, `${fwd} out`);
  expectClose(got.runningMean, want.runningMean, `${fwd} runningMean`);
  expectClose(got.runningVar, want.runningVar, `${fwd} runningVar`);
  expect([p.runningMean, p.runningVar].map((t) => (t ? Array.from(t.data) : null)), 'the caller\'s running statistics are left alone').toEqual(before);
  const g = api[bwd](dout, got.cache);
  const e = oracle[bwd](dout, want.cache);
  expectClose(g.dx, e.dx, `${bwd} dx`);
  expectClose(g.dgamma, e.dgamma, `${bwd} dgamma`);
  expectClose(g.dbeta, e.dbeta, `${bwd} dbeta`);
}

function compareRandomBn(c: BnCase, seed: number, spatial: boolean): void {
  const r = makeRng(seed);
  const D = c.x[1];
  const x = randn(r, c.x, r.uniform(0.5, 3), r.uniform(-2, 2));
  const gamma = randn(r, [D], 1, 0.5);
  const beta = randn(r, [D]);
  const p = bnParam(r, c, D);
  compareBn(x, gamma, beta, p, randn(r, c.x), spatial);
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

describe('batchnorm forward and backward vs reference (train and test, running statistics)', () => {
  bnCases.forEach((c, i) => {
    it(`batchnorm #${i} ${show(c)}`, () => compareRandomBn(c, 6100 + i, false));
  });
});

describe('spatial batchnorm forward and backward vs reference', () => {
  sbnCases.forEach((c, i) => {
    it(`spatialBatchnorm #${i} ${show(c)}`, () => compareRandomBn(c, 7100 + i, true));
  });

  it('the configurations of both cover train and test, with and without running statistics', () => {
    for (const list of [bnCases, sbnCases]) {
      for (const mode of ['train', 'test'] as const) {
        for (const running of ['both', 'none'] as const) {
          expect(list.some((c) => c.mode === mode && c.running === running), `${mode} ${running}`).toBe(true);
        }
      }
    }
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

describe('defaults', () => {
  it('eps defaults to 1e-5 and momentum to 0.9', () => {
    // x = [1, 2, 3]: μ = 2, σ² = 2/3, so x̂ = (x − 2)/√(2/3 + 1e-5); running stats from zeros: 0.1·μ, 0.1·σ².
    for (const [entry, a] of entries) {
      const res = a.batchnormForward({ data: Float64Array.from([1, 2, 3]), shape: [3, 1] }, { data: Float64Array.from([1]), shape: [1] },
        { data: Float64Array.from([0]), shape: [1] }, { mode: 'train' });
      const s = Math.sqrt(2 / 3 + 1e-5);
      expectClose(res.out, { data: Float64Array.from([-1 / s, 0, 1 / s]), shape: [3, 1] }, `${entry}: out with the default eps`);
      expectClose(res.runningMean, { data: Float64Array.from([0.2]), shape: [1] }, `${entry}: runningMean with the default momentum`);
      expectClose(res.runningVar, { data: Float64Array.from([0.2 / 3]), shape: [1] }, `${entry}: runningVar with the default momentum`);
    }
  });
});

// ---------------------------------------------------------------- a large mean, a tiny spread

/**
 * Mean 1e4, standard deviation 1e-3: E[x²] − E[x]² (a one-pass variance) loses every digit
 * of σ² = 1e-6 next to E[x²] = 1e8, where Σ(x − μ)²/M (two passes) keeps them. Each entry is
 * 1e4 + k·2^-30 for an integer k, so that (with M ≤ 512 values per feature) every sum of
 * them is exact in any order: both entries then hold the same μ, and the comparison at TOL
 * measures the variance and the normalization, not the rounding of μ (whose last bit,
 * 1.8e-12, is 1e-9 of σ). The exact statistics, in BigInt, are the independent check.
 */
const MEAN = 1e4;
const SPREAD = 1e-3;
const QUANTUM = 2 ** -30;

function largeMean(r: Rng, shape: readonly number[]): { x: Tensor; k: number[] } {
  const k = Array.from({ length: size(shape) }, () => Math.round((SPREAD * r.normal()) / QUANTUM));
  return { x: { data: Float64Array.from(k, (v) => MEAN + v * QUANTUM), shape: shape.slice() }, k };
}

/** The exact mean and biased variance of each feature of 1e4 + k·2^-30, rounded once to float64. */
function exactStats(shape: readonly number[], k: number[], spatial: boolean): { mean: Tensor; variance: Tensor } {
  const [N, D] = shape;
  const L = spatial ? shape[2] * shape[3] : 1;
  const M = BigInt(N * L);
  const mean = new Float64Array(D);
  const variance = new Float64Array(D);
  for (let d = 0; d < D; d++) {
    let s = 0n;
    let s2 = 0n;
    for (let n = 0; n < N; n++) {
      for (let l = 0; l < L; l++) {
        const v = BigInt(k[(n * D + d) * L + l]);
        s += v;
        s2 += v * v;
      }
    }
    mean[d] = MEAN + (Number(s) / Number(M)) * QUANTUM;
    // σ² = (M·Σk² − (Σk)²) / M² · 2^-60, the numerator exact.
    variance[d] = (Number(M * s2 - s * s) / Number(M * M)) * QUANTUM * QUANTUM;
  }
  return { mean: { data: mean, shape: [D] }, variance: { data: variance, shape: [D] } };
}

const largeMeanCases: { x: number[]; spatial: boolean }[] = [
  { x: [4, 3], spatial: false },
  { x: [16, 5], spatial: false },
  { x: [64, 2], spatial: false },
  { x: [500, 3], spatial: false },
  { x: [2, 3, 4, 4], spatial: true },
  { x: [4, 2, 8, 8], spatial: true },
  { x: [3, 4, 5, 7], spatial: true },
];

describe('a large mean and a tiny spread (mean 1e4, std 1e-3)', () => {
  largeMeanCases.forEach((c, i) => {
    const fwd = c.spatial ? 'spatialBatchnormForward' : 'batchnormForward';

    it(`${fwd} ${show(c)}: the batch statistics equal the exact ones (both entries)`, () => {
      const { x, k } = largeMean(makeRng(7700 + i), c.x);
      const exact = exactStats(c.x, k, c.spatial);
      const D = c.x[1];
      const ones = { data: new Float64Array(D).fill(1), shape: [D] };
      const zeros = { data: new Float64Array(D), shape: [D] };
      for (const [entry, a] of entries) {
        // momentum 0: the returned running statistics are the batch mean and variance.
        const res = a[fwd](x, ones, zeros, { mode: 'train', momentum: 0 });
        expectClose(res.runningMean, exact.mean, `${entry} ${fwd}: batch mean`);
        expectClose(res.runningVar, exact.variance, `${entry} ${fwd}: batch variance`);
      }
    });

    it(`${fwd} ${show(c)}: forward and backward vs reference`, () => {
      const r = makeRng(7800 + i);
      const { x } = largeMean(r, c.x);
      const D = c.x[1];
      compareBn(x, randn(r, [D], 1, 0.5), randn(r, [D]), { mode: 'train' }, randn(r, c.x), c.spatial);
      // Test mode with running statistics near the data.
      const runningMean = { data: Float64Array.from({ length: D }, () => MEAN + SPREAD * r.normal()), shape: [D] };
      const runningVar = { data: Float64Array.from({ length: D }, () => SPREAD * SPREAD * r.uniform(0.5, 2)), shape: [D] };
      compareBn(x, randn(r, [D], 1, 0.5), randn(r, [D]), { mode: 'test', runningMean, runningVar }, randn(r, c.x), c.spatial);
    });
  });

  it('the data tells the two variances apart: E[x²] − E[x]² misses the exact variance by far more than TOL', () => {
    const c = largeMeanCases[1];
    const { x, k } = largeMean(makeRng(7701), c.x);
    const exact = exactStats(c.x, k, false);
    const [N, D] = c.x;
    const onePass = new Float64Array(D);
    const twoPass = new Float64Array(D);
    for (let d = 0; d < D; d++) {
      let s = 0, s2 = 0;
      for (let n = 0; n < N; n++) { s += x.data[n * D + d]; s2 += x.data[n * D + d] ** 2; }
      const m = s / N;
      onePass[d] = s2 / N - m * m;
      let q = 0;
      for (let n = 0; n < N; n++) q += (x.data[n * D + d] - m) ** 2;
      twoPass[d] = q / N;
    }
    expect(maxNormRelError(onePass, exact.variance.data)).toBeGreaterThan(1e-3);
    expect(maxNormRelError(twoPass, exact.variance.data)).toBeLessThanOrEqual(1e-10);
  });
});
