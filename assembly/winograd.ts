// Winograd F(2x2, 3x3) for a 3x3 stride-1 undilated convolution (Lavin & Gray):
// each 2x2 block of outputs (a tile) is computed from the 4x4 patch d of input that covers
// it, and each 3x3 filter g, with 16 multiplies per (tile, filter, channel) instead of 36:
//   U = G g Gᵀ (4x4),  V = Bᵀ d B (4x4),  Y (2x2) = Aᵀ [Σ_c U_c ⊙ V_c] A
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
//   Aᵀ = [1 1 1 0; 0 1 −1 −1].
// The sum over channels is, for each of the 16 frequencies xi = 4k + l, a GEMM:
//   M[xi] (Co, tiles) = U[xi] (Co, Ci) · V[xi] (Ci, tiles)
// run on the GEMM's own macro kernel (assembly/gemm.ts) over operands written straight in
// its packed layouts, so nothing is packed twice:
//   u (conv_winograd_weights, caller's buffer, 16·Cop·Ci values, Cop = Co rounded up to MR):
//     U[xi] as the MR-tall panels of pack_a, KC columns (channels) at a time:
//     u[xi·Cop·Ci + Cop·pc + o0·kc + p·MR + r] = U[xi][o0 + r][pc + p], o0 a multiple of MR;
//   V (this part's workspace, a block of nb ≤ tiles_per_block tiles, nbp = nb rounded up to NR):
//     V[xi] as the NR-wide panels of pack_b: v[xi·(Ci·nbp + 8) + pc·nbp + j0·kc + p·NR + s] = V[xi][pc + p][j0 + s];
//   M (workspace after V): m[xi·(Co·nbp + 8) + o·nbp + j] (row-major, row stride nbp).
// The forward (Ci = C, Co = F, input x, pad P) adds the bias; dx is the same correlation of
// dout (Ci = F, Co = C) with the filters turned 180° and F and C swapped, padded by 2 − P.
// Groups (G > 1): each group is that computation on its own C/G channels and F/G filters
// (Ci and Co above are then a group's), one group after another on each block of tiles,
// with V and M reused; u holds the groups' U one after another (G·winograd_weights_length
// of a group's Ci and Co), and the tiles, the parts and the block size are the same for every group.
// Tiles are numbered over (image, tile row, tile column); a part takes a range of them
// (cut at multiples of NR) in blocks. Every output is its own tile's sum, and the GEMM
// gives each column the same bits wherever it sits in a block, so results do not depend on
// the split. Transforms pair two tiles in the lanes of an f64x2; a patch wholly inside the
// input is read with three loads a row, any other through a zero-padded copy.
// Infinities and NaN: Winograd mixes a patch's values (∞ − ∞), so a tile any of whose four
// outputs (the ones cut by the edge included) is not finite is computed again directly,
// each of its outputs one plain sum as the reference takes it. A non-finite input, weight
// or bias always makes one of the four non-finite (add, subtract and multiply never turn
// ∞ or NaN finite, and every patch value and tap reaches every tile output), and an
// overflow of the transforms does too; so every other output is finite on both sides.
import { MR, NR, KC, MC, macro_kernel, gemm_workspace_bytes } from './gemm';
import { ConvGeom, conv_geometry_ok, conv_weights, in_memory, prod } from './geometry';
import { lo, hi, workspace } from './parts';

// V[xi] and M[xi] lie XI_PAD values more than their size apart, so that the 16 values of one
// tile, read or written together by the transforms, do not fall in one set of the L1 cache.
const XI_PAD: i32 = 8;

/** The most tiles a block takes: beyond this the GEMM gains nothing and V and M leave L2/L3. */
const MAX_BLOCK: i32 = 128;

