// Convolution as im2col + GEMM, one image at a time. The backward writes one image's column
// buffer; the forward gathers the same columns while the GEMM packs them (gemm_im2col).
// cols (C*HH*WW, H2*W2): cols[(c*HH + i)*WW + j, h2*W2 + w2] = xpad[c, h2*SH + i*DH, w2*SW + j*DW]
// With G groups, the rows of group gi (its Cg = C/G channels, Kg = Cg*HH*WW rows) meet only
// the Fg = F/G filters of that group: one GEMM per group on its block of rows. A depthwise
// conv (G = C > 1) has its own direct kernels (assembly/depthwise.ts).
// The geometry comes as a ConvGeom record (assembly/geometry.ts).
import { gemm_whole, gemm_im2col, gemm_workspace_bytes, NR, KC } from './gemm';
import { ConvGeom, conv_geometry_ok, conv_weights, in_memory, prod } from './geometry';
import { feature_sum } from './reduce';
import { lo, hi, part, parts, cut_of, workspace } from './parts';

// The output columns w2 whose input column w2*SW + jd - PW lies inside [0, W) for a kernel
// column at offset jd (= j*DW) are [first_col, end_col); the range may be empty.
// @ts-ignore: decorator
@inline
export function first_col(jd: i32, SW: i32, PW: i32): i32 {
  return jd >= PW ? 0 : (PW - jd - 1) / SW + 1;
}

// @ts-ignore: decorator
@inline
export function end_col(jd: i32, W: i32, SW: i32, PW: i32, W2: i32): i32 {
  const last = W - 1 + PW - jd;
  return last < 0 ? 0 : min(W2, last / SW + 1);
}

// x (C,H,W) of one image -> rows [k0, k1) of cols (C*HH*WW, H2*W2); padding reads as zero.
// The rows of all channels: a group's rows are a block of them.
function im2col_rows(x: usize, cols: usize, g: ConvGeom, k0: i32, k1: i32): void {
  const H = g.H, W = g.W, HH = g.HH, WW = g.WW;
  const SH = g.SH, SW = g.SW, PH = g.PH, PW = g.PW, H2 = g.H2, W2 = g.W2;
  let dst = cols + (<usize>k0 * (H2 * W2) << 3);
  for (let k = k0; k < k1; k++) {
    const c = k / (HH * WW);
    const i = (k - c * HH * WW) / WW;
    const j = (k - c * HH * WW - i * WW) * g.DW;
    const id = i * g.DH;
    const xc = x + (<usize>(c * H * W) << 3);
    const wlo = first_col(j, SW, PW);
    const whi = end_col(j, W, SW, PW, W2);
    for (let h2 = 0; h2 < H2; h2++) {
      const y = h2 * SH + id - PH;
      if (y < 0 || y >= H || wlo >= whi) {
        memory.fill(dst, 0, <usize>W2 << 3);
      } else {
        const row = xc + (<usize>(y * W) << 3);
        if (wlo > 0) memory.fill(dst, 0, <usize>wlo << 3);
        if (SW == 1) {
          memory.copy(dst + (<usize>wlo << 3), row + (<usize>(wlo + j - PW) << 3), <usize>(whi - wlo) << 3);
        } else {
          let src = row + (<usize>(wlo * SW + j - PW) << 3);
          for (let w2 = wlo; w2 < whi; w2++) {
            store<f64>(dst + (<usize>w2 << 3), load<f64>(src));
            src += <usize>SW << 3;
          }
        }
        if (whi < W2) memory.fill(dst + (<usize>whi << 3), 0, <usize>(W2 - whi) << 3);
      }
      dst += <usize>W2 << 3;
    }
  }
}

// dcols (C*HH*WW, H2*W2) -> dx (C,H,W) of one image, dx zeroed first; entries that
// fall in the padding are dropped, and overlapping windows accumulate.
function col2im(dcols: usize, dx: usize, g: ConvGeom): void {
  const C = g.C, H = g.H, W = g.W, HH = g.HH, WW = g.WW;
  const SH = g.SH, SW = g.SW, PH = g.PH, PW = g.PW, H2 = g.H2, W2 = g.W2;
  memory.fill(dx, 0, <usize>(C * H * W) << 3);
  let src = dcols;
  for (let c = 0; c < C; c++) {
    const dxc = dx + (<usize>(c * H * W) << 3);
    for (let i = 0; i < HH; i++) {
      const id = i * g.DH;
      for (let jj = 0; jj < WW; jj++) {
        const j = jj * g.DW;
        const wlo = first_col(j, SW, PW);
        const whi = end_col(j, W, SW, PW, W2);
        for (let h2 = 0; h2 < H2; h2++) {
          const y = h2 * SH + id - PH;
          if (y >= 0 && y < H && wlo < whi) {
            let dst = dxc + (<usize>(y * W + wlo * SW + j - PW) << 3);
            for (let w2 = wlo; w2 < whi; w2++) {
              store<f64>(dst, load<f64>(dst) + load<f64>(src + (<usize>w2 << 3)));
              dst += <usize>SW << 3;
            }
          }
          src += <usize>W2 << 3;
        }
      }
    }
  }
}

