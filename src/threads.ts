/**
 * The thread pool. `init({ threads: n })` makes n − 1 workers (src/worker.ts), each with its
 * own instance of the one compiled module over the one shared memory. An op runs as `parts`
 * parts: the calling thread writes the kernel and its arguments into the control block
 * (src/claim.ts), opens the parts and runs part 0; every other part is claimed by whichever
 * thread gets to it first (a worker, or the calling thread once its own part is done), so a
 * worker that is slow to wake never holds an op up. A part is a fixed slice of the op's
 * outputs (assembly/parts.ts), the same whoever runs it: results are bit-identical for any
 * thread count and any claiming order. docs/ARCHITECTURE.md describes the protocol.
 */
import { ConvcoreError, fail } from './errors.js';
import {
  ALIVE, CLAIM, CONTROL_BYTES, Control, DONE, ERR, ERR_ABORT, EXIT, GEN, INFO, MAX_THREADS, NARGS, OP, OWNER,
  PARTS, PartRunner, TEXT_CHARS, WORK, WSIZE, claimAndRun, controlViews,
} from './claim.js';
import type { WorkerData, WorkerMessage } from './worker.js';

export { CONTROL_BYTES, MAX_THREADS };

/** What the entry (Node or browser) provides: how to start a worker and how many cores there are. */
export interface ThreadHost {
  /** The cores available: os.availableParallelism() or navigator.hardwareConcurrency. */
  cores(): number;
  /** Whether a shared memory can be sent to a worker (always in Node; in a page, crossOriginIsolated). */
  isolated(): boolean;
  /** Starts a worker of src/worker.ts with `data`, and reports its messages, a failure and its exit. */
  spawn(data: WorkerData, events: WorkerEvents): WorkerHandle;
}

export interface WorkerEvents {
  message(m: WorkerMessage): void;
  error(message: string): void;
  exit(code: number): void;
}

export interface WorkerHandle {
  terminate(): void;
}

/**
 * How long a worker polls for the next op before it sleeps, in milliseconds: the ops of a
 * training step follow each other within this, so a step wakes its workers once (waking a
 * sleeping thread costs tens to hundreds of microseconds on a VM), while an idle pool
 * sleeps at once. Short, since a poll takes a core another process may need.
 */
const SPIN_MS = 0.25;
/** How long the calling thread polls for a part to finish before it sleeps (where it may). */
const JOIN_SPIN_MS = 1;
/** How often, in milliseconds, a sleeping calling thread wakes to look at the part's owner. */
const JOIN_CHECK_MS = 5;

/**
 * Parts per thread for an op whose kernel keeps no scratch per part (the memory-bound
 * ones): a few smaller parts, claimed as threads come free, so that a worker still waking
 * up when the op starts leaves the calling thread only a small part to wait for.
 */
const CHUNKS_PER_THREAD = 4;

export type ThreadsOption = number | 'auto';

/** Checks the threads option: a positive integer up to MAX_THREADS, or 'auto'. */
export function checkThreads(fn: string, threads: unknown): ThreadsOption {
  if (threads === 'auto') return threads;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    fail(`${fn}: threads must be an integer in [1, ${MAX_THREADS}] or "auto", got ${typeof threads === 'string' ? `"${threads}"` : String(threads)}`);
  }
  return threads;
}

/** The raw exports a part calls: set_part and the kernels by name. */
export interface RawKernels {
  set_part(part: number, parts: number, work: number): void;
  [name: string]: (...args: number[]) => unknown;
}

/** What the pool needs from the loaded module (src/wasm.ts). */
export interface PoolTarget {
  /** The compiled module and its shared memory (typed loosely: the .d.ts needs no WebAssembly lib). */
  module: object;
  memory: { buffer: ArrayBufferLike };
  raw: RawKernels;
  ctrl: number;
  /** Size in bytes of one part's GEMM workspace. */
  wsize: number;
  /** Resident bytes for the extra parts' workspaces; given back by freeWork. */
  allocWork(bytes: number): number;
  freeWork(ptr: number, bytes: number): void;
  /** Reads a string of the module (an abort's message or file). */
  text(ptr: number): string;
}

