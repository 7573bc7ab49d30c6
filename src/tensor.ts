import { fail } from './errors.js';

/** A dense float64 array, row-major, with its shape. */
export interface Tensor {
  readonly data: Float64Array;
  readonly shape: readonly number[];
}

function isFloat64Array(d: unknown): d is Float64Array {
  return d instanceof Float64Array || Object.prototype.toString.call(d) === '[object Float64Array]';
}

/** How a given value reads in an error message: 'a Float32Array of length 4', 'undefined', … */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of length ${(v as unknown as ArrayLike<number>).length}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export function shapeString(shape: readonly number[]): string {
  return `(${shape.join(',')})`;
}

export function product(shape: readonly number[]): number {
  let p = 1;
  for (const s of shape) p *= s;
  return p;
}

/** Checks that every entry of a shape is a positive integer; `label` names it in messages ('x.shape'). */
export function checkShape(fn: string, label: string, shape: unknown): readonly number[] {
  if (!Array.isArray(shape)) fail(`${fn}: ${label} must be an array of positive integers, got ${describe(shape)}`);
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i];
    if (typeof s !== 'number' || !Number.isInteger(s) || s <= 0) {
      fail(`${fn}: ${label}[${i}] must be a positive integer, got ${String(s)} in [${shape.map(String).join(',')}]`);
    }
  }
  return shape as number[];
}

/**
 * Builds a Tensor. `data` is a Float64Array (kept, not copied) or an array of numbers
 * (copied into a new Float64Array); its length must equal the product of `shape`.
 */
export function tensor(data: Float64Array | readonly number[], shape: readonly number[]): Tensor {
  let d: Float64Array;
  if (isFloat64Array(data)) d = data;
  else if (Array.isArray(data)) d = Float64Array.from(data as number[]);
  else fail(`tensor: data must be a Float64Array or an array of numbers, got ${describe(data)}`);
  const s = checkShape('tensor', 'shape', shape).slice();
  if (d.length !== product(s)) {
    fail(`tensor: data has length ${d.length} but shape ${shapeString(s)} needs ${product(s)}`);
  }
  return { data: d, shape: s };
}

/**
 * Checks a tensor argument: an object with a Float64Array `data` and a shape of
 * positive integers whose product is data.length, of the given rank (if any).
 */
export function checkTensor(fn: string, name: string, t: unknown, rank?: number, rankText?: string): Tensor {
  if (t === null || typeof t !== 'object' || Array.isArray(t) || ArrayBuffer.isView(t)) {
    fail(`${fn}: ${name} must be a Tensor {data, shape}, got ${describe(t)}`);
  }
  const { data, shape } = t as { data: unknown; shape: unknown };
  if (!isFloat64Array(data)) fail(`${fn}: ${name}.data must be a Float64Array, got ${describe(data)}`);
  checkShape(fn, `${name}.shape`, shape);
  const s = shape as number[];
  if (rank !== undefined && s.length !== rank) {
    fail(`${fn}: ${name} must have rank ${rank}${rankText ? ` ${rankText}` : ''}, got shape ${shapeString(s)}`);
  }
  if (data.length !== product(s)) {
    fail(`${fn}: ${name}.data has length ${data.length} but shape ${shapeString(s)} needs ${product(s)}`);
  }
  return t as Tensor;
}

/** Checks that a tensor's shape equals the expected one. */
export function checkSameShape(fn: string, name: string, t: unknown, expected: readonly number[], what: string): Tensor {
  const v = checkTensor(fn, name, t);
  const s = v.shape;
  if (s.length !== expected.length || s.some((d, i) => d !== expected[i])) {
    fail(`${fn}: ${name} must have shape ${shapeString(expected)} (${what}), got ${shapeString(s)}`);
  }
  return v;
}

/** Checks a 1-D parameter of length `len` (bias, gamma, beta, running statistics). */
export function checkVector(fn: string, name: string, t: unknown, len: number, what: string): Tensor {
  const v = checkTensor(fn, name, t);
  if (v.shape.length !== 1 || v.data.length !== len) {
    fail(`${fn}: ${name} must have shape (${len}) to match ${what}, got ${shapeString(v.shape)}`);
  }
  return v;
}

export function make(data: Float64Array, shape: readonly number[]): Tensor {
  return { data, shape: shape.slice() };
}