/** Tiles per block for Ci input and Co output channels: V and M (16·(Ci + Co) values a tile) fit in the workspace. */
export function winograd_block(Ci: i32, Co: i32): i32 {
  // The workspace: V, M, the tile table (four i32 a tile), two zero-padded 4x4 patches and the edge tile.
  const avail = (<i64>gemm_workspace_bytes() >> 3) - 64 - MR * NR - 32 * XI_PAD;
  const per = 16 * (<i64>Ci + <i64>Co) + 2;
  const t = <i32>min(avail / per, <i64>MAX_BLOCK);
  return t / NR * NR;
}

/** The float64 values of u for Ci input and Co output channels. */
export function winograd_weights_length(Ci: i32, Co: i32): i32 {
  return 16 * ((Co + MR - 1) / MR * MR) * Ci;
}

// ---- weights: u from w

/**
 * The transformed filters, in u (winograd_weights_length values): for the forward (dx = 0)
 * U[xi][f][c] from w[f][c]; for dx (dx = 1) U[xi][c][f] from w[f][c] turned 180°.
 * Parts: pairs of rows of U.
 */
export function conv_winograd_weights(w: usize, u: usize, g: ConvGeom, dx: i32): void {
  assert(conv_geometry_ok(g) && winograd_fits(g), 'conv_winograd_weights: the geometry is not a 3x3 stride-1 undilated conv');
  const G = g.G, C = g.C / G, F = g.F / G;
  const Ci = dx ? F : C, Co = dx ? C : F;
  const ulen = winograd_weights_length(Ci, Co);
  assert(in_memory(w, conv_weights(g)) && in_memory(u, <u64>ulen * <u64>G), 'conv_winograd_weights: w or u lies outside memory');
  const so = dx ? 9 : 9 * C, sc = dx ? 9 * C : 9;
  const Cop = (Co + MR - 1) / MR * MR;
  const pairs = Cop / MR;
  const q1 = hi(pairs * G);
  for (let qg = lo(pairs * G); qg < q1; qg++) {
    // Group gi's filters are w[gi·F·C·9 ..] (F·C = Ci·Co), its U u[gi·ulen ..].
    const gi = qg / pairs, q = qg - gi * pairs;
    const wg = w + (<usize>gi * <usize>(9 * Ci * Co) << 3), ug = u + (<usize>gi * <usize>ulen << 3);
    const o = q * MR;
    const two = o + 1 < Co;
    for (let pc = 0; pc < Ci; pc += KC) {
      const kc = min(KC, Ci - pc);
      for (let p = 0; p < kc; p++) {
        const ci = pc + p;
        const a = wg + (<usize>(o * so + ci * sc) << 3);
        const b = a + (<usize>so << 3);
        // The nine taps of the two filters, lane 0 filter o, lane 1 filter o + 1 (zero past Co).
        const g00 = tap(a, b, two, dx, 0), g01 = tap(a, b, two, dx, 1), g02 = tap(a, b, two, dx, 2);
        const g10 = tap(a, b, two, dx, 3), g11 = tap(a, b, two, dx, 4), g12 = tap(a, b, two, dx, 5);
        const g20 = tap(a, b, two, dx, 6), g21 = tap(a, b, two, dx, 7), g22 = tap(a, b, two, dx, 8);
        const half = f64x2.splat(0.5);
        // G g: rows 0..3 of a 4x3.
        let s = f64x2.add(g00, g20);
        const a10 = f64x2.mul(f64x2.add(s, g10), half), a20 = f64x2.mul(f64x2.sub(s, g10), half);
        s = f64x2.add(g01, g21);
        const a11 = f64x2.mul(f64x2.add(s, g11), half), a21 = f64x2.mul(f64x2.sub(s, g11), half);
        s = f64x2.add(g02, g22);
        const a12 = f64x2.mul(f64x2.add(s, g12), half), a22 = f64x2.mul(f64x2.sub(s, g12), half);
        const dst = ug + (<usize>(Cop * pc + o * kc + p * MR) << 3);
        const stride = <usize>(Cop * Ci) << 3;
        // (G g) Gᵀ, row by row.
        put_row(dst, stride, 0, g00, g01, g02, half);
        put_row(dst, stride, 4, a10, a11, a12, half);
        put_row(dst, stride, 8, a20, a21, a22, half);
        put_row(dst, stride, 12, g20, g21, g22, half);
      }
    }
  }
}

