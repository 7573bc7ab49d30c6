/**
 * NaN and infinities (issue 9, item 3). A max pool window that holds a NaN gives NaN, as
 * numpy's max and PyTorch's max pool do, and its gradient goes to the window's first
 * NaN; a diverging network must not hide its NaNs. Checked by hand on every path of the
 * max pool kernel (the f64x2 2x2 pairs and their scalar tail, the generic window, the
 * 32-bit argmax of windows past 256 cells, overlapping windows), then every op is run on
 * data sprinkled with NaN, +Inf and −Inf against the reference: the same entries must be
 * NaN, the same must be infinite with the same sign, and the finite ones must agree at
 * max-norm relative error TOL.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import type { PoolParam } from '../src/params.js';
import { Api, Rng, makeRng, randn, maxNormRelError, TOL, show } from './util.js';

const entries: [string, Api][] = [['wasm', main], ['reference', ref]];
const T = (data: number[], shape: number[]): Tensor => main.tensor(data, shape);

/** Same shape; NaN where `expected` is NaN, the same infinity where it is infinite, the finite rest within TOL. */
function expectSameWithSpecials(actual: Tensor, expected: Tensor, label: string): void {
  expect(Array.from(actual.shape), `${label}: shape`).toEqual(Array.from(expected.shape));
  const a: number[] = [];
  const e: number[] = [];
  for (let i = 0; i < expected.data.length; i++) {
    const got = actual.data[i], want = expected.data[i];
    if (Number.isFinite(want)) {
      a.push(got);
      e.push(want);
    } else {
      expect(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)), `${label}[${i}]: got ${got}, want ${want}`).toBe(true);
    }
  }
  expect(maxNormRelError(a, e), `${label}: max-norm relative error of the finite entries`).toBeLessThanOrEqual(TOL);
}

function expectSameNumber(actual: number, expected: number, label: string): void {
  if (Number.isFinite(expected)) expect(maxNormRelError(actual, expected), label).toBeLessThanOrEqual(TOL);
  else expect(Object.is(actual, expected) || (Number.isNaN(actual) && Number.isNaN(expected)), `${label}: got ${actual}, want ${expected}`).toBe(true);
}

// ---- max pool by hand

/** Window cells in row-major window order, and what max pool must make of them. */
interface Win { cells: number[]; max: number; arg: number }
const WINDOWS: Win[] = [
  { cells: [1, NaN, 2, 3], max: NaN, arg: 1 },             // the example: was 3
  { cells: [NaN, 5, NaN, 1], max: NaN, arg: 0 },           // the first NaN, not a later one
  { cells: [-Infinity, -Infinity, -Infinity, -Infinity], max: -Infinity, arg: 0 },
  { cells: [1, Infinity, Infinity, NaN], max: NaN, arg: 3 }, // NaN beats +Inf
  { cells: [Infinity, 1, 2, 3], max: Infinity, arg: 0 },
  { cells: [-1, -3, -0.5, -2], max: -0.5, arg: 2 },        // no special value: unchanged
  { cells: [2, 2, NaN, NaN], max: NaN, arg: 2 },
  { cells: [-Infinity, NaN, -Infinity, 0], max: NaN, arg: 1 },
  { cells: [0, -0, 7, 7], max: 7, arg: 2 },
];

/**
 * The windows laid out side by side for a window of hh×ww cells (hh·ww = 4) with stride
 * equal to the window: x (1,1,hh,n·ww). Returns x, the expected out and, for dout = 1, 2,
 * 3, …, the expected dx.
 */
function layout(wins: Win[], hh: number, ww: number): { x: Tensor; out: number[]; dx: number[] } {
  const W = wins.length * ww;
  const x = new Float64Array(hh * W);
  const dx = new Array<number>(hh * W).fill(0);
  wins.forEach((win, k) => {
    win.cells.forEach((v, c) => {
      const i = Math.floor(c / ww), j = c % ww;
      x[i * W + k * ww + j] = v;
      if (c === win.arg) dx[i * W + k * ww + j] = k + 1;
    });
  });
  return { x: T(Array.from(x), [1, 1, hh, W]), out: wins.map((w) => w.max), dx };
}