function isPointwise(g: ConvGeom): bool {
  return g.HH == 1 && g.WW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0;
}

// x (N,C,H,W), w (F,Cg,HH,WW), b (F) -> out (N,F,H2,W2), Cg = C/G.
// Per image and group gi: out[n][gi's Fg filters] (Fg, Q) = b + w[gi] (Fg, Kg) · cols[gi] (Kg, Q),
// with Kg = Cg*HH*WW and Q = H2*W2, where the columns are gathered from the group's channels
// of the image as the GEMM packs them (gemm_im2col), so no column buffer is written. A 1x1
// stride-1 unpadded conv multiplies by x[n] itself.
// Parts: whole images when they divide evenly among the parts, otherwise every image's
// columns cut into `parts` slices; an output column is always one part's whole sum.
export function conv_forward(x: usize, w: usize, b: usize, out: usize, g: ConvGeom): void {
  assert(conv_geometry_ok(g), 'conv_forward: the geometry record is outside memory or inconsistent');
  const N = g.N, C = g.C, F = g.F, G = g.G;
  const Cg = C / G, Fg = F / G;
  const HW = g.H * g.W;
  const X = C * HW;
  const Kg = Cg * g.HH * g.WW;
  const Q = g.H2 * g.W2;
  const work = workspace();
  assert(in_memory(x, prod(N, C, g.H, g.W)), 'conv_forward: x lies outside memory');
  assert(in_memory(w, conv_weights(g)), 'conv_forward: w lies outside memory');
  assert(in_memory(b, <u64>F), 'conv_forward: b lies outside memory');
  assert(in_memory(out, prod(N, F, g.H2, g.W2)), 'conv_forward: out lies outside memory');
  assert(in_memory(work, <u64>gemm_workspace_bytes(), 1), 'conv_forward: the workspace lies outside memory');
  const pointwise = isPointwise(g);
  const S = N % parts() == 0 ? 1 : parts();
  const items = N * S;
  const i1 = hi(items);
  for (let it = lo(items); it < i1; it++) {
    const n = it / S, s = it - n * S;
    const q0 = cut_of(Q, NR, s, S), q1 = cut_of(Q, NR, s + 1, S);
    if (q1 <= q0) continue;
    const xn = x + (<usize>(n * X) << 3);
    const on = out + (<usize>(n * F * Q) << 3);
    for (let f = 0; f < F; f++) {
      const bf = f64x2.splat(load<f64>(b + (<usize>f << 3)));
      const row = on + (<usize>(f * Q) << 3);
      let q = q0;
      for (; q + 2 <= q1; q += 2) v128.store(row + (<usize>q << 3), bf);
      if (q < q1) store<f64>(row + (<usize>q << 3), f64x2.extract_lane(bf, 0));
    }
    for (let gi = 0; gi < G; gi++) {
      const wg = w + (<usize>(gi * Fg * Kg) << 3);
      const xg = xn + (<usize>(gi * Cg * HW) << 3);
      const og = on + (<usize>(gi * Fg * Q) << 3);
      if (pointwise) gemm_whole(0, 0, Fg, q1 - q0, Kg, wg, Kg, xg + (<usize>q0 << 3), Q, og + (<usize>q0 << 3), Q, 1, work);
      else gemm_im2col(Fg, wg, Kg, xg, g, Kg, q0, q1, og, Q, 1, work);
    }
  }
}