/** One worker: its thread number (its ALIVE word), its handle, and where it is in its life. */
interface Slot {
  thread: number;
  handle: WorkerHandle;
  state: 'starting' | 'ready' | 'stopping' | 'gone';
  /** Settles the start: with the worker ready, stopped or gone. */
  started: Promise<void>;
  wake(): void;
  /** Settles once the worker has exited. */
  ended: Promise<void>;
}

/**
 * How ops are cut into parts. Benchmarks and tests change it (test/knobs.ts): `maxParts` 1
 * runs every op on the calling thread with the pool left running; `splitAll` splits every
 * op, however small, so that small shapes exercise every split.
 */
export interface PartsPolicy {
  maxParts: number;
  splitAll: boolean;
}

/** The pool of one loaded module, from its first worker to shutdown. */
export class Pool {
  readonly c: Control;
  readonly policy: PartsPolicy = { maxParts: MAX_THREADS, splitAll: false };
  /** The number of ops that have run in more than one part. */
  regions = 0;
  private slots: Slot[] = [];
  /** What happened to workers that died or failed to start, reported by the next op. */
  private deaths: string[] = [];
  /** The workspaces of parts 1 … workParts: part p's is work + (p − 1)·wsize; part 0 uses the caller's. */
  private work = 0;
  private workParts = 0;
  /** The thread count the last resize asked for, and the resize under way, which every caller awaits. */
  private wanted = 1;
  private settling: Promise<void> | null = null;
  private readonly canWait = canBlock();
  private runner: (PartRunner & { raw: RawKernels }) | null = null;
  private warned = false;

  constructor(private readonly t: PoolTarget, private readonly hostOf: () => ThreadHost | null, private readonly names: readonly string[]) {
    this.c = controlViews(t.memory.buffer, t.ctrl);
    const I = this.c.I;
    I.fill(0);
    // CLAIM[p] is 0 only while part p of an open op is unclaimed. Thread 0 is the caller.
    for (let p = 0; p < MAX_THREADS; p++) I[CLAIM + p] = 1;
    I[ALIVE] = 1;
  }

  /** The number of threads ops run on: the ready workers and the calling thread. */
  threads(): number {
    return this.slots.filter((s) => s.state === 'ready').length + 1;
  }

  /** 'ready' with no resize under way, 'resizing' while workers start, 'stopping' while stopped ones exit. */
  state(): 'ready' | 'resizing' | 'stopping' {
    if (this.settling) return 'resizing';
    return this.slots.some((s) => s.state === 'stopping') ? 'stopping' : 'ready';
  }

  /** Whether workers run or start on this memory (stopped ones claim nothing, and are not counted). */
  busy(): boolean {
    return this.settling !== null || this.slots.some((s) => s.state === 'starting' || s.state === 'ready');
  }

  /** The handles of the ready workers (test/knobs.ts). */
  handles(): WorkerHandle[] {
    return this.slots.filter((s) => s.state === 'ready').map((s) => s.handle);
  }

  /**
   * Makes the pool have `threads` threads in all, the calling thread included, and settles
   * once it has: calls made while a resize is under way chain onto it, the last one wins,
   * and every call's promise settles when the pool has the last count asked for.
   */
  resize(threads: ThreadsOption): Promise<void> {
    this.wanted = this.resolve(threads);
    this.trim();
    this.settling ??= this.settle();
    return this.settling;
  }

  /** Stops every worker at once; a resize under way settles with the calling thread alone. */
  stop(): void {
    this.wanted = 1;
    this.trim();
  }

