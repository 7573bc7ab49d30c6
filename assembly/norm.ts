// Layer and group normalization over data viewed as (R, Cg, L): each of the R rows holds
// Cg channels of L values, all M = Cg·L of them normalized together, and channel j of row r
// is scaled and shifted by gamma[c], beta[c] with c = (r % G)·Cg + j.
//   layernorm  x (N,D)     = (N, D, 1),      G = 1
//   groupnorm  x (N,C,H,W) = (N·G, C/G, H·W), G groups
// A row is contiguous in both. With L = 1 the loops run along the channels (two per f64x2,
// gamma loaded as a vector); otherwise along l with gamma splatted per channel.

import { in_memory } from './geometry';
import { lo, hi } from './parts';
import { madd, fma1 } from './fma';

// Parts: ranges of rows (norm_forward, norm_backward) and of channels (norm_param_grads).

// Σ_{k<M} p[k]
function row_sum(p: usize, M: i32): f64 {
  let a0 = f64x2.splat(0.0), a1 = f64x2.splat(0.0);
  let k = 0;
  for (; k + 4 <= M; k += 4) {
    const o = <usize>k << 3;
    a0 = f64x2.add(a0, v128.load(p + o));
    a1 = f64x2.add(a1, v128.load(p + o + 16));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; k < M; k++) s += load<f64>(p + (<usize>k << 3));
  return s;
}

// [Σ d, Σ d²] over d = p[k] − m, k < M
function row_deviations(p: usize, M: i32, m: f64): v128 {
  const mv = f64x2.splat(m);
  let s1 = f64x2.splat(0.0), s2 = f64x2.splat(0.0);
  let k = 0;
  for (; k + 2 <= M; k += 2) {
    const d = f64x2.sub(v128.load(p + (<usize>k << 3)), mv);
    s1 = f64x2.add(s1, d);
    s2 = madd(d, d, s2);
  }
  let r1 = f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  let r2 = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
  for (; k < M; k++) {
    const d = load<f64>(p + (<usize>k << 3)) - m;
    r1 += d;
    r2 = fma1(d, d, r2);
  }
  return f64x2.replace_lane(f64x2.splat(r1), 1, r2);
}

// x (R,Cg,L), gamma, beta (G·Cg) -> out, xhat (R,Cg,L), invstd (R).
// Per row: μ = Σx/M, σ² = Σ(x−μ)²/M (biased), xhat = (x−μ)/√(σ²+eps), out = γ·xhat + β.
// The statistics take two passes: the mean, then the deviations from it. The second pass
// also sums the deviations, e = Σ(x−μ₀), which would be 0 in exact arithmetic; it corrects
// the rounding of the first mean (μ = μ₀ + e/M, σ² = (Σ(x−μ₀)² − e²/M)/M, the corrected
// two-pass formula), so a row with mean 1e3 and spread 1e-2 keeps its digits.
export function norm_forward(x: usize, gamma: usize, beta: usize, out: usize, xhat: usize, invstd: usize,
  R: i32, G: i32, Cg: i32, L: i32, eps: f64): void {
  assert(R > 0 && G > 0 && Cg > 0 && L > 0 && R % G == 0 && eps > 0, 'norm_forward: dims > 0, G divides R, eps > 0');
  const M = Cg * L;
  const n = <u64>R * <u64>M;
  const c = <u64>G * <u64>Cg;
  assert(in_memory(x, n) && in_memory(out, n) && in_memory(xhat, n) && in_memory(gamma, c) && in_memory(beta, c)
    && in_memory(invstd, <u64>R), 'norm_forward: buffers in memory');
  const Mf = <f64>M;
  const rowBytes = <usize>M << 3;
  const r1 = hi(R);
  for (let r = lo(R); r < r1; r++) {
    const o = <usize>r * rowBytes;
    const m0 = row_sum(x + o, M) / Mf;
    const dev = row_deviations(x + o, M, m0);
    const e = f64x2.extract_lane(dev, 0);
    const variance = (f64x2.extract_lane(dev, 1) - e * e / Mf) / Mf;
    const mean = m0 + e / Mf;
    const k = 1.0 / Math.sqrt(variance + eps);
    store<f64>(invstd + (<usize>r << 3), k);
    const g0 = <usize>((r % G) * Cg) << 3;
    const px = x + o, ph = xhat + o, po = out + o;
    const mv = f64x2.splat(mean), kv = f64x2.splat(k);
    if (L == 1) {
      let j = 0;
      for (; j + 2 <= Cg; j += 2) {
        const q = <usize>j << 3;
        const h = f64x2.mul(f64x2.sub(v128.load(px + q), mv), kv);
        v128.store(ph + q, h);
        v128.store(po + q, madd(v128.load(gamma + g0 + q), h, v128.load(beta + g0 + q)));
      }
      for (; j < Cg; j++) {
        const q = <usize>j << 3;
        const h = (load<f64>(px + q) - mean) * k;
        store<f64>(ph + q, h);
        store<f64>(po + q, fma1(load<f64>(gamma + g0 + q), h, load<f64>(beta + g0 + q)));
      }
    } else {
      let q: usize = 0;
      for (let j = 0; j < Cg; j++) {
        const gs = load<f64>(gamma + g0 + (<usize>j << 3)), bs = load<f64>(beta + g0 + (<usize>j << 3));
        const gv = f64x2.splat(gs), bv = f64x2.splat(bs);
        let l = 0;
        for (; l + 2 <= L; l += 2) {
          const h = f64x2.mul(f64x2.sub(v128.load(px + q), mv), kv);
          v128.store(ph + q, h);
          v128.store(po + q, madd(gv, h, bv));
          q += 16;
        }
        for (; l < L; l++) {
          const h = (load<f64>(px + q) - mean) * k;
          store<f64>(ph + q, h);
          store<f64>(po + q, fma1(gs, h, bs));
          q += 8;
        }
      }
    }
  }
}

