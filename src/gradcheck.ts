import { fail } from './errors.js';
import { Tensor, checkTensor, make, shapeString } from './tensor.js';

/** What the function under check may return: an array result or a scalar loss. */
export type GradcheckOutput = Tensor | Float64Array | number;

function isTensor(v: unknown): v is Tensor {
  return v !== null && typeof v === 'object' && 'data' in v && 'shape' in v;
}

/** The values of f's result as a fresh array (f may reuse its buffers), or a number. */
function evaluate(f: (x: Tensor) => GradcheckOutput, data: Float64Array, shape: readonly number[]): Float64Array | number {
  const r = f(make(data, shape));
  if (typeof r === 'number') return r;
  if (r instanceof Float64Array) return r.slice();
  if (isTensor(r) && r.data instanceof Float64Array) return r.data.slice();
  return fail(`numericGradient: f must return a Tensor, a Float64Array or a number, got ${typeof r}`);
}

/**
 * The centered-difference gradient of L(x) = Σ_k f(x)[k] · dout[k] (or of L = f(x) when f
 * returns a number, times dout[0] if a one-element dout is given):
 *
 *   dL/dx[i] ≈ Σ_k (f(x + h·e_i)[k] − f(x − h·e_i)[k]) · dout[k] / (2h)
 *
 * The difference is taken element by element before weighting, so outputs that do not
 * depend on x[i] contribute exactly 0. f gets a perturbed copy of x (one working copy,
 * restored after each entry); the caller's x is not touched. Returns a Tensor shaped like x.
 */
export function numericGradient(
  f: (x: Tensor) => GradcheckOutput,
  x: Tensor,
  dout?: Tensor | Float64Array,
  h = 1e-5,
): Tensor {
  const fn = 'numericGradient';
  if (typeof f !== 'function') fail(`${fn}: f must be a function, got ${typeof f}`);
  const t = checkTensor(fn, 'x', x);
  if (typeof h !== 'number' || !(h > 0) || !Number.isFinite(h)) fail(`${fn}: h must be a positive finite number, got ${String(h)}`);
  let weights: Float64Array | null = null;
  if (dout !== undefined) {
    weights = dout instanceof Float64Array ? dout : checkTensor(fn, 'dout', dout).data;
  }
  const grad = new Float64Array(t.data.length);
  // One working copy, each entry moved and put back in turn; the caller's x is never touched.
  const work = t.data.slice();
  for (let i = 0; i < work.length; i++) {
    const xi = t.data[i];
    work[i] = xi + h;
    const fp = evaluate(f, work, t.shape);
    work[i] = xi - h;
    const fm = evaluate(f, work, t.shape);
    work[i] = xi;
    if (typeof fp === 'number' && typeof fm === 'number') {
      if (weights !== null && weights.length !== 1) fail(`${fn}: f returns a number, so dout must have length 1 or be omitted, got length ${weights.length}`);
      grad[i] = ((fp - fm) * (weights === null ? 1 : weights[0])) / (2 * h);
      continue;
    }
    if (typeof fp === 'number' || typeof fm === 'number' || fp.length !== fm.length) fail(`${fn}: f returned results of different sizes for the same shape of x`);
    if (weights === null) fail(`${fn}: f returns an array of length ${fp.length}, so dout (the upstream gradient, of the same length) is required`);
    if (weights.length !== fp.length) fail(`${fn}: dout has length ${weights.length} but f returns ${fp.length} values`);
    let s = 0;
    for (let k = 0; k < fp.length; k++) s += (fp[k] - fm[k]) * weights[k];
    grad[i] = s / (2 * h);
  }
  return make(grad, t.shape);
}

type Values = Tensor | Float64Array | readonly number[] | number;

function values(fn: string, name: string, v: Values): ArrayLike<number> {
  if (typeof v === 'number') return [v];
  if (v instanceof Float64Array || Array.isArray(v)) return v as ArrayLike<number>;
  if (isTensor(v)) return v.data;
  return fail(`${fn}: ${name} must be a Tensor, a Float64Array, an array of numbers or a number, got ${typeof v}`);
}

/** The two sides as arrays, or null when they cannot be compared (lengths or shapes differ). */
function sides(fn: string, names: [string, string], a: Values, b: Values): [ArrayLike<number>, ArrayLike<number>] | null {
  const x = values(fn, names[0], a);
  const y = values(fn, names[1], b);
  if (x.length !== y.length) return null;
  if (isTensor(a) && isTensor(b) && shapeString(a.shape) !== shapeString(b.shape)) return null;
  return [x, y];
}

/**
 * The CS231n relative error: max over elements of |a − b| / max(1e-8, |a| + |b|), the
 * measure of a gradient check. Never quieter than the truth: a NaN on either side, a
 * different number of elements, or two Tensors of different shapes give Infinity.
 */
export function relError(a: Values, b: Values): number {
  const s = sides('relError', ['a', 'b'], a, b);
  if (s === null) return Infinity;
  const [x, y] = s;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.abs(x[i] - y[i]) / Math.max(1e-8, Math.abs(x[i]) + Math.abs(y[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

/**
 * The max-norm relative error of `actual` against `expected`: max|a − e| / max|e| (the
 * denominator at least 1e-300), the measure of a comparison with a reference. The error is
 * relative to the largest expected entry, so entries near zero do not inflate it. A NaN on
 * either side, a different number of elements, or two Tensors of different shapes give
 * Infinity.
 */
export function maxNormRelError(actual: Values, expected: Values): number {
  const s = sides('maxNormRelError', ['actual', 'expected'], actual, expected);
  if (s === null) return Infinity;
  const [a, e] = s;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    const m = Math.abs(e[i]);
    if (m > scale) scale = m;
  }
  return diff === Infinity ? Infinity : diff / Math.max(scale, 1e-300);
}