  /**
   * Starts and awaits workers until the pool has the count last asked for. It first yields,
   * so that `settling` is set before it runs, and it clears `settling` in the same turn as
   * its last check: a call that comes after that starts a new settle.
   */
  private async settle(): Promise<void> {
    await null;
    try {
      await this.settleLoop();
    } finally {
      this.settling = null;
    }
  }

  private async settleLoop(): Promise<void> {
    for (;;) {
      const live = this.slots.filter((s) => s.state === 'starting' || s.state === 'ready');
      if (live.length === this.wanted - 1 && live.every((s) => s.state === 'ready')) break;
      if (live.length < this.wanted - 1) {
        this.ensureWork(this.wanted);
        for (let i = live.length; i < this.wanted - 1; i++) {
          const s = this.spawn();
          if (!s) break;
        }
      }
      const pending = this.slots.filter((s) => s.state === 'starting');
      if (pending.length === 0) {
        // No thread number was free (stopped workers not yet exited): wait for one to exit.
        const stopping = this.slots.filter((s) => s.state === 'stopping');
        if (stopping.length === 0) break;
        await Promise.race(stopping.map((s) => s.ended));
        continue;
      }
      await Promise.race(pending.map((s) => s.started));
    }
  }

  /** Stops the workers past the count wanted, newest first (a starting one before a ready one). */
  private trim(): void {
    const live = this.slots.filter((s) => s.state === 'starting' || s.state === 'ready');
    for (const s of live.slice(Math.max(0, this.wanted - 1)).reverse()) this.stopSlot(s);
    if (this.wanted <= 1 && this.work) {
      this.t.freeWork(this.work, this.workParts * this.t.wsize);
      this.work = 0;
      this.workParts = 0;
    }
  }

  /** The thread count to start for the option, and whether it can be had here (one warning if not). */
  private resolve(threads: ThreadsOption): number {
    const h = this.hostOf();
    if (!h) return 1;
    const wanted = threads === 'auto' ? Math.max(1, Math.min(MAX_THREADS, Math.floor(h.cores()) || 1)) : threads;
    if (wanted > 1 && !h.isolated()) {
      if (threads !== 'auto' && !this.warned) {
        this.warned = true;
        console.warn(`convcore: init({ threads: ${threads} }) runs on one thread: this page is not cross-origin isolated, so its workers cannot share WebAssembly memory. Serve the page, its scripts and the .wasm with the headers "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp".`);
      }
      return 1;
    }
    return wanted;
  }

  /** Workspaces for parts 1 … n − 1 (part 0 uses the caller's). Grown between ops only. */
  private ensureWork(n: number): void {
    if (this.workParts >= n - 1) return;
    if (this.work) this.t.freeWork(this.work, this.workParts * this.t.wsize);
    this.work = 0;
    this.workParts = 0;
    this.work = this.t.allocWork((n - 1) * this.t.wsize);
    this.workParts = n - 1;
  }

  /** Starts a worker on the lowest thread number no worker holds (until its exit), or none is free. */
  private spawn(): Slot | null {
    const taken = new Set(this.slots.map((s) => s.thread));
    let thread = 1;
    while (taken.has(thread)) thread++;
    if (thread >= MAX_THREADS) return null;
    const I = this.c.I;
    Atomics.store(I, EXIT + thread, 0);
    Atomics.store(I, ALIVE + thread, 1);
    let wake!: () => void, end!: () => void;
    const slot: Slot = {
      thread, handle: null as unknown as WorkerHandle, state: 'starting',
      started: new Promise((r) => { wake = r; }), wake: () => wake(), ended: new Promise((r) => { end = r; }),
    };
    this.slots.push(slot);
    const gone = (what: string): void => {
      if (slot.state === 'gone') return;
      Atomics.store(I, ALIVE + thread, 0);
      if (slot.state === 'starting' || slot.state === 'ready') this.deaths.push(`worker thread ${thread} ${what}`);
      slot.state = 'gone';
      this.slots = this.slots.filter((s) => s !== slot);
      wake();
      end();
    };
    const data: WorkerData = { module: this.t.module, memory: this.t.memory, ctrl: this.t.ctrl, thread, names: this.names, spinMs: SPIN_MS };
    const worker = this.hostOf()!.spawn(data, {
      message: (m) => {
        if ('ready' in m) {
          if (slot.state === 'starting') slot.state = 'ready';
          wake();
        } else {
          gone(`failed to start: ${m.failed}`);
          slot.handle.terminate();
        }
      },
      error: (message) => {
        const was = slot.state;
        gone(was === 'ready' ? `stopped with an error: ${message}` : `failed to start: ${message}`);
        slot.handle.terminate();
      },
      exit: (code) => gone(slot.state === 'ready' ? `exited (code ${code})` : `exited before it was ready (code ${code})`),
    });
    // Whoever stops the worker clears its ALIVE word first: a worker stopped from outside
    // runs no exit hook, and it must claim no part of the ops that follow.
    slot.handle = { terminate: () => { Atomics.store(I, ALIVE + thread, 0); worker.terminate(); } };
    return slot;
  }

