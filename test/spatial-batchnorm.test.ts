/**
 * Spatial batchnorm equals the seed's construction, built here from the reference loops:
 * transpose x (N,C,H,W) to (N,H,W,C), read it as (N·H·W, C), apply the reference batchnorm,
 * read the result as (N,H,W,C) and transpose back. The Node API's spatial batchnorm (which
 * takes per-channel statistics straight on NCHW) and the reference's are both checked
 * against it, for out, the running statistics and backward dx, dgamma, dbeta, at max-norm
 * relative error 1e-10.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import type { BatchnormParam } from '../src/params.js';
import { Api, makeRng, randn, expectClose, maxNormRelError, show } from './util.js';

/** (N,C,H,W) -> (N·H·W, C): the channels last, then each pixel a row. */
function toRows(x: Tensor): Tensor {
  const [N, C, H, W] = x.shape;
  const t = ref.transpose(x, [0, 2, 3, 1]);
  expect(Array.from(t.shape)).toEqual([N, H, W, C]);
  return ref.tensor(t.data, [N * H * W, C]);
}

/** (N·H·W, C) -> (N,C,H,W): the inverse of toRows. */
function fromRows(y: Tensor, shape: readonly number[]): Tensor {
  const [N, C, H, W] = shape;
  return ref.transpose(ref.tensor(y.data, [N, H, W, C]), [0, 3, 1, 2]);
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

const entries: [string, Api][] = [['wasm', main], ['reference', ref]];

describe('spatial batchnorm = transpose, reference batchnorm on (N·H·W, C), transpose back', () => {
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
      const dout = randn(r, c.x);
      const seed = ref.batchnormForward(toRows(x), gamma, beta, p);
      const s = ref.batchnormBackward(toRows(dout), seed.cache);
      for (const [entry, api] of entries) {
        const got = api.spatialBatchnormForward(x, gamma, beta, p);
        expectClose(got.out, fromRows(seed.out, c.x), `${entry} out`);
        expectClose(got.runningMean, seed.runningMean, `${entry} runningMean`);
        expectClose(got.runningVar, seed.runningVar, `${entry} runningVar`);
        const g = api.spatialBatchnormBackward(dout, got.cache);
        expectClose(g.dx, fromRows(s.dx, c.x), `${entry} dx`);
        expectClose(g.dgamma, s.dgamma, `${entry} dgamma`);
        expectClose(g.dbeta, s.dbeta, `${entry} dbeta`);
      }
    });
  });

  it('the transpose matters: reading NCHW as (N·H·W, C) without it gives other numbers', () => {
    const r = makeRng(11999);
    const shape = [2, 3, 2, 2];
    const x = randn(r, shape, 1, 0);
    // Give each channel its own offset, so that mixing channels changes the statistics.
    for (let k = 0; k < x.data.length; k++) x.data[k] += 10 * (Math.floor(k / 4) % 3);   // k / (H·W) % C is the channel
    const gamma = ref.tensor([1, 1, 1], [3]);
    const beta = ref.tensor([0, 0, 0], [3]);
    const naive = ref.batchnormForward(ref.tensor(x.data, [8, 3]), gamma, beta, { mode: 'train' });
    const seed = ref.batchnormForward(toRows(x), gamma, beta, { mode: 'train' });
    for (const [entry, api] of entries) {
      const right = api.spatialBatchnormForward(x, gamma, beta, { mode: 'train' });
      expect(maxNormRelError(naive.out.data, right.out.data), entry).toBeGreaterThan(1e-3);
      expectClose(right.out, fromRows(seed.out, shape), `${entry} out`);
    }
  });
});
