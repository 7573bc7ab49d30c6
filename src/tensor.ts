import { fail } from './errors.js';

/** A dense float64 array, row-major, with its shape. */
export interface Tensor {
  readonly data: Float64Array;
  readonly shape: readonly number[];
}

function isFloat64Array(d: unknown): d is Float64Array {
  return d instanceof Float64Array || Object.prototype.toString.call(d) === '[object Float64Array]';
}

/**
 * How a single value reads inline in an error message: strings quoted (`"2"`, so that a
 * string is told apart from the number it spells), numbers as JavaScript writes them
 * (`NaN`, `-1`, `1e+300`), and anything else as `describe` gives it.
 */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'undefined') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol') return v.toString();
  if (typeof v === 'function') return 'a function';
  return describe(v);
}

/** A list of values as it reads in a message: `[1, "2", NaN]` (`sep` between them). */
export function showList(values: readonly unknown[], sep = ', '): string {
  return `[${values.map(show).join(sep)}]`;
}

/** 'a' or 'an' before a word, by its first letter ('an Int32Array', 'a Uint8Array'). */
function article(word: string): string {
  return /^[AEIOaeio]/.test(word) ? `an ${word}` : `a ${word}`;
}

/**
 * How a given value reads in an error message after "got": 'a Float32Array of length 4',
 * 'an array of length 3', 'an object', 'null', 'undefined', '"2"' (strings quoted), '3'.
 */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) {
    const len = (v as unknown as ArrayLike<number>).length;
    return len === undefined ? article(v.constructor.name) : `${article(v.constructor.name)} of length ${len}`;
  }
  if (v instanceof ArrayBuffer) return `an ArrayBuffer of ${v.byteLength} bytes`;
  if (typeof v === 'object') return 'an object';
  return show(v);
}

export function shapeString(shape: readonly number[]): string {
  return `(${shape.join(',')})`;
}

export function product(shape: readonly number[]): number {
  let p = 1;
  for (const s of shape) p *= s;
  return p;
}

/** The largest dimension a kernel's i32 parameters hold. */
const MAX_DIM = 2 ** 31 - 1;
/**
 * The most float64 values one tensor may hold: 8 bytes each must fit in the 4 GiB a
 * 32-bit WebAssembly module addresses (so every length and offset fits its u32/i32 too).
 */
export const MAX_ELEMENTS = 2 ** 29;

/**
 * Checks that every entry of a shape is a positive integer a kernel's i32 holds, and that
 * the tensor it describes fits a 32-bit module; `label` names it in messages ('x.shape').
 */
export function checkShape(fn: string, label: string, shape: unknown): readonly number[] {
  if (!Array.isArray(shape)) fail(`${fn}: ${label} must be an array of positive integers, got ${describe(shape)}`);
  let p = 1;
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i];
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s <= 0 || s > MAX_DIM) {
      const range = typeof s === 'number' && Number.isSafeInteger(s) && s > MAX_DIM ? ` no larger than ${MAX_DIM}` : '';
      fail(`${fn}: ${label}[${i}] must be a positive integer${range}, got ${show(s)} in ${showList(shape, ',')}`);
    }
    p *= s;
  }
  if (p > MAX_ELEMENTS) {
    fail(`${fn}: ${label} ${shapeString(shape)} holds ${p} values, more than the ${MAX_ELEMENTS} (4 GiB of float64) a 32-bit WebAssembly module can address`);
  }
  return shape as number[];
}

/** An array of numbers copied into a Float64Array; any other entry (a string, null, a hole) is refused, not coerced. */
function numbers(fn: string, name: string, a: readonly unknown[]): Float64Array {
  for (let i = 0; i < a.length; i++) {
    if (typeof a[i] !== 'number') fail(`${fn}: ${name}[${i}] must be a number, got ${show(a[i])}`);
  }
  return Float64Array.from(a as number[]);
}

/**
 * Builds a Tensor. `data` is a Float64Array (kept, not copied) or an array of numbers
 * (copied into a new Float64Array); its length must equal the product of `shape`.
 */
export function tensor(data: Float64Array | readonly number[], shape: readonly number[]): Tensor {
  let d: Float64Array;
  if (isFloat64Array(data)) d = data;
  else if (Array.isArray(data)) d = numbers('tensor', 'data', data);
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
