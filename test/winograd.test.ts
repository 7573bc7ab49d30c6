/**
 * Winograd F(2x2,3x3) (assembly/winograd.ts): which convs take it (winogradApplies), its
 * kernels against the reference loops at max-norm relative error 1e-10 on every edge of
 * its tiling (odd sizes, pads 0 to 2, one image, one channel, one filter, large values),
 * NaN and infinities as the reference gives them, the public API on the shapes it is for
 * (forward and dx), the same bits on 1 to 4 threads, and a numerical gradient check of dx;
 * the same for grouped convs (1 < groups < C), which run group by group.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import type { ConvGeometry } from '../src/params.js';
import { kernels, reserve, put, take } from '../src/wasm.js';
import { putRecord, recordBytes } from '../src/layers/geometry.js';
import { colsLength, convForwardOn, convBackwardOn, winogradApplies, winogradDxApplies, winogradLength } from '../src/layers/conv-layer.js';
import { maxNormRelError, numericGradient, relError } from '../src/gradcheck.js';
import { capParts, splitPoolForSuite, MAX_THREADS } from './knobs.js';
import { makeRng, randn, expectClose, show, TOL } from './util.js';
import type { Rng } from './util.js';

type Pad = number | [number, number];

function geometry(xs: number[], ws: number[], pad: Pad, G = 1): ConvGeometry {
  const [N, C, H, W] = xs;
  const [F, , HH, WW] = ws;
  const [PH, PW] = typeof pad === 'number' ? [pad, pad] : pad;
  return { N, C, H, W, F, HH, WW, SH: 1, SW: 1, PH, PW, H2: H + 2 * PH - HH + 1, W2: W + 2 * PW - WW + 1, DH: 1, DW: 1, G };
}

/**
 * The Winograd kernels themselves, whatever winogradApplies says: the forward out and dx
 * (the weights transformed for each), on buffers of one call.
 */
function winogradKernels(x: Tensor, w: Tensor, b: Tensor, dout: Tensor, pad: Pad, G = 1): { out: Float64Array; dx: Float64Array } {
  const g = geometry(Array.from(x.shape), Array.from(w.shape), pad, G);
  const k = kernels();
  const nOut = g.N * g.F * g.H2 * g.W2;
  const [pg, px, pw, pb, pdout, pout, pdx, pu, pwork] = reserve('winograd test', [
    recordBytes('ConvGeom'), x.data.length * 8, w.data.length * 8, g.F * 8, nOut * 8, nOut * 8, x.data.length * 8,
    winogradLength(g) * 8, k.gemm_workspace_bytes(),
  ]);
  putRecord(pg, 'ConvGeom', g);
  put(px, x.data);
  put(pw, w.data);
  put(pb, b.data);
  put(pdout, dout.data);
  k.conv_winograd_weights(pw, pu, pg, 0);
  k.conv_winograd_forward(px, pw, pu, pb, pout, pg, pwork);
  k.conv_winograd_weights(pw, pu, pg, 1);
  k.conv_winograd_dx(pdout, pw, pu, pdx, pg, pwork);
  return { out: take(pout, nOut), dx: take(pdx, x.data.length) };
}

/** The im2col + GEMM forward on the same data (for the evidence that the API did not take it). */
function directForward(x: Tensor, w: Tensor, b: Tensor, pad: Pad, G = 1): Float64Array {
  const g = geometry(Array.from(x.shape), Array.from(w.shape), pad, G);
  const k = kernels();
  const nOut = g.N * g.F * g.H2 * g.W2;
  const [pg, px, pw, pb, pout, pwork] = reserve('winograd test', [
    recordBytes('ConvGeom'), x.data.length * 8, w.data.length * 8, g.F * 8, nOut * 8, k.gemm_workspace_bytes(),
  ]);
  putRecord(pg, 'ConvGeom', g);
  put(px, x.data);
  put(pw, w.data);
  put(pb, b.data);
  k.conv_forward(px, pw, pb, pout, pg, pwork);
  return take(pout, nOut);
}

