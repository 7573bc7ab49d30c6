/**
 * Bad input (issue 2, item 6): every validation path throws a ConvcoreError whose message
 * starts with the function's name, names the argument, and says what was given. No Wasm
 * RuntimeError and no TypeError may come out. Each case runs on the Node API and on the
 * reference (which share the checks). After the errors, the module still computes
 * correct results.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { ConvcoreError } from '../src/index.js';
import type { Tensor } from '../src/tensor.js';
import { Api, makeRng, randn, distinct, expectClose } from './util.js';

interface ErrorCase {
  what: string;
  /** The function the message must start with. */
  fn: string;
  /** The argument the message must name. */
  arg: string;
  /** What the message must also say (what was expected or given). */
  says?: RegExp;
  /** The whole message, where docs/api.md states it ("Errors", the options). */
  exact?: string;
  /** Only the Wasm entry refuses it: a copy of a reference cache holds the same plain data and works. */
  wasmOnly?: boolean;
  call(api: Api, other: Api): unknown;
}

const r = makeRng(12345);
const T = (shape: number[]): Tensor => randn(r, shape);
const x4 = T([2, 4, 5, 5]);
const w4 = T([3, 4, 3, 3]);
const b3 = T([3]);
const conv = (api: Api) => api.convForward(x4, w4, b3, { stride: 1, pad: 1 });
const xp = distinct(r, [2, 3, 6, 6], 0.5, -4);
const pp = { poolHeight: 2, poolWidth: 2, stride: 2 };
const xb = T([5, 4]);
const g4 = T([4]);
const bt4 = T([4]);
const xs = T([2, 3, 2, 3]);
const g3 = T([3]);
const bt3 = T([3]);
const scores = T([3, 4]);
const xa = T([2, 3, 2]);
const wa = T([6, 5]);
const ba = T([5]);

/** A tensor literal that skips tensor()'s checks. */
const raw = (data: unknown, shape: unknown): Tensor => ({ data, shape } as unknown as Tensor);
const bad = <T>(v: unknown): T => v as T;

