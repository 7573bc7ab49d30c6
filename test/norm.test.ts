/**
 * Layer normalization and spatial group normalization: the Wasm entry against the reference
 * loops at max-norm relative 1e-10 (random shapes, the edges of the f64x2 loops, and rows
 * with a large mean and a tiny spread), gradient checks on both entries, cases worked out by
 * hand, bad input, and the kernels' own assertions in the debug module.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import type { LayernormParam, GroupnormParam } from '../src/norm.js';
import { numericGradient, relError } from '../src/gradcheck.js';
import { Rng, makeRng, randn, copy, expectClose, show, expectConvcoreError, instantiateModule } from './util.js';

type Grads = { dx: Tensor; dgamma: Tensor; dbeta: Tensor };

/** The surface both entries share; caches are opaque (method syntax keeps both assignable). */
interface NormApi {
  layernormForward(x: Tensor, gamma: Tensor, beta: Tensor, lnParam?: LayernormParam): { out: Tensor; cache: unknown };
  layernormBackward(dout: Tensor, cache: unknown): Grads;
  spatialGroupnormForward(x: Tensor, gamma: Tensor, beta: Tensor, gnParam: GroupnormParam): { out: Tensor; cache: unknown };
  spatialGroupnormBackward(dout: Tensor, cache: unknown): Grads;
}

const entries: [string, NormApi][] = [['wasm', main], ['reference', ref]];
const t = (data: number[], shape: number[]): Tensor => ({ data: Float64Array.from(data), shape });

/** x with `mean` and `spread` per entry, gamma around 1, beta around 0. */
function inputs(r: Rng, shape: number[], C: number, mean = 0, spread = 1) {
  return { x: randn(r, shape, spread, mean), gamma: randn(r, [C], 0.5, 1), beta: randn(r, [C], 0.5) };
}

function compareGrads(got: Grads, want: Grads, label: string): void {
  expectClose(got.dx, want.dx, `${label} dx`);
  expectClose(got.dgamma, want.dgamma, `${label} dgamma`);
  expectClose(got.dbeta, want.dbeta, `${label} dbeta`);
}

// ---------------------------------------------------------------- layernorm against the reference

interface LnCase { x: number[]; eps?: number; mean?: number; spread?: number }

const lnCases: LnCase[] = [
  { x: [1, 1] }, { x: [3, 1] }, { x: [1, 2] }, { x: [2, 2] }, { x: [4, 3] }, { x: [5, 7] },
  { x: [1, 9] }, { x: [6, 16] }, { x: [3, 33] }, { x: [2, 100], eps: 1e-3 }, { x: [7, 5], eps: 0.5 },
  { x: [4, 50], mean: 1e3, spread: 1e-2 }, { x: [3, 257], mean: 1e3, spread: 1e-2 }, { x: [2, 1000], mean: -1e3, spread: 1e-2 },
  { x: [5, 6], mean: 1e3, spread: 1e-2, eps: 1e-12 },
];
{
  const r = makeRng(3001);
  for (let i = 0; i < 16; i++) lnCases.push({ x: [r.pick([1, 1, 2, 3, 8]), r.int(1, 40)], mean: r.uniform(-3, 3), spread: r.uniform(0.1, 4) });
}

describe('layernorm: wasm against the reference', () => {
  lnCases.forEach((c, i) => {
    it(show(c), () => {
      const r = makeRng(3100 + i);
      const { x, gamma, beta } = inputs(r, c.x, c.x[1], c.mean, c.spread);
      const p = c.eps === undefined ? undefined : { eps: c.eps };
      const before = [copy(x), copy(gamma), copy(beta)];
      const got = main.layernormForward(x, gamma, beta, p);
      const want = ref.layernormForward(x, gamma, beta, p);
      expectClose(got.out, want.out, 'layernormForward out');
      const dout = randn(r, c.x);
      compareGrads(main.layernormBackward(dout, got.cache), ref.layernormBackward(dout, want.cache), 'layernormBackward');
      [x, gamma, beta].forEach((v, k) => expect(Array.from(v.data), 'inputs are not mutated').toEqual(Array.from(before[k].data)));
    });
  });
});

// ---------------------------------------------------------------- groupnorm against the reference

