/**
 * safetensors: round trips bit for bit in float64 (a model's parameters included), a file
 * written by hand from the format's definition read back (every dtype, the byte patterns
 * worked out from IEEE 754 and two's complement), each malformed header refused with a
 * ConvcoreError naming what is wrong, and 200 fuzzed files each refused with a ConvcoreError
 * or read into consistent tensors.
 */
import { describe, it, expect } from 'vitest';
import { toSafetensors, fromSafetensors, readSafetensors, ThreeLayerConvNet, ConvcoreError } from '../src/index.js';
import type { Tensor } from '../src/tensor.js';
import { makeRng, randn, expectConvcoreError } from './util.js';
import { convOpts } from './nn-fixtures.js';

/** The bits of each float64, so that NaN, −0 and every last bit compare. */
const bits = (a: Float64Array): string[] => Array.from(new BigUint64Array(a.slice().buffer), (x) => x.toString(16));

/** A safetensors file from its parts: the header text as given (no padding unless in it) and the data bytes. */
function file(header: string, data: number[] | Uint8Array, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('round trips', () => {
  it('float64 bit for bit: NaN, ±0, ±Infinity, subnormals, extremes, a scalar and an empty tensor', () => {
    const r = makeRng(3);
    const special = Float64Array.of(NaN, -0, 0, Infinity, -Infinity, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 0.1, -1 / 3);
    const tensors: Record<string, Tensor> = {
      'conv1.weight': randn(r, [4, 3, 3, 3]), special: { data: special, shape: [10] }, scalar: { data: Float64Array.of(Math.PI), shape: [] },
      odd: randn(r, [7]), 'layer.0.bias': randn(r, [1, 5]),
    };
    const bytes = toSafetensors(tensors, { metadata: { format: 'pt', note: 'é ∑' } });
    const N = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(N % 8, 'the header is padded to a multiple of 8').toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + N));
    expect(text).toMatch(/^\{.*\} *$/);
    const header = JSON.parse(text);
    expect(header.__metadata__).toEqual({ format: 'pt', note: 'é ∑' });
    expect(header['conv1.weight']).toEqual({ dtype: 'F64', shape: [4, 3, 3, 3], data_offsets: [0, 108 * 8] });
    const back = readSafetensors(bytes);
    expect(Object.keys(back.tensors)).toEqual(Object.keys(tensors));
    expect(back.metadata).toEqual({ format: 'pt', note: 'é ∑' });
    for (const [name, t] of Object.entries(tensors)) {
      expect(back.tensors[name].shape, name).toEqual(t.shape);
      expect(bits(back.tensors[name].data), name).toEqual(bits(t.data));
      expect(back.dtypes[name]).toBe('F64');
    }
    // From an ArrayBuffer, and from a Uint8Array at an odd offset of a larger buffer (no aligned views possible).
    expect(bits(fromSafetensors(bytes.slice().buffer).special.data)).toEqual(bits(special));
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(bits(fromSafetensors(shifted.subarray(3)).special.data)).toEqual(bits(special));
    expect(bits(fromSafetensors(shifted.subarray(3))['conv1.weight'].data)).toEqual(bits(tensors['conv1.weight'].data));
  });

  it("a model's parameters: convcore → safetensors → convcore gives the same scores bit for bit", () => {
    const a = new ThreeLayerConvNet({ ...convOpts, seed: 1 });
    const b = new ThreeLayerConvNet({ ...convOpts, seed: 2 });
    b.setParams(fromSafetensors(toSafetensors(a.params)));
    for (const [name, t] of Object.entries(a.params)) expect(bits(b.params[name].data), name).toEqual(bits(t.data));
    const X = randn(makeRng(4), [2, 1, 8, 8]);
    expect(bits(b.loss(X).data)).toEqual(bits(a.loss(X).data));
    a.dispose(); b.dispose();
  });

  it('F32 stores each value rounded to the nearest float32', () => {
    const t = { data: Float64Array.of(0.1, 1 / 3, -2.5, 1e40, NaN), shape: [5] };
    const bytes = toSafetensors({ t }, { dtype: 'float32' });
    const back = readSafetensors(bytes);
    expect(back.dtypes.t).toBe('F32');
    expect(Array.from(back.tensors.t.data)).toEqual([Math.fround(0.1), Math.fround(1 / 3), -2.5, Infinity, NaN]);
    expect(bytes.length).toBe(8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)) + 20);
  });
});