const cases: ErrorCase[] = [
  // ---- tensor()
  { what: 'data length ≠ product of shape', fn: 'tensor', arg: 'data', says: /length 5 .*\(2,3\) needs 6/, call: (a) => a.tensor(new Float64Array(5), [2, 3]) },
  { what: 'NaN dimension', fn: 'tensor', arg: 'shape[1]', says: /positive integer, got NaN/, call: (a) => a.tensor(new Float64Array(2), [2, NaN]) },
  { what: 'fractional dimension', fn: 'tensor', arg: 'shape[0]', says: /got 1\.5/, call: (a) => a.tensor(new Float64Array(3), [1.5, 2]) },
  { what: 'zero dimension', fn: 'tensor', arg: 'shape[0]', says: /got 0/, call: (a) => a.tensor(new Float64Array(0), [0]) },
  { what: 'negative dimension', fn: 'tensor', arg: 'shape[0]', says: /got -2/, call: (a) => a.tensor(new Float64Array(4), [-2, -2]) },
  { what: 'shape not an array', fn: 'tensor', arg: 'shape', says: /array of positive integers, got/, call: (a) => a.tensor(new Float64Array(4), bad('4')) },
  { what: 'data a Float32Array', fn: 'tensor', arg: 'data', says: /Float64Array.*got a Float32Array/, call: (a) => a.tensor(bad(new Float32Array(4)), [4]) },
  { what: 'data a string', fn: 'tensor', arg: 'data', says: /Float64Array/, call: (a) => a.tensor(bad('1234'), [4]) },
  { what: 'a dimension past i32', fn: 'tensor', arg: 'shape[0]', says: /no larger than 2147483647, got 4294967296/, call: (a) => a.tensor(new Float64Array(1), [2 ** 32, 1]) },
  { what: 'a dimension past the safe integers', fn: 'tensor', arg: 'shape[1]', says: /got 1e\+300/, call: (a) => a.tensor(new Float64Array(1), [1, 1e300]) },
  { what: 'an infinite dimension', fn: 'tensor', arg: 'shape[0]', says: /got Infinity/, call: (a) => a.tensor(new Float64Array(1), [Infinity]) },
  { what: 'a string dimension', fn: 'tensor', arg: 'shape[1]', says: /got "3" in \[2,"3"\]/, call: (a) => a.tensor(new Float64Array(6), bad([2, '3'])) },
  { what: 'more values than 32-bit memory holds', fn: 'tensor', arg: 'shape', says: /\(65536,65536\) holds 4294967296 values, more than the 536870912/, call: (a) => a.tensor(new Float64Array(1), [65536, 65536]) },
  { what: 'one value more than 32-bit memory holds', fn: 'tensor', arg: 'shape', says: /holds 536870913 values/, call: (a) => a.tensor(new Float64Array(1), [2 ** 29 + 1]) },

  // ---- convForward: tensors
  { what: 'x of rank 3', fn: 'convForward', arg: 'x', says: /rank 4.*got shape \(4,5,5\)/, call: (a) => a.convForward(T([4, 5, 5]), w4, b3, {}) },
  { what: 'w of rank 5', fn: 'convForward', arg: 'w', says: /rank 4.*got shape \(3,4,3,3,1\)/, call: (a) => a.convForward(x4, T([3, 4, 3, 3, 1]), b3, {}) },
  { what: 'x.data length ≠ product of shape', fn: 'convForward', arg: 'x.data', says: /length 199 .*\(2,4,5,5\) needs 200/, call: (a) => a.convForward(raw(new Float64Array(199), [2, 4, 5, 5]), w4, b3, {}) },
  { what: 'w.data length ≠ product of shape', fn: 'convForward', arg: 'w.data', says: /length 100 .*needs 108/, call: (a) => a.convForward(x4, raw(new Float64Array(100), [3, 4, 3, 3]), b3, {}) },
  { what: 'NaN dimension of x', fn: 'convForward', arg: 'x.shape[2]', says: /got NaN/, call: (a) => a.convForward(raw(new Float64Array(40), [2, 4, NaN, 5]), w4, b3, {}) },
  { what: 'fractional dimension of w', fn: 'convForward', arg: 'w.shape[3]', says: /got 2\.5/, call: (a) => a.convForward(x4, raw(new Float64Array(90), [3, 4, 3, 2.5]), b3, {}) },
  { what: 'zero dimension of x', fn: 'convForward', arg: 'x.shape[0]', says: /got 0/, call: (a) => a.convForward(raw(new Float64Array(0), [0, 4, 5, 5]), w4, b3, {}) },
  { what: 'negative dimension of w', fn: 'convForward', arg: 'w.shape[0]', says: /got -3/, call: (a) => a.convForward(x4, raw(new Float64Array(108), [-3, 4, 3, 3]), b3, {}) },
  { what: 'a dimension of x wrapping to 0 in i32', fn: 'convForward', arg: 'x.shape[3]', says: /got 4294967296/, call: (a) => a.convForward(raw(new Float64Array(1), [1, 4, 5, 2 ** 32]), w4, b3, {}) },
  { what: 'x larger than 32-bit memory', fn: 'convForward', arg: 'x.shape', says: /\(1,4,65536,4096\) holds 1073741824 values/, call: (a) => a.convForward(raw(new Float64Array(1), [1, 4, 65536, 4096]), w4, b3, {}) },
  { what: 'w larger than 32-bit memory', fn: 'convForward', arg: 'w.shape', says: /holds .* values, more than/, call: (a) => a.convForward(x4, raw(new Float64Array(1), [2 ** 20, 4, 3, 3 * 2 ** 10]), b3, {}) },
  { what: 'x.shape not an array', fn: 'convForward', arg: 'x.shape', says: /array/, call: (a) => a.convForward(raw(new Float64Array(200), '2,4,5,5'), w4, b3, {}) },
  { what: 'x.data a Float32Array', fn: 'convForward', arg: 'x.data', says: /Float64Array, got a Float32Array/, call: (a) => a.convForward(raw(new Float32Array(200), [2, 4, 5, 5]), w4, b3, {}) },
  { what: 'x.data a plain array', fn: 'convForward', arg: 'x.data', says: /Float64Array, got an array/, call: (a) => a.convForward(raw(Array.from(x4.data), [2, 4, 5, 5]), w4, b3, {}) },
  { what: 'x missing', fn: 'convForward', arg: 'x', says: /Tensor.*got undefined/, call: (a) => a.convForward(bad(undefined), w4, b3, {}) },
  { what: 'x a bare Float64Array', fn: 'convForward', arg: 'x', says: /Tensor \{data, shape\}, got a Float64Array of length 200/, call: (a) => a.convForward(bad(x4.data), w4, b3, {}) },
  { what: 'x null', fn: 'convForward', arg: 'x', says: /got null/, call: (a) => a.convForward(bad(null), w4, b3, {}) },
  { what: 'w channels ≠ x channels', fn: 'convForward', arg: 'w', exact: 'convForward: w has 3 channels but x has 4', call: (a) => a.convForward(x4, T([3, 3, 3, 3]), b3, {}) },
  { what: 'b length ≠ F', fn: 'convForward', arg: 'b', says: /shape \(3\).*got \(4\)/, call: (a) => a.convForward(x4, w4, T([4]), {}) },
  { what: 'b of rank 2', fn: 'convForward', arg: 'b', says: /got \(1,3\)/, call: (a) => a.convForward(x4, w4, T([1, 3]), {}) },
  { what: 'b.data a Float32Array', fn: 'convForward', arg: 'b.data', says: /Float64Array/, call: (a) => a.convForward(x4, w4, raw(new Float32Array(3), [3]), {}) },

  // ---- convForward: stride and pad
  { what: 'stride 0', fn: 'convForward', arg: 'stride', says: /positive integer.*got 0/, call: (a) => a.convForward(x4, w4, b3, { stride: 0 }) },
  { what: 'stride −1', fn: 'convForward', arg: 'stride', says: /got -1/, call: (a) => a.convForward(x4, w4, b3, { stride: -1 }) },
  { what: 'stride 1.5', fn: 'convForward', arg: 'stride', says: /got 1\.5/, call: (a) => a.convForward(x4, w4, b3, { stride: 1.5 }) },
  { what: 'stride NaN', fn: 'convForward', arg: 'stride', says: /got NaN/, call: (a) => a.convForward(x4, w4, b3, { stride: NaN }) },
  { what: 'stride a string', fn: 'convForward', arg: 'stride', says: /got "2"/, call: (a) => a.convForward(x4, w4, b3, { stride: bad('2') }) },
  { what: 'stride pair with a 0', fn: 'convForward', arg: 'stride', says: /\[h, w\] pair.*got \[1, 0\]/, call: (a) => a.convForward(x4, w4, b3, { stride: [1, 0] }) },
  { what: 'stride list of 3', fn: 'convForward', arg: 'stride', says: /got \[1, 1, 1\]/, call: (a) => a.convForward(x4, w4, b3, { stride: bad([1, 1, 1]) }) },
  { what: 'pad −1', fn: 'convForward', arg: 'pad', says: /non-negative integer.*got -1/, call: (a) => a.convForward(x4, w4, b3, { pad: -1 }) },
  { what: 'pad pair with a negative', fn: 'convForward', arg: 'pad', says: /got \[0, -2\]/, call: (a) => a.convForward(x4, w4, b3, { pad: [0, -2] }) },
  { what: 'pad 0.5', fn: 'convForward', arg: 'pad', says: /got 0\.5/, call: (a) => a.convForward(x4, w4, b3, { pad: 0.5 }) },
  { what: 'unknown key padding', fn: 'convForward', arg: 'convParam', exact: 'convForward: convParam has an unknown key "padding"; the valid keys are stride, pad, dilation, groups', call: (a) => a.convForward(x4, w4, b3, bad({ stride: 1, padding: 1 })) },
  { what: 'unknown key pad_h', fn: 'convForward', arg: 'convParam', says: /unknown key "pad_h"; the valid keys are stride, pad, dilation, groups$/, call: (a) => a.convForward(x4, w4, b3, bad({ pad_h: 1 })) },
  { what: 'convParam not an object', fn: 'convForward', arg: 'convParam', says: /object, got 3$/, call: (a) => a.convForward(x4, w4, b3, bad(3)) },
  { what: 'convParam null', fn: 'convForward', arg: 'convParam', says: /got null/, call: (a) => a.convForward(x4, w4, b3, bad(null)) },
  { what: 'kernel taller than the padded input', fn: 'convForward', arg: 'kernel', says: /5x3 kernel .*2x5 padded by 1,0 \(4x5\)/, call: (a) => a.convForward(T([1, 1, 2, 5]), T([1, 1, 5, 3]), T([1]), { pad: [1, 0] }) },
  { what: 'kernel wider than the padded input', fn: 'convForward', arg: 'kernel', says: /2x7 kernel .*3x3 padded by 1,1 \(5x5\)/, call: (a) => a.convForward(T([1, 1, 3, 3]), T([1, 1, 2, 7]), T([1]), { pad: 1 }) },

  // ---- convForward: dilation and groups
  { what: 'groups not dividing the channels of x', fn: 'convForward', arg: 'groups', exact: 'convForward: groups 3 does not divide the 4 channels of x', call: (a) => a.convForward(x4, T([3, 1, 3, 3]), b3, { groups: 3 }) },
  { what: 'groups not dividing C, 8 channels', fn: 'convForward', arg: 'groups', exact: 'convForward: groups 3 does not divide the 8 channels of x', call: (a) => a.convForward(T([1, 8, 4, 4]), T([6, 2, 3, 3]), T([6]), { groups: 3 }) },
  { what: 'groups not dividing the filters of w', fn: 'convForward', arg: 'groups', exact: 'convForward: groups 2 does not divide the 3 filters of w', call: (a) => a.convForward(x4, T([3, 2, 3, 3]), b3, { groups: 2 }) },
  { what: 'groups larger than C', fn: 'convForward', arg: 'groups', says: /groups 8 does not divide the 4 channels of x$/, call: (a) => a.convForward(x4, T([8, 1, 3, 3]), T([8]), { groups: 8 }) },
  { what: 'w channels per group ≠ C / groups', fn: 'convForward', arg: 'w', exact: 'convForward: w has 4 channels per group but x has 4 channels in 2 groups (2 per group)', call: (a) => a.convForward(x4, T([4, 4, 3, 3]), T([4]), { groups: 2 }) },
  { what: 'depthwise w with C channels', fn: 'convForward', arg: 'w', says: /w has 4 channels per group but x has 4 channels in 4 groups \(1 per group\)$/, call: (a) => a.convForward(x4, T([4, 4, 3, 3]), T([4]), { groups: 4 }) },
  { what: 'groups 0', fn: 'convForward', arg: 'groups', exact: 'convForward: groups must be a positive integer (at most 2147483647), got 0', call: (a) => a.convForward(x4, w4, b3, { groups: 0 }) },
  { what: 'groups −2', fn: 'convForward', arg: 'groups', says: /positive integer.*got -2$/, call: (a) => a.convForward(x4, w4, b3, { groups: -2 }) },
  { what: 'groups 1.5', fn: 'convForward', arg: 'groups', says: /got 1\.5$/, call: (a) => a.convForward(x4, w4, b3, { groups: 1.5 }) },
  { what: 'groups NaN', fn: 'convForward', arg: 'groups', says: /got NaN$/, call: (a) => a.convForward(x4, w4, b3, { groups: NaN }) },
  { what: 'groups a string', fn: 'convForward', arg: 'groups', says: /got "2"$/, call: (a) => a.convForward(x4, w4, b3, { groups: bad('2') }) },
  { what: 'groups a pair', fn: 'convForward', arg: 'groups', says: /positive integer.*got an array of length 2$/, call: (a) => a.convForward(x4, w4, b3, { groups: bad([1, 1]) }) },
  { what: 'dilation 0', fn: 'convForward', arg: 'dilation', exact: 'convForward: dilation must be a positive integer (at most 2147483647) or an [h, w] pair of them, got 0', call: (a) => a.convForward(x4, w4, b3, { dilation: 0 }) },
  { what: 'dilation −1', fn: 'convForward', arg: 'dilation', says: /positive integer.*got -1$/, call: (a) => a.convForward(x4, w4, b3, { dilation: -1 }) },
  { what: 'dilation 1.5', fn: 'convForward', arg: 'dilation', says: /got 1\.5$/, call: (a) => a.convForward(x4, w4, b3, { dilation: 1.5 }) },
  { what: 'dilation pair with a 0', fn: 'convForward', arg: 'dilation', says: /\[h, w\] pair.*got \[2, 0\]$/, call: (a) => a.convForward(x4, w4, b3, { dilation: [2, 0] }) },
  { what: 'dilation pair with a fraction', fn: 'convForward', arg: 'dilation', says: /got \[1, 2\.5\]$/, call: (a) => a.convForward(x4, w4, b3, { dilation: [1, 2.5] }) },
  { what: 'dilation a string', fn: 'convForward', arg: 'dilation', says: /got "2"$/, call: (a) => a.convForward(x4, w4, b3, { dilation: bad('2') }) },
  { what: 'dilated kernel larger than the padded input', fn: 'convForward', arg: 'dilation', exact: 'convForward: a 3x3 kernel with dilation 3 spans 7x7 and does not fit an input of 5x5 padded by 0,0 (5x5)', call: (a) => a.convForward(x4, w4, b3, { dilation: 3 }) },
  { what: 'dilated kernel wider than the padded input', fn: 'convForward', arg: 'dilation', says: /a 3x3 kernel with dilation 1,3 spans 3x7 and does not fit an input of 5x5 padded by 1,0 \(7x5\)$/, call: (a) => a.convForward(x4, w4, b3, { dilation: [1, 3], pad: [1, 0] }) },
  { what: 'dilated depthwise kernel larger than the padded input', fn: 'convForward', arg: 'dilation', says: /a 3x3 kernel with dilation 4 spans 9x9 and does not fit an input of 5x5 padded by 1,1 \(7x7\)$/, call: (a) => a.convForward(x4, T([4, 1, 3, 3]), T([4]), { dilation: 4, pad: 1, groups: 4 }) },

  // ---- convBackward
  { what: 'dout not shaped like out', fn: 'convBackward', arg: 'dout', says: /shape \(2,3,5,5\).*got \(2,3,5,4\)/, call: (a) => a.convBackward(T([2, 3, 5, 4]), conv(a).cache) },
  { what: 'dout with the right size but another shape', fn: 'convBackward', arg: 'dout', says: /got \(3,2,5,5\)/, call: (a) => a.convBackward(T([3, 2, 5, 5]), conv(a).cache) },
  { what: 'dout.data a Float32Array', fn: 'convBackward', arg: 'dout.data', says: /Float64Array/, call: (a) => a.convBackward(raw(new Float32Array(150), [2, 3, 5, 5]), conv(a).cache) },
  { what: 'dout.data length ≠ product of shape', fn: 'convBackward', arg: 'dout.data', says: /needs 150/, call: (a) => a.convBackward(raw(new Float64Array(149), [2, 3, 5, 5]), conv(a).cache) },
  { what: 'a forged cache', fn: 'convBackward', arg: 'cache', says: /returned by convForward/, call: (a) => a.convBackward(T([2, 3, 5, 5]), { kind: 'conv', x: x4.data, w: w4.data, g: {} }) },
  { what: 'a copy of a real cache', fn: 'convBackward', arg: 'cache', says: /returned by convForward/, wasmOnly: true, call: (a) => a.convBackward(T([2, 3, 5, 5]), { ...(conv(a).cache as object) }) },
  { what: 'a structured clone of a real cache', fn: 'convBackward', arg: 'cache', says: /returned by convForward/, call: (a) => a.convBackward(T([2, 3, 5, 5]), structuredClone(conv(a).cache)) },
  { what: 'the cache of the other entry', fn: 'convBackward', arg: 'cache', says: /returned by convForward/, call: (a, o) => a.convBackward(T([2, 3, 5, 5]), conv(o).cache) },
  { what: 'the cache of another op', fn: 'convBackward', arg: 'cache', says: /returned by convForward/, call: (a) => a.convBackward(T([2, 3, 5, 5]), a.reluForward(x4).cache) },
  { what: 'no cache', fn: 'convBackward', arg: 'cache', says: /returned by convForward/, call: (a) => a.convBackward(T([2, 3, 5, 5]), undefined) },

  // ---- maxPoolForward / maxPoolBackward
  { what: 'window does not fit', fn: 'maxPoolForward', arg: 'window', exact: 'maxPoolForward: a 3x3 window with stride 2 does not fit an input of 2x2', call: (a) => a.maxPoolForward(T([1, 1, 2, 2]), { poolHeight: 3, poolWidth: 3, stride: 2 }) },
  { what: 'window wider than the input', fn: 'maxPoolForward', arg: 'window', says: /2x4 window with stride 1 does not fit an input of 6x3/, call: (a) => a.maxPoolForward(T([1, 1, 6, 3]), { poolHeight: 2, poolWidth: 4, stride: 1 }) },
  { what: 'x of rank 2', fn: 'maxPoolForward', arg: 'x', says: /rank 4.*got shape \(6,6\)/, call: (a) => a.maxPoolForward(T([6, 6]), pp) },
  { what: 'x.data length ≠ product of shape', fn: 'maxPoolForward', arg: 'x.data', says: /needs 216/, call: (a) => a.maxPoolForward(raw(new Float64Array(215), [2, 3, 6, 6]), pp) },
  { what: 'x.data not a Float64Array', fn: 'maxPoolForward', arg: 'x.data', says: /Float64Array, got an array/, call: (a) => a.maxPoolForward(raw([1, 2, 3, 4], [1, 1, 2, 2]), { poolHeight: 2, poolWidth: 2 }) },
  { what: 'poolHeight 0', fn: 'maxPoolForward', arg: 'poolHeight', says: /positive integer, got 0/, call: (a) => a.maxPoolForward(xp, { poolHeight: 0, poolWidth: 2, stride: 2 }) },
  { what: 'poolWidth 2.5', fn: 'maxPoolForward', arg: 'poolWidth', says: /got 2\.5/, call: (a) => a.maxPoolForward(xp, { poolHeight: 2, poolWidth: 2.5, stride: 2 }) },
  { what: 'poolHeight NaN', fn: 'maxPoolForward', arg: 'poolHeight', says: /got NaN/, call: (a) => a.maxPoolForward(xp, { poolHeight: NaN, poolWidth: 2, stride: 2 }) },
  { what: 'poolWidth missing', fn: 'maxPoolForward', arg: 'poolWidth', says: /got undefined/, call: (a) => a.maxPoolForward(xp, bad({ poolHeight: 2, stride: 2 })) },
  { what: 'stride 0', fn: 'maxPoolForward', arg: 'stride', says: /got 0/, call: (a) => a.maxPoolForward(xp, { poolHeight: 2, poolWidth: 2, stride: 0 }) },
  { what: 'stride pair with a fraction', fn: 'maxPoolForward', arg: 'stride', says: /got \[2, 0\.5\]/, call: (a) => a.maxPoolForward(xp, { poolHeight: 2, poolWidth: 2, stride: [2, 0.5] }) },
  { what: 'unknown key pad', fn: 'maxPoolForward', arg: 'poolParam', exact: 'maxPoolForward: poolParam has an unknown key "pad"; the valid keys are poolHeight, poolWidth, stride', call: (a) => a.maxPoolForward(xp, bad({ poolHeight: 2, poolWidth: 2, pad: 1 })) },
  { what: 'unknown key pool_height', fn: 'maxPoolForward', arg: 'poolParam', says: /unknown key "pool_height"; the valid keys are poolHeight, poolWidth, stride$/, call: (a) => a.maxPoolForward(xp, bad({ pool_height: 2, poolHeight: 2, poolWidth: 2 })) },
  { what: 'stride a string', fn: 'maxPoolForward', arg: 'stride', says: /got "2"$/, call: (a) => a.maxPoolForward(xp, bad({ poolHeight: 2, poolWidth: 2, stride: '2' })) },
  { what: 'poolHeight a string', fn: 'maxPoolForward', arg: 'poolHeight', says: /got "2"$/, call: (a) => a.maxPoolForward(xp, bad({ poolHeight: '2', poolWidth: 2 })) },
  { what: 'poolParam an array', fn: 'maxPoolForward', arg: 'poolParam', says: /got an array of length 2$/, call: (a) => a.maxPoolForward(xp, bad([2, 2])) },
  { what: 'poolParam missing', fn: 'maxPoolForward', arg: 'poolParam', says: /got undefined/, call: (a) => a.maxPoolForward(xp, bad(undefined)) },
  { what: 'dout not shaped like out', fn: 'maxPoolBackward', arg: 'dout', says: /shape \(2,3,3,3\).*got \(2,3,3,2\)/, call: (a) => a.maxPoolBackward(T([2, 3, 3, 2]), a.maxPoolForward(xp, pp).cache) },
  { what: 'the cache of avg pool', fn: 'maxPoolBackward', arg: 'cache', says: /returned by maxPoolForward/, call: (a) => a.maxPoolBackward(T([2, 3, 3, 3]), a.avgPoolForward(xp, pp).cache) },
  { what: 'a forged cache', fn: 'maxPoolBackward', arg: 'cache', says: /returned by maxPoolForward/, call: (a) => a.maxPoolBackward(T([2, 3, 3, 3]), { kind: 'maxPool', argmax: new Int32Array(54).fill(1e6), g: { N: 2, C: 3, H: 6, W: 6, HH: 2, WW: 2, SH: 2, SW: 2, H2: 3, W2: 3 } }) },

  // ---- avgPoolForward / avgPoolBackward
  { what: 'window does not fit', fn: 'avgPoolForward', arg: 'window', says: /^avgPoolForward: a 7x1 window with stride 7,1 does not fit an input of 6x6$/, call: (a) => a.avgPoolForward(xp, { poolHeight: 7, poolWidth: 1 }) },
  { what: 'x of rank 5', fn: 'avgPoolForward', arg: 'x', says: /rank 4/, call: (a) => a.avgPoolForward(T([1, 2, 3, 6, 6]), pp) },
  { what: 'poolWidth −2', fn: 'avgPoolForward', arg: 'poolWidth', says: /got -2/, call: (a) => a.avgPoolForward(xp, { poolHeight: 2, poolWidth: -2 }) },
  { what: 'unknown key padding', fn: 'avgPoolForward', arg: 'poolParam', says: /unknown key "padding"; the valid keys are poolHeight, poolWidth, stride$/, call: (a) => a.avgPoolForward(xp, bad({ poolHeight: 2, poolWidth: 2, padding: 0 })) },
  { what: 'stride −1', fn: 'avgPoolForward', arg: 'stride', says: /got -1/, call: (a) => a.avgPoolForward(xp, { poolHeight: 2, poolWidth: 2, stride: -1 }) },
  { what: 'dout not shaped like out', fn: 'avgPoolBackward', arg: 'dout', says: /got \(2,3,9\)/, call: (a) => a.avgPoolBackward(T([2, 3, 9]), a.avgPoolForward(xp, pp).cache) },
  { what: 'the cache of max pool', fn: 'avgPoolBackward', arg: 'cache', says: /returned by avgPoolForward/, call: (a) => a.avgPoolBackward(T([2, 3, 3, 3]), a.maxPoolForward(xp, pp).cache) },

  // ---- batchnormForward / batchnormBackward
  { what: 'x of rank 3', fn: 'batchnormForward', arg: 'x', says: /rank 2.*got shape \(5,4,1\)/, call: (a) => a.batchnormForward(T([5, 4, 1]), g4, bt4, { mode: 'train' }) },
  { what: 'x.data not a Float64Array', fn: 'batchnormForward', arg: 'x.data', says: /Float64Array, got an Int32Array of length 20$/, call: (a) => a.batchnormForward(raw(new Int32Array(20), [5, 4]), g4, bt4, { mode: 'train' }) },
  { what: 'gamma length ≠ D', fn: 'batchnormForward', arg: 'gamma', says: /shape \(4\).*got \(3\)/, call: (a) => a.batchnormForward(xb, T([3]), bt4, { mode: 'train' }) },
  { what: 'beta length ≠ D', fn: 'batchnormForward', arg: 'beta', says: /shape \(4\).*got \(5\)/, call: (a) => a.batchnormForward(xb, g4, T([5]), { mode: 'train' }) },
  { what: 'gamma of rank 2', fn: 'batchnormForward', arg: 'gamma', says: /got \(1,4\)/, call: (a) => a.batchnormForward(xb, T([1, 4]), bt4, { mode: 'train' }) },
  { what: 'runningMean length ≠ D', fn: 'batchnormForward', arg: 'runningMean', says: /shape \(4\).*got \(2\)/, call: (a) => a.batchnormForward(xb, g4, bt4, { mode: 'train', runningMean: T([2]), runningVar: T([4]) }) },
  { what: 'runningVar length ≠ D', fn: 'batchnormForward', arg: 'runningVar', says: /shape \(4\).*got \(6\)/, call: (a) => a.batchnormForward(xb, g4, bt4, { mode: 'test', runningMean: T([4]), runningVar: T([6]) }) },
  { what: 'runningMean a bare Float64Array', fn: 'batchnormForward', arg: 'runningMean', says: /must be a Tensor \{data, shape\}, got a Float64Array of length 4/, call: (a) => a.batchnormForward(xb, g4, bt4, { mode: 'train', runningMean: bad(new Float64Array(4)) }) },
  { what: 'unknown mode', fn: 'batchnormForward', arg: 'mode', says: /'train' or 'test', got "eval"/, call: (a) => a.batchnormForward(xb, g4, bt4, { mode: bad('eval') }) },
  { what: 'mode missing', fn: 'batchnormForward', arg: 'mode', says: /got undefined/, call: (a) => a.batchnormForward(xb, g4, bt4, bad({})) },
  { what: 'eps negative', fn: 'batchnormForward', arg: 'eps', says: /got -1/, call: (a) => a.batchnormForward(xb, g4, bt4, { mode: 'train', eps: -1 }) },
  { what: 'eps 0', fn: 'batchnormForward', arg: 'eps', exact: 'batchnormForward: eps must be a positive finite number, got 0', call: (a) => a.batchnormForward(xb, g4, bt4, { mode: 'train', eps: 0 }) },
  { what: 'eps −0', fn: 'batchnormForward', arg: 'eps', says: /positive finite number, got 0/, call: (a) => a.batchnormForward(xb, g4, bt4, { mode: 'test', eps: -0 }) },
  { what: 'eps Infinity', fn: 'batchnormForward', arg: 'eps', says: /got Infinity/, call: (a) => a.batchnormForward(xb, g4, bt4, { mode: 'train', eps: Infinity }) },
  { what: 'eps NaN', fn: 'batchnormForward', arg: 'eps', says: /got NaN/, call: (a) => a.batchnormForward(xb, g4, bt4, { mode: 'train', eps: NaN }) },
  { what: 'eps a string', fn: 'batchnormForward', arg: 'eps', says: /got "1e-5"/, call: (a) => a.batchnormForward(xb, g4, bt4, { mode: 'train', eps: bad('1e-5') }) },
  { what: 'unknown key running_mean', fn: 'batchnormForward', arg: 'bnParam', exact: 'batchnormForward: bnParam has an unknown key "running_mean"; the valid keys are mode, eps, momentum, runningMean, runningVar', call: (a) => a.batchnormForward(xb, g4, bt4, bad({ mode: 'train', running_mean: g4 })) },
  { what: 'momentum above 1', fn: 'batchnormForward', arg: 'momentum', says: /got 1\.5/, call: (a) => a.batchnormForward(xb, g4, bt4, { mode: 'train', momentum: 1.5 }) },
  { what: 'bnParam missing', fn: 'batchnormForward', arg: 'bnParam', says: /got undefined/, call: (a) => a.batchnormForward(xb, g4, bt4, bad(undefined)) },
  { what: 'dout not shaped like out', fn: 'batchnormBackward', arg: 'dout', says: /shape \(5,4\).*got \(4,5\)/, call: (a) => a.batchnormBackward(T([4, 5]), a.batchnormForward(xb, g4, bt4, { mode: 'train' }).cache) },
  { what: 'the cache of spatial batchnorm', fn: 'batchnormBackward', arg: 'cache', says: /returned by batchnormForward/, call: (a) => a.batchnormBackward(T([5, 4]), a.spatialBatchnormForward(xs, g3, bt3, { mode: 'train' }).cache) },

  // ---- spatialBatchnormForward / spatialBatchnormBackward
  { what: 'x of rank 2', fn: 'spatialBatchnormForward', arg: 'x', says: /rank 4/, call: (a) => a.spatialBatchnormForward(xb, g4, bt4, { mode: 'train' }) },
  { what: 'gamma length ≠ C', fn: 'spatialBatchnormForward', arg: 'gamma', says: /shape \(3\).*got \(4\)/, call: (a) => a.spatialBatchnormForward(xs, g4, bt3, { mode: 'train' }) },
  { what: 'beta length ≠ C', fn: 'spatialBatchnormForward', arg: 'beta', says: /got \(2\)/, call: (a) => a.spatialBatchnormForward(xs, g3, T([2]), { mode: 'train' }) },
  { what: 'runningMean length ≠ C', fn: 'spatialBatchnormForward', arg: 'runningMean', says: /got \(12\)/, call: (a) => a.spatialBatchnormForward(xs, g3, bt3, { mode: 'test', runningMean: T([12]) }) },
  { what: 'runningVar length ≠ C', fn: 'spatialBatchnormForward', arg: 'runningVar', says: /got \(1\)/, call: (a) => a.spatialBatchnormForward(xs, g3, bt3, { mode: 'train', runningVar: T([1]) }) },
  { what: 'unknown mode', fn: 'spatialBatchnormForward', arg: 'mode', says: /got "Train"/, call: (a) => a.spatialBatchnormForward(xs, g3, bt3, { mode: bad('Train') }) },
  { what: 'eps 0', fn: 'spatialBatchnormForward', arg: 'eps', says: /positive finite number, got 0$/, call: (a) => a.spatialBatchnormForward(xs, g3, bt3, { mode: 'train', eps: 0 }) },
  { what: 'eps negative in test mode', fn: 'spatialBatchnormForward', arg: 'eps', says: /got -1e-8$/, call: (a) => a.spatialBatchnormForward(xs, g3, bt3, { mode: 'test', eps: -1e-8 }) },
  { what: 'unknown key epsilon', fn: 'spatialBatchnormForward', arg: 'bnParam', says: /unknown key "epsilon"; the valid keys are mode, eps, momentum, runningMean, runningVar$/, call: (a) => a.spatialBatchnormForward(xs, g3, bt3, bad({ mode: 'train', epsilon: 1e-3 })) },
  { what: 'dout not shaped like out', fn: 'spatialBatchnormBackward', arg: 'dout', says: /got \(2,3,3,2\)/, call: (a) => a.spatialBatchnormBackward(T([2, 3, 3, 2]), a.spatialBatchnormForward(xs, g3, bt3, { mode: 'train' }).cache) },
  { what: 'the cache of plain batchnorm', fn: 'spatialBatchnormBackward', arg: 'cache', says: /returned by spatialBatchnormForward/, call: (a) => a.spatialBatchnormBackward(T([5, 4]), a.batchnormForward(xb, g4, bt4, { mode: 'train' }).cache) },

  // ---- relu
  { what: 'x.data not a Float64Array', fn: 'reluForward', arg: 'x.data', says: /got a Uint8Array/, call: (a) => a.reluForward(raw(new Uint8Array(4), [4])) },
  { what: 'x.data length ≠ product of shape', fn: 'reluForward', arg: 'x.data', says: /needs 6/, call: (a) => a.reluForward(raw(new Float64Array(5), [2, 3])) },
  { what: 'fractional dimension', fn: 'reluForward', arg: 'x.shape[0]', says: /got 0\.5/, call: (a) => a.reluForward(raw(new Float64Array(1), [0.5])) },
  { what: 'dout not shaped like out', fn: 'reluBackward', arg: 'dout', says: /got \(6\)/, call: (a) => a.reluBackward(T([6]), a.reluForward(T([2, 3])).cache) },
  { what: 'a forged cache', fn: 'reluBackward', arg: 'cache', says: /returned by reluForward/, call: (a) => a.reluBackward(T([2]), { kind: 'relu', x: new Float64Array(2), shape: [2] }) },

  // ---- affine
  { what: 'x of rank 1', fn: 'affineForward', arg: 'x', says: /rank 2 or more.*got shape \(6\)/, call: (a) => a.affineForward(T([6]), wa, ba) },
  { what: 'w rows ≠ features of x', fn: 'affineForward', arg: 'w', says: /7 rows .*6 features/, call: (a) => a.affineForward(xa, T([7, 5]), ba) },
  { what: 'w of rank 3', fn: 'affineForward', arg: 'w', says: /rank 2/, call: (a) => a.affineForward(xa, T([6, 5, 1]), ba) },
  { what: 'b length ≠ M', fn: 'affineForward', arg: 'b', says: /\(5\).*got \(4\)/, call: (a) => a.affineForward(xa, wa, T([4])) },
  { what: 'dout not shaped like out', fn: 'affineBackward', arg: 'dout', says: /shape \(2,5\).*got \(5,2\)/, call: (a) => a.affineBackward(T([5, 2]), a.affineForward(xa, wa, ba).cache) },
  { what: 'the cache of conv', fn: 'affineBackward', arg: 'cache', says: /returned by affineForward/, call: (a) => a.affineBackward(T([2, 5]), conv(a).cache) },

  // ---- softmaxLoss
  { what: 'label = C', fn: 'softmaxLoss', arg: 'y[1]', says: /integer label in \[0, 4\), got 4/, call: (a) => a.softmaxLoss(scores, [0, 4, 1]) },
  { what: 'negative label', fn: 'softmaxLoss', arg: 'y[2]', says: /got -1/, call: (a) => a.softmaxLoss(scores, Int32Array.from([0, 1, -1])) },
  { what: 'fractional label', fn: 'softmaxLoss', arg: 'y[0]', says: /got 0\.5/, call: (a) => a.softmaxLoss(scores, [0.5, 1, 2]) },
  { what: 'NaN label', fn: 'softmaxLoss', arg: 'y[1]', says: /got NaN/, call: (a) => a.softmaxLoss(scores, [0, NaN, 2]) },
  { what: 'string label', fn: 'softmaxLoss', arg: 'y[0]', says: /got "1"$/, call: (a) => a.softmaxLoss(scores, bad(['1', 1, 2])) },
  { what: 'too few labels', fn: 'softmaxLoss', arg: 'y', says: /2 labels .*3 rows/, call: (a) => a.softmaxLoss(scores, [0, 1]) },
  { what: 'labels missing', fn: 'softmaxLoss', arg: 'y', says: /an array or an Int32Array of 3 integer labels, got undefined$/, call: (a) => a.softmaxLoss(scores, bad(undefined)) },
  { what: 'labels a Float64Array', fn: 'softmaxLoss', arg: 'y', says: /array or an Int32Array of 3 integer labels, got a Float64Array of length 3/, call: (a) => a.softmaxLoss(scores, bad(new Float64Array(3))) },
  { what: 'scores of rank 3', fn: 'softmaxLoss', arg: 'scores', says: /rank 2/, call: (a) => a.softmaxLoss(T([3, 4, 1]), [0, 1, 2]) },
  { what: 'scores.data not a Float64Array', fn: 'softmaxLoss', arg: 'scores.data', says: /Float64Array/, call: (a) => a.softmaxLoss(raw(new Float32Array(12), [3, 4]), [0, 1, 2]) },

  // ---- svmLoss (the labels checked as softmaxLoss checks them)
  { what: 'label = C', fn: 'svmLoss', arg: 'y[1]', says: /integer label in \[0, 4\), got 4/, call: (a) => a.svmLoss(scores, [0, 4, 1]) },
  { what: 'negative label', fn: 'svmLoss', arg: 'y[2]', says: /got -1/, call: (a) => a.svmLoss(scores, Int32Array.from([0, 1, -1])) },
  { what: 'fractional label', fn: 'svmLoss', arg: 'y[0]', says: /got 0\.5/, call: (a) => a.svmLoss(scores, [0.5, 1, 2]) },
  { what: 'too few labels', fn: 'svmLoss', arg: 'y', says: /2 labels .*3 rows/, call: (a) => a.svmLoss(scores, [0, 1]) },
  { what: 'labels missing', fn: 'svmLoss', arg: 'y', says: /an array or an Int32Array of 3 integer labels, got undefined$/, call: (a) => a.svmLoss(scores, bad(undefined)) },
  { what: 'scores of rank 1', fn: 'svmLoss', arg: 'scores', says: /rank 2/, call: (a) => a.svmLoss(T([3]), [0, 1, 2]) },
  { what: 'scores.data not a Float64Array', fn: 'svmLoss', arg: 'scores.data', says: /Float64Array/, call: (a) => a.svmLoss(raw(new Float32Array(12), [3, 4]), [0, 1, 2]) },

  // ---- globalAvgPoolForward / globalAvgPoolBackward
  { what: 'x of rank 2', fn: 'globalAvgPoolForward', arg: 'x', says: /rank 4.*got shape \(6,6\)/, call: (a) => a.globalAvgPoolForward(T([6, 6])) },
  { what: 'x.data not a Float64Array', fn: 'globalAvgPoolForward', arg: 'x.data', says: /Float64Array, got a Float32Array/, call: (a) => a.globalAvgPoolForward(raw(new Float32Array(4), [1, 1, 2, 2])) },
  { what: 'x missing', fn: 'globalAvgPoolForward', arg: 'x', says: /got undefined/, call: (a) => a.globalAvgPoolForward(bad(undefined)) },
  { what: 'dout not shaped like out', fn: 'globalAvgPoolBackward', arg: 'dout', says: /shape \(2,3\).*got \(3,2\)/, call: (a) => a.globalAvgPoolBackward(T([3, 2]), a.globalAvgPoolForward(xp).cache) },
  { what: 'dout shaped like x', fn: 'globalAvgPoolBackward', arg: 'dout', says: /got \(2,3,6,6\)/, call: (a) => a.globalAvgPoolBackward(T([2, 3, 6, 6]), a.globalAvgPoolForward(xp).cache) },
  { what: 'the cache of avg pool', fn: 'globalAvgPoolBackward', arg: 'cache', says: /returned by globalAvgPoolForward/, call: (a) => a.globalAvgPoolBackward(T([2, 3]), a.avgPoolForward(xp, pp).cache) },
  { what: 'a forged cache', fn: 'globalAvgPoolBackward', arg: 'cache', says: /returned by globalAvgPoolForward/, call: (a) => a.globalAvgPoolBackward(T([2, 3]), { kind: 'globalAvgPool', shape: [2, 3, 6, 6] }) },
  { what: 'the cache of the other entry', fn: 'globalAvgPoolBackward', arg: 'cache', says: /returned by globalAvgPoolForward/, call: (a, o) => a.globalAvgPoolBackward(T([2, 3]), o.globalAvgPoolForward(xp).cache) },

  // ---- transpose
  { what: 'axes with a repeat', fn: 'transpose', arg: 'axes', says: /permutation of 0\.\.2, got \[0, 0, 1\]/, call: (a) => a.transpose(T([2, 3, 4]), [0, 0, 1]) },
  { what: 'axes too short', fn: 'transpose', arg: 'axes', says: /got \[1, 0\]/, call: (a) => a.transpose(T([2, 3, 4]), [1, 0]) },
  { what: 'axes out of range', fn: 'transpose', arg: 'axes', says: /got \[0, 3, 1\]/, call: (a) => a.transpose(T([2, 3, 4]), [0, 3, 1]) },
  { what: 'negative axis', fn: 'transpose', arg: 'axes', says: /got \[-1, 0\]/, call: (a) => a.transpose(T([2, 3]), [-1, 0]) },
  { what: 'fractional axis', fn: 'transpose', arg: 'axes', says: /got \[0\.5, 1\]/, call: (a) => a.transpose(T([2, 3]), [0.5, 1]) },
  { what: 'axes with a string', fn: 'transpose', arg: 'axes', says: /got \[1, "0"\]$/, call: (a) => a.transpose(T([2, 3]), bad([1, '0'])) },
  { what: 'axes a string', fn: 'transpose', arg: 'axes', says: /got "1,0"$/, call: (a) => a.transpose(T([2, 3]), bad('1,0')) },
  { what: 'axes not an array', fn: 'transpose', arg: 'axes', says: /must be an array/, call: (a) => a.transpose(T([2, 3]), bad(1)) },
  { what: 'x.data length ≠ product of shape', fn: 'transpose', arg: 'x.data', says: /needs 6/, call: (a) => a.transpose(raw(new Float64Array(7), [2, 3]), [1, 0]) },
];

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