/** The im2col + GEMM dx (col2im) on the same data. */
function directDx(dout: Tensor, w: Tensor, xs: number[], pad: Pad, G = 1): Float64Array {
  const g = geometry(xs, Array.from(w.shape), pad, G);
  const k = kernels();
  const nx = xs.reduce((a, v) => a * v, 1);
  const [pg, pdout, pw, pdx, pdb, pdcols, pwork] = reserve('winograd test', [
    recordBytes('ConvGeom'), dout.data.length * 8, w.data.length * 8, nx * 8, g.F * 8, colsLength(g) * 8, k.gemm_workspace_bytes(),
  ]);
  putRecord(pg, 'ConvGeom', g);
  put(pdout, dout.data);
  put(pw, w.data);
  k.conv_backward(pdout, 0, pw, pdx, 0, pdb, 0, pdcols, pg, pwork);
  return take(pdx, nx);
}

/** Same values, NaN where `want` is NaN, the same infinity where it is infinite, the finite rest within TOL. */
function expectSameWithSpecials(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  const a: number[] = [], e: number[] = [];
  for (let i = 0; i < want.length; i++) {
    if (Number.isFinite(want[i])) {
      a.push(got[i]);
      e.push(want[i]);
    } else {
      expect(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])), `${label}[${i}]: got ${got[i]}, want ${want[i]}`).toBe(true);
    }
  }
  if (e.length) expect(maxNormRelError(a, e), `${label}: max-norm relative error of the finite entries`).toBeLessThanOrEqual(TOL);
}

const T = (data: Float64Array, shape: number[]): Tensor => main.tensor(data, shape);

/** The kernels' out and dx against the reference's on one case. */
function checkKernels(r: Rng, xs: number[], F: number, pad: Pad, scale = 1, groups = 1): void {
  const ws = [F, xs[1] / groups, 3, 3];
  const x = randn(r, xs, scale), w = randn(r, ws, scale), b = randn(r, [F], scale);
  const want = ref.convForward(x, w, b, { pad, groups });
  const dout = randn(r, Array.from(want.out.shape), scale);
  const wantDx = ref.convBackward(dout, want.cache).dx;
  const got = winogradKernels(x, w, b, dout, pad, groups);
  const label = `x ${show(xs)}, F ${F}, pad ${show(pad)}${groups !== 1 ? `, groups ${groups}` : ''}${scale !== 1 ? `, scale ${scale}` : ''}`;
  expectClose(T(got.out, Array.from(want.out.shape)), want.out, `${label}: out`);
  expectClose(T(got.dx, xs), wantDx, `${label}: dx`);
}

describe('which convs run on Winograd', () => {
  it('the resnet and deep shapes, forward and dx', () => {
    for (const g of [geometry([8, 64, 56, 56], [64, 64, 3, 3], 1), geometry([4, 256, 14, 14], [256, 256, 3, 3], 1)]) {
      expect(winogradApplies(g)).toBe(true);
      expect(winogradDxApplies(g)).toBe(true);
    }
    expect(winogradApplies(geometry([2, 32, 9, 9], [32, 32, 3, 3], 0))).toBe(true);
    expect(winogradApplies(geometry([2, 32, 9, 9], [32, 32, 3, 3], 2))).toBe(true);
    expect(winogradApplies(geometry([2, 4, 9, 9], [32, 4, 3, 3], 1))).toBe(true);
    expect(winogradApplies(geometry([2, 64, 9, 9], [1, 64, 3, 3], 1))).toBe(true);
  });

  it('not a 3x3 stride-1 undilated conv with pad <= 2, nor fewer than 4 channels', () => {
    const base = geometry([2, 64, 12, 12], [64, 64, 3, 3], 1);
    expect(winogradApplies({ ...base, SH: 2, SW: 2, H2: 6, W2: 6 })).toBe(false);
    expect(winogradApplies({ ...base, SW: 2, W2: 6 })).toBe(false);
    expect(winogradApplies({ ...base, DH: 2, DW: 2, H2: 10, W2: 10 })).toBe(false);
    expect(winogradApplies(geometry([2, 64, 12, 12], [64, 64, 5, 5], 2))).toBe(false);
    expect(winogradApplies(geometry([2, 64, 12, 12], [64, 64, 3, 3], 3))).toBe(false);
    expect(winogradApplies(geometry([2, 3, 12, 12], [64, 3, 3, 3], 1))).toBe(false);
    expect(winogradApplies(geometry([2, 1, 12, 12], [8, 1, 3, 3], 1))).toBe(false);
    expect(winogradApplies(geometry([2, 4000, 12, 12], [64, 4000, 3, 3], 1))).toBe(false);
  });
});

