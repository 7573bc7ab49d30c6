import { Tensor, make, checkTensor } from './tensor.js';
import { PoolParam, PoolGeometry, poolGeometry, checkDout } from './params.js';
import { kernels, reserve, put, take, bytes, putBytes } from './wasm.js';
import { putRecord, recordBytes } from './layers/geometry.js';
import { wideArgmax, maxPoolForwardOn, maxPoolBackwardOn, avgPoolForwardOn, avgPoolBackwardOn } from './layers/basic.js';
import { globalAvgPoolForwardOn, globalAvgPoolBackwardOn } from './layers/conv-layer.js';
import { Cache, seal, openCache } from './cache.js';

export type MaxPoolCache = Cache<'maxPool'>;
export type AvgPoolCache = Cache<'avgPool'>;

interface MaxPoolState {
  /**
   * Index within its window (i·poolWidth + j) of the first maximum of each window, or of
   * its first NaN: bytes when a window has at most 256 cells, 32-bit integers otherwise.
   */
  readonly argmax: Uint8Array | Int32Array;
  readonly g: PoolGeometry;
}

interface AvgPoolState {
  readonly g: PoolGeometry;
}

const F64 = 8;

/** Size in bytes of the pool geometry record. */
export const POOL_GEOMETRY_BYTES = recordBytes('PoolGeom');

/** Writes g at ptr (POOL_GEOMETRY_BYTES reserved there) as the pool kernels read it. */
export function putPoolGeometry(ptr: number, g: PoolGeometry): void {
  putRecord(ptr, 'PoolGeom', g);
}

export { wideArgmax };

function outShape(g: PoolGeometry): number[] {
  return [g.N, g.C, g.H2, g.W2];
}

/**
 * x (N,C,H,W) -> out (N,C,H2,W2), the maximum of each window; no padding. A window that
 * holds a NaN gives NaN (as numpy and PyTorch), and its gradient goes to its first NaN.
 */
export function maxPoolForward(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: MaxPoolCache } {
  const g = poolGeometry('maxPoolForward', x, poolParam);
  const k = kernels();
  const nOut = g.N * g.C * g.H2 * g.W2;
  const wide = wideArgmax(g);
  const argBytes = wide ? 4 : 1;
  const [pgeom, px, pout, parg] = reserve('maxPoolForward', [POOL_GEOMETRY_BYTES, x.data.length * F64, nOut * F64, nOut * argBytes]);
  putPoolGeometry(pgeom, g);
  put(px, x.data);
  maxPoolForwardOn(k, px, pout, parg, pgeom, g);
  const out = make(take(pout, nOut), outShape(g));
  const raw = bytes(parg, nOut * argBytes);
  const argmax = wide ? new Int32Array(raw.buffer) : raw;
  return { out, cache: seal('maxPool', { argmax, g }) };
}

/** dout (N,C,H2,W2) -> dx (N,C,H,W): each dout goes to its window's first argmax (or first NaN). */
export function maxPoolBackward(dout: Tensor, cache: MaxPoolCache): { dx: Tensor } {
  const c = openCache<MaxPoolState>('maxPoolBackward', cache, 'maxPool', 'maxPoolForward');
  const g = c.g;
  checkDout('maxPoolBackward', dout, outShape(g));
  const k = kernels();
  const nx = g.N * g.C * g.H * g.W;
  const argBytes = c.argmax.byteLength;
  const [pgeom, pdout, parg, pdx] = reserve('maxPoolBackward', [POOL_GEOMETRY_BYTES, dout.data.length * F64, argBytes, nx * F64]);
  putPoolGeometry(pgeom, g);
  put(pdout, dout.data);
  putBytes(parg, new Uint8Array(c.argmax.buffer, c.argmax.byteOffset, argBytes));
  maxPoolBackwardOn(k, pdout, parg, pdx, pgeom, g);
  return { dx: make(take(pdx, nx), [g.N, g.C, g.H, g.W]) };
}

/** x (N,C,H,W) -> out (N,C,H2,W2), the mean of each window; no padding. */
export function avgPoolForward(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: AvgPoolCache } {
  const g = poolGeometry('avgPoolForward', x, poolParam);
  const k = kernels();
  const nOut = g.N * g.C * g.H2 * g.W2;
  const [pgeom, px, pout] = reserve('avgPoolForward', [POOL_GEOMETRY_BYTES, x.data.length * F64, nOut * F64]);
  putPoolGeometry(pgeom, g);
  put(px, x.data);
  avgPoolForwardOn(k, px, pout, pgeom);
  return { out: make(take(pout, nOut), outShape(g)), cache: seal('avgPool', { g }) };
}

/** dout (N,C,H2,W2) -> dx (N,C,H,W): each dout spread evenly over its window. */
export function avgPoolBackward(dout: Tensor, cache: AvgPoolCache): { dx: Tensor } {
  const c = openCache<AvgPoolState>('avgPoolBackward', cache, 'avgPool', 'avgPoolForward');
  const g = c.g;
  checkDout('avgPoolBackward', dout, outShape(g));
  const k = kernels();
  const nx = g.N * g.C * g.H * g.W;
  const [pgeom, pdout, pdx] = reserve('avgPoolBackward', [POOL_GEOMETRY_BYTES, dout.data.length * F64, nx * F64]);
  putPoolGeometry(pgeom, g);
  put(pdout, dout.data);
  avgPoolBackwardOn(k, pdout, pdx, pgeom);
  return { dx: make(take(pdx, nx), [g.N, g.C, g.H, g.W]) };
}

export type GlobalAvgPoolCache = Cache<'globalAvgPool'>;

interface GlobalAvgPoolState {
  readonly shape: readonly [number, number, number, number];
}

/** x (N,C,H,W) -> out (N,C), the mean of each H×W plane. */
export function globalAvgPoolForward(x: Tensor): { out: Tensor; cache: GlobalAvgPoolCache } {
  const fn = 'globalAvgPoolForward';
  const xt = checkTensor(fn, 'x', x, 4, '(N,C,H,W)');
  const [N, C, H, W] = xt.shape;
  const [px, pout] = reserve(fn, [xt.data.length * F64, N * C * F64]);
  put(px, xt.data);
  globalAvgPoolForwardOn(kernels(), px, pout, N * C, H * W);
  return { out: make(take(pout, N * C), [N, C]), cache: seal('globalAvgPool', { shape: [N, C, H, W] }) };
}

/** dout (N,C) -> dx (N,C,H,W): each value of a plane gets dout / (H·W). */
export function globalAvgPoolBackward(dout: Tensor, cache: GlobalAvgPoolCache): { dx: Tensor } {
  const fn = 'globalAvgPoolBackward';
  const c = openCache<GlobalAvgPoolState>(fn, cache, 'globalAvgPool', 'globalAvgPoolForward');
  const [N, C, H, W] = c.shape;
  checkDout(fn, dout, [N, C]);
  const [pdout, pdx] = reserve(fn, [N * C * F64, N * C * H * W * F64]);
  put(pdout, dout.data);
  globalAvgPoolBackwardOn(kernels(), pdout, pdx, N * C, H * W);
  return { dx: make(take(pdx, N * C * H * W), [N, C, H, W]) };
}