// dout, xhat (R,Cg,L), gamma (G·Cg), invstd (R) -> dx (R,Cg,L), dgamma, dbeta (G·Cg).
//   dbeta[c] = Σ dout, dgamma[c] = Σ dout·xhat, over the rows and values of channel c;
//   per row, with g = γ of each value's channel, S1 = Σ g·dout, S2 = Σ g·dout·xhat:
//   dx = invstd/M · (M·g·dout − S1 − xhat·S2) = invstd · ((g·dout − S1/M) − xhat·S2/M)
// One pass per row gathers the sums; a second writes dx. The second form subtracts S1/M
// from g·dout before scaling, so a row of one value (M = 1, where out = β whatever x is)
// gets dx = 0 exactly. With L > 1, each row's per-channel sums Σ_l dout and Σ_l dout·xhat
// go to partial (R, Cg, 2) for norm_param_grads, which then gives dgamma and dbeta.
export function norm_backward(dout: usize, xhat: usize, gamma: usize, invstd: usize,
  dx: usize, partial: usize, R: i32, G: i32, Cg: i32, L: i32): void {
  assert(R > 0 && G > 0 && Cg > 0 && L > 0 && R % G == 0, 'norm_backward: dims > 0, G divides R');
  const M = Cg * L;
  assert(in_memory(dout, <u64>R * <u64>M) && in_memory(xhat, <u64>R * <u64>M) && in_memory(dx, <u64>R * <u64>M)
    && in_memory(gamma, <u64>G * <u64>Cg) && in_memory(invstd, <u64>R) && (L == 1 || in_memory(partial, <u64>R * <u64>Cg * 2)),
  'norm_backward: buffers in memory');
  const Mf = <f64>M;
  const rowBytes = <usize>M << 3;
  const r1 = hi(R);
  for (let r = lo(R); r < r1; r++) {
    const o = <usize>r * rowBytes;
    const pd = dout + o, ph = xhat + o, px = dx + o;
    const g0 = <usize>((r % G) * Cg) << 3;
    let S1 = 0.0, S2 = 0.0;
    if (L == 1) {
      let s1 = f64x2.splat(0.0), s2 = f64x2.splat(0.0);
      let j = 0;
      for (; j + 2 <= Cg; j += 2) {
        const q = <usize>j << 3;
        const d = v128.load(pd + q);
        const dh = f64x2.mul(d, v128.load(ph + q));
        const g = v128.load(gamma + g0 + q);
        s1 = madd(g, d, s1);
        s2 = madd(g, dh, s2);
      }
      S1 = f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
      S2 = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
      for (; j < Cg; j++) {
        const q = <usize>j << 3;
        const d = load<f64>(pd + q);
        const dh = d * load<f64>(ph + q);
        const g = load<f64>(gamma + g0 + q);
        S1 = fma1(g, d, S1);
        S2 = fma1(g, dh, S2);
      }
    } else {
      let q: usize = 0;
      for (let j = 0; j < Cg; j++) {
        let sd = f64x2.splat(0.0), sh = f64x2.splat(0.0);
        let l = 0;
        for (; l + 2 <= L; l += 2) {
          const d = v128.load(pd + q);
          sd = f64x2.add(sd, d);
          sh = madd(d, v128.load(ph + q), sh);
          q += 16;
        }
        let rd = f64x2.extract_lane(sd, 0) + f64x2.extract_lane(sd, 1);
        let rh = f64x2.extract_lane(sh, 0) + f64x2.extract_lane(sh, 1);
        for (; l < L; l++) {
          const d = load<f64>(pd + q);
          rd += d;
          rh = fma1(d, load<f64>(ph + q), rh);
          q += 8;
        }
        const pr = partial + ((<usize>r * Cg + j) << 4);
        store<f64>(pr, rd);
        store<f64>(pr, rh, 8);
        const g = load<f64>(gamma + g0 + (<usize>j << 3));
        S1 = fma1(g, rd, S1);
        S2 = fma1(g, rh, S2);
      }
    }
    // dx = k·((g·dout − c1) − xhat·c2), c1 = S1/M, c2 = S2/M. The outer subtraction is a
    // multiply-add, t + xhat·(−c2) (the same bits unfused); g·dout − c1 stays a product
    // then a subtraction, so that with M = 1 (c1 = g·dout rounded) it is 0 exactly.
    const k = load<f64>(invstd + (<usize>r << 3));
    const c1 = S1 / Mf, c2 = S2 / Mf;
    const kv = f64x2.splat(k), v1 = f64x2.splat(c1), n2 = f64x2.splat(-c2);
    if (L == 1) {
      let j = 0;
      for (; j + 2 <= Cg; j += 2) {
        const q = <usize>j << 3;
        const t = f64x2.sub(f64x2.mul(v128.load(gamma + g0 + q), v128.load(pd + q)), v1);
        v128.store(px + q, f64x2.mul(kv, madd(v128.load(ph + q), n2, t)));
      }
      for (; j < Cg; j++) {
        const q = <usize>j << 3;
        store<f64>(px + q, k * fma1(load<f64>(ph + q), -c2, load<f64>(gamma + g0 + q) * load<f64>(pd + q) - c1));
      }
    } else {
      let q: usize = 0;
      for (let j = 0; j < Cg; j++) {
        const g = load<f64>(gamma + g0 + (<usize>j << 3));
        const gv = f64x2.splat(g);
        let l = 0;
        for (; l + 2 <= L; l += 2) {
          const t = f64x2.sub(f64x2.mul(gv, v128.load(pd + q)), v1);
          v128.store(px + q, f64x2.mul(kv, madd(v128.load(ph + q), n2, t)));
          q += 16;
        }
        for (; l < L; l++) {
          store<f64>(px + q, k * fma1(load<f64>(ph + q), -c2, g * load<f64>(pd + q) - c1));
          q += 8;
        }
      }
    }
  }
}

