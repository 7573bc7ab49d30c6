/**
 * The thread pool. `init({ threads: n })` starts n − 1 workers, each with its own instance of
 * the one compiled module over the one shared memory. An op runs as `parts` parts: the
 * calling thread writes the kernel and its arguments into a control block in that memory,
 * opens the parts and runs part 0; each part is then claimed by whichever thread gets to it
 * first (a worker, or the calling thread once its own part is done), so a worker that is
 * slow to wake, or dead, never holds an op up. A part is a fixed slice of the op's outputs
 * (assembly/parts.ts), the same whoever runs it: results are bit-identical for any thread
 * count and any claiming order.
 */
import { ConvcoreError, fail } from './errors.js';

/** What the entry (Node or browser) provides: how to start a worker and how many cores there are. */
export interface ThreadHost {
  /** The cores available: os.availableParallelism() or navigator.hardwareConcurrency. */
  cores(): number;
  /** Whether a shared memory can be sent to a worker (always in Node; in a page, crossOriginIsolated). */
  isolated(): boolean;
  /**
   * Starts a worker that runs `source` (which defines `run(data, post)`) with `data`, and
   * reports its messages, a failure (with a message) and its exit.
   */
  spawn(source: string, data: unknown, events: WorkerEvents): WorkerHandle;
}

export interface WorkerEvents {
  message(m: unknown): void;
  error(message: string): void;
  exit(code: number): void;
}

export interface WorkerHandle {
  terminate(): void;
}

let host: ThreadHost | null = null;

/** Set by each entry. */
export function setThreadHost(h: ThreadHost): void {
  host = h;
}

/** The most threads a pool may have. */
export const MAX_THREADS = 64;

// The control block, in i32 slots. GEN is bumped to open an op; CLAIM[p] is 0 only while
// part p of the open op is unclaimed (a thread claims it by compare-exchange to 1); DONE[p]
// is set when a claimed part is finished; ERR[p] says how it failed, with the abort's
// (message, file, line, column) in INFO or a message in the text area.
const GEN = 0;
const PARTS = 16;
const OP = 17;
const NARGS = 18;
const WORK = 19;
const WSIZE = 20;
const CLAIM = 64;
const DONE = CLAIM + MAX_THREADS;
const ERR = DONE + MAX_THREADS;
const INFO = ERR + MAX_THREADS;
const INTS = INFO + 4 * MAX_THREADS;
const MAX_ARGS = 24;
const ARGS_BYTE = INTS * 4;
const TEXT_BYTE = ARGS_BYTE + MAX_ARGS * 8;
const TEXT_CHARS = 200;

/** Size in bytes of the control block. */
export const CONTROL_BYTES = TEXT_BYTE + MAX_THREADS * TEXT_CHARS * 2;

/**
 * How long a worker polls for the next op before it sleeps, in milliseconds: the ops of a
 * training step follow each other within this, so a step wakes its workers once (waking a
 * sleeping thread costs tens to hundreds of microseconds on a VM), while an idle pool
 * sleeps at once. Short, since a poll takes a core another process may need.
 */
const SPIN_MS = 0.25;
/** How long the calling thread polls for a part to finish before it sleeps (where it may). */
const JOIN_SPIN_MS = 1;

/**
 * The worker. Plain JavaScript in a string, so that it runs unchanged from a file, a bundle
 * or the tests' TypeScript sources, in Node (an eval worker) and in a page (a blob: worker).
 */
