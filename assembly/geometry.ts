// The geometry of a convolution or a pooling, as a record of i32 fields in linear memory.
// The wrappers write it (src/conv.ts putConvGeometry, src/pool.ts putPoolGeometry, whose
// field lists follow the declaration order here) and the kernels read it through these
// classes, so the layout exists once on each side of the boundary and no kernel takes a
// dozen positional integers that could be swapped unnoticed.
// And the checks the kernels assert (kept by the debug build, stripped by the release one).

/**
 * x (N,C,H,W), w (F,C/G,HH,WW) -> out (N,F,H2,W2); stride (SH,SW), pad (PH,PW), dilation
 * (DH,DW), G groups: filter f sees the C/G channels of group f / (F/G). A kernel row i
 * reads input row h2·SH + i·DH − PH, so the kernel spans (HH−1)·DH+1 rows of the input.
 */
@unmanaged
export class ConvGeom {
  N: i32; C: i32; H: i32; W: i32;
  F: i32; HH: i32; WW: i32;
  SH: i32; SW: i32; PH: i32; PW: i32;
  H2: i32; W2: i32;
  DH: i32; DW: i32; G: i32;
}

/** x (N,C,H,W) -> out (N,C,H2,W2): an HH×WW window moved by (SH,SW), no padding. */
@unmanaged
export class PoolGeom {
  N: i32; C: i32; H: i32; W: i32;
  HH: i32; WW: i32; SH: i32; SW: i32;
  H2: i32; W2: i32;
}

/** Size in bytes of a ConvGeom record (the wrappers check their layout against it). */
export function conv_geometry_bytes(): i32 {
  return <i32>offsetof<ConvGeom>();
}

/** Size in bytes of a PoolGeom record. */
export function pool_geometry_bytes(): i32 {
  return <i32>offsetof<PoolGeom>();
}

// The checks below are for assert() only: the release build (noAssert) drops the asserts
// but would keep their arguments, so there each check is the constant true and vanishes.

/** True when `count` values of `size` bytes from p lie inside linear memory. */
// @ts-ignore: decorator
@inline
export function in_memory(p: usize, count: u64, size: u64 = 8): bool {
  if (ASC_NO_ASSERT) return true;
  return <u64>p + count * size <= <u64>memory.size() << 16;
}

/** The product of up to five dimensions, in u64 so that it cannot wrap (for the checks). */
// @ts-ignore: decorator
@inline
export function prod(a: i32, b: i32, c: i32 = 1, d: i32 = 1, e: i32 = 1): u64 {
  return <u64>a * <u64>b * <u64>c * <u64>d * <u64>e;
}

/** True when a rows×cols matrix with row stride ld (elements) at p lies inside memory. */
// @ts-ignore: decorator
@inline
export function matrix_in_memory(p: usize, rows: i32, cols: i32, ld: i32): bool {
  if (ASC_NO_ASSERT) return true;
  return rows <= 0 || cols <= 0 || in_memory(p, <u64>(rows - 1) * <u64>ld + <u64>cols);
}

/**
 * True when n windows of k taps d apart (an extent of e = (k−1)·d+1) moved by s over length
 * L with pad P on both sides give n: (n−1)·s ≤ L+2P−e < n·s.
 */
// @ts-ignore: decorator
@inline
function windows_ok(n: i32, L: i32, k: i32, s: i32, P: i32, d: i32): bool {
  const e = (<i64>k - 1) * <i64>d + 1;
  const span = <i64>L + 2 * <i64>P - e;
  return n > 0 && L > 0 && k > 0 && s > 0 && P >= 0 && d > 0 && span >= 0 && span + e <= <i64>i32.MAX_VALUE
    && <i64>(n - 1) * <i64>s <= span && span < <i64>n * <i64>s;
}

/**
 * True when the record lies in memory and is consistent: sizes positive, G dividing C and
 * F, H2 and W2 as the maths gives them.
 */
// @ts-ignore: decorator
@inline
export function conv_geometry_ok(g: ConvGeom): bool {
  if (ASC_NO_ASSERT) return true;
  return in_memory(changetype<usize>(g), 1, offsetof<ConvGeom>())
    && g.N > 0 && g.C > 0 && g.F > 0 && g.G > 0 && g.C % g.G == 0 && g.F % g.G == 0
    && windows_ok(g.H2, g.H, g.HH, g.SH, g.PH, g.DH) && windows_ok(g.W2, g.W, g.WW, g.SW, g.PW, g.DW);
}

/** The values of w (F, C/G, HH, WW), for the checks (after conv_geometry_ok: G > 0). */
// @ts-ignore: decorator
@inline
export function conv_weights(g: ConvGeom): u64 {
  return prod(g.F, g.C / max(g.G, 1), g.HH, g.WW);
}

/** True when the record lies in memory and is consistent. */
// @ts-ignore: decorator
@inline
export function pool_geometry_ok(g: PoolGeom): bool {
  if (ASC_NO_ASSERT) return true;
  return in_memory(changetype<usize>(g), 1, offsetof<PoolGeom>())
    && g.N > 0 && g.C > 0
    && windows_ok(g.H2, g.H, g.HH, g.SH, 0, 1) && windows_ok(g.W2, g.W, g.WW, g.SW, 0, 1);
}