function checkMaxPool(api: Api, x: Tensor, param: PoolParam, out: number[], dx: number[]): void {
  const f = api.maxPoolForward(x, param);
  expectSameWithSpecials(f.out, T(out, f.out.shape as number[]), 'out');
  const dout = T(out.map((_, k) => k + 1), f.out.shape as number[]);
  expectSameWithSpecials(api.maxPoolBackward(dout, f.cache).dx, T(dx, x.shape as number[]), 'dx');
}

describe.each(entries)('max pool of windows holding NaN and infinities, by hand (%s)', (_, api) => {
  it('2x2 windows, stride 2: pairs of windows in f64x2 lanes, then the scalar tail (9 windows)', () => {
    const { x, out, dx } = layout(WINDOWS, 2, 2);
    checkMaxPool(api, x, { poolHeight: 2, poolWidth: 2, stride: 2 }, out, dx);
  });

  it('2x2 windows, each NaN in every one of the four cells and in each lane of a pair', () => {
    for (let cell = 0; cell < 4; cell++) {
      for (let lane = 0; lane < 2; lane++) {
        const wins: Win[] = [0, 1].map((k) => {
          const cells = [4, 3, 2, 1].map((v) => v + 10 * k);
          if (k !== lane) return { cells, max: cells[0], arg: 0 };
          cells[cell] = NaN;
          return { cells, max: NaN, arg: cell };
        });
        const { x, out, dx } = layout(wins, 2, 2);
        checkMaxPool(api, x, { poolHeight: 2, poolWidth: 2, stride: 2 }, out, dx);
      }
    }
  });

  it('1x4 and 4x1 windows: the generic path', () => {
    for (const [hh, ww] of [[1, 4], [4, 1]]) {
      const { x, out, dx } = layout(WINDOWS, hh, ww);
      checkMaxPool(api, x, { poolHeight: hh, poolWidth: ww, stride: [hh, ww] }, out, dx);
    }
  });

  it('2x2 windows with stride [2, 1]: overlapping along W, gradients accumulate on the NaN', () => {
    // x (1,1,2,3) = [[1, NaN, 5], [2, 3, 4]]: windows [1, NaN, 2, 3] and [NaN, 5, 3, 4].
    const x = T([1, NaN, 5, 2, 3, 4], [1, 1, 2, 3]);
    checkMaxPool(api, x, { poolHeight: 2, poolWidth: 2, stride: [2, 1] }, [NaN, NaN], [0, 1 + 2, 0, 0, 0, 0]);
  });

  it('a 17x16 window (272 cells, 32-bit argmax) whose first NaN is cell 269', () => {
    const data = Array.from({ length: 272 }, (_, i) => Math.sin(i));
    data[269] = NaN;
    data[270] = Infinity;
    data[271] = NaN;
    const dx = new Array<number>(272).fill(0);
    dx[269] = 1;
    checkMaxPool(api, T(data, [1, 1, 17, 16]), { poolHeight: 17, poolWidth: 16 }, [NaN], dx);
  });
});

// ---- every op against the reference on data with NaN and infinities

/** Normal data with a fraction of NaN, +Inf and −Inf entries. */
function sprinkled(r: Rng, shape: number[], fraction = 0.08): Tensor {
  const t = randn(r, shape);
  const specials = [NaN, Infinity, -Infinity];
  for (let i = 0; i < t.data.length; i++) if (r.chance(fraction)) t.data[i] = r.pick(specials);
  return t;
}

/** Normal data with exactly one special value at a random place. */
function oneSpecial(r: Rng, shape: number[], v: number): Tensor {
  const t = randn(r, shape);
  t.data[r.int(0, t.data.length - 1)] = v;
  return t;
}

