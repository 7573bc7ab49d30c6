// The pool's knobs for the tests, through the runtime's view of its pool (src/wasm.ts):
// how many parts ops may run as, splitting every op however small, the ops that ran in
// parts, and the workers' handles.
import { beforeAll, afterAll } from 'vitest';
import { theRuntime } from '../src/wasm.js';
import { MAX_THREADS } from '../src/claim.js';
import type { Pool, WorkerHandle } from '../src/threads.js';

export { MAX_THREADS };

function pool(): Pool {
  const p = theRuntime().pool();
  if (!p) throw new Error('test/knobs: no module is loaded');
  return p;
}

/** At most n parts per op from now on; returns the previous cap. */
export function capParts(n: number): number {
  const was = pool().policy.maxParts;
  pool().policy.maxParts = n;
  return was;
}

/** Splits every op, however small, into as many parts as the threads allow. */
export function splitEveryOp(on: boolean): void {
  pool().policy.splitAll = on;
}

/** The number of ops that have run in more than one part since the module was loaded. */
export function splitOps(): number {
  return pool().regions;
}

/** The handles of the ready workers. */
export function workerHandles(): WorkerHandle[] {
  return pool().handles();
}

/**
 * For the tests of the enclosing describe block (or file): a pool of 4 threads that splits
 * every op, however small, started before them; after them, no split, no cap on the parts, and
 * the threads shut down.
 */
export function splitPoolForSuite(lib: { init(options: { threads: number }): Promise<void>; shutdownThreads(): void }): void {
  beforeAll(async () => {
    await lib.init({ threads: 4 });
    splitEveryOp(true);
  });
  afterAll(() => {
    splitEveryOp(false);
    capParts(MAX_THREADS);
    lib.shutdownThreads();
  });
}