// Tap t (row-major in the 3x3) of filters a (lane 0) and b (lane 1), turned 180° for dx.
// @ts-ignore: decorator
@inline
function tap(a: usize, b: usize, two: bool, dx: i32, t: i32): v128 {
  const i = dx ? 8 - t : t;
  const v0 = load<f64>(a + (<usize>i << 3));
  const v1 = two ? load<f64>(b + (<usize>i << 3)) : 0.0;
  return f64x2.replace_lane(f64x2.splat(v0), 1, v1);
}

// One row (r0, r1, r2) of G g times Gᵀ -> frequencies xi0 .. xi0 + 3.
// @ts-ignore: decorator
@inline
function put_row(dst: usize, stride: usize, xi0: i32, r0: v128, r1: v128, r2: v128, half: v128): void {
  const s = f64x2.add(r0, r2);
  const d = dst + <usize>xi0 * stride;
  v128.store(d, r0);
  v128.store(d + stride, f64x2.mul(f64x2.add(s, r1), half));
  v128.store(d + 2 * stride, f64x2.mul(f64x2.sub(s, r1), half));
  v128.store(d + 3 * stride, r2);
}

/** True when g is a conv Winograd computes (3x3, stride 1, dilation 1, pad <= 2; any groups). */
// @ts-ignore: decorator
@inline
function winograd_fits(g: ConvGeom): bool {
  return g.HH == 3 && g.WW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1
    && g.PH >= 0 && g.PH <= 2 && g.PW >= 0 && g.PW <= 2;
}

// ---- the convolution

/** x (N,C,H,W), u of w (conv_winograd_weights, dx = 0), b (F) -> out (N,F,H2,W2). Parts: ranges of tiles. */
export function conv_winograd_forward(x: usize, w: usize, u: usize, b: usize, out: usize, g: ConvGeom): void {
  assert(conv_geometry_ok(g) && winograd_fits(g), 'conv_winograd_forward: the geometry is not a 3x3 stride-1 undilated conv');
  const G = g.G, C = g.C / G, F = g.F / G;
  assert(in_memory(x, prod(g.N, g.C, g.H, g.W)) && in_memory(w, conv_weights(g)) && in_memory(b, <u64>g.F)
    && in_memory(out, prod(g.N, g.F, g.H2, g.W2)) && in_memory(u, <u64>winograd_weights_length(C, F) * <u64>G),
  'conv_winograd_forward: a buffer lies outside memory');
  winograd(x, u, b, out, g.N, G, C, g.H, g.W, F, g.H2, g.W2, g.PH, g.PW, w, 9 * C, 9, false);
}

/** dout (N,F,H2,W2), u of w (conv_winograd_weights, dx = 1) -> dx (N,C,H,W). Parts: ranges of tiles. */
export function conv_winograd_dx(dout: usize, w: usize, u: usize, dx: usize, g: ConvGeom): void {
  assert(conv_geometry_ok(g) && winograd_fits(g), 'conv_winograd_dx: the geometry is not a 3x3 stride-1 undilated conv with pad <= 2');
  const G = g.G, C = g.C / G, F = g.F / G;
  assert(in_memory(dout, prod(g.N, g.F, g.H2, g.W2)) && in_memory(w, conv_weights(g))
    && in_memory(dx, prod(g.N, g.C, g.H, g.W)) && in_memory(u, <u64>winograd_weights_length(F, C) * <u64>G),
  'conv_winograd_dx: a buffer lies outside memory');
  winograd(dout, u, 0, dx, g.N, G, F, g.H2, g.W2, C, g.H, g.W, 2 - g.PH, 2 - g.PW, w, 9, 9 * C, true);
}

