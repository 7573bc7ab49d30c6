// Inverted dropout. Unit i keeps its value, divided by keepProb, when u_i < keepProb,
// where u_i = (z_i >> 11)·2⁻⁵³ is uniform in [0, 1) from the top 53 bits of
//   z_i = mix(seed + (i+1)·γ),  γ = 0x9E3779B97F4A7C15,
// the (i+1)-th output of SplitMix64 seeded with `seed` (Steele, Lea and Flood 2014,
// with Stafford's mix13 finalizer). The draw of a unit depends only on (seed, i), so
// two units go through one f64x2 step as two i64 lanes, and src/reference/dropout.ts
// draws the same u_i with BigInt.
// The mask keeps one bit per unit: bit i & 7 of byte i >> 3.

const GAMMA: u64 = 0x9E3779B97F4A7C15;
const MIX1: u64 = 0xBF58476D1CE4E5B9;
const MIX2: u64 = 0x94D049BB133111EB;
const TWO53: f64 = 9007199254740992.0;
const MAX_SAFE: f64 = 9007199254740991.0;

import { in_memory } from './geometry';
import { lo, hi } from './parts';

// Parts: ranges of units cut at multiples of 8, so that each mask byte is one part's.
// Unit i's draw depends only on the seed and i, so the mask is the same for any split.

@inline function mix(z: u64): u64 {
  z = (z ^ (z >> 30)) * MIX1;
  z = (z ^ (z >> 27)) * MIX2;
  return z ^ (z >> 31);
}

@inline function mix2(z: v128): v128 {
  z = i64x2.mul(v128.xor(z, i64x2.shr_u(z, 30)), i64x2.splat(MIX1));
  z = i64x2.mul(v128.xor(z, i64x2.shr_u(z, 27)), i64x2.splat(MIX2));
  return v128.xor(z, i64x2.shr_u(z, 31));
}

// u < keepProb  ⟺  z >> 11 < ⌈keepProb·2⁵³⌉: both sides are integers below 2⁵³ (exact in
// f64), so the kernel compares integers, with no conversion to float per unit.
@inline function threshold(keepProb: f64): i64 {
  return <i64>Math.ceil(keepProb * TWO53);
}

// x (n) -> out (n), mask ((n+7)/8 bytes): out_i = x_i / keepProb where unit i is kept, else 0.
export function dropout_forward(x: usize, out: usize, mask: usize, n: i32, keepProb: f64, seed: f64): void {
  assert(n > 0 && keepProb > 0 && keepProb <= 1, 'dropout_forward: n > 0 and keepProb in (0, 1]');
  assert(seed >= 0 && seed <= MAX_SAFE && Math.floor(seed) == seed, 'dropout_forward: seed is a safe integer >= 0');
  assert(in_memory(x, <u64>n) && in_memory(out, <u64>n) && in_memory(mask, (<u64>n + 7) >> 3, 1), 'dropout_forward: buffers in memory');
  const s = <u64>seed;
  const T = threshold(keepProb);
  const tv = i64x2.splat(T);
  const kv = f64x2.splat(keepProb);
  const step = i64x2.splat(GAMMA + GAMMA);
  const i0 = lo(n, 8), i1 = hi(n, 8);
  if (i1 <= i0) return;
  const c0 = s + <u64>(i0 + 1) * GAMMA;
  let ctr = i64x2.replace_lane(i64x2.splat(c0), 1, c0 + GAMMA);
  let bits = 0;
  let i = i0;
  for (; i + 2 <= i1; i += 2) {
    const keep = i64x2.lt_s(i64x2.shr_u(mix2(ctr), 11), tv);
    ctr = i64x2.add(ctr, step);
    const o = <usize>i << 3;
    v128.store(out + o, v128.and(f64x2.div(v128.load(x + o), kv), keep));
    bits |= i64x2.bitmask(keep) << (i & 7);
    if ((i & 7) == 6) {
      store<u8>(mask + (<usize>i >> 3), <u8>bits);
      bits = 0;
    }
  }
  if (i < i1) {
    const keep = <i64>(mix(s + <u64>(i + 1) * GAMMA) >> 11) < T;
    const o = <usize>i << 3;
    store<f64>(out + o, keep ? load<f64>(x + o) / keepProb : 0.0);
    bits |= <i32>keep << (i & 7);
  }
  if (i1 == n && (n & 7)) store<u8>(mask + (<usize>(n - 1) >> 3), <u8>bits);
}

// dout (n), mask ((n+7)/8 bytes) -> dx (n): dx_i = dout_i / keepProb where unit i was kept, else 0.
export function dropout_backward(dout: usize, mask: usize, dx: usize, n: i32, keepProb: f64): void {
  assert(n > 0 && keepProb > 0 && keepProb <= 1, 'dropout_backward: n > 0 and keepProb in (0, 1]');
  assert(in_memory(dout, <u64>n) && in_memory(dx, <u64>n) && in_memory(mask, (<u64>n + 7) >> 3, 1), 'dropout_backward: buffers in memory');
  const kv = f64x2.splat(keepProb);
  const lanes = i64x2.replace_lane(i64x2.splat(1), 1, 2);
  const i1 = hi(n, 8);
  let i = lo(n, 8);
  for (; i + 2 <= i1; i += 2) {
    const b = <i64>(<i32>load<u8>(mask + (<usize>i >> 3)) >> (i & 7));
    const keep = i64x2.eq(v128.and(i64x2.splat(b), lanes), lanes);
    const o = <usize>i << 3;
    v128.store(dx + o, v128.and(f64x2.div(v128.load(dout + o), kv), keep));
  }
  if (i < i1) {
    const keep = (<i32>load<u8>(mask + (<usize>i >> 3)) >> (i & 7)) & 1;
    const o = <usize>i << 3;
    store<f64>(dx + o, keep ? load<f64>(dout + o) / keepProb : 0.0);
  }
}