interface GnCase { x: number[]; groups: number; eps?: number; mean?: number; spread?: number }

const gnCases: GnCase[] = [
  { x: [1, 1, 1, 1], groups: 1 },
  { x: [2, 4, 3, 5], groups: 1 }, { x: [2, 4, 3, 5], groups: 2 }, { x: [2, 4, 3, 5], groups: 4 },
  { x: [1, 6, 1, 1], groups: 3 },   // H·W = 1: the loops run along the channels
  { x: [3, 6, 1, 1], groups: 1 },
  { x: [2, 6, 5, 7], groups: 3 },   // odd H and W
  { x: [1, 8, 2, 2], groups: 8 },   // groups = C
  { x: [3, 12, 4, 4], groups: 4 },
  { x: [1, 3, 1, 9], groups: 3 },
  { x: [2, 2, 9, 1], groups: 1, eps: 0.1 },
  { x: [2, 6, 5, 7], groups: 2, mean: 1e3, spread: 1e-2 },
  { x: [1, 8, 11, 13], groups: 4, mean: 1e3, spread: 1e-2 },
  { x: [2, 4, 16, 16], groups: 1, mean: -1e3, spread: 1e-2 },
  { x: [1, 2, 3, 3], groups: 2, mean: 1e3, spread: 1e-2, eps: 1e-12 },
];
{
  const r = makeRng(3201);
  for (let i = 0; i < 16; i++) {
    const groups = r.int(1, 4);
    const C = groups * r.int(1, 3);
    gnCases.push({ x: [r.pick([1, 1, 2, 3]), C, r.int(1, 7), r.int(1, 7)], groups, mean: r.uniform(-3, 3), spread: r.uniform(0.1, 4) });
  }
}

describe('spatial groupnorm: wasm against the reference', () => {
  gnCases.forEach((c, i) => {
    it(show(c), () => {
      const r = makeRng(3300 + i);
      const { x, gamma, beta } = inputs(r, c.x, c.x[1], c.mean, c.spread);
      const p = c.eps === undefined ? { groups: c.groups } : { groups: c.groups, eps: c.eps };
      const before = [copy(x), copy(gamma), copy(beta)];
      const got = main.spatialGroupnormForward(x, gamma, beta, p);
      const want = ref.spatialGroupnormForward(x, gamma, beta, p);
      expectClose(got.out, want.out, 'spatialGroupnormForward out');
      const dout = randn(r, c.x);
      compareGrads(main.spatialGroupnormBackward(dout, got.cache), ref.spatialGroupnormBackward(dout, want.cache), 'spatialGroupnormBackward');
      [x, gamma, beta].forEach((v, k) => expect(Array.from(v.data), 'inputs are not mutated').toEqual(Array.from(before[k].data)));
    });
  });

  it('equals layernorm of x read as (N·groups, C/groups·H·W), then gamma and beta per channel', () => {
    const r = makeRng(3401);
    const [N, C, H, W, G] = [2, 6, 3, 5, 3];
    const M = (C / G) * H * W;
    const { x, gamma, beta } = inputs(r, [N, C, H, W], C);
    const gn = main.spatialGroupnormForward(x, gamma, beta, { groups: G }).out.data;
    const unit = (v: number) => ({ data: new Float64Array(M).fill(v), shape: [M] });
    const ln = main.layernormForward({ data: x.data, shape: [N * G, M] }, unit(1), unit(0)).out.data;
    const want = ln.map((v, i) => {
      const c = Math.floor(i / (H * W)) % C;
      return gamma.data[c] * v + beta.data[c];
    });
    expectClose({ data: gn, shape: [gn.length] }, { data: want, shape: [want.length] }, 'groupnorm vs layernorm');
  });
});

// ---------------------------------------------------------------- large mean, tiny spread

