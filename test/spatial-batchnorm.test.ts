/**
 * Spatial batchnorm equals the seed's construction, built here from the public API:
 * transpose x (N,C,H,W) to (N,H,W,C), read it as (N·H·W, C), apply batchnorm, read the
 * result as (N,H,W,C) and transpose back. Checked for out, the running statistics and
 * backward dx, dgamma, dbeta, at max-norm relative error 1e-10.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import type { Tensor } from '../src/tensor.js';
import type { BatchnormParam } from '../src/params.js';
import { makeRng, randn, expectClose, maxNormRelErr, show } from './util.js';

/** (N,C,H,W) -> (N·H·W, C): the channels last, then each pixel a row. */
function toRows(x: Tensor): Tensor {
  const [N, C, H, W] = x.shape;
  const t = main.transpose(x, [0, 2, 3, 1]);
  expect(Array.from(t.shape)).toEqual([N, H, W, C]);
  return main.tensor(t.data, [N * H * W, C]);
}

/** (N·H·W, C) -> (N,C,H,W): the inverse of toRows. */
function fromRows(y: Tensor, shape: readonly number[]): Tensor {
  const [N, C, H, W] = shape;
  return main.transpose(main.tensor(y.data, [N, H, W, C]), [0, 3, 1, 2]);
}

interface Case { x: number[]; mode: 'train' | 'test'; running: boolean; momentum?: number; eps?: number }

const cases: Case[] = [
  { x: [2, 3, 4, 5], mode: 'train', running: true },
  { x: [1, 1, 1, 1], mode: 'train', running: false },
  { x: [1, 4, 3, 3], mode: 'train', running: true, momentum: 0.5 },
  { x: [3, 2, 1, 7], mode: 'train', running: false, eps: 1e-3 },
  { x: [2, 5, 2, 2], mode: 'test', running: true },
  { x: [4, 3, 5, 1], mode: 'test', running: true, eps: 0.1 },
  { x: [2, 1, 6, 6], mode: 'train', running: true, momentum: 0 },
  { x: [1, 6, 2, 3], mode: 'test', running: false },
  { x: [5, 2, 3, 3], mode: 'train', running: true, momentum: 0.99 },
  { x: [2, 7, 3, 2], mode: 'train', running: true },
];

describe('spatial batchnorm = transpose, batchnorm on (N·H·W, C), transpose back', () => {
  cases.forEach((c, i) => {
    it(`#${i} ${show(c)}`, () => {
      const r = makeRng(11000 + i);
      const C = c.x[1];
      const x = randn(r, c.x, 1.5, 0.7);
      const gamma = randn(r, [C], 1, 0.5);
      const beta = randn(r, [C]);
      const p: BatchnormParam = { mode: c.mode, momentum: c.momentum, eps: c.eps };
      if (c.running) {
        p.runningMean = randn(r, [C]);
        p.runningVar = { data: Float64Array.from({ length: C }, () => r.uniform(0.2, 2)), shape: [C] };
      }
      const got = main.spatialBatchnormForward(x, gamma, beta, p);
      const seed = main.batchnormForward(toRows(x), gamma, beta, p);
      expectClose(got.out, fromRows(seed.out, c.x), 'out');
      expectClose(got.runningMean, seed.runningMean, 'runningMean');
      expectClose(got.runningVar, seed.runningVar, 'runningVar');
      const dout = randn(r, c.x);
      const g = main.spatialBatchnormBackward(dout, got.cache);
      const s = main.batchnormBackward(toRows(dout), seed.cache);
      expectClose(g.dx, fromRows(s.dx, c.x), 'dx');
      expectClose(g.dgamma, s.dgamma, 'dgamma');
      expectClose(g.dbeta, s.dbeta, 'dbeta');
    });
  });

  it('the transpose matters: reading NCHW as (N·H·W, C) without it gives other numbers', () => {
    const r = makeRng(11999);
    const shape = [2, 3, 2, 2];
    const x = randn(r, shape, 1, 0);
    // Give each channel its own offset, so that mixing channels changes the statistics.
    for (let k = 0; k < x.data.length; k++) x.data[k] += 10 * (Math.floor(k / 4) % 3);   // k / (H·W) % C is the channel
    const gamma = main.tensor([1, 1, 1], [3]);
    const beta = main.tensor([0, 0, 0], [3]);
    const right = main.spatialBatchnormForward(x, gamma, beta, { mode: 'train' });
    const naive = main.batchnormForward(main.tensor(x.data, [8, 3]), gamma, beta, { mode: 'train' });
    expect(maxNormRelErr(naive.out.data, right.out.data)).toBeGreaterThan(1e-3);
    const seed = main.batchnormForward(toRows(x), gamma, beta, { mode: 'train' });
    expectClose(right.out, fromRows(seed.out, shape), 'out');
  });
});
