/**
 * Dropout: the Wasm entry against the reference loops (the same mask for the same seed, the
 * values at max-norm relative 1e-10), the generator against SplitMix64's published outputs,
 * the statistics of the mask, seeds, test mode, the gradient check on both entries, bad
 * input, and the kernels' own assertions in the debug module.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import type { DropoutParam } from '../src/dropout.js';
import { numericGradient, relError } from '../src/gradcheck.js';
import { makeRng, randn, copy, size, expectClose, expectConvcoreError, instantiateModule } from './util.js';

/** The surface both entries share; caches are opaque (method syntax keeps both assignable). */
interface DropoutApi {
  dropoutForward(x: Tensor, dropoutParam: DropoutParam): { out: Tensor; cache: unknown };
  dropoutBackward(dout: Tensor, cache: unknown): { dx: Tensor };
}

const entries: [string, DropoutApi][] = [['wasm', main], ['reference', ref]];

const ones = (shape: number[]): Tensor => ({ data: new Float64Array(size(shape)).fill(1), shape });

/** Which units a forward kept: its backward of dout = 1 is 1/keepProb there and 0 elsewhere. */
function keptOf(api: DropoutApi, cache: unknown, shape: number[]): boolean[] {
  return Array.from(api.dropoutBackward(ones(shape), cache).dx.data, (v) => v !== 0);
}

interface Case { shape: number[]; keepProb: number; seed: number }

// Sizes around the 8 units of a mask byte and the 2 of an f64x2 step: 1, 2, 3, 7, 8, 9, 15, 16, 17.
const cases: Case[] = [
  { shape: [1], keepProb: 0.5, seed: 0 },
  { shape: [2], keepProb: 0.5, seed: 1 },
  { shape: [3], keepProb: 0.7, seed: 2 },
  { shape: [7], keepProb: 0.5, seed: 3 },
  { shape: [2, 4], keepProb: 0.5, seed: 4 },
  { shape: [3, 3], keepProb: 0.3, seed: 5 },
  { shape: [3, 5], keepProb: 0.5, seed: 6 },
  { shape: [4, 4], keepProb: 0.9, seed: 7 },
  { shape: [1, 17], keepProb: 0.5, seed: 8 },
  { shape: [1, 1, 1, 1], keepProb: 0.5, seed: 9 },
  { shape: [2, 3, 5, 7], keepProb: 0.25, seed: 2 ** 53 - 1 },   // the largest seed
  { shape: [3, 4, 5, 5], keepProb: 0.8, seed: 2 ** 32 + 5 },     // a seed above 32 bits
  { shape: [50, 33], keepProb: 0.01, seed: 123456789 },
  { shape: [5, 31], keepProb: 1, seed: 10 },
];

describe('dropout: wasm against the reference', () => {
  for (const c of cases) {
    it(`${JSON.stringify(c)}: same mask, out and dx at 1e-10`, () => {
      const r = makeRng(c.seed % 1000 + 11);
      const x = randn(r, c.shape);
      const xc = copy(x);
      const p: DropoutParam = { mode: 'train', keepProb: c.keepProb, seed: c.seed };
      const got = main.dropoutForward(x, p);
      const want = ref.dropoutForward(x, p);
      expect(Array.from(x.data), 'x is not mutated').toEqual(Array.from(xc.data));
      expect(keptOf(main, got.cache, c.shape)).toEqual(keptOf(ref, want.cache, c.shape));
      expectClose(got.out, want.out, 'dropoutForward out');
      const dout = randn(r, c.shape);
      const doutc = copy(dout);
      expectClose(main.dropoutBackward(dout, got.cache).dx, ref.dropoutBackward(dout, want.cache).dx, 'dropoutBackward dx');
      expect(Array.from(dout.data), 'dout is not mutated').toEqual(Array.from(doutc.data));
    });
  }
});

// SplitMix64 seeded with 1234567: its first five outputs, as published (Rosetta Code,
// "Pseudo-random numbers/Splitmix64"). Unit i draws u_i = (z_{i+1} >> 11) / 2^53.
const SPLITMIX_1234567 = [6457827717110365317n, 3203168211198807973n, 9817491932198370423n, 4593380528125082431n, 16408922859458223821n];
const U = SPLITMIX_1234567.map((z) => Number(z >> 11n) / 2 ** 53);

