import { Tensor, make, checkTensor, checkSameShape, shapeString } from './tensor.js';
import { Labels, checkLabels, checkDout } from './params.js';
import { kernels, reserve, put, take, i32 } from './wasm.js';
import { LossKind, affineBackwardOn, affineForwardOn, lossOn, reluBackwardOn, reluForwardOn } from './layers/basic.js';
import { Cache, seal, openCache } from './cache.js';
import { fail } from './errors.js';

export type ReluCache = Cache<'relu'>;
export type AffineCache = Cache<'affine'>;

interface ReluState {
  readonly x: Float64Array;
  readonly shape: readonly number[];
}

interface AffineState {
  readonly x: Float64Array;
  readonly w: Float64Array;
  readonly xShape: readonly number[];
  readonly N: number;
  readonly D: number;
  readonly M: number;
}

const F64 = 8;

/** x (any shape) -> out = max(0, x). */
export function reluForward(x: Tensor): { out: Tensor; cache: ReluCache } {
  const xt = checkTensor('reluForward', 'x', x);
  const n = xt.data.length;
  const [px, pout] = reserve('reluForward', [n * F64, n * F64]);
  put(px, xt.data);
  reluForwardOn(kernels(), px, pout, n);
  return { out: make(take(pout, n), xt.shape), cache: seal('relu', { x: xt.data.slice(), shape: xt.shape.slice() }) };
}

/** dout (shape of x) -> dx = dout where x > 0, else 0. */
export function reluBackward(dout: Tensor, cache: ReluCache): { dx: Tensor } {
  const c = openCache<ReluState>('reluBackward', cache, 'relu', 'reluForward');
  checkDout('reluBackward', dout, c.shape);
  const n = c.x.length;
  const [pdout, px, pdx] = reserve('reluBackward', [n * F64, n * F64, n * F64]);
  put(pdout, dout.data);
  put(px, c.x);
  reluBackwardOn(kernels(), pdout, px, pdx, n);
  return { dx: make(take(pdx, n), c.shape) };
}

/** x (N, d1…dk) flattened to (N,D), w (D,M), b (M) -> out (N,M) = x·w + b. */
export function affineForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: AffineCache } {
  const fn = 'affineForward';
  const xt = checkTensor(fn, 'x', x);
  if (xt.shape.length < 2) fail(`${fn}: x must have rank 2 or more (N, d1, …, dk), got shape ${shapeString(xt.shape)}`);
  const N = xt.shape[0];
  const D = xt.data.length / N;
  const wt = checkTensor(fn, 'w', w, 2, '(D,M)');
  if (wt.shape[0] !== D) fail(`${fn}: w has ${wt.shape[0]} rows but x has ${D} features per example (shape ${shapeString(xt.shape)})`);
  const M = wt.shape[1];
  checkSameShape(fn, 'b', b, [M], `the ${M} columns of w`);
  const k = kernels();
  const [px, pw, pb, pout, pwork] = reserve(fn, [N * D * F64, D * M * F64, M * F64, N * M * F64, k.gemm_workspace_bytes()]);
  put(px, xt.data);
  put(pw, wt.data);
  put(pb, b.data);
  affineForwardOn(k, px, pw, pb, pout, N, D, M, pwork);
  const cache = seal('affine', { x: xt.data.slice(), w: wt.data.slice(), xShape: xt.shape.slice(), N, D, M });
  return { out: make(take(pout, N * M), [N, M]), cache };
}

/** dout (N,M) -> dx (shape of x) = dout·wᵀ, dw (D,M) = xᵀ·dout, db (M) = Σ_n dout. */
export function affineBackward(dout: Tensor, cache: AffineCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const fn = 'affineBackward';
  const c = openCache<AffineState>(fn, cache, 'affine', 'affineForward');
  const { N, D, M } = c;
  checkDout(fn, dout, [N, M]);
  const k = kernels();
  const [pdout, px, pw, pdx, pdw, pdb, pwork] = reserve(fn, [
    N * M * F64, N * D * F64, D * M * F64, N * D * F64, D * M * F64, M * F64, k.gemm_workspace_bytes(),
  ]);
  put(pdout, dout.data);
  put(px, c.x);
  put(pw, c.w);
  affineBackwardOn(k, pdout, px, pw, pdx, pdw, pdb, N, D, M, pwork);
  return {
    dx: make(take(pdx, N * D), c.xShape),
    dw: make(take(pdw, D * M), [D, M]),
    db: make(take(pdb, M), [M]),
  };
}

/** scores (N,C), y (N) integer labels -> the mean softmax loss and dscores (N,C). */
export function softmaxLoss(scores: Tensor, y: Labels): { loss: number; dscores: Tensor } {
  return lossOp('softmaxLoss', 'softmax', scores, y);
}

/**
 * scores (N,C), y (N) integer labels -> the mean multiclass SVM (hinge) loss and dscores
 * (N,C), CS231n's svm_loss: margins max(0, s_j − s_y + 1) for j ≠ y, loss = Σ margins / N.
 */
export function svmLoss(scores: Tensor, y: Labels): { loss: number; dscores: Tensor } {
  return lossOp('svmLoss', 'svm', scores, y);
}

function lossOp(fn: string, kind: LossKind, scores: Tensor, y: Labels): { loss: number; dscores: Tensor } {
  const { N, C, labels } = checkLabels(fn, scores, y);
  const [ps, py, pd, prow] = reserve(fn, [N * C * F64, N * 4, N * C * F64, N * F64]);
  put(ps, scores.data);
  i32(py, N).set(labels);
  const loss = lossOn(kernels(), kind, ps, py, pd, prow, N, C);
  return { loss, dscores: make(take(pd, N * C), [N, C]) };
}
