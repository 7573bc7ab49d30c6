import { Tensor, make, checkTensor } from './tensor.js';
import { BatchnormParam, batchnormSettings, checkDout } from './params.js';
import { kernels, reserve, put, take, f64 } from './wasm.js';
import { batchnormBackwardOn, batchnormForwardOn } from './layers/basic.js';
import { Cache, seal, openCache } from './cache.js';

type Kind = 'batchnorm' | 'spatialBatchnorm';

export type BatchnormCache = Cache<Kind>;

interface BatchnormState {
  readonly xhat: Float64Array;
  readonly invstd: Float64Array;
  readonly gamma: Float64Array;
  readonly train: boolean;
  readonly shape: readonly number[];
  /** x viewed as (G, D, L): D features, each over G·L values. */
  readonly G: number;
  readonly D: number;
  readonly L: number;
}

export interface BatchnormResult {
  out: Tensor;
  cache: BatchnormCache;
  runningMean: Tensor;
  runningVar: Tensor;
}

const F64 = 8;

function forward(fn: string, kind: Kind, x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam,
  G: number, D: number, L: number): BatchnormResult {
  const s = batchnormSettings(fn, D, gamma, beta, bnParam);
  const k = kernels();
  const n = x.data.length;
  const v = D * F64;
  const [px, pgamma, pbeta, pout, pxhat, pmean, pvar, pinv, prm, prv] =
    reserve(fn, [n * F64, v, v, n * F64, n * F64, v, v, v, v, v]);
  put(px, x.data);
  put(pgamma, gamma.data);
  put(pbeta, beta.data);
  if (s.runningMean) put(prm, s.runningMean); else f64(prm, D).fill(0);
  if (s.runningVar) put(prv, s.runningVar); else f64(prv, D).fill(0);
  const train = s.mode === 'train';
  batchnormForwardOn(k, { x: px, gamma: pgamma, beta: pbeta, out: pout, xhat: pxhat, mean: pmean, variance: pvar, invstd: pinv,
    runningMean: prm, runningVar: prv }, G, D, L, train, s.eps, s.momentum);
  const cache = seal(kind, {
    xhat: take(pxhat, n), invstd: take(pinv, D), gamma: gamma.data.slice(), train, shape: x.shape.slice(), G, D, L,
  });
  return {
    out: make(take(pout, n), x.shape),
    cache,
    runningMean: make(take(prm, D), [D]),
    runningVar: make(take(prv, D), [D]),
  };
}

function backward(fn: string, kind: Kind, forwardName: string, dout: Tensor, cache: BatchnormCache):
  { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const c = openCache<BatchnormState>(fn, cache, kind, forwardName);
  checkDout(fn, dout, c.shape);
  const k = kernels();
  const n = c.xhat.length;
  const v = c.D * F64;
  const [pdout, pxhat, pgamma, pinv, pdx, pdgamma, pdbeta, pk] =
    reserve(fn, [n * F64, n * F64, v, v, n * F64, v, v, 3 * v]);
  put(pdout, dout.data);
  put(pxhat, c.xhat);
  put(pgamma, c.gamma);
  put(pinv, c.invstd);
  batchnormBackwardOn(k, pdout, pxhat, pgamma, pinv, pdx, pdgamma, pdbeta, pk, c.G, c.D, c.L, c.train);
  return {
    dx: make(take(pdx, n), c.shape),
    dgamma: make(take(pdgamma, c.D), [c.D]),
    dbeta: make(take(pdbeta, c.D), [c.D]),
  };
}

/**
 * x (N,D), gamma, beta (D) -> out (N,D). Train mode normalizes with the batch mean and
 * biased variance and updates the running statistics as momentum·old + (1−momentum)·batch;
 * test mode normalizes with the running statistics. The caller's arrays are left alone.
 */
export function batchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): BatchnormResult {
  const xt = checkTensor('batchnormForward', 'x', x, 2, '(N,D)');
  const [N, D] = xt.shape;
  return forward('batchnormForward', 'batchnorm', xt, gamma, beta, bnParam, N, D, 1);
}

/** dout (N,D) -> dx (N,D), dgamma, dbeta (D). */
export function batchnormBackward(dout: Tensor, cache: BatchnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  return backward('batchnormBackward', 'batchnorm', 'batchnormForward', dout, cache);
}

/** x (N,C,H,W), gamma, beta (C) -> out (N,C,H,W): batchnorm per channel over N, H and W. */
export function spatialBatchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): BatchnormResult {
  const xt = checkTensor('spatialBatchnormForward', 'x', x, 4, '(N,C,H,W)');
  const [N, C, H, W] = xt.shape;
  return forward('spatialBatchnormForward', 'spatialBatchnorm', xt, gamma, beta, bnParam, N, C, H * W);
}

/** dout (N,C,H,W) -> dx (N,C,H,W), dgamma, dbeta (C). */
export function spatialBatchnormBackward(dout: Tensor, cache: BatchnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  return backward('spatialBatchnormBackward', 'spatialBatchnorm', 'spatialBatchnormForward', dout, cache);
}