describe('a file written by hand from the format definition', () => {
  it('reads F64, F32, F16, BF16, I64 and I32, in any order in the buffer, and the metadata', () => {
    // Data buffer (little-endian), 48 bytes:
    //   [0, 8)   d  I64 (1):   −1 = ff ff ff ff ff ff ff ff
    //   [8, 16)  a  F64 (1):   0.1 = 0x3FB999999999999A → 9a 99 99 99 99 99 b9 3f
    //   [16, 24) b  F32 (2):   1.5 = 0x3FC00000 → 00 00 c0 3f;  −2 = 0xC0000000 → 00 00 00 c0
    //   [24, 32) c  F16 (2,2): 1 = 0x3C00; −0.5 = 0xB800; 2⁻²⁴ = 0x0001 (the smallest subnormal); −∞ = 0xFC00
    //   [32, 36) e  BF16 (2):  −1 = 0xBF80; 3 = 0x4040
    //   [36, 40) f  I32 (1):   −5 = 0xFFFFFFFB → fb ff ff ff
    //   [40, 48) g  I64 (1):   2⁴⁰ + 7 → 07 00 00 00 00 01 00 00
    const header = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},'
      + '"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},"c":{"dtype":"F16","shape":[2,2],"data_offsets":[24,32]},'
      + '"d":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"e":{"dtype":"BF16","shape":[2],"data_offsets":[32,36]},'
      + '"f":{"dtype":"I32","shape":[1,1],"data_offsets":[36,40]},"g":{"dtype":"I64","shape":[1],"data_offsets":[40,48]}}';
    const data = [
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f,
      0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0,
      0x00, 0x3c, 0x00, 0xb8, 0x01, 0x00, 0x00, 0xfc,
      0x80, 0xbf, 0x40, 0x40,
      0xfb, 0xff, 0xff, 0xff,
      0x07, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    ];
    for (const pad of ['', ' ', '   ']) {   // the header's length need not be a multiple of 8
      const got = readSafetensors(file(header + pad, data));
      expect(got.metadata).toEqual({ format: 'pt' });
      expect(got.dtypes).toEqual({ a: 'F64', b: 'F32', c: 'F16', d: 'I64', e: 'BF16', f: 'I32', g: 'I64' });
      const values = Object.fromEntries(Object.entries(got.tensors).map(([k, t]) => [k, [Array.from(t.data), t.shape]]));
      expect(values).toEqual({
        a: [[0.1], [1]], b: [[1.5, -2], [2]], c: [[1, -0.5, 2 ** -24, -Infinity], [2, 2]], d: [[-1], []],
        e: [[-1, 3], [2]], f: [[-5], [1, 1]], g: [[2 ** 40 + 7], [1]],
      });
    }
  });
});