describe('no quiet fallback', () => {
  it('a Winograd conv given no scratch for its transformed filters throws rather than running another path', () => {
    const g = geometry([1, 4, 6, 6], [4, 4, 3, 3], 1);
    expect(winogradApplies(g) && winogradDxApplies(g)).toBe(true);
    const k = kernels();
    expect(() => convForwardOn(k, g, 0, 0, 0, 0, 0, 0, 0)).toThrow(/^convcore: this forward runs on Winograd, but no scratch was given/);
    const mem = { dout: 0, x: 0, w: 0, dx: 64, dw: 0, db: 0, cols: 0, dcols: 0, slots: 0, geom: 0, work: 0, wino: 0 };
    expect(() => convBackwardOn(k, g, mem, false)).toThrow(/^convcore: this dx runs on Winograd, but no scratch was given/);
  });
});

describe('the Winograd kernels against the reference (max-norm relative error 1e-10)', () => {
  const r = makeRng(4242);
  const cases: [number[], number, Pad][] = [
    [[1, 1, 3, 3], 1, 0],       // one tile, one channel, one filter
    [[1, 1, 1, 1], 1, 1],       // a single input value, padded
    [[1, 1, 2, 5], 1, 2],
    [[2, 3, 5, 7], 4, 1],       // odd H and W: tiles cut at the edge
    [[1, 2, 8, 6], 3, 0],
    [[3, 1, 9, 4], 1, 2],
    [[1, 5, 6, 11], 2, [0, 2]], // non-square pads
    [[2, 4, 7, 3], 5, [2, 1]],
    [[1, 16, 13, 1], 16, 1],    // one column
    [[2, 17, 3, 17], 19, 1],    // odd channel and filter counts (a filter row past F in the packed U)
    [[1, 300, 5, 6], 7, 1],     // C > KC: two blocks of channels
    [[1, 9, 4, 5], 300, 1],     // F > KC and > MC
    [[1, 20, 40, 38], 20, 1],   // more tiles than a block
  ];
  for (const [xs, F, pad] of cases) {
    it(`x ${show(xs)}, F ${F}, pad ${show(pad)}`, () => checkKernels(r, xs, F, pad));
  }
  it('large values (1e150)', () => checkKernels(r, [2, 6, 7, 9], 5, 1, 1e150));
  it('tiny values (1e-150)', () => checkKernels(r, [2, 6, 7, 9], 5, 1, 1e-150));

  it('NaN and infinities in x, w, b and dout: the entries the reference makes NaN or infinite, the rest close', () => {
    const rr = makeRng(77);
    const xs = [2, 3, 7, 6], ws = [4, 3, 3, 3];
    for (const pad of [0, 1, 2] as const) {
      for (const [v, where] of [[NaN, 'x'], [Infinity, 'x'], [-Infinity, 'w'], [Infinity, 'w'], [NaN, 'b'], [Infinity, 'dout'], [NaN, 'dout'], [1e308, 'x']] as const) {
        const x = randn(rr, xs), w = randn(rr, ws), b = randn(rr, [4]);
        const one = (t: Tensor): void => { t.data[rr.int(0, t.data.length - 1)] = v; };
        if (where === 'x') one(x);
        if (where === 'w') one(w);
        if (where === 'b') one(b);
        const want = ref.convForward(x, w, b, { pad });
        const dout = randn(rr, Array.from(want.out.shape));
        if (where === 'dout') one(dout);
        const got = winogradKernels(x, w, b, dout, pad);
        const label = `${v} in ${where}, pad ${pad}`;
        expectSameWithSpecials(got.out, want.out.data, `${label}: out`);
        expectSameWithSpecials(got.dx, ref.convBackward(dout, want.cache).dx.data, `${label}: dx`);
      }
    }
  });

  it('an infinite weight over the padding only: NaN in the forward (0·∞), none in dx (no product there)', () => {
    // x (1,1,1,1) padded by 1: every tap but the centre sees padding.
    const x = T(Float64Array.of(2), [1, 1, 1, 1]);
    const w = T(Float64Array.of(Infinity, 0, 0, 0, 1, 0, 0, 0, 0), [1, 1, 3, 3]);
    const b = T(Float64Array.of(0), [1]);
    const dout = T(Float64Array.of(3), [1, 1, 1, 1]);
    const got = winogradKernels(x, w, b, dout, 1);
    const want = ref.convForward(x, w, b, { pad: 1 });
    expect(Number.isNaN(want.out.data[0])).toBe(true);
    expectSameWithSpecials(got.out, want.out.data, 'out');
    expectSameWithSpecials(got.dx, ref.convBackward(dout, want.cache).dx.data, 'dx');
    expect(got.dx[0]).toBe(3);
  });
});

