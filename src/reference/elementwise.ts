import { fail } from '../errors.js';
import { Tensor, checkTensor, checkVector, make, product, shapeString } from '../tensor.js';
import { Labels, checkLabels, checkDout } from '../params.js';
import { Cache, makeCache, openCache } from './cache.js';

export type ReluCache = Cache<'reluForward'>;
export type AffineCache = Cache<'affineForward'>;

/** x (any shape) -> out (same shape), out = max(0, x); a NaN stays NaN, as in numpy.maximum. */
export function reluForward(x: Tensor): { out: Tensor; cache: ReluCache } {
  const t = checkTensor('reluForward', 'x', x);
  const out = new Float64Array(t.data.length);
  for (let k = 0; k < out.length; k++) out[k] = t.data[k] <= 0 ? 0 : t.data[k];
  return { out: make(out, t.shape), cache: makeCache('reluForward', { x: t.data.slice(), shape: t.shape.slice() }) };
}

/** dout (shape of x) -> dx: the gradient passes where x > 0 and is 0 elsewhere. */
export function reluBackward(dout: Tensor, cache: ReluCache): { dx: Tensor } {
  const { x, shape } = openCache<{ x: Float64Array; shape: number[] }>('reluBackward', 'reluForward', cache);
  const d = checkDout('reluBackward', dout, shape).data;
  const dx = new Float64Array(x.length);
  for (let k = 0; k < dx.length; k++) dx[k] = x[k] > 0 ? d[k] : 0;
  return { dx: make(dx, shape) };
}

interface AffineState {
  x: Float64Array;       // read as (N,D)
  xShape: number[];      // (N,d1,…,dk)
  w: Float64Array;       // (D,M)
  N: number;
  D: number;
  M: number;
}

/**
 * x (N,d1,…,dk), w (D,M), b (M) -> out (N,M), with D = d1·…·dk
 *
 *   out[n,m] = b[m] + Σ_d x[n,d] · w[d,m]     (each example x[n] read as a row of D values)
 */
export function affineForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: AffineCache } {
  const fn = 'affineForward';
  const t = checkTensor(fn, 'x', x);
  if (t.shape.length < 2) fail(`${fn}: x must have rank 2 or more (N,d1,...,dk), got shape ${shapeString(t.shape)}`);
  const N = t.shape[0];
  const D = product(t.shape.slice(1));
  const wt = checkTensor(fn, 'w', w, 2, '(D,M)');
  if (wt.shape[0] !== D) fail(`${fn}: w has ${wt.shape[0]} rows but x has ${D} features per example (shape ${shapeString(t.shape)})`);
  const M = wt.shape[1];
  checkVector(fn, 'b', b, M, `the ${M} columns of w`);
  const out = new Float64Array(N * M);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let s = b.data[m];
      for (let d = 0; d < D; d++) s += t.data[n * D + d] * wt.data[d * M + m];
      out[n * M + m] = s;
    }
  }
  const state: AffineState = { x: t.data.slice(), xShape: t.shape.slice(), w: wt.data.slice(), N, D, M };
  return { out: make(out, [N, M]), cache: makeCache(fn, state) };
}

/**
 * dout (N,M) -> dx (N,d1,…,dk), dw (D,M), db (M)
 *
 *   dx[n,d] = Σ_m dout[n,m] · w[d,m]   (dout · wᵀ, then read back in the shape of x)
 *   dw[d,m] = Σ_n x[n,d] · dout[n,m]   (xᵀ · dout)
 *   db[m]   = Σ_n dout[n,m]
 */
export function affineBackward(dout: Tensor, cache: AffineCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const { x, xShape, w, N, D, M } = openCache<AffineState>('affineBackward', 'affineForward', cache);
  const d = checkDout('affineBackward', dout, [N, M]).data;
  const dx = new Float64Array(N * D);
  const dw = new Float64Array(D * M);
  const db = new Float64Array(M);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = d[n * M + m];
      db[m] += g;
      for (let k = 0; k < D; k++) {
        dx[n * D + k] += g * w[k * M + m];
        dw[k * M + m] += x[n * D + k] * g;
      }
    }
  }
  return { dx: make(dx, xShape), dw: make(dw, [D, M]), db: make(db, [M]) };
}

/**
 * scores (N,C), y (N) integer labels in [0,C) -> loss, dscores (N,C)
 *
 *   p[n,:] = softmax(scores[n,:]),  computed as exp(s − max s) / Σ exp(s − max s)
 *   loss   = 1/N Σ_n −log p[n,y[n]]  =  1/N Σ_n (max s + log Σ exp(s − max s) − s[y[n]])
 *   dscores[n,c] = (p[n,c] − 1{c = y[n]}) / N
 *
 * Subtracting the row maximum changes nothing mathematically and keeps exp from overflowing.
 */
export function softmaxLoss(scores: Tensor, y: Labels): { loss: number; dscores: Tensor } {
  const { N, C, labels } = checkLabels('softmaxLoss', scores, y);
  const s = scores.data;
  const dscores = new Float64Array(N * C);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, s[n * C + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(s[n * C + c] - max);
    loss += max + Math.log(sum) - s[n * C + labels[n]];
    for (let c = 0; c < C; c++) {
      const p = Math.exp(s[n * C + c] - max) / sum;
      dscores[n * C + c] = (p - (c === labels[n] ? 1 : 0)) / N;
    }
  }
  return { loss: loss / N, dscores: make(dscores, [N, C]) };
}

/**
 * scores (N,C), y (N) integer labels in [0,C) -> loss, dscores (N,C): the multiclass SVM
 * (hinge) loss with margin 1, CS231n's svm_loss
 *
 *   margin[n,c]  = max(0, s[n,c] − s[n,y[n]] + 1)   for c ≠ y[n]   (0 at c = y[n])
 *   loss         = 1/N Σ_n,c margin[n,c]
 *   dscores[n,c] = 1{margin[n,c] > 0} / N           for c ≠ y[n]
 *   dscores[n,y[n]] = −(the number of c with margin[n,c] > 0) / N
 *
 * A NaN score gives a NaN margin (Math.max, as numpy.maximum, keeps it), hence a NaN loss;
 * a NaN margin is not > 0, so it adds nothing to dscores.
 */
export function svmLoss(scores: Tensor, y: Labels): { loss: number; dscores: Tensor } {
  const { N, C, labels } = checkLabels('svmLoss', scores, y);
  const s = scores.data;
  const dscores = new Float64Array(N * C);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const correct = s[n * C + labels[n]];
    let positive = 0;
    for (let c = 0; c < C; c++) {
      if (c === labels[n]) continue;
      const margin = Math.max(0, s[n * C + c] - correct + 1);
      loss += margin;
      if (margin > 0) {
        dscores[n * C + c] = 1 / N;
        positive++;
      }
    }
    dscores[n * C + labels[n]] = (0 - positive) / N; // +0 when no margin is positive, as numpy's 0 − 0
  }
  return { loss: loss / N, dscores: make(dscores, [N, C]) };
}
