/**
 * A worker of the thread pool (src/threads.ts): its own instance of the one compiled module
 * over the one shared memory, which polls the control block for ops and claims their parts
 * with claimAndRun (src/claim.ts), as the calling thread does. Started by src/worker-node.ts
 * in Node and by the bundle of src/worker-browser.ts in a page.
 */
import { ALIVE, EXIT, GEN, OP, PARTS, Control, PartRunner, claimAndRun, controlViews, recordFailure } from './claim.js';

/** What a worker is started with. */
export interface WorkerData {
  /** The compiled module and its shared memory (typed loosely: the .d.ts needs no WebAssembly lib). */
  module: object;
  memory: { buffer: ArrayBufferLike };
  /** The control block's address. */
  ctrl: number;
  /** This worker's thread number, 1 … MAX_THREADS − 1 (0 is the calling thread). */
  thread: number;
  /** The kernels a part can run, by op index. */
  names: readonly string[];
  /** How long to poll for the next op before sleeping, in milliseconds. */
  spinMs: number;
}

export type WorkerMessage = { ready: true } | { failed: string };

/** Called with each part this worker has claimed, before it runs it. */
export type ClaimHook = (op: number, part: number) => void;

/**
 * Marks the worker gone in the control block (ALIVE 0, its exit code in EXIT): the calling
 * thread then reports any part the worker had claimed and not finished.
 */
export function markExited(d: WorkerData, code: number): void {
  const I = controlViews(d.memory.buffer, d.ctrl).I;
  Atomics.store(I, EXIT + d.thread, code | 0);
  Atomics.store(I, ALIVE + d.thread, 0);
  Atomics.notify(I, ALIVE + d.thread);
}

/** Instantiates the module, says it is ready, then runs parts until the thread is stopped. */
export function runWorker(d: WorkerData, post: (m: WorkerMessage) => void, onClaim?: ClaimHook): void {
  const abortInfo = [0, 0, 0, 0];
  let exports: Record<string, unknown>;
  try {
    const instance = new WebAssembly.Instance(d.module as WebAssembly.Module, {
      env: {
        memory: d.memory as WebAssembly.Memory,
        abort(msg: number, file: number, line: number, col: number): never {
          abortInfo[0] = msg; abortInfo[1] = file; abortInfo[2] = line; abortInfo[3] = col;
          throw new Error('a kernel assertion failed');
        },
      },
    });
    exports = instance.exports as Record<string, unknown>;
  } catch (e) {
    post({ failed: `could not instantiate the module: ${(e as Error)?.message}` });
    return;
  }
  const c = controlViews(d.memory.buffer, d.ctrl);
  const run = {
    set_part: exports.set_part as (part: number, parts: number, work: number) => void,
    kernels: d.names.map((n) => exports[n] as (...args: number[]) => unknown),
  };
  post({ ready: true });
  loop(d, c, run, abortInfo, onClaim);
}

function loop(d: WorkerData, c: Control, run: PartRunner, abortInfo: number[], onClaim?: ClaimHook): void {
  const I = c.I;
  const failed = (p: number, e: unknown): void => recordFailure(c, p, e, abortInfo);
  // The hook runs once a part is claimed, before its kernel: set_part comes in between.
  const runner: PartRunner = onClaim
    ? { set_part: (p, n, w) => { onClaim(I[OP], p); run.set_part(p, n, w); }, kernels: run.kernels }
    : run;
  let seen = Atomics.load(I, GEN);
  for (;;) {
    const g = nextOp(I, seen, d.spinMs);
    if (g === seen) continue;
    seen = g;
    // A worker being stopped claims nothing: the calling thread clears ALIVE before it
    // stops one, and before it opens the next op.
    const parts = Atomics.load(I, PARTS);
    for (let p = 1; p < parts && Atomics.load(I, ALIVE + d.thread) === 1; p++) claimAndRun(c, p, d.thread, runner, failed);
  }
}

/** Waits for GEN to move past `seen`: polls for spinMs, then sleeps until notified. */
function nextOp(I: Int32Array, seen: number, spinMs: number): number {
  let g = Atomics.load(I, GEN);
  if (g !== seen) return g;
  const until = performance.now() + spinMs;
  for (let s = 1; g === seen; s++) {
    g = Atomics.load(I, GEN);
    if ((s & 255) === 0 && performance.now() > until) break;
  }
  if (g === seen) Atomics.wait(I, GEN, seen);
  return Atomics.load(I, GEN);
}
