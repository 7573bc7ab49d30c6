// The update rules of CS231n's optim.py, in place: each overwrites w and the rule's state
// (velocity, cache, or m and v) and only reads dw. All buffers hold n float64 entries.
// One pass over the data, two entries per f64x2, then a scalar remainder; the scalar
// lines spell out the formula each SIMD line computes. A multiply that feeds an add is one
// madd (fma1 in the scalar lines), fused in the relaxed build; a − b·c is written
// a + (−b)·c, which is the same bits unfused (negation is exact).

import { in_memory } from './geometry';
import { lo, hi } from './parts';
import { madd, fma1 } from './fma';

// Parts: contiguous ranges of the n values.

// w, dw (n) -> w (n):  w = w − lr·dw
export function sgd_step(w: usize, dw: usize, n: i32, lr: f64): void {
  assert(n > 0, 'sgd_step: n must be positive');
  assert(in_memory(w, <u64>n) && in_memory(dw, <u64>n), 'sgd_step: a buffer ends past linear memory');
  const vnlr = f64x2.splat(-lr);
  const i1 = hi(n, 2);
  let i = lo(n, 2);
  for (; i + 2 <= i1; i += 2) {
    const o = <usize>i << 3;
    v128.store(w + o, madd(vnlr, v128.load(dw + o), v128.load(w + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 3;
    store<f64>(w + o, fma1(-lr, load<f64>(dw + o), load<f64>(w + o)));
  }
}

// w, dw, v (n) -> w, v (n):  v = mu·v − lr·dw;  w = w + v
export function momentum_step(w: usize, dw: usize, v: usize, n: i32, lr: f64, mu: f64): void {
  assert(n > 0, 'momentum_step: n must be positive');
  assert(in_memory(w, <u64>n) && in_memory(dw, <u64>n) && in_memory(v, <u64>n), 'momentum_step: a buffer ends past linear memory');
  const vnlr = f64x2.splat(-lr), vmu = f64x2.splat(mu);
  const i1 = hi(n, 2);
  let i = lo(n, 2);
  for (; i + 2 <= i1; i += 2) {
    const o = <usize>i << 3;
    const nv = madd(vnlr, v128.load(dw + o), f64x2.mul(vmu, v128.load(v + o)));
    v128.store(v + o, nv);
    v128.store(w + o, f64x2.add(v128.load(w + o), nv));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 3;
    const nv = fma1(-lr, load<f64>(dw + o), mu * load<f64>(v + o));
    store<f64>(v + o, nv);
    store<f64>(w + o, load<f64>(w + o) + nv);
  }
}

// w, dw, cache (n) -> w, cache (n):
//   cache = decay·cache + (1 − decay)·dw²;  w = w − lr·dw / (√cache + eps)
export function rmsprop_step(w: usize, dw: usize, cache: usize, n: i32, lr: f64, decay: f64, eps: f64): void {
  assert(n > 0, 'rmsprop_step: n must be positive');
  assert(in_memory(w, <u64>n) && in_memory(dw, <u64>n) && in_memory(cache, <u64>n), 'rmsprop_step: a buffer ends past linear memory');
  const keep = 1.0 - decay;
  const vlr = f64x2.splat(lr), vd = f64x2.splat(decay), vk = f64x2.splat(keep), ve = f64x2.splat(eps);
  const i1 = hi(n, 2);
  let i = lo(n, 2);
  for (; i + 2 <= i1; i += 2) {
    const o = <usize>i << 3;
    const g = v128.load(dw + o);
    const c = madd(vd, v128.load(cache + o), f64x2.mul(vk, f64x2.mul(g, g)));
    v128.store(cache + o, c);
    v128.store(w + o, f64x2.sub(v128.load(w + o), f64x2.div(f64x2.mul(vlr, g), f64x2.add(f64x2.sqrt(c), ve))));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 3;
    const g = load<f64>(dw + o);
    const c = fma1(decay, load<f64>(cache + o), keep * (g * g));
    store<f64>(cache + o, c);
    store<f64>(w + o, load<f64>(w + o) - lr * g / (Math.sqrt(c) + eps));
  }
}

// w, dw, m, v (n) -> w, m, v (n), for step t (1 on the first step):
//   m = b1·m + (1 − b1)·dw;  v = b2·v + (1 − b2)·dw²
//   m̂ = m / (1 − b1ᵗ);  v̂ = v / (1 − b2ᵗ);  w = w − lr·m̂ / (√v̂ + eps)
// The bias corrections 1 − bᵗ are computed as the reference computes them, then folded
// into two scalars, lr / (1 − b1ᵗ) and 1 / (1 − b2ᵗ), so that each entry costs one
// division and one square root instead of three divisions (a difference of a few ulps).
export function adam_step(w: usize, dw: usize, m: usize, v: usize, n: i32,
  lr: f64, b1: f64, b2: f64, eps: f64, t: f64): void {
  assert(n > 0, 'adam_step: n must be positive');
  assert(t >= 1, 'adam_step: t must be at least 1');
  assert(in_memory(w, <u64>n) && in_memory(dw, <u64>n) && in_memory(m, <u64>n) && in_memory(v, <u64>n), 'adam_step: a buffer ends past linear memory');
  adam_part(w, dw, m, v, n, lr, b1, b2, eps, t, 1.0);
}

// w, dw, m, v (n) -> w, m, v (n), for step t (1 on the first step): torch.optim.AdamW's step,
// the decoupled weight decay first, then Adam's step on the decayed weights:
//   w = w·(1 − lr·wd)   (w − lr·wd·w, computed as torch computes it)
//   m = b1·m + (1 − b1)·dw;  v = b2·v + (1 − b2)·dw²
//   w = w − lr·m̂ / (√v̂ + eps)  with m̂ = m / (1 − b1ᵗ), v̂ = v / (1 − b2ᵗ)
// The bias corrections are folded into scalars as adam_step folds them.
export function adamw_step(w: usize, dw: usize, m: usize, v: usize, n: i32,
  lr: f64, b1: f64, b2: f64, eps: f64, t: f64, wd: f64): void {
  assert(n > 0, 'adamw_step: n must be positive');
  assert(t >= 1, 'adamw_step: t must be at least 1');
  assert(in_memory(w, <u64>n) && in_memory(dw, <u64>n) && in_memory(m, <u64>n) && in_memory(v, <u64>n), 'adamw_step: a buffer ends past linear memory');
  adam_part(w, dw, m, v, n, lr, b1, b2, eps, t, 1.0 - lr * wd);
}

// This part's range of Adam's step, the weights first scaled by `keep` (AdamW's decay; 1 for
// Adam, where w·1 = w exactly): shared by adam_step and adamw_step.
// @ts-ignore: decorator
@inline
function adam_part(w: usize, dw: usize, m: usize, v: usize, n: i32,
  lr: f64, b1: f64, b2: f64, eps: f64, t: f64, keep: f64): void {
  const k1 = 1.0 - b1, k2 = 1.0 - b2;
  const c1 = 1.0 - Math.pow(b1, t), c2 = 1.0 - Math.pow(b2, t);
  const a = lr / c1, s2 = 1.0 / c2;
  const vkeep = f64x2.splat(keep);
  const vb1 = f64x2.splat(b1), vb2 = f64x2.splat(b2), vk1 = f64x2.splat(k1), vk2 = f64x2.splat(k2);
  const vna = f64x2.splat(-a), vs2 = f64x2.splat(s2), ve = f64x2.splat(eps);
  const i1 = hi(n, 2);
  let i = lo(n, 2);
  for (; i + 2 <= i1; i += 2) {
    const o = <usize>i << 3;
    const g = v128.load(dw + o);
    const nm = madd(vb1, v128.load(m + o), f64x2.mul(vk1, g));
    const nv = madd(vb2, v128.load(v + o), f64x2.mul(vk2, f64x2.mul(g, g)));
    v128.store(m + o, nm);
    v128.store(v + o, nv);
    const nd = f64x2.div(f64x2.mul(vna, nm), f64x2.add(f64x2.sqrt(f64x2.mul(nv, vs2)), ve));
    v128.store(w + o, madd(v128.load(w + o), vkeep, nd));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 3;
    const g = load<f64>(dw + o);
    const nm = fma1(b1, load<f64>(m + o), k1 * g);
    const nv = fma1(b2, load<f64>(v + o), k2 * (g * g));
    store<f64>(m + o, nm);
    store<f64>(v + o, nv);
    store<f64>(w + o, fma1(load<f64>(w + o), keep, -a * nm / (Math.sqrt(nv * s2) + eps)));
  }
}
