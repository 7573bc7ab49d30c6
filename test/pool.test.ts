/**
 * Max and average pooling, forward and backward, of the Node API against the plain
 * reference loops on configurations drawn from a seeded generator and on cases chosen by
 * hand, at max-norm relative error TOL = 1e-10; each configuration is one test whose name
 * shows it. Max pooling also runs on tie-heavy integer inputs (the first argmax wins).
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import type { Pair } from '../src/params.js';
import { Api, Rng, makeRng, randn, distinct, size, expectClose, show } from './util.js';
import { pairOf, pairH, pairW } from './compare.js';

const api: Api = main;
const oracle: Api = ref;

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
    });
  });

  it('the configurations cover overlapping windows, floor cases and all-negative inputs', () => {
    const SH = (c: PoolCase): number => pairH(c.stride, 1);
    const SW = (c: PoolCase): number => pairW(c.stride, 1);
    const overlapping = poolCases.filter((c) => SH(c) < c.poolHeight || SW(c) < c.poolWidth);
    const floor = poolCases.filter((c) => (c.x[2] - c.poolHeight) % SH(c) !== 0 || (c.x[3] - c.poolWidth) % SW(c) !== 0);
    expect(overlapping.length).toBeGreaterThanOrEqual(10);
    expect(floor.length).toBeGreaterThanOrEqual(10);
    expect(poolCases.filter((c) => c.negative).length).toBeGreaterThanOrEqual(5);
    expect(poolCases.some((c) => c.poolHeight !== c.poolWidth)).toBe(true);
    expect(poolCases.some((c) => c.x[0] === 1 && c.x[1] === 1)).toBe(true);
    expect(poolCases.some((c) => c.poolHeight * c.poolWidth > 256), 'a window of more than 256 cells').toBe(true);
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
    });
  });
});

/**
 * 2x2 windows with stride 2 where one side is odd: the last row or column is in no window.
 * maxpool_backward writes dx without zeroing it first only when the windows tile the plane
 * exactly, so these cases hold that path to its condition: taken on an odd side, it would
 * leave the uncovered row or column as the arena held it. The arena is filled with ones
 * before each case, so such an entry shows.
 */
const oddSideCases: PoolCase[] = [
  { x: [2, 3, 8, 7], poolHeight: 2, poolWidth: 2, stride: 2 },                 // even H, odd W
  { x: [1, 2, 6, 9], poolHeight: 2, poolWidth: 2, stride: 2, negative: true }, // even H, odd W, all negative
  { x: [3, 1, 4, 5], poolHeight: 2, poolWidth: 2, stride: 2 },                 // even H, odd W
  { x: [2, 3, 7, 8], poolHeight: 2, poolWidth: 2, stride: 2 },                 // odd H, even W
  { x: [1, 2, 9, 6], poolHeight: 2, poolWidth: 2, stride: 2, negative: true }, // odd H, even W, all negative
  { x: [2, 2, 5, 4], poolHeight: 2, poolWidth: 2, stride: 2 },                 // odd H, even W
];

/** Leaves the first `n` float64 of the per-call arena set to 1 (a ReLU of ones copies its input in and its output out there). */
function dirtyArena(n: number): void {
  api.reluForward({ data: new Float64Array(n).fill(1), shape: [n] });
}

