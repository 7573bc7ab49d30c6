// Seeded random data for the tests: plain TypeScript with no vitest, so that the browser
// suite (bundled into test pages) uses the same generator as the Node tests.
import type { Tensor } from '../src/tensor.js';

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

