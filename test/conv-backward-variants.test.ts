/**
 * convBackward(dout, cache, { dx, dw }): the gradients asked for, and only them. A network's
 * first layer needs no dx ({ dx: false } skips the dx GEMM and col2im); { dw: false } skips
 * the dw GEMM and the im2col of x; both false leave db alone. Each variant must equal the
 * full backward's corresponding outputs bit for bit (the same operations in the same
 * order), and the reference's variant at TOL; the gradients not asked for are absent.
 * Both entries take the same options and refuse the same bad ones.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { ConvcoreError } from '../src/index.js';
import type { Tensor } from '../src/tensor.js';
import type { ConvBackwardParam, ConvParam } from '../src/params.js';
import { makeRng, randn, expectClose, show } from './util.js';

interface Case { x: number[]; w: number[]; p: ConvParam }
const cases: Case[] = [
  { x: [2, 3, 9, 7], w: [5, 3, 3, 2], p: { stride: [2, 1], pad: [1, 2] } },  // im2col path, padded and strided
  { x: [1, 40, 6, 6], w: [9, 40, 3, 3], p: { stride: 1, pad: 1 } },          // K = 360 > KC: two k blocks
  { x: [2, 17, 5, 4], w: [33, 17, 1, 1], p: {} },                            // pointwise: no column buffers
  { x: [3, 2, 4, 5], w: [4, 2, 1, 1], p: { stride: 2 } },                    // 1x1 but strided: im2col path
  { x: [1, 1, 1, 1], w: [2, 1, 3, 3], p: { pad: 1 } },                       // all but the centre is padding
  { x: [2, 3, 9, 8], w: [4, 3, 3, 2], p: { dilation: [2, 3], stride: 2, pad: 2 } },   // dilated and strided
  { x: [2, 6, 7, 7], w: [4, 3, 3, 3], p: { groups: 2, dilation: 2, pad: 1 } },        // grouped: a GEMM per group
  { x: [2, 6, 5, 4], w: [9, 2, 1, 1], p: { groups: 3 } },                             // grouped pointwise
  { x: [2, 4, 7, 11], w: [4, 1, 3, 3], p: { groups: 4, pad: 1 } },                    // depthwise, F = C
  { x: [1, 3, 9, 10], w: [6, 1, 3, 3], p: { groups: 3, dilation: 2, stride: [1, 2], pad: 3 } },  // depthwise, F = 2C
];

const VARIANTS: { options: ConvBackwardParam; keys: string[] }[] = [
  { options: { dx: false }, keys: ['dw', 'db'] },
  { options: { dw: false }, keys: ['dx', 'db'] },
  { options: { dx: false, dw: false }, keys: ['db'] },
  { options: { dx: true, dw: true }, keys: ['dx', 'dw', 'db'] },
  { options: { dx: true }, keys: ['dx', 'dw', 'db'] },
  { options: { dw: true, dx: false }, keys: ['dw', 'db'] },
  { options: {}, keys: ['dx', 'dw', 'db'] },
];

type Grads = { dx?: Tensor; dw?: Tensor; db?: Tensor };
type Backward = (dout: Tensor, cache: never, options?: ConvBackwardParam) => Grads;

function sameBits(a: Tensor, b: Tensor, label: string): void {
  expect(Array.from(a.shape), `${label} shape`).toEqual(Array.from(b.shape));
  const ua = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const ub = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  expect(ua.length, `${label} length`).toBe(ub.length);
  let first = -1;
  for (let i = 0; i < ua.length && first < 0; i++) if (ua[i] !== ub[i]) first = i >> 3;
  expect(first, `${label}: first entry that differs in a bit`).toBe(-1);
}

describe.each(cases.map((c, i) => [show(c), c, i] as const))('conv backward variants, %s', (_, c, i) => {
  const r = makeRng(500 + i);
  const x = randn(r, c.x), w = randn(r, c.w), b = randn(r, [c.w[0]]);
  const fm = main.convForward(x, w, b, c.p);
  const fr = ref.convForward(x, w, b, c.p);
  const dout = randn(r, fr.out.shape as number[]);
  const fullMain = main.convBackward(dout, fm.cache);
  const fullRef = ref.convBackward(dout, fr.cache);

  it.each(VARIANTS.map((v) => [show(v.options), v] as const))('%s', (_label, v) => {
    const gm = (main.convBackward as unknown as Backward)(dout, fm.cache as never, v.options);
    const gr = (ref.convBackward as unknown as Backward)(dout, fr.cache as never, v.options);
    expect(Object.keys(gm).sort(), 'wasm: the gradients present').toEqual([...v.keys].sort());
    expect(Object.keys(gr).sort(), 'reference: the gradients present').toEqual([...v.keys].sort());
    for (const k of v.keys as (keyof Grads)[]) {
      sameBits(gm[k]!, fullMain[k], `wasm ${k} vs the full backward`);
      expectClose(gm[k]!, fullRef[k], `wasm ${k} vs the reference`);
      expectClose(gr[k]!, fullRef[k], `reference ${k} vs the full reference`);
    }
  });

  it('the cache serves any sequence of variants, and the full backward after them is unchanged', () => {
    main.convBackward(dout, fm.cache, { dx: false });
    main.convBackward(dout, fm.cache, { dw: false });
    const again = main.convBackward(dout, fm.cache);
    sameBits(again.dx, fullMain.dx, 'dx');
    sameBits(again.dw, fullMain.dw, 'dw');
    sameBits(again.db, fullMain.db, 'db');
  });
});

describe('conv backward options that are not {dx?: boolean, dw?: boolean}', () => {
  const r = makeRng(599);
  const x = randn(r, [1, 2, 4, 4]), w = randn(r, [3, 2, 3, 3]), b = randn(r, [3]);
  const bad: [string, unknown, RegExp][] = [
    ['an unknown key', { dX: false }, /^convBackward: options has an unknown key "dX"; the valid keys are dx, dw$/],
    ['db (always computed)', { db: false }, /^convBackward: options has an unknown key "db"; the valid keys are dx, dw$/],
    ['a string flag', { dx: 'no' }, /^convBackward: options\.dx must be true or false, got "no"$/],
    ['0 for false', { dw: 0 }, /^convBackward: options\.dw must be true or false, got 0$/],
    ['null', null, /^convBackward: options must be an object, got null$/],
    ['a boolean', false, /^convBackward: options must be an object, got false$/],
    ['an array', ['dx'], /^convBackward: options must be an object, got an array of length 1$/],
  ];
  for (const [name, api] of [['wasm', main], ['reference', ref]] as const) {
    const f = api.convForward(x, w, b, { pad: 1 });
    const dout = randn(r, f.out.shape as number[]);
    it.each(bad.map(([what, v, says]) => [what, v, says] as const))(`${name}: %s`, (_what, v, says) => {
      const call = () => (api.convBackward as unknown as Backward)(dout, f.cache as never, v as ConvBackwardParam);
      expect(call).toThrow(ConvcoreError);
      expect(call).toThrow(says);
    });
  }
});
