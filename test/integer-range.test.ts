/**
 * Integers that reach the kernels (issue 9, item 1). The kernels' integers are i32: a
 * stride, pad or window beyond 2^31 − 1 would wrap (2^32 reads as 0), and a padded size or
 * an output that does not fit would make offsets wrap. Each must be refused with a
 * ConvcoreError that names the argument, on both entries (they share the checks), before
 * anything is computed; values at the edge of the range still compute what the reference
 * computes.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import { Api, makeRng, randn, expectClose, expectConvcoreError } from './util.js';

const I32_MAX = 2 ** 31 - 1;
const r = makeRng(901);
const x = randn(r, [1, 1, 4, 4]);
const w = randn(r, [1, 1, 1, 1]);
const b = randn(r, [1]);
const bad = <T>(v: unknown): T => v as T;

const entries: [string, Api][] = [['wasm', main], ['reference', ref]];

interface Case {
  what: string;
  /** The start of the message: the function and the argument it names. */
  says: RegExp;
  call(api: Api): unknown;
}

const conv = (api: Api, param: unknown, xt: Tensor = x, wt: Tensor = w, bt: Tensor = b) =>
  api.convForward(xt, wt, bt, bad(param));
const pool = (api: Api, param: unknown) => api.maxPoolForward(x, bad(param));
const avg = (api: Api, param: unknown) => api.avgPoolForward(x, bad(param));

const cases: Case[] = [
  // The example: both wrap to 0 in an i32; the stride is checked first.
  { what: 'stride 2^32 and pad 2^32', says: /^convForward: stride must be a positive integer .*got 4294967296$/, call: (a) => conv(a, { stride: 2 ** 32, pad: 2 ** 32 }) },
  { what: 'stride 2^31', says: /^convForward: stride .*at most 2147483647.*got 2147483648$/, call: (a) => conv(a, { stride: 2 ** 31 }) },
  { what: 'stride 1e300', says: /^convForward: stride .*got 1e\+300$/, call: (a) => conv(a, { stride: 1e300 }) },
  { what: 'stride 2^53 + 2 (not a safe integer)', says: /^convForward: stride .*got 9007199254740994$/, call: (a) => conv(a, { stride: 2 ** 53 + 2 }) },
  { what: 'stride pair with 2^32 for the width', says: /^convForward: stride .*got \[1, 4294967296\]$/, call: (a) => conv(a, { stride: [1, 2 ** 32] }) },
  { what: 'pad 2^32', says: /^convForward: pad must be a non-negative integer .*got 4294967296$/, call: (a) => conv(a, { pad: 2 ** 32 }) },
  { what: 'pad 2^31', says: /^convForward: pad .*got 2147483648$/, call: (a) => conv(a, { pad: 2 ** 31 }) },
  { what: 'pad pair with 1e300', says: /^convForward: pad .*got \[1e\+300, 0\]$/, call: (a) => conv(a, { pad: [1e300, 0] }) },
  // Within an i32, but H + 2P is not.
  { what: 'pad 2^30 (H + 2P past 2^31 − 1)', says: /^convForward: pad 1073741824,1073741824 makes the padded input 2147483652x2147483652/, call: (a) => conv(a, { pad: 2 ** 30 }) },
  { what: 'pad [0, 2^30 − 1] (W + 2P past 2^31 − 1)', says: /^convForward: pad 0,1073741823 makes the padded input 4x2147483650/, call: (a) => conv(a, { pad: [0, 2 ** 30 - 1] }) },
  // Every value fits, but the output does not (the reference could not allocate it either).
  { what: 'pad 2^14 (an output of 2^30 values)', says: /^convForward: this call needs .* GiB for an output of shape \(1,1,32772,32772\) \(from stride 1,1 and pad 16384,16384\)/, call: (a) => conv(a, { pad: 2 ** 14 }) },
  { what: 'many filters on a padded input', says: /\(from stride 1,1 and pad 100,100\)/, call: (a) => conv(a, { pad: 100 }, x, randn(r, [20000, 1, 1, 1]), randn(r, [20000])) },

  { what: 'max pool stride 2^32', says: /^maxPoolForward: stride must be a positive integer .*got 4294967296$/, call: (a) => pool(a, { poolHeight: 2, poolWidth: 2, stride: 2 ** 32 }) },
  { what: 'max pool stride 2^31', says: /^maxPoolForward: stride .*got 2147483648$/, call: (a) => pool(a, { poolHeight: 2, poolWidth: 2, stride: 2 ** 31 }) },
  { what: 'max pool stride 1e300', says: /^maxPoolForward: stride .*got 1e\+300$/, call: (a) => pool(a, { poolHeight: 2, poolWidth: 2, stride: 1e300 }) },
  { what: 'max pool stride pair [2^32, 1]', says: /^maxPoolForward: stride .*got \[4294967296, 1\]$/, call: (a) => pool(a, { poolHeight: 2, poolWidth: 2, stride: [2 ** 32, 1] }) },
  { what: 'max pool poolHeight 2^32', says: /^maxPoolForward: poolHeight must be a positive integer no larger than 2147483647, got 4294967296$/, call: (a) => pool(a, { poolHeight: 2 ** 32, poolWidth: 2 }) },
  { what: 'max pool poolWidth 1e300', says: /^maxPoolForward: poolWidth .*got 1e\+300$/, call: (a) => pool(a, { poolHeight: 2, poolWidth: 1e300 }) },
  { what: 'avg pool stride 2^32', says: /^avgPoolForward: stride .*got 4294967296$/, call: (a) => avg(a, { poolHeight: 2, poolWidth: 2, stride: 2 ** 32 }) },
  { what: 'avg pool poolWidth 2^31', says: /^avgPoolForward: poolWidth .*got 2147483648$/, call: (a) => avg(a, { poolHeight: 1, poolWidth: 2 ** 31 }) },
];

