/**
 * Convolution with dilation and groups, forward and backward, of the Node API against the
 * plain reference loops at max-norm relative error TOL = 1e-10, on cases chosen by hand and
 * on configurations drawn from a seeded generator; each configuration is one test whose
 * name shows it. Depthwise convs (groups = C > 1, F = k·C for a channel multiplier k) run on
 * their own direct kernels (assembly/depthwise.ts), whose f64x2 paths (four and two
 * outputs at a time, contiguous or strided columns) and scalar edges the hand-chosen cases
 * reach; every other conv runs on im2col and one GEMM per group.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import { Rng, makeRng, randn, expectClose, show } from './util.js';
import { ConvCase, compareConv, convParamOf, pairOf, pairH, pairW } from './compare.js';

/** Divisors of n, ascending. */
const divisors = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

function randomGroupConv(r: Rng): ConvCase {
  const N = r.pick([1, 1, 2, 3]);
  const C = r.int(1, 6);
  const groups = r.pick(divisors(C));
  const F = groups * r.int(1, 3);
  const HH = r.int(1, 4);
  const WW = r.chance(0.6) ? r.int(1, 4) : HH;
  const DH = r.int(1, 3);
  const DW = r.chance(0.5) ? r.int(1, 3) : DH;
  const SH = r.int(1, 3);
  const SW = r.chance(0.5) ? r.int(1, 3) : SH;
  const PH = r.int(0, 3);
  const PW = r.chance(0.5) ? r.int(0, 3) : PH;
  const EH = (HH - 1) * DH + 1, EW = (WW - 1) * DW + 1;
  const H = r.int(Math.max(1, EH - 2 * PH), EH + 7);
  const W = r.int(Math.max(1, EW - 2 * PW), EW + 9);
  return {
    x: [N, C, H, W], w: [F, C / groups, HH, WW],
    stride: pairOf(r, SH, SW), pad: pairOf(r, PH, PW), dilation: pairOf(r, DH, DW), groups,
  };
}

const cases: ConvCase[] = [
  // Dilation alone, groups 1.
  { x: [2, 3, 7, 9], w: [4, 3, 3, 3], pad: 1, dilation: 1 },
  { x: [2, 3, 7, 9], w: [4, 3, 3, 3], pad: 2, dilation: 2 },             // same size out as in
  { x: [1, 2, 11, 10], w: [3, 2, 3, 3], pad: 1, dilation: 3 },
  { x: [2, 2, 9, 8], w: [3, 2, 3, 2], pad: [1, 0], dilation: [2, 1] },   // dilated along H only
  { x: [1, 3, 13, 11], w: [2, 3, 3, 3], stride: 2, dilation: 2, pad: 1 },          // stride and dilation together
  { x: [2, 2, 10, 13], w: [3, 2, 2, 3], stride: [3, 2], dilation: [2, 3], pad: [2, 1] },
  { x: [1, 1, 3, 4], w: [2, 1, 2, 2], dilation: 2, pad: 3 },             // pad larger than the kernel, N = C = 1
  { x: [1, 2, 5, 5], w: [2, 2, 3, 3], dilation: 2 },                     // the dilated kernel = the input: one output
  { x: [1, 40, 6, 7], w: [5, 40, 3, 3], dilation: 2, pad: 2 },           // K = 360 > KC: two k blocks in the GEMM
  // Groups, 1 < groups < C: one GEMM per group.
  { x: [2, 4, 6, 7], w: [6, 2, 3, 3], pad: 1, groups: 2 },
  { x: [1, 6, 9, 7], w: [9, 2, 3, 2], stride: [2, 1], pad: [1, 2], groups: 3 },   // odd, non-square
  { x: [2, 6, 8, 7], w: [4, 3, 1, 1], groups: 2 },                       // 1x1 pointwise path, grouped
  { x: [2, 6, 8, 7], w: [6, 2, 1, 1], stride: 2, groups: 3 },            // 1x1 strided: im2col path, grouped
  { x: [1, 4, 7, 7], w: [4, 2, 3, 3], dilation: 2, stride: 2, pad: 2, groups: 2 },
  { x: [1, 64, 5, 5], w: [8, 32, 3, 3], pad: 1, groups: 2 },             // Kg = 288 > KC in each group
  { x: [3, 4, 5, 6], w: [2, 2, 2, 2], pad: 3, groups: 2 },               // pad larger than the kernel
  // groups = C: depthwise on the direct kernel, multipliers 1, 2 and 3.
  { x: [2, 3, 7, 9], w: [3, 1, 3, 3], pad: 1, groups: 3 },               // F = C
  { x: [2, 3, 7, 9], w: [6, 1, 3, 3], pad: 1, groups: 3 },               // F = 2C
  { x: [1, 2, 6, 5], w: [6, 1, 2, 3], stride: [1, 2], pad: [0, 1], groups: 2 },   // F = 3C
  { x: [2, 4, 9, 21], w: [4, 1, 3, 3], pad: 1, groups: 4 },              // 19 interior columns: 4, 2, then 1 at a time
  { x: [1, 3, 11, 26], w: [6, 1, 3, 3], stride: 2, pad: 1, groups: 3 },  // strided columns gathered in lanes
  { x: [1, 2, 12, 31], w: [2, 1, 3, 2], stride: [1, 3], pad: 1, groups: 2 },
  { x: [2, 3, 13, 17], w: [9, 1, 3, 3], dilation: 2, pad: 2, groups: 3 },         // dilated depthwise, F = 3C
  { x: [1, 2, 10, 19], w: [4, 1, 3, 3], dilation: [3, 2], stride: 2, pad: [1, 3], groups: 2 },
  { x: [1, 3, 3, 4], w: [3, 1, 2, 2], pad: 3, groups: 3 },               // pad larger than the kernel: no interior column
  { x: [2, 5, 1, 1], w: [10, 1, 3, 3], pad: 1, groups: 5 },              // a 1x1 input: all but the centre is padding
  { x: [1, 2, 4, 6], w: [2, 1, 4, 6], groups: 2 },                       // kernel = input: one output per plane
  { x: [3, 7, 5, 8], w: [7, 1, 1, 1], groups: 7 },                       // 1x1 depthwise: a per-channel scale
  { x: [1, 2, 6, 40], w: [4, 1, 5, 5], stride: [2, 1], pad: 2, groups: 2 },
  // C = 1: groups = C = 1 is a plain conv (the GEMM), with any number of filters.
  { x: [2, 1, 6, 7], w: [3, 1, 3, 3], pad: 1, groups: 1, dilation: 2 },
];
{
  const r = makeRng(7001);
  while (cases.length < 90) cases.push(randomGroupConv(r));
}