// dout, xhat (R,Cg,L), partial (R,Cg,2) of norm_backward -> dgamma, dbeta (G·Cg):
//   dbeta[c] = Σ dout, dgamma[c] = Σ dout·xhat over the rows r with r % G = c / Cg, in row
// order; with L = 1 straight from dout and xhat, otherwise from each row's partial sums.
export function norm_param_grads(dout: usize, xhat: usize, partial: usize, dgamma: usize, dbeta: usize,
  R: i32, G: i32, Cg: i32, L: i32): void {
  assert(R > 0 && G > 0 && Cg > 0 && L > 0 && R % G == 0, 'norm_param_grads: dims > 0, G divides R');
  const M = Cg * L;
  assert(in_memory(dgamma, <u64>G * <u64>Cg) && in_memory(dbeta, <u64>G * <u64>Cg)
    && (L == 1 ? in_memory(dout, <u64>R * <u64>M) && in_memory(xhat, <u64>R * <u64>M) : in_memory(partial, <u64>R * <u64>Cg * 2)),
  'norm_param_grads: buffers in memory');
  const C = G * Cg;
  const c1 = hi(C);
  for (let c = lo(C); c < c1; c++) {
    const g = c / Cg, j = c - g * Cg;
    let sb = 0.0, sg = 0.0;
    for (let r = g; r < R; r += G) {
      if (L == 1) {
        const q = (<usize>r * M + j) << 3;
        const d = load<f64>(dout + q);
        sb += d;
        sg = fma1(d, load<f64>(xhat + q), sg);
      } else {
        const pr = partial + ((<usize>r * Cg + j) << 4);
        sb += load<f64>(pr);
        sg += load<f64>(pr, 8);
      }
    }
    store<f64>(dbeta + (<usize>c << 3), sb);
    store<f64>(dgamma + (<usize>c << 3), sg);
  }
}
