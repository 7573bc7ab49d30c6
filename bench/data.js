// Inputs, layout changes and the numerical check shared by all peers.
//
// The data comes from the tests' seeded generator (test/random.js). Every value we
// generate is exactly representable in float32 (a 21-bit integer times a power of two), so
// the float32 peer starts from the same numbers as the float64 ones and only its
// arithmetic differs. Layout changes are convcore's reference transpose, and the check is
// convcore/gradcheck's max-norm relative error, the one the tests use.

import { tensor, transpose } from 'convcore/reference';
import { maxNormRelError } from 'convcore/gradcheck';
import { makeRng, size } from '../test/random.js';

export { makeRng, size as product };

/** Uniform values in [-1, 1), multiples of 2^-20. */
export function randomData(n, r) {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.floor(r.next() * 2097152) - 1048576) / 1048576;
  return a;
}

/**
 * Pairwise distinct values in [-1, 1): a shuffled ramp. Max pooling uses these so
 * that no window has a tie, in float64 or float32, and every peer's argmax agrees.
 */
export function distinctData(n, r) {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * i - n) / 2 ** Math.ceil(Math.log2(n));
  return r.shuffle(a);
}

/**
 * numpy's transpose of a row-major array of the given shape (convcore's reference
 * transpose), as a new array of type Out (Float64Array or Float32Array). Used for
 * NCHW -> NHWC (axes [0,2,3,1]), NHWC -> NCHW ([0,3,1,2]), the filter layout
 * FCHW -> HWCF ([2,3,1,0]) and one image CHW -> HWC ([1,2,0]).
 */
export function permute(data, shape, axes, Out = Float64Array) {
  const x = tensor(data instanceof Float64Array ? data : Float64Array.from(data), shape);
  const out = transpose(x, axes).data;
  return Out === Float64Array ? out : Out.from(out);
}

/**
 * Checks every output named in `expected` against `actual` (max-norm relative error
 * within `tolerance`; a NaN or a different length fails) and throws on the first mismatch.
 */
export function check(who, actual, expected, tolerance) {
  for (const [key, exp] of Object.entries(expected)) {
    const act = actual[key];
    if (!act) throw new Error(`${who}: produced no '${key}'`);
    if (act.length !== exp.length) {
      throw new Error(`${who}: '${key}' has ${act.length} values, expected ${exp.length}`);
    }
    const err = maxNormRelError(act instanceof Float64Array ? act : Float64Array.from(act), exp);
    if (!(err <= tolerance)) {
      throw new Error(`${who}: '${key}' does not match the reference: max relative error ${err.toExponential(2)} > ${tolerance}`);
    }
  }
}
