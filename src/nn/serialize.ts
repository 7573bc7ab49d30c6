/**
 * JSON-safe float64 arrays. JSON.stringify writes the shortest decimal that reads back as
 * the same double, so finite numbers round-trip exactly; the values JSON cannot hold
 * (NaN, ±Infinity, and the sign of −0) are written as the strings "NaN", "Infinity",
 * "-Infinity" and "-0".
 */
import { fail } from '../errors.js';
import { Tensor, make, shapeString, product } from '../tensor.js';

export type JsonNumber = number | 'NaN' | 'Infinity' | '-Infinity' | '-0';

export interface JsonTensor {
  shape: number[];
  data: JsonNumber[];
}

export function encodeArray(a: ArrayLike<number>): JsonNumber[] {
  const out = new Array<JsonNumber>(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (Number.isFinite(v)) out[i] = v === 0 && 1 / v < 0 ? '-0' : v;
    else out[i] = Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  }
  return out;
}

const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };

export function decodeArray(fn: string, name: string, a: unknown, length?: number): Float64Array {
  if (!Array.isArray(a)) fail(`${fn}: ${name} must be an array of numbers, got ${typeof a}`);
  if (length !== undefined && a.length !== length) fail(`${fn}: ${name} must have ${length} numbers, got ${a.length}`);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v === 'number') out[i] = v;
    else if (typeof v === 'string' && v in SPECIAL) out[i] = SPECIAL[v];
    else fail(`${fn}: ${name}[${i}] must be a number or one of "NaN", "Infinity", "-Infinity", "-0", got ${JSON.stringify(v)}`);
  }
  return out;
}

export function encodeTensor(t: { data: Float64Array; shape: readonly number[] }): JsonTensor {
  return { shape: t.shape.slice(), data: encodeArray(t.data) };
}

export function decodeTensor(fn: string, name: string, j: unknown, shape?: readonly number[]): Tensor {
  if (j === null || typeof j !== 'object') fail(`${fn}: ${name} must be an object {shape, data}, got ${j === null ? 'null' : typeof j}`);
  const { shape: s, data } = j as { shape: unknown; data: unknown };
  if (!Array.isArray(s) || !s.every((d) => Number.isSafeInteger(d) && d > 0)) fail(`${fn}: ${name}.shape must be an array of positive integers`);
  if (shape && shapeString(s as number[]) !== shapeString(shape)) {
    fail(`${fn}: ${name} must have shape ${shapeString(shape)}, got ${shapeString(s as number[])}`);
  }
  return make(decodeArray(fn, `${name}.data`, data, product(s as number[])), s as number[]);
}
