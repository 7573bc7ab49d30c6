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

// ---- The 3x3, stride 1, dilation 1 geometry: register-blocked paths ----
// Any padding. The forward and dx (for a channel multiplier k = 1) share the blocks below:
// dx with stride 1 is the correlation of dout with the flipped kernel, gathered (each dx
// element computed once, in registers). A block's taps read input rows p0 + i·rs
// (i = 0, 1, 2) and, in a row, columns + j·cs (j = 0, 1, 2), with the weight of tap (i, j)
// at wt + (3i + j)·8; the forward reads x (rs = W·8, cs = 8), dx reads dout backwards
// (rs = −W2·8, cs = −8). Every output is summed in one order, its start value (the bias,
// or 0 for dx) then the taps (i, j), whichever block computes it.
// A row is covered by blocks of eight outputs (two where the row has fewer than eight), the
// row's last block placed to end at the row's end instead of leaving a tail: overlapping
// blocks write the same bits twice. The blocks whose taps reach past the row's ends (the
// edge blocks) treat a lane outside the row as the padding: in the forward that lane's tap
// adds w·0, as over the padding anywhere (NaN for an infinite w, as the reference); dx
// leaves the lane's sum as it was (tap()), as the reference drops the taps that read no
// dout. By how far they reach: one lane past an end (padding 1, the common case), that one
// vector of that one tap masked (the forward's fw_edge8(), with the tap peeled out of the
// loops; pair8's mode 3); up to two values (padding ≤ 2), a mask on the first and the last
// vector of every tap (mode 1); further, every vector through ldm(), which loads nothing
// outside the row (mode 2). Modes 1 and 3 load the lanes outside the row (a value of the
// row before or after) and mask them: not at the first row of the buffer or its last,
// where mode 2 runs. Output rows go in pairs
// where all four input rows they read lie inside the input, one at a time elsewhere, a tap
// row outside the input adding w·0 in the forward and left out of dx.

// @ts-ignore: decorator
@inline
function fast3(g: ConvGeom): bool {
  return g.HH == 3 && g.WW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1;
}

// Byte offset i·8 of a signed element count (wraps as usize, for pointers moved backwards).
// @ts-ignore: decorator
@inline
function bo(i: i32): usize {
  return <usize>(i << 3);
}

// The f64x2 at q, whose lanes are columns c and c + 1 of a row of lim values: a lane outside
// [0, lim) reads 0, and nothing outside the row is loaded.
// @ts-ignore: decorator
@inline
function ldm(q: usize, c: i32, lim: i32): v128 {
  if (c >= 0 && c + 1 < lim) return v128.load(q);
  let v = f64x2.splat(0.0);
  if (c >= 0 && c < lim) v = v128.load64_lane(q, v, 0);
  if (c + 1 >= 0 && c + 1 < lim) v = v128.load64_lane(q, v, 1, 8);
  return v;
}

// All ones in the lanes whose columns (c, c + 1) lie in [0, lim), zeros in the others.
// @ts-ignore: decorator
@inline
function lanes(c: i32, lim: i32): v128 {
  const m0: i64 = c >= 0 && c < lim ? -1 : 0;
  const m1: i64 = c + 1 >= 0 && c + 1 < lim ? -1 : 0;
  return i64x2.replace_lane(i64x2.splat(m0), 1, m1);
}

// a + w·v, where in an edge block without pad (dx) the lanes whose columns (c, c + 1) lie
// outside [0, lim) keep a.
// @ts-ignore: decorator
@inline
function tap(wv: v128, v: v128, a: v128, edge: bool, pad: bool, c: i32, lim: i32): v128 {
  const s = madd(wv, v, a);
  if (!edge || pad) return s;
  return v128.bitselect(s, a, lanes(c, lim));
}

// Lane masks, read-only constants: LEFT_MASK + 16k for lane 0 at column c, k = c + 2 (the
// lanes at columns ≥ 0 set), RIGHT_MASK + 16r for lanes at columns lim − r and lim − r + 1
// (the lanes at columns < lim set); past index 2 every lane is set.
const LEFT_MASK: usize = memory.data<i64>([0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1], 16);
const RIGHT_MASK: usize = memory.data<i64>([0, 0, -1, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1], 16);

// Mode 3's masks: lane 0 cleared (the left end's one lane outside the row), lane 1 cleared (the right end's).
const LANE1_ONLY = i64x2(0, -1);
const LANE0_ONLY = i64x2(-1, 0);

// Mode 3: a + w·v with lane m outside the row: the forward (pad) reads it as 0, dx keeps a there.
// @ts-ignore: decorator
@inline
function edge1(wv: v128, v: v128, a: v128, m: v128, pad: bool): v128 {
  if (pad) return madd(wv, v128.and(v, m), a);
  return v128.bitselect(madd(wv, v, a), a, m);
}

// In the forward (pad) the lanes of v outside the row read 0; dx keeps a in them instead.
// @ts-ignore: decorator
@inline
function masked_in(v: v128, m: v128, pad: bool): v128 {
  return pad ? v128.and(v, m) : v;
}
// @ts-ignore: decorator
@inline
function masked_out(s: v128, a: v128, m: v128, pad: bool): v128 {
  return pad ? s : v128.bitselect(s, a, m);
}

