import { fail } from '../errors.js';
import { checkKeys } from '../params.js';

/**
 * Merges `given` over `defaults`. A key that `defaults` does not have is an error that
 * lists the valid ones (CS231n raises "Unrecognized arguments"), worded as for every
 * other options object.
 */
export function takeOptions<T extends object>(fn: string, name: string, given: unknown, defaults: T): T {
  if (given === undefined) return { ...defaults };
  if (given === null || typeof given !== 'object' || Array.isArray(given)) fail(`${fn}: ${name} must be an object, got ${given === null ? 'null' : typeof given}`);
  checkKeys(fn, name, given, Object.keys(defaults));
  const out = { ...defaults } as Record<string, unknown>;
  for (const [key, v] of Object.entries(given)) if (v !== undefined) out[key] = v;
  return out as T;
}

export function positiveInt(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > 2 ** 31 - 1) {
    fail(`${fn}: ${name} must be a positive integer, got ${typeof v === 'string' ? `"${v}"` : String(v)}`);
  }
  return v;
}

export function nonNegative(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) fail(`${fn}: ${name} must be a non-negative finite number, got ${typeof v === 'string' ? `"${v}"` : String(v)}`);
  return v;
}

export function positive(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(`${fn}: ${name} must be a positive finite number, got ${typeof v === 'string' ? `"${v}"` : String(v)}`);
  return v;
}

/** A seed: a non-negative safe integer, or undefined for one drawn at random. */
export function seedOf(fn: string, v: unknown): number {
  if (v === undefined || v === null) return Math.floor(Math.random() * 2 ** 32);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${fn}: seed must be a non-negative integer, got ${String(v)}`);
  return v;
}