// dout (N,F,H2,W2), with x and w of the forward -> dx (N,C,H,W), dw (F,Cg,HH,WW), db (F).
//   db = Σ_n,q dout[n]; per image and group gi:
//   dw[gi] (Fg,Kg) += dout[n][gi] (Fg,Q) · cols[n][gi]ᵀ (Q,Kg);
//   dcols[gi] (Kg,Q) = w[gi]ᵀ (Kg,Fg) · dout[n][gi] (Fg,Q), then col2im into dx[n].
// dx = 0 skips dx (no dcols GEMM, no col2im; w and dcols are not read). dw = 0 skips dw
// (no im2col, no dw GEMM; x and cols are not read). cols (K,Q), K = C*HH*WW, is needed only
// by a conv that is not pointwise, and dcols too, one (K,Q) block per part. What is computed
// does not depend on what is skipped.
// Parts: db by features, dw by the rows k of cols (each part gathers only its rows and sums
// over the images in order; a row belongs to one group, and is one column of dw[gi]), dx by
// images (each part with its own dcols block).
export function conv_backward(dout: usize, x: usize, w: usize, dx: usize, dw: usize, db: usize,
  cols: usize, dcols: usize, g: ConvGeom): void {
  assert(conv_geometry_ok(g), 'conv_backward: the geometry record is outside memory or inconsistent');
  const N = g.N, C = g.C, F = g.F, G = g.G;
  const Cg = C / G, Fg = F / G;
  const X = C * g.H * g.W;
  const K = C * g.HH * g.WW;
  const Kg = Cg * g.HH * g.WW;
  const Q = g.H2 * g.W2;
  const pointwise = isPointwise(g);
  const work = workspace();
  assert(in_memory(dout, prod(N, F, g.H2, g.W2)), 'conv_backward: dout lies outside memory');
  assert(in_memory(db, <u64>F), 'conv_backward: db lies outside memory');
  assert(!dw || in_memory(x, prod(N, C, g.H, g.W)) && in_memory(dw, conv_weights(g)),
    'conv_backward: x or dw lies outside memory');
  assert(!dx || in_memory(w, conv_weights(g)) && in_memory(dx, prod(N, C, g.H, g.W)),
    'conv_backward: w or dx lies outside memory');
  assert(pointwise || !dw || cols != 0 && in_memory(cols, prod(C, g.HH, g.WW, g.H2, g.W2)), 'conv_backward: cols is missing or outside memory');
  assert(pointwise || !dx || dcols != 0 && in_memory(dcols, prod(C, g.HH, g.WW, g.H2, g.W2) * <u64>parts()),
    'conv_backward: dcols (one block per part) is missing or outside memory');
  assert(!(dx | dw) || in_memory(work, <u64>gemm_workspace_bytes(), 1), 'conv_backward: the workspace lies outside memory');
  feature_sum(dout, db, N, F, Q, lo(F), hi(F));
  if (dw) {
    const k0 = lo(K, NR), k1 = hi(K, NR);
    if (k1 > k0) {
      // The groups this part's rows [k0, k1) meet; group gi's rows are [gi*Kg, gi*Kg + Kg).
      const g0 = k0 / Kg, g1 = (k1 - 1) / Kg + 1;
      for (let gi = g0; gi < g1; gi++) {
        const a = max(k0, gi * Kg) - gi * Kg, e = min(k1, gi * Kg + Kg) - gi * Kg;
        for (let f = gi * Fg; f < gi * Fg + Fg; f++) memory.fill(dw + ((<usize>f * Kg + a) << 3), 0, <usize>(e - a) << 3);
      }
      for (let n = 0; n < N; n++) {
        const xn = x + (<usize>(n * X) << 3);
        const dn = dout + (<usize>(n * F * Q) << 3);
        let B = xn;
        if (!pointwise) {
          im2col_rows(xn, cols, g, k0, k1);
          B = cols;
        }
        for (let gi = g0; gi < g1; gi++) {
          const a = max(k0, gi * Kg) - gi * Kg, e = min(k1, gi * Kg + Kg) - gi * Kg;
          gemm_whole(0, 1, Fg, e - a, Q, dn + (<usize>(gi * Fg * Q) << 3), Q, B + (<usize>(gi * Kg + a) * Q << 3), Q,
            dw + ((<usize>(gi * Fg) * Kg + a) << 3), Kg, 1, work);
        }
      }
    }
  }
  if (dx) {
    const n1 = hi(N);
    const mine = dcols + (<usize>part() * K * Q << 3);
    for (let n = lo(N); n < n1; n++) {
      const dxn = dx + (<usize>(n * X) << 3);
      const dn = dout + (<usize>(n * F * Q) << 3);
      for (let gi = 0; gi < G; gi++) {
        const wg = w + (<usize>(gi * Fg * Kg) << 3);
        const dg = dn + (<usize>(gi * Fg * Q) << 3);
        // Pointwise: the group's rows of dcols are its channels of dx[n].
        const target = (pointwise ? dxn : mine) + (<usize>(gi * Kg) * Q << 3);
        gemm_whole(1, 0, Kg, Q, Fg, wg, Kg, dg, Q, target, Q, 0, work);
      }
      if (!pointwise) col2im(mine, dxn, g);
    }
  }
}

