/**
 * The runtime: the one object that knows how the WebAssembly module is found and
 * instantiated, how its memory is handed out, and the thread pool that runs on it. Its
 * state is explicit: 'unloaded', 'loading', then 'ready', or 'resizing' while workers start
 * and 'stopping' while stopped ones exit. Every op reserves its buffers from one arena that
 * starts above the resident blocks; the arena is given back when the op returns, so memory
 * only grows to what the largest call needed. docs/ARCHITECTURE.md lays out the memory.
 */
import { instantiate, instantiateSync } from '@assemblyscript/loader';
import { ConvcoreError, fail } from './errors.js';
import { describe } from './tensor.js';
import { checkKeys } from './params.js';
import type { RawExports } from './bindings.js';
import { CONTROL_BYTES, Pool, ThreadHost, ThreadsOption, checkThreads } from './threads.js';
import { KERNEL_NAMES, Kernels, facade } from './dispatch.js';

/**
 * A compiled `WebAssembly.Module` and a fetch `Response`, looked up on the global scope so
 * that the published types compile without the DOM lib (a Node-only project with
 * `--lib es2022 --types node`): where the environment's types lack one, it is `never`.
 */
export type WasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer M } } } ? M : never;
export type FetchResponse = typeof globalThis extends { Response: { prototype: infer R } } ? R : never;

/** Where the `.wasm` comes from: a URL or path, its bytes, a compiled module, or a fetch Response. */
export type WasmSource = string | URL | ArrayBuffer | ArrayBufferView | WasmModule | FetchResponse;

export interface InitOptions {
  wasm?: WasmSource;
  /**
   * The number of threads ops run on, the calling thread included, or 'auto' for the cores
   * available. Calling init again with another count resizes the pool; the last call wins,
   * and every call's promise settles once the pool has that count. In a page that is not
   * cross-origin isolated, ops run on one thread (with a warning for a number above 1).
   */
  threads?: ThreadsOption;
  /**
   * The build to load: 'relaxed' (fused multiply-adds, WebAssembly relaxed SIMD) or 'plain'
   * (SIMD128 only). By default the relaxed build where the engine validates it, else the
   * plain one. Asking for one build while the other is loaded is a ConvcoreError.
   */
  simd?: SimdLevel;
}

const INIT_KEYS = ['wasm', 'threads', 'simd'];

/** The two builds: 'relaxed' fuses its multiply-adds (f64x2.relaxed_madd), 'plain' has SIMD128 only. */
export type SimdLevel = 'relaxed' | 'plain';

/**
 * A module of one function with one f64x2.relaxed_madd: the engine runs the relaxed build
 * when it validates this (Node 22 and later, Node 20 with --experimental-wasm-relaxed-simd,
 * Chrome and Edge 114 and later, Firefox).
 */
const RELAXED_PROBE = 'AGFzbQEAAAABBQFgAAF7AwIBAAo9ATsA/QwAAAAAAAAAAAAAAAAAAAAA/QwAAAAAAAAAAAAAAAAAAAAA/QwAAAAAAAAAAAAAAAAAAAAA/YcCCw==';

let relaxedOk: boolean | null = null;

/** Whether this engine runs WebAssembly relaxed SIMD (validates RELAXED_PROBE). */
export function relaxedSimdSupported(): boolean {
  if (relaxedOk === null) {
    const s = atob(RELAXED_PROBE);
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    relaxedOk = WebAssembly.validate(bytes);
  }
  return relaxedOk;
}

/** The build of a convcore module, read from its own export. */
function levelOf(raw: RawExports): SimdLevel {
  return raw.simd_relaxed() ? 'relaxed' : 'plain';
}

function checkSimd(v: unknown): SimdLevel {
  if (v !== 'relaxed' && v !== 'plain') fail(`init: simd must be 'relaxed' or 'plain', got ${describe(v)}`);
  if (v === 'relaxed' && !relaxedSimdSupported()) {
    fail("init: simd 'relaxed' was asked for, but this engine does not run WebAssembly relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd; Safari has none); ask for 'plain' or leave simd out");
  }
  return v;
}

