// Depthwise convolution: G = C groups of one channel each, channel c convolved with its own
// k = F/C filters f = c·k + m (m < k, the channel multiplier), w (F,1,HH,WW); with stride,
// padding and dilation, as in the ConvGeom record (assembly/geometry.ts). Direct loops, no
// im2col and no GEMM: an output sums only HH·WW products, too few for a GEMM's packing to
// pay for itself.
//   out[n,f,h2,w2] = b[f] + Σ_i,j w[f,0,i,j] · xpad[n, f/k, h2·SH + i·DH, w2·SW + j·DW]
// Every output is summed in one order, b then the taps (i, j) row by row, whichever path
// computes it (two or four outputs in f64x2 lanes where every tap's column lies inside the
// input, one at a time elsewhere). A tap over the padding adds w·0, as the reference and
// the GEMM path do: NaN for an infinite w, as numpy's sum over the padded input gives.
import { ConvGeom, conv_geometry_ok, conv_weights, in_memory, prod } from './geometry';
import { first_col, end_col } from './conv';
import { feature_sum } from './reduce';
import { lo, hi } from './parts';
import { madd, fma1 } from './fma';

// One output, at (h2, w2) of the plane xp, of the filter whose taps are at wf.
// @ts-ignore: decorator
@inline
function one(xp: usize, wf: usize, bias: f64, g: ConvGeom, h2: i32, w2: i32): f64 {
  const H = g.H, W = g.W, HH = g.HH, WW = g.WW;
  const x0 = w2 * g.SW - g.PW;
  let s = bias;
  let t = wf;
  for (let i = 0; i < HH; i++) {
    const y = h2 * g.SH + i * g.DH - g.PH;
    const inside = y >= 0 && y < H;
    const row = xp + (<usize>(y * W) << 3);
    for (let j = 0; j < WW; j++) {
      const xx = x0 + j * g.DW;
      let v = 0.0;
      if (inside && xx >= 0 && xx < W) v = load<f64>(row + (<usize>xx << 3));
      s = fma1(load<f64>(t), v, s);
      t += 8;
    }
  }
  return s;
}

// Two adjacent values SW apart from p, as the lanes of an f64x2.
// @ts-ignore: decorator
@inline
function pair_at(p: usize, SW: i32): v128 {
  if (SW == 1) return v128.load(p);
  return f64x2.replace_lane(v128.load64_splat(p), 1, load<f64>(p + (<usize>SW << 3)));
}

// x (N,C,H,W), w (F,1,HH,WW), b (F) -> out (N,F,H2,W2), G = C. Parts: ranges of the N·F
// output planes, each computed whole by one part.
export function depthwise_forward(x: usize, w: usize, b: usize, out: usize, g: ConvGeom): void {
  assert(conv_geometry_ok(g) && g.G == g.C, 'depthwise_forward: the geometry record is outside memory, inconsistent or not depthwise');
  const N = g.N, C = g.C, F = g.F, H = g.H, W = g.W, HH = g.HH, WW = g.WW;
  const SW = g.SW, DW = g.DW, PW = g.PW, H2 = g.H2, W2 = g.W2;
  assert(in_memory(x, prod(N, C, H, W)), 'depthwise_forward: x lies outside memory');
  assert(in_memory(w, conv_weights(g)), 'depthwise_forward: w lies outside memory');
  assert(in_memory(b, <u64>F), 'depthwise_forward: b lies outside memory');
  assert(in_memory(out, prod(N, F, H2, W2)), 'depthwise_forward: out lies outside memory');
  const k = F / C;
  const T = HH * WW;
  const HW = H * W;
  const Q = H2 * W2;
  // The output columns [cl, cr) where every tap's column lies inside the input.
  const cl = min(first_col(0, SW, PW), W2);
  const cr = end_col((WW - 1) * DW, W, SW, PW, W2);
  const zero = f64x2.splat(0.0);
  const p1 = hi(N * F);
  for (let p = lo(N * F); p < p1; p++) {
    const n = p / F, f = p - n * F;
    const xp = x + (<usize>((n * C + f / k) * HW) << 3);
    const wf = w + (<usize>(f * T) << 3);
    const bias = load<f64>(b + (<usize>f << 3));
    let o = out + (<usize>p * Q << 3);
    for (let h2 = 0; h2 < H2; h2++) {
      let w2 = 0;
      for (; w2 < cl; w2++) store<f64>(o + (<usize>w2 << 3), one(xp, wf, bias, g, h2, w2));
      // Four outputs at a time, then two, in f64x2 lanes: each lane sums as one() does.
      for (; w2 + 4 <= cr; w2 += 4) {
        let a0 = f64x2.splat(bias), a1 = a0;
        let t = wf;
        const x0 = w2 * SW - PW;
        for (let i = 0; i < HH; i++) {
          const y = h2 * g.SH + i * g.DH - g.PH;
          if (y < 0 || y >= H) {
            for (let j = 0; j < WW; j++) {
              const wv = v128.load64_splat(t);
              a0 = madd(wv, zero, a0);
              a1 = madd(wv, zero, a1);
              t += 8;
            }
          } else {
            let q = xp + (<usize>(y * W + x0) << 3);
            for (let j = 0; j < WW; j++) {
              const wv = v128.load64_splat(t);
              a0 = madd(wv, pair_at(q, SW), a0);
              a1 = madd(wv, pair_at(q + (<usize>(2 * SW) << 3), SW), a1);
              q += <usize>DW << 3;
              t += 8;
            }
          }
        }
        v128.store(o + (<usize>w2 << 3), a0);
        v128.store(o + (<usize>w2 << 3), a1, 16);
      }
      for (; w2 + 2 <= cr; w2 += 2) {
        let a0 = f64x2.splat(bias);
        let t = wf;
        const x0 = w2 * SW - PW;
        for (let i = 0; i < HH; i++) {
          const y = h2 * g.SH + i * g.DH - g.PH;
          if (y < 0 || y >= H) {
            for (let j = 0; j < WW; j++) {
              a0 = madd(v128.load64_splat(t), zero, a0);
              t += 8;
            }
          } else {
            let q = xp + (<usize>(y * W + x0) << 3);
            for (let j = 0; j < WW; j++) {
              a0 = madd(v128.load64_splat(t), pair_at(q, SW), a0);
              q += <usize>DW << 3;
              t += 8;
            }
          }
        }
        v128.store(o + (<usize>w2 << 3), a0);
      }
      for (; w2 < W2; w2++) store<f64>(o + (<usize>w2 << 3), one(xp, wf, bias, g, h2, w2));
      o += <usize>W2 << 3;
    }
  }
}