// A block's taps of weight wv on its vector k (at q + 16k, lane 0 at column c + 2k) added to
// a, by mode: 0, an inner block, plain loads; 2, any block, every vector through ldm(),
// nothing loaded outside the row (the forward, pad, adding w·0 over the row's ends, dx
// leaving a as it was there). Mode 1 is row8's.
// @ts-ignore: decorator
@inline
function tk0(wv: v128, q: usize, a: v128, c: i32, lim: i32, mode: i32, pad: bool): v128 {
  if (mode == 2) return tap(wv, ldm(q, c, lim), a, true, pad, c, lim);
  return madd(wv, v128.load(q), a);
}
// @ts-ignore: decorator
@inline
function tk1(wv: v128, q: usize, a: v128, c: i32, lim: i32, mode: i32, pad: bool): v128 {
  if (mode == 2) return tap(wv, ldm(q + 16, c + 2, lim), a, true, pad, c + 2, lim);
  return madd(wv, v128.load(q, 16), a);
}
// @ts-ignore: decorator
@inline
function tk2(wv: v128, q: usize, a: v128, c: i32, lim: i32, mode: i32, pad: bool): v128 {
  if (mode == 2) return tap(wv, ldm(q + 32, c + 4, lim), a, true, pad, c + 4, lim);
  return madd(wv, v128.load(q, 32), a);
}
// @ts-ignore: decorator
@inline
function tk3(wv: v128, q: usize, a: v128, c: i32, lim: i32, mode: i32, pad: bool): v128 {
  if (mode == 2) return tap(wv, ldm(q + 48, c + 6, lim), a, true, pad, c + 6, lim);
  return madd(wv, v128.load(q, 48), a);
}

// Two output rows, eight outputs each: the lead row's tap row i reads p0 + i·rs, the trail
// row's tap row i reads p0 + (i+1)·rs, so the two share rows 1 and 2 and each input vector
// is loaded once. 8 accumulators, two weights and one input: 11 live f64x2 (the j loops
// are left as loops: unrolled, V8 merges the repeated weight and input loads and spills).
// c0 is the column of p0 in its row, dc the column step of cs, lim the row's length; mode and
// pad as for tk0() … tk3(), and mode 1 as in row8(): an edge block whose first vector is the
// only one reaching past the row's start and its last the only one past its end (pad ≤ 2),
// those two masked, the two rows still sharing their loads. Mode 3: only one lane outside the
// row at each end, lane 0 of the first vector of tap jl and lane 1 of the last of tap jr.
// @ts-ignore: decorator
@inline
function pair8(p0: usize, rs: usize, cs: usize, wt: usize, lead: usize, trail: usize, init: f64,
  mode: i32, pad: bool, c0: i32, dc: i32, lim: i32): void {
  let l0 = f64x2.splat(init), l1 = l0, l2 = l0, l3 = l0, t0 = l0, t1 = l0, t2 = l0, t3 = l0;
  // Mode 1: the masks of tap 0's first and last vectors, as in row8().
  const ml0 = LEFT_MASK + bo(2 * min(c0 + 2, 4));
  const mr0 = RIGHT_MASK + bo(2 * min(lim - c0 - 6, 4));
  // Mode 3: the tap whose first vector's lane 0 lies at column −1, and the one whose last
  // vector's lane 1 lies at column lim (−1 or 3 where there is none).
  const jl = dc > 0 ? -1 - c0 : c0 + 1;
  const jr = dc > 0 ? lim - 7 - c0 : c0 + 7 - lim;
  {
    const pm = p0, wm = wt;
    // Row 0: the lead's taps (0, j).
    let q = pm, c = c0;
    let ml = ml0, mr = mr0;
    for (let j = 0; j < 3; j++) {
      const wl = v128.load64_splat(wm + bo(j));
      if (mode == 1) {
        let m = v128.load(ml);
        l0 = masked_out(madd(wl, masked_in(v128.load(q), m, pad), l0), l0, m, pad);
        l1 = madd(wl, v128.load(q, 16), l1);
        l2 = madd(wl, v128.load(q, 32), l2);
        m = v128.load(mr);
        l3 = masked_out(madd(wl, masked_in(v128.load(q, 48), m, pad), l3), l3, m, pad);
        ml += <usize>(dc << 4);
        mr -= <usize>(dc << 4);
        q += cs;
        continue;
      }
      if (mode == 3) {
        if (j == jl) l0 = edge1(wl, v128.load(q), l0, LANE1_ONLY, pad);
        else l0 = madd(wl, v128.load(q), l0);
        l1 = madd(wl, v128.load(q, 16), l1);
        l2 = madd(wl, v128.load(q, 32), l2);
        if (j == jr) l3 = edge1(wl, v128.load(q, 48), l3, LANE0_ONLY, pad);
        else l3 = madd(wl, v128.load(q, 48), l3);
        q += cs;
        continue;
      }
      l0 = tk0(wl, q, l0, c, lim, mode, pad);
      l1 = tk1(wl, q, l1, c, lim, mode, pad);
      l2 = tk2(wl, q, l2, c, lim, mode, pad);
      l3 = tk3(wl, q, l3, c, lim, mode, pad);
      q += cs;
      c += dc;
    }
    // Rows 1 and 2: the lead's taps (s, j), the trail's (s − 1, j).
    for (let s = 1; s < 3; s++) {
      q = pm + <usize>s * rs;
      c = c0;
      let u = wm + bo(3 * s);
      ml = ml0; mr = mr0;
      for (let j = 0; j < 3; j++) {
        const wl = v128.load64_splat(u), w2 = v128.load64_splat(u - 24);
        if (mode == 0) {
          let v = v128.load(q);
          l0 = madd(wl, v, l0); t0 = madd(w2, v, t0);
          v = v128.load(q, 16);
          l1 = madd(wl, v, l1); t1 = madd(w2, v, t1);
          v = v128.load(q, 32);
          l2 = madd(wl, v, l2); t2 = madd(w2, v, t2);
          v = v128.load(q, 48);
          l3 = madd(wl, v, l3); t3 = madd(w2, v, t3);
        } else if (mode == 3) {
          let v = v128.load(q);
          if (j == jl) {
            l0 = edge1(wl, v, l0, LANE1_ONLY, pad); t0 = edge1(w2, v, t0, LANE1_ONLY, pad);
          } else {
            l0 = madd(wl, v, l0); t0 = madd(w2, v, t0);
          }
          v = v128.load(q, 16);
          l1 = madd(wl, v, l1); t1 = madd(w2, v, t1);
          v = v128.load(q, 32);
          l2 = madd(wl, v, l2); t2 = madd(w2, v, t2);
          v = v128.load(q, 48);
          if (j == jr) {
            l3 = edge1(wl, v, l3, LANE0_ONLY, pad); t3 = edge1(w2, v, t3, LANE0_ONLY, pad);
          } else {
            l3 = madd(wl, v, l3); t3 = madd(w2, v, t3);
          }
        } else if (mode == 1) {
          let m = v128.load(ml);
          let v = masked_in(v128.load(q), m, pad);
          l0 = masked_out(madd(wl, v, l0), l0, m, pad); t0 = masked_out(madd(w2, v, t0), t0, m, pad);
          v = v128.load(q, 16);
          l1 = madd(wl, v, l1); t1 = madd(w2, v, t1);
          v = v128.load(q, 32);
          l2 = madd(wl, v, l2); t2 = madd(w2, v, t2);
          m = v128.load(mr);
          v = masked_in(v128.load(q, 48), m, pad);
          l3 = masked_out(madd(wl, v, l3), l3, m, pad); t3 = masked_out(madd(w2, v, t3), t3, m, pad);
          ml += <usize>(dc << 4);
          mr -= <usize>(dc << 4);
        } else {
          l0 = tk0(wl, q, l0, c, lim, mode, pad); t0 = tk0(w2, q, t0, c, lim, mode, pad);
          l1 = tk1(wl, q, l1, c, lim, mode, pad); t1 = tk1(w2, q, t1, c, lim, mode, pad);
          l2 = tk2(wl, q, l2, c, lim, mode, pad); t2 = tk2(w2, q, t2, c, lim, mode, pad);
          l3 = tk3(wl, q, l3, c, lim, mode, pad); t3 = tk3(w2, q, t3, c, lim, mode, pad);
        }
        q += cs;
        c += dc;
        u += 8;
      }
    }
    // Row 3: the trail's taps (2, j).
    q = pm + 3 * rs;
    c = c0;
    ml = ml0; mr = mr0;
    for (let j = 0; j < 3; j++) {
      const w2 = v128.load64_splat(wm + bo(6 + j));
      if (mode == 3) {
        if (j == jl) t0 = edge1(w2, v128.load(q), t0, LANE1_ONLY, pad);
        else t0 = madd(w2, v128.load(q), t0);
        t1 = madd(w2, v128.load(q, 16), t1);
        t2 = madd(w2, v128.load(q, 32), t2);
        if (j == jr) t3 = edge1(w2, v128.load(q, 48), t3, LANE0_ONLY, pad);
        else t3 = madd(w2, v128.load(q, 48), t3);
        q += cs;
        continue;
      }
      if (mode == 1) {
        let m = v128.load(ml);
        t0 = masked_out(madd(w2, masked_in(v128.load(q), m, pad), t0), t0, m, pad);
        t1 = madd(w2, v128.load(q, 16), t1);
        t2 = madd(w2, v128.load(q, 32), t2);
        m = v128.load(mr);
        t3 = masked_out(madd(w2, masked_in(v128.load(q, 48), m, pad), t3), t3, m, pad);
        ml += <usize>(dc << 4);
        mr -= <usize>(dc << 4);
        q += cs;
        continue;
      }
      t0 = tk0(w2, q, t0, c, lim, mode, pad);
      t1 = tk1(w2, q, t1, c, lim, mode, pad);
      t2 = tk2(w2, q, t2, c, lim, mode, pad);
      t3 = tk3(w2, q, t3, c, lim, mode, pad);
      q += cs;
      c += dc;
    }
  }
  v128.store(lead, l0); v128.store(lead, l1, 16); v128.store(lead, l2, 32); v128.store(lead, l3, 48);
  v128.store(trail, t0); v128.store(trail, t1, 16); v128.store(trail, t2, 32); v128.store(trail, t3, 48);
}

