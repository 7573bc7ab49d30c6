/**
 * JSON-safe float64 arrays. JSON.stringify writes the shortest decimal that reads back as
 * the same double, so finite numbers round-trip exactly; the values JSON cannot hold
 * (NaN, ±Infinity, and the sign of −0) are written as the strings "NaN", "Infinity",
 * "-Infinity" and "-0".
 */
import { fail } from '../errors.js';
import { Tensor, make, shapeString, product, describe, show } from '../tensor.js';
import { plainObject, exactObject, checkPresent } from './options.js';
import { simdLevel, SimdLevel } from '../wasm.js';

/**
 * The version of the format of model JSON and checkpoints; a file of a later version is
 * refused. Files written before the field existed read as version 1.
 */
export const FORMAT = 1;

/** What every model JSON and checkpoint records of its making: the format and the build that ran it. */
export interface Provenance {
  format: number;
  build: SimdLevel;
}

export function provenance(): Provenance {
  return { format: FORMAT, build: simdLevel() };
}

let warnedBuild = false;

/**
 * Checks a loaded file's `format` and `build` (both optional: older files have neither). A
 * file from the other build loads, with one warning per process: its numbers are exact, but
 * training it on here rounds differently in the last bits (a fused multiply-add rounds once).
 */
export function checkProvenance(fn: string, name: string, o: Record<string, unknown>): void {
  if (o.format !== undefined && !(Number.isSafeInteger(o.format) && (o.format as number) >= 1)) {
    fail(`${fn}: ${name}.format must be a positive integer, got ${show(o.format)}`);
  }
  if (o.format !== undefined && (o.format as number) > FORMAT) {
    fail(`${fn}: ${name} is of format ${o.format as number}, later than this convcore reads (${FORMAT}); update convcore`);
  }
  if (o.build !== undefined && o.build !== 'plain' && o.build !== 'relaxed') {
    fail(`${fn}: ${name}.build must be 'plain' or 'relaxed', got ${show(o.build)}`);
  }
  const here = simdLevel();
  if (o.build !== undefined && o.build !== here && !warnedBuild) {
    warnedBuild = true;
    console.warn(`convcore: ${fn}: ${name} was written by the ${o.build as string} build and this one runs the ${here} build; `
      + 'what it holds loads exactly, but steps taken here round differently in the last bits, so a resumed run will not repeat the original bit for bit');
  }
}

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
  if (!Array.isArray(a)) fail(`${fn}: ${name} must be an array of numbers, got ${describe(a)}`);
  if (length !== undefined && a.length !== length) fail(`${fn}: ${name} must have ${length} numbers, got ${a.length}`);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v === 'number') out[i] = v;
    else if (typeof v === 'string' && v in SPECIAL) out[i] = SPECIAL[v];
    else fail(`${fn}: ${name}[${i}] must be a number or one of "NaN", "Infinity", "-Infinity", "-0", got ${show(v)}`);
  }
  return out;
}

export function encodeTensor(t: { data: Float64Array; shape: readonly number[] }): JsonTensor {
  return { shape: t.shape.slice(), data: encodeArray(t.data) };
}

/** Reads back what encodeTensor wrote; the tensor must have the given shape. */
export function decodeTensor(fn: string, name: string, j: unknown, shape: readonly number[]): Tensor {
  const { shape: s, data } = exactObject(fn, name, j, ['shape', 'data'], 'toJSON()');
  if (!Array.isArray(s) || !s.every((d) => Number.isSafeInteger(d) && d > 0)) fail(`${fn}: ${name}.shape must be an array of positive integers, got ${describe(s)}`);
  if (shapeString(s) !== shapeString(shape)) {
    fail(`${fn}: ${name} must have shape ${shapeString(shape)}, got ${shapeString(s)}`);
  }
  return make(decodeArray(fn, `${name}.data`, data, product(s)), s);
}

/**
 * Checks what a loader is given: the object `writer` returns (a string is told to be parsed
 * first), of type `type`, with each of `keys`. Other keys are left alone: a saved model may
 * carry more (a mean image, say).
 */
export function loaderInput(fn: string, name: string, j: unknown, type: string, writer: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof j === 'string') fail(`${fn}: ${name} must be the object ${writer} returns, got a string; call JSON.parse on the text first`);
  const o = plainObject(fn, name, j);
  if (o.type !== type) fail(`${fn}: ${name} must be what ${writer} returns (type "${type}"), got type ${show(o.type)}`);
  checkPresent(fn, name, o, keys, writer);
  checkProvenance(fn, name, o);
  return o;
}
