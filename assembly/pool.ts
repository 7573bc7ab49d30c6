// Pooling over each of the N·C planes of x (N,C,H,W) with an HH×WW window moved by
// (SH,SW); no padding, H2 = (H - HH)/SH + 1. The geometry comes as a PoolGeom record
// (assembly/geometry.ts).

// The argmax of a window is kept as its index within the window, i·WW + j, in row-major
// window order: one byte per window when the window has at most 256 cells (wide = 0),
// otherwise an i32 (wide = 1). The forward keeps it so the backward need not search again.
//
// NaN: a window that holds a NaN has the maximum NaN and its argmax is its first NaN, as
// numpy's max and argmax (and PyTorch's max pool) give, so a diverging network cannot hide
// a NaN behind a larger neighbour. A cell replaces the running maximum m where m is a
// number and the cell is not <= m, that is greater or NaN; once m is NaN nothing replaces
// it. Ties keep the earliest cell.
import { PoolGeom, pool_geometry_ok, in_memory, prod } from './geometry';
import { feature_sum } from './reduce';
import { lo, hi } from './parts';

// Parts: each takes a contiguous range of the N·C planes.

// Whether cell value v replaces the running maximum m (see above).
// @ts-ignore: decorator
@inline
function replaces(v: f64, m: f64): bool {
  return m == m && !(v <= m);
}

// The same for two windows at once, as an f64x2 mask.
// @ts-ignore: decorator
@inline
function replaces2(v: v128, m: v128): v128 {
  return v128.andnot(f64x2.eq(m, m), f64x2.le(v, m));
}

// @ts-ignore: decorator
@inline
function store_arg(a: usize, k: i32, wide: i32): void {
  if (wide) store<i32>(a, k); else store<u8>(a, <u8>k);
}

// @ts-ignore: decorator
@inline
function load_arg(a: usize, wide: i32): i32 {
  return wide ? load<i32>(a) : <i32>load<u8>(a);
}