describe('2x2 stride-2 pools with an odd side vs reference', () => {
  oddSideCases.forEach((c, i) => {
    it(`maxPool odd side #${i} ${show(c)}`, () => {
      const r = makeRng(5600 + i);
      const x = poolInput(r, c);
      dirtyArena(4 * size(c.x));
      const got = api.maxPoolForward(x, poolParam(c));
      const want = oracle.maxPoolForward(x, poolParam(c));
      expectClose(got.out, want.out, 'maxPoolForward out');
      const dout = randn(r, want.out.shape);
      dirtyArena(4 * size(c.x));
      const dx = api.maxPoolBackward(dout, got.cache).dx;
      expectClose(dx, oracle.maxPoolBackward(dout, want.cache).dx, 'maxPoolBackward dx');
    });

    it(`avgPool odd side #${i} ${show(c)}`, () => {
      const r = makeRng(5700 + i);
      const x = randn(r, c.x, 1, c.negative ? -3 : 0);
      dirtyArena(4 * size(c.x));
      const got = api.avgPoolForward(x, poolParam(c));
      const want = oracle.avgPoolForward(x, poolParam(c));
      expectClose(got.out, want.out, 'avgPoolForward out');
      const dout = randn(r, want.out.shape);
      dirtyArena(4 * size(c.x));
      expectClose(api.avgPoolBackward(dout, got.cache).dx, oracle.avgPoolBackward(dout, want.cache).dx, 'avgPoolBackward dx');
    });
  });

  it('the cases have an odd W with an even H and an odd H with an even W, and the reference leaves the uncovered line at 0', () => {
    const [H, W] = [(c: PoolCase) => c.x[2], (c: PoolCase) => c.x[3]];
    expect(oddSideCases.filter((c) => H(c) % 2 === 0 && W(c) % 2 === 1).length).toBeGreaterThanOrEqual(3);
    expect(oddSideCases.filter((c) => H(c) % 2 === 1 && W(c) % 2 === 0).length).toBeGreaterThanOrEqual(3);
    // The oracle itself: the last column (odd W) of dx is all zeros, the rest is not.
    const c = oddSideCases[0];
    const x = poolInput(makeRng(5800), c);
    const f = oracle.maxPoolForward(x, poolParam(c));
    const dx = oracle.maxPoolBackward(randn(makeRng(5801), f.out.shape), f.cache).dx.data;
    const Wd = W(c);
    const last = Array.from(dx).filter((_, j) => j % Wd === Wd - 1);
    expect(last.every((v) => v === 0)).toBe(true);
    expect(Array.from(dx).some((v) => v !== 0)).toBe(true);
  });
});

const globalShapes: number[][] = [[1, 1, 1, 1], [1, 1, 1, 2], [2, 3, 4, 5], [1, 4, 7, 7], [3, 2, 1, 9], [2, 5, 9, 1], [1, 1, 32, 33], [4, 3, 3, 3]];

describe('global average pool forward and backward vs reference', () => {
  globalShapes.forEach((shape, i) => {
    it(`globalAvgPool #${i} x ${show(shape)}`, () => {
      const r = makeRng(5600 + i);
      const x = randn(r, shape, 1, i % 2 === 0 ? 0 : 100);
      const saved = Array.from(x.data);
      const got = api.globalAvgPoolForward(x);
      const want = oracle.globalAvgPoolForward(x);
      expect(Array.from(want.out.shape)).toEqual(shape.slice(0, 2));
      expectClose(got.out, want.out, 'globalAvgPoolForward out');
      const dout = randn(r, want.out.shape);
      const dx = api.globalAvgPoolBackward(dout, got.cache).dx;
      expectClose(dx, oracle.globalAvgPoolBackward(dout, want.cache).dx, 'globalAvgPoolBackward dx');
      expect(Array.from(x.data), 'x is not mutated').toEqual(saved);
    });
  });

  it('equals avgPoolForward with one window over the whole plane', () => {
    const r = makeRng(5650);
    const x = randn(r, [2, 3, 5, 4]);
    const whole = oracle.avgPoolForward(x, { poolHeight: 5, poolWidth: 4 }).out;
    expectClose(api.globalAvgPoolForward(x).out, { data: whole.data, shape: [2, 3] }, 'global vs a 5x4 window');
  });
});

describe('pool inputs and defaults', () => {
  it('a Float64Array view with an offset into a larger buffer is read correctly', () => {
    const r = makeRng(9501);
    const big = randn(r, [100]);
    const x = { data: big.data.subarray(7, 7 + 2 * 2 * 4 * 3), shape: [2, 2, 4, 3] };
    const plain = { data: x.data.slice(), shape: x.shape };
    const pp = { poolHeight: 2, poolWidth: 2, stride: 1 };
    expectClose(api.avgPoolForward(x, pp).out, oracle.avgPoolForward(plain, pp).out, 'avgPool of a subarray');
  });

  it('pool stride defaults to the window, [poolHeight, poolWidth]', () => {
    const r = makeRng(9503);
    const x = distinct(r, [1, 2, 5, 7], 0.5, -3);
    const want = oracle.maxPoolForward(x, { poolHeight: 2, poolWidth: 3, stride: [2, 3] }).out;
    expect(want.shape).toEqual([1, 2, 2, 2]);
    expectClose(api.maxPoolForward(x, { poolHeight: 2, poolWidth: 3 }).out, want, 'maxPoolForward without stride');
    expectClose(oracle.maxPoolForward(x, { poolHeight: 2, poolWidth: 3 }).out, want, 'reference maxPoolForward without stride');
    expectClose(api.avgPoolForward(x, { poolHeight: 2, poolWidth: 3 }).out, oracle.avgPoolForward(x, { poolHeight: 2, poolWidth: 3, stride: [2, 3] }).out, 'avgPoolForward without stride');
  });
});
