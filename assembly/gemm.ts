// The one hot loop: out (M,N) = op(A) (M,K) · op(B) (K,N), or out += that product.
//   op(A)[i,p] = transA ? A[p*lda + i] : A[i*lda + p]
//   op(B)[p,j] = transB ? B[j*ldb + p] : B[p*ldb + j]
// Goto/BLIS blocking: a KC×NC block of op(B) is packed into NR-wide panels (kept in L3,
// each KC×NR panel in L1), an MC×KC block of op(A) into MR-tall panels (kept in L2), and
// the 2x8 microkernel keeps a 2×8 tile of out in eight f64x2 accumulators. Eight
// accumulators + four B vectors + two A splats stay within V8's fifteen xmm registers;
// more accumulators, or unrolling k, make V8 spill (docs/ARCHITECTURE.md, "Kernels and speed").
// The fused (relaxed) build keeps the same tile. Measured on AMD EPYC (Zen, Node 20) in
// loops of microkernel steps on L1 data: the 2x8 step runs at the same rate fused and
// unfused (about 27.5 GFLOP/s, 93% of twelve independent relaxed_madd chains); a 3x6 tile
// only ties it fused (and spills unfused); 12-accumulator tiles (3x8, 2x12, 4x6) and 2x10
// spill in both builds (13-23 GFLOP/s); unrolling k by two made the GEMM 40-45% slower.
// Everything the GEMM writes besides out is in the caller's workspace: no static scratch
// and no module state, so calls on different threads of one memory cannot collide.
import { ConvGeom, in_memory, matrix_in_memory } from './geometry';
import { lo, hi, workspace } from './parts';
import { madd } from './fma';

export const MR: i32 = 2;
export const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 128;
export const NC: i32 = 2048;

// The workspace: the packed A block, the packed B block, the edge tile, then the im2col
// packer's top-left input row and column of each of a panel's NR output positions.
const PB: usize = <usize>(MC * KC) << 3;
const TILE: usize = PB + (<usize>(KC * NC) << 3);
const ROW0: usize = TILE + (<usize>(MR * NR) << 3);
const COL0: usize = ROW0 + (<usize>NR << 2);
const WORK_BYTES: usize = COL0 + (<usize>NR << 2);

/** The depth of the GEMM's blocks: it sums q in blocks of KC (conv_dw_images follows them). */
export function gemm_kc(): i32 {
  return KC;
}

/** Size in bytes of the workspace gemm needs (packed A block, packed B block, edge tile, im2col offsets). */
export function gemm_workspace_bytes(): i32 {
  return <i32>WORK_BYTES;
}

// Packs rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into MR-tall panels:
// pa[(ip*kc + p)*MR + r] = op(A)[i0 + ip*MR + r, p0 + p], zero past row M.
function pack_a(A: usize, lda: i32, transA: bool, i0: i32, mc: i32, p0: i32, kc: i32, pa: usize): void {
  for (let ip = 0; ip < mc; ip += MR) {
    const rows = min(MR, mc - ip);
    const dst0 = pa + (<usize>(ip * kc) << 3);
    if (transA) {
      // op(A) rows are contiguous in A's columns: the MR values of one p are adjacent.
      let src = A + ((<usize>p0 * lda + i0 + ip) << 3);
      let dst = dst0;
      if (rows == MR) {
        for (let p = 0; p < kc; p++) {
          v128.store(dst, v128.load(src));
          src += <usize>lda << 3;
          dst += 16;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          store<f64>(dst, load<f64>(src));
          store<f64>(dst, 0.0, 8);
          src += <usize>lda << 3;
          dst += 16;
        }
      }
    } else if (rows == MR) {
      // Two rows of A: pairs of adjacent values of each, interleaved by two shuffles.
      const r0 = A + ((<usize>(i0 + ip) * lda + p0) << 3);
      const r1 = r0 + (<usize>lda << 3);
      let p = 0;
      for (; p + 2 <= kc; p += 2) {
        const o = <usize>p << 3;
        const a = v128.load(r0 + o), b = v128.load(r1 + o);
        v128.store(dst0 + (o << 1), v128.shuffle<f64>(a, b, 0, 2));
        v128.store(dst0 + (o << 1), v128.shuffle<f64>(a, b, 1, 3), 16);
      }
      if (p < kc) {
        const o = <usize>p << 3;
        store<f64>(dst0 + (o << 1), load<f64>(r0 + o));
        store<f64>(dst0 + (o << 1), load<f64>(r1 + o), 8);
      }
    } else {
      for (let r = 0; r < MR; r++) {
        let dst = dst0 + (<usize>r << 3);
        if (r < rows) {
          let src = A + ((<usize>(i0 + ip + r) * lda + p0) << 3);
          for (let p = 0; p < kc; p++) {
            store<f64>(dst, load<f64>(src));
            src += 8;
            dst += 16;
          }
        } else {
          for (let p = 0; p < kc; p++) {
            store<f64>(dst, 0.0);
            dst += 16;
          }
        }
      }
    }
  }
}

