import { Tensor, checkTensor, make } from '../tensor.js';
import { BatchnormParam, BatchnormSettings, batchnormSettings, checkDout } from '../params.js';
import { Cache, makeCache, openCache } from './cache.js';
import { transpose } from './transpose.js';

export type BatchnormCache = Cache<'batchnormForward'>;
export type SpatialBatchnormCache = Cache<'spatialBatchnormForward'>;

export interface BatchnormResult<C> {
  out: Tensor;
  cache: C;
  runningMean: Tensor;
  runningVar: Tensor;
}

interface BatchnormState {
  N: number;
  D: number;
  mode: 'train' | 'test';
  gamma: Float64Array;
  xhat: Float64Array;   // (N,D)
  xmu: Float64Array;    // (N,D), x − μ
  mu: Float64Array;     // (D), the mean used: batch mean in train mode, running mean in test mode
  variance: Float64Array; // (D), likewise
  eps: number;
}

/**
 * x (N,D), gamma (D), beta (D) -> out (N,D), for settings already checked.
 *
 * Train mode: μ = 1/N Σ_n x[n,:], σ² = 1/N Σ_n (x[n,:]−μ)² (biased), and the running
 * statistics move towards them: running = momentum·running + (1−momentum)·batch.
 * Test mode: μ and σ² are the running statistics, which come back unchanged.
 * Both: x̂ = (x−μ)/√(σ²+eps), out = γ·x̂ + β.
 */
function normalize(x: Tensor, gamma: Tensor, beta: Tensor, s: BatchnormSettings): { out: Tensor; state: BatchnormState; runningMean: Tensor; runningVar: Tensor } {
  const [N, D] = x.shape;
  const runMean = s.runningMean ? s.runningMean.slice() : new Float64Array(D);
  const runVar = s.runningVar ? s.runningVar.slice() : new Float64Array(D);
  let mu: Float64Array;
  let variance: Float64Array;
  if (s.mode === 'train') {
    mu = new Float64Array(D);
    variance = new Float64Array(D);
    for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) mu[d] += x.data[n * D + d];
    for (let d = 0; d < D; d++) mu[d] /= N;
    for (let n = 0; n < N; n++) {
      for (let d = 0; d < D; d++) {
        const e = x.data[n * D + d] - mu[d];
        variance[d] += e * e;
      }
    }
    for (let d = 0; d < D; d++) {
      variance[d] /= N;
      runMean[d] = s.momentum * runMean[d] + (1 - s.momentum) * mu[d];
      runVar[d] = s.momentum * runVar[d] + (1 - s.momentum) * variance[d];
    }
  } else {
    mu = runMean.slice();
    variance = runVar.slice();
  }
  const xmu = new Float64Array(N * D);
  const xhat = new Float64Array(N * D);
  const out = new Float64Array(N * D);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const k = n * D + d;
      xmu[k] = x.data[k] - mu[d];
      xhat[k] = xmu[k] / Math.sqrt(variance[d] + s.eps);
      out[k] = gamma.data[d] * xhat[k] + beta.data[d];
    }
  }
  const state: BatchnormState = { N, D, mode: s.mode, gamma: gamma.data.slice(), xhat, xmu, mu, variance, eps: s.eps };
  return { out: make(out, [N, D]), state, runningMean: make(runMean, [D]), runningVar: make(runVar, [D]) };
}

/**
 * dout (N,D) -> dx (N,D), dgamma (D), dbeta (D)
 *
 *   dβ = Σ_n dout,  dγ = Σ_n dout·x̂,  dx̂ = dout·γ
 *
 * Test mode: μ and σ² are constants, so dx = dx̂/√(σ²+eps).
 * Train mode: μ and σ² depend on x, and the chain rule goes through both:
 *   dσ² = Σ_n dx̂·(x−μ) · (−½)(σ²+eps)^(−3/2)
 *   dμ  = Σ_n dx̂·(−1/√(σ²+eps)) + dσ² · Σ_n (−2(x−μ))/N
 *   dx  = dx̂/√(σ²+eps) + dσ²·2(x−μ)/N + dμ/N
 */