// x (N,C,H,W) -> out (N,C,H2,W2), argmax (N,C,H2,W2): the first maximum of each window in
// row-major window order, or its first NaN.
export function maxpool_forward(x: usize, out: usize, argmax: usize, g: PoolGeom, wide: i32): void {
  assert(pool_geometry_ok(g), 'maxpool_forward: the geometry record is outside memory or inconsistent');
  const NC = g.N * g.C, H = g.H, W = g.W, HH = g.HH, WW = g.WW;
  const SH = g.SH, SW = g.SW, H2 = g.H2, W2 = g.W2;
  const HW = H * W;
  const ab: usize = wide ? 4 : 1;
  assert(wide == 1 || wide == 0 && HH * WW <= 256, 'maxpool_forward: a byte cannot hold every argmax of this window');
  assert(in_memory(x, prod(g.N, g.C, H, W)), 'maxpool_forward: x lies outside memory');
  assert(in_memory(out, prod(g.N, g.C, H2, W2)), 'maxpool_forward: out lies outside memory');
  assert(in_memory(argmax, prod(g.N, g.C, H2, W2), ab), 'maxpool_forward: argmax lies outside memory');
  const p0 = lo(NC), p1 = hi(NC);
  const Q = <usize>(H2 * W2);
  let o = out + (<usize>p0 * Q << 3);
  let a = argmax + <usize>p0 * Q * ab;
  if (HH == 2 && WW == 2 && !wide) {
    // The common 2x2 window. With stride 2 along W, two adjacent windows are done at
    // once in f64x2 lanes: their even and odd columns are gathered by shuffles, and
    // each later cell replaces the running maximum where it is greater or NaN.
    const one = i64x2.splat(1), two = i64x2.splat(2), three = i64x2.splat(3);
    const Wb = <usize>W << 3;
    for (let p = p0; p < p1; p++) {
      const xp = x + (<usize>(p * HW) << 3);
      for (let h2 = 0; h2 < H2; h2++) {
        const r0 = xp + (<usize>(h2 * SH * W) << 3);
        const r1 = r0 + Wb;
        let w2 = 0;
        if (SW == 2) {
          for (; w2 + 2 <= W2; w2 += 2) {
            const c = <usize>(w2 << 1) << 3;
            const a0 = v128.load(r0 + c), b0 = v128.load(r0 + c, 16);
            const a1 = v128.load(r1 + c), b1 = v128.load(r1 + c, 16);
            let m = v128.shuffle<f64>(a0, b0, 0, 2);
            const v01 = v128.shuffle<f64>(a0, b0, 1, 3);
            const v10 = v128.shuffle<f64>(a1, b1, 0, 2);
            const v11 = v128.shuffle<f64>(a1, b1, 1, 3);
            let t = replaces2(v01, m);
            m = v128.bitselect(v01, m, t);
            let k = v128.and(one, t);
            t = replaces2(v10, m);
            m = v128.bitselect(v10, m, t);
            k = v128.bitselect(two, k, t);
            t = replaces2(v11, m);
            m = v128.bitselect(v11, m, t);
            k = v128.bitselect(three, k, t);
            v128.store(o, m);
            store<u8>(a, <u8>i64x2.extract_lane(k, 0));
            store<u8>(a, <u8>i64x2.extract_lane(k, 1), 1);
            o += 16;
            a += 2;
          }
        }
        for (; w2 < W2; w2++) {
          const q0 = r0 + (<usize>(w2 * SW) << 3);
          const q1 = q0 + Wb;
          let m = load<f64>(q0);
          let k = 0;
          let v = load<f64>(q0, 8);
          let t = replaces(v, m); m = select(v, m, t); k = select(1, k, t);
          v = load<f64>(q1);
          t = replaces(v, m); m = select(v, m, t); k = select(2, k, t);
          v = load<f64>(q1, 8);
          t = replaces(v, m); m = select(v, m, t); k = select(3, k, t);
          store<f64>(o, m);
          store<u8>(a, <u8>k);
          o += 8;
          a += 1;
        }
      }
    }
    return;
  }
  for (let p = p0; p < p1; p++) {
    const xp = x + (<usize>(p * HW) << 3);
    for (let h2 = 0; h2 < H2; h2++) {
      for (let w2 = 0; w2 < W2; w2++) {
        const q = xp + (<usize>(h2 * SH * W + w2 * SW) << 3);
        let m = load<f64>(q);
        let best = 0;
        for (let i = 0; i < HH; i++) {
          const r = q + (<usize>(i * W) << 3);
          for (let j = 0; j < WW; j++) {
            const v = load<f64>(r + (<usize>j << 3));
            const t = replaces(v, m);
            m = select(v, m, t);
            best = select(i * WW + j, best, t);
          }
        }
        store<f64>(o, m);
        store_arg(a, best, wide);
        o += 8;
        a += ab;
      }
    }
  }
}

