import { fail } from '../errors.js';
import { Tensor, checkTensor, shapeString, describe, show } from '../tensor.js';
import type { Labels } from '../params.js';

/** Checks that X is (N, ...inputShape) with N ≥ 1, or (N, d1…dk) with d1·…·dk = inputShape[0] when `flat`. */
export function checkBatch(fn: string, X: unknown, inputShape: readonly number[], flat = false, name = 'X', shapeName = 'inputDim'): Tensor {
  const t = checkTensor(fn, name, X);
  const rest = t.shape.slice(1);
  const ok = flat
    ? t.shape.length >= 2 && rest.reduce((p, s) => p * s, 1) === inputShape[0]
    : rest.length === inputShape.length && rest.every((d, i) => d === inputShape[i]);
  if (!ok) {
    const want = flat ? `(N, d1…dk) with d1·…·dk = ${shapeName} ${inputShape[0]}` : `(N,${inputShape.join(',')}) to match ${shapeName}`;
    fail(`${fn}: ${name} must have shape ${want}, got ${shapeString(t.shape)}`);
  }
  return t;
}

/** Checks N integer labels in [0, numClasses) and returns them as an Int32Array. */
export function checkModelLabels(fn: string, y: unknown, N: number, numClasses: number, name = 'y'): Int32Array {
  const xName = name === 'y' ? 'X' : `X${name.slice(1)}`;
  if (!(y instanceof Int32Array) && !Array.isArray(y)) fail(`${fn}: ${name} must be an array or an Int32Array of ${N} integer labels, got ${describe(y)}`);
  const a = y as ArrayLike<unknown>;
  if (a.length !== N) fail(`${fn}: ${name} has ${a.length} labels but ${xName} has ${N} rows`);
  const out = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const v = a[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= numClasses) {
      fail(`${fn}: ${name}[${i}] must be an integer label in [0, ${numClasses}), got ${show(v)}`);
    }
    out[i] = v;
  }
  return out;
}

export type { Labels };
