import { fail } from '../errors.js';
import { checkKeys } from '../params.js';
import { describe, show } from '../tensor.js';

/**
 * Merges `given` over `defaults`. A key that `defaults` does not have is an error that
 * lists the valid ones (CS231n raises "Unrecognized arguments"), worded as for every
 * other options object.
 */
export function takeOptions<T extends object>(fn: string, name: string, given: unknown, defaults: T): T {
  if (given === undefined) return { ...defaults };
  plainObject(fn, name, given);
  checkKeys(fn, name, given, Object.keys(defaults));
  const out = { ...defaults } as Record<string, unknown>;
  for (const [key, v] of Object.entries(given as object)) if (v !== undefined) out[key] = v;
  return out as T;
}

/** Checks that `v` is an object (not null, not an array). */
export function plainObject(fn: string, name: string, v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`${fn}: ${name} must be an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

/** Checks that the object `o` holds each of `keys`; `writer` names what writes them all. */
export function checkPresent(fn: string, name: string, o: Record<string, unknown>, keys: readonly string[], writer: string): void {
  const missing = keys.find((key) => o[key] === undefined);
  if (missing !== undefined) fail(`${fn}: ${name} lacks ${missing}; ${writer} writes ${keys.join(', ')}`);
}

/** An object with every one of `keys` and no other, as toJSON() or checkpoint() writes it. */
export function exactObject(fn: string, name: string, v: unknown, keys: readonly string[], writer: string): Record<string, unknown> {
  const o = plainObject(fn, name, v);
  checkKeys(fn, name, o, keys);
  checkPresent(fn, name, o, keys, writer);
  return o;
}

/** The largest size a kernel's i32 holds. */
const I32_MAX = 2 ** 31 - 1;

export function positiveInt(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > I32_MAX) {
    const range = typeof v === 'number' && v > I32_MAX ? ` no larger than ${I32_MAX}` : '';
    fail(`${fn}: ${name} must be a positive integer${range}, got ${show(v)}`);
  }
  return v;
}

/** An integer in [min, max]; `why` says where the bounds come from. */
export function intIn(fn: string, name: string, v: unknown, min: number, max: number, why = ''): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(`${fn}: ${name} must be an integer in [${min}, ${max}]${why}, got ${show(v)}`);
  return v;
}

export function nonNegative(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) fail(`${fn}: ${name} must be a non-negative finite number, got ${show(v)}`);
  return v;
}

export function positive(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(`${fn}: ${name} must be a positive finite number, got ${show(v)}`);
  return v;
}

export function boolean(fn: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(`${fn}: ${name} must be true or false, got ${show(v)}`);
  return v;
}

/** A seed: a non-negative safe integer, or undefined or null for one drawn at random. */
export function seedOf(fn: string, v: unknown, name = 'seed'): number {
  if (v === undefined || v === null) return Math.floor(Math.random() * 2 ** 32);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${fn}: ${name} must be a non-negative integer or null, got ${show(v)}`);
  return v;
}