// dout (N,C,H2,W2), argmax (N,C,H2,W2) -> dx (N,C,H,W): each dout goes to its window's
// argmax cell, accumulating where windows overlap. When windows tile the plane
// exactly (stride = window, H and W multiples of it) every dx entry is written once,
// so the plane is written without being zeroed first.
export function maxpool_backward(dout: usize, argmax: usize, dx: usize, g: PoolGeom, wide: i32): void {
  assert(pool_geometry_ok(g), 'maxpool_backward: the geometry record is outside memory or inconsistent');
  const NC = g.N * g.C, H = g.H, W = g.W, HH = g.HH, WW = g.WW;
  const SH = g.SH, SW = g.SW, H2 = g.H2, W2 = g.W2;
  const HW = H * W;
  const ab: usize = wide ? 4 : 1;
  assert(wide == 1 || wide == 0 && HH * WW <= 256, 'maxpool_backward: a byte cannot hold every argmax of this window');
  assert(in_memory(dout, prod(g.N, g.C, H2, W2)), 'maxpool_backward: dout lies outside memory');
  assert(in_memory(argmax, prod(g.N, g.C, H2, W2), ab), 'maxpool_backward: argmax lies outside memory');
  assert(in_memory(dx, prod(g.N, g.C, H, W)), 'maxpool_backward: dx lies outside memory');
  const tiles = SH == HH && SW == WW && H2 * HH == H && W2 * WW == W;
  const p0 = lo(NC), p1 = hi(NC);
  const Q = <usize>(H2 * W2);
  let d = dout + (<usize>p0 * Q << 3);
  let a = argmax + <usize>p0 * Q * ab;
  if (tiles && HH == 2 && WW == 2 && !wide) {
    // Two windows per step: each dout value is splatted and masked into the two cells of
    // each row of its window, by comparing its argmax with the cells' indices.
    const Wb = <usize>W << 3;
    const top = i64x2(0, 1), bottom = i64x2(2, 3);
    for (let p = p0; p < p1; p++) {
      const dxp = dx + (<usize>(p * HW) << 3);
      for (let h2 = 0; h2 < H2; h2++) {
        let q0 = dxp + (<usize>(h2 * 2 * W) << 3);
        let w2 = 0;
        for (; w2 + 2 <= W2; w2 += 2) {
          const g = v128.load(d);
          const g0 = v128.shuffle<f64>(g, g, 0, 0);
          const g1 = v128.shuffle<f64>(g, g, 1, 1);
          const k0 = i64x2.splat(<i64>load<u8>(a));
          const k1 = i64x2.splat(<i64>load<u8>(a, 1));
          const q1 = q0 + Wb;
          v128.store(q0, v128.and(g0, i64x2.eq(k0, top)));
          v128.store(q0, v128.and(g1, i64x2.eq(k1, top)), 16);
          v128.store(q1, v128.and(g0, i64x2.eq(k0, bottom)));
          v128.store(q1, v128.and(g1, i64x2.eq(k1, bottom)), 16);
          q0 += 32;
          d += 16;
          a += 2;
        }
        for (; w2 < W2; w2++) {
          const g = load<f64>(d);
          const k = <i32>load<u8>(a);
          const q1 = q0 + Wb;
          store<f64>(q0, select(g, 0.0, k == 0));
          store<f64>(q0, select(g, 0.0, k == 1), 8);
          store<f64>(q1, select(g, 0.0, k == 2));
          store<f64>(q1, select(g, 0.0, k == 3), 8);
          q0 += 16;
          d += 8;
          a += 1;
        }
      }
    }
    return;
  }
  memory.fill(dx + (<usize>p0 * HW << 3), 0, <usize>(p1 - p0) * HW << 3);
  for (let p = p0; p < p1; p++) {
    const dxp = dx + (<usize>(p * HW) << 3);
    for (let h2 = 0; h2 < H2; h2++) {
      for (let w2 = 0; w2 < W2; w2++) {
        const k = load_arg(a, wide);
        assert(<u32>k < <u32>(HH * WW), 'maxpool_backward: an argmax lies outside its window');
        const i = k / WW;
        const t = dxp + (<usize>((h2 * SH + i) * W + w2 * SW + k - i * WW) << 3);
        store<f64>(t, load<f64>(t) + load<f64>(d));
        d += 8;
        a += ab;
      }
    }
  }
}

// x (N,C,H,W) -> out (N,C,H2,W2): the mean of each window.
export function avgpool_forward(x: usize, out: usize, g: PoolGeom): void {
  assert(pool_geometry_ok(g), 'avgpool_forward: the geometry record is outside memory or inconsistent');
  const NC = g.N * g.C, H = g.H, W = g.W, HH = g.HH, WW = g.WW;
  const SH = g.SH, SW = g.SW, H2 = g.H2, W2 = g.W2;
  const HW = H * W;
  assert(in_memory(x, prod(g.N, g.C, H, W)), 'avgpool_forward: x lies outside memory');
  assert(in_memory(out, prod(g.N, g.C, H2, W2)), 'avgpool_forward: out lies outside memory');
  const scale = 1.0 / <f64>(HH * WW);
  const p0 = lo(NC), p1 = hi(NC);
  let o = out + (<usize>p0 * (H2 * W2) << 3);
  for (let p = p0; p < p1; p++) {
    const xp = x + (<usize>(p * HW) << 3);
    for (let h2 = 0; h2 < H2; h2++) {
      for (let w2 = 0; w2 < W2; w2++) {
        const first = h2 * SH * W + w2 * SW;
        let s = 0.0;
        for (let i = 0; i < HH; i++) {
          const r = xp + (<usize>(first + i * W) << 3);
          for (let j = 0; j < WW; j++) s += load<f64>(r + (<usize>j << 3));
        }
        store<f64>(o, s * scale);
        o += 8;
      }
    }
  }
}