describe('a large mean with a tiny spread keeps its digits', () => {
  for (const [name, api] of entries) {
    it(`${name}: each row of xhat has mean 0 and variance σ²/(σ²+eps) (mean 1e3, std 1e-2)`, () => {
      const r = makeRng(3501);
      const [N, D] = [6, 400];
      const eps = 1e-12;
      const { x } = inputs(r, [N, D], D, 1e3, 1e-2);
      const one = { data: new Float64Array(D).fill(1), shape: [D] };
      const zero = { data: new Float64Array(D), shape: [D] };
      const out = api.layernormForward(x, one, zero, { eps }).out.data;
      for (let n = 0; n < N; n++) {
        const row = out.subarray(n * D, (n + 1) * D);
        const m = row.reduce((s, v) => s + v, 0) / D;
        const v = row.reduce((s, u) => s + (u - m) ** 2, 0) / D;
        // μ itself is a double near 1e3 (spacing 1.1e-13): xhat can be off by that times invstd
        // (1e2), about 1e-11, but no more. A mean summed once in one pass is off by about
        // √D·ulp(D·1e3)/D ≈ 1e-12, which shows in xhat as 1e-10.
        expect(Math.abs(m), `row ${n}: mean of xhat`).toBeLessThan(2e-11);
        // σ² ≈ 1e-4, so σ²/(σ²+eps) = 1 − 1e-8 to within 1e-14 or so
        expect(Math.abs(v - (1 - 1e-8)), `row ${n}: variance of xhat`).toBeLessThan(1e-9);
      }
    });
  }
});

// ---------------------------------------------------------------- gradient checks

const GRAD_TOL = 1e-7;

function expectGradient(label: string, analytic: Tensor, numeric: Tensor): void {
  expect(Array.from(analytic.shape), `${label}: shape`).toEqual(Array.from(numeric.shape));
  expect(relError(analytic, numeric), `${label}: relError`).toBeLessThan(GRAD_TOL);
}

// Rows of at least 4 values: with one value out = β whatever x is (dx = 0, checked against the
// reference above), and with two xhat = ±1 up to eps, so dx is of the order of the finite
// difference's own rounding and its relative error says nothing.
describe('gradient checks', () => {
  for (const [name, api] of entries) {
    for (const [shape, eps] of [[[4, 5], undefined], [[3, 4], 1e-3], [[1, 6], undefined]] as [number[], number | undefined][]) {
      it(`${name}: layernorm x ${show(shape)} eps ${eps}`, () => {
        const r = makeRng(3600 + shape[0] * 10 + shape[1]);
        const { x, gamma, beta } = inputs(r, shape, shape[1], 1, 2);
        const p = eps === undefined ? undefined : { eps };
        const f = (a: Tensor, b: Tensor, c: Tensor) => api.layernormForward(a, b, c, p).out;
        const dout = randn(r, shape);
        const { dx, dgamma, dbeta } = api.layernormBackward(dout, api.layernormForward(x, gamma, beta, p).cache);
        expectGradient('layernormBackward dx', dx, numericGradient((v) => f(v, gamma, beta), x, dout));
        expectGradient('layernormBackward dgamma', dgamma, numericGradient((v) => f(x, v, beta), gamma, dout));
        expectGradient('layernormBackward dbeta', dbeta, numericGradient((v) => f(x, gamma, v), beta, dout));
      });
    }
    for (const [shape, groups] of [[[2, 6, 3, 2], 3], [[1, 4, 3, 3], 1], [[2, 4, 2, 3], 4], [[2, 8, 1, 1], 2]] as [number[], number][]) {
      it(`${name}: spatial groupnorm x ${show(shape)} groups ${groups}`, () => {
        const r = makeRng(3700 + shape[1] * 10 + groups);
        const { x, gamma, beta } = inputs(r, shape, shape[1], -1, 2);
        const p = { groups };
        const f = (a: Tensor, b: Tensor, c: Tensor) => api.spatialGroupnormForward(a, b, c, p).out;
        const dout = randn(r, shape);
        const { dx, dgamma, dbeta } = api.spatialGroupnormBackward(dout, api.spatialGroupnormForward(x, gamma, beta, p).cache);
        expectGradient('spatialGroupnormBackward dx', dx, numericGradient((v) => f(v, gamma, beta), x, dout));
        expectGradient('spatialGroupnormBackward dgamma', dgamma, numericGradient((v) => f(x, v, beta), gamma, dout));
        expectGradient('spatialGroupnormBackward dbeta', dbeta, numericGradient((v) => f(x, gamma, v), beta, dout));
      });
    }
  }
});

// ---------------------------------------------------------------- worked out by hand