describe('dropout: the generator is SplitMix64', () => {
  for (const [name, api] of entries) {
    it(`${name}: with keepProb = u_j unit j is dropped (u < keepProb is strict), one step above it is kept`, () => {
      for (let j = 0; j < U.length; j++) {
        for (const keepProb of [U[j], U[j] + 2 ** -53]) {
          const { cache } = api.dropoutForward(ones([5]), { mode: 'train', keepProb, seed: 1234567 });
          expect(keptOf(api, cache, [5]), `keepProb = u_${j}${keepProb === U[j] ? '' : ' + 2^-53'}`).toEqual(U.map((u) => u < keepProb));
        }
      }
    });
  }

  it('the mask of unit i depends on the seed and i only: a shorter x gets a prefix of the mask', () => {
    const r = makeRng(21);
    const long = randn(r, [37]);
    const short = { data: long.data.slice(0, 13), shape: [13] };
    const p: DropoutParam = { mode: 'train', keepProb: 0.5, seed: 77 };
    expect(Array.from(main.dropoutForward(short, p).out.data)).toEqual(Array.from(main.dropoutForward(long, p).out.data.slice(0, 13)));
  });
});

describe('dropout: the mask', () => {
  it('keeps a fraction within 5 standard deviations of keepProb on 2e5 units, on even and odd units alike', () => {
    const n = 200000;
    for (const keepProb of [0.5, 0.3, 0.95, 0.01]) {
      for (const [name, api] of entries) {
        if (name === 'reference' && keepProb !== 0.3) continue;   // BigInt draws: one case is enough
        const { out } = api.dropoutForward(ones([n]), { mode: 'train', keepProb, seed: 2024 });
        const counts = [0, 0];
        out.data.forEach((v, i) => { if (v !== 0) counts[i & 1]++; });
        for (const [kept, units] of [[counts[0] + counts[1], n], [counts[0], n / 2], [counts[1], n / 2]]) {
          const sd = Math.sqrt(units * keepProb * (1 - keepProb));
          expect(Math.abs(kept - units * keepProb), `${name} keepProb ${keepProb}: ${kept} of ${units}`).toBeLessThanOrEqual(5 * sd);
        }
      }
    }
  });

  for (const [name, api] of entries) {
    it(`${name}: every out entry is 0 or exactly x/keepProb, and dx = dout/keepProb on the same units`, () => {
      const r = makeRng(31);
      const x = randn(r, [6, 7, 3]);
      const dout = randn(r, x.shape);
      const keepProb = 0.35;
      const { out, cache } = api.dropoutForward(x, { mode: 'train', keepProb, seed: 5 });
      const { dx } = api.dropoutBackward(dout, cache);
      let kept = 0;
      for (let i = 0; i < x.data.length; i++) {
        const k = out.data[i] !== 0;
        kept += k ? 1 : 0;
        expect(out.data[i], `out[${i}]`).toBe(k ? x.data[i] / keepProb : 0);
        expect(dx.data[i], `dx[${i}]`).toBe(k ? dout.data[i] / keepProb : 0);
      }
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(x.data.length);
    });

    it(`${name}: the same seed reproduces the mask, other seeds and no seed give other masks`, () => {
      const x = ones([1000]);
      const mask = (seed?: number): string => Array.from(api.dropoutForward(x, { mode: 'train', keepProb: 0.5, seed }).out.data, (v) => (v ? '1' : '0')).join('');
      expect(mask(42)).toBe(mask(42));
      expect(mask(42)).not.toBe(mask(43));
      expect(mask(0)).not.toBe(mask(1));
      expect(mask()).not.toBe(mask());
    });

    it(`${name}: test mode is the identity both ways, on fresh arrays`, () => {
      const r = makeRng(41);
      const x = randn(r, [3, 4]);
      const dout = randn(r, [3, 4]);
      for (const seed of [undefined, 3]) {
        const { out, cache } = api.dropoutForward(x, { mode: 'test', keepProb: 0.5, seed });
        expect(out.data).not.toBe(x.data);
        expect(Array.from(out.data)).toEqual(Array.from(x.data));
        expect(out.shape).toEqual([3, 4]);
        const { dx } = api.dropoutBackward(dout, cache);
        expect(dx.data).not.toBe(dout.data);
        expect(Array.from(dx.data)).toEqual(Array.from(dout.data));
      }
    });

    it(`${name}: keepProb = 1 keeps every unit unchanged`, () => {
      const r = makeRng(51);
      const x = randn(r, [4, 9]);
      const dout = randn(r, [4, 9]);
      const { out, cache } = api.dropoutForward(x, { mode: 'train', keepProb: 1 });
      expect(Array.from(out.data)).toEqual(Array.from(x.data));
      expect(Array.from(api.dropoutBackward(dout, cache).dx.data)).toEqual(Array.from(dout.data));
    });

    it(`${name}: gradient check of dx with a fixed seed`, () => {
      const r = makeRng(61);
      for (const [shape, keepProb] of [[[3, 4, 5], 0.6], [[2, 7], 0.3]] as [number[], number][]) {
        const x = randn(r, shape);
        const dout = randn(r, shape);
        const p: DropoutParam = { mode: 'train', keepProb, seed: 99 };
        const { cache } = api.dropoutForward(x, p);
        const { dx } = api.dropoutBackward(dout, cache);
        const numeric = numericGradient((t) => api.dropoutForward(t, p).out, x, dout);
        expect(relError(dx, numeric), `dropoutBackward dx ${JSON.stringify(shape)}`).toBeLessThan(1e-7);
      }
    });
  }
});