const WORKER_SOURCE = `
'use strict';
function run(d, post) {
  const L = d.layout;
  const info = [0, 0, 0, 0];
  let instance;
  try {
    instance = new WebAssembly.Instance(d.module, { env: { memory: d.memory, abort(m, f, l, c) {
      info[0] = m; info[1] = f; info[2] = l; info[3] = c;
      throw new Error('a kernel assertion failed');
    } } });
  } catch (e) {
    post({ failed: 'could not instantiate the module: ' + (e && e.message) });
    return;
  }
  const k = instance.exports;
  const I = new Int32Array(d.memory.buffer, d.ctrl, L.INTS);
  const A = new Float64Array(d.memory.buffer, d.ctrl + L.ARGS_BYTE, L.MAX_ARGS);
  const T = new Uint16Array(d.memory.buffer, d.ctrl + L.TEXT_BYTE, L.MAX_THREADS * L.TEXT_CHARS);
  const fns = L.names.map((n) => k[n]);
  post({ ready: true });
  let seen = Atomics.load(I, L.GEN);
  for (;;) {
    let g = Atomics.load(I, L.GEN);
    if (g === seen) {
      const until = performance.now() + L.SPIN_MS;
      for (let s = 1; g === seen; s++) {
        g = Atomics.load(I, L.GEN);
        if ((s & 255) === 0 && performance.now() > until) break;
      }
    }
    if (g === seen) {
      Atomics.wait(I, L.GEN, seen);
      continue;
    }
    seen = g;
    const bound = Atomics.load(I, L.PARTS);
    for (let p = 1; p < bound; p++) {
      if (Atomics.compareExchange(I, L.CLAIM + p, 0, 1) !== 0) continue;
      const n = I[L.PARTS], op = I[L.OP], nargs = I[L.NARGS];
      const work = I[L.WORK] >>> 0, wsize = I[L.WSIZE];
      const args = [];
      for (let i = 0; i < nargs; i++) args.push(A[i]);
      try {
        k.set_part(p, n, work ? work + (p - 1) * wsize : 0);
        fns[op].apply(null, args);
      } catch (e) {
        if (info[2] !== 0) {
          for (let i = 0; i < 4; i++) I[L.INFO + 4 * p + i] = info[i];
          info[2] = 0;
          I[L.ERR + p] = 1;
        } else {
          const text = String(e && e.message || e).slice(0, L.TEXT_CHARS - 1);
          const t = p * L.TEXT_CHARS;
          for (let i = 0; i < text.length; i++) T[t + i] = text.charCodeAt(i);
          T[t + text.length] = 0;
          I[L.ERR + p] = 2;
        }
      }
      Atomics.store(I, L.DONE + p, 1);
      Atomics.notify(I, L.DONE + p);
    }
  }
}
`;

/** The raw exports a region calls: set_part and the kernels by name. */
export interface RawKernels {
  set_part(part: number, parts: number, work: number): void;
  [name: string]: (...args: number[]) => unknown;
}

interface Slot {
  id: number;
  handle: WorkerHandle;
  ready: boolean;
  stopping: boolean;
}

interface Pool {
  slots: Slot[];
  nextId: number;
  /** What happened to workers that died or failed to start, reported by the next op. */
  deaths: string[];
  /** The workspaces of parts 1 … MAX: part p's is work + (p − 1)·wsize; part 0 uses the caller's. */
  work: number;
  workParts: number;
  I: Int32Array;
  A: Float64Array;
  T: Uint16Array;
  /** Whether this thread may block in Atomics.wait (not a page's main thread). */
  canWait: boolean;
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

let pool: Pool | null = null;
let target: PoolTarget | null = null;
/** The names of the kernels a region can run, by index (the worker looks them up once). */
let names: string[] = [];
let warned = false;

/** Sets the kernel names; called once by src/wasm.ts. */
export function setKernelNames(list: readonly string[]): void {
  names = list.slice();
}

/** The number of threads ops run on: the pool's live workers and the calling thread. */
export function threadCount(): number {
  return pool ? pool.slots.filter((s) => s.ready && !s.stopping).length + 1 : 1;
}

function layout(): Record<string, unknown> {
  return { INTS, ARGS_BYTE, TEXT_BYTE, TEXT_CHARS, MAX_ARGS, MAX_THREADS, GEN, PARTS, OP, NARGS, WORK, WSIZE, CLAIM, DONE, ERR, INFO, SPIN_MS, names };
}

function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export type ThreadsOption = number | 'auto';

/** Checks the threads option: a positive integer up to MAX_THREADS, or 'auto'. */
export function checkThreads(fn: string, threads: unknown): ThreadsOption {
  if (threads === 'auto') return threads;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    fail(`${fn}: threads must be an integer in [1, ${MAX_THREADS}] or "auto", got ${typeof threads === 'string' ? `"${threads}"` : String(threads)}`);
  }
  return threads;
}

/** The thread count to start for the option, and whether it can be had here (one warning if not). */
function resolveThreads(threads: ThreadsOption): number {
  if (!host) return 1;
  const wanted = threads === 'auto' ? Math.max(1, Math.min(MAX_THREADS, Math.floor(host.cores()) || 1)) : threads;
  if (wanted > 1 && !host.isolated()) {
    if (threads !== 'auto' && !warned) {
      warned = true;
      console.warn(`convcore: init({ threads: ${threads} }) runs on one thread: this page is not cross-origin isolated, so its workers cannot share WebAssembly memory. Serve the page, its scripts and the .wasm with the headers "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp".`);
    }
    return 1;
  }
  return wanted;
}

/**
 * Makes the pool have `threads` threads in all (the calling thread included) on the module
 * `t`, starting or stopping workers; resolves once every new worker is ready. A worker that
 * fails to start is reported by the next op.
 */