// y (N,G·Co,Ho,Wo) = the correlation of x (N,G·Ci,Hi,Wi), zero-padded by (PH,PW), group by
// group (Ci channels to Co outputs each), with the filters whose U is in u, plus b unless b
// is 0. The filters themselves, for the direct recomputation of non-finite tiles: tap t of a
// group's filter o over its channel ci at w[gi·9·Ci·Co + o·so + ci·sc + (dx ? 8 − t : t)]; dx leaves out the taps that fall in the padding (a
// product of col2im's never made), the forward multiplies them by zero as the padded sum does.
function winograd(x: usize, u: usize, b: usize, y: usize, N: i32, G: i32, Ci: i32, Hi: i32, Wi: i32,
  Co: i32, Ho: i32, Wo: i32, PH: i32, PW: i32, w: usize, so: i32, sc: i32, dx: bool): void {
  const TH = (Ho + 1) >> 1, TW = (Wo + 1) >> 1;
  const NT = N * TH * TW;
  const TB = winograd_block(Ci, Co);
  const work = workspace();
  assert(TB >= NR && (work & 15) == 0 && in_memory(work, <u64>gemm_workspace_bytes(), 1), 'winograd: the workspace is too small or unaligned');
  const Cop = (Co + MR - 1) / MR * MR;
  const V = work;
  const M = V + (<usize>(16 * (Ci * TB + XI_PAD)) << 3);
  const table = M + (<usize>(16 * (Co * TB + XI_PAD)) << 3);
  const patch = table + (<usize>(4 * TB) << 2);
  const tile = patch + (<usize>32 << 3);
  const t1 = hi(NT, NR);
  for (let s = lo(NT, NR); s < t1; s += TB) {
    const nb = min(TB, t1 - s);
    const nbp = (nb + NR - 1) / NR * NR;
    // The table: image, top row and left column of the patch (in the input, padding
    // included), per tile of the block (and past it, up to nbp, tile 0 of nothing).
    for (let j = 0; j < nbp; j++) {
      const t = s + j;
      const n = t / (TH * TW);
      const r = t - n * TH * TW;
      const th = r / TW;
      const e = table + (<usize>(j << 2) << 2);
      store<i32>(e, j < nb ? n : -1);
      store<i32>(e, 2 * th - PH, 4);
      store<i32>(e, 2 * (r - th * TW) - PW, 8);
    }
    for (let gi = 0; gi < G; gi++) {
      // Group gi: input channels [gi·Ci, (gi+1)·Ci) of G·Ci, output channels [gi·Co, (gi+1)·Co) of G·Co.
      const xg = x + (<usize>(gi * Ci) * <usize>(Hi * Wi) << 3), yg = y + (<usize>(gi * Co) * <usize>(Ho * Wo) << 3);
      const ug = u + (<usize>gi * <usize>(16 * Cop * Ci) << 3), wg = w + (<usize>gi * <usize>(9 * Ci * Co) << 3);
      const bg = b ? b + (<usize>(gi * Co) << 3) : 0;
      input_transform(xg, V, table, patch, nb, nbp, Ci, G * Ci, Hi, Wi);
      for (let xi = 0; xi < 16; xi++) {
        const ux = ug + (<usize>(xi * Cop * Ci) << 3);
        const vx = V + (<usize>(xi * (Ci * nbp + XI_PAD)) << 3);
        const mx = M + (<usize>(xi * (Co * nbp + XI_PAD)) << 3);
        for (let pc = 0; pc < Ci; pc += KC) {
          const kc = min(KC, Ci - pc);
          for (let ic = 0; ic < Co; ic += MC) {
            const mc = min(MC, Co - ic);
            macro_kernel(mc, nb, kc, ux + (<usize>(Cop * pc + ic * kc) << 3), vx + (<usize>(pc * nbp) << 3),
              mx + (<usize>(ic * nbp) << 3), nbp, pc > 0, tile);
          }
        }
      }
      output_transform(M, yg, bg, table, nb, nbp, Co, G * Co, Ho, Wo, PH, PW, xg, Ci, G * Ci, Hi, Wi, wg, so, sc, dx);
    }
  }
}