interface ErrorCase { what: string; fn: string; says: RegExp; call(api: DropoutApi): unknown }

const r = makeRng(71);
const x = randn(r, [2, 3]);
const train = (extra: Record<string, unknown>) => ({ mode: 'train', keepProb: 0.5, seed: 1, ...extra }) as unknown as DropoutParam;
const bad = <T>(v: unknown): T => v as T;

const errorCases: ErrorCase[] = [
  { what: 'keepProb 0', fn: 'dropoutForward', says: /keepProb must be a number in \(0, 1\].*got 0$/, call: (a) => a.dropoutForward(x, train({ keepProb: 0 })) },
  { what: 'keepProb 1.5', fn: 'dropoutForward', says: /keepProb must be a number in \(0, 1\].*got 1\.5$/, call: (a) => a.dropoutForward(x, train({ keepProb: 1.5 })) },
  { what: 'keepProb NaN', fn: 'dropoutForward', says: /keepProb must be .*got NaN$/, call: (a) => a.dropoutForward(x, train({ keepProb: NaN })) },
  { what: 'keepProb negative', fn: 'dropoutForward', says: /keepProb must be .*got -0\.5$/, call: (a) => a.dropoutForward(x, train({ keepProb: -0.5 })) },
  { what: 'keepProb missing', fn: 'dropoutForward', says: /keepProb must be .*got undefined$/, call: (a) => a.dropoutForward(x, bad({ mode: 'train' })) },
  { what: 'keepProb a string', fn: 'dropoutForward', says: /keepProb must be .*got "0\.5"$/, call: (a) => a.dropoutForward(x, train({ keepProb: '0.5' })) },
  { what: 'a p key', fn: 'dropoutForward', says: /"p".*CS231n.*keeping.*PyTorch.*dropping.*keepProb/, call: (a) => a.dropoutForward(x, bad({ mode: 'train', p: 0.5 })) },
  { what: 'a p key next to keepProb', fn: 'dropoutForward', says: /"p".*keepProb/, call: (a) => a.dropoutForward(x, train({ p: 0.5 })) },
  { what: 'an unknown key', fn: 'dropoutForward', says: /dropoutParam has an unknown key "rate"; the valid keys are mode, keepProb, seed/, call: (a) => a.dropoutForward(x, train({ rate: 0.5 })) },
  { what: 'mode missing', fn: 'dropoutForward', says: /mode must be 'train' or 'test', got undefined/, call: (a) => a.dropoutForward(x, bad({ keepProb: 0.5 })) },
  { what: 'mode "eval"', fn: 'dropoutForward', says: /mode must be 'train' or 'test', got "eval"/, call: (a) => a.dropoutForward(x, train({ mode: 'eval' })) },
  { what: 'seed -1', fn: 'dropoutForward', says: /seed must be a non-negative safe integer.*got -1$/, call: (a) => a.dropoutForward(x, train({ seed: -1 })) },
  { what: 'seed 1.5', fn: 'dropoutForward', says: /seed must be a non-negative safe integer.*got 1\.5$/, call: (a) => a.dropoutForward(x, train({ seed: 1.5 })) },
  { what: 'seed 2^53', fn: 'dropoutForward', says: /seed must be a non-negative safe integer.*got 9007199254740992$/, call: (a) => a.dropoutForward(x, train({ seed: 2 ** 53 })) },
  { what: 'seed a string', fn: 'dropoutForward', says: /seed must be .*got "7"$/, call: (a) => a.dropoutForward(x, train({ seed: '7' })) },
  { what: 'seed null', fn: 'dropoutForward', says: /seed must be .*got null$/, call: (a) => a.dropoutForward(x, train({ seed: null })) },
  { what: 'dropoutParam missing', fn: 'dropoutForward', says: /dropoutParam must be an object \{mode, keepProb, seed\}, got undefined/, call: (a) => a.dropoutForward(x, bad(undefined)) },
  { what: 'dropoutParam a number', fn: 'dropoutForward', says: /dropoutParam must be an object .*got 0\.5/, call: (a) => a.dropoutForward(x, bad(0.5)) },
  { what: 'x not a tensor', fn: 'dropoutForward', says: /x must be a Tensor/, call: (a) => a.dropoutForward(bad([1, 2]), train({})) },
  { what: 'x.data a Float32Array', fn: 'dropoutForward', says: /x\.data must be a Float64Array/, call: (a) => a.dropoutForward(bad({ data: new Float32Array(2), shape: [2] }), train({})) },
  {
    what: 'dout shaped unlike the output', fn: 'dropoutBackward', says: /dout must have shape \(2,3\).*got \(3,2\)/,
    call: (a) => a.dropoutBackward(randn(r, [3, 2]), a.dropoutForward(x, train({})).cache),
  },
  {
    what: 'dout shaped unlike the output, test mode', fn: 'dropoutBackward', says: /dout must have shape \(2,3\).*got \(6\)/,
    call: (a) => a.dropoutBackward(randn(r, [6]), a.dropoutForward(x, train({ mode: 'test' })).cache),
  },
  { what: 'a relu cache', fn: 'dropoutBackward', says: /cache must be the cache returned by dropoutForward/, call: (a) => a.dropoutBackward(x, (a === main ? main : ref).reluForward(x).cache) },
  { what: 'a cache from the other entry', fn: 'dropoutBackward', says: /cache must be the cache returned by dropoutForward/, call: (a) => a.dropoutBackward(x, (a === main ? ref : main).dropoutForward(x, train({})).cache) },
  { what: 'a plain object as cache', fn: 'dropoutBackward', says: /cache must be the cache returned by dropoutForward/, call: (a) => a.dropoutBackward(x, { kind: 'dropout', forward: 'dropoutForward' }) },
];

