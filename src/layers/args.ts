// The argument checks the layers share; every message starts with where the layer is.
import { fail } from '../errors.js';
import { show } from '../tensor.js';

/** A positive integer (at most an i32). */
export function posInt(where: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > 2 ** 31 - 1) fail(`${where}: ${name} must be a positive integer, got ${show(v)}`);
  return v;
}

/** An integer ≥ min, or an [h, w] pair of them; `def` when undefined (NaN: required). */
export function pairOf(where: string, name: string, v: unknown, def: number, min: number): [number, number] {
  if (v === undefined) {
    if (Number.isNaN(def)) fail(`${where}: ${name} is missing: give an integer or an [h, w] pair`);
    return [def, def];
  }
  const ok = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= min && d <= 2 ** 31 - 1;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  return fail(`${where}: ${name} must be an integer ≥ ${min} or an [h, w] pair of them, got ${show(v)}`);
}
