import { Tensor, checkTensor, make, describe, show } from '../tensor.js';
import { checkDout, checkKeys } from '../params.js';
import { fail } from '../errors.js';
import { Cache, makeCache, openCache } from './cache.js';

export type DropoutMode = 'train' | 'test';

export interface DropoutParam {
  mode: DropoutMode;
  /** The probability of keeping a unit, in (0, 1]. */
  keepProb: number;
  /** A non-negative safe integer: the same seed gives the same mask. Omitted: a fresh mask per call. */
  seed?: number;
}

export interface DropoutSettings {
  train: boolean;
  keepProb: number;
  /** The given seed, or a fresh one drawn for this call. */
  seed: number;
}

export type DropoutCache = Cache<'dropoutForward'>;

interface DropoutState {
  train: boolean;
  keepProb: number;
  keep: Uint8Array;   // 1 where the unit was kept (empty in test mode)
  shape: readonly number[];
}

const DROPOUT_KEYS = ['mode', 'keepProb', 'seed'];

/** A seed for a call made without one: 53 random bits, from crypto where there is one. */
export function freshSeed(): number {
  const c = (globalThis as { crypto?: { getRandomValues?<T extends Uint32Array>(a: T): T } }).crypto;
  if (c?.getRandomValues) {
    const w = c.getRandomValues(new Uint32Array(2));
    return (w[0] & 0x1fffff) * 2 ** 32 + w[1];
  }
  return Math.floor(Math.random() * 2 ** 53);
}

/** Validates the dropout parameters (shared by the Wasm entry). */
export function dropoutSettings(fn: string, dropoutParam: unknown): DropoutSettings {
  if (dropoutParam === null || typeof dropoutParam !== 'object' || Array.isArray(dropoutParam)) {
    fail(`${fn}: dropoutParam must be an object {mode, keepProb, seed}, got ${describe(dropoutParam)}`);
  }
  if (Object.prototype.hasOwnProperty.call(dropoutParam, 'p')) {
    fail(`${fn}: dropoutParam has a key "p", which means opposite things in CS231n (since 2018: the probability ` +
      `of keeping a unit) and in PyTorch (the probability of dropping one); convcore calls the probability of ` +
      `keeping a unit keepProb: pass { keepProb } (1 − PyTorch's p)`);
  }
  checkKeys(fn, 'dropoutParam', dropoutParam, DROPOUT_KEYS);
  const p = dropoutParam as Record<string, unknown>;
  const mode = p.mode;
  if (mode !== 'train' && mode !== 'test') fail(`${fn}: mode must be 'train' or 'test', got ${show(mode)}`);
  const keepProb = p.keepProb;
  if (typeof keepProb !== 'number' || !(keepProb > 0 && keepProb <= 1)) {
    fail(`${fn}: keepProb must be a number in (0, 1], the probability of keeping a unit, got ${show(keepProb)}`);
  }
  let seed = p.seed;
  if (seed === undefined) seed = freshSeed();
  else if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    fail(`${fn}: seed must be a non-negative safe integer (at most 2^53 − 1), or omitted for a fresh mask, got ${show(seed)}`);
  }
  return { train: mode === 'train', keepProb, seed: seed as number };
}

// SplitMix64 (Steele, Lea and Flood 2014, with Stafford's mix13 finalizer), in BigInt:
// state_i = seed + i·γ (mod 2^64) and the i-th output is mix(state_i).
const MASK64 = (1n << 64n) - 1n;
const GAMMA = 0x9e3779b97f4a7c15n;

function mix(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/**
 * x (any shape) -> out (same shape). Inverted dropout: unit i is kept when u_i < keepProb
 * and then divided by keepProb, so the expected output is x; a dropped unit is 0. u_i is
 * the top 53 bits of the (i+1)-th output of SplitMix64 seeded with `seed`, as a number in
 * [0, 1). Test mode is the identity.
 */
export function dropoutForward(x: Tensor, dropoutParam: DropoutParam): { out: Tensor; cache: DropoutCache } {
  const fn = 'dropoutForward';
  const t = checkTensor(fn, 'x', x);
  const { train, keepProb, seed } = dropoutSettings(fn, dropoutParam);
  const n = t.data.length;
  if (!train) {
    const state: DropoutState = { train, keepProb, keep: new Uint8Array(0), shape: t.shape.slice() };
    return { out: make(t.data.slice(), t.shape), cache: makeCache(fn, state) };
  }
  const keep = new Uint8Array(n);
  const out = new Float64Array(n);
  let z = BigInt(seed);
  for (let i = 0; i < n; i++) {
    z = (z + GAMMA) & MASK64;
    const u = Number(mix(z) >> 11n) / 2 ** 53;
    if (u < keepProb) {
      keep[i] = 1;
      out[i] = t.data[i] / keepProb;
    }
  }
  const state: DropoutState = { train, keepProb, keep, shape: t.shape.slice() };
  return { out: make(out, t.shape), cache: makeCache(fn, state) };
}

/** dout (shape of x) -> dx: dout / keepProb where the unit was kept, else 0; test mode: dout. */
export function dropoutBackward(dout: Tensor, cache: DropoutCache): { dx: Tensor } {
  const fn = 'dropoutBackward';
  const st = openCache<DropoutState>(fn, 'dropoutForward', cache);
  const d = checkDout(fn, dout, st.shape).data;
  if (!st.train) return { dx: make(d.slice(), st.shape) };
  const dx = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) if (st.keep[i]) dx[i] = d[i] / st.keepProb;
  return { dx: make(dx, st.shape) };
}