// The forward's edge blocks whose only lane outside the row is the first vector's lane 0 at
// tap j = 0 (left: the block's columns start at −1) or the last vector's lane 1 at tap j = 2
// (right: they end at the row's length): pair8's sums in pair8's order, that one tap peeled
// out of the j loops and its vector's outside lane read as 0 (w·0, as over the padding).
// @ts-ignore: decorator
@inline
function fw_edge8(p0: usize, rs: usize, wt: usize, lead: usize, trail: usize, init: f64, right: bool): void {
  let l0 = f64x2.splat(init), l1 = l0, l2 = l0, l3 = l0, t0 = l0, t1 = l0, t2 = l0, t3 = l0;
  const j0 = right ? 0 : 1, j1 = right ? 2 : 3;
  // Row 0: the lead's taps (0, j).
  let q = p0;
  if (!right) {
    const wl = v128.load64_splat(wt);
    l0 = madd(wl, v128.and(v128.load(q), LANE1_ONLY), l0);
    l1 = madd(wl, v128.load(q, 16), l1); l2 = madd(wl, v128.load(q, 32), l2); l3 = madd(wl, v128.load(q, 48), l3);
    q += 8;
  }
  for (let j = j0; j < j1; j++) {
    const wl = v128.load64_splat(wt + bo(j));
    l0 = madd(wl, v128.load(q), l0); l1 = madd(wl, v128.load(q, 16), l1);
    l2 = madd(wl, v128.load(q, 32), l2); l3 = madd(wl, v128.load(q, 48), l3);
    q += 8;
  }
  if (right) {
    const wl = v128.load64_splat(wt, 16);
    l0 = madd(wl, v128.load(q), l0); l1 = madd(wl, v128.load(q, 16), l1); l2 = madd(wl, v128.load(q, 32), l2);
    l3 = madd(wl, v128.and(v128.load(q, 48), LANE0_ONLY), l3);
  }
  // Rows 1 and 2: the lead's taps (s, j), the trail's (s − 1, j).
  for (let s = 1; s < 3; s++) {
    q = p0 + <usize>s * rs;
    let u = wt + bo(3 * s);
    if (!right) {
      const wl = v128.load64_splat(u), w2 = v128.load64_splat(u - 24);
      let v = v128.and(v128.load(q), LANE1_ONLY);
      l0 = madd(wl, v, l0); t0 = madd(w2, v, t0);
      v = v128.load(q, 16); l1 = madd(wl, v, l1); t1 = madd(w2, v, t1);
      v = v128.load(q, 32); l2 = madd(wl, v, l2); t2 = madd(w2, v, t2);
      v = v128.load(q, 48); l3 = madd(wl, v, l3); t3 = madd(w2, v, t3);
      q += 8;
      u += 8;
    }
    for (let j = j0; j < j1; j++) {
      const wl = v128.load64_splat(u), w2 = v128.load64_splat(u - 24);
      let v = v128.load(q);
      l0 = madd(wl, v, l0); t0 = madd(w2, v, t0);
      v = v128.load(q, 16); l1 = madd(wl, v, l1); t1 = madd(w2, v, t1);
      v = v128.load(q, 32); l2 = madd(wl, v, l2); t2 = madd(w2, v, t2);
      v = v128.load(q, 48); l3 = madd(wl, v, l3); t3 = madd(w2, v, t3);
      q += 8;
      u += 8;
    }
    if (right) {
      const wl = v128.load64_splat(u), w2 = v128.load64_splat(u - 24);
      let v = v128.load(q);
      l0 = madd(wl, v, l0); t0 = madd(w2, v, t0);
      v = v128.load(q, 16); l1 = madd(wl, v, l1); t1 = madd(w2, v, t1);
      v = v128.load(q, 32); l2 = madd(wl, v, l2); t2 = madd(w2, v, t2);
      v = v128.and(v128.load(q, 48), LANE0_ONLY); l3 = madd(wl, v, l3); t3 = madd(w2, v, t3);
    }
  }
  // Row 3: the trail's taps (2, j).
  q = p0 + 3 * rs;
  if (!right) {
    const w2 = v128.load64_splat(wt, 48);
    t0 = madd(w2, v128.and(v128.load(q), LANE1_ONLY), t0);
    t1 = madd(w2, v128.load(q, 16), t1); t2 = madd(w2, v128.load(q, 32), t2); t3 = madd(w2, v128.load(q, 48), t3);
    q += 8;
  }
  for (let j = j0; j < j1; j++) {
    const w2 = v128.load64_splat(wt + bo(6 + j));
    t0 = madd(w2, v128.load(q), t0); t1 = madd(w2, v128.load(q, 16), t1);
    t2 = madd(w2, v128.load(q, 32), t2); t3 = madd(w2, v128.load(q, 48), t3);
    q += 8;
  }
  if (right) {
    const w2 = v128.load64_splat(wt, 64);
    t0 = madd(w2, v128.load(q), t0); t1 = madd(w2, v128.load(q, 16), t1); t2 = madd(w2, v128.load(q, 32), t2);
    t3 = madd(w2, v128.and(v128.load(q, 48), LANE0_ONLY), t3);
  }
  v128.store(lead, l0); v128.store(lead, l1, 16); v128.store(lead, l2, 32); v128.store(lead, l3, 48);
  v128.store(trail, t0); v128.store(trail, t1, 16); v128.store(trail, t2, 32); v128.store(trail, t3, 48);
}

