/**
 * The register-blocked 3x3, stride 1, dilation 1 depthwise paths (assembly/depthwise.ts:
 * forward3_plane, dx3_plane for k = 1, dw3_filter): against the reference loops at
 * max-norm relative error 1e-10 on shapes that reach their edges (widths that are not a
 * multiple of the blocks, narrower than a block, one row or one column, pad 0, 1, 2 and 3,
 * blocks at a row's ends whose taps reach into the padding, channel multiplier 2, large
 * values, infinite weights at the borders), a numerical gradient check of the backward, and
 * the same bits on 1 to 4 threads.
 */
import { describe, it, expect } from 'vitest';
import * as cc from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { numericGradient, relError } from '../src/gradcheck.js';
import type { Tensor } from '../src/tensor.js';
import { capParts, splitOps, splitPoolForSuite, MAX_THREADS } from './knobs.js';
import { makeRng, randn, expectClose, show } from './util.js';
import { ConvCase, compareConv } from './compare.js';

const dw = (x: number[], k: number, pad: ConvCase['pad']): ConvCase => ({ x, w: [x[1] * k, 1, 3, 3], pad, groups: x[1] });

const cases: ConvCase[] = [
  dw([2, 3, 7, 21], 1, 1),    // 19 interior columns: blocks of eight, the last one overlapping
  dw([1, 2, 8, 58], 1, 1),    // 56 interior columns: whole blocks
  dw([2, 2, 9, 18], 1, 0),    // pad 0: no border column, 16 = two blocks
  dw([1, 3, 6, 13], 1, 0),    // pad 0, 11 columns: a block and an overlapping one
  dw([1, 2, 5, 9], 1, 1),     // 7 interior columns: fewer than a block, pairs of columns
  dw([1, 2, 6, 6], 1, 1),     // 4 interior columns
  dw([1, 2, 5, 4], 1, 1),     // 2 interior columns
  dw([1, 2, 5, 3], 1, 1),     // 1 interior column
  dw([2, 2, 1, 9], 1, 1),     // H = 1: every output row has padding above and below
  dw([2, 2, 9, 1], 1, 1),     // W = 1: no interior column
  dw([1, 3, 1, 1], 1, 1),     // 1x1 input
  dw([1, 2, 3, 3], 1, 0),     // one output
  dw([1, 2, 7, 20], 1, 2),    // pad 2: two border columns and rows on each side
  dw([1, 2, 4, 11], 1, 3),    // pad 3, larger than the kernel
  dw([1, 2, 10, 23], 1, [1, 0]),
  dw([1, 2, 10, 23], 1, [0, 2]),
  dw([2, 3, 9, 21], 2, 1),    // k = 2: forward and dw on the blocks, dx on the scatter path
  dw([1, 2, 6, 18], 3, 0),    // k = 3
  dw([1, 4, 13, 35], 1, 1),   // odd H (rows 1..11 inside), 33 interior columns
  // The edge blocks (a block whose taps reach past a row's end, its lanes there masked):
  dw([2, 2, 9, 30], 1, 2),    // pad 2: two edge blocks at each end of a row (W2 = 32)
  dw([1, 2, 6, 8], 1, 1),     // W2 = 8: one block, an edge block at both ends
  dw([1, 2, 6, 9], 1, 1),     // W2 = 9: two overlapping blocks, both edge blocks
  dw([1, 2, 6, 6], 1, 2),     // pad 2, W2 = 8: one block reaching two columns past both ends
  dw([1, 2, 7, 11], 1, 2),    // pad 2, W2 = 13
  dw([2, 3, 1, 26], 1, 1),    // H = 1, rows wide enough for blocks of eight
  dw([2, 3, 2, 17], 1, 2),    // H = 2, pad 2: every row alone, every tap row partly padding
  dw([1, 2, 5, 16], 1, 0),    // pad 0: dx's dout padding is 2, its edge blocks mask two columns
  dw([1, 2, 12, 20], 1, 3),   // pad 3 with blocks of eight: edge blocks through the exact loads
];

