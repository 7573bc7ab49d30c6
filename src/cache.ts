import { fail } from './errors.js';

/** Caches are opaque to the caller; a backward only accepts one its own forward made. */
const made = new WeakSet<object>();

export function seal<T extends { readonly kind: string }>(cache: T): T {
  made.add(cache);
  return Object.freeze(cache);
}

export function openCache<T extends { readonly kind: string }>(fn: string, cache: unknown, kind: T['kind'], forward: string): T {
  if (cache === null || typeof cache !== 'object' || !made.has(cache) || (cache as { kind?: unknown }).kind !== kind) {
    fail(`${fn}: cache must be the cache returned by ${forward}`);
  }
  return cache as T;
}