// pair8 with two outputs per row, every vector through ldm() (for rows of fewer than eight
// outputs).
// @ts-ignore: decorator
@inline
function pair2(p0: usize, rs: usize, cs: usize, wt: usize, lead: usize, trail: usize, init: f64,
  pad: bool, c0: i32, dc: i32, lim: i32): void {
  let l0 = f64x2.splat(init), t0 = l0;
  let q = p0, c = c0;
  for (let j = 0; j < 3; j++) {
    l0 = tap(v128.load64_splat(wt + bo(j)), ldm(q, c, lim), l0, true, pad, c, lim);
    q += cs;
    c += dc;
  }
  for (let s = 1; s < 3; s++) {
    q = p0 + <usize>s * rs;
    c = c0;
    let u = wt + bo(3 * s);
    for (let j = 0; j < 3; j++) {
      const v = ldm(q, c, lim);
      l0 = tap(v128.load64_splat(u), v, l0, true, pad, c, lim);
      t0 = tap(v128.load64_splat(u - 24), v, t0, true, pad, c, lim);
      q += cs;
      c += dc;
      u += 8;
    }
  }
  q = p0 + 3 * rs;
  c = c0;
  for (let j = 0; j < 3; j++) {
    t0 = tap(v128.load64_splat(wt + bo(6 + j)), ldm(q, c, lim), t0, true, pad, c, lim);
    q += cs;
    c += dc;
  }
  v128.store(lead, l0);
  v128.store(trail, t0);
}

// One output row, eight outputs: tap row i is read when bit i of rows is set; otherwise, with
// pad, its taps add w·0 (the forward over the padding), without, they are left out (dx).
// @ts-ignore: decorator
@inline
function row8(p0: usize, rs: usize, cs: usize, wt: usize, o: usize, init: f64, rows: i32,
  mode: i32, pad: bool, c0: i32, dc: i32, lim: i32): void {
  let a0 = f64x2.splat(init), a1 = a0, a2 = a0, a3 = a0;
  const zero = f64x2.splat(0.0);
  // Mode 1: the masks of tap 0's first and last vectors; tap j's are 16·j·dc bytes on.
  const ml0 = LEFT_MASK + bo(2 * min(c0 + 2, 4));
  const mr0 = RIGHT_MASK + bo(2 * min(lim - c0 - 6, 4));
  {
    let u = wt;
    for (let i = 0; i < 3; i++) {
      if (rows >> i & 1) {
        let q = p0 + <usize>i * rs, c = c0;
        if (mode == 1) {
          // The first and last vectors masked (mask pointers as for row8e()).
          let ml = ml0, mr = mr0;
          for (let j = 0; j < 3; j++) {
            const wv = v128.load64_splat(u);
            let m = v128.load(ml);
            a0 = masked_out(madd(wv, masked_in(v128.load(q), m, pad), a0), a0, m, pad);
            a1 = madd(wv, v128.load(q, 16), a1);
            a2 = madd(wv, v128.load(q, 32), a2);
            m = v128.load(mr);
            a3 = masked_out(madd(wv, masked_in(v128.load(q, 48), m, pad), a3), a3, m, pad);
            q += cs;
            ml += <usize>(dc << 4);
            mr -= <usize>(dc << 4);
            u += 8;
          }
          continue;
        }
        for (let j = 0; j < 3; j++) {
          const wv = v128.load64_splat(u);
          a0 = tk0(wv, q, a0, c, lim, mode, pad);
          a1 = tk1(wv, q, a1, c, lim, mode, pad);
          a2 = tk2(wv, q, a2, c, lim, mode, pad);
          a3 = tk3(wv, q, a3, c, lim, mode, pad);
          q += cs;
          c += dc;
          u += 8;
        }
      } else if (pad) {
        for (let j = 0; j < 3; j++) {
          const wv = v128.load64_splat(u);
          a0 = madd(wv, zero, a0); a1 = madd(wv, zero, a1); a2 = madd(wv, zero, a2); a3 = madd(wv, zero, a3);
          u += 8;
        }
      } else {
        u += 24;
      }
    }
  }
  v128.store(o, a0); v128.store(o, a1, 16); v128.store(o, a2, 32); v128.store(o, a3, 48);
}