// dw[f, tap (i, j)] = Σ_n Σ_h2,w2 dout[n,f,h2,w2] · xpad[n, f/k, h2·SH + i·DH, w2·SW + j·DW]:
// one filter's taps, each summed over the images in order, every row's terms in the same
// order (the f64x2 lanes, then the rest), with dout·0 over the padding.
function depthwise_dw_filter(dout: usize, x: usize, dw: usize, g: ConvGeom, f: i32): void {
  const N = g.N, C = g.C, F = g.F, H = g.H, W = g.W, HH = g.HH, WW = g.WW;
  const SW = g.SW, PW = g.PW, H2 = g.H2, W2 = g.W2;
  const HW = H * W, Q = H2 * W2;
  const c = f / (F / C);
  const zero = f64x2.splat(0.0);
  let t = dw + (<usize>(f * HH * WW) << 3);
  for (let i = 0; i < HH; i++) {
    for (let j = 0; j < WW; j++) {
      const jd = j * g.DW;
      const wlo = min(first_col(jd, SW, PW), W2);
      const whi = max(wlo, end_col(jd, W, SW, PW, W2));
      let a0 = zero, a1 = zero;
      let s = 0.0;
      for (let n = 0; n < N; n++) {
        const xp = x + (<usize>((n * C + c) * HW) << 3);
        let d = dout + (<usize>((n * F + f) * Q) << 3);
        for (let h2 = 0; h2 < H2; h2++) {
          const y = h2 * g.SH + i * g.DH - g.PH;
          if (y < 0 || y >= H) {
            let w2 = 0;
            for (; w2 + 2 <= W2; w2 += 2) a0 = madd(v128.load(d + (<usize>w2 << 3)), zero, a0);
            for (; w2 < W2; w2++) s = fma1(load<f64>(d + (<usize>w2 << 3)), 0.0, s);
          } else {
            const row = xp + (<usize>(y * W + jd - PW) << 3);
            let w2 = 0;
            for (; w2 < wlo; w2++) s = fma1(load<f64>(d + (<usize>w2 << 3)), 0.0, s);
            for (; w2 + 4 <= whi; w2 += 4) {
              const q = row + (<usize>(w2 * SW) << 3);
              a0 = madd(v128.load(d + (<usize>w2 << 3)), pair_at(q, SW), a0);
              a1 = madd(v128.load(d + (<usize>w2 << 3), 16), pair_at(q + (<usize>(2 * SW) << 3), SW), a1);
            }
            for (; w2 < whi; w2++) s = fma1(load<f64>(d + (<usize>w2 << 3)), load<f64>(row + (<usize>(w2 * SW) << 3)), s);
            for (; w2 < W2; w2++) s = fma1(load<f64>(d + (<usize>w2 << 3)), 0.0, s);
          }
          d += <usize>W2 << 3;
        }
      }
      const a = f64x2.add(a0, a1);
      store<f64>(t, f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1) + s);
      t += 8;
    }
  }
}