// dw by images, for a conv whose K = C*HH*WW is small, where splitting dw by its columns
// leaves each part packing all of dout for a sliver of dw. First conv_dw_images: each part
// takes a range of images, gathers each image's columns into its own (K,Q) block of cols
// and writes, for every block of KC values of q and every group gi, that block's product
// into its own slot:
//   slots[n, b][gi] (Fg,Kg) = dout[n][gi][:, qb] (Fg,kc) · cols[n][gi][:, qb]ᵀ (kc,Kg),  qb = [b·KC, b·KC + kc)
// Then sum_slots adds the slots in order (n, then b) from 0: the very sums, in the very
// order, that conv_backward's GEMM adds into dw (dw = 0; for n, for b: dw += product), so
// dw has the same bits either way. slots holds N·⌈Q/KC⌉ blocks of F·Kg values (dw's size).
export function conv_dw_images(dout: usize, x: usize, cols: usize, slots: usize, g: ConvGeom): void {
  assert(conv_geometry_ok(g), 'conv_dw_images: the geometry record is outside memory or inconsistent');
  const N = g.N, C = g.C, F = g.F, G = g.G;
  const Cg = C / G, Fg = F / G;
  const X = C * g.H * g.W;
  const K = C * g.HH * g.WW;
  const Kg = Cg * g.HH * g.WW;
  const Q = g.H2 * g.W2;
  const B = (Q + KC - 1) / KC;
  const pointwise = isPointwise(g);
  const work = workspace();
  assert(in_memory(dout, prod(N, F, g.H2, g.W2)) && in_memory(x, prod(N, C, g.H, g.W)), 'conv_dw_images: dout or x lies outside memory');
  assert(pointwise || cols != 0 && in_memory(cols, prod(C, g.HH, g.WW, g.H2, g.W2) * <u64>parts()),
    'conv_dw_images: cols (one block per part) is missing or outside memory');
  assert(in_memory(slots, conv_weights(g) * <u64>N * <u64>B), 'conv_dw_images: slots lies outside memory');
  assert(in_memory(work, <u64>gemm_workspace_bytes(), 1), 'conv_dw_images: the workspace lies outside memory');
  const mine = cols + (<usize>part() * K * Q << 3);
  const n1 = hi(N);
  for (let n = lo(N); n < n1; n++) {
    const xn = x + (<usize>(n * X) << 3);
    const dn = dout + (<usize>(n * F * Q) << 3);
    let src = xn;
    if (!pointwise) {
      im2col_rows(xn, mine, g, 0, K);
      src = mine;
    }
    for (let b = 0; b < B; b++) {
      const q0 = b * KC;
      const slot = slots + ((<usize>(n * B + b) * F * Kg) << 3);
      for (let gi = 0; gi < G; gi++) {
        gemm_whole(0, 1, Fg, Kg, min(KC, Q - q0), dn + (<usize>(gi * Fg * Q + q0) << 3), Q,
          src + (<usize>(gi * Kg) * Q + q0 << 3), Q, slot + (<usize>(gi * Fg * Kg) << 3), Kg, 0, work);
      }
    }
  }
}

// slots (count, len) -> out (len): out[i] = 0 + Σ_j slots[j, i], j in order. Parts: ranges of i.
export function sum_slots(slots: usize, out: usize, count: i32, len: i32): void {
  assert(count > 0 && len > 0 && in_memory(slots, <u64>count * <u64>len) && in_memory(out, <u64>len),
    'sum_slots: a dimension is not positive or a buffer lies outside memory');
  const i1 = hi(len, 2);
  let i = lo(len, 2);
  for (; i + 2 <= i1; i += 2) {
    let acc = f64x2.splat(0.0);
    let p = slots + (<usize>i << 3);
    for (let j = 0; j < count; j++) {
      acc = f64x2.add(acc, v128.load(p));
      p += <usize>len << 3;
    }
    v128.store(out + (<usize>i << 3), acc);
  }
  for (; i < i1; i++) {
    let acc = 0.0;
    let p = slots + (<usize>i << 3);
    for (let j = 0; j < count; j++) {
      acc += load<f64>(p);
      p += <usize>len << 3;
    }
    store<f64>(out + (<usize>i << 3), acc);
  }
}
