/**
 * ReLU, affine, the softmax loss and the SVM loss, forward and backward, of the Node API against the
 * plain reference loops at max-norm relative error TOL = 1e-10; each configuration is one
 * test whose name shows it.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { Api, makeRng, randn, expectClose, expectCloseNumber, show } from './util.js';
import { compareAffine } from './compare.js';

const api: Api = main;
const oracle: Api = ref;

const reluShapes: number[][] = [[1], [2], [7], [1, 1], [3, 5], [2, 3, 4], [1, 9, 1], [2, 3, 5, 7], [4, 1, 3, 3], [33], [2, 2, 2, 2, 3], [65, 3]];

describe('relu forward and backward vs reference', () => {
  reluShapes.forEach((shape, i) => {
    it(`relu #${i} x ${show(shape)}`, () => {
      const r = makeRng(8000 + i);
      const x = randn(r, shape);
      // Some exact zeros and negative zeros: relu'(0) = 0 in both entries.
      for (let k = 0; k < x.data.length; k += 5) x.data[k] = k % 10 === 0 ? 0 : -0;
      const got = api.reluForward(x);
      const want = oracle.reluForward(x);
      expectClose(got.out, want.out, 'reluForward out');
      const dout = randn(r, shape);
      expectClose(api.reluBackward(dout, got.cache).dx, oracle.reluBackward(dout, want.cache).dx, 'reluBackward dx');
    });
  });
});

const affineCases: { x: number[]; M: number }[] = [
  { x: [1, 1], M: 1 }, { x: [2, 3], M: 4 }, { x: [5, 2, 3], M: 7 }, { x: [3, 2, 2, 2], M: 9 },
  { x: [7, 9], M: 1 }, { x: [1, 17], M: 3 }, { x: [8, 4, 1], M: 8 }, { x: [4, 1, 1, 1], M: 5 },
];
{
  const r = makeRng(8501);
  while (affineCases.length < 20) {
    const rank = r.int(2, 4);
    affineCases.push({ x: [r.int(1, 9), ...Array.from({ length: rank - 1 }, () => r.int(1, 5))], M: r.int(1, 9) });
  }
}

describe('affine forward and backward vs reference', () => {
  affineCases.forEach((c, i) => {
    it(`affine #${i} ${show(c)}`, () => compareAffine(c.x, c.M, 8600 + i));
  });
});

const softmaxCases: { N: number; C: number; scale: number; shift: number; int32: boolean }[] = [];
{
  const r = makeRng(8701);
  const fixed = [[1, 1], [1, 2], [3, 1], [4, 10], [2, 33]];
  for (const [N, C] of fixed) softmaxCases.push({ N, C, scale: 1, shift: 0, int32: false });
  while (softmaxCases.length < 18) {
    const shift = r.pick([0, 0, 1000, -1000]);
    softmaxCases.push({ N: r.int(1, 8), C: r.int(2, 9), scale: shift === 0 ? r.pick([0.5, 1, 3]) : 0.5, shift, int32: r.chance(0.5) });
  }
}

describe('softmax loss vs reference', () => {
  softmaxCases.forEach((c, i) => {
    it(`softmaxLoss #${i} ${show(c)}`, () => {
      const r = makeRng(8800 + i);
      const scores = randn(r, [c.N, c.C], c.scale, c.shift);
      const labels = Array.from({ length: c.N }, () => r.int(0, c.C - 1));
      const y = c.int32 ? Int32Array.from(labels) : labels;
      const got = api.softmaxLoss(scores, y);
      const want = oracle.softmaxLoss(scores, y);
      expect(Number.isFinite(got.loss)).toBe(true);
      expectCloseNumber(got.loss, want.loss, 'softmaxLoss loss');
      expectClose(got.dscores, want.dscores, 'softmaxLoss dscores');
    });
  });
});

const svmCases: { N: number; C: number; scale: number; int32: boolean }[] = [];
{
  const r = makeRng(8901);
  for (const [N, C] of [[1, 1], [1, 2], [3, 1], [4, 10], [2, 33], [50, 10]]) svmCases.push({ N, C, scale: 1, int32: false });
  while (svmCases.length < 18) svmCases.push({ N: r.int(1, 8), C: r.int(2, 9), scale: r.pick([0.1, 0.5, 1, 3]), int32: r.chance(0.5) });
}

describe('svm loss vs reference', () => {
  svmCases.forEach((c, i) => {
    it(`svmLoss #${i} ${show(c)}`, () => {
      const r = makeRng(8950 + i);
      const scores = randn(r, [c.N, c.C], c.scale);
      const labels = Array.from({ length: c.N }, () => r.int(0, c.C - 1));
      const y = c.int32 ? Int32Array.from(labels) : labels;
      const saved = Array.from(scores.data);
      const got = api.svmLoss(scores, y);
      const want = oracle.svmLoss(scores, y);
      expect(Number.isFinite(got.loss)).toBe(true);
      expectCloseNumber(got.loss, want.loss, 'svmLoss loss');
      expectClose(got.dscores, want.dscores, 'svmLoss dscores');
      expect(Array.from(scores.data), 'scores are not mutated').toEqual(saved);
    });
  });

  it('margins of exactly 0 count as not positive, in both entries', () => {
    // Row 0: s = [1, 2, 1], label 1: margins 1 − 2 + 1 = 0 for both others. Row 1: one tie above.
    const scores = main.tensor([1, 2, 1, 0.5, 0.5, -1], [2, 3]);
    for (const entry of [api, oracle]) {
      const { loss, dscores } = entry.svmLoss(scores, [1, 0]);
      // Row 1, label 0: margins 0.5 − 0.5 + 1 = 1 and −1 − 0.5 + 1 = −0.5 → 0. loss = 1 / 2.
      // At a label with no positive margin, dscores is +0, as numpy's 0 − 0 gives.
      expect(loss).toBe(0.5);
      expect(Array.from(dscores.data)).toEqual([0, 0, 0, -0.5, 0.5, 0]);
      expect(Object.is(dscores.data[1], 0)).toBe(true);
    }
  });
});
