import { describe, it, expect } from 'vitest';
import {
  tensor, convForward, convBackward, maxPoolForward, maxPoolBackward, batchnormForward,
  spatialBatchnormForward, spatialBatchnormBackward, reluForward, affineForward, affineBackward,
  softmaxLoss, transpose, avgPoolForward,
} from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { memoryStats, allocResident, freeResident, f64 } from '../src/wasm.js';
import { makeRng, size } from './random.js';
import type { Rng } from './random.js';

/** Uniform entries in [-1, 1), from the seeded generator the other tests use. */
function randTensor(r: Rng, shape: number[]) {
  const d = new Float64Array(size(shape));
  for (let i = 0; i < d.length; i++) d[i] = r.uniform(-1, 1);
  return tensor(d, shape);
}

const pages = (bytes: number, page: number) => Math.ceil(bytes / page) * page;

/** One call of a randomly chosen op on a random small shape. */
function mixedCall(r: Rng, i: number): void {
  const int = (lo: number, hi: number) => r.int(lo, hi);
  switch (i % 7) {
    case 0: {
      const C = int(1, 4), F = int(1, 6), K = int(1, 3);
      const x = randTensor(r, [int(1, 3), C, int(K, 9), int(K, 9)]);
      const w = randTensor(r, [F, C, K, K]);
      const { out, cache } = convForward(x, w, randTensor(r, [F]), { stride: int(1, 2), pad: int(0, 2) });
      convBackward(out, cache);
      break;
    }
    case 1: {
      const x = randTensor(r, [int(1, 3), int(1, 4), int(2, 10), int(2, 10)]);
      const { out, cache } = maxPoolForward(x, { poolHeight: 2, poolWidth: 2, stride: int(1, 2) });
      maxPoolBackward(out, cache);
      avgPoolForward(x, { poolHeight: 2, poolWidth: 1 });
      break;
    }
    case 2: {
      const D = int(1, 20);
      batchnormForward(randTensor(r, [int(2, 30), D]), randTensor(r, [D]), randTensor(r, [D]), { mode: 'train' });
      break;
    }
    case 3: {
      const C = int(1, 5);
      const x = randTensor(r, [int(1, 4), C, int(1, 8), int(1, 8)]);
      const { out, cache } = spatialBatchnormForward(x, randTensor(r, [C]), randTensor(r, [C]), { mode: 'train' });
      spatialBatchnormBackward(out, cache);
      break;
    }
    case 4:
      reluForward(randTensor(r, [int(1, 50), int(1, 50)]));
      break;
    case 5: {
      const D = int(1, 30), M = int(1, 20);
      const { out, cache } = affineForward(randTensor(r, [int(1, 20), D]), randTensor(r, [D, M]), randTensor(r, [M]));
      affineBackward(out, cache);
      softmaxLoss(out, Array.from({ length: out.shape[0] }, () => int(0, M - 1)));
      break;
    }
    default:
      transpose(randTensor(r, [int(1, 5), int(1, 5), int(1, 5)]), [2, 0, 1]);
  }
}

describe('memory', () => {
  it('stops growing once the largest call has been seen, over a thousand mixed calls', () => {
    const r = makeRng(7);
    // The largest call comes first; nothing after it may grow the memory.
    const big = convForward(randTensor(r, [4, 8, 40, 40]), randTensor(r, [16, 8, 5, 5]), randTensor(r, [16]), { pad: 2 });
    convBackward(big.out, big.cache);
    const after = memoryStats();
    expect(after.bytes).toBe(pages(after.peak, after.pageBytes));
    for (let i = 0; i < 1000; i++) mixedCall(r, i);
    const end = memoryStats();
    expect(end.peak).toBe(after.peak);
    expect(end.bytes).toBe(after.bytes);
  });

  it('grows only to the page that holds what the largest call needed', () => {
    const r = makeRng(11);
    const x = randTensor(r, [6, 8, 64, 64]);
    const { out, cache } = convForward(x, randTensor(r, [24, 8, 3, 3]), randTensor(r, [24]), { pad: 1 });
    convBackward(out, cache);
    const s = memoryStats();
    expect(s.bytes).toBe(pages(s.peak, s.pageBytes));
    for (let i = 0; i < 50; i++) mixedCall(r, i);
    expect(memoryStats().bytes).toBe(s.bytes);
  });

  it('refuses a request that cannot fit in 32-bit memory before allocating, and keeps working', () => {
    const before = memoryStats();
    const x = tensor(new Float64Array([1]), [1, 1, 1, 1]);
    // out (1, 10000, 1001, 1001) would hold about 10^10 values: more than one tensor can.
    const w = tensor(new Float64Array(10000).fill(1), [10000, 1, 1, 1]);
    const b = tensor(new Float64Array(10000), [10000]);
    expect(() => convForward(x, w, b, { pad: 500 })).toThrow(/^convForward: .*more than .*4 GiB/);
    expect(memoryStats()).toEqual(before);
    // out (1, 8192, 256, 256) holds 2^29 values, 4 GiB: it fits a tensor, but not with x, w and b.
    const w2 = tensor(new Float64Array(8192 * 4).fill(1), [8192, 1, 2, 2]);
    const b2 = tensor(new Float64Array(8192), [8192]);
    expect(() => convForward(x, w2, b2, { pad: 128 })).toThrow(/^convForward: this call needs 4\.0 GiB of WebAssembly memory, more than the 4 GiB/);
    expect(memoryStats()).toEqual(before);
    // The module still computes correctly afterwards.
    const r = makeRng(3);
    const xs = randTensor(r, [2, 3, 6, 5]), ws = randTensor(r, [4, 3, 3, 2]), bs = randTensor(r, [4]);
    const got = convForward(xs, ws, bs, { stride: 2, pad: 1 }).out.data;
    const want = ref.convForward(xs, ws, bs, { stride: 2, pad: 1 }).out.data;
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    expect(err).toBeLessThan(1e-12);
  });
});

