/**
 * The threads protocol, shared by the calling thread (src/threads.ts) and the workers
 * (src/worker.ts): the control block's layout in shared memory and claimAndRun, the one
 * function that claims a part of an op, runs it and reports it done. It imports nothing,
 * so that the worker bundle carries only this file and src/worker.ts.
 *
 * The control block, in i32 slots. GEN is bumped to open an op. CLAIM[p] is 0 only while
 * part p of the open op is unclaimed; a thread claims it by compare-exchange to 1 and
 * writes its thread number into OWNER[p]. DONE[p] is set when a claimed part is finished;
 * ERR[p] says how it failed, with the abort's (message, file, line, column) in INFO or a
 * message in the text area. ALIVE[t] is 1 while worker thread t may claim parts: the
 * calling thread clears it before it stops a worker, and a worker clears it (with its exit
 * code in EXIT[t]) when it exits, so that a part whose owner is gone is noticed at once.
 * Thread 0 is the calling thread.
 */

/** The most threads a pool may have. */
export const MAX_THREADS = 64;
/** The most arguments a kernel call may have. */
export const MAX_ARGS = 24;
/** The characters of a worker's error message kept per part. */
export const TEXT_CHARS = 200;

export const GEN = 0;
export const PARTS = 16;
export const OP = 17;
export const NARGS = 18;
export const WORK = 19;
export const WSIZE = 20;
export const CLAIM = 64;
export const DONE = CLAIM + MAX_THREADS;
export const ERR = DONE + MAX_THREADS;
export const OWNER = ERR + MAX_THREADS;
export const ALIVE = OWNER + MAX_THREADS;
export const EXIT = ALIVE + MAX_THREADS;
export const INFO = EXIT + MAX_THREADS;
export const INTS = INFO + 4 * MAX_THREADS;
export const ARGS_BYTE = INTS * 4;
export const TEXT_BYTE = ARGS_BYTE + MAX_ARGS * 8;
/** Size in bytes of the control block. */
export const CONTROL_BYTES = TEXT_BYTE + MAX_THREADS * TEXT_CHARS * 2;

/** ERR codes: a kernel assertion (INFO holds its place) or another exception (the text area holds its message). */
export const ERR_ABORT = 1;
export const ERR_THROWN = 2;

/** Views of the control block of one shared memory. */
export interface Control {
  I: Int32Array;
  A: Float64Array;
  T: Uint16Array;
}

export function controlViews(buffer: ArrayBufferLike, ctrl: number): Control {
  return {
    I: new Int32Array(buffer, ctrl, INTS),
    A: new Float64Array(buffer, ctrl + ARGS_BYTE, MAX_ARGS),
    T: new Uint16Array(buffer, ctrl + TEXT_BYTE, MAX_THREADS * TEXT_CHARS),
  };
}

/** What runs a part: one instance's set_part and its kernels by op index. */
export interface PartRunner {
  set_part(part: number, parts: number, work: number): void;
  kernels: readonly ((...args: number[]) => unknown)[];
}

/** Where part p's GEMM workspace is (0 for an op whose parts keep no scratch). */
export function workOf(I: Int32Array, p: number): number {
  const work = I[WORK] >>> 0;
  return work ? work + (p - 1) * I[WSIZE] : 0;
}

/** The open op's arguments, as the calling thread wrote them. */
export function argsOf(c: Control): number[] {
  const args: number[] = [];
  for (let i = 0, n = Math.min(c.I[NARGS], MAX_ARGS); i < n; i++) args.push(c.A[i]);
  return args;
}

/**
 * Claims part p of the open op for thread `self` and runs it; a failure goes to
 * `failed(p, e)`, and the part is marked done either way. Returns false, having done
 * nothing, when another thread had claimed it. The op (kernel, parts, arguments) is read
 * after the claim: a part is claimable only while its op is open, and the calling thread
 * writes an op's arguments before it opens its parts, and opens the next op only once
 * every claimed part is done.
 */
export function claimAndRun(c: Control, p: number, self: number, run: PartRunner,
  failed: (p: number, e: unknown) => void): boolean {
  const I = c.I;
  if (Atomics.compareExchange(I, CLAIM + p, 0, 1) !== 0) return false;
  Atomics.store(I, OWNER + p, self);
  try {
    run.set_part(p, I[PARTS], workOf(I, p));
    run.kernels[I[OP]](...argsOf(c));
  } catch (e) {
    failed(p, e);
  }
  Atomics.store(I, DONE + p, 1);
  Atomics.notify(I, DONE + p);
  return true;
}

/** Records a worker's failure of part p in the control block for the calling thread to report. */
export function recordFailure(c: Control, p: number, e: unknown, abortInfo: number[]): void {
  const I = c.I;
  if (abortInfo[2] !== 0) {
    for (let i = 0; i < 4; i++) I[INFO + 4 * p + i] = abortInfo[i];
    abortInfo[2] = 0;
    I[ERR + p] = ERR_ABORT;
    return;
  }
  const text = String((e as Error)?.message ?? e).slice(0, TEXT_CHARS - 1);
  const t = p * TEXT_CHARS;
  for (let i = 0; i < text.length; i++) c.T[t + i] = text.charCodeAt(i);
  c.T[t + text.length] = 0;
  I[ERR + p] = ERR_THROWN;
}
