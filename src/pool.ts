import { Tensor, make } from './tensor.js';
import { PoolParam, PoolGeometry, poolGeometry, checkDout } from './params.js';
import { kernels, reserve, put, take, bytes, putBytes } from './wasm.js';
import { Cache, seal, openCache } from './cache.js';

export type MaxPoolCache = Cache<'maxPool'>;
export type AvgPoolCache = Cache<'avgPool'>;

interface MaxPoolState {
  /**
   * Index within its window (i·poolWidth + j) of the first maximum of each window:
   * bytes when a window has at most 256 cells, 32-bit integers otherwise.
   */
  readonly argmax: Uint8Array | Int32Array;
  readonly g: PoolGeometry;
}

interface AvgPoolState {
  readonly g: PoolGeometry;
}

const F64 = 8;

function outShape(g: PoolGeometry): number[] {
  return [g.N, g.C, g.H2, g.W2];
}

/** x (N,C,H,W) -> out (N,C,H2,W2), the maximum of each window; no padding. */
export function maxPoolForward(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: MaxPoolCache } {
  const g = poolGeometry('maxPoolForward', x, poolParam);
  const k = kernels();
  const nOut = g.N * g.C * g.H2 * g.W2;
  const wide = g.PHt * g.PWd > 256;
  const argBytes = wide ? 4 : 1;
  const [px, pout, parg] = reserve('maxPoolForward', [x.data.length * F64, nOut * F64, nOut * argBytes]);
  put(px, x.data);
  k.maxpool_forward(px, pout, parg, g.N * g.C, g.H, g.W, g.PHt, g.PWd, g.SH, g.SW, g.H2, g.W2, wide ? 1 : 0);
  const out = make(take(pout, nOut), outShape(g));
  const raw = bytes(parg, nOut * argBytes);
  const argmax = wide ? new Int32Array(raw.buffer) : raw;
  return { out, cache: seal('maxPool', { argmax, g }) };
}

/** dout (N,C,H2,W2) -> dx (N,C,H,W): each dout goes to its window's first argmax. */
export function maxPoolBackward(dout: Tensor, cache: MaxPoolCache): { dx: Tensor } {
  const c = openCache<MaxPoolState>('maxPoolBackward', cache, 'maxPool', 'maxPoolForward');
  const g = c.g;
  checkDout('maxPoolBackward', dout, outShape(g));
  const k = kernels();
  const nx = g.N * g.C * g.H * g.W;
  const wide = c.argmax instanceof Int32Array;
  const argBytes = c.argmax.byteLength;
  const [pdout, parg, pdx] = reserve('maxPoolBackward', [dout.data.length * F64, argBytes, nx * F64]);
  put(pdout, dout.data);
  putBytes(parg, new Uint8Array(c.argmax.buffer, c.argmax.byteOffset, argBytes));
  k.maxpool_backward(pdout, parg, pdx, g.N * g.C, g.H, g.W, g.PHt, g.PWd, g.SH, g.SW, g.H2, g.W2, wide ? 1 : 0);
  return { dx: make(take(pdx, nx), [g.N, g.C, g.H, g.W]) };
}

/** x (N,C,H,W) -> out (N,C,H2,W2), the mean of each window; no padding. */
export function avgPoolForward(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: AvgPoolCache } {
  const g = poolGeometry('avgPoolForward', x, poolParam);
  const k = kernels();
  const nOut = g.N * g.C * g.H2 * g.W2;
  const [px, pout] = reserve('avgPoolForward', [x.data.length * F64, nOut * F64]);
  put(px, x.data);
  k.avgpool_forward(px, pout, g.N * g.C, g.H, g.W, g.PHt, g.PWd, g.SH, g.SW, g.H2, g.W2);
  return { out: make(take(pout, nOut), outShape(g)), cache: seal('avgPool', { g }) };
}

/** dout (N,C,H2,W2) -> dx (N,C,H,W): each dout spread evenly over its window. */
export function avgPoolBackward(dout: Tensor, cache: AvgPoolCache): { dx: Tensor } {
  const c = openCache<AvgPoolState>('avgPoolBackward', cache, 'avgPool', 'avgPoolForward');
  const g = c.g;
  checkDout('avgPoolBackward', dout, outShape(g));
  const k = kernels();
  const nx = g.N * g.C * g.H * g.W;
  const [pdout, pdx] = reserve('avgPoolBackward', [dout.data.length * F64, nx * F64]);
  put(pdout, dout.data);
  k.avgpool_backward(pdout, pdx, g.N * g.C, g.H, g.W, g.PHt, g.PWd, g.SH, g.SW, g.H2, g.W2);
  return { dx: make(take(pdx, nx), [g.N, g.C, g.H, g.W]) };
}
