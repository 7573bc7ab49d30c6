import { fail } from '../errors.js';

/**
 * Caches are opaque to the caller. Each one carries a tag naming the forward that
 * made it, so that a backward refuses a cache from another op.
 */
export const FROM: unique symbol = Symbol('convcore reference cache');

/** The cache of the forward named K; its contents are private to the family file. */
export interface Cache<K extends string> {
  readonly [FROM]: K;
}

export function makeCache<K extends string>(forward: K, state: object): Cache<K> {
  return Object.freeze({ ...state, [FROM]: forward });
}

/** Returns the state stored by `forward`, or throws if `cache` came from anywhere else. */
export function openCache<S>(fn: string, forward: string, cache: unknown): S {
  if (cache === null || typeof cache !== 'object' || (cache as Partial<Cache<string>>)[FROM] !== forward) {
    fail(`${fn}: cache must be the cache returned by ${forward}`);
  }
  return cache as S;
}
