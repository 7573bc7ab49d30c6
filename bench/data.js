// Inputs, layout changes and the numerical check shared by all peers.
//
// Every value we generate is exactly representable in float32 (a 21-bit integer
// times a power of two), so the float32 peer starts from the same numbers as the
// float64 ones and only its arithmetic differs.

/** A seeded PRNG (mulberry32) returning floats in [0, 1): the same data every run. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const product = (shape) => shape.reduce((p, d) => p * d, 1);

/** Uniform values in [-1, 1), multiples of 2^-20. */
export function randomData(n, rand) {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.floor(rand() * 2097152) - 1048576) / 1048576;
  return a;
}

/**
 * Pairwise distinct values in [-1, 1): a shuffled ramp. Max pooling uses these so
 * that no window has a tie, in float64 or float32, and every peer's argmax agrees.
 */
export function distinctData(n, rand) {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * i - n) / 2 ** Math.ceil(Math.log2(n));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/**
 * numpy's transpose: permutes the axes of a row-major array of the given shape into
 * a new array of type Out (Float64Array or Float32Array).
 * Used for NCHW -> NHWC (axes [0,2,3,1]), NHWC -> NCHW ([0,3,1,2]), the filter
 * layout FCHW -> HWCF ([2,3,1,0]) and one image CHW -> HWC ([1,2,0]).
 */
export function permute(data, shape, axes, Out = Float64Array) {
  const rank = shape.length;
  const outShape = axes.map((a) => shape[a]);
  const inStrides = new Array(rank);
  for (let i = rank - 1, s = 1; i >= 0; s *= shape[i], i--) inStrides[i] = s;
  const strides = axes.map((a) => inStrides[a]); // input stride of each output axis
  const out = new Out(data.length);
  const idx = new Array(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src];
    // Advance the output multi-index like an odometer, keeping src in step.
    for (let d = rank - 1; d >= 0; d--) {
      src += strides[d];
      if (++idx[d] < outShape[d]) break;
      src -= strides[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Max-norm relative error: max|a - e| / max|e|. */
export function relError(actual, expected) {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= diff)) diff = d; // also catches NaN
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / (scale || 1);
}

/**
 * Checks every output named in `expected` against `actual` (same length, max-norm
 * relative error within `tolerance`) and throws on the first mismatch.
 */
export function check(who, actual, expected, tolerance) {
  for (const [key, exp] of Object.entries(expected)) {
    const act = actual[key];
    if (!act) throw new Error(`${who}: produced no '${key}'`);
    if (act.length !== exp.length) {
      throw new Error(`${who}: '${key}' has ${act.length} values, expected ${exp.length}`);
    }
    const err = relError(act, exp);
    if (!(err <= tolerance)) {
      throw new Error(`${who}: '${key}' does not match the reference: max relative error ${err.toExponential(2)} > ${tolerance}`);
    }
  }
}
