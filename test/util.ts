import { expect } from 'vitest';
import type { Tensor } from '../src/tensor.js';
import type { ConvParam, PoolParam, BatchnormParam, Labels } from '../src/params.js';

/** mulberry32: a small seeded PRNG, so every run sees the same configurations. */
export interface Rng {
  next(): number;                       // uniform in [0, 1)
  uniform(lo: number, hi: number): number;
  int(lo: number, hi: number): number;  // uniform integer in [lo, hi]
  normal(): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  shuffle<T>(xs: T[]): T[];
}

export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    normal: () => {
      // Box–Muller; 1 − u keeps the log finite.
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
    shuffle: (xs) => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [xs[i], xs[j]] = [xs[j], xs[i]];
      }
      return xs;
    },
  };
  return rng;
}

export function size(shape: readonly number[]): number {
  return shape.reduce((p, s) => p * s, 1);
}

/** Normal entries with standard deviation `scale`, plus `shift`. */
export function randn(r: Rng, shape: readonly number[], scale = 1, shift = 0): Tensor {
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = shift + scale * r.normal();
  return { data, shape: shape.slice() };
}

/**
 * Entries that are pairwise at least `gap` apart (a shuffled arithmetic sequence starting at
 * `lo`), so that a perturbation smaller than gap/2 never changes which entry is a maximum.
 */
export function distinct(r: Rng, shape: readonly number[], gap: number, lo: number): Tensor {
  const n = size(shape);
  const vals = r.shuffle(Array.from({ length: n }, (_, i) => lo + gap * i));
  return { data: Float64Array.from(vals), shape: shape.slice() };
}

/** Entries whose magnitude is at least `away` (for ReLU checks: no entry near the kink at 0). */
export function awayFromZero(r: Rng, shape: readonly number[], away: number): Tensor {
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = (r.chance(0.5) ? 1 : -1) * (away + Math.abs(r.normal()));
  return { data, shape: shape.slice() };
}

export function copy(t: Tensor): Tensor {
  return { data: t.data.slice(), shape: t.shape.slice() };
}

/** max|a − b| / max(max|b|, tiny): the error relative to the largest expected entry. */
export function maxNormRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-300);
}

export const TOL = 1e-10;

/** Asserts that `actual` has the shape of `expected` and matches it at max-norm relative TOL. */
export function expectClose(actual: Tensor, expected: Tensor, label: string, tol = TOL): void {
  expect(actual.data, `${label}: data must be a Float64Array`).toBeInstanceOf(Float64Array);
  expect(Array.from(actual.shape), `${label}: shape`).toEqual(Array.from(expected.shape));
  const err = maxNormRelErr(actual.data, expected.data);
  expect(err, `${label}: max-norm relative error`).toBeLessThanOrEqual(tol);
}

export function expectCloseNumber(actual: number, expected: number, label: string, tol = TOL): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
  expect(err, `${label}: relative error`).toBeLessThanOrEqual(tol);
}

export function show(config: object): string {
  return JSON.stringify(config);
}

/**
 * The surface the main entry and the reference share. Caches are opaque: each entry
 * types its own, so they appear here as `unknown` (method syntax keeps both entries
 * assignable to this one interface).
 */
export interface BatchnormOut {
  out: Tensor;
  cache: unknown;
  runningMean: Tensor;
  runningVar: Tensor;
}

export interface Api {
  tensor(data: Float64Array | readonly number[], shape: readonly number[]): Tensor;
  convForward(x: Tensor, w: Tensor, b: Tensor, convParam?: ConvParam): { out: Tensor; cache: unknown };
  convBackward(dout: Tensor, cache: unknown): { dx: Tensor; dw: Tensor; db: Tensor };
  maxPoolForward(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: unknown };
  maxPoolBackward(dout: Tensor, cache: unknown): { dx: Tensor };
  avgPoolForward(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: unknown };
  avgPoolBackward(dout: Tensor, cache: unknown): { dx: Tensor };
  batchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): BatchnormOut;
  batchnormBackward(dout: Tensor, cache: unknown): { dx: Tensor; dgamma: Tensor; dbeta: Tensor };
  spatialBatchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): BatchnormOut;
  spatialBatchnormBackward(dout: Tensor, cache: unknown): { dx: Tensor; dgamma: Tensor; dbeta: Tensor };
  reluForward(x: Tensor): { out: Tensor; cache: unknown };
  reluBackward(dout: Tensor, cache: unknown): { dx: Tensor };
  affineForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: unknown };
  affineBackward(dout: Tensor, cache: unknown): { dx: Tensor; dw: Tensor; db: Tensor };
  softmaxLoss(scores: Tensor, y: Labels): { loss: number; dscores: Tensor };
  transpose(x: Tensor, axes?: readonly number[]): Tensor;
}