describe('conv with dilation and groups vs reference', () => {
  cases.forEach((c, i) => {
    it(`conv #${i} ${show(c)}`, () => compareConv(c, 7100 + i));
  });

  it('the configurations cover the cases the issue names', () => {
    const g = cases.map((c) => {
      const [N, C, H, W] = c.x;
      const [F, , HH, WW] = c.w;
      const G = c.groups ?? 1;
      return {
        N, C, H, W, F, HH, WW, G,
        SH: pairH(c.stride, 1), SW: pairW(c.stride, 1), PH: pairH(c.pad, 0), PW: pairW(c.pad, 0),
        DH: pairH(c.dilation, 1), DW: pairW(c.dilation, 1), pair: Array.isArray(c.dilation),
      };
    });
    const has = (what: string, p: (q: (typeof g)[number]) => boolean): void => {
      expect(g.some(p), what).toBe(true);
    };
    for (const d of [1, 2, 3]) has(`dilation ${d}`, (q) => q.DH === d && q.DW === d);
    has('dilation [2, 1]', (q) => q.pair && q.DH === 2 && q.DW === 1);
    has('groups 1', (q) => q.G === 1 && q.C > 1);
    has('groups 2 < C', (q) => q.G === 2 && q.C > 2);
    has('groups = C = 1', (q) => q.G === 1 && q.C === 1);
    for (const k of [1, 2, 3]) has(`depthwise F = ${k}C`, (q) => q.G === q.C && q.C > 1 && q.F === k * q.C);
    has('stride and dilation together', (q) => (q.SH > 1 && q.DH > 1) || (q.SW > 1 && q.DW > 1));
    has('stride and dilation together, depthwise', (q) => q.G === q.C && q.C > 1 && q.SH > 1 && q.DH > 1);
    has('pad larger than the kernel', (q) => q.PH > q.HH || q.PW > q.WW);
    has('pad larger than the kernel, depthwise', (q) => q.G === q.C && q.C > 1 && (q.PH > q.HH || q.PW > q.WW));
    has('N = 1', (q) => q.N === 1);
    has('C = 1', (q) => q.C === 1);
    has('odd H and W', (q) => q.H % 2 === 1 && q.W % 2 === 1);
    has('non-square input', (q) => q.H !== q.W);
    has('non-square kernel', (q) => q.HH !== q.WW);
    has('1x1 grouped (pointwise path)', (q) => q.G > 1 && q.G < q.C && q.HH === 1 && q.WW === 1 && q.SH === 1 && q.SW === 1 && q.PH === 0 && q.PW === 0);
  });
});