describe('a malformed file: a ConvcoreError that says what is wrong', () => {
  const ok = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const eight = [0, 0, 128, 63, 0, 0, 0, 64];
  const cases: [string, () => unknown, RegExp][] = [
    ['not bytes', () => fromSafetensors([1, 2, 3] as unknown as Uint8Array), /bytes must be a Uint8Array .* or an ArrayBuffer, got an array of length 3/],
    ['fewer than 8 bytes', () => fromSafetensors(new Uint8Array(5)), /bytes is truncated: 5 bytes, fewer than the 8 that hold the header's length/],
    ['a header over 100 MB', () => fromSafetensors(file(ok, eight, 100_000_001n)), /the header's length is 100000001 bytes, over the 100000000 \(100 MB\)/],
    ['a header length of 2⁶⁴ − 1', () => fromSafetensors(file(ok, eight, 2n ** 64n - 1n)), /over the 100000000 \(100 MB\)/],
    ['a header longer than the file', () => fromSafetensors(file(ok, eight, 100n)), /bytes is truncated: the first 8 bytes give a header of 100 bytes, but only 62 follow them/],
    ['a truncated data buffer', () => fromSafetensors(file(ok, eight.slice(0, 6))), /tensor "a": data_offsets must be \[begin, end\] with 0 ≤ begin ≤ end ≤ 6 .*got \[0, 8\]/],
    ['bytes after the last tensor', () => fromSafetensors(file(ok, [...eight, 0, 0, 0, 0])), /the data buffer has 12 bytes but its tensors end at byte 8; 4 bytes belong to no tensor/],
    ['not JSON', () => fromSafetensors(file('{"a":', eight)), /the header \(bytes 8 to 13\) must be UTF-8 JSON/],
    ['not UTF-8', () => { const b = file('{"\u00e9":1}', []); b[10] = 0xff; return fromSafetensors(b); }, /the header \(bytes 8 to 16\) must be UTF-8 JSON, got text that is not/],
    ['a JSON array', () => fromSafetensors(file('[1,2]', [])), /the header must be a JSON object .*got an array of length 2/],
    ['an unknown dtype', () => fromSafetensors(file(ok.replace('F32', 'U8'), eight)), /tensor "a": dtype must be one of F64, F32, F16, BF16, I64, I32 .*got "U8"/],
    ['a negative dimension', () => fromSafetensors(file(ok.replace('[2]', '[-2]'), eight)), /tensor "a": shape must be an array of non-negative integers/],
    ['a size unlike the shape', () => fromSafetensors(file(ok.replace('[2]', '[1]'), eight)), /tensor "a": data_offsets \[0, 8\] hold 8 bytes, but shape \(1\) of F32 needs 4$/],
    ['a shape of 2⁶⁰ entries', () => fromSafetensors(file(ok.replace('[2]', '[1073741824,1073741824]'), eight)), /needs more than the 8 of the data buffer/],
    ['begin after end', () => fromSafetensors(file(ok.replace('[0,8]', '[8,0]'), eight)), /data_offsets must be \[begin, end\] with 0 ≤ begin ≤ end ≤ 8/],
    ['an unknown key', () => fromSafetensors(file(ok.replace('"dtype"', '"offset":1,"dtype"'), eight)), /tensor "a" has an unknown key "offset"/],
    ['metadata not strings', () => fromSafetensors(file('{"__metadata__":{"n":1}}', [])), /__metadata__\.n must be a string, got 1/],
    ['overlapping tensors', () => fromSafetensors(file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', eight)),
      /tensor "b" at bytes \[4, 8\) of the data buffer overlaps tensor "a", which ends at 8/],
    ['a gap', () => fromSafetensors(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[0],"data_offsets":[8,8]}}', eight)),
      /bytes \[4, 8\) of the data buffer belong to no tensor \(a gap before tensor "b"\)/],
    ['toSafetensors: dtype F16', () => toSafetensors({}, { dtype: 'F16' as 'float32' }), /options\.dtype must be "float64" or "float32", got "F16"/],
    ['toSafetensors: a tensor named __metadata__', () => toSafetensors({ __metadata__: { data: new Float64Array(1), shape: [1] } }), /tensors\.__metadata__ is the name safetensors keeps for the metadata/],
    ['toSafetensors: metadata not strings', () => toSafetensors({}, { metadata: { epoch: 3 as unknown as string } }), /options\.metadata\.epoch must be a string .*got 3/],
    ['toSafetensors: not a Tensor', () => toSafetensors({ w: [1, 2] as unknown as Tensor }), /tensors\.w must be a Tensor \{data, shape\}, got an array of length 2/],
  ];
  for (const [what, call, says] of cases) {
    it(what, () => {
      expectConvcoreError(call, says, what.startsWith('toSafetensors') ? 'toSafetensors' : 'fromSafetensors');
    });
  }

  it('a zero-size tensor with huge other dimensions is valid', () => {
    const got = readSafetensors(file('{"z":{"dtype":"F64","shape":[4294967296,0],"data_offsets":[0,0]}}', []));
    expect(got.tensors.z.data.length).toBe(0);
    expect(got.tensors.z.shape).toEqual([4294967296, 0]);
  });
});

describe('fuzzed files (200 mutations of the header and the sizes)', () => {
  it('each gives a ConvcoreError or tensors consistent with their shapes, never another error', () => {
    const r = makeRng(77);
    const base = toSafetensors({ a: randn(r, [2, 3]), b: randn(r, [4]), c: { data: Float64Array.of(1), shape: [] } }, { dtype: 'float32', metadata: { k: 'v' } });
    const N = Number(new DataView(base.buffer).getBigUint64(0, true));
    const header = new TextDecoder().decode(base.subarray(8, 8 + N));
    const data = base.subarray(8 + N);
    const numbers = [...header.matchAll(/\d+/g)];
    const dtypes = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'U8', 'f32', ''];
    const big = () => r.pick([0, 1, 3, 7, 8, 9, 12, 16, 24, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, -1, 1.5]);
    const mutations: (() => Uint8Array)[] = [
      // a number of the header (a dimension or an offset) replaced
      () => { const m = r.pick(numbers); return file(header.slice(0, m.index) + String(big()) + header.slice(m.index! + m[0].length), data); },
      // a dtype replaced
      () => file(header.replace(r.pick(['F32"', 'F32",']), `${r.pick(dtypes)}"`), data),
      // the header length field replaced
      () => file(header, data, BigInt(r.pick([0, 1, N - 1, N + 1, N + 8, 2 ** 31, 2 ** 32, 100_000_000, 100_000_001])) + (r.chance(0.1) ? 2n ** 63n : 0n)),
      // the file cut short, or bytes added at the end
      () => { const b = file(header, data); return r.chance(0.5) ? b.subarray(0, r.int(0, b.length - 1)) : Uint8Array.from([...b, ...new Array(r.int(1, 9)).fill(0)]); },
      // a character of the header deleted, duplicated or replaced
      () => { const i = r.int(0, header.length - 1); const c = r.pick(['', header[i] + header[i], '"', '[', '}', '-', '9', '\u00ff']); return file(header.slice(0, i) + c + header.slice(i + 1), data); },
      // two tensors' offsets swapped, or one offset pair reversed
      () => file(header.replace(/"data_offsets":\[(\d+),(\d+)\]/, r.chance(0.5) ? '"data_offsets":[$2,$1]' : '"data_offsets":[$1,$1]'), data),
      // a random byte of the whole file changed
      () => { const b = file(header, data); b[r.int(0, b.length - 1)] = r.int(0, 255); return b; },
    ];
    let refused = 0, read = 0;
    const problems: string[] = [];
    for (let k = 0; k < 200; k++) {
      const bytes = mutations[k % mutations.length]();
      try {
        const got = readSafetensors(bytes);
        for (const [name, t] of Object.entries(got.tensors)) {
          const n = t.shape.reduce((p, d) => p * d, 1);
          if (t.data.length !== n || !(t.data instanceof Float64Array)) problems.push(`case ${k}: ${name} has ${t.data.length} values for shape ${t.shape}`);
        }
        read++;
      } catch (e) {
        if (e instanceof ConvcoreError && e.message.startsWith('readSafetensors: ')) refused++;
        else problems.push(`case ${k}: ${(e as Error)?.name}: ${(e as Error)?.message}`);
      }
    }
    expect(problems, problems.slice(0, 20).join('\n')).toEqual([]);
    expect(refused).toBeGreaterThan(100);
    expect(read).toBeGreaterThan(0);
  });
});