/** One instance of the module over its memory, with the allocator's state and its pool. */
interface Loaded {
  k: Kernels;
  level: SimdLevel;
  raw: RawExports;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** The thread pool's control block (src/claim.ts), just above the static data. */
  ctrl: number;
  base: number;
  /**
   * Long-lived blocks (a model's parameters, activations and caches) lie in [base, residentTop);
   * the per-call arena starts at residentTop. `free` lists the given-back blocks below the top,
   * sorted by address; `held` counts the bytes of the live ones.
   */
  residentTop: number;
  free: { ptr: number; bytes: number }[];
  held: number;
  pool: Pool;
}

/** A 32-bit module addresses at most 65536 pages of 64 KiB. */
const PAGE = 65536;
const MAX_BYTES = 65536 * PAGE;
/** Buffers start on cache-line boundaries, which also satisfies v128 alignment. */
const ALIGN = 64;

export type RuntimeState = 'unloaded' | 'loading' | 'ready' | 'resizing' | 'stopping';

/** The runtime's state; one instance per entry, `runtime` below. */
class Runtime {
  loaded: Loaded | null = null;
  /** The module loaded first, kept compiled so that releaseMemory() can instantiate it again, and its build. */
  compiled: WebAssembly.Module | null = null;
  compiledLevel: SimdLevel | null = null;
  /** The build the last init({ simd }) asked for, if any. */
  askedLevel: SimdLevel | null = null;
  /** The highest address any call has reserved up to: what the largest call needed. */
  peak = 0;
  /** The load under way, which every init() made meanwhile awaits. */
  loading: Promise<void> | null = null;
  /** The thread count the last init({ threads }) or shutdownThreads() asked for. */
  wanted: ThreadsOption = 1;
  /** What the entry provides: a synchronous file reader (Node), the default source, the worker host. */
  readSync: ((source: string | URL) => Uint8Array) | null = null;
  defaultSource: ((level: SimdLevel) => WasmSource) | null = null;
  host: ThreadHost | null = null;

  state(): RuntimeState {
    if (this.loading) return 'loading';
    return this.loaded ? this.loaded.pool.state() : 'unloaded';
  }
}

const runtime = new Runtime();

/** The runtime, for the benchmarks' and tests' views of the pool (test/knobs.ts, bench/threads.js). */
export function theRuntime(): { state(): RuntimeState; pool(): Pool | null } {
  return { state: () => runtime.state(), pool: () => runtime.loaded?.pool ?? null };
}

/** Set by the Node entry: reads a file synchronously, so that ops work without init(). */
export function setFileReader(reader: (source: string | URL) => Uint8Array): void {
  runtime.readSync = reader;
}

/** Set by each entry: where each build's module is when init() is given no source. */
export function setDefaultSource(source: (level: SimdLevel) => WasmSource): void {
  runtime.defaultSource = source;
}

/** Set by each entry: how the pool's workers are started. */
export function setThreadHost(host: ThreadHost): void {
  runtime.host = host;
}

function readString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
}

/**
 * A fresh shared memory for an instance: shared so that the pool's workers can run on it
 * (a shared memory works on one thread too, at the same speed), of one page, growable to 4 GiB.
 */
function newMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
}

/** The module's imports: its memory, and `abort`, which turns a failed kernel assertion into an Error. */
function imports(memory: WebAssembly.Memory): { env: Record<string, unknown> } {
  return {
    env: {
      memory,
      abort(msg: number, file: number, line: number, col: number): never {
        throw new ConvcoreError(`convcore: a kernel assertion failed: ${readString(memory, msg)} at ${readString(memory, file)}:${line}:${col}`);
      },
    },
  };
}

