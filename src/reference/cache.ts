import { fail } from '../errors.js';

declare const contents: unique symbol;

/**
 * Caches are opaque to the caller: a frozen token naming the forward that made it,
 * whose state is kept in a private map, so that a backward refuses a cache from
 * another op and nothing a caller does to a cache changes what the backward computes.
 */
export interface Cache<K extends string> {
  readonly forward: K;
  readonly [contents]?: never;
}

const states = new WeakMap<object, { forward: string; state: object }>();

export function makeCache<K extends string>(forward: K, state: object): Cache<K> {
  const token = Object.freeze({ forward }) as Cache<K>;
  states.set(token, { forward, state });
  return token;
}

/** Returns the state stored by `forward`, or throws if `cache` came from anywhere else. */
export function openCache<S>(fn: string, forward: string, cache: unknown): S {
  const entry = cache !== null && typeof cache === 'object' ? states.get(cache) : undefined;
  if (entry === undefined || entry.forward !== forward) fail(`${fn}: cache must be the cache returned by ${forward}`);
  return entry.state as S;
}