/** A live resident block: where it is, how many bytes were asked for, and the value it was filled with. */
interface Block { ptr: number; bytes: number; tag: number }

/** The pairs of live blocks whose byte ranges [ptr, ptr + bytes) overlap, as text. */
function overlaps(live: readonly Block[]): string[] {
  const sorted = live.slice().sort((a, b) => a.ptr - b.ptr);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j].ptr < sorted[i].ptr + sorted[i].bytes; j++) {
      out.push(`[${sorted[i].ptr}, +${sorted[i].bytes}) and [${sorted[j].ptr}, +${sorted[j].bytes})`);
    }
  }
  return out;
}

function fill(b: Block): void {
  f64(b.ptr, b.bytes / 8).fill(b.tag);
}

/** The blocks that no longer hold the value they were filled with. */
function overwritten(live: readonly Block[]): number[] {
  return live.filter((b) => !f64(b.ptr, b.bytes / 8).every((v) => v === b.tag)).map((b) => b.tag);
}

describe('resident blocks', () => {
  it('blocks cut from a freed block do not overlap each other or their neighbours', () => {
    const live: Block[] = [];
    const alloc = (bytes: number): Block => {
      const b = { ptr: allocResident('test', bytes), bytes, tag: live.length + 1 };
      live.push(b);
      fill(b);
      return b;
    };
    const free = (b: Block): void => {
      freeResident(b.ptr, b.bytes);
      live.splice(live.indexOf(b), 1);
    };
    const a = alloc(4096);
    alloc(64);              // keeps a's block below the top once a is freed
    free(a);
    // 4096 free bytes, cut into 1024 + 512 + 2048 + 512: each split of the free block.
    const parts = [alloc(1024), alloc(512), alloc(2048), alloc(512)];
    expect(overlaps(live)).toEqual([]);
    expect(new Set(parts.map((b) => b.ptr)).size).toBe(parts.length);
    expect(parts[0].ptr).toBe(a.ptr);
    expect(overwritten(live)).toEqual([]);
    for (const b of live.slice()) free(b);
  });

  it('a seeded run of allocations and frees keeps every live block apart and intact, also across calls', () => {
    const r = makeRng(17);
    const live: Block[] = [];
    let tag = 0;
    for (let step = 0; step < 400; step++) {
      if (live.length > 0 && r.chance(0.45)) {
        const b = live[r.int(0, live.length - 1)];
        freeResident(b.ptr, b.bytes);
        live.splice(live.indexOf(b), 1);
      } else {
        // Sizes that are and are not multiples of the 64-byte alignment, small and large.
        const bytes = 8 * (r.chance(0.5) ? r.int(1, 16) : r.int(17, 1024));
        const b = { ptr: allocResident('test', bytes), bytes, tag: ++tag };
        live.push(b);
        fill(b);
        expect(overlaps(live), `step ${step}`).toEqual([]);
      }
      // Now and then a call, whose per-call buffers must lie clear of the blocks.
      if (step % 50 === 49) mixedCall(r, step);
    }
    expect(live.length).toBeGreaterThan(10);
    expect(overwritten(live)).toEqual([]);
    for (const b of live) freeResident(b.ptr, b.bytes);
  });
});
