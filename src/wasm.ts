/**
 * The one place that knows how the WebAssembly module is found, instantiated and how
 * its memory is handed out. Every op reserves its buffers from one arena that starts
 * at the heap base; the arena is given back when the op returns, so memory only grows
 * to what the largest call needed.
 */
import { instantiate, instantiateSync } from '@assemblyscript/loader';
import { ConvcoreError, fail } from './errors.js';
import type { Kernels } from './kernels.js';

/** Where the `.wasm` comes from: a URL or path, its bytes, a compiled module, or a fetch Response. */
export type WasmSource = string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module | Response;

export interface InitOptions {
  wasm?: WasmSource;
}

interface Loaded {
  k: Kernels;
  memory: WebAssembly.Memory;
  base: number;
}

/** A 32-bit module addresses at most 65536 pages of 64 KiB. */
const PAGE = 65536;
const MAX_BYTES = 65536 * PAGE;
/** Buffers start on cache-line boundaries, which also satisfies v128 alignment. */
const ALIGN = 64;

let loaded: Loaded | null = null;
/** The highest address any call has reserved up to: what the largest call needed. */
let peak = 0;
let pending: Promise<void> | null = null;
let readSync: ((source: string | URL) => Uint8Array) | null = null;
let defaultSource: (() => WasmSource) | null = null;

/** Set by the Node entry: reads a file synchronously, so that ops work without init(). */
export function setFileReader(reader: (source: string | URL) => Uint8Array): void {
  readSync = reader;
}

/** Set by each entry: where the module is when init() is given no source. */
export function setDefaultSource(source: () => WasmSource): void {
  defaultSource = source;
}

function readString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
}

/** The module's imports: only `abort`, which turns a failed kernel assertion into an Error. */
function imports(): { env: Record<string, unknown> } {
  return {
    env: {
      abort(msg: number, file: number, line: number, col: number): never {
        const text = loaded ? `${readString(loaded.memory, msg)} at ${readString(loaded.memory, file)}:${line}:${col}` : `at line ${line}`;
        throw new ConvcoreError(`convcore: a kernel assertion failed: ${text}`);
      },
    },
  };
}

function adopt(exports: Record<string, unknown>): void {
  const memory = exports.memory as WebAssembly.Memory;
  const k = exports as unknown as Kernels;
  const base = Math.ceil(k.heap_base() / ALIGN) * ALIGN;
  loaded = { k, memory, base };
}

function isFileLike(source: string | URL): boolean {
  const href = String(source);
  return !/^(https?|blob|data):/i.test(href);
}

function describeSource(source: WasmSource): string {
  if (typeof source === 'string' || source instanceof URL) return String(source);
  return source instanceof WebAssembly.Module ? 'a WebAssembly.Module' : 'the given bytes';
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

async function bytesOrModule(source: WasmSource): Promise<BufferSource | WebAssembly.Module | Response> {
  if (typeof source === 'string' || source instanceof URL) {
    if (readSync && isFileLike(source)) {
      try {
        return readSync(source);
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

/**
 * Loads the module. Idempotent: once loaded, later calls return at once. In a browser it
 * must be awaited before any op; in Node the ops load the module on first use.
 */
export function init(options?: InitOptions | WasmSource): Promise<void> {
  if (loaded) return Promise.resolve();
  if (pending) return pending;
  const given = options !== undefined && typeof options === 'object' && !(options instanceof URL)
    && !(options instanceof WebAssembly.Module) && !ArrayBuffer.isView(options) && !(options instanceof ArrayBuffer)
    && !(typeof Response !== 'undefined' && options instanceof Response)
    ? (options as InitOptions).wasm
    : (options as WasmSource | undefined);
  const source = given ?? (defaultSource ? defaultSource() : undefined);
  if (source === undefined) return Promise.reject(new ConvcoreError('init: no WebAssembly source is known for this entry; pass init({ wasm: url })'));
  pending = (async () => {
    const bytes = await bytesOrModule(source);
    let result;
    try {
      result = await instantiate(bytes as never, imports());
    } catch (e) {
      if (e instanceof ConvcoreError) throw e;
      fail(`init: ${describeSource(source)} is not a loadable convcore WebAssembly module: ${(e as Error).message}`);
    }
    adopt(result.exports as unknown as Record<string, unknown>);
  })().finally(() => { pending = null; });
  return pending;
}

function load(): Loaded {
  if (loaded) return loaded;
  if (readSync && defaultSource) {
    const source = defaultSource();
    const bytes = source instanceof WebAssembly.Module || ArrayBuffer.isView(source) || source instanceof ArrayBuffer
      ? source
      : readSync(source as string | URL);
    adopt(instantiateSync(bytes as never, imports()).exports as unknown as Record<string, unknown>);
    return loaded!;
  }
  throw new ConvcoreError('convcore: the WebAssembly module is not loaded; call `await init()` before the first op');
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
  const { memory, base } = load();
  const ptrs: number[] = [];
  let top = base;
  for (const b of bytes) {
    ptrs.push(top);
    top += Math.ceil(b / ALIGN) * ALIGN;
  }
  if (!(top <= MAX_BYTES)) {
    fail(`${fn}: this call needs ${formatBytes(top)} of WebAssembly memory, more than the 4 GiB a 32-bit module can address`);
  }
  const have = memory.buffer.byteLength;
  if (top > have) {
    try {
      memory.grow(Math.ceil((top - have) / PAGE));
    } catch (e) {
      fail(`${fn}: could not grow WebAssembly memory to ${formatBytes(top)}: ${(e as Error).message}`);
    }
  }
  if (top > peak) peak = top;
  return ptrs;
}

function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/**
 * The size of linear memory in bytes and the highest address a call has needed
 * (for tests and diagnostics): memory never grows past the page holding `peak`.
 */
export function memoryStats(): { bytes: number; peak: number; pageBytes: number } {
  return { bytes: load().memory.buffer.byteLength, peak, pageBytes: PAGE };
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
  return new Uint8Array(load().memory.buffer, ptr, len).slice();
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
  return f64(ptr, len).slice();
}
