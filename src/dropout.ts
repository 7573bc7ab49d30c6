import { Tensor, make, checkTensor } from './tensor.js';
import { checkDout } from './params.js';
import { kernels, reserve, put, take, bytes, putBytes } from './wasm.js';
import { dropoutBackwardOn, dropoutForwardOn } from './layers/basic.js';
import { Cache, seal, openCache } from './cache.js';
import { dropoutSettings } from './reference/dropout.js';
import type { DropoutParam, DropoutMode } from './reference/dropout.js';

export type { DropoutParam, DropoutMode };

export type DropoutCache = Cache<'dropout'>;

interface DropoutState {
  readonly train: boolean;
  readonly keepProb: number;
  /** One bit per unit, set where the unit was kept: bit i & 7 of byte i >> 3 (empty in test mode). */
  readonly mask: Uint8Array;
  readonly shape: readonly number[];
}

const F64 = 8;

/**
 * x (any shape) -> out (same shape). Inverted dropout: in train mode each unit is kept with
 * probability keepProb and divided by keepProb (so the expected output is x), or set to 0.
 * The mask comes from SplitMix64 seeded with `seed` (a fresh seed when none is given) and
 * equals the reference's for the same seed. Test mode is the identity.
 */
export function dropoutForward(x: Tensor, dropoutParam: DropoutParam): { out: Tensor; cache: DropoutCache } {
  const fn = 'dropoutForward';
  const xt = checkTensor(fn, 'x', x);
  const { train, keepProb, seed } = dropoutSettings(fn, dropoutParam);
  if (!train) {
    const state: DropoutState = { train, keepProb, mask: new Uint8Array(0), shape: xt.shape.slice() };
    return { out: make(xt.data.slice(), xt.shape), cache: seal('dropout', state) };
  }
  const n = xt.data.length;
  const nb = (n + 7) >> 3;
  const [px, pout, pmask] = reserve(fn, [n * F64, n * F64, nb]);
  put(px, xt.data);
  dropoutForwardOn(kernels(), px, pout, pmask, n, keepProb, seed);
  const state: DropoutState = { train, keepProb, mask: bytes(pmask, nb), shape: xt.shape.slice() };
  return { out: make(take(pout, n), xt.shape), cache: seal('dropout', state) };
}

/** dout (shape of x) -> dx: dout / keepProb where the forward kept the unit, else 0; test mode: a copy of dout. */
export function dropoutBackward(dout: Tensor, cache: DropoutCache): { dx: Tensor } {
  const fn = 'dropoutBackward';
  const c = openCache<DropoutState>(fn, cache, 'dropout', 'dropoutForward');
  const d = checkDout(fn, dout, c.shape);
  if (!c.train) return { dx: make(d.data.slice(), c.shape) };
  const n = d.data.length;
  const [pdout, pmask, pdx] = reserve(fn, [n * F64, c.mask.length, n * F64]);
  put(pdout, d.data);
  putBytes(pmask, c.mask);
  dropoutBackwardOn(kernels(), pdout, pmask, pdx, n, c.keepProb);
  return { dx: make(take(pdx, n), c.shape) };
}