export async function resizePool(t: PoolTarget, threads: ThreadsOption): Promise<void> {
  const n = resolveThreads(threads);
  // Another module (after releaseMemory) needs another pool.
  if (pool && target && target.memory !== t.memory) stopPool();
  target = t;
  if (n <= 1) {
    stopPool();
    return;
  }
  const p = pool ?? newPool(t);
  pool = p;
  ensureWork(p, t, n);
  const live = p.slots.filter((s) => !s.stopping);
  for (const s of live.slice(n - 1)) stop(s);
  const starting: Promise<void>[] = [];
  for (let i = live.length; i < n - 1; i++) starting.push(spawn(p, t));
  await Promise.all(starting);
  p.slots = p.slots.filter((s) => !s.stopping);
}

function newPool(t: PoolTarget): Pool {
  const I = new Int32Array(t.memory.buffer, t.ctrl, INTS);
  I.fill(0);
  // CLAIM[p] is 0 only while part p of an open op is unclaimed.
  for (let p = 0; p < MAX_THREADS; p++) I[CLAIM + p] = 1;
  return {
    slots: [], nextId: 1, deaths: [], work: 0, workParts: 0, I,
    A: new Float64Array(t.memory.buffer, t.ctrl + ARGS_BYTE, MAX_ARGS),
    T: new Uint16Array(t.memory.buffer, t.ctrl + TEXT_BYTE, MAX_THREADS * TEXT_CHARS),
    canWait: canBlock(),
  };
}

/** Workspaces for parts 1 … n − 1 (part 0 uses the caller's). Grown between ops only. */
function ensureWork(p: Pool, t: PoolTarget, n: number): void {
  if (p.workParts >= n - 1) return;
  if (p.work) t.freeWork(p.work, p.workParts * t.wsize);
  p.work = 0;
  p.workParts = 0;
  p.work = t.allocWork((n - 1) * t.wsize);
  p.workParts = n - 1;
}

function spawn(p: Pool, t: PoolTarget): Promise<void> {
  const h = host!;
  const slot: Slot = { id: p.nextId++, handle: null as unknown as WorkerHandle, ready: false, stopping: false };
  p.slots.push(slot);
  return new Promise<void>((resolve) => {
    const died = (what: string): void => {
      if (slot.stopping) return;
      slot.stopping = true;
      p.deaths.push(`worker thread ${slot.id} ${what}`);
      resolve();
    };
    slot.handle = h.spawn(WORKER_SOURCE, { module: t.module, memory: t.memory, ctrl: t.ctrl, layout: layout() }, {
      message(m) {
        const msg = m as { ready?: boolean; failed?: string };
        if (msg.ready) {
          slot.ready = true;
          resolve();
        } else if (msg.failed) {
          died(`failed to start: ${msg.failed}`);
          slot.handle.terminate();
        }
      },
      error(message) {
        died(slot.ready ? `stopped with an error: ${message}` : `failed to start: ${message}`);
      },
      exit(code) {
        died(slot.ready ? `exited (code ${code})` : `exited before it was ready (code ${code})`);
      },
    });
  });
}

function stop(s: Slot): void {
  s.stopping = true;
  s.handle.terminate();
}

/** Stops every worker; ops run on the calling thread alone. The workspaces stay until the memory goes. */
export function stopPool(): void {
  if (!pool) return;
  for (const s of pool.slots) if (!s.stopping) stop(s);
  if (target && pool.work) target.freeWork(pool.work, pool.workParts * target.wsize);
  pool = null;
}

/** For tests: the handles of the live workers. */
export function workerHandles(): WorkerHandle[] {
  return pool ? pool.slots.filter((s) => !s.stopping).map((s) => s.handle) : [];
}

/** Throws, once, what happened to workers that died since the last op. */
function reportDeaths(p: Pool): void {
  if (p.deaths.length === 0) return;
  const what = p.deaths.join('; ');
  p.deaths = [];
  p.slots = p.slots.filter((s) => !s.stopping);
  throw new ConvcoreError(`convcore: ${what}. The pool now runs on ${threadCount()} thread${threadCount() === 1 ? '' : 's'}; this op did not run, call it again`);
}

let partsCap = MAX_THREADS;

/**
 * At most this many parts per op from now on (1 runs every op on the calling thread with the
 * pool left running): for the benchmark's interleaved one-thread and pool timings and for
 * tests. Returns the previous cap.
 */
export function capParts(n: number): number {
  const was = partsCap;
  partsCap = n;
  return was;
}

/** The most parts an op can run as now: the threads, under the cap of capParts. */
export function maxParts(): number {
  return Math.min(threadCount(), partsCap);
}