// row8 with two outputs, through ldm().
// @ts-ignore: decorator
@inline
function row2(p0: usize, rs: usize, cs: usize, wt: usize, o: usize, init: f64, rows: i32,
  pad: bool, c0: i32, dc: i32, lim: i32): void {
  let a0 = f64x2.splat(init);
  const zero = f64x2.splat(0.0);
  let u = wt;
  for (let i = 0; i < 3; i++) {
    if (rows >> i & 1) {
      let q = p0 + <usize>i * rs, c = c0;
      for (let j = 0; j < 3; j++) {
        a0 = tap(v128.load64_splat(u), ldm(q, c, lim), a0, true, pad, c, lim);
        q += cs;
        c += dc;
        u += 8;
      }
    } else if (pad) {
      for (let j = 0; j < 3; j++) {
        a0 = madd(v128.load64_splat(u), zero, a0);
        u += 8;
      }
    } else {
      u += 24;
    }
  }
  v128.store(o, a0);
}

// The edge blocks: the forward's (columns step +1, pad) and dx's (−1, no pad);
// ...s for one lane past an end (mode 3), ...e for pad ≤ 2 (mode 1), ...g for any (mode 2).
// @ts-ignore: decorator
@inline
function fw_pair8e(p0: usize, rs: usize, wt: usize, lead: usize, trail: usize, init: f64, c0: i32, lim: i32): void {
  pair8(p0, rs, 8, wt, lead, trail, init, 1, true, c0, 1, lim);
}
// @ts-ignore: decorator
@inline
function fw_pair8s(p0: usize, rs: usize, wt: usize, lead: usize, trail: usize, init: f64, c0: i32, lim: i32): void {
  pair8(p0, rs, 8, wt, lead, trail, init, 3, true, c0, 1, lim);
}
function fw_pair8g(p0: usize, rs: usize, wt: usize, lead: usize, trail: usize, init: f64, c0: i32, lim: i32): void {
  pair8(p0, rs, 8, wt, lead, trail, init, 2, true, c0, 1, lim);
}
// @ts-ignore: decorator
@inline
function fw_row8e(p0: usize, rs: usize, wt: usize, o: usize, init: f64, rows: i32, c0: i32, lim: i32): void {
  row8(p0, rs, 8, wt, o, init, rows, 1, true, c0, 1, lim);
}
function fw_row8g(p0: usize, rs: usize, wt: usize, o: usize, init: f64, rows: i32, c0: i32, lim: i32): void {
  row8(p0, rs, 8, wt, o, init, rows, 2, true, c0, 1, lim);
}
function fw_pair2(p0: usize, rs: usize, wt: usize, lead: usize, trail: usize, init: f64, c0: i32, lim: i32): void {
  pair2(p0, rs, 8, wt, lead, trail, init, true, c0, 1, lim);
}
function fw_row2(p0: usize, rs: usize, wt: usize, o: usize, init: f64, rows: i32, c0: i32, lim: i32): void {
  row2(p0, rs, 8, wt, o, init, rows, true, c0, 1, lim);
}
// @ts-ignore: decorator
@inline
function dx_pair8e(p0: usize, rs: usize, wt: usize, lead: usize, trail: usize, c0: i32, lim: i32): void {
  pair8(p0, rs, bo(-1), wt, lead, trail, 0.0, 1, false, c0, -1, lim);
}
// @ts-ignore: decorator
@inline
function dx_pair8s(p0: usize, rs: usize, wt: usize, lead: usize, trail: usize, c0: i32, lim: i32): void {
  pair8(p0, rs, bo(-1), wt, lead, trail, 0.0, 3, false, c0, -1, lim);
}
function dx_pair8g(p0: usize, rs: usize, wt: usize, lead: usize, trail: usize, c0: i32, lim: i32): void {
  pair8(p0, rs, bo(-1), wt, lead, trail, 0.0, 2, false, c0, -1, lim);
}
// @ts-ignore: decorator
@inline
function dx_row8e(p0: usize, rs: usize, wt: usize, o: usize, rows: i32, c0: i32, lim: i32): void {
  row8(p0, rs, bo(-1), wt, o, 0.0, rows, 1, false, c0, -1, lim);
}
function dx_row8g(p0: usize, rs: usize, wt: usize, o: usize, rows: i32, c0: i32, lim: i32): void {
  row8(p0, rs, bo(-1), wt, o, 0.0, rows, 2, false, c0, -1, lim);
}
function dx_pair2(p0: usize, rs: usize, wt: usize, lead: usize, trail: usize, c0: i32, lim: i32): void {
  pair2(p0, rs, bo(-1), wt, lead, trail, 0.0, false, c0, -1, lim);
}
function dx_row2(p0: usize, rs: usize, wt: usize, o: usize, rows: i32, c0: i32, lim: i32): void {
  row2(p0, rs, bo(-1), wt, o, 0.0, rows, false, c0, -1, lim);
}

