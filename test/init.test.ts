/**
 * Loading and giving memory back, in Node. Vitest isolates test files, so this file starts
 * with no module loaded, and its tests run in order on that one module state:
 * - init() with a source that is not a convcore module says what was given;
 * - init() is idempotent even when an op loaded the module synchronously while an init()
 *   was pending: the pending one keeps the loaded module (no second instance);
 * - init's options object rejects a key it does not know, loaded or not;
 * - releaseMemory() drops the memory a large call grew, back to a fresh module's size (the
 *   old instance is collected and the process's resident set shrinks by that much), and the
 *   ops (and the caches returned before) still compute what the reference computes.
 */
import { describe, it, expect } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { ConvcoreError } from '../src/index.js';
import { kernels, reserve, f64 } from '../src/wasm.js';
import { CONTROL_BYTES } from '../src/claim.js';
import { makeRng, randn, expectClose, instantiateModule, rejection } from './util.js';

const wasmUrl = new URL('../build/convcore.wasm', import.meta.url);

/**
 * A freshly loaded module, measured on an instance of its own: `base`, where its arena starts
 * (after the static data and the thread pool's control block, src/threads.ts, each 64-byte
 * aligned), the highest address it needs before any call; and `bytes`, its memory size: the
 * memory it is instantiated with, or the pages up to base if that is more.
 */
function fresh(): { bytes: number; base: number } {
  const exports = instantiateModule(wasmUrl);
  const ctrl = Math.ceil(exports.heap_base() / 64) * 64;
  const base = Math.ceil((ctrl + CONTROL_BYTES) / 64) * 64;
  const page = 65536;
  return { bytes: Math.max(exports.memory.buffer.byteLength, Math.ceil(base / page) * page), base };
}

function freshBytes(): number {
  return fresh().bytes;
}

/** A full garbage collection, after the current job (so that WeakRefs may be cleared). */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  await new Promise((resolve) => setImmediate(resolve));
}

describe('init before anything is loaded', () => {
  it('names what it was given when the bytes or module are not a convcore module', async () => {
    const bytes = await rejection(main.init({ wasm: new Uint8Array([1, 2, 3, 4]) }));
    expect(bytes).toBeInstanceOf(ConvcoreError);
    expect(bytes.message).toMatch(/^init: the given bytes are not a loadable convcore WebAssembly module: /);
    // A valid but empty module: it compiles and instantiates, and has no kernels.
    const empty = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    const module = await rejection(main.init(empty));
    expect(module).toBeInstanceOf(ConvcoreError);
    expect(module.message).toMatch(/^init: the given WebAssembly\.Module is not a loadable convcore WebAssembly module: /);
  });

  it('rejects an unknown key in its options, naming the valid ones, before loading anything', async () => {
    const e = await rejection(main.init({ wsm: wasmUrl } as never));
    expect(e).toBeInstanceOf(ConvcoreError);
    expect(e.message).toBe('init: options has an unknown key "wsm"; the valid keys are wasm, threads, simd');
    const n = await rejection(main.init(null as never));
    expect(n.message).toBe('init: options must be an object { wasm, threads, simd } or a WebAssembly source, got null');
    const s = await rejection(main.init(3 as never));
    expect(s.message).toMatch(/^init: options must be .* got 3$/);
  });
});

describe('init and a synchronous first op', () => {
  it('a pending init() keeps the module an op loaded meanwhile', async () => {
    const pending = main.init();
    // In Node the op loads the module synchronously, before the pending init() settles.
    const x = main.tensor([1, -2, 3, -4], [2, 2]);
    expect(Array.from(main.reluForward(x).out.data)).toEqual([1, 0, 3, 0]);
    const first = kernels();
    // A view of the memory the op loaded: the memory is shared, so a view taken now still
    // sees what is written into that memory later, whatever it grows to.
    const [probe] = reserve('test', [8]);
    const firstView = f64(probe, 1);
    await pending;
    expect(kernels(), 'the same instance after init() settles').toBe(first);
    await main.init({ wasm: wasmUrl });
    expect(kernels(), 'a later init() with a source keeps it too').toBe(first);
    // Memory statistics are those of that one instance: a call's peak is still seen.
    const r = makeRng(5);
    main.convForward(randn(r, [2, 3, 16, 16]), randn(r, [4, 3, 3, 3]), randn(r, [4]), { pad: 1 });
    const now = f64(probe, 1);
    now[0] = 1234.5;
    expect(firstView[0], 'the ops write to the memory the first op loaded').toBe(1234.5);
    expect(main.memoryStats().bytes).toBe(now.buffer.byteLength);
    expect(main.memoryStats().peak).toBeGreaterThan(2 * 3 * 16 * 16 * 8);
  });

  it('rejects an unknown key once loaded too', async () => {
    const e = await rejection(main.init({ wasm: wasmUrl, source: wasmUrl } as never));
    expect(e.message).toBe('init: options has an unknown key "source"; the valid keys are wasm, threads, simd');
  });
});