/** Makes an instance of the compiled module the loaded one, its memory at its initial size. */
function adoptExports(module: WebAssembly.Module, instanceExports: unknown, memory: WebAssembly.Memory): Loaded {
  const raw = instanceExports as RawExports;
  if (typeof raw.simd_relaxed !== 'function') throw new Error('it has no simd_relaxed export');
  const level = levelOf(raw);
  const ctrl = Math.ceil(raw.heap_base() / ALIGN) * ALIGN;
  const base = Math.ceil((ctrl + CONTROL_BYTES) / ALIGN) * ALIGN;
  runtime.compiled = module;
  runtime.compiledLevel = level;
  runtime.peak = 0;
  // The dispatch reads a geometry record to size an op before the kernel checks it: a record
  // outside memory reads as zeros (one part), and the kernel's own check then reports it.
  const i32 = (ptr: number, n: number): Int32Array =>
    ptr >= 0 && ptr + 4 * n <= memory.buffer.byteLength ? new Int32Array(memory.buffer, ptr, n) : new Int32Array(n);
  const partial = { level, raw, module, memory, ctrl, base, residentTop: base, free: [], held: 0 } as unknown as Loaded;
  growTo('init', partial, base, 'the control block needs');
  const pool = new Pool({
    module, memory, ctrl,
    raw: raw as never,
    wsize: raw.gemm_workspace_bytes(),
    allocWork: (bytes) => allocBlock('init', bytes, false),
    freeWork: (ptr, bytes) => freeBlock(ptr, bytes, false),
    text: (ptr) => readString(memory, ptr),
  }, () => runtime.host, KERNEL_NAMES);
  partial.pool = pool;
  partial.k = facade(raw, pool, i32);
  runtime.loaded = partial;
  runtime.peak = 0;
  return partial;
}

/** Instantiates a compiled module synchronously and makes it the loaded one. */
function adopt(module: WebAssembly.Module): Loaded {
  const memory = newMemory();
  return adoptExports(module, instantiateSync(module, imports(memory)).exports, memory);
}

function isFileLike(source: string | URL): boolean {
  const href = String(source);
  return !/^(https?|blob|data):/i.test(href);
}

/** The subject of "… is not a loadable module", verb included. */
function describeSource(source: WasmSource): string {
  if (typeof source === 'string' || source instanceof URL) return `${String(source)} is`;
  return source instanceof WebAssembly.Module ? 'the given WebAssembly.Module is' : 'the given bytes are';
}

/** A URL as given, followed by what it resolves to in a page when that differs (a relative path). */
function describeUrl(source: string | URL): string {
  const given = String(source);
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  if (!base) return given;
  try {
    const abs = new URL(given, base).href;
    return abs === given ? given : `${given} (${abs})`;
  } catch {
    return given;
  }
}

async function bytesOrModule(source: WasmSource): Promise<BufferSource | WebAssembly.Module> {
  if (typeof source === 'string' || source instanceof URL) {
    if (runtime.readSync && isFileLike(source)) {
      try {
        return runtime.readSync(source);
      } catch (e) {
        fail(`init: could not read the WebAssembly module at ${String(source)}: ${(e as Error).message}`);
      }
    }
    let res: Response;
    try {
      res = await fetch(source);
    } catch (e) {
      fail(`init: could not fetch the WebAssembly module at ${describeUrl(source)}: ${(e as Error).message}`);
    }
    if (!res.ok) fail(`init: could not fetch the WebAssembly module at ${describeUrl(source)}: HTTP ${res.status} ${res.statusText}`.trimEnd());
    return new Uint8Array(await res.arrayBuffer());
  }
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok) fail(`init: could not fetch the WebAssembly module at ${source.url}: HTTP ${source.status} ${source.statusText}`.trimEnd());
    return new Uint8Array(await source.arrayBuffer());
  }
  if (source instanceof WebAssembly.Module || source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return source;
  fail(`init: wasm must be a URL, a path, bytes or a WebAssembly.Module, got ${typeof source}`);
}

async function compile(source: WasmSource): Promise<WebAssembly.Module> {
  const bytes = await bytesOrModule(source);
  return bytes instanceof WebAssembly.Module ? bytes : WebAssembly.compile(bytes);
}

function isSource(v: unknown): v is WasmSource {
  return typeof v === 'string' || v instanceof URL || v instanceof WebAssembly.Module || v instanceof ArrayBuffer
    || ArrayBuffer.isView(v) || (typeof Response !== 'undefined' && v instanceof Response);
}