// Packs rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into NR-wide panels:
// pb[(jp*kc + p)*NR + c] = op(B)[p0 + p, j0 + jp*NR + c], zero past column N.
function pack_b(B: usize, ldb: i32, transB: bool, p0: i32, kc: i32, j0: i32, nc: i32, pb: usize): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const cols = min(NR, nc - jp);
    const dst0 = pb + (<usize>(jp * kc) << 3);
    if (!transB && cols == NR) {
      // Eight adjacent values of one row of B make one row of the panel.
      let src = B + ((<usize>p0 * ldb + j0 + jp) << 3);
      let dst = dst0;
      for (let p = 0; p < kc; p++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        v128.store(dst, v128.load(src, 32), 32);
        v128.store(dst, v128.load(src, 48), 48);
        src += <usize>ldb << 3;
        dst += 64;
      }
    } else if (transB && cols == NR) {
      // Column j of op(B) is row j of B: two rows at a time, pairs of adjacent values of
      // each interleaved by two shuffles into two rows of the panel.
      for (let c = 0; c < NR; c += 2) {
        const s0 = B + ((<usize>(j0 + jp + c) * ldb + p0) << 3);
        const s1 = s0 + (<usize>ldb << 3);
        const d = dst0 + (<usize>c << 3);
        let p = 0;
        for (; p + 2 <= kc; p += 2) {
          const a = v128.load(s0 + (<usize>p << 3)), b = v128.load(s1 + (<usize>p << 3));
          const o = d + (<usize>p << 6);
          v128.store(o, v128.shuffle<f64>(a, b, 0, 2));
          v128.store(o, v128.shuffle<f64>(a, b, 1, 3), 64);
        }
        if (p < kc) {
          const o = d + (<usize>p << 6);
          store<f64>(o, load<f64>(s0 + (<usize>p << 3)));
          store<f64>(o, load<f64>(s1 + (<usize>p << 3)), 8);
        }
      }
    } else if (transB) {
      // Column j of op(B) is row j of B: walk it contiguously.
      for (let c = 0; c < NR; c++) {
        let dst = dst0 + (<usize>c << 3);
        if (c < cols) {
          let src = B + ((<usize>(j0 + jp + c) * ldb + p0) << 3);
          for (let p = 0; p < kc; p++) {
            store<f64>(dst, load<f64>(src));
            src += 8;
            dst += 64;
          }
        } else {
          for (let p = 0; p < kc; p++) {
            store<f64>(dst, 0.0);
            dst += 64;
          }
        }
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const src = B + ((<usize>(p0 + p) * ldb + j0 + jp) << 3);
        const dst = dst0 + (<usize>(p * NR) << 3);
        for (let c = 0; c < NR; c++) {
          store<f64>(dst + (<usize>c << 3), c < cols ? load<f64>(src + (<usize>c << 3)) : 0.0);
        }
      }
    }
  }
}

// op(B) can also be the im2col matrix of one image x (C,H,W) of geometry g (or of the channels
// of one group, x pointing at its first), gathered while packing so that it is never written out:
//   op(B)[(c*HH + i)*WW + j, h2*W2 + w2] = xpad[c, h2*SH + i*DH, w2*SW + j*DW], zero in the padding.
// row0 and col0 (NR i32 each, in the workspace) hold, per panel, the top-left input row and
// column of each of its NR output positions.
const OUTSIDE: i32 = -0x40000000;