let splitAll = false;
let regions = 0;

/** For tests: split every op, however small, so that small shapes exercise every split. */
export function splitEveryOp(on: boolean): void {
  splitAll = on;
}

/** The number of ops that have run in more than one part since the module was loaded. */
export function splitOps(): number {
  return regions;
}

/**
 * Parts per thread for an op whose kernel keeps no scratch per part (the memory-bound
 * ones): a few smaller parts, claimed as threads come free, so that a worker still waking
 * up when the op starts leaves the calling thread only a small part to wait for.
 */
const CHUNKS_PER_THREAD = 4;

/**
 * The number of parts an op of `units` units of work should run as, at `perPart` units each
 * at least: one per thread, or with `chunked` up to CHUNKS_PER_THREAD per thread.
 */
export function partsFor(units: number, perPart: number, chunked = false): number {
  if (!pool) return 1;
  const threads = Math.min(threadCount(), partsCap);
  if (threads <= 1) return 1;
  const byWork = splitAll ? MAX_THREADS : Math.floor(units / perPart);
  return Math.max(1, Math.min(chunked ? threads * CHUNKS_PER_THREAD : threads, byWork, MAX_THREADS));
}

/**
 * Runs kernel `op` (an index into the names) with `args` as `parts` parts; part 0 uses the
 * workspace `work`. Throws what the first failing part threw, after every part is done.
 */
export function runParts(raw: RawKernels, op: number, args: number[], parts: number, work: number): unknown {
  const p = pool;
  if (p) reportDeaths(p);
  if (!p || parts <= 1) {
    raw.set_part(0, 1, work);
    return raw[names[op]](...args);
  }
  const t = target!;
  const { I, A } = p;
  regions++;
  I[OP] = op;
  I[NARGS] = args.length;
  // More parts than threads (chunked ops) keep no scratch: they get no workspace.
  I[WORK] = parts <= p.workParts + 1 ? p.work : 0;
  I[WSIZE] = t.wsize;
  I[PARTS] = parts;
  for (let i = 0; i < args.length; i++) A[i] = args[i];
  for (let q = 1; q < parts; q++) {
    I[DONE + q] = 0;
    I[ERR + q] = 0;
  }
  for (let q = 1; q < parts; q++) Atomics.store(I, CLAIM + q, 0);
  Atomics.add(I, GEN, 1);
  Atomics.notify(I, GEN);
  let error: unknown = null;
  let result: unknown;
  try {
    raw.set_part(0, parts, work);
    result = raw[names[op]](...args);
  } catch (e) {
    error = e;
  }
  // First every part no worker has claimed yet, then wait for the ones the workers took.
  const others: number[] = [];
  for (let q = 1; q < parts; q++) {
    if (Atomics.compareExchange(I, CLAIM + q, 0, 1) !== 0) {
      others.push(q);
      continue;
    }
    try {
      raw.set_part(q, parts, I[WORK] ? p.work + (q - 1) * t.wsize : 0);
      raw[names[op]](...args);
    } catch (e) {
      error ??= e;
    }
  }
  for (const q of others) {
    join(p, q);
    if (I[ERR + q] !== 0 && error === null) error = partError(p, t, q);
  }
  raw.set_part(0, 1, work);
  if (error !== null) throw error;
  return result;
}

/** Waits until a claimed part is done: polls briefly, then sleeps where the thread may. */
function join(p: Pool, q: number): void {
  const I = p.I;
  if (Atomics.load(I, DONE + q) === 1) return;
  const until = performance.now() + JOIN_SPIN_MS;
  for (let s = 1; ; s++) {
    if (Atomics.load(I, DONE + q) === 1) return;
    if ((s & 255) === 0 && performance.now() > until) break;
  }
  while (Atomics.load(I, DONE + q) !== 1) {
    if (p.canWait) Atomics.wait(I, DONE + q, 0, 1000);
  }
}

function partError(p: Pool, t: PoolTarget, q: number): Error {
  const I = p.I;
  if (I[ERR + q] === 1) {
    const [msg, file, line, col] = [0, 1, 2, 3].map((i) => I[INFO + 4 * q + i] >>> 0);
    return new ConvcoreError(`convcore: a kernel assertion failed: ${t.text(msg)} at ${t.text(file)}:${line}:${col}`);
  }
  const chars: number[] = [];
  for (let i = q * TEXT_CHARS; p.T[i] !== 0 && chars.length < TEXT_CHARS; i++) chars.push(p.T[i]);
  return new ConvcoreError(`convcore: part ${q} of the op failed on a worker thread: ${String.fromCharCode(...chars)}`);
}
