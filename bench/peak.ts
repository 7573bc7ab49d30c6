// The arithmetic ceilings of one thread for float64 SIMD in this Wasm engine, and the floor
// of a memory-bound op. Built by bench/peak.js twice: asc -O3 --noAssert --runtime stub
// --enable simd (build/peak.wasm), and again with --enable relaxed-simd
// (build/peak.relaxed.wasm), for the plain and the FMA peak of chains12.

// The multiply-add peaks, plain and fused, that the conv rows are measured against: twelve
// independent chains c = c·a + b, no memory traffic. Each step's multiply depends on its
// chain's last value, so no compiler can hoist it. In the plain build a step is f64x2.mul
// then f64x2.add; built with relaxed SIMD (ASC_FEATURE_RELAXED_SIMD) it is one
// f64x2.relaxed_madd. Twelve chains hide the latency of either; 12 accumulators and the two
// operands fit V8's registers. a is just below 1 and b small, so the values stay finite.

/** FLOPs of one call of chains12 with reps = 1: 12 chains × 2 lanes × 2 FLOPs × CHAIN_STEPS. */
export function chainFlopsPerRep(): f64 {
  return <f64>CHAIN_STEPS * 48.0;
}

const CHAIN_STEPS: i32 = 64;
/** The chains' two operands, a and b, as f64x2. */
const CHAIN: usize = memory.data(32, 16);

// @ts-ignore: decorator
@inline
function step(c: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(c, a, b);
  return f64x2.add(f64x2.mul(c, a), b);
}

/** 1 when this build fuses (relaxed SIMD). */
export function fused(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

/** Runs reps × CHAIN_STEPS steps of the twelve chains; returns their sum so nothing is dead. */
export function chains12(reps: i32): f64 {
  const a = v128.load(CHAIN), b = v128.load(CHAIN, 16);
  let c0 = f64x2.splat(1.0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  let c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < CHAIN_STEPS; k++) {
      c0 = step(c0, a, b); c1 = step(c1, a, b); c2 = step(c2, a, b); c3 = step(c3, a, b);
      c4 = step(c4, a, b); c5 = step(c5, a, b); c6 = step(c6, a, b); c7 = step(c7, a, b);
      c8 = step(c8, a, b); c9 = step(c9, a, b); c10 = step(c10, a, b); c11 = step(c11, a, b);
    }
  }
  const s = f64x2.add(f64x2.add(f64x2.add(c0, c1), f64x2.add(c2, c3)), f64x2.add(f64x2.add(f64x2.add(c4, c5), f64x2.add(c6, c7)),
    f64x2.add(f64x2.add(c8, c9), f64x2.add(c10, c11))));
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

/** Sets the chains' operands: a = 0.999 (so c converges to b/(1-a)), b = 1e-3. */
export function chain_init(): void {
  v128.store(CHAIN, f64x2.splat(0.999));
  v128.store(CHAIN, f64x2.splat(1e-3), 16);
}

// The floor of a memory-bound op: one pass that reads an array and writes another of the
// same size, four f64x2 loads and stores a step (then two values, then one), nothing else.
// bench/peak.js times it on arrays of a depthwise conv's x, the pass that conv cannot beat.

/** Copies n float64 values from src to dst (neither overlapping the other nor the module's data). */
export function copy(src: usize, dst: usize, n: i32): void {
  const end = src + (<usize>n << 3);
  let s = src, d = dst;
  for (; s + 64 <= end; s += 64, d += 64) {
    const v0 = v128.load(s);
    const v1 = v128.load(s, 16);
    const v2 = v128.load(s, 32);
    const v3 = v128.load(s, 48);
    v128.store(d, v0);
    v128.store(d, v1, 16);
    v128.store(d, v2, 32);
    v128.store(d, v3, 48);
  }
  for (; s + 16 <= end; s += 16, d += 16) v128.store(d, v128.load(s));
  if (s < end) store<f64>(d, load<f64>(s));
}
