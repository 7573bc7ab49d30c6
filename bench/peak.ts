// The arithmetic ceiling of one thread for float64 SIMD in this Wasm engine.
//
// The loop is the 2x8 GEMM microkernel with nothing around it: a 2x8 tile of C
// lives in 8 f64x2 accumulators, and each step loads two A values (splatted) and
// 8 B values (4 vectors) from a buffer that stays in L1, then does 8 f64x2.mul and
// 8 f64x2.add. Baseline Wasm SIMD has no FMA, so a multiply-add is mul then add.
// The products are independent of the accumulators, so only the adds form
// dependency chains, and 8 chains hide the add latency. 8 accumulators + 2 A + 4 B
// vectors fit in V8's 15 xmm registers: the loop does not spill. Operands come from
// memory because constant operands would be rematerialized on every use by V8.
//
// Built by bench/peak.js with: asc -O3 --noAssert --runtime stub --enable simd

/** k-steps per pass over the buffer; 80 bytes per step, 5 KiB in all. */
const STEPS: i32 = 64;
const STEP_BYTES: i32 = 80;
const BUF: usize = memory.data(STEPS * STEP_BYTES, 16);

/** FLOPs of one call with reps = 1: per step 8 mul + 8 add on 2 lanes. */
export function flopsPerRep(): f64 {
  return <f64>STEPS * 32.0;
}

/** Fills the buffer with small values so that the sums stay finite. */
export function init(): void {
  for (let i = 0; i < STEPS * STEP_BYTES / 8; i++) {
    store<f64>(BUF + (<usize>i << 3), 1e-3 * <f64>((i % 7) - 3));
  }
}

/** Runs `reps` passes of STEPS microkernel steps; returns the sum so nothing is dead. */
export function peak(reps: i32): f64 {
  let c0 = f64x2.splat(0.0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (let r = 0; r < reps; r++) {
    let p = BUF;
    for (let k = 0; k < STEPS; k++) {
      const a0 = v128.load64_splat(p);
      const a1 = v128.load64_splat(p, 8);
      const b0 = v128.load(p, 16);
      const b1 = v128.load(p, 32);
      const b2 = v128.load(p, 48);
      const b3 = v128.load(p, 64);
      c0 = f64x2.add(c0, f64x2.mul(a0, b0));
      c1 = f64x2.add(c1, f64x2.mul(a0, b1));
      c2 = f64x2.add(c2, f64x2.mul(a0, b2));
      c3 = f64x2.add(c3, f64x2.mul(a0, b3));
      c4 = f64x2.add(c4, f64x2.mul(a1, b0));
      c5 = f64x2.add(c5, f64x2.mul(a1, b1));
      c6 = f64x2.add(c6, f64x2.mul(a1, b2));
      c7 = f64x2.add(c7, f64x2.mul(a1, b3));
      p += STEP_BYTES;
    }
  }
  const s = f64x2.add(
    f64x2.add(f64x2.add(c0, c1), f64x2.add(c2, c3)),
    f64x2.add(f64x2.add(c4, c5), f64x2.add(c6, c7)),
  );
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

// The floor of a memory-bound op: one pass that reads an array and writes another of the
// same size, four f64x2 loads and stores a step (then two values, then one), nothing else.
// bench/peak.js times it on arrays of a depthwise conv's x, the pass that conv cannot beat.

/** Copies n float64 values from src to dst (neither overlapping the other nor BUF). */
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