function pack_b_im2col(x: usize, g: ConvGeom, p0: i32, kc: i32, j0: i32, nc: i32, pb: usize,
  row0: usize, col0: usize): void {
  const H = g.H, W = g.W, HH = g.HH, WW = g.WW;
  const SH = g.SH, SW = g.SW, PH = g.PH, PW = g.PW, W2 = g.W2, DH = g.DH, DW = g.DW;
  const plane = <usize>(H * W) << 3;
  const rowBytes = <usize>W << 3;
  for (let jp = 0; jp < nc; jp += NR) {
    const cols = min(NR, nc - jp);
    const q0 = j0 + jp;
    const h2a = q0 / W2;
    const w2a = q0 - h2a * W2;
    // All NR positions in one output row: one input row, columns SW apart.
    const oneRow = cols == NR && w2a + NR <= W2;
    for (let c = 0; c < NR; c++) {
      let r0 = OUTSIDE, c0 = OUTSIDE;
      if (c < cols) {
        const q = q0 + c;
        const h2 = q / W2;
        r0 = h2 * SH - PH;
        c0 = (q - h2 * W2) * SW - PW;
      }
      store<i32>(row0 + (<usize>c << 2), r0);
      store<i32>(col0 + (<usize>c << 2), c0);
    }
    const rowA = h2a * SH - PH;
    const colA = w2a * SW - PW;
    // (ch, i, j) of row p0 of op(B), advanced with p, and the tap's offsets i*DH and j*DW.
    let ch = p0 / (HH * WW);
    let i = (p0 - ch * HH * WW) / WW;
    let j = p0 - ch * HH * WW - i * WW;
    let id = i * DH, jd = j * DW;
    let xc = x + <usize>ch * plane;
    let dst = pb + (<usize>(jp * kc) << 3);
    for (let p = 0; p < kc; p++) {
      if (oneRow) {
        const y = rowA + id;
        const x0 = colA + jd;
        if (y < 0 || y >= H) {
          const z = f64x2.splat(0.0);
          v128.store(dst, z);
          v128.store(dst, z, 16);
          v128.store(dst, z, 32);
          v128.store(dst, z, 48);
        } else {
          const row = xc + <usize>y * rowBytes;
          if (SW == 1 && x0 >= 0 && x0 + NR <= W) {
            const src = row + (<usize>x0 << 3);
            v128.store(dst, v128.load(src));
            v128.store(dst, v128.load(src, 16), 16);
            v128.store(dst, v128.load(src, 32), 32);
            v128.store(dst, v128.load(src, 48), 48);
          } else if (SW == 2 && x0 >= 0 && x0 + 2 * NR <= W) {
            // Every other value of 16 adjacent ones: the even lanes of 8 loads.
            const src = row + (<usize>x0 << 3);
            v128.store(dst, v128.shuffle<f64>(v128.load(src), v128.load(src, 16), 0, 2));
            v128.store(dst, v128.shuffle<f64>(v128.load(src, 32), v128.load(src, 48), 0, 2), 16);
            v128.store(dst, v128.shuffle<f64>(v128.load(src, 64), v128.load(src, 80), 0, 2), 32);
            v128.store(dst, v128.shuffle<f64>(v128.load(src, 96), v128.load(src, 112), 0, 2), 48);
          } else if (x0 >= 0 && x0 + (NR - 1) * SW < W) {
            for (let c = 0; c < NR; c++) {
              store<f64>(dst + (<usize>c << 3), load<f64>(row + (<usize>(x0 + c * SW) << 3)));
            }
          } else {
            for (let c = 0; c < NR; c++) {
              const xx = x0 + c * SW;
              let v = 0.0;
              if (xx >= 0 && xx < W) v = load<f64>(row + (<usize>xx << 3));
              store<f64>(dst + (<usize>c << 3), v);
            }
          }
        }
      } else {
        for (let c = 0; c < NR; c++) {
          const y = load<i32>(row0 + (<usize>c << 2)) + id;
          const xx = load<i32>(col0 + (<usize>c << 2)) + jd;
          let v = 0.0;
          if (y >= 0 && y < H && xx >= 0 && xx < W) v = load<f64>(xc + <usize>y * rowBytes + (<usize>xx << 3));
          store<f64>(dst + (<usize>c << 3), v);
        }
      }
      dst += <usize>NR << 3;
      jd += DW;
      if (++j == WW) {
        j = 0;
        jd = 0;
        id += DH;
        if (++i == HH) {
          i = 0;
          id = 0;
          xc += plane;
        }
      }
    }
  }
}