// The patches of the block's tiles -> V, two tiles (lanes) at a time, channel by channel.
function input_transform(x: usize, V: usize, table: usize, patch: usize, nb: i32, nbp: i32, Ci: i32, CiT: i32, Hi: i32, Wi: i32): void {
  const plane = <usize>(Hi * Wi) << 3;
  const rowB = <usize>Wi << 3;
  const xiStride = <usize>(Ci * nbp + XI_PAD) << 3;
  const pa = patch, pb = patch + 128;
  for (let j = 0; j < nb; j += 2) {
    const ea = table + (<usize>(j << 2) << 2);
    const eb = ea + 16;
    const na = load<i32>(ea), ra = load<i32>(ea, 4), ca = load<i32>(ea, 8);
    const nB = load<i32>(eb), rb = load<i32>(eb, 4), cb = load<i32>(eb, 8);
    // Both lanes one row of tiles, their 4x6 patch inside the input: loads straight from x.
    const fast = nB == na && rb == ra && cb == ca + 2 && ra >= 0 && ra + 4 <= Hi && ca >= 0 && ca + 6 <= Wi;
    // Otherwise each lane's valid rectangle [r0, r1) x [c0, c1) of its 4x4 patch, copied into
    // a zeroed 4x4 each channel (a lane past the block reads nothing).
    let ar0 = 0, ar1 = 0, ac0 = 0, ac1 = 0, br0 = 0, br1 = 0, bc0 = 0, bc1 = 0;
    if (!fast) {
      memory.fill(patch, 0, 256);
      ar0 = max(0, -ra); ar1 = min(4, Hi - ra); ac0 = max(0, -ca); ac1 = min(4, Wi - ca);
      if (nB >= 0) { br0 = max(0, -rb); br1 = min(4, Hi - rb); bc0 = max(0, -cb); bc1 = min(4, Wi - cb); }
    }
    let xa = x + <usize>(na * CiT) * plane + <usize>((ra * Wi + ca) << 3);
    let xb = x + <usize>(max(nB, 0) * CiT) * plane + <usize>((rb * Wi + cb) << 3);
    const j0 = j & ~(NR - 1);
    for (let pc = 0; pc < Ci; pc += KC) {
      const kc = min(KC, Ci - pc);
      let dst = V + (<usize>(pc * nbp + j0 * kc + (j & (NR - 1))) << 3);
      for (let p = 0; p < kc; p++) {
        let d00: v128, d01: v128, d02: v128, d03: v128, d10: v128, d11: v128, d12: v128, d13: v128;
        let d20: v128, d21: v128, d22: v128, d23: v128, d30: v128, d31: v128, d32: v128, d33: v128;
        if (fast) {
          let q = xa;
          let l0 = v128.load(q), l2 = v128.load(q, 16), l4 = v128.load(q, 32);
          d00 = v128.shuffle<f64>(l0, l2, 0, 2); d01 = v128.shuffle<f64>(l0, l2, 1, 3);
          d02 = v128.shuffle<f64>(l2, l4, 0, 2); d03 = v128.shuffle<f64>(l2, l4, 1, 3);
          q += rowB;
          l0 = v128.load(q); l2 = v128.load(q, 16); l4 = v128.load(q, 32);
          d10 = v128.shuffle<f64>(l0, l2, 0, 2); d11 = v128.shuffle<f64>(l0, l2, 1, 3);
          d12 = v128.shuffle<f64>(l2, l4, 0, 2); d13 = v128.shuffle<f64>(l2, l4, 1, 3);
          q += rowB;
          l0 = v128.load(q); l2 = v128.load(q, 16); l4 = v128.load(q, 32);
          d20 = v128.shuffle<f64>(l0, l2, 0, 2); d21 = v128.shuffle<f64>(l0, l2, 1, 3);
          d22 = v128.shuffle<f64>(l2, l4, 0, 2); d23 = v128.shuffle<f64>(l2, l4, 1, 3);
          q += rowB;
          l0 = v128.load(q); l2 = v128.load(q, 16); l4 = v128.load(q, 32);
          d30 = v128.shuffle<f64>(l0, l2, 0, 2); d31 = v128.shuffle<f64>(l0, l2, 1, 3);
          d32 = v128.shuffle<f64>(l2, l4, 0, 2); d33 = v128.shuffle<f64>(l2, l4, 1, 3);
        } else {
          for (let r = ar0; r < ar1; r++) {
            for (let c = ac0; c < ac1; c++) {
              store<f64>(pa + (<usize>(r * 4 + c) << 3), load<f64>(xa + <usize>((r * Wi + c) << 3)));
            }
          }
          for (let r = br0; r < br1; r++) {
            for (let c = bc0; c < bc1; c++) {
              store<f64>(pb + (<usize>(r * 4 + c) << 3), load<f64>(xb + <usize>((r * Wi + c) << 3)));
            }
          }
          d00 = lanes(pa, pb, 0); d01 = lanes(pa, pb, 1); d02 = lanes(pa, pb, 2); d03 = lanes(pa, pb, 3);
          d10 = lanes(pa, pb, 4); d11 = lanes(pa, pb, 5); d12 = lanes(pa, pb, 6); d13 = lanes(pa, pb, 7);
          d20 = lanes(pa, pb, 8); d21 = lanes(pa, pb, 9); d22 = lanes(pa, pb, 10); d23 = lanes(pa, pb, 11);
          d30 = lanes(pa, pb, 12); d31 = lanes(pa, pb, 13); d32 = lanes(pa, pb, 14); d33 = lanes(pa, pb, 15);
        }
        // Bᵀ d: rows.
        const t00 = f64x2.sub(d00, d20), t01 = f64x2.sub(d01, d21), t02 = f64x2.sub(d02, d22), t03 = f64x2.sub(d03, d23);
        const t10 = f64x2.add(d10, d20), t11 = f64x2.add(d11, d21), t12 = f64x2.add(d12, d22), t13 = f64x2.add(d13, d23);
        const t20 = f64x2.sub(d20, d10), t21 = f64x2.sub(d21, d11), t22 = f64x2.sub(d22, d12), t23 = f64x2.sub(d23, d13);
        const t30 = f64x2.sub(d10, d30), t31 = f64x2.sub(d11, d31), t32 = f64x2.sub(d12, d32), t33 = f64x2.sub(d13, d33);
        // (Bᵀ d) B: columns, row by row into V[4k .. 4k + 3].
        put_v(dst, xiStride, 0, t00, t01, t02, t03);
        put_v(dst, xiStride, 4, t10, t11, t12, t13);
        put_v(dst, xiStride, 8, t20, t21, t22, t23);
        put_v(dst, xiStride, 12, t30, t31, t32, t33);
        dst += <usize>NR << 3;
        xa += plane;
        xb += plane;
      }
    }
  }
}