// Bit i set when row y0 + i·dir (i = 0, 1, 2) lies in [0, H).
// @ts-ignore: decorator
@inline
function row_bits(y0: i32, dir: i32, H: i32): i32 {
  let m = 0;
  for (let i = 0; i < 3; i++) {
    const y = y0 + i * dir;
    if (y >= 0 && y < H) m |= 1 << i;
  }
  return m;
}

// The forward output (h2, w2) of a 3x3 stride-1 plane, as one() sums it (the bias, then the
// nine taps in order, a tap over the padding adding w·0), unrolled: the planes one output wide.
// @ts-ignore: decorator
@inline
function one3(xp: usize, wf: usize, bias: f64, g: ConvGeom, h2: i32, w2: i32): f64 {
  const H = g.H, W = g.W;
  const y0 = h2 - g.PH, x0 = w2 - g.PW;
  const c0 = x0 >= 0 && x0 < W, c1 = x0 + 1 >= 0 && x0 + 1 < W, c2 = x0 + 2 >= 0 && x0 + 2 < W;
  let s = bias;
  for (let i = 0; i < 3; i++) {
    const y = y0 + i;
    const r = y >= 0 && y < H;
    const q = xp + bo(y * W + x0);
    const u = wf + bo(3 * i);
    s = fma1(load<f64>(u), r && c0 ? load<f64>(q) : 0.0, s);
    s = fma1(load<f64>(u, 8), r && c1 ? load<f64>(q, 8) : 0.0, s);
    s = fma1(load<f64>(u, 16), r && c2 ? load<f64>(q, 16) : 0.0, s);
  }
  return s;
}

// One forward plane, 3x3 stride 1: output rows in pairs where all four input rows they read
// are inside x, one at a time elsewhere; each row in blocks of eight outputs (two when
// W2 < 8, one3() when W2 = 1). Output column w2's taps read x columns w2 − PW + j: a block
// from e reads [e − PW, e + B + 2 − PW), an edge block when that reaches past [0, W).
function forward3_plane(xp: usize, wf: usize, bias: f64, o: usize, g: ConvGeom, first: bool, last: bool): void {
  const H = g.H, W = g.W, PH = g.PH, PW = g.PW, H2 = g.H2, W2 = g.W2;
  const rr = min(H2, H - 2 + PH);
  const rs = bo(W), row = bo(W2);
  if (W2 < 2) {
    for (let h2 = 0; h2 < H2; h2++) store<f64>(o + <usize>h2 * row, one3(xp, wf, bias, g, h2, 0));
    return;
  }
  const el = PW, er = W - 10 + PW;  // a block of eight from e is an edge one unless el <= e <= er
  const low0 = PW <= 2;             // then only a block's first vector reaches past the left end, its last past the right
  let h2 = 0;
  while (h2 < H2) {
    const o0 = o + <usize>h2 * row;
    const p = xp + bo((h2 - PH) * W - PW);
    // Modes 1 and 3 read up to two values before a row or after it: not before the buffer's first
    // row or after its last.
    const low = low0 && !(first && h2 <= PH) && !(last && h2 - PH + 4 >= H);
    if (h2 >= PH && h2 + 1 < rr) {
      const o1 = o0 + row;
      if (W2 >= 8) {
        for (let c = 0; ; c += 8) {
          const e = min(c, W2 - 8);
          if (e >= el && e <= er) pair8(p + bo(e), rs, 8, wf, o0 + bo(e), o1 + bo(e), bias, 0, true, 0, 0, 0);
          else if (low && e == el - 1 && e + 1 <= er) fw_edge8(p + bo(e), rs, wf, o0 + bo(e), o1 + bo(e), bias, false);
          else if (low && e == er + 1 && e - 1 >= el) fw_edge8(p + bo(e), rs, wf, o0 + bo(e), o1 + bo(e), bias, true);
          else if (low && e >= el - 1 && e <= er + 1) fw_pair8s(p + bo(e), rs, wf, o0 + bo(e), o1 + bo(e), bias, e - PW, W);
          else if (low) fw_pair8e(p + bo(e), rs, wf, o0 + bo(e), o1 + bo(e), bias, e - PW, W);
          else fw_pair8g(p + bo(e), rs, wf, o0 + bo(e), o1 + bo(e), bias, e - PW, W);
          if (e == W2 - 8) break;
        }
      } else {
        for (let c = 0; ; c += 2) {
          const e = min(c, W2 - 2);
          fw_pair2(p + bo(e), rs, wf, o0 + bo(e), o1 + bo(e), bias, e - PW, W);
          if (e == W2 - 2) break;
        }
      }
      h2 += 2;
    } else {
      const rows = row_bits(h2 - PH, 1, H);
      if (W2 >= 8) {
        for (let c = 0; ; c += 8) {
          const e = min(c, W2 - 8);
          if (e >= el && e <= er) row8(p + bo(e), rs, 8, wf, o0 + bo(e), bias, rows, 0, true, 0, 0, 0);
          else if (low) fw_row8e(p + bo(e), rs, wf, o0 + bo(e), bias, rows, e - PW, W);
          else fw_row8g(p + bo(e), rs, wf, o0 + bo(e), bias, rows, e - PW, W);
          if (e == W2 - 8) break;
        }
      } else {
        for (let c = 0; ; c += 2) {
          const e = min(c, W2 - 2);
          fw_row2(p + bo(e), rs, wf, o0 + bo(e), bias, rows, e - PW, W);
          if (e == W2 - 2) break;
        }
      }
      h2 += 1;
    }
  }
}