describe('the public API on Winograd convs', () => {
  const r = makeRng(99);
  const shapes: [string, number[], number, Pad][] = [
    ['resnet (N = 2 of 8)', [2, 64, 56, 56], 64, 1],
    ['deep', [4, 256, 14, 14], 256, 1],
    ['odd sizes, pad 0', [3, 16, 9, 13], 24, 0],
    ['pad 2, N = 1', [1, 20, 7, 8], 16, 2],
    ['pads (1, 0)', [2, 16, 6, 5], 17, [1, 0]],
  ];
  for (const [name, xs, F, pad] of shapes) {
    it(`${name}: forward, dx (and dw, db) against the reference`, () => {
      const g = geometry(xs, [F, xs[1], 3, 3], pad);
      expect(winogradApplies(g)).toBe(true);
      const x = randn(r, xs), w = randn(r, [F, xs[1], 3, 3]), b = randn(r, [F]);
      const got = main.convForward(x, w, b, { pad });
      const want = ref.convForward(x, w, b, { pad });
      expectClose(got.out, want.out, `${name}: out`);
      // Winograd's bits, not im2col's: the API's out is the Winograd kernel's, and differs from the direct one's.
      const dout = randn(r, Array.from(want.out.shape));
      const wk = winogradKernels(x, w, b, dout, pad);
      expect(got.out.data.length).toBe(wk.out.length);
      expect(got.out.data.every((v, i) => Object.is(v, wk.out[i])), `${name}: out is the Winograd kernel's, bit for bit`).toBe(true);
      const direct = directForward(x, w, b, pad);
      expect(direct.some((v, i) => !Object.is(v, got.out.data[i])), `${name}: out differs from im2col's somewhere`).toBe(true);
      const gradDx = main.convBackward(dout, got.cache, { dw: false });
      expect(gradDx.dx.data.every((v, i) => Object.is(v, wk.dx[i])), `${name}: dx is the Winograd kernel's, bit for bit`).toBe(true);
      const wantDx = ref.convBackward(dout, want.cache, { dw: false });
      expectClose(gradDx.dx, wantDx.dx, `${name}: dx`);
      if (xs[0] * xs[1] * xs[2] * xs[3] < 1e5) {
        const full = main.convBackward(dout, got.cache), e = ref.convBackward(dout, want.cache);
        expectClose(full.dx, e.dx, `${name}: dx of the full backward`);
        expectClose(full.dw, e.dw, `${name}: dw`);
        expectClose(full.db, e.db, `${name}: db`);
      }
    });
  }

  it('numerical gradient check of dx (and dw, db) on a Winograd conv', () => {
    const rr = makeRng(5);
    for (const pad of [0, 1, 2]) {
      const x = randn(rr, [1, 16, 5, 6]), w = randn(rr, [16, 16, 3, 3]), b = randn(rr, [16]);
      expect(winogradApplies(geometry([1, 16, 5, 6], [16, 16, 3, 3], pad))).toBe(true);
      const p = { pad };
      const { out, cache } = main.convForward(x, w, b, p);
      const dout = randn(rr, Array.from(out.shape));
      const { dx, db } = main.convBackward(dout, cache);
      expect(relError(dx, numericGradient((t) => main.convForward(t, w, b, p).out, x, dout)), `pad ${pad}: dx`).toBeLessThan(1e-7);
      expect(relError(db, numericGradient((t) => main.convForward(x, w, t, p).out, b, dout)), `pad ${pad}: db`).toBeLessThan(1e-7);
    }
  });
});

