import { fail } from '../errors.js';
import { Tensor, checkTensor, shapeString, describe } from '../tensor.js';
import type { Labels } from '../params.js';

/** Checks that X is (N, ...inputShape) with N ≥ 1, or (N, d1…dk) with d1·…·dk = inputShape[0] when `flat`. */
export function checkBatch(fn: string, X: unknown, inputShape: readonly number[], flat = false): Tensor {
  const t = checkTensor(fn, 'X', X);
  const rest = t.shape.slice(1);
  const ok = flat
    ? t.shape.length >= 2 && rest.reduce((p, s) => p * s, 1) === inputShape[0]
    : rest.length === inputShape.length && rest.every((d, i) => d === inputShape[i]);
  if (!ok) {
    const want = flat ? `(N, d1…dk) with d1·…·dk = inputDim ${inputShape[0]}` : `(N,${inputShape.join(',')}) to match inputDim`;
    fail(`${fn}: X must have shape ${want}, got ${shapeString(t.shape)}`);
  }
  return t;
}

/** Checks N integer labels in [0, numClasses) and returns them as an Int32Array. */
export function checkModelLabels(fn: string, y: unknown, N: number, numClasses: number): Int32Array {
  if (!(y instanceof Int32Array) && !Array.isArray(y)) fail(`${fn}: y must be an array or Int32Array of ${N} integer labels, got ${describe(y)}`);
  const a = y as ArrayLike<unknown>;
  if (a.length !== N) fail(`${fn}: y has ${a.length} labels but X has ${N} rows`);
  const out = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const v = a[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= numClasses) {
      fail(`${fn}: y[${i}] must be an integer label in [0, ${numClasses}), got ${typeof v === 'string' ? `"${v}"` : String(v)}`);
    }
    out[i] = v;
  }
  return out;
}

export type { Labels };