describe('releaseMemory', () => {
  it('gives the memory a large call grew back to the process; the ops and earlier caches still work', async () => {
    const base = freshBytes();
    const r = makeRng(19);
    const x = randn(r, [2, 3, 9, 8]);
    const w = randn(r, [4, 3, 3, 3]);
    const b = randn(r, [4]);
    const fwd = main.convForward(x, w, b, { pad: 1 });
    // 2^20 values in and out: 16 MiB, far above a fresh module's memory. The input and the
    // result stay referenced until the end, so that only WebAssembly memory can be freed.
    const big = main.tensor(new Float64Array(2 ** 20).fill(-1), [2 ** 10, 2 ** 10]);
    const res = main.reluForward(big);
    const grown = main.memoryStats().bytes;
    expect(grown).toBeGreaterThanOrEqual(base + 16 * 2 ** 20);
    const old = new WeakRef(kernels());
    await settle();
    const rssGrown = process.memoryUsage().rss;

    main.releaseMemory();
    const after = main.memoryStats();
    expect(kernels(), 'a new instance').not.toBe(old.deref());
    expect(after.bytes, 'back to a fresh module\'s size').toBe(base);
    expect(after.peak, 'the large call\'s peak is forgotten').toBe(0);
    // The old instance and its memory are garbage: the process's resident set shrinks. V8
    // unmaps a collected memory's pages in its own time, so the reading is retried for up to
    // two seconds; the bound itself does not change.
    await settle();
    expect(old.deref(), 'the old instance was collected').toBeUndefined();
    let freed = rssGrown - process.memoryUsage().rss;
    for (let tries = 0; tries < 40 && !(freed > 12 * 2 ** 20); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await settle();
      freed = rssGrown - process.memoryUsage().rss;
    }
    expect(freed, `resident memory given back (${(freed / 2 ** 20).toFixed(1)} MiB)`).toBeGreaterThan(12 * 2 ** 20);
    expect(res.out.data[0] + big.data[0]).toBe(-1);

    // A cache from before the release holds its own copies: the backward still agrees.
    const want = ref.convForward(x, w, b, { pad: 1 });
    expectClose(fwd.out, want.out, 'out before the release');
    const dout = randn(r, want.out.shape);
    const g = main.convBackward(dout, fwd.cache);
    const e = ref.convBackward(dout, want.cache);
    expectClose(g.dx, e.dx, 'dx after the release');
    expectClose(g.dw, e.dw, 'dw after the release');
    expectClose(g.db, e.db, 'db after the release');
    // And new calls compute as before.
    const xs = randn(r, [2, 3, 6, 6]);
    const pool = { poolHeight: 2, poolWidth: 2 };
    expectClose(main.maxPoolForward(xs, pool).out, ref.maxPoolForward(xs, pool).out, 'maxPool after the release');
  });

  it('can be called twice, and before the next op has loaded anything', () => {
    main.releaseMemory();
    main.releaseMemory();
    const x = main.tensor([1, -2], [2]);
    expect(Array.from(main.reluForward(x).out.data)).toEqual([1, 0]);
  });

  it('init() after a release instantiates the same module again, asynchronously', async () => {
    main.releaseMemory();
    await main.init();
    const k = kernels();
    expect(main.memoryStats().bytes).toBe(freshBytes());
    expect(Array.from(main.reluForward(main.tensor([-1, 2], [2])).out.data)).toEqual([0, 2]);
    expect(kernels()).toBe(k);
  });
});
