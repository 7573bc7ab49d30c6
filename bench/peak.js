// Builds bench/peak.ts and measures this machine's single-thread Wasm f64x2
// multiply-add peak with it: the ceiling every conv row is reported against; and times its
// f64x2 copy, the floor of a memory-bound op (copyKernel).

import { fileURLToPath } from 'node:url';
import { mkdirSync, readFileSync } from 'node:fs';
import asc from 'assemblyscript/asc';
import { median } from './timing.js';

const SOURCE = fileURLToPath(new URL('./peak.ts', import.meta.url));
const OUT = fileURLToPath(new URL('../build/peak.wasm', import.meta.url));
const OUT_RELAXED = fileURLToPath(new URL('../build/peak.relaxed.wasm', import.meta.url));

/**
 * Compiles peak.ts with the release build's flags (asconfig.json: -O3, no assertions, the
 * stub runtime, SIMD) into build/peak.wasm, or with relaxed SIMD too into build/peak.relaxed.wasm.
 */
async function build(relaxed = false) {
  mkdirSync(fileURLToPath(new URL('../build/', import.meta.url)), { recursive: true });
  let log = '';
  const sink = { write: (s) => ((log += s), true) };
  const { error } = await asc.main(
    [SOURCE, '--outFile', relaxed ? OUT_RELAXED : OUT, '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd',
      ...(relaxed ? ['--enable', 'relaxed-simd'] : []), '--use', 'abort='],
    { stdout: sink, stderr: sink },
  );
  if (error) throw new Error(`bench/peak.ts did not compile: ${error.message}\n${log}`);
  return readFileSync(relaxed ? OUT_RELAXED : OUT);
}

/**
 * Resolves to { gflops, runs }: the median GFLOP/s of `runs` timed calls, each
 * calibrated to last about `runMs` milliseconds.
 */
const compiled = { plain: null, relaxed: null };

/** A fresh instance of peak.ts (the relaxed build with `relaxed`): its exports and its memory. */
async function instantiate(relaxed = false) {
  const which = relaxed ? 'relaxed' : 'plain';
  compiled[which] ??= await WebAssembly.compile(await build(relaxed));
  const module = compiled[which];
  // asc reads the project's asconfig.json too, whose shared memory is imported.
  const needsMemory = WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
  const imported = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const instance = await WebAssembly.instantiate(module, needsMemory ? { env: { memory: imported } } : {});
  return { k: instance.exports, memory: needsMemory ? imported : instance.exports.memory };
}

/**
 * The f64x2 copy of peak.ts on two arrays of `values` float64 in a memory of its own (from
 * 64 KiB up, past the module's data), filled and copied once so that every page has been
 * touched: resolves to { run }, one copy per call, for the caller to time.
 */
export async function copyKernel(values) {
  const { k, memory } = await instantiate();
  const src = 65536;
  const dst = src + values * 8 + 64;
  const need = Math.ceil((dst + values * 8) / 65536) - memory.buffer.byteLength / 65536;
  if (need > 0) memory.grow(need);
  const a = new Float64Array(memory.buffer, src, values);
  for (let i = 0; i < values; i++) a[i] = i;
  k.copy(src, dst, values);
  const b = new Float64Array(memory.buffer, dst, values);
  if (b[values - 1] !== values - 1 || b[0] !== 0) throw new Error('bench/peak.ts copy: the copy does not hold the source');
  return { run: () => k.copy(src, dst, values) };
}

/** The median GFLOP/s of `runs` calls of fn(reps), each calibrated to about runMs; fn returns a finite sum. */
function rate(fn, flopsPerRep, runs, runMs) {
  // Warm up (tier-up to optimized code), then find reps for a run of about runMs.
  let reps = 1000;
  for (;;) {
    const t0 = performance.now();
    fn(reps);
    const ms = performance.now() - t0;
    if (ms >= runMs / 4) {
      reps = Math.max(1, Math.round((reps * runMs) / ms));
      break;
    }
    reps *= 4;
  }
  const rates = [];
  let sink = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    sink += fn(reps);
    const s = (performance.now() - t0) / 1e3;
    rates.push((flopsPerRep * reps) / s / 1e9);
  }
  if (!Number.isFinite(sink)) throw new Error('peak kernel produced a non-finite sum');
  return median(rates);
}

/**
 * Resolves to { gflops, fma, runs }: the plain multiply-add peak (twelve chains of
 * f64x2.mul then f64x2.add) and, where the engine runs relaxed SIMD, the FMA peak (the same
 * chains, each step one f64x2.relaxed_madd), else fma null; each the median GFLOP/s of
 * `runs` timed calls of about `runMs` milliseconds.
 */
export async function measurePeak({ runs = 15, runMs = 100, relaxed = false } = {}) {
  const plain = (await instantiate(false)).k;
  plain.chain_init();
  const gflops = rate((n) => plain.chains12(n), plain.chainFlopsPerRep(), runs, runMs);
  let fma = null;
  if (relaxed) {
    const k = (await instantiate(true)).k;
    if (!k.fused()) throw new Error('bench/peak.ts: the relaxed build does not fuse');
    k.chain_init();
    fma = rate((n) => k.chains12(n), k.chainFlopsPerRep(), runs, runMs);
  }
  return { gflops, fma, runs };
}