function expectNear(actual: Tensor, expected: number[], label: string): void {
  expect(actual.data.length, `${label}: length`).toBe(expected.length);
  actual.data.forEach((v, i) => expect(v, `${label}[${i}]`).toBeCloseTo(expected[i], 13));
}

describe('worked out by hand', () => {
  for (const [name, api] of entries) {
    it(`${name}: layernorm, eps 4`, () => {
      // Row 0: x = [0, 2, 4, 6], μ = 3, x − μ = [−3, −1, 1, 3], σ² = (9+1+1+9)/4 = 5,
      //   √(σ²+4) = 3, xhat = [−1, −1/3, 1/3, 1].
      //   gamma [2, 1, 3, 0.5], beta [0, 1, −1, 2]: out = [−2, 2/3, 0, 2.5].
      // Row 1: x = [10, 10, 10, 10], σ² = 0, xhat = 0, out = beta.
      const x = t([0, 2, 4, 6, 10, 10, 10, 10], [2, 4]);
      const gamma = t([2, 1, 3, 0.5], [4]);
      const beta = t([0, 1, -1, 2], [4]);
      const { out, cache } = api.layernormForward(x, gamma, beta, { eps: 4 });
      expectNear(out, [-2, 2 / 3, 0, 2.5, 0, 1, -1, 2], 'out');
      // dout row 0 = [1, 0, 0, 0]: g·dout = [2, 0, 0, 0], S1 = Σ g·dout = 2, S2 = Σ g·dout·xhat = −2,
      //   dx = (1/3)/4 · (4·[2, 0, 0, 0] − 2 + 2·xhat) = (1/12)·[4, −8/3, −4/3, 0] = [1/3, −2/9, −1/9, 0].
      // dout row 1 = [0, 1, 0, 0]: invstd = 1/2, S1 = 1, S2 = 0,
      //   dx = (1/2)/4 · (4·[0, 1, 0, 0] − 1) = [−1/8, 3/8, −1/8, −1/8].
      // dgamma = Σ dout·xhat = [−1, 0, 0, 0], dbeta = Σ dout = [1, 1, 0, 0].
      const g = api.layernormBackward(t([1, 0, 0, 0, 0, 1, 0, 0], [2, 4]), cache);
      expectNear(g.dx, [1 / 3, -2 / 9, -1 / 9, 0, -1 / 8, 3 / 8, -1 / 8, -1 / 8], 'dx');
      expectNear(g.dgamma, [-1, 0, 0, 0], 'dgamma');
      expectNear(g.dbeta, [1, 1, 0, 0], 'dbeta');
    });

    it(`${name}: spatial groupnorm, x (1,2,1,2), one group (eps 4) and two groups (eps 3)`, () => {
      // Channel 0 holds [0, 2], channel 1 holds [4, 6]; gamma [2, 3], beta [1, −1].
      const x = t([0, 2, 4, 6], [1, 2, 1, 2]);
      const gamma = t([2, 3], [2]);
      const beta = t([1, -1], [2]);
      // One group: the four values as in the layernorm case, xhat = [−1, −1/3, 1/3, 1];
      //   out = [2·(−1)+1, 2·(−1/3)+1, 3·(1/3)−1, 3·1−1] = [−1, 1/3, 0, 2].
      const one = api.spatialGroupnormForward(x, gamma, beta, { groups: 1, eps: 4 });
      expectNear(one.out, [-1, 1 / 3, 0, 2], 'out, one group');
      // dout = [1, 0, 0, 1]: g = [2, 2, 3, 3], g·dout = [2, 0, 0, 3], S1 = 5, S2 = 2·(−1) + 3·1 = 1,
      //   dx = (1/3)/4 · (4·[2, 0, 0, 3] − 5 − xhat) = (1/12)·[4, −14/3, −16/3, 6] = [1/3, −7/18, −4/9, 1/2];
      //   dgamma = [1·(−1), 1·1] = [−1, 1], dbeta = [1, 1].
      const g = api.spatialGroupnormBackward(t([1, 0, 0, 1], [1, 2, 1, 2]), one.cache);
      expectNear(g.dx, [1 / 3, -7 / 18, -4 / 9, 1 / 2], 'dx, one group');
      expectNear(g.dgamma, [-1, 1], 'dgamma, one group');
      expectNear(g.dbeta, [1, 1], 'dbeta, one group');
      // Two groups: each channel alone, [0, 2] and [4, 6]: σ² = 1, √(1+3) = 2, xhat = [−1/2, 1/2] in both;
      //   out = [2·(−1/2)+1, 2·(1/2)+1, 3·(−1/2)−1, 3·(1/2)−1] = [0, 2, −2.5, 0.5].
      const two = api.spatialGroupnormForward(x, gamma, beta, { groups: 2, eps: 3 });
      expectNear(two.out, [0, 2, -2.5, 0.5], 'out, two groups');
      // dout = [1, 0, 0, 1]: group 0: g·dout = [2, 0], S1 = 2, S2 = −1, M = 2, invstd = 1/2,
      //   dx = (1/2)/2 · ([4, 0] − 2 + xhat) = (1/4)·[1.5, −1.5] = [3/8, −3/8];
      //   group 1: g·dout = [0, 3], S1 = 3, S2 = 1.5, dx = (1/4)·([0, 6] − 3 − 1.5·xhat) = (1/4)·[−2.25, 2.25].
      const g2 = api.spatialGroupnormBackward(t([1, 0, 0, 1], [1, 2, 1, 2]), two.cache);
      expectNear(g2.dx, [3 / 8, -3 / 8, -9 / 16, 9 / 16], 'dx, two groups');
      expectNear(g2.dgamma, [-0.5, 0.5], 'dgamma, two groups');
      expectNear(g2.dbeta, [1, 1], 'dbeta, two groups');
    });
  }
});