// Value i of the zero-padded patches pa (lane 0) and pb (lane 1).
// @ts-ignore: decorator
@inline
function lanes(pa: usize, pb: usize, i: i32): v128 {
  return f64x2.replace_lane(v128.load64_splat(pa + (<usize>i << 3)), 1, load<f64>(pb + (<usize>i << 3)));
}

// @ts-ignore: decorator
@inline
function put_v(dst: usize, stride: usize, xi0: i32, t0: v128, t1: v128, t2: v128, t3: v128): void {
  const d = dst + <usize>xi0 * stride;
  v128.store(d, f64x2.sub(t0, t2));
  v128.store(d + stride, f64x2.add(t1, t2));
  v128.store(d + 2 * stride, f64x2.sub(t2, t1));
  v128.store(d + 3 * stride, f64x2.sub(t1, t3));
}

// M -> the block's outputs, two tiles (lanes) at a time, filter by filter; a tile with a
// non-finite output goes to direct().
function output_transform(M: usize, y: usize, b: usize, table: usize, nb: i32, nbp: i32, Co: i32, CoT: i32, Ho: i32, Wo: i32,
  PH: i32, PW: i32, x: usize, Ci: i32, CiT: i32, Hi: i32, Wi: i32, w: usize, so: i32, sc: i32, dx: bool): void {
  const st = <usize>(Co * nbp + XI_PAD) << 3;
  const plane = <usize>(Ho * Wo) << 3;
  const rowB = <usize>Wo << 3;
  for (let j = 0; j < nb; j += 2) {
    const ea = table + (<usize>(j << 2) << 2);
    const eb = ea + 16;
    const na = load<i32>(ea), ha = load<i32>(ea, 4) + PH, wa = load<i32>(ea, 8) + PW;
    const nB = load<i32>(eb), hb = load<i32>(eb, 4) + PH, wB = load<i32>(eb, 8) + PW;
    // Both tiles whole and side by side in one row of tiles: two rows of four outputs.
    const fast = nB == na && hb == ha && wB == wa + 2 && ha + 2 <= Ho && wa + 4 <= Wo;
    let ya = y + <usize>(na * CoT) * plane + (<usize>(ha * Wo + wa) << 3);
    for (let o = 0; o < Co; o++) {
      const m = M + (<usize>(o * nbp + j) << 3);
      const m0 = v128.load(m), m1 = v128.load(m + st), m2 = v128.load(m + 2 * st), m3 = v128.load(m + 3 * st);
      const m4 = v128.load(m + 4 * st), m5 = v128.load(m + 5 * st), m6 = v128.load(m + 6 * st), m7 = v128.load(m + 7 * st);
      const m8 = v128.load(m + 8 * st), m9 = v128.load(m + 9 * st), m10 = v128.load(m + 10 * st), m11 = v128.load(m + 11 * st);
      const m12 = v128.load(m + 12 * st), m13 = v128.load(m + 13 * st), m14 = v128.load(m + 14 * st), m15 = v128.load(m + 15 * st);
      // Aᵀ m: rows.
      const s00 = f64x2.add(f64x2.add(m0, m4), m8), s01 = f64x2.add(f64x2.add(m1, m5), m9);
      const s02 = f64x2.add(f64x2.add(m2, m6), m10), s03 = f64x2.add(f64x2.add(m3, m7), m11);
      const s10 = f64x2.sub(f64x2.sub(m4, m8), m12), s11 = f64x2.sub(f64x2.sub(m5, m9), m13);
      const s12 = f64x2.sub(f64x2.sub(m6, m10), m14), s13 = f64x2.sub(f64x2.sub(m7, m11), m15);
      // (Aᵀ m) A: columns.
      let y00 = f64x2.add(f64x2.add(s00, s01), s02), y01 = f64x2.sub(f64x2.sub(s01, s02), s03);
      let y10 = f64x2.add(f64x2.add(s10, s11), s12), y11 = f64x2.sub(f64x2.sub(s11, s12), s13);
      if (b) {
        const bo = v128.load64_splat(b + (<usize>o << 3));
        y00 = f64x2.add(y00, bo); y01 = f64x2.add(y01, bo); y10 = f64x2.add(y10, bo); y11 = f64x2.add(y11, bo);
      }
      // x − x is 0 for a finite x, NaN otherwise.
      const z = f64x2.add(f64x2.add(f64x2.sub(y00, y00), f64x2.sub(y01, y01)), f64x2.add(f64x2.sub(y10, y10), f64x2.sub(y11, y11)));
      const finite = f64x2.eq(z, z);
      if (fast && i64x2.all_true(finite)) {
        v128.store(ya, v128.shuffle<f64>(y00, y01, 0, 2));
        v128.store(ya, v128.shuffle<f64>(y00, y01, 1, 3), 16);
        v128.store(ya + rowB, v128.shuffle<f64>(y10, y11, 0, 2));
        v128.store(ya + rowB, v128.shuffle<f64>(y10, y11, 1, 3), 16);
      } else {
        put_tile(y, o, na, ha, wa, CoT, Ho, Wo, f64x2.extract_lane(y00, 0), f64x2.extract_lane(y01, 0),
          f64x2.extract_lane(y10, 0), f64x2.extract_lane(y11, 0));
        if (i64x2.extract_lane(finite, 0) == 0) direct(y, o, na, ha, wa, b, CoT, Ho, Wo, PH, PW, x, Ci, CiT, Hi, Wi, w, so, sc, dx);
        if (nB >= 0) {
          put_tile(y, o, nB, hb, wB, CoT, Ho, Wo, f64x2.extract_lane(y00, 1), f64x2.extract_lane(y01, 1),
            f64x2.extract_lane(y10, 1), f64x2.extract_lane(y11, 1));
          if (i64x2.extract_lane(finite, 1) == 0) direct(y, o, nB, hb, wB, b, CoT, Ho, Wo, PH, PW, x, Ci, CiT, Hi, Wi, w, so, sc, dx);
        }
      }
      ya += plane;
    }
  }
}

