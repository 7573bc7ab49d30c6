/**
 * Convolution, forward and backward, of the Node API against the plain reference loops on
 * configurations drawn from a seeded generator and on cases chosen by hand, at max-norm
 * relative error TOL = 1e-10; each configuration is one test whose name shows it. Then the
 * contract around the numbers: fresh results, untouched inputs, subarray views, defaults.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { Api, Rng, makeRng, randn, copy, expectClose, show } from './util.js';
import { ConvCase, compareConv, pairOf, pairH, pairW } from './compare.js';

const api: Api = main;
const oracle: Api = ref;

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
  // Chosen by hand: N = C = F = 1, odd and non-square sizes, floor cases, pads larger than the
  // kernel, kernels larger than the input, and each path of the kernels (pointwise or im2col).
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

describe('conv forward and backward vs reference', () => {
  convCases.forEach((c, i) => {
    it(`conv #${i} ${show(c)}`, () => compareConv(c, 2000 + i));
  });

  it('the configurations cover strides, pads, floor cases, N = C = F = 1, non-square and odd sizes, and the pointwise path', () => {
    const g = convCases.map((c) => {
      const [N, C, H, W] = c.x;
      const [F, , HH, WW] = c.w;
      const SH = pairH(c.stride, 1), SW = pairW(c.stride, 1), PH = pairH(c.pad, 0), PW = pairW(c.pad, 0);
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
});

describe('conv results and inputs', () => {
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