// ---------------------------------------------------------------- bad input

interface ErrorCase { what: string; fn: string; says: RegExp; call(api: NormApi): unknown }

const r = makeRng(3801);
const x2 = randn(r, [3, 4]);
const g4 = randn(r, [4]);
const b4 = randn(r, [4]);
const x4 = randn(r, [2, 6, 3, 3]);
const g6 = randn(r, [6]);
const b6 = randn(r, [6]);
const bad = <T>(v: unknown): T => v as T;
const ln = (a: NormApi) => a.layernormForward(x2, g4, b4);
const gn = (a: NormApi) => a.spatialGroupnormForward(x4, g6, b6, { groups: 3 });

const errorCases: ErrorCase[] = [
  // ---- layernorm
  { what: 'x of rank 3', fn: 'layernormForward', says: /x must have rank 2 \(N,D\), got shape \(2,3,4\)/, call: (a) => a.layernormForward(randn(r, [2, 3, 4]), g4, b4) },
  { what: 'gamma of length 5', fn: 'layernormForward', says: /gamma must have shape \(4\) to match the 4 features of x, got \(5\)/, call: (a) => a.layernormForward(x2, randn(r, [5]), b4) },
  { what: 'beta of shape (1,4)', fn: 'layernormForward', says: /beta must have shape \(4\).*got \(1,4\)/, call: (a) => a.layernormForward(x2, g4, randn(r, [1, 4])) },
  { what: 'eps 0', fn: 'layernormForward', says: /eps must be a positive finite number, got 0$/, call: (a) => a.layernormForward(x2, g4, b4, { eps: 0 }) },
  { what: 'eps -1e-5', fn: 'layernormForward', says: /eps must be a positive finite number, got -0\.00001$/, call: (a) => a.layernormForward(x2, g4, b4, { eps: -1e-5 }) },
  { what: 'eps NaN', fn: 'layernormForward', says: /eps must be a positive finite number, got NaN$/, call: (a) => a.layernormForward(x2, g4, b4, { eps: NaN }) },
  { what: 'eps Infinity', fn: 'layernormForward', says: /eps must be a positive finite number, got Infinity$/, call: (a) => a.layernormForward(x2, g4, b4, { eps: Infinity }) },
  { what: 'an unknown key', fn: 'layernormForward', says: /lnParam has an unknown key "epsilon"; the valid keys are eps$/, call: (a) => a.layernormForward(x2, g4, b4, bad({ epsilon: 1e-5 })) },
  { what: 'lnParam a number', fn: 'layernormForward', says: /lnParam must be an object \{eps\}, got 0\.001/, call: (a) => a.layernormForward(x2, g4, b4, bad(1e-3)) },
  { what: 'dout shaped unlike the output', fn: 'layernormBackward', says: /dout must have shape \(3,4\).*got \(4,3\)/, call: (a) => a.layernormBackward(randn(r, [4, 3]), ln(a).cache) },
  { what: 'a groupnorm cache', fn: 'layernormBackward', says: /cache must be the cache returned by layernormForward/, call: (a) => a.layernormBackward(x2, gn(a).cache) },
  { what: 'a batchnorm cache', fn: 'layernormBackward', says: /cache must be the cache returned by layernormForward/, call: (a) => a.layernormBackward(x2, (a === main ? main : ref).batchnormForward(x2, g4, b4, { mode: 'train' }).cache) },
  { what: 'a cache from the other entry', fn: 'layernormBackward', says: /cache must be the cache returned by layernormForward/, call: (a) => a.layernormBackward(x2, ln(a === main ? ref : main).cache) },
  // ---- groupnorm
  { what: 'x of rank 2', fn: 'spatialGroupnormForward', says: /x must have rank 4 \(N,C,H,W\), got shape \(3,4\)/, call: (a) => a.spatialGroupnormForward(x2, g4, b4, { groups: 2 }) },
  { what: 'groups 4 with 6 channels', fn: 'spatialGroupnormForward', says: /groups must be a positive integer that divides the 6 channels of x, got 4$/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, { groups: 4 }) },
  { what: 'groups 12 with 6 channels', fn: 'spatialGroupnormForward', says: /groups must be .*6 channels.*got 12$/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, { groups: 12 }) },
  { what: 'groups 0', fn: 'spatialGroupnormForward', says: /groups must be a positive integer .*got 0$/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, { groups: 0 }) },
  { what: 'groups -3', fn: 'spatialGroupnormForward', says: /groups must be a positive integer .*got -3$/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, { groups: -3 }) },
  { what: 'groups 1.5', fn: 'spatialGroupnormForward', says: /groups must be a positive integer .*got 1\.5$/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, { groups: 1.5 }) },
  { what: 'groups NaN', fn: 'spatialGroupnormForward', says: /groups must be a positive integer .*got NaN$/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, { groups: NaN }) },
  { what: 'groups "3"', fn: 'spatialGroupnormForward', says: /groups must be a positive integer .*got "3"$/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, bad({ groups: '3' })) },
  { what: 'groups missing', fn: 'spatialGroupnormForward', says: /groups must be a positive integer .*got undefined$/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, bad({})) },
  { what: 'gnParam missing', fn: 'spatialGroupnormForward', says: /gnParam must be an object \{groups, eps\}, got undefined/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, bad(undefined)) },
  { what: 'CS231n\'s G as a key', fn: 'spatialGroupnormForward', says: /gnParam has an unknown key "G"; the valid keys are groups, eps$/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, bad({ G: 3 })) },
  {
    what: 'gamma of shape (1,C,1,1), as in CS231n', fn: 'spatialGroupnormForward',
    says: /gamma must have shape \(6\) to match the 6 channels of x, got \(1,6,1,1\); CS231n's notebook shapes gamma and beta \(1,C,1,1\), convcore \(C\)/,
    call: (a) => a.spatialGroupnormForward(x4, randn(r, [1, 6, 1, 1]), b6, { groups: 3 }),
  },
  { what: 'beta of length 3', fn: 'spatialGroupnormForward', says: /beta must have shape \(6\) to match the 6 channels of x, got \(3\)/, call: (a) => a.spatialGroupnormForward(x4, g6, randn(r, [3]), { groups: 3 }) },
  { what: 'eps 0', fn: 'spatialGroupnormForward', says: /eps must be a positive finite number, got 0$/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, { groups: 3, eps: 0 }) },
  { what: 'eps NaN', fn: 'spatialGroupnormForward', says: /eps must be a positive finite number, got NaN$/, call: (a) => a.spatialGroupnormForward(x4, g6, b6, { groups: 3, eps: NaN }) },
  { what: 'dout shaped unlike the output', fn: 'spatialGroupnormBackward', says: /dout must have shape \(2,6,3,3\).*got \(2,6,9\)/, call: (a) => a.spatialGroupnormBackward(randn(r, [2, 6, 9]), gn(a).cache) },
  { what: 'a layernorm cache', fn: 'spatialGroupnormBackward', says: /cache must be the cache returned by spatialGroupnormForward/, call: (a) => a.spatialGroupnormBackward(x4, ln(a).cache) },
  { what: 'a dropout cache', fn: 'spatialGroupnormBackward', says: /cache must be the cache returned by spatialGroupnormForward/, call: (a) => a.spatialGroupnormBackward(x4, (a === main ? main : ref).dropoutForward(x4, { mode: 'test', keepProb: 1 }).cache) },
  { what: 'undefined as cache', fn: 'spatialGroupnormBackward', says: /cache must be the cache returned by spatialGroupnormForward/, call: (a) => a.spatialGroupnormBackward(x4, undefined) },
];