// dx[n, c] (H,W) = Σ_m Σ_i,j Σ_h2,w2 dout[n, c·k+m, h2, w2] · w[c·k+m, 0, i, j], each term
// into the input cell its tap read (the padding's are dropped): one plane, zeroed first,
// its terms added in the order m, i, j, h2, w2.
function depthwise_dx_plane(dout: usize, w: usize, dx: usize, g: ConvGeom, p: i32): void {
  const C = g.C, F = g.F, H = g.H, W = g.W, HH = g.HH, WW = g.WW;
  const SW = g.SW, PW = g.PW, H2 = g.H2, W2 = g.W2;
  const k = F / C, Q = H2 * W2;
  const n = p / C, c = p - n * C;
  const dxp = dx + (<usize>p * (H * W) << 3);
  memory.fill(dxp, 0, <usize>(H * W) << 3);
  for (let m = 0; m < k; m++) {
    const f = c * k + m;
    const dp = dout + (<usize>((n * F + f) * Q) << 3);
    let t = w + (<usize>(f * HH * WW) << 3);
    for (let i = 0; i < HH; i++) {
      for (let j = 0; j < WW; j++) {
        const wv = load<f64>(t);
        t += 8;
        const jd = j * g.DW;
        const wlo = first_col(jd, SW, PW), whi = end_col(jd, W, SW, PW, W2);
        if (wlo >= whi) continue;
        const wv2 = f64x2.splat(wv);
        for (let h2 = 0; h2 < H2; h2++) {
          const y = h2 * g.SH + i * g.DH - g.PH;
          if (y < 0 || y >= H) continue;
          const src = dp + (<usize>(h2 * W2 + wlo) << 3);
          const dst = dxp + (<usize>(y * W + wlo * SW + jd - PW) << 3);
          const len = whi - wlo;
          if (SW == 1) {
            let e = 0;
            for (; e + 2 <= len; e += 2) {
              const o = <usize>e << 3;
              v128.store(dst + o, madd(v128.load(src + o), wv2, v128.load(dst + o)));
            }
            if (e < len) {
              const o = <usize>e << 3;
              store<f64>(dst + o, fma1(load<f64>(src + o), wv, load<f64>(dst + o)));
            }
          } else {
            for (let e = 0; e < len; e++) {
              const o = dst + (<usize>(e * SW) << 3);
              store<f64>(o, fma1(load<f64>(src + (<usize>e << 3)), wv, load<f64>(o)));
            }
          }
        }
      }
    }
  }
}

// dout (N,F,H2,W2), with x and w of the forward -> dx (N,C,H,W), dw (F,1,HH,WW), db (F),
// G = C. dx = 0 skips dx (w is not read); dw = 0 skips dw (x is not read); db always.
// Parts: db and dw by filters (each filter's sums whole in one part, in a fixed order),
// dx by the N·C input planes (each plane whole in one part).
export function depthwise_backward(dout: usize, x: usize, w: usize, dx: usize, dw: usize, db: usize, g: ConvGeom): void {
  assert(conv_geometry_ok(g) && g.G == g.C, 'depthwise_backward: the geometry record is outside memory, inconsistent or not depthwise');
  const N = g.N, C = g.C, F = g.F;
  assert(in_memory(dout, prod(N, F, g.H2, g.W2)), 'depthwise_backward: dout lies outside memory');
  assert(in_memory(db, <u64>F), 'depthwise_backward: db lies outside memory');
  assert(!dw || in_memory(x, prod(N, C, g.H, g.W)) && in_memory(dw, conv_weights(g)),
    'depthwise_backward: x or dw lies outside memory');
  assert(!dx || in_memory(w, conv_weights(g)) && in_memory(dx, prod(N, C, g.H, g.W)),
    'depthwise_backward: w or dx lies outside memory');
  const f0 = lo(F), f1 = hi(F);
  feature_sum(dout, db, N, F, g.H2 * g.W2, f0, f1);
  if (dw) {
    for (let f = f0; f < f1; f++) depthwise_dw_filter(dout, x, dw, g, f);
  }
  if (dx) {
    const p1 = hi(N * C);
    for (let p = lo(N * C); p < p1; p++) depthwise_dx_plane(dout, w, dx, g, p);
  }
}