describe('conv with groups: the layout of w and of the groups', () => {
  it('groups = 2 equals two separate convs, one per half of the channels and of the filters', () => {
    const r = makeRng(7401);
    const x = randn(r, [2, 6, 7, 5]), w = randn(r, [4, 3, 3, 3]), b = randn(r, [4]);
    const p = { pad: 1, dilation: 2, stride: [1, 2] as [number, number] };
    const whole = main.convForward(x, w, b, { ...p, groups: 2 }).out;
    // The halves, sliced by hand from NCHW and (F, C/G, HH, WW).
    const half = (t: Tensor, axis1Lo: number, axis1Len: number): Tensor => {
      const [n0, n1, ...rest] = t.shape;
      const inner = rest.reduce((a, v) => a * v, 1);
      const data = new Float64Array(n0 * axis1Len * inner);
      for (let i = 0; i < n0; i++) data.set(t.data.subarray((i * n1 + axis1Lo) * inner, (i * n1 + axis1Lo + axis1Len) * inner), i * axis1Len * inner);
      return main.tensor(data, [n0, axis1Len, ...rest]);
    };
    const wHalf = (lo: number) => main.tensor(w.data.slice(lo * 27, (lo + 2) * 27), [2, 3, 3, 3]);
    const a = ref.convForward(half(x, 0, 3), wHalf(0), main.tensor(b.data.slice(0, 2), [2]), p).out;
    const c = ref.convForward(half(x, 3, 3), wHalf(2), main.tensor(b.data.slice(2, 4), [2]), p).out;
    expectClose(half(whole, 0, 2), a, 'filters 0, 1 from channels 0..2');
    expectClose(half(whole, 2, 2), c, 'filters 2, 3 from channels 3..5');
  });

  it('depthwise: filter f = c·k + m reads channel c (PyTorch\'s order), and equals the same conv with groups = 1 and zeros off its channel', () => {
    const r = makeRng(7402);
    const C = 3, k = 2;
    const x = randn(r, [2, C, 6, 7]), w = randn(r, [C * k, 1, 3, 3]), b = randn(r, [C * k]);
    const p = { pad: 1, stride: [2, 1] as [number, number], dilation: [1, 2] as [number, number] };
    const dense = new Float64Array(C * k * C * 9);
    for (let f = 0; f < C * k; f++) dense.set(w.data.subarray(f * 9, f * 9 + 9), (f * C + Math.floor(f / k)) * 9);
    const want = ref.convForward(x, main.tensor(dense, [C * k, C, 3, 3]), b, p).out;
    expectClose(main.convForward(x, w, b, { ...p, groups: C }).out, want, 'depthwise vs dense with zeros');
    expectClose(ref.convForward(x, w, b, { ...p, groups: C }).out, want, 'reference depthwise vs dense with zeros');
  });

  it('results are fresh arrays and inputs are never mutated, on the depthwise and the grouped paths', () => {
    const r = makeRng(7403);
    for (const [xs, ws, groups] of [[[2, 4, 6, 9], [8, 1, 3, 3], 4], [[2, 4, 6, 9], [6, 2, 3, 3], 2]] as const) {
      const x = randn(r, [...xs]), w = randn(r, [...ws]), b = randn(r, [ws[0]]);
      const saved = [x, w, b].map((t) => Array.from(t.data));
      const p = { pad: 1, groups, dilation: 2 };
      const f = main.convForward(x, w, b, p);
      const out = Array.from(f.out.data);
      const dout = randn(r, f.out.shape as number[]);
      const g = main.convBackward(dout, f.cache);
      const grads = [g.dx, g.dw, g.db].map((t) => Array.from(t.data));
      main.convForward(randn(r, [...xs]), randn(r, [...ws]), randn(r, [ws[0]]), p);
      main.convBackward(randn(r, f.out.shape as number[]), f.cache);
      expect(Array.from(f.out.data)).toEqual(out);
      [g.dx, g.dw, g.db].forEach((t, i) => expect(Array.from(t.data)).toEqual(grads[i]));
      [x, w, b].forEach((t, i) => expect(Array.from(t.data)).toEqual(saved[i]));
      expect(Array.from(g.dw.shape)).toEqual([...ws]);
    }
  });

  it('dilation 1 and groups 1 given explicitly change nothing: the same bits as without them', () => {
    const r = makeRng(7404);
    const x = randn(r, [2, 3, 7, 6]), w = randn(r, [4, 3, 3, 2]), b = randn(r, [4]);
    const plain = main.convForward(x, w, b, { stride: 2, pad: 1 });
    const given = main.convForward(x, w, b, convParamOf({ x: [], w: [], stride: 2, pad: 1, dilation: [1, 1], groups: 1 }));
    expect(Array.from(given.out.data)).toEqual(Array.from(plain.out.data));
    const dout = randn(r, plain.out.shape as number[]);
    const a = main.convBackward(dout, plain.cache), e = main.convBackward(dout, given.cache);
    expect(Array.from(e.dx.data)).toEqual(Array.from(a.dx.data));
    expect(Array.from(e.dw.data)).toEqual(Array.from(a.dw.data));
  });
});