/** The source init() was given, if any: `init(source)` or `init({ wasm: source })`. */
function givenSource(options: unknown): WasmSource | undefined {
  if (options === undefined || isSource(options)) return options;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail(`init: options must be an object { wasm, threads, simd } or a WebAssembly source, got ${describe(options)}`);
  }
  checkKeys('init', 'options', options, INIT_KEYS);
  return (options as InitOptions).wasm;
}

/**
 * Loads the module, and with `threads` sizes the pool. Loading is idempotent: once a module
 * is loaded (by init or, in Node, by the first op), later calls keep it, whatever source
 * they are given. In a browser it must be awaited before any op; in Node the ops load the
 * module on first use. After releaseMemory(), init() instantiates the same module again.
 * Calls made while a load or a resize is under way chain onto it: the last thread count
 * asked for (by init or shutdownThreads) wins, and every call settles once the runtime has
 * it, or rejects with a ConvcoreError when the load fails.
 */
export function init(options?: InitOptions | WasmSource): Promise<void> {
  let given: WasmSource | undefined;
  let threads: ThreadsOption | undefined;
  let simd: SimdLevel | undefined;
  try {
    given = givenSource(options);
    const o = options !== undefined && !isSource(options) ? (options as InitOptions) : undefined;
    if (o?.threads !== undefined) threads = checkThreads('init', o.threads);
    if (o?.simd !== undefined) simd = checkSimd(o.simd);
    if (simd && runtime.loaded) checkLoadedLevel(simd);
  } catch (e) {
    return Promise.reject(e);
  }
  if (threads !== undefined) runtime.wanted = threads;
  const then = (): Promise<void> => {
    if (simd) checkLoadedLevel(simd);
    return threads === undefined ? Promise.resolve() : applyThreads();
  };
  if (runtime.loaded) return then();
  if (runtime.loading) return runtime.loading.then(then);
  if (simd) {
    runtime.askedLevel = simd;
    // Nothing is loaded (releaseMemory() dropped it): the other build's module is let go.
    if (runtime.compiledLevel !== simd) runtime.compiled = null;
  }
  const kept = runtime.compiled;
  const source = given ?? (runtime.defaultSource ? runtime.defaultSource(pickLevel()) : undefined);
  if (kept === null && source === undefined) return Promise.reject(new ConvcoreError('init: no WebAssembly source is known for this entry; pass init({ wasm: url })'));
  runtime.loading = (async () => {
    try {
      const module = kept ?? await compile(source!);
      // Instantiated asynchronously: a browser's main thread may refuse to do it synchronously.
      const memory = newMemory();
      const { exports } = await instantiate(module, imports(memory));
      // An op may have loaded a module synchronously meanwhile (Node): keep that one.
      if (!runtime.loaded) adoptExports(module, exports, memory);
    } catch (e) {
      if (e instanceof ConvcoreError) throw e;
      fail(`init: ${kept ? 'the module loaded before' : describeSource(source!)} not a loadable convcore WebAssembly module: ${(e as Error).message}`);
    }
  })().finally(() => { runtime.loading = null; });
  return runtime.loading.then(then);
}

/** The build init() and the first op load when none is asked for: relaxed where the engine runs it. */
function pickLevel(): SimdLevel {
  return runtime.askedLevel ?? (relaxedSimdSupported() ? 'relaxed' : 'plain');
}

/** Refuses a build other than the loaded one, naming both. */
function checkLoadedLevel(simd: SimdLevel): void {
  const L = runtime.loaded;
  if (L && L.level !== simd) {
    fail(`init: the ${L.level} build is loaded, so simd '${simd}' cannot be; ask for it in the first init(), before any op loads a build, or call releaseMemory() first`);
  }
}

/**
 * The build that runs the kernels: 'relaxed' (fused multiply-adds) or 'plain'. Before any
 * module is loaded, the build that init() or the first op would load.
 */
export function simdLevel(): SimdLevel {
  return runtime.loaded?.level ?? runtime.compiledLevel ?? pickLevel();
}