describe('depthwise 3x3 stride 1 vs reference', () => {
  cases.forEach((c, i) => {
    it(`conv #${i} ${show(c)}`, () => compareConv(c, 9100 + i));
  });

  it('large values (|x|, |w| near 1e150, dout near 1e-150) and tiny ones', () => {
    const r = makeRng(9201);
    for (const [sx, sw] of [[1e150, 1e140], [1e-150, 1e-140]]) {
      const x = randn(r, [2, 3, 7, 21], sx), w = randn(r, [3, 1, 3, 3], sw), b = randn(r, [3], sx * sw);
      const p = { pad: 1, groups: 3 };
      const got = cc.convForward(x, w, b, p), want = ref.convForward(x, w, b, p);
      expectClose(got.out, want.out, `out, scale ${sx}`);
      const dout = randn(r, want.out.shape as number[], 1 / sx);
      const g = cc.convBackward(dout, got.cache), e = ref.convBackward(dout, want.cache);
      expectClose(g.dx, e.dx, `dx, scale ${sx}`);
      expectClose(g.dw, e.dw, `dw, scale ${sx}`);
      expectClose(g.db, e.db, `db, scale ${sx}`);
    }
  });

  it('an infinite weight at a border: the forward adds w·0 over the padding (NaN), dx drops those taps, as the reference', () => {
    const r = makeRng(9251);
    for (const [xs, pad] of [[[2, 2, 5, 19], 1], [[1, 2, 4, 12], 2], [[1, 2, 6, 20], 0]] as [number[], number][]) {
      const x = randn(r, xs), w = randn(r, [xs[1], 1, 3, 3]), b = randn(r, [xs[1]]);
      w.data[0] = Infinity;     // tap (0, 0) of channel 0
      w.data[17] = -Infinity;   // tap (2, 2) of channel 1
      const p = { pad, groups: xs[1] };
      const got = cc.convForward(x, w, b, p), want = ref.convForward(x, w, b, p);
      const dout = randn(r, want.out.shape as number[]);
      const g = cc.convBackward(dout, got.cache), e = ref.convBackward(dout, want.cache);
      const same = (a: Tensor, c: Tensor, label: string): void => {
        expect(a.data.length, label).toBe(c.data.length);
        for (let i = 0; i < a.data.length; i++) {
          if (!Number.isFinite(c.data[i]) || !Number.isFinite(a.data[i])) expect(Object.is(a.data[i], c.data[i]), `${label}[${i}]: ${a.data[i]} vs ${c.data[i]}`).toBe(true);
        }
      };
      same(got.out, want.out, `out, ${show(xs)} pad ${pad}`);
      same(g.dx, e.dx, `dx, ${show(xs)} pad ${pad}`);
      const finite = (t: Tensor): number => Array.from(t.data).filter((v) => Number.isFinite(v)).length;
      expect(finite(g.dx), 'dx where the infinite taps read no dout is finite').toBe(finite(e.dx));
      if (pad < 2) expect(finite(e.dx), 'such dx elements exist (with pad 2 every tap reads dout)').toBeGreaterThan(0);
    }
  });

  it('the backward matches centered differences of the forward (dx, dw, db)', () => {
    for (const [i, c] of [dw([2, 2, 5, 11], 1, 1), dw([1, 2, 4, 9], 2, 0), dw([1, 2, 3, 2], 1, 2)].entries()) {
      const r = makeRng(9301 + i);
      const x = randn(r, c.x), w = randn(r, c.w), b = randn(r, [c.w[0]]);
      const p = { pad: c.pad, groups: c.groups };
      const { out, cache } = cc.convForward(x, w, b, p);
      const dout = randn(r, out.shape as number[]);
      const g = cc.convBackward(dout, cache);
      const check = (label: string, analytic: Tensor, numeric: Tensor): void => {
        expect(relError(analytic, numeric), `${show(c)} ${label}`).toBeLessThan(1e-7);
      };
      check('dx', g.dx, numericGradient((t) => cc.convForward(t, w, b, p).out, x, dout));
      check('dw', g.dw, numericGradient((t) => cc.convForward(x, t, b, p).out, w, dout));
      check('db', g.db, numericGradient((t) => cc.convForward(x, w, t, p).out, b, dout));
    }
  });
});

describe('depthwise 3x3 stride 1: the same bits on 1, 2, 3 and 4 threads', () => {
  splitPoolForSuite(cc);

  const bits = (ts: Tensor[]): number[] => ts.flatMap((t) => Array.from(t.data));
  for (const c of [dw([3, 5, 9, 21], 1, 1), dw([2, 3, 8, 13], 2, 0), dw([1, 7, 5, 4], 1, 2), dw([2, 4, 6, 18], 1, 2)]) {
    it(`forward, full backward, dx only, dw only: ${show(c)}`, () => {
      const r = makeRng(9401);
      const x = randn(r, c.x), w = randn(r, c.w), b = randn(r, [c.w[0]]);
      const p = { pad: c.pad, groups: c.groups };
      const dout = randn(r, cc.convForward(x, w, b, p).out.shape as number[]);
      const run = (): number[] => {
        const f = cc.convForward(x, w, b, p);
        const g = cc.convBackward(dout, f.cache);
        const gx = cc.convBackward(dout, f.cache, { dw: false });
        const gw = cc.convBackward(dout, f.cache, { dx: false });
        return bits([f.out, g.dx, g.dw, g.db, gx.dx, gw.dw]);
      };
      const results = [1, 2, 3, 4].map((n) => {
        capParts(n);
        const before = splitOps();
        const v = run();
        if (n > 1) expect(splitOps()).toBeGreaterThan(before);
        return v;
      });
      capParts(MAX_THREADS);
      for (let i = 1; i < results.length; i++) {
        const diff = results[i].filter((v, j) => !Object.is(v, results[0][j])).length;
        expect(diff, `${i + 1} threads`).toBe(0);
      }
    });
  }
});
