/**
 * The comparisons with the reference loops that several test files share: a conv or an
 * affine configuration run forward and backward on both entries from one seed, every
 * result compared at max-norm relative error TOL = 1e-10. Each file that checks conv
 * (the family tests, the GEMM sweep, the debug module, memory) calls these instead of
 * keeping its own copy.
 */
import { expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Pair, ConvParam } from '../src/params.js';
import { Api, Rng, makeRng, randn, copy, size, expectClose, show } from './util.js';

/** x (N,C,H,W) and w (F,C/groups,HH,WW); the conv parameters as given (none: the defaults). */
export interface ConvCase { x: number[]; w: number[]; stride?: Pair; pad?: Pair; dilation?: Pair; groups?: number }

/** The convParam of a case: only the keys it gives. */
export function convParamOf(c: ConvCase): ConvParam {
  const p: ConvParam = {};
  if (c.stride !== undefined) p.stride = c.stride;
  if (c.pad !== undefined) p.pad = c.pad;
  if (c.dilation !== undefined) p.dilation = c.dilation;
  if (c.groups !== undefined) p.groups = c.groups;
  return p;
}

/** The height and the width of a stride or a pad given as a number or an [h, w] pair (default d). */
export const pairH = (p: Pair | undefined, d: number): number => (p === undefined ? d : typeof p === 'number' ? p : p[0]);
export const pairW = (p: Pair | undefined, d: number): number => (p === undefined ? d : typeof p === 'number' ? p : p[1]);

/** a when a = b, half of the time; otherwise the pair [a, b]. */
export function pairOf(r: Rng, a: number, b: number): Pair {
  return a === b && r.chance(0.5) ? a : [a, b];
}

/**
 * Conv forward and backward of `api` against `oracle` (by default the Node API against
 * the reference) on normal data drawn from `seed`: out, dx, dw and db, and x not mutated.
 */
export function compareConv(c: ConvCase, seed: number, api: Api = main, oracle: Api = ref): void {
  const r = makeRng(seed);
  const x = randn(r, c.x);
  const w = randn(r, c.w);
  const b = randn(r, [c.w[0]]);
  const p = convParamOf(c);
  const label = `conv ${show(c)}`;
  const xc = copy(x);
  const got = api.convForward(x, w, b, p);
  const want = oracle.convForward(x, w, b, p);
  expectClose(got.out, want.out, `${label} out`);
  const dout = randn(r, want.out.shape);
  const g = api.convBackward(dout, got.cache);
  const e = oracle.convBackward(dout, want.cache);
  expectClose(g.dx, e.dx, `${label} dx`);
  expectClose(g.dw, e.dw, `${label} dw`);
  expectClose(g.db, e.db, `${label} db`);
  expect(Array.from(x.data), `${label}: x is not mutated`).toEqual(Array.from(xc.data));
}

/** Affine forward and backward of `api` against `oracle`: x (N, d1…dk) flattened to (N,D), w (D,M), b (M). */
export function compareAffine(xShape: number[], M: number, seed: number, api: Api = main, oracle: Api = ref): void {
  const r = makeRng(seed);
  const D = size(xShape.slice(1));
  const x = randn(r, xShape);
  const w = randn(r, [D, M]);
  const b = randn(r, [M]);
  const label = `affine x ${show(xShape)} M ${M}`;
  const got = api.affineForward(x, w, b);
  const want = oracle.affineForward(x, w, b);
  expectClose(got.out, want.out, `${label} out`);
  const dout = randn(r, want.out.shape);
  const g = api.affineBackward(dout, got.cache);
  const e = oracle.affineBackward(dout, want.cache);
  expectClose(g.dx, e.dx, `${label} dx`);
  expectClose(g.dw, e.dw, `${label} dw`);
  expectClose(g.db, e.db, `${label} db`);
}