/** Resizes the loaded module's pool to the last count asked for; settles once it has it. */
function applyThreads(): Promise<void> {
  return load().pool.resize(runtime.wanted);
}

/**
 * Stops the pool's workers: ops run on the calling thread alone until init({ threads })
 * starts a pool again. A resize under way settles with the calling thread alone. Does
 * nothing when there is no pool.
 */
export function shutdownThreads(): void {
  runtime.wanted = 1;
  runtime.loaded?.pool.stop();
}

/** The number of threads ops run on: the pool's ready workers and the calling thread. */
export function threadCount(): number {
  return runtime.loaded ? runtime.loaded.pool.threads() : 1;
}

/** The most parts an op may run as now: the threads, under the pool's policy. */
export function maxParts(): number {
  return runtime.loaded ? runtime.loaded.pool.maxParts() : 1;
}

function load(): Loaded {
  if (runtime.loaded) return runtime.loaded;
  if (runtime.compiled) {
    try {
      return adopt(runtime.compiled);
    } catch (e) {
      if (e instanceof ConvcoreError) throw e;
      throw new ConvcoreError(`convcore: the WebAssembly module could not be instantiated again after releaseMemory() (${(e as Error).message}); call \`await init()\` before the next op`);
    }
  }
  const { readSync, defaultSource } = runtime;
  if (readSync && defaultSource) {
    const source = defaultSource(pickLevel());
    const bytes = source instanceof WebAssembly.Module || ArrayBuffer.isView(source) || source instanceof ArrayBuffer
      ? source
      : readSync(source as string | URL);
    return adopt(bytes instanceof WebAssembly.Module ? bytes : new WebAssembly.Module(bytes));
  }
  throw new ConvcoreError('convcore: the WebAssembly module is not loaded; call `await init()` before the first op');
}

/**
 * Gives the module's memory back. WebAssembly memory can only grow, so the instance and
 * its memory are dropped; the next op instantiates the same module again, with a memory of
 * its initial size (in a browser, `await init()` again if the page refuses a synchronous
 * instantiation). Results and caches already returned stay valid: they never alias
 * WebAssembly memory. Does nothing when no module is loaded. Refuses while models hold
 * blocks or a pool runs or starts on the memory.
 */
export function releaseMemory(): void {
  const L = runtime.loaded;
  if (!L) return;
  if (L.held > 0) {
    fail(`releaseMemory: ${formatBytes(L.held)} of WebAssembly memory are held by live models; call dispose() on them first`);
  }
  if (L.pool.busy()) {
    const what = L.pool.state() === 'resizing' ? 'a pool is starting on this memory; await init() and call' : `a pool of ${L.pool.threads()} threads shares this memory; call`;
    fail(`releaseMemory: ${what} shutdownThreads() first (and init({ threads }) again after)`);
  }
  L.pool.stop();
  runtime.loaded = null;
  runtime.wanted = 1;
  runtime.peak = 0;
}

/** The kernels, loading the module synchronously where the entry allows it (Node). */
export function kernels(): Kernels {
  return load().k;
}

/**
 * Reserves consecutive buffers of the given sizes in bytes for one call and returns their
 * addresses. Earlier reservations are given back: each op calls this once, at its start,
 * and no view or pointer is kept after the op returns.
 */
export function reserve(fn: string, bytes: readonly number[]): number[] {
  const L = load();
  const ptrs: number[] = [];
  let top = L.residentTop;
  for (const b of bytes) {
    ptrs.push(top);
    top += Math.ceil(b / ALIGN) * ALIGN;
  }
  growTo(fn, L, top, 'this call needs');
  return ptrs;
}

/** Grows the memory so that it holds addresses below `top`; an error names fn when it cannot. */
function growTo(fn: string, L: Loaded, top: number, what: string): void {
  if (!(top <= MAX_BYTES)) {
    fail(`${fn}: ${what} ${formatBytes(top)} of WebAssembly memory, more than the 4 GiB a 32-bit module can address`);
  }
  const have = L.memory.buffer.byteLength;
  if (top > have) {
    try {
      L.memory.grow(Math.ceil((top - have) / PAGE));
    } catch (e) {
      fail(`${fn}: could not grow WebAssembly memory to ${formatBytes(top)}: ${(e as Error).message}`);
    }
  }
  if (top > runtime.peak) runtime.peak = top;
}

