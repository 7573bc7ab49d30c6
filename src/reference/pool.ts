import { Tensor, make, checkTensor } from '../tensor.js';
import { PoolParam, PoolGeometry, poolGeometry, checkDout } from '../params.js';
import { Cache, makeCache, openCache } from './cache.js';

export type MaxPoolCache = Cache<'maxPoolForward'>;
export type AvgPoolCache = Cache<'avgPoolForward'>;
export type GlobalAvgPoolCache = Cache<'globalAvgPoolForward'>;

interface PoolState {
  x: Float64Array;
  g: PoolGeometry;
}

/**
 * The offset in x of the first maximum of window (n,c,h2,w2): the window is scanned
 * row by row and a later value replaces the best one only if it is strictly greater,
 * so ties go to the first, and an all-negative window still has its own maximum.
 * A NaN is greater than every number, and the first NaN stays: a window that holds a
 * NaN has the maximum NaN at its first NaN, as numpy's max and argmax give.
 */
function argmax(x: Float64Array, g: PoolGeometry, n: number, c: number, h2: number, w2: number): number {
  const { C, H, W, HH, WW, SH, SW } = g;
  let best = ((n * C + c) * H + h2 * SH) * W + w2 * SW;
  for (let i = 0; i < HH; i++) {
    for (let j = 0; j < WW; j++) {
      const k = ((n * C + c) * H + h2 * SH + i) * W + w2 * SW + j;
      const v = x[k], m = x[best];
      if (v > m || (Number.isNaN(v) && !Number.isNaN(m))) best = k;
    }
  }
  return best;
}

/**
 * x (N,C,H,W) -> out (N,C,H2,W2), no padding, an HH×WW window (poolHeight×poolWidth),
 * H2 = ⌊(H−HH)/S⌋+1
 *
 *   out[n,c,h2,w2] = max_i,j x[n,c,h2·S+i,w2·S+j]   (NaN if the window holds a NaN)
 */
export function maxPoolForward(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: MaxPoolCache } {
  const g = poolGeometry('maxPoolForward', x, poolParam);
  const { N, C, H2, W2 } = g;
  const out = new Float64Array(N * C * H2 * W2);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let h2 = 0; h2 < H2; h2++) {
        for (let w2 = 0; w2 < W2; w2++) {
          out[((n * C + c) * H2 + h2) * W2 + w2] = x.data[argmax(x.data, g, n, c, h2, w2)];
        }
      }
    }
  }
  const state: PoolState = { x: x.data.slice(), g };
  return { out: make(out, [N, C, H2, W2]), cache: makeCache('maxPoolForward', state) };
}

/**
 * dout (N,C,H2,W2) -> dx (N,C,H,W)
 *
 * The max passes its gradient to the one input it picked (the first argmax):
 *   dx[argmax of window (n,c,h2,w2)] += dout[n,c,h2,w2]
 * summed where windows overlap.
 */
export function maxPoolBackward(dout: Tensor, cache: MaxPoolCache): { dx: Tensor } {
  const { x, g } = openCache<PoolState>('maxPoolBackward', 'maxPoolForward', cache);
  const { N, C, H, W, H2, W2 } = g;
  const d = checkDout('maxPoolBackward', dout, [N, C, H2, W2]).data;
  const dx = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let h2 = 0; h2 < H2; h2++) {
        for (let w2 = 0; w2 < W2; w2++) {
          dx[argmax(x, g, n, c, h2, w2)] += d[((n * C + c) * H2 + h2) * W2 + w2];
        }
      }
    }
  }
  return { dx: make(dx, [N, C, H, W]) };
}

/**
 * x (N,C,H,W) -> out (N,C,H2,W2), no padding
 *
 *   out[n,c,h2,w2] = 1/(HH·WW) · Σ_i,j x[n,c,h2·S+i,w2·S+j]
 */
export function avgPoolForward(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: AvgPoolCache } {
  const g = poolGeometry('avgPoolForward', x, poolParam);
  const { N, C, H, W, HH, WW, SH, SW, H2, W2 } = g;
  const out = new Float64Array(N * C * H2 * W2);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let h2 = 0; h2 < H2; h2++) {
        for (let w2 = 0; w2 < W2; w2++) {
          let s = 0;
          for (let i = 0; i < HH; i++) {
            for (let j = 0; j < WW; j++) s += x.data[((n * C + c) * H + h2 * SH + i) * W + w2 * SW + j];
          }
          out[((n * C + c) * H2 + h2) * W2 + w2] = s / (HH * WW);
        }
      }
    }
  }
  return { out: make(out, [N, C, H2, W2]), cache: makeCache('avgPoolForward', { g }) };
}

/**
 * dout (N,C,H2,W2) -> dx (N,C,H,W)
 *
 * Each input of a window gets an equal share of its gradient:
 *   dx[n,c,h2·S+i,w2·S+j] += dout[n,c,h2,w2] / (HH·WW)
 * summed where windows overlap.
 */
export function avgPoolBackward(dout: Tensor, cache: AvgPoolCache): { dx: Tensor } {
  const { g } = openCache<{ g: PoolGeometry }>('avgPoolBackward', 'avgPoolForward', cache);
  const { N, C, H, W, HH, WW, SH, SW, H2, W2 } = g;
  const d = checkDout('avgPoolBackward', dout, [N, C, H2, W2]).data;
  const dx = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let h2 = 0; h2 < H2; h2++) {
        for (let w2 = 0; w2 < W2; w2++) {
          const share = d[((n * C + c) * H2 + h2) * W2 + w2] / (HH * WW);
          for (let i = 0; i < HH; i++) {
            for (let j = 0; j < WW; j++) dx[((n * C + c) * H + h2 * SH + i) * W + w2 * SW + j] += share;
          }
        }
      }
    }
  }
  return { dx: make(dx, [N, C, H, W]) };
}

/**
 * x (N,C,H,W) -> out (N,C), the mean of each plane
 *
 *   out[n,c] = 1/(H·W) · Σ_h,w x[n,c,h,w]
 */
export function globalAvgPoolForward(x: Tensor): { out: Tensor; cache: GlobalAvgPoolCache } {
  const t = checkTensor('globalAvgPoolForward', 'x', x, 4, '(N,C,H,W)');
  const [N, C, H, W] = t.shape;
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) s += t.data[((n * C + c) * H + h) * W + w];
      }
      out[n * C + c] = s / (H * W);
    }
  }
  return { out: make(out, [N, C]), cache: makeCache('globalAvgPoolForward', { shape: [N, C, H, W] }) };
}

/**
 * dout (N,C) -> dx (N,C,H,W)
 *
 * Every input of a plane has the same share of its mean:
 *   dx[n,c,h,w] = dout[n,c] / (H·W)
 */
export function globalAvgPoolBackward(dout: Tensor, cache: GlobalAvgPoolCache): { dx: Tensor } {
  const { shape } = openCache<{ shape: number[] }>('globalAvgPoolBackward', 'globalAvgPoolForward', cache);
  const [N, C, H, W] = shape;
  const d = checkDout('globalAvgPoolBackward', dout, [N, C]).data;
  const dx = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) dx[((n * C + c) * H + h) * W + w] = d[n * C + c] / (H * W);
      }
    }
  }
  return { dx: make(dx, [N, C, H, W]) };
}