// The 2x8 microkernel: tile (2,8) = pa (kc panel of 2) · pb (kc panel of 8), written to
// o (row stride ldo bytes) by store (add == false) or accumulation (add == true).
// @inline keeps the accumulators in registers of the caller's loop.
// @ts-ignore: decorator
@inline
function gemm_f64x2_2x8(kc: i32, pa: usize, pb: usize, o: usize, ldo: usize, add: bool): void {
  let c00 = f64x2.splat(0.0), c01 = f64x2.splat(0.0), c02 = f64x2.splat(0.0), c03 = f64x2.splat(0.0);
  let c10 = f64x2.splat(0.0), c11 = f64x2.splat(0.0), c12 = f64x2.splat(0.0), c13 = f64x2.splat(0.0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const b2 = v128.load(pb, 32);
    const b3 = v128.load(pb, 48);
    const a0 = v128.load64_splat(pa);
    const a1 = v128.load64_splat(pa, 8);
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    c02 = madd(a0, b2, c02);
    c03 = madd(a0, b3, c03);
    c10 = madd(a1, b0, c10);
    c11 = madd(a1, b1, c11);
    c12 = madd(a1, b2, c12);
    c13 = madd(a1, b3, c13);
    pa += 16;
    pb += 64;
  }
  const o1 = o + ldo;
  if (add) {
    c00 = f64x2.add(c00, v128.load(o));
    c01 = f64x2.add(c01, v128.load(o, 16));
    c02 = f64x2.add(c02, v128.load(o, 32));
    c03 = f64x2.add(c03, v128.load(o, 48));
    c10 = f64x2.add(c10, v128.load(o1));
    c11 = f64x2.add(c11, v128.load(o1, 16));
    c12 = f64x2.add(c12, v128.load(o1, 32));
    c13 = f64x2.add(c13, v128.load(o1, 48));
  }
  v128.store(o, c00);
  v128.store(o, c01, 16);
  v128.store(o, c02, 32);
  v128.store(o, c03, 48);
  v128.store(o1, c10);
  v128.store(o1, c11, 16);
  v128.store(o1, c12, 32);
  v128.store(o1, c13, 48);
}

// An edge tile at most NARROW columns wide (cut by the right edge of out): one column at a
// time, its MR rows in the lanes of one f64x2 accumulator, summed in the order the
// microkernel's lanes sum it (acc = 0; acc += a·b for p in order; then out + acc), so that
// the bits are the microkernel's, at a cost that follows the columns there are rather than
// a whole MR×NR tile. (A row past M is zero in the packed A; its lane is never stored.)
const NARROW: i32 = 4;

// @ts-ignore: decorator
@inline
function gemm_narrow(kc: i32, mr: i32, nr: i32, pa: usize, pb: usize, o: usize, ldo: usize, add: bool): void {
  for (let c = 0; c < nr; c++) {
    let acc = f64x2.splat(0.0);
    let a = pa;
    let b = pb + (<usize>c << 3);
    for (let p = 0; p < kc; p++) {
      acc = madd(v128.load(a), v128.load64_splat(b), acc);
      a += <usize>MR << 3;
      b += <usize>NR << 3;
    }
    const dst = o + (<usize>c << 3);
    const v0 = f64x2.extract_lane(acc, 0);
    store<f64>(dst, add ? load<f64>(dst) + v0 : v0);
    if (mr > 1) {
      const d1 = dst + ldo;
      const v1 = f64x2.extract_lane(acc, 1);
      store<f64>(d1, add ? load<f64>(d1) + v1 : v1);
    }
  }
}

// Runs the microkernel over one packed block: an MR×NR tile at a time, B's panel held in
// L1 while the ir loop walks the A block. Tiles cut by the edge of out go through the
// workspace tile and only their valid part is written back (the remainder path); small
// ones (at most NARROW values) are summed value by value instead (gemm_narrow).
export function macro_kernel(mc: i32, nc: i32, kc: i32, pa: usize, pb: usize, out: usize, ldo: i32, add: bool, tile: usize): void {
  const ldob = <usize>ldo << 3;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    const pbj = pb + (<usize>(jr * kc) << 3);
    for (let ir = 0; ir < mc; ir += MR) {
      const mr = min(MR, mc - ir);
      const pai = pa + (<usize>(ir * kc) << 3);
      const o = out + (<usize>ir * ldob) + (<usize>jr << 3);
      if (mr == MR && nr == NR) {
        gemm_f64x2_2x8(kc, pai, pbj, o, ldob, add);
      } else if (nr <= NARROW) {
        gemm_narrow(kc, mr, nr, pai, pbj, o, ldob, add);
      } else {
        gemm_f64x2_2x8(kc, pai, pbj, tile, <usize>(NR << 3), false);
        for (let r = 0; r < mr; r++) {
          for (let q = 0; q < nr; q++) {
            const dst = o + <usize>r * ldob + (<usize>q << 3);
            const v = load<f64>(tile + (<usize>(r * NR + q) << 3));
            store<f64>(dst, add ? load<f64>(dst) + v : v);
          }
        }
      }
    }
  }
}

