// The thread pool as the benchmark uses it: started once, and every op capped to one part
// (capParts(1)) except inside onPool(), where ops may use the whole pool. The cap changes
// how many parts an op runs as, not the pool: its workers stay up between the one-thread
// and the pool timings, so the two can be taken in turns.

import * as convcore from 'convcore';
import { theRuntime } from '../dist/wasm.js';
import { MAX_THREADS } from '../dist/claim.js';

const { threadCount } = convcore;

/** The loaded module's pool (the benchmark loads the module before it starts one). */
function pool() {
  const p = theRuntime().pool();
  if (!p) throw new Error('bench: no module is loaded');
  return p;
}

/** At most n parts per op from now on; returns the previous cap. */
function capParts(n) {
  const was = pool().policy.maxParts;
  pool().policy.maxParts = n;
  return was;
}

const splitOps = () => pool().regions;

/** Starts a pool of `threads` threads in all and caps every op to one part; resolves to the live thread count. */
export async function startPool(threads) {
  // The plain build: the relaxed one runs in its own copy of the package (bench/relaxed.js).
  await convcore.init({ threads, simd: 'plain' });
  capParts(1);
  const n = threadCount();
  if (n !== threads) throw new Error(`bench: init({ threads: ${threads} }) gave ${n} thread(s)`);
  return n;
}

/** fn() with each op allowed `parts` parts, the cap put back afterwards. */
function withParts(parts, fn) {
  const was = capParts(parts);
  try {
    return fn();
  } finally {
    capParts(was);
  }
}

/** fn() with every op on the calling thread. */
export const oneThread = (fn) => withParts(1, fn);

/** fn() with ops split over the whole pool where they hold enough work. */
export const onPool = (fn) => withParts(MAX_THREADS, fn);

/** fn() on the pool, and how many of its ops ran in more than one part. */
export function countSplits(fn) {
  const before = splitOps();
  const value = onPool(fn);
  return { value, splits: splitOps() - before };
}