  /** Stops a worker: it claims nothing from now on, and its slot is kept until it has exited. */
  private stopSlot(s: Slot): void {
    s.state = 'stopping';
    s.wake();
    s.handle.terminate();
  }

  /** Throws, once, what happened to workers that died since the last op. */
  private reportDeaths(): void {
    if (this.deaths.length === 0) return;
    const what = this.deaths.join('; ');
    this.deaths = [];
    const n = this.threads();
    throw new WorkerExitedError(`convcore: ${what}. The pool now runs on ${n} thread${n === 1 ? '' : 's'}; this op did not run, call it again`);
  }

  /** The most parts an op can run as now: the threads, under the policy's cap. */
  maxParts(): number {
    return Math.min(this.threads(), this.policy.maxParts);
  }

  /**
   * The number of parts an op of `units` units of work should run as, at `perPart` units
   * each at least: one per thread, or with `chunked` up to CHUNKS_PER_THREAD per thread.
   */
  partsFor(units: number, perPart: number, chunked: boolean): number {
    const threads = this.maxParts();
    if (threads <= 1) return 1;
    const byWork = this.policy.splitAll ? MAX_THREADS : Math.floor(units / perPart);
    return Math.max(1, Math.min(chunked ? threads * CHUNKS_PER_THREAD : threads, byWork, MAX_THREADS));
  }

  /**
   * Runs kernel `op` with `args` as `parts` parts; part 0 uses the workspace `work`. Throws
   * what the first failing part threw, after every part is done, or, when a worker exits
   * holding a part, a WorkerExitedError once the other parts are done (the lost part is
   * never run again: an accumulating kernel is not idempotent).
   */
  run(raw: RawKernels, op: number, args: readonly number[], parts: number, work: number): unknown {
    this.reportDeaths();
    if (parts <= 1 || this.slots.length === 0) {
      raw.set_part(0, 1, work);
      return raw[this.names[op]](...args);
    }
    const { I, A } = this.c;
    this.regions++;
    I[OP] = op;
    I[NARGS] = args.length;
    // More parts than the workspaces (chunked ops) keep no scratch: they get no workspace.
    I[WORK] = parts <= this.workParts + 1 ? this.work : 0;
    I[WSIZE] = this.t.wsize;
    I[PARTS] = parts;
    for (let i = 0; i < args.length; i++) A[i] = args[i];
    for (let q = 1; q < parts; q++) {
      I[DONE + q] = 0;
      I[ERR + q] = 0;
      I[OWNER + q] = 0;
    }
    for (let q = 1; q < parts; q++) Atomics.store(I, CLAIM + q, 0);
    Atomics.add(I, GEN, 1);
    Atomics.notify(I, GEN);
    let error: unknown = null;
    let result: unknown;
    try {
      raw.set_part(0, parts, work);
      result = raw[this.names[op]](...args);
    } catch (e) {
      error = e;
    }
    // First every part no worker has claimed yet, then wait for the ones the workers took.
    const runner = this.runnerOf(raw);
    const others: number[] = [];
    for (let q = 1; q < parts; q++) {
      if (!claimAndRun(this.c, q, 0, runner, (_, e) => { error ??= e; })) others.push(q);
    }
    const lost: number[] = [];
    for (const q of others) {
      if (!this.join(q)) {
        lost.push(q);
        continue;
      }
      if (I[ERR + q] !== 0 && error === null) error = this.partError(q);
    }
    raw.set_part(0, 1, work);
    if (lost.length > 0) this.lose(op, lost);
    if (error !== null) throw error;
    return result;
  }

