/**
 * Centered numerical gradient checks (numericGradient from src/gradcheck.ts, relative
 * error < 1e-7) of every backward, on the lists in test/gradient.ts. They run on the
 * Node API and, as a check of the oracle itself, on the reference loops.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { numericGradient, relError } from '../src/gradcheck.js';
import type { Api } from './util.js';
import {
  GradientCheck, GRAD_TOL, countChecks, convGradientChecks, maxPoolGradientChecks, avgPoolGradientChecks,
  globalAvgPoolGradientChecks, batchnormGradientChecks, elementwiseGradientChecks,
} from './gradient.js';

const families: Record<string, GradientCheck[]> = {
  conv: convGradientChecks,
  maxPool: maxPoolGradientChecks,
  avgPool: avgPoolGradientChecks,
  globalAvgPool: globalAvgPoolGradientChecks,
  batchnorm: batchnormGradientChecks,
  elementwise: elementwiseGradientChecks,
};
const all = Object.values(families).flat();
const gradients = countChecks(all);

for (const [entry, api] of [['wasm', main], ['reference', ref]] as [string, Api][]) {
  describe(`numerical gradient checks (${entry})`, () => {
    for (const [family, checks] of Object.entries(families)) {
      for (const c of checks) it(`${family}: ${c.name}`, () => c.run(api));
    }
  });
}

describe('the gradient checks themselves', () => {
  it(`${all.length} checks per entry compare ${gradients} gradients (every backward, every input)`, () => {
    const names = all.map((c) => c.name).join('\n');
    for (const op of ['conv', 'maxPool', 'avgPool', 'globalAvgPool', 'batchnorm', 'spatialBatchnorm', 'relu', 'affine', 'softmaxLoss', 'svmLoss']) {
      expect(names).toContain(op);
    }
    // conv (dx, dw, db), batchnorm and spatial batchnorm (dx, dgamma, dbeta), affine (dx, dw, db).
    expect(countChecks(convGradientChecks)).toBe(3 * convGradientChecks.length);
    expect(batchnormGradientChecks.every((c) => c.count === 3)).toBe(true);
    expect(gradients).toBeGreaterThanOrEqual(35);
  });

  it('would catch a wrong gradient: a backward off by 1% fails the check', () => {
    const r = { data: Float64Array.from([0.3, -1.2, 2.5, 0.7, -0.4, 1.1]), shape: [2, 3] };
    const w = { data: Float64Array.from([0.5, -0.2, 0.1, 0.9, -1.3, 0.4]), shape: [3, 2] };
    const b = { data: Float64Array.from([0.1, -0.1]), shape: [2] };
    const dout = { data: Float64Array.from([1, -2, 0.5, 3]), shape: [2, 2] };
    const { cache } = main.affineForward(r, w, b);
    const { dw } = main.affineBackward(dout, cache);
    const num = numericGradient((t) => main.affineForward(r, t, b).out, w, dout);
    expect(relError(dw, num)).toBeLessThan(GRAD_TOL);
    const wrong = { data: dw.data.map((v) => v * 1.01), shape: dw.shape };
    expect(relError(wrong, num)).toBeGreaterThan(GRAD_TOL);
  });
});