// The outputs of tile (n, top row h, left column c) of filter o that lie inside (Ho, Wo).
// @ts-ignore: decorator
@inline
function put_tile(y: usize, o: i32, n: i32, h: i32, c: i32, CoT: i32, Ho: i32, Wo: i32, v00: f64, v01: f64, v10: f64, v11: f64): void {
  const p = y + (<usize>(((n * CoT + o) * Ho + h) * Wo + c) << 3);
  const right = c + 1 < Wo;
  store<f64>(p, v00);
  if (right) store<f64>(p, v01, 8);
  if (h + 1 < Ho) {
    const q = p + (<usize>Wo << 3);
    store<f64>(q, v10);
    if (right) store<f64>(q, v11, 8);
  }
}

// The outputs of tile (n, h, c) of filter o, each as one plain sum over the Ci channels and
// the taps (y and x hold CoT and CiT channels an image, y, x, w and b start at the group's).
function direct(y: usize, o: i32, n: i32, h: i32, c: i32, b: usize, CoT: i32, Ho: i32, Wo: i32, PH: i32, PW: i32,
  x: usize, Ci: i32, CiT: i32, Hi: i32, Wi: i32, w: usize, so: i32, sc: i32, dx: bool): void {
  for (let hh = h; hh < min(h + 2, Ho); hh++) {
    for (let ww = c; ww < min(c + 2, Wo); ww++) {
      let acc = b ? load<f64>(b + (<usize>o << 3)) : 0.0;
      for (let ci = 0; ci < Ci; ci++) {
        const xc = x + (<usize>((n * CiT + ci) * Hi) * Wi << 3);
        const wc = w + (<usize>(o * so + ci * sc) << 3);
        for (let i = 0; i < 3; i++) {
          const r = hh + i - PH;
          for (let j = 0; j < 3; j++) {
            const cc = ww + j - PW;
            const inside = r >= 0 && r < Hi && cc >= 0 && cc < Wi;
            if (!inside && dx) continue;
            const t = i * 3 + j;
            const wt = load<f64>(wc + (<usize>(dx ? 8 - t : t) << 3));
            const v = inside ? load<f64>(xc + (<usize>(r * Wi + cc) << 3)) : 0.0;
            acc += v * wt;
          }
        }
      }
      store<f64>(y + (<usize>(((n * CoT + o) * Ho + hh) * Wo + ww) << 3), acc);
    }
  }
}