  /** The calling thread's kernels by op index, made once per instance. */
  private runnerOf(raw: RawKernels): PartRunner {
    if (this.runner?.raw !== raw) this.runner = { raw, set_part: raw.set_part, kernels: this.names.map((n) => raw[n]) };
    return this.runner;
  }

  /**
   * Waits until a claimed part is done: polls briefly, then sleeps where the thread may,
   * looking at its owner's ALIVE word as it goes. False when the owner is gone and the
   * part is not done.
   */
  private join(q: number): boolean {
    const I = this.c.I;
    if (Atomics.load(I, DONE + q) === 1) return true;
    const until = performance.now() + JOIN_SPIN_MS;
    for (let s = 1; ; s++) {
      if (Atomics.load(I, DONE + q) === 1) return true;
      if ((s & 255) === 0) {
        if (Atomics.load(I, ALIVE + I[OWNER + q]) !== 1) return Atomics.load(I, DONE + q) === 1;
        if (performance.now() > until) break;
      }
    }
    for (;;) {
      if (Atomics.load(I, DONE + q) === 1) return true;
      if (Atomics.load(I, ALIVE + I[OWNER + q]) !== 1) return Atomics.load(I, DONE + q) === 1;
      if (this.canWait) Atomics.wait(I, DONE + q, 0, JOIN_CHECK_MS);
    }
  }

  /** The workers that left parts undone are out of the pool; the op fails with what happened. */
  private lose(op: number, parts: number[]): never {
    const I = this.c.I;
    const owners = parts.map((q) => I[OWNER + q]);
    // Stopped here, so that their exit events, which come later, are not reported again.
    for (const s of this.slots) if (owners.includes(s.thread) && s.state !== 'stopping') this.stopSlot(s);
    const what = parts.map((q, i) => `worker thread ${owners[i]} exited (code ${I[EXIT + owners[i]]}) while it ran part ${q} of ${this.names[op]}`);
    const n = this.threads();
    throw new WorkerExitedError(`convcore: ${what.join('; ')}. The op did not complete and its outputs are half-written; `
      + `the pool now runs on ${n} thread${n === 1 ? '' : 's'}, call it again`);
  }

  private partError(q: number): Error {
    const I = this.c.I;
    if (I[ERR + q] === ERR_ABORT) {
      const [msg, file, line, col] = [0, 1, 2, 3].map((i) => I[INFO + 4 * q + i] >>> 0);
      return new ConvcoreError(`convcore: a kernel assertion failed: ${this.t.text(msg)} at ${this.t.text(file)}:${line}:${col}`);
    }
    const chars: number[] = [];
    for (let i = q * TEXT_CHARS; this.c.T[i] !== 0 && chars.length < TEXT_CHARS; i++) chars.push(this.c.T[i]);
    return new ConvcoreError(`convcore: part ${q} of the op failed on a worker thread: ${String.fromCharCode(...chars)}`);
  }
}

/**
 * A worker thread exited: either before the op (which then did not run) or while it held a
 * part of it (whose outputs are then half-written). The pool goes on with the threads left.
 */
export class WorkerExitedError extends ConvcoreError {
  override name = 'WorkerExitedError';
}

function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}