/**
 * out (M,N) [+]= op(A) (M,K) · op(B) (K,N). accumulate = 0 overwrites out, 1 adds to it.
 * lda, ldb, ldo are row strides in elements of the matrices as stored. Split into parts
 * by columns of out (NR at a time) or, when out is taller than wide, by rows (MR at a
 * time); each element of out is the same sum in the same order for any split.
 */
export function gemm(transA: i32, transB: i32, M: i32, N: i32, K: i32,
  A: usize, lda: i32, B: usize, ldb: i32, out: usize, ldo: i32, accumulate: i32): void {
  assert(M >= 0 && N >= 0 && K >= 0, 'gemm: a negative dimension');
  assert(lda >= (transA ? M : K) && ldb >= (transB ? K : N) && ldo >= N, 'gemm: a row stride shorter than its row');
  assert(matrix_in_memory(A, transA ? K : M, transA ? M : K, lda), 'gemm: A lies outside memory');
  assert(matrix_in_memory(B, transB ? N : K, transB ? K : N, ldb), 'gemm: B lies outside memory');
  assert(matrix_in_memory(out, M, N, ldo), 'gemm: out lies outside memory');
  const work = workspace();
  assert((work & 15) == 0 && in_memory(work, WORK_BYTES, 1), 'gemm: the workspace is unaligned or outside memory');
  if (N >= M) {
    blocked(transA != 0, transB != 0, M, lo(N, NR), hi(N, NR), K, A, lda, B, ldb, 0, out, ldo, accumulate != 0, work);
  } else {
    const i0 = lo(M, MR), i1 = hi(M, MR);
    const a = A + (transA ? <usize>i0 << 3 : <usize>i0 * lda << 3);
    blocked(transA != 0, transB != 0, i1 - i0, 0, N, K, a, lda, B, ldb, 0, out + (<usize>i0 * ldo << 3), ldo, accumulate != 0, work);
  }
}

/**
 * Columns [q0, q1) of out (M, H2*W2) [+]= A (M, K) · im2col(x), where x is the first of the
 * K/(HH*WW) channels (one image, or one group of it) of the convolution of geometry g and
 * im2col(x) is gathered while B is packed (see pack_b_im2col): a convolution's forward GEMM
 * without a column buffer. The caller (conv_forward) has checked g, x and the workspace.
 */
export function gemm_im2col(M: i32, A: usize, lda: i32, x: usize, g: ConvGeom, K: i32, q0: i32, q1: i32,
  out: usize, ldo: i32, accumulate: i32, work: usize): void {
  blocked(false, false, M, q0, q1, K, A, lda, x, 0, changetype<usize>(g), out, ldo, accumulate != 0, work);
}

// Columns [N0, N1) of out. geom = 0: op(B) is read from B. Otherwise B is one image and
// geom its ConvGeom: op(B) is the image's im2col matrix.
function blocked(transA: bool, transB: bool, M: i32, N0: i32, N1: i32, K: i32,
  A: usize, lda: i32, B: usize, ldb: i32, geom: usize, out: usize, ldo: i32, accumulate: bool, work: usize): void {
  if (M <= 0 || N1 <= N0) return;
  if (K <= 0) {
    if (!accumulate) {
      for (let i = 0; i < M; i++) memory.fill(out + ((<usize>i * ldo + N0) << 3), 0, <usize>(N1 - N0) << 3);
    }
    return;
  }
  const pa = work;
  const pb = work + PB;
  const tile = work + TILE;
  for (let jc = N0; jc < N1; jc += NC) {
    const nc = min(NC, N1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      if (geom) pack_b_im2col(B, changetype<ConvGeom>(geom), pc, kc, jc, nc, pb, work + ROW0, work + COL0);
      else pack_b(B, ldb, transB, pc, kc, jc, nc, pb);
      const add = accumulate || pc > 0;
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        pack_a(A, lda, transA, ic, mc, pc, kc, pa);
        macro_kernel(mc, nc, kc, pa, pb, out + ((<usize>ic * ldo + jc) << 3), ldo, add, tile);
      }
    }
  }
}

/** Runs the whole product on this part (no split): for kernels that split their own work. */
export function gemm_whole(transA: i32, transB: i32, M: i32, N: i32, K: i32,
  A: usize, lda: i32, B: usize, ldb: i32, out: usize, ldo: i32, accumulate: i32, work: usize): void {
  blocked(transA != 0, transB != 0, M, 0, N, K, A, lda, B, ldb, 0, out, ldo, accumulate != 0, work);
}
