import { fail } from './errors.js';

declare const contents: unique symbol;

/**
 * What a forward returns as its cache: a frozen token that names its kind. What the
 * backward needs is kept in a private map keyed by the token, out of the caller's
 * reach, so that nothing a caller does to a cache can change what the backward computes.
 */
export interface Cache<K extends string> {
  readonly kind: K;
  /** Never present: it only keeps one kind of cache from being passed as another. */
  readonly [contents]?: never;
}

const states = new WeakMap<object, { kind: string; state: unknown }>();

export function seal<K extends string>(kind: K, state: object): Cache<K> {
  const token = Object.freeze({ kind }) as Cache<K>;
  states.set(token, { kind, state });
  return token;
}

/** The state a forward of this kind kept, or an error naming the cache if `cache` is not one. */
export function openCache<S>(fn: string, cache: unknown, kind: string, forward: string): S {
  const entry = cache !== null && typeof cache === 'object' ? states.get(cache) : undefined;
  if (entry === undefined || entry.kind !== kind) fail(`${fn}: cache must be the cache returned by ${forward}`);
  return entry.state as S;
}