describe('bad input', () => {
  for (const [name, api] of entries) {
    for (const c of errorCases) {
      it(`${name}: ${c.fn}, ${c.what}`, () => {
        expectConvcoreError(() => c.call(api), c.says, c.fn);
      });
    }
  }

  it('the module still computes correctly after the errors', () => {
    const rr = makeRng(3901);
    const a = inputs(rr, [3, 7], 7);
    const la = main.layernormForward(a.x, a.gamma, a.beta);
    const le = ref.layernormForward(a.x, a.gamma, a.beta);
    expectClose(la.out, le.out, 'layernorm out');
    const b = inputs(rr, [2, 4, 3, 3], 4);
    const ga = main.spatialGroupnormForward(b.x, b.gamma, b.beta, { groups: 2 });
    const ge = ref.spatialGroupnormForward(b.x, b.gamma, b.beta, { groups: 2 });
    expectClose(ga.out, ge.out, 'groupnorm out');
    const dout = randn(rr, [2, 4, 3, 3]);
    compareGrads(main.spatialGroupnormBackward(dout, ga.cache), ref.spatialGroupnormBackward(dout, ge.cache), 'groupnorm');
  });
});

// ---------------------------------------------------------------- debug module

describe('the norm kernels in the debug module', () => {
  const k = instantiateModule<{
    memory: WebAssembly.Memory; heap_base(): number;
    norm_forward(x: number, gamma: number, beta: number, out: number, xhat: number, invstd: number,
      R: number, G: number, Cg: number, L: number, eps: number): void;
    norm_backward(dout: number, xhat: number, gamma: number, invstd: number,
      dx: number, partial: number, R: number, G: number, Cg: number, L: number): void;
    norm_param_grads(dout: number, xhat: number, partial: number, dgamma: number, dbeta: number,
      R: number, G: number, Cg: number, L: number): void;
  }>(new URL('../build/convcore.debug.wasm', import.meta.url));
  const base = Math.ceil(k.heap_base() / 64) * 64;
  // x (2,4,1,3) with 2 groups: R = 4 rows of Cg = 2 channels of L = 3 values.
  const [R, G, Cg, L] = [4, 2, 2, 3];
  const n = R * Cg * L;
  const at = (i: number) => base + i * 256;
  // partial: the rows' per-channel sums, R·Cg·2 = 16 values.
  const [px, pg, pb, pout, ph, pinv, pdout, pdx, pdg, pdb, ppart] = Array.from({ length: 11 }, (_, i) => at(i));
  const view = (p: number, len: number) => new Float64Array(k.memory.buffer, p, len);

  it('computes what the reference computes', () => {
    const rr = makeRng(3951);
    const { x, gamma, beta } = inputs(rr, [2, 4, 1, 3], 4);
    const dout = randn(rr, [2, 4, 1, 3]);
    view(px, n).set(x.data); view(pg, 4).set(gamma.data); view(pb, 4).set(beta.data); view(pdout, n).set(dout.data);
    k.norm_forward(px, pg, pb, pout, ph, pinv, R, G, Cg, L, 1e-5);
    const want = ref.spatialGroupnormForward(x, gamma, beta, { groups: 2 });
    expectClose({ data: view(pout, n).slice(), shape: x.shape }, want.out, 'out');
    // With L > 1 the channel sums come from the partial sums norm_backward leaves.
    k.norm_backward(pdout, ph, pg, pinv, pdx, ppart, R, G, Cg, L);
    k.norm_param_grads(pdout, ph, ppart, pdg, pdb, R, G, Cg, L);
    const g = ref.spatialGroupnormBackward(dout, want.cache);
    expectClose({ data: view(pdx, n).slice(), shape: x.shape }, g.dx, 'dx');
    expectClose({ data: view(pdg, 4).slice(), shape: [4] }, g.dgamma, 'dgamma');
    expectClose({ data: view(pdb, 4).slice(), shape: [4] }, g.dbeta, 'dbeta');
  });

  it('computes what the reference computes with L = 1 (layernorm), the channel sums straight from dout', () => {
    const rr = makeRng(3952);
    const [R1, C1] = [3, 5];
    const { x, gamma, beta } = inputs(rr, [R1, C1], C1);
    const dout = randn(rr, [R1, C1]);
    view(px, R1 * C1).set(x.data); view(pg, C1).set(gamma.data); view(pb, C1).set(beta.data); view(pdout, R1 * C1).set(dout.data);
    k.norm_forward(px, pg, pb, pout, ph, pinv, R1, 1, C1, 1, 1e-5);
    const want = ref.layernormForward(x, gamma, beta);
    expectClose({ data: view(pout, R1 * C1).slice(), shape: x.shape }, want.out, 'out');
    // partial is unused with L = 1: 0 passes.
    k.norm_param_grads(pdout, ph, 0, pdg, pdb, R1, 1, C1, 1);
    k.norm_backward(pdout, ph, pg, pinv, pdx, 0, R1, 1, C1, 1);
    const g = ref.layernormBackward(dout, want.cache);
    expectClose({ data: view(pdx, R1 * C1).slice(), shape: x.shape }, g.dx, 'dx');
    expectClose({ data: view(pdg, C1).slice(), shape: [C1] }, g.dgamma, 'dgamma');
    expectClose({ data: view(pdb, C1).slice(), shape: [C1] }, g.dbeta, 'dbeta');
  });

  it('asserts positive dims, G dividing the rows, eps > 0 and buffers inside memory', () => {
    const end = k.memory.buffer.byteLength;
    expect(() => k.norm_forward(px, pg, pb, pout, ph, pinv, 3, 2, Cg, L, 1e-5)).toThrow('kernel assertion');
    expect(() => k.norm_forward(px, pg, pb, pout, ph, pinv, R, 0, Cg, L, 1e-5)).toThrow('kernel assertion');
    expect(() => k.norm_forward(px, pg, pb, pout, ph, pinv, R, G, 0, L, 1e-5)).toThrow('kernel assertion');
    expect(() => k.norm_forward(px, pg, pb, pout, ph, pinv, R, G, Cg, L, 0)).toThrow('kernel assertion');
    expect(() => k.norm_forward(px, pg, pb, end - 64, ph, pinv, R, G, Cg, L, 1e-5)).toThrow('kernel assertion');
    expect(() => k.norm_backward(pdout, ph, pg, pinv, pdx, ppart, R, 3, Cg, L)).toThrow('kernel assertion');
    expect(() => k.norm_backward(pdout, ph, pg, pinv, end - 8, ppart, R, G, Cg, L)).toThrow('kernel assertion');
    expect(() => k.norm_backward(pdout, ph, pg, pinv, pdx, end - 64, R, G, Cg, L)).toThrow('kernel assertion');
    expect(() => k.norm_backward(pdout, ph, pg, pinv, pdx, ppart, R, G, Cg, -1)).toThrow('kernel assertion');
    expect(() => k.norm_param_grads(pdout, ph, ppart, pdg, pdb, R, 3, Cg, L)).toThrow('kernel assertion');
    expect(() => k.norm_param_grads(pdout, ph, ppart, pdg, end - 8, R, G, Cg, L)).toThrow('kernel assertion');
    expect(() => k.norm_param_grads(pdout, ph, end - 64, pdg, pdb, R, G, Cg, L)).toThrow('kernel assertion');
    expect(() => k.norm_param_grads(pdout, ph, ppart, pdg, pdb, R, G, Cg, 0)).toThrow('kernel assertion');
  });
});