describe('Winograd gives the same bits on 1, 2, 3 and 4 threads', () => {
  splitPoolForSuite(main);
  const r = makeRng(31);
  const cases: [string, number[], number, Pad, boolean, number?][] = [
    ['odd sizes, 3 images', [3, 16, 9, 11], 20, 1, false],
    ['deep-like, 2 images', [2, 64, 14, 14], 64, 1, false],
    ['many tiles (several blocks a part)', [2, 16, 60, 58], 16, 2, false],
    ['with NaN and infinities', [2, 16, 7, 9], 16, 0, true],
    ['groups 4, odd sizes, 3 images', [3, 16, 9, 11], 20, 1, false, 4],
    ['groups 2, many tiles', [2, 10, 40, 38], 12, 2, false, 2],
    ['groups 4, with NaN and infinities', [2, 32, 7, 9], 16, 1, true, 4],
  ];
  for (const [name, xs, F, pad, specials, groups = 1] of cases) {
    it(name, () => {
      const ws = [F, xs[1] / groups, 3, 3];
      const x = randn(r, xs), w = randn(r, ws), b = randn(r, [F]);
      if (specials) {
        x.data[5] = NaN;
        x.data[x.data.length - 3] = Infinity;
        w.data[40] = -Infinity;
      }
      expect(winogradApplies(geometry(xs, ws, pad, groups))).toBe(true);
      expect(winogradDxApplies(geometry(xs, ws, pad, groups))).toBe(true);
      const results = [1, 2, 3, 4].map((n) => {
        capParts(n);
        const { out, cache } = main.convForward(x, w, b, { pad, groups });
        const dout = randn(makeRng(7), Array.from(out.shape));
        const { dx } = main.convBackward(dout, cache, { dw: false });
        return [...out.data, ...dx.data];
      });
      capParts(MAX_THREADS);
      for (let i = 1; i < results.length; i++) {
        const diff = results[i].filter((v, j) => !Object.is(v, results[0][j])).length;
        expect(diff, `${i + 1} threads`).toBe(0);
      }
    });
  }
});