describe('dropout: bad input', () => {
  for (const [name, api] of entries) {
    for (const c of errorCases) {
      it(`${name}: ${c.what}`, () => {
        expectConvcoreError(() => c.call(api), c.says, c.fn);
      });
    }
  }

  it('the module still computes correctly after the errors', () => {
    const xx = randn(makeRng(81), [4, 5]);
    const p: DropoutParam = { mode: 'train', keepProb: 0.4, seed: 8 };
    const got = main.dropoutForward(xx, p);
    const want = ref.dropoutForward(xx, p);
    expectClose(got.out, want.out, 'out');
    expectClose(main.dropoutBackward(xx, got.cache).dx, ref.dropoutBackward(xx, want.cache).dx, 'dx');
  });
});

describe('dropout: the kernels in the debug module', () => {
  const k = instantiateModule<{
    memory: WebAssembly.Memory; heap_base(): number;
    dropout_forward(x: number, out: number, mask: number, n: number, keepProb: number, seed: number): void;
    dropout_backward(dout: number, mask: number, dx: number, n: number, keepProb: number): void;
  }>(new URL('../build/convcore.debug.wasm', import.meta.url));
  const base = Math.ceil(k.heap_base() / 64) * 64;
  const n = 21;
  const [px, pout, pmask, pdx] = [base, base + 256, base + 512, base + 576];

  it('computes what the reference computes', () => {
    const xx = randn(makeRng(91), [n]);
    new Float64Array(k.memory.buffer, px, n).set(xx.data);
    k.dropout_forward(px, pout, pmask, n, 0.5, 12);
    const want = ref.dropoutForward(xx, { mode: 'train', keepProb: 0.5, seed: 12 });
    expect(Array.from(new Float64Array(k.memory.buffer, pout, n))).toEqual(Array.from(want.out.data));
    k.dropout_backward(px, pmask, pdx, n, 0.5);
    expect(Array.from(new Float64Array(k.memory.buffer, pdx, n))).toEqual(Array.from(ref.dropoutBackward(xx, want.cache).dx.data));
  });

  it('asserts n > 0, keepProb in (0, 1], a safe integer seed, and buffers inside memory', () => {
    const end = k.memory.buffer.byteLength;
    expect(() => k.dropout_forward(px, pout, pmask, 0, 0.5, 1)).toThrow('kernel assertion');
    expect(() => k.dropout_forward(px, pout, pmask, n, 0, 1)).toThrow('kernel assertion');
    expect(() => k.dropout_forward(px, pout, pmask, n, 1.5, 1)).toThrow('kernel assertion');
    expect(() => k.dropout_forward(px, pout, pmask, n, 0.5, -1)).toThrow('kernel assertion');
    expect(() => k.dropout_forward(px, pout, pmask, n, 0.5, 0.5)).toThrow('kernel assertion');
    expect(() => k.dropout_forward(px, end - 8, pmask, n, 0.5, 1)).toThrow('kernel assertion');
    expect(() => k.dropout_backward(px, end - 2, pdx, n, 0.5)).toThrow('kernel assertion');
    expect(() => k.dropout_backward(px, pmask, pdx, n, NaN)).toThrow('kernel assertion');
  });
});
