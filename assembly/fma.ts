// Multiply-add, fused where the build has relaxed SIMD. The relaxed build (asconfig.json's
// "relaxed" target, --enable relaxed-simd) compiles madd to f64x2.relaxed_madd, one
// instruction that rounds once; the plain build to a multiply then an add. Each build is
// one choice at compile time: ASC_FEATURE_RELAXED_SIMD is a constant, and the other branch
// is never compiled. fma1 is the same operation on one value (lane 0 of madd on splats), for
// the scalar tails of loops whose vector lanes use madd: an element gets the same bits
// whichever of the two computes it, so a split into parts never changes a result.

// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(f64x2.mul(a, b), c);
}

// @ts-ignore: decorator
@inline
export function fma1(a: f64, b: f64, c: f64): f64 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.extract_lane(f64x2.relaxed_madd(f64x2.splat(a), f64x2.splat(b), f64x2.splat(c)), 0);
  return a * b + c;
}

/** 1 when this build fuses its multiply-adds (relaxed SIMD), 0 for the plain build. */
export function simd_relaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
