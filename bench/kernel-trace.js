// The kernels a convcore call runs, recorded, and each replayed alone.
//
// Every Wasm kernel is reached through the object kernels() returns (src/dispatch.ts's
// plain object over the module's exports, which runs each kernel in parts on the thread
// pool), and every caller looks the kernel up on it at the time of the call. traceKernels() puts a recorder in front of
// each of them for the length of one call and then puts the originals back, so the
// sequence of kernels comes from the library itself and is not written out here a second
// time. timeKernelsAlone() calls each recorded kernel again with the same arguments, so on
// the same buffers, which a model keeps in WebAssembly memory between calls.

import { kernels } from '../dist/wasm.js';

/** Runs fn() once and returns its result and the kernels it called: [{ name, args, ms }] in order. */
export function traceKernels(fn) {
  const k = kernels();
  const originals = {};
  const calls = [];
  for (const [name, f] of Object.entries(k)) {
    if (typeof f !== 'function') continue;
    originals[name] = f;
    k[name] = (...args) => {
      const t0 = performance.now();
      const r = f(...args);
      calls.push({ name, args, ms: performance.now() - t0 });
      return r;
    };
  }
  let value;
  try {
    value = fn();
  } finally {
    Object.assign(k, originals);
  }
  return { value, calls };
}

/**
 * Times each recorded call alone, with its own arguments: as many back-to-back calls as last
 * about `minMs` (at least `minReps`), from the duration the trace saw. Resolves to the mean
 * ms per call of each, in the order of `calls`. A replay writes what the call wrote, so
 * parameters and optimizer state it updated in place must be put back by the caller.
 */
export function timeKernelsAlone(calls, { minMs, minReps }) {
  const k = kernels();
  return calls.map(({ name, args, ms }) => {
    const f = k[name];
    const reps = Math.max(minReps, Math.ceil(minMs / Math.max(ms, 1e-3)));
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f(...args);
    return (performance.now() - t0) / reps;
  });
}

/** The calls grouped by kernel name, in order of first call: [{ name, calls, ms }] from per-call times. */
export function byKernel(calls, times) {
  const groups = new Map();
  calls.forEach(({ name }, i) => {
    const g = groups.get(name) ?? { name, calls: 0, ms: 0 };
    g.calls++;
    g.ms += times[i];
    groups.set(name, g);
  });
  return [...groups.values()];
}