describe('ops on data with NaN and infinities give what the reference gives', () => {
  const seeds = [1, 2, 3, 4, 5, 6];

  it.each(seeds)('max and average pooling, forward and backward (seed %i)', (seed) => {
    const r = makeRng(1000 + seed);
    const x = sprinkled(r, [2, 3, 6, 8]);
    for (const p of [{ poolHeight: 2, poolWidth: 2 }, { poolHeight: 3, poolWidth: 2, stride: 1 }, { poolHeight: 2, poolWidth: 3, stride: [2, 1] as [number, number] }]) {
      const label = show(p);
      const fm = main.maxPoolForward(x, p), fr = ref.maxPoolForward(x, p);
      expectSameWithSpecials(fm.out, fr.out, `max ${label} out`);
      const dout = sprinkled(r, fr.out.shape as number[], 0.03);
      expectSameWithSpecials(main.maxPoolBackward(dout, fm.cache).dx, ref.maxPoolBackward(dout, fr.cache).dx, `max ${label} dx`);
      const am = main.avgPoolForward(x, p), ar = ref.avgPoolForward(x, p);
      expectSameWithSpecials(am.out, ar.out, `avg ${label} out`);
      expectSameWithSpecials(main.avgPoolBackward(dout, am.cache).dx, ref.avgPoolBackward(dout, ar.cache).dx, `avg ${label} dx`);
    }
  });

  it('average pooling of a window with +Inf and −Inf is NaN; with one of them, that infinity', () => {
    const x = T([Infinity, -Infinity, Infinity, 1, 2, 3, 4, 5], [1, 1, 2, 4]);
    for (const [, api] of entries) {
      expectSameWithSpecials(api.avgPoolForward(x, { poolHeight: 2, poolWidth: 2 }).out, T([NaN, Infinity], [1, 1, 1, 2]), 'out');
    }
  });

  it.each(seeds)('conv, forward and backward, with NaN and infinities in x, w and dout (seed %i)', (seed) => {
    const r = makeRng(2000 + seed);
    for (const [v, where] of [[NaN, 'x'], [Infinity, 'x'], [-Infinity, 'w'], [Infinity, 'w'], [NaN, 'b'], [Infinity, 'dout']] as const) {
      const x = where === 'x' ? oneSpecial(r, [2, 2, 5, 6], v) : randn(r, [2, 2, 5, 6]);
      const w = where === 'w' ? oneSpecial(r, [3, 2, 3, 3], v) : randn(r, [3, 2, 3, 3]);
      const b = where === 'b' ? oneSpecial(r, [3], v) : randn(r, [3]);
      for (const p of [{ stride: 1, pad: 1 }, { stride: 2, pad: 2 }, { stride: 1, pad: 0 }]) {
        const label = `${v} in ${where}, ${show(p)}`;
        const fm = main.convForward(x, w, b, p), fr = ref.convForward(x, w, b, p);
        expectSameWithSpecials(fm.out, fr.out, `${label} out`);
        const dout = where === 'dout' ? oneSpecial(r, fr.out.shape as number[], v) : randn(r, fr.out.shape as number[]);
        const gm = main.convBackward(dout, fm.cache), gr = ref.convBackward(dout, fr.cache);
        expectSameWithSpecials(gm.dx, gr.dx, `${label} dx`);
        expectSameWithSpecials(gm.dw, gr.dw, `${label} dw`);
        expectSameWithSpecials(gm.db, gr.db, `${label} db`);
      }
    }
  });

  it.each(seeds)('conv with dilation and groups, depthwise included, with NaN and infinities in x, w and dout (seed %i)', (seed) => {
    const r = makeRng(2500 + seed);
    const configs: [number[], number[], object][] = [
      [[2, 2, 7, 6], [3, 2, 3, 3], { pad: 2, dilation: 2 }],
      [[2, 4, 5, 6], [4, 2, 3, 3], { pad: 1, groups: 2, stride: 2 }],
      [[2, 3, 5, 9], [6, 1, 3, 3], { pad: 2, groups: 3, dilation: [1, 2] }],   // depthwise, F = 2C
      [[1, 3, 4, 11], [3, 1, 3, 3], { pad: 1, groups: 3, stride: [1, 2] }],    // depthwise, F = C
    ];
    for (const [xs, ws, p] of configs) {
      for (const [v, where] of [[NaN, 'x'], [Infinity, 'x'], [-Infinity, 'w'], [Infinity, 'w'], [NaN, 'b'], [Infinity, 'dout'], [NaN, 'dout']] as const) {
        const x = where === 'x' ? oneSpecial(r, xs, v) : randn(r, xs);
        const w = where === 'w' ? oneSpecial(r, ws, v) : randn(r, ws);
        const b = where === 'b' ? oneSpecial(r, [ws[0]], v) : randn(r, [ws[0]]);
        const label = `${v} in ${where}, x ${show(xs)}, w ${show(ws)}, ${show(p)}`;
        const fm = main.convForward(x, w, b, p), fr = ref.convForward(x, w, b, p);
        expectSameWithSpecials(fm.out, fr.out, `${label} out`);
        const dout = where === 'dout' ? oneSpecial(r, fr.out.shape as number[], v) : randn(r, fr.out.shape as number[]);
        const gm = main.convBackward(dout, fm.cache), gr = ref.convBackward(dout, fr.cache);
        expectSameWithSpecials(gm.dx, gr.dx, `${label} dx`);
        expectSameWithSpecials(gm.dw, gr.dw, `${label} dw`);
        expectSameWithSpecials(gm.db, gr.db, `${label} db`);
      }
    }
  });

  it('depthwise and dilated convs: an infinite weight (or dout) over the zero padding gives NaN, as numpy\'s padded sum does', () => {
    // x (1,2,1,1) padded by 1, depthwise 3x3 filters with +Inf in a corner that only sees padding.
    const x = T([2, 3], [1, 2, 1, 1]);
    const w = T([Infinity, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], [2, 1, 3, 3]);
    for (const [, api] of entries) {
      const { out, cache } = api.convForward(x, w, T([0, 0], [2]), { pad: 1, groups: 2 });
      expect(Number.isNaN(out.data[0]), 'the filter with the infinite corner').toBe(true);
      expect(out.data[1]).toBe(3);
      // An infinite dout meets the padding in every dw tap but the centre: NaN there, Inf at the centre.
      const { dw } = api.convBackward(T([Infinity, 1], [1, 2, 1, 1]), cache);
      expect(Array.from(dw.data.subarray(0, 9)).map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(['NaN', 'NaN', 'NaN', 'NaN', Infinity, 'NaN', 'NaN', 'NaN', 'NaN']);
      // Dilation 2, pad 2 on a 1x1 input: a padded 5x5, a 2x2 kernel spanning 3x3, a 3x3 output.
      // The −Inf tap (1,1) reads the input only for output (0,0) (−Inf·2 = −Inf), and the
      // padding everywhere else (−Inf·0 = NaN).
      const d = api.convForward(T([2], [1, 1, 1, 1]), T([1, 1, 1, -Infinity], [1, 1, 2, 2]), T([0], [1]), { pad: 2, dilation: 2 });
      expect(Array.from(d.out.data).map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual([-Infinity, ...new Array(8).fill('NaN')]);
    }
  });

  it('svm loss: a NaN score gives a NaN loss; an infinite one an infinite or NaN margin, as numpy.maximum gives', () => {
    const scores = main.tensor([1, NaN, 0, 2, 0.5, -1, Infinity, 0, 0, 0, 0, -Infinity], [4, 3]);
    const y = [0, 0, 2, 2];
    const sm = main.svmLoss(scores, y), se = ref.svmLoss(scores, y);
    expectSameNumber(sm.loss, se.loss, 'loss');
    expect(Number.isNaN(se.loss)).toBe(true);
    expectSameWithSpecials(sm.dscores, se.dscores, 'dscores');
    // Without the NaN row: row 2 has margin +Inf, row 3 (label −Inf) margins +Inf too: loss +Inf.
    const s2 = main.tensor(Array.from(scores.data.subarray(3)), [3, 3]);
    const m2 = main.svmLoss(s2, [0, 2, 2]), e2 = ref.svmLoss(s2, [0, 2, 2]);
    expectSameNumber(m2.loss, e2.loss, 'loss without the NaN row');
    expect(e2.loss).toBe(Infinity);
    expectSameWithSpecials(m2.dscores, e2.dscores, 'dscores without the NaN row');
  });

  it('conv: an infinite weight over the zero padding gives NaN (Inf·0), as numpy\'s padded sum does', () => {
    // x (1,1,1,1) = 2 padded by 1, w (1,1,3,3) with +Inf in a corner that only ever sees padding.
    const x = T([2], [1, 1, 1, 1]);
    const w = T([Infinity, 0, 0, 0, 1, 0, 0, 0, 0], [1, 1, 3, 3]);
    const b = T([0], [1]);
    for (const [, api] of entries) {
      expect(Number.isNaN(api.convForward(x, w, b, { pad: 1 }).out.data[0])).toBe(true);
    }
  });

  it.each(seeds)('batchnorm and spatial batchnorm, train and test mode (seed %i)', (seed) => {
    const r = makeRng(3000 + seed);
    for (const spatial of [false, true]) {
      const shape = spatial ? [3, 4, 2, 3] : [6, 5];
      const D = shape[1];
      const x = sprinkled(r, shape, 0.05);
      const gamma = randn(r, [D]), beta = randn(r, [D]);
      const fa = spatial ? main.spatialBatchnormForward : main.batchnormForward;
      const fe = spatial ? ref.spatialBatchnormForward : ref.batchnormForward;
      const ba = spatial ? main.spatialBatchnormBackward : main.batchnormBackward;
      const be = spatial ? ref.spatialBatchnormBackward : ref.batchnormBackward;
      for (const mode of ['train', 'test'] as const) {
        const p = { mode, runningMean: sprinkled(r, [D], 0.2), runningVar: randn(r, [D], 0.5, 1) };
        const label = `${spatial ? 'spatial ' : ''}${mode}`;
        const a = fa(x, gamma, beta, p), e = fe(x, gamma, beta, p);
        expectSameWithSpecials(a.out, e.out, `${label} out`);
        expectSameWithSpecials(a.runningMean, e.runningMean, `${label} runningMean`);
        expectSameWithSpecials(a.runningVar, e.runningVar, `${label} runningVar`);
        const dout = randn(r, shape);
        const ga = ba(dout, a.cache), ge = be(dout, e.cache);
        expectSameWithSpecials(ga.dx, ge.dx, `${label} dx`);
        expectSameWithSpecials(ga.dgamma, ge.dgamma, `${label} dgamma`);
        expectSameWithSpecials(ga.dbeta, ge.dbeta, `${label} dbeta`);
      }
    }
  });

  it.each(seeds)('relu, affine and softmax loss (seed %i)', (seed) => {
    const r = makeRng(4000 + seed);
    const x = sprinkled(r, [4, 3, 5]);
    const dout = sprinkled(r, [4, 3, 5], 0.05);
    const rm = main.reluForward(x), re = ref.reluForward(x);
    expectSameWithSpecials(rm.out, re.out, 'relu out');
    expectSameWithSpecials(main.reluBackward(dout, rm.cache).dx, ref.reluBackward(dout, re.cache).dx, 'relu dx');
    const w = randn(r, [15, 7]), b = randn(r, [7]);
    const am = main.affineForward(x, w, b), ae = ref.affineForward(x, w, b);
    expectSameWithSpecials(am.out, ae.out, 'affine out');
    const d2 = sprinkled(r, [4, 7], 0.05);
    const gm = main.affineBackward(d2, am.cache), ge = ref.affineBackward(d2, ae.cache);
    expectSameWithSpecials(gm.dx, ge.dx, 'affine dx');
    expectSameWithSpecials(gm.dw, ge.dw, 'affine dw');
    expectSameWithSpecials(gm.db, ge.db, 'affine db');
    // One special value per row at most, so that the other rows stay finite.
    const scores = randn(r, [6, 5], 3);
    const y = [0, 1, 2, 3, 4, 0];
    scores.data[1 * 5 + 3] = NaN;            // a NaN: the row is NaN
    scores.data[2 * 5 + 0] = Infinity;       // +Inf: exp(Inf − Inf) is NaN
    scores.data[3 * 5 + 1] = -Infinity;      // −Inf off the label: probability 0, finite
    scores.data[4 * 5 + 4] = -Infinity;      // −Inf at the label: an infinite loss
    const sm = main.softmaxLoss(scores, y), se = ref.softmaxLoss(scores, y);
    expectSameNumber(sm.loss, se.loss, 'loss');
    expectSameWithSpecials(sm.dscores, se.dscores, 'dscores');
    expect(Number.isNaN(se.loss), 'a NaN score gives a NaN loss').toBe(true);
    // Without the NaN and +Inf rows the loss is +Inf (the −Inf label) and dscores finite.
    const rows = [0, 3, 4, 5];
    const s2 = main.tensor(rows.flatMap((i) => Array.from(scores.data.subarray(i * 5, i * 5 + 5))), [4, 5]);
    const y2 = rows.map((i) => y[i]);
    const m2 = main.softmaxLoss(s2, y2), e2 = ref.softmaxLoss(s2, y2);
    expectSameNumber(m2.loss, e2.loss, 'loss without NaN rows');
    expect(e2.loss).toBe(Infinity);
    expectSameWithSpecials(m2.dscores, e2.dscores, 'dscores without NaN rows');
    expect(e2.dscores.data.every(Number.isFinite)).toBe(true);
  });
});
