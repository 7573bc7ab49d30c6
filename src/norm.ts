import { Tensor, make, checkTensor } from './tensor.js';
import { checkDout } from './params.js';
import { kernels, reserve, put, take } from './wasm.js';
import { normBackwardOn, normForwardOn } from './layers/basic.js';
import { Cache, seal, openCache } from './cache.js';
import { layernormSettings, groupnormSettings } from './reference/norm.js';
import type { LayernormParam, GroupnormParam } from './reference/norm.js';

export type { LayernormParam, GroupnormParam };

type Kind = 'layernorm' | 'spatialGroupnorm';

export type LayernormCache = Cache<'layernorm'>;
export type SpatialGroupnormCache = Cache<'spatialGroupnorm'>;

/** x viewed as (R, Cg, L): R rows of Cg channels of L values; row r uses the gammas of group r % G. */
interface NormGeometry {
  readonly R: number;
  readonly G: number;
  readonly Cg: number;
  readonly L: number;
}

interface NormState {
  readonly xhat: Float64Array;
  readonly invstd: Float64Array;
  readonly gamma: Float64Array;
  readonly shape: readonly number[];
  readonly geo: NormGeometry;
}

const F64 = 8;

function forward<K extends Kind>(fn: string, kind: K, x: Tensor, gamma: Tensor, beta: Tensor, eps: number, geo: NormGeometry):
  { out: Tensor; cache: Cache<K> } {
  const { R, G, Cg, L } = geo;
  const n = x.data.length;
  const C = G * Cg;
  const [px, pgamma, pbeta, pout, pxhat, pinv] = reserve(fn, [n * F64, C * F64, C * F64, n * F64, n * F64, R * F64]);
  put(px, x.data);
  put(pgamma, gamma.data);
  put(pbeta, beta.data);
  normForwardOn(kernels(), px, pgamma, pbeta, pout, pxhat, pinv, R, G, Cg, L, eps);
  const state: NormState = { xhat: take(pxhat, n), invstd: take(pinv, R), gamma: gamma.data.slice(), shape: x.shape.slice(), geo };
  return { out: make(take(pout, n), x.shape), cache: seal(kind, state) };
}

function backward(fn: string, kind: Kind, forwardName: string, dout: Tensor, cache: unknown):
  { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const c = openCache<NormState>(fn, cache, kind, forwardName);
  checkDout(fn, dout, c.shape);
  const { R, G, Cg, L } = c.geo;
  const n = c.xhat.length;
  const C = G * Cg;
  const [pdout, pxhat, pgamma, pinv, pdx, pdgamma, pdbeta, ppartial] =
    reserve(fn, [n * F64, n * F64, C * F64, R * F64, n * F64, C * F64, C * F64, L > 1 ? R * Cg * 2 * F64 : 0]);
  put(pdout, dout.data);
  put(pxhat, c.xhat);
  put(pgamma, c.gamma);
  put(pinv, c.invstd);
  normBackwardOn(kernels(), pdout, pxhat, pgamma, pinv, pdx, pdgamma, pdbeta, L > 1 ? ppartial : 0, R, G, Cg, L);
  return { dx: make(take(pdx, n), c.shape), dgamma: make(take(pdgamma, C), [C]), dbeta: make(take(pdbeta, C), [C]) };
}

/**
 * x (N,D), gamma, beta (D) -> out (N,D): each row normalized over its D features with the
 * biased variance, out = gamma·xhat + beta. eps defaults to 1e-5. No running statistics:
 * train and test are the same.
 */
export function layernormForward(x: Tensor, gamma: Tensor, beta: Tensor, lnParam?: LayernormParam): { out: Tensor; cache: LayernormCache } {
  const fn = 'layernormForward';
  const xt = checkTensor(fn, 'x', x, 2, '(N,D)');
  const [N, D] = xt.shape;
  const { eps } = layernormSettings(fn, D, gamma, beta, lnParam);
  return forward(fn, 'layernorm', xt, gamma, beta, eps, { R: N, G: 1, Cg: D, L: 1 });
}

/** dout (N,D) -> dx (N,D), dgamma, dbeta (D). */
export function layernormBackward(dout: Tensor, cache: LayernormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  return backward('layernormBackward', 'layernorm', 'layernormForward', dout, cache);
}

/**
 * x (N,C,H,W), gamma, beta (C) -> out (N,C,H,W). The channels form `groups` groups of
 * C/groups consecutive channels; each (n, group) is normalized over its channels and
 * pixels, then each channel scaled and shifted by its gamma and beta.
 */
export function spatialGroupnormForward(x: Tensor, gamma: Tensor, beta: Tensor, gnParam: GroupnormParam):
  { out: Tensor; cache: SpatialGroupnormCache } {
  const fn = 'spatialGroupnormForward';
  const xt = checkTensor(fn, 'x', x, 4, '(N,C,H,W)');
  const [N, C, H, W] = xt.shape;
  const { groups: G, eps } = groupnormSettings(fn, C, gamma, beta, gnParam);
  return forward(fn, 'spatialGroupnorm', xt, gamma, beta, eps, { R: N * G, G, Cg: C / G, L: H * W });
}

/** dout (N,C,H,W) -> dx (N,C,H,W), dgamma, dbeta (C). */
export function spatialGroupnormBackward(dout: Tensor, cache: SpatialGroupnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  return backward('spatialGroupnormBackward', 'spatialGroupnorm', 'spatialGroupnormForward', dout, cache);
}