// dout (N,C,H2,W2) -> dx (N,C,H,W): each dout spread evenly over its window, accumulating.
export function avgpool_backward(dout: usize, dx: usize, g: PoolGeom): void {
  assert(pool_geometry_ok(g), 'avgpool_backward: the geometry record is outside memory or inconsistent');
  const NC = g.N * g.C, H = g.H, W = g.W, HH = g.HH, WW = g.WW;
  const SH = g.SH, SW = g.SW, H2 = g.H2, W2 = g.W2;
  const HW = H * W;
  assert(in_memory(dout, prod(g.N, g.C, H2, W2)), 'avgpool_backward: dout lies outside memory');
  assert(in_memory(dx, prod(g.N, g.C, H, W)), 'avgpool_backward: dx lies outside memory');
  const scale = 1.0 / <f64>(HH * WW);
  const p0 = lo(NC), p1 = hi(NC);
  memory.fill(dx + (<usize>p0 * HW << 3), 0, <usize>(p1 - p0) * HW << 3);
  let d = dout + (<usize>p0 * (H2 * W2) << 3);
  for (let p = p0; p < p1; p++) {
    const dxp = dx + (<usize>(p * HW) << 3);
    for (let h2 = 0; h2 < H2; h2++) {
      for (let w2 = 0; w2 < W2; w2++) {
        const g = load<f64>(d) * scale;
        const first = h2 * SH * W + w2 * SW;
        for (let i = 0; i < HH; i++) {
          const r = dxp + (<usize>(first + i * W) << 3);
          for (let j = 0; j < WW; j++) {
            const t = r + (<usize>j << 3);
            store<f64>(t, load<f64>(t) + g);
          }
        }
        d += 8;
      }
    }
  }
}

// Global average pooling: x (R, L) -> out (R), out[r] = (Σ_l x[r, l]) / L, with R = N·C
// planes of L = H·W values (feature_sum's order: two lanes over pairs, then the rest).
// Parts: ranges of planes.
export function global_avgpool_forward(x: usize, out: usize, R: i32, L: i32): void {
  assert(R > 0 && L > 0, 'global_avgpool_forward: a dimension is not positive');
  assert(in_memory(x, <u64>R * <u64>L) && in_memory(out, <u64>R), 'global_avgpool_forward: x or out lies outside memory');
  const r0 = lo(R), r1 = hi(R);
  feature_sum(x, out, 1, R, L, r0, r1);
  const n = <f64>L;
  for (let r = r0; r < r1; r++) {
    const t = out + (<usize>r << 3);
    store<f64>(t, load<f64>(t) / n);
  }
}

// dout (R) -> dx (R, L): every value of plane r is dout[r] / L. Parts: ranges of planes.
export function global_avgpool_backward(dout: usize, dx: usize, R: i32, L: i32): void {
  assert(R > 0 && L > 0, 'global_avgpool_backward: a dimension is not positive');
  assert(in_memory(dout, <u64>R) && in_memory(dx, <u64>R * <u64>L), 'global_avgpool_backward: dout or dx lies outside memory');
  const n = <f64>L;
  const r1 = hi(R);
  for (let r = lo(R); r < r1; r++) {
    const v = load<f64>(dout + (<usize>r << 3)) / n;
    const v2 = f64x2.splat(v);
    const row = dx + (<usize>r * L << 3);
    let l = 0;
    for (; l + 2 <= L; l += 2) v128.store(row + (<usize>l << 3), v2);
    if (l < L) store<f64>(row + (<usize>l << 3), v);
  }
}
