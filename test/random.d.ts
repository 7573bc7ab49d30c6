// Types of test/random.js.
import type { Tensor } from '../src/tensor.js';

/** mulberry32: a small seeded PRNG, so every run sees the same configurations and data. */
export interface Rng {
  next(): number;                       // uniform in [0, 1)
  uniform(lo: number, hi: number): number;
  int(lo: number, hi: number): number;  // uniform integer in [lo, hi]
  normal(): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  /** Shuffles xs in place (an array or a typed array) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(xs: T): T;
}

export function makeRng(seed: number): Rng;
export function size(shape: readonly number[]): number;
/** Normal entries with standard deviation `scale`, plus `shift`. */
export function randn(r: Rng, shape: readonly number[], scale?: number, shift?: number): Tensor;
/** Entries pairwise at least `gap` apart: a shuffled arithmetic sequence starting at `lo`. */
export function distinct(r: Rng, shape: readonly number[], gap: number, lo: number): Tensor;