// dx[y, x] of one plane (at o) from the filter wt (its dout plane dp): 0, then the taps
// (i, j) in order that read dout inside it; unrolled: the planes one column wide.
// @ts-ignore: decorator
@inline
function dx_one(dp: usize, wt: usize, g: ConvGeom, y: i32, x: i32, o: usize): void {
  const H2 = g.H2, W2 = g.W2;
  const r0 = y + g.PH, c0 = x + g.PW;
  const k0 = c0 >= 0 && c0 < W2, k1 = c0 - 1 >= 0 && c0 - 1 < W2, k2 = c0 - 2 >= 0 && c0 - 2 < W2;
  let s = 0.0;
  for (let i = 0; i < 3; i++) {
    const h2 = r0 - i;
    if (h2 < 0 || h2 >= H2) continue;
    const q = dp + bo(h2 * W2 + c0 - 2);
    const u = wt + bo(3 * i);
    if (k0) s = fma1(load<f64>(u), load<f64>(q, 16), s);
    if (k1) s = fma1(load<f64>(u, 8), load<f64>(q, 8), s);
    if (k2) s = fma1(load<f64>(u, 16), load<f64>(q), s);
  }
  store<f64>(o + bo(x), s);
}

// One dx plane from its filter (dout plane dp, weights wt), k = 1, 3x3 stride 1:
// dx[y, x] = Σ_i,j w[i, j] · dout[y+PH−i, x+PW−j] over the taps that read dout inside it,
// in the order (i, j), from 0 (as depthwise_dx_plane sums it); rows in pairs where every tap
// row reads dout, each row in blocks of eight (two when W < 8, dx_one() when W = 1). A block
// from e reads dout columns [e + PW − 2, e + PW + B), an edge block when that reaches past
// [0, W2).
function dx3_plane(dp: usize, wt: usize, dxp: usize, g: ConvGeom, first: bool, last: bool): void {
  const H = g.H, W = g.W, PH = g.PH, PW = g.PW, H2 = g.H2, W2 = g.W2;
  const yl = max(0, 2 - PH);
  const yr = min(H, H2 - PH);
  const rs = bo(-W2), row = bo(W);
  if (W < 2) {
    for (let y = 0; y < H; y++) dx_one(dp, wt, g, y, 0, dxp + <usize>y * row);
    return;
  }
  const el = 2 - PW, er = W2 - 8 - PW;  // a block of eight from e is an edge one unless el <= e <= er
  const low0 = PW <= 2;                 // dout's padding 2 − PW is in [0, 2]: as in the forward
  let y = 0;
  while (y < H) {
    const o0 = dxp + <usize>y * row;
    const low = low0 && !(first && y + PH <= 2) && !(last && y + PH + 2 >= H2);
    if (y >= yl && y + 1 < yr) {
      const o1 = o0 + row;
      // The lead is row y + 1 (its tap row i reads dout row y+1+PH−i), the trail row y.
      const p = dp + bo((y + 1 + PH) * W2 + PW);
      if (W >= 8) {
        for (let c = 0; ; c += 8) {
          const e = min(c, W - 8);
          if (e >= el && e <= er) pair8(p + bo(e), rs, bo(-1), wt, o1 + bo(e), o0 + bo(e), 0.0, 0, false, 0, 0, 0);
          else if (low && e >= el - 1 && e <= er + 1) dx_pair8s(p + bo(e), rs, wt, o1 + bo(e), o0 + bo(e), e + PW, W2);
          else if (low) dx_pair8e(p + bo(e), rs, wt, o1 + bo(e), o0 + bo(e), e + PW, W2);
          else dx_pair8g(p + bo(e), rs, wt, o1 + bo(e), o0 + bo(e), e + PW, W2);
          if (e == W - 8) break;
        }
      } else {
        for (let c = 0; ; c += 2) {
          const e = min(c, W - 2);
          dx_pair2(p + bo(e), rs, wt, o1 + bo(e), o0 + bo(e), e + PW, W2);
          if (e == W - 2) break;
        }
      }
      y += 2;
    } else {
      const rows = row_bits(y + PH, -1, H2);
      const p = dp + bo((y + PH) * W2 + PW);
      if (W >= 8) {
        for (let c = 0; ; c += 8) {
          const e = min(c, W - 8);
          if (e >= el && e <= er) row8(p + bo(e), rs, bo(-1), wt, o0 + bo(e), 0.0, rows, 0, false, 0, 0, 0);
          else if (low) dx_row8e(p + bo(e), rs, wt, o0 + bo(e), rows, e + PW, W2);
          else dx_row8g(p + bo(e), rs, wt, o0 + bo(e), rows, e + PW, W2);
          if (e == W - 8) break;
        }
      } else {
        for (let c = 0; ; c += 2) {
          const e = min(c, W - 2);
          dx_row2(p + bo(e), rs, wt, o0 + bo(e), rows, e + PW, W2);
          if (e == W - 2) break;
        }
      }
      y += 1;
    }
  }
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
  const f3 = fast3(g);
  for (let p = lo(N * F); p < p1; p++) {
    const n = p / F, f = p - n * F;
    const xp = x + (<usize>((n * C + f / k) * HW) << 3);
    const wf = w + (<usize>(f * T) << 3);
    const bias = load<f64>(b + (<usize>f << 3));
    let o = out + (<usize>p * Q << 3);
    if (f3) {
      const xi = n * C + f / k;
      forward3_plane(xp, wf, bias, o, g, xi == 0, xi == N * C - 1);
      continue;
    }
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

// x[y, xx] of a plane, 0 outside it.
// @ts-ignore: decorator
@inline
function x_at(xp: usize, y: i32, xx: i32, H: i32, W: i32): f64 {
  return y >= 0 && y < H && xx >= 0 && xx < W ? load<f64>(xp + bo(y * W + xx)) : 0.0;
}

// Image n's part of dw of filter f, 3x3 stride 1, added to the earlier images' (stored for
// n = 0): tap row by tap row, three taps at a time (three accumulators, so no register
// spills), each tap summed over the rows and the column pairs of [cl, cv) (where every tap
// reads a column of x; a tap row over the padding adds dout·0) in two f64x2 sums (the even
// and the odd pairs of four columns), and in a scalar sum over the other columns; the image's
// part of dw[f, tap] = ((even + odd) lane 0 + lane 1) + scalar. The caller takes the images
// in order, each filter's planes one after the other in memory (depthwise_backward).
function dw3_plane(dout: usize, x: usize, dw: usize, g: ConvGeom, f: i32, n: i32): void {
  const C = g.C, F = g.F, H = g.H, W = g.W, PH = g.PH, PW = g.PW, H2 = g.H2, W2 = g.W2;
  const c = f / (F / C);
  const cl = min(PW, W2);
  const cr = max(cl, min(W2, W - 2 + PW));
  const cv = cl + ((cr - cl) & ~1);
  const zero = f64x2.splat(0.0);
  const xp = x + bo((n * C + c) * H * W);
  const dp = dout + bo((n * F + f) * H2 * W2);
  const t = dw + bo(f * 9);
  for (let i = 0; i < 3; i++) {
    let a0 = zero, a1 = zero, a2 = zero, b0 = zero, b1 = zero, b2 = zero;
    let s0 = 0.0, s1 = 0.0, s2 = 0.0;
    let d = dp;
    for (let h2 = 0; h2 < H2; h2++) {
      const y = h2 + i - PH;
      if (y >= 0 && y < H) {
        let q = xp + bo(y * W + cl - PW);
        let w2 = cl;
        for (; w2 + 4 <= cv; w2 += 4) {
          const dv = v128.load(d + bo(w2)), dv2 = v128.load(d + bo(w2), 16);
          a0 = madd(dv, v128.load(q), a0);
          a1 = madd(dv, v128.load(q, 8), a1);
          a2 = madd(dv, v128.load(q, 16), a2);
          b0 = madd(dv2, v128.load(q, 16), b0);
          b1 = madd(dv2, v128.load(q, 24), b1);
          b2 = madd(dv2, v128.load(q, 32), b2);
          q += 32;
        }
        if (w2 < cv) {
          const dv = v128.load(d + bo(w2));
          a0 = madd(dv, v128.load(q), a0);
          a1 = madd(dv, v128.load(q, 8), a1);
          a2 = madd(dv, v128.load(q, 16), a2);
        }
      } else {
        let w2 = cl;
        for (; w2 + 4 <= cv; w2 += 4) {
          const dv = v128.load(d + bo(w2)), dv2 = v128.load(d + bo(w2), 16);
          a0 = madd(dv, zero, a0); a1 = madd(dv, zero, a1); a2 = madd(dv, zero, a2);
          b0 = madd(dv2, zero, b0); b1 = madd(dv2, zero, b1); b2 = madd(dv2, zero, b2);
        }
        if (w2 < cv) {
          const dv = v128.load(d + bo(w2));
          a0 = madd(dv, zero, a0); a1 = madd(dv, zero, a1); a2 = madd(dv, zero, a2);
        }
      }
      for (let w2 = 0; w2 < W2; w2++) {
        if (w2 == cl) w2 = cv;
        if (w2 >= W2) break;
        const dv = load<f64>(d + bo(w2));
        const x0 = w2 - PW;
        s0 = fma1(dv, x_at(xp, y, x0, H, W), s0);
        s1 = fma1(dv, x_at(xp, y, x0 + 1, H, W), s1);
        s2 = fma1(dv, x_at(xp, y, x0 + 2, H, W), s2);
      }
      d += bo(W2);
    }
    a0 = f64x2.add(a0, b0); a1 = f64x2.add(a1, b1); a2 = f64x2.add(a2, b2);
    const o = bo(3 * i);
    part9(t, o, a0, s0, n); part9(t, o + 8, a1, s1, n); part9(t, o + 16, a2, s2, n);
  }
}

// db[f] += the sum of dout plane (n, f) (stored for n = 0): two f64x2 sums over alternate
// pairs of values, added, then its lanes, then the last value of an odd-length plane.
function db_plane(dout: usize, db: usize, g: ConvGeom, f: i32, n: i32): void {
  const Q = g.H2 * g.W2;
  const d = dout + bo((n * g.F + f) * Q);
  let a = f64x2.splat(0.0), b = a;
  let k = 0;
  for (; k + 4 <= Q; k += 4) {
    a = f64x2.add(a, v128.load(d + bo(k)));
    b = f64x2.add(b, v128.load(d + bo(k), 16));
  }
  if (k + 2 <= Q) {
    a = f64x2.add(a, v128.load(d + bo(k)));
    k += 2;
  }
  a = f64x2.add(a, b);
  let v = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  if (k < Q) v += load<f64>(d + bo(k));
  const t = db + bo(f);
  store<f64>(t, n == 0 ? v : load<f64>(t) + v);
}

// dw[tap] at t + o: image n's sum (lane 0 + lane 1) + scalar, added to the earlier images'.
// @ts-ignore: decorator
@inline
function part9(t: usize, o: usize, a: v128, s: f64, n: i32): void {
  const v = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1) + s;
  store<f64>(t + o, n == 0 ? v : load<f64>(t + o) + v);
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
// dx by the N·C input planes (each plane whole in one part). For 3x3 stride 1 the part
// takes the images in order and, in each, its filters' planes one after the other in memory
// (dw3_plane, then db_plane while the plane is in cache); db is then summed image by image
// whether or not dw is asked for, so a dx-only backward gives the same db bits.
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
  const f3 = fast3(g);
  if (f3) {
    for (let n = 0; n < N; n++) {
      for (let f = f0; f < f1; f++) {
        if (dw) dw3_plane(dout, x, dw, g, f, n);
        db_plane(dout, db, g, f, n);
      }
    }
  } else {
    feature_sum(dout, db, N, F, g.H2 * g.W2, f0, f1);
    if (dw) for (let f = f0; f < f1; f++) depthwise_dw_filter(dout, x, dw, g, f);
  }
  if (dx) {
    const p1 = hi(N * C);
    const k = F / C, H = g.H, W = g.W, Q = g.H2 * g.W2;
    for (let p = lo(N * C); p < p1; p++) {
      if (f3 && k == 1) {
        dx3_plane(dout + (<usize>p * Q << 3), w + bo((p % C) * 9), dx + (<usize>p * (H * W) << 3), g, p == 0, p == g.N * C - 1);
      } else {
        depthwise_dx_plane(dout, w, dx, g, p);
      }
    }
  }
}