describe.each(entries)('integers beyond the kernels\' i32 (%s)', (_, api) => {
  it.each(cases.map((c) => [c.what, c] as const))('%s', (_what, c) => {
    expectConvcoreError(() => c.call(api), c.says);
  });
});

describe('values at the edge of the i32 range compute what the reference computes', () => {
  const xs = randn(r, [2, 2, 5, 6]);
  const ws = randn(r, [3, 2, 2, 3]);
  const bs = randn(r, [3]);
  const convParams = [
    { stride: I32_MAX },                     // one window per image
    { stride: [1, I32_MAX] as [number, number], pad: [2, 0] as [number, number] },
    { stride: [I32_MAX, 2] as [number, number], pad: 1 },
  ];
  it.each(convParams.map((p) => [JSON.stringify(p), p] as const))('conv %s', (_, p) => {
    const got = main.convForward(xs, ws, bs, p);
    const want = ref.convForward(xs, ws, bs, p);
    expectClose(got.out, want.out, 'out');
    const dout = randn(r, want.out.shape);
    const g = main.convBackward(dout, got.cache);
    const e = ref.convBackward(dout, want.cache);
    expectClose(g.dx, e.dx, 'dx');
    expectClose(g.dw, e.dw, 'dw');
    expectClose(g.db, e.db, 'db');
  });

  const poolParams = [
    { poolHeight: 2, poolWidth: 3, stride: I32_MAX },
    { poolHeight: 5, poolWidth: 2, stride: [I32_MAX, 1] as [number, number] },
  ];
  it.each(poolParams.map((p) => [JSON.stringify(p), p] as const))('pools %s', (_, p) => {
    const dout = randn(r, ref.maxPoolForward(xs, p).out.shape);
    for (const [fwd, bwd] of [['maxPoolForward', 'maxPoolBackward'], ['avgPoolForward', 'avgPoolBackward']] as const) {
      const got = main[fwd](xs, p);
      const want = ref[fwd](xs, p);
      expectClose(got.out, want.out, `${fwd} out`);
      expectClose(main[bwd](dout, got.cache as never).dx, ref[bwd](dout, want.cache as never).dx, `${bwd} dx`);
    }
  });
});