function normalizeBackward(dout: Float64Array, st: BatchnormState): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const { N, D, mode, gamma, xhat, xmu, variance, eps } = st;
  const dx = new Float64Array(N * D);
  const dgamma = new Float64Array(D);
  const dbeta = new Float64Array(D);
  for (let d = 0; d < D; d++) {
    const invStd = 1 / Math.sqrt(variance[d] + eps);
    let dvar = 0;
    let dmu = 0;
    let sumXmu = 0;
    for (let n = 0; n < N; n++) {
      const k = n * D + d;
      const dxhat = dout[k] * gamma[d];
      dbeta[d] += dout[k];
      dgamma[d] += dout[k] * xhat[k];
      dvar += dxhat * xmu[k] * -0.5 * invStd * invStd * invStd;
      dmu += -dxhat * invStd;
      sumXmu += -2 * xmu[k];
    }
    dmu += dvar * sumXmu / N;
    for (let n = 0; n < N; n++) {
      const k = n * D + d;
      const dxhat = dout[k] * gamma[d];
      dx[k] = mode === 'train' ? dxhat * invStd + dvar * 2 * xmu[k] / N + dmu / N : dxhat * invStd;
    }
  }
  return { dx, dgamma, dbeta };
}

/** x (N,D), gamma (D), beta (D) -> out (N,D), with the updated running statistics (D). */
export function batchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): BatchnormResult<BatchnormCache> {
  const fn = 'batchnormForward';
  const t = checkTensor(fn, 'x', x, 2, '(N,D)');
  const settings = batchnormSettings(fn, t.shape[1], gamma, beta, bnParam);
  const { out, state, runningMean, runningVar } = normalize(t, gamma, beta, settings);
  return { out, cache: makeCache(fn, state), runningMean, runningVar };
}

/** dout (N,D) -> dx (N,D), dgamma (D), dbeta (D) */
export function batchnormBackward(dout: Tensor, cache: BatchnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const st = openCache<BatchnormState>('batchnormBackward', 'batchnormForward', cache);
  const d = checkDout('batchnormBackward', dout, [st.N, st.D]).data;
  const { dx, dgamma, dbeta } = normalizeBackward(d, st);
  return { dx: make(dx, [st.N, st.D]), dgamma: make(dgamma, [st.D]), dbeta: make(dbeta, [st.D]) };
}

interface SpatialState {
  shape: readonly number[];   // (N,C,H,W)
  inner: BatchnormState;      // of the (N·H·W, C) problem
}

/** (N,C,H,W) -> (N·H·W, C): move the channels last, then read the rest as rows. */
function channelsLast(x: Tensor): Tensor {
  const [N, C, H, W] = x.shape;
  return make(transpose(x, [0, 2, 3, 1]).data, [N * H * W, C]);
}

/** (N·H·W, C) -> (N,C,H,W): the inverse of channelsLast. */
function channelsFirst(y: Float64Array, shape: readonly number[]): Tensor {
  const [N, C, H, W] = shape;
  return transpose(make(y, [N, H, W, C]), [0, 3, 1, 2]);
}

/**
 * x (N,C,H,W), gamma (C), beta (C) -> out (N,C,H,W)
 *
 * Batchnorm with one mean and variance per channel, over N, H and W. As in the seed:
 * transpose x to (N,H,W,C) so that each row of the (N·H·W, C) matrix holds the C
 * channels of one pixel, apply batchnorm to that matrix, and transpose back. (Reshaping
 * NCHW to (N·H·W, C) without the transpose would mix channels: the seed's pitfall.)
 */
export function spatialBatchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): BatchnormResult<SpatialBatchnormCache> {
  const fn = 'spatialBatchnormForward';
  const t = checkTensor(fn, 'x', x, 4, '(N,C,H,W)');
  const settings = batchnormSettings(fn, t.shape[1], gamma, beta, bnParam);
  const { out, state, runningMean, runningVar } = normalize(channelsLast(t), gamma, beta, settings);
  const spatial: SpatialState = { shape: t.shape.slice(), inner: state };
  return { out: channelsFirst(out.data, t.shape), cache: makeCache(fn, spatial), runningMean, runningVar };
}

/** dout (N,C,H,W) -> dx (N,C,H,W), dgamma (C), dbeta (C), through the same transposes. */
export function spatialBatchnormBackward(dout: Tensor, cache: SpatialBatchnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const { shape, inner } = openCache<SpatialState>('spatialBatchnormBackward', 'spatialBatchnormForward', cache);
  const d = checkDout('spatialBatchnormBackward', dout, shape);
  const { dx, dgamma, dbeta } = normalizeBackward(channelsLast(d).data, inner);
  return { dx: channelsFirst(dx, shape), dgamma: make(dgamma, [inner.D]), dbeta: make(dbeta, [inner.D]) };
}