/**
 * A long-lived block of `bytes` bytes that per-call reservations never overlap, for buffers
 * that stay in WebAssembly memory across calls (a model's). Its address stays valid until
 * freeResident; releaseMemory() refuses to drop the memory while any block is held.
 */
export function allocResident(fn: string, bytes: number): number {
  return allocBlock(fn, bytes, true);
}

/** A resident block; `counted` blocks are a model's, and releaseMemory() refuses while any is held. */
function allocBlock(fn: string, bytes: number, counted: boolean): number {
  const L = load();
  const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const i = L.free.findIndex((b) => b.bytes >= size);
  if (i >= 0) {
    const b = L.free[i];
    const ptr = b.ptr;
    if (b.bytes === size) L.free.splice(i, 1);
    else { b.ptr += size; b.bytes -= size; }
    if (counted) L.held += size;
    return ptr;
  }
  const ptr = L.residentTop;
  growTo(fn, L, ptr + size, counted ? 'this model needs' : 'the thread pool needs');
  L.residentTop = ptr + size;
  if (counted) L.held += size;
  return ptr;
}

/** Gives back a block from allocResident (with the size it was asked for). */
export function freeResident(ptr: number, bytes: number): void {
  freeBlock(ptr, bytes, true);
}

function freeBlock(ptr: number, bytes: number, counted: boolean): void {
  const L = runtime.loaded;
  if (!L) return;
  const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (counted) L.held -= size;
  const free = L.free;
  let i = 0;
  while (i < free.length && free[i].ptr < ptr) i++;
  free.splice(i, 0, { ptr, bytes: size });
  // Coalesce with the neighbours, then hand a free block at the top back to the arena.
  if (i + 1 < free.length && free[i].ptr + free[i].bytes === free[i + 1].ptr) {
    free[i].bytes += free[i + 1].bytes;
    free.splice(i + 1, 1);
  }
  if (i > 0 && free[i - 1].ptr + free[i - 1].bytes === free[i].ptr) {
    free[i - 1].bytes += free[i].bytes;
    free.splice(i, 1);
    i--;
  }
  const last = free[free.length - 1];
  if (last && last.ptr + last.bytes === L.residentTop) {
    L.residentTop = last.ptr;
    free.pop();
  }
}

function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/**
 * The size of linear memory in bytes and the highest address a call has needed since the
 * module was (re)instantiated, for diagnostics: memory never grows past the page holding
 * `peak`, and releaseMemory() takes it back to its initial size.
 */
export function memoryStats(): { bytes: number; peak: number; pageBytes: number } {
  return { bytes: load().memory.buffer.byteLength, peak: runtime.peak, pageBytes: PAGE };
}

/** A fresh view; never keep one across anything that can grow the memory. */
export function f64(ptr: number, len: number): Float64Array {
  return new Float64Array(load().memory.buffer, ptr, len);
}

export function i32(ptr: number, len: number): Int32Array {
  return new Int32Array(load().memory.buffer, ptr, len);
}

/** Copies len bytes out of linear memory into a fresh array. */
export function bytes(ptr: number, len: number): Uint8Array {
  return new Uint8Array(new Uint8Array(load().memory.buffer, ptr, len));
}

/** Copies bytes into linear memory at ptr. */
export function putBytes(ptr: number, data: Uint8Array): void {
  new Uint8Array(load().memory.buffer, ptr, data.length).set(data);
}

/** Copies data into linear memory at ptr. */
export function put(ptr: number, data: Float64Array): void {
  f64(ptr, data.length).set(data);
}

/** Copies len float64 values out of linear memory into a fresh array. */
export function take(ptr: number, len: number): Float64Array {
  // The constructor copies a shared view faster than slice() does.
  return new Float64Array(f64(ptr, len));
}