describe('grouped convs on Winograd (1 < groups < C), group by group', () => {
  it('the rule: from 2 channels a group (not depthwise), whatever F/G; dx not on a small plane with pad 0', () => {
    for (const g of [
      geometry([8, 64, 56, 56], [64, 16, 3, 3], 1, 4), geometry([16, 32, 32, 32], [32, 8, 3, 3], 1, 4),
      geometry([8, 128, 28, 28], [128, 32, 3, 3], 1, 4), geometry([16, 16, 32, 32], [16, 4, 3, 3], 1, 4),
      geometry([2, 10, 12, 12], [10, 5, 3, 3], 0, 2), geometry([2, 10, 9, 9], [10, 5, 3, 3], 2, 2),
    ]) {
      expect(winogradApplies(g), show([g.C, g.F, g.G])).toBe(true);
      expect(winogradDxApplies(g), show([g.C, g.F, g.G])).toBe(true);
    }
    // Depthwise (groups = C) has its own kernels.
    const dw = geometry([2, 16, 9, 9], [16, 1, 3, 3], 1, 16);
    expect(winogradApplies(dw)).toBe(false);
    expect(winogradDxApplies(dw)).toBe(false);
    // 2 and 3 channels a group, 1 and 2 filters a group: Winograd, forward and dx.
    for (const g of [geometry([2, 12, 9, 9], [16, 3, 3, 3], 1, 4), geometry([2, 8, 9, 9], [4, 2, 3, 3], 1, 4),
      geometry([2, 16, 9, 9], [8, 4, 3, 3], 1, 4), geometry([4, 6, 33, 33], [6, 3, 3, 3], 1, 2)]) {
      expect(winogradApplies(g), show([g.C, g.F, g.G])).toBe(true);
      expect(winogradDxApplies(g), show([g.C, g.F, g.G])).toBe(true);
    }
    // dx of a 7x7 input with pad 0 (dout 5x5, 25 of the tiles' 64 outputs): col2im; with pad 1, or 10x10 with pad 0, Winograd.
    expect(winogradApplies(geometry([8, 64, 7, 7], [64, 32, 3, 3], 0, 2))).toBe(true);
    expect(winogradDxApplies(geometry([8, 64, 7, 7], [64, 32, 3, 3], 0, 2))).toBe(false);
    expect(winogradDxApplies(geometry([8, 64, 7, 7], [64, 32, 3, 3], 1, 2))).toBe(true);
    expect(winogradDxApplies(geometry([8, 64, 10, 10], [64, 16, 3, 3], 0, 4))).toBe(true);
    const base = geometry([2, 64, 12, 12], [64, 16, 3, 3], 1, 4);
    expect(winogradApplies({ ...base, SH: 2, SW: 2, H2: 6, W2: 6 })).toBe(false);
    expect(winogradApplies({ ...base, DH: 2, DW: 2, H2: 10, W2: 10 })).toBe(false);
    expect(winogradApplies(geometry([2, 64, 12, 12], [64, 16, 3, 3], 3, 4))).toBe(false);
    expect(winogradApplies(geometry([2, 64, 12, 12], [64, 16, 5, 5], 2, 4))).toBe(false);
    expect(winogradApplies(geometry([2, 8000, 12, 12], [64, 4000, 3, 3], 1, 2))).toBe(false);
  });

  const r = makeRng(2024);
  const cases: [number[], number, Pad, number][] = [
    [[2, 8, 7, 9], 6, 1, 2],        // C/G 4, F/G 3, odd H and W
    [[1, 10, 5, 11], 14, 0, 2],     // C/G 5, F/G 7, N = 1
    [[3, 16, 9, 6], 20, 2, 4],      // C/G 4, F/G 5
    [[1, 20, 6, 7], 12, 1, 4],      // C/G 5, F/G 3
    [[2, 12, 13, 5], 18, [2, 1], 2], // C/G 6, F/G 9, non-square pads
    [[1, 8, 3, 3], 4, 0, 2],        // one tile, F/G 2
    [[2, 6, 7, 5], 6, 1, 3],        // C/G 2, F/G 2, groups 3
    [[1, 9, 6, 9], 3, 2, 3],        // C/G 3, F/G 1
    [[1, 20, 40, 38], 20, 1, 4],    // more tiles than a block
    [[1, 600, 5, 6], 14, 1, 2],     // C/G = 300 > KC: two blocks of channels a group
    [[1, 10, 4, 5], 600, 1, 2],     // F/G = 300 > KC and > MC
  ];
  for (const [xs, F, pad, G] of cases) {
    it(`kernels: x ${show(xs)}, F ${F}, pad ${show(pad)}, groups ${G}`, () => checkKernels(r, xs, F, pad, 1, G));
  }
  it('kernels: large values (1e150), groups 2', () => checkKernels(r, [2, 10, 7, 9], 6, 1, 1e150, 2));

  it('kernels: NaN and infinities in x, w, b and dout, groups 2 and 4', () => {
    const rr = makeRng(78);
    for (const [xs, F, G] of [[[2, 8, 7, 6], 6, 2], [[1, 16, 5, 7], 8, 4]] as [number[], number, number][]) {
      const ws = [F, xs[1] / G, 3, 3];
      for (const pad of [0, 1, 2] as const) {
        for (const [v, where] of [[NaN, 'x'], [Infinity, 'x'], [-Infinity, 'w'], [Infinity, 'w'], [NaN, 'b'], [Infinity, 'dout'], [NaN, 'dout'], [1e308, 'x']] as const) {
          const x = randn(rr, xs), w = randn(rr, ws), b = randn(rr, [F]);
          const one = (t: Tensor): void => { t.data[rr.int(0, t.data.length - 1)] = v; };
          if (where === 'x') one(x);
          if (where === 'w') one(w);
          if (where === 'b') one(b);
          const want = ref.convForward(x, w, b, { pad, groups: G });
          const dout = randn(rr, Array.from(want.out.shape));
          if (where === 'dout') one(dout);
          const got = winogradKernels(x, w, b, dout, pad, G);
          const label = `${v} in ${where}, x ${show(xs)}, groups ${G}, pad ${pad}`;
          expectSameWithSpecials(got.out, want.out.data, `${label}: out`);
          expectSameWithSpecials(got.dx, ref.convBackward(dout, want.cache).dx.data, `${label}: dx`);
          // The non-finite values stay in their own group's outputs.
          const plane = want.out.shape[2] * want.out.shape[3];
          const bad = new Set<number>();
          want.out.data.forEach((e, i) => { if (!Number.isFinite(e)) bad.add(Math.floor(i / plane) % F / (F / G) | 0); });
          if (where === 'w' || where === 'b') expect(bad.size, `${label}: groups with non-finite outputs`).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  const shapes: [string, number[], number, Pad, number][] = [
    ['the bench conv (N = 1 of 8)', [1, 64, 56, 56], 64, 1, 4],
    ['groups 2, odd sizes, pad 0', [2, 8, 9, 13], 10, 0, 2],
    ['groups 4, C/G 5, pad 2, N = 1', [1, 20, 7, 8], 20, 2, 4],
    ['groups 4, C/G 4, F/G 4', [3, 16, 10, 10], 16, 1, 4],
    ['groups 4, C/G 2, F/G 1', [2, 8, 9, 7], 4, 1, 4],
    ['groups 3, C/G 3, F/G 2', [1, 9, 8, 11], 6, 2, 3],
  ];
  for (const [name, xs, F, pad, G] of shapes) {
    it(`API: ${name}: forward and dx are the Winograd kernels', against the reference`, () => {
      const ws = [F, xs[1] / G, 3, 3];
      const g = geometry(xs, ws, pad, G);
      expect(winogradApplies(g)).toBe(true);
      expect(winogradDxApplies(g)).toBe(true);
      const x = randn(r, xs), w = randn(r, ws), b = randn(r, [F]);
      const p = { pad, groups: G };
      const got = main.convForward(x, w, b, p);
      const want = ref.convForward(x, w, b, p);
      expectClose(got.out, want.out, `${name}: out`);
      const dout = randn(r, Array.from(want.out.shape));
      const wk = winogradKernels(x, w, b, dout, pad, G);
      expect(got.out.data.every((v, i) => Object.is(v, wk.out[i])), `${name}: out is the Winograd kernel's, bit for bit`).toBe(true);
      const direct = directForward(x, w, b, pad, G);
      expect(direct.some((v, i) => !Object.is(v, got.out.data[i])), `${name}: out differs from im2col's somewhere`).toBe(true);
      const gradDx = main.convBackward(dout, got.cache, { dw: false });
      expect(gradDx.dx.data.every((v, i) => Object.is(v, wk.dx[i])), `${name}: dx is the Winograd kernel's, bit for bit`).toBe(true);
      const directD = directDx(dout, w, xs, pad, G);
      expect(directD.some((v, i) => !Object.is(v, gradDx.dx.data[i])), `${name}: dx differs from col2im's somewhere`).toBe(true);
      const wantB = ref.convBackward(dout, want.cache);
      expectClose(gradDx.dx, wantB.dx, `${name}: dx`);
      const full = main.convBackward(dout, got.cache);
      expect(full.dx.data.every((v, i) => Object.is(v, wk.dx[i])), `${name}: dx of the full backward is the Winograd kernel's`).toBe(true);
      expectClose(full.dw, wantB.dw, `${name}: dw`);
      expectClose(full.db, wantB.db, `${name}: db`);
    });
  }

  it('API: a 7x7 input with pad 0: dx stays on col2im, the forward on Winograd', () => {
    const xs = [2, 16, 7, 7], ws = [8, 8, 3, 3];
    const x = randn(r, xs), w = randn(r, ws), b = randn(r, [8]);
    expect(winogradDxApplies(geometry(xs, ws, 0, 2))).toBe(false);
    const got = main.convForward(x, w, b, { pad: 0, groups: 2 });
    const dout = randn(r, Array.from(got.out.shape));
    const wk = winogradKernels(x, w, b, dout, 0, 2);
    expect(got.out.data.every((v, i) => Object.is(v, wk.out[i]))).toBe(true);
    const { dx } = main.convBackward(dout, got.cache, { dw: false });
    const direct = directDx(dout, w, xs, 0, 2);
    expect(dx.data.every((v, i) => Object.is(v, direct[i])), 'dx is col2im\'s, bit for bit').toBe(true);
    expectClose(dx, ref.convBackward(dout, ref.convForward(x, w, b, { pad: 0, groups: 2 }).cache).dx, 'dx');
  });

  it('numerical gradient check of dx (and db) on grouped Winograd convs', () => {
    const rr = makeRng(6);
    for (const [G, pad] of [[2, 0], [2, 1], [4, 2], [3, 1]]) {
      const xs = [1, 4 * G, 8, 8], ws = [5 * G, 4, 3, 3];
      const x = randn(rr, xs), w = randn(rr, ws), b = randn(rr, [5 * G]);
      expect(winogradApplies(geometry(xs, ws, pad, G))).toBe(true);
      expect(winogradDxApplies(geometry(xs, ws, pad, G))).toBe(true);
      const p = { pad, groups: G };
      const { out, cache } = main.convForward(x, w, b, p);
      const dout = randn(rr, Array.from(out.shape));
      const { dx, db } = main.convBackward(dout, cache);
      expect(relError(dx, numericGradient((t) => main.convForward(t, w, b, p).out, x, dout)), `groups ${G}, pad ${pad}: dx`).toBeLessThan(1e-7);
      expect(relError(db, numericGradient((t) => main.convForward(x, w, t, p).out, b, dout)), `groups ${G}, pad ${pad}: db`).toBeLessThan(1e-7);
    }
  });
});