const entries: [string, Api, Api][] = [['wasm', main, ref], ['reference', ref, main]];

for (const [entry, api, other] of entries) {
  describe(`bad input (${entry})`, () => {
    cases.forEach((c, i) => {
      if (c.wasmOnly && api !== main) return;
      it(`#${i} ${c.fn}: ${c.what}`, () => {
        const e = thrown(() => c.call(api, other));
        expect(e, 'it throws').toBeDefined();
        expect(e).toBeInstanceOf(Error);
        expect(e, String(e)).toBeInstanceOf(ConvcoreError);
        expect(e).not.toBeInstanceOf(TypeError);
        expect(e).not.toBeInstanceOf(WebAssembly.RuntimeError);
        const msg = (e as Error).message;
        expect(msg.startsWith(`${c.fn}: `), `"${msg}" starts with the function`).toBe(true);
        expect(msg, 'names the argument').toContain(c.arg);
        if (c.says) expect(msg).toMatch(c.says);
        if (c.exact) expect(msg).toBe(c.exact);
        expect(msg).not.toMatch(/cannot read|undefined is not|is not a function|\[object Object\]/i);
      });
    });
  });
}

describe('after the errors', () => {
  it(`${cases.length} error cases, each checked on both entries`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
    const fns = new Set(cases.map((c) => c.fn));
    for (const fn of ['tensor', 'convForward', 'convBackward', 'maxPoolForward', 'maxPoolBackward', 'avgPoolForward', 'avgPoolBackward',
      'batchnormForward', 'batchnormBackward', 'spatialBatchnormForward', 'spatialBatchnormBackward', 'reluForward', 'reluBackward',
      'affineForward', 'affineBackward', 'softmaxLoss', 'transpose', 'svmLoss', 'globalAvgPoolForward', 'globalAvgPoolBackward']) {
      expect(fns.has(fn), fn).toBe(true);
    }
  });

  it('a forged max-pool cache with out-of-range argmax never reaches the kernel', () => {
    const forged = { kind: 'maxPool', argmax: new Int32Array(4).fill(2 ** 30), g: { N: 1, C: 1, H: 4, W: 4, HH: 2, WW: 2, SH: 2, SW: 2, H2: 2, W2: 2 } };
    expect(() => main.maxPoolBackward(main.tensor([1, 1, 1, 1], [1, 1, 2, 2]), forged as never)).toThrow(ConvcoreError);
  });

  it('the module still computes correct results', () => {
    const rr = makeRng(777);
    const x = randn(rr, [2, 3, 7, 6]);
    const wt = randn(rr, [4, 3, 3, 2]);
    const b = randn(rr, [4]);
    const p = { stride: [2, 1] as [number, number], pad: 1 };
    const got = main.convForward(x, wt, b, p);
    const want = ref.convForward(x, wt, b, p);
    expectClose(got.out, want.out, 'convForward after errors');
    const dout = randn(rr, want.out.shape);
    const g = main.convBackward(dout, got.cache);
    const e = ref.convBackward(dout, want.cache);
    expectClose(g.dx, e.dx, 'convBackward dx after errors');
    expectClose(g.dw, e.dw, 'convBackward dw after errors');
    const xm = distinct(rr, [2, 2, 6, 6], 0.5, -10);
    const pm = { poolHeight: 3, poolWidth: 2, stride: [1, 2] as [number, number] };
    const mp = main.maxPoolForward(xm, pm);
    const mr = ref.maxPoolForward(xm, pm);
    expectClose(mp.out, mr.out, 'maxPoolForward after errors');
    const dm = randn(rr, mr.out.shape);
    expectClose(main.maxPoolBackward(dm, mp.cache).dx, ref.maxPoolBackward(dm, mr.cache).dx, 'maxPoolBackward after errors');
    const bp = { mode: 'train' as const, runningMean: randn(rr, [4]), runningVar: randn(rr, [4], 0.1, 1) };
    const xbn = randn(rr, [6, 4]);
    const bm = main.batchnormForward(xbn, g4, bt4, bp);
    const br = ref.batchnormForward(xbn, g4, bt4, bp);
    expectClose(bm.out, br.out, 'batchnormForward after errors');
    expectClose(bm.runningVar, br.runningVar, 'runningVar after errors');
    const sl = main.softmaxLoss(scores, [3, 0, 2]);
    expect(Math.abs(sl.loss - ref.softmaxLoss(scores, [3, 0, 2]).loss)).toBeLessThan(1e-12);
    const sv = main.svmLoss(scores, [3, 0, 2]);
    expect(Math.abs(sv.loss - ref.svmLoss(scores, [3, 0, 2]).loss)).toBeLessThan(1e-12);
    const xd = randn(rr, [2, 4, 6, 7]), wd = randn(rr, [8, 1, 3, 3]), bd = randn(rr, [8]);
    const pd = { pad: 2, dilation: 2, groups: 4 };
    expectClose(main.convForward(xd, wd, bd, pd).out, ref.convForward(xd, wd, bd, pd).out, 'depthwise convForward after errors');
  });
});
