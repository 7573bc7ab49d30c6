import { Tensor, make } from '../tensor.js';
import { ConvParam, ConvBackwardParam, ConvGeometry, convGeometry, convBackwardWants, checkDout } from '../params.js';
import { Cache, makeCache, openCache } from './cache.js';

export type ConvCache = Cache<'convForward'>;

interface ConvState {
  x: Float64Array;
  w: Float64Array;
  g: ConvGeometry;
}

/**
 * x (N,C,H,W), w (F,C/G,HH,WW), b (F) -> out (N,F,H2,W2), with G groups and dilation D
 *
 *   out[n,f,h2,w2] = b[f] + Σ_c',i,j w[f,c',i,j] · xpad[n, g·Cg + c', h2·S + i·D, w2·S + j·D]
 *
 * where Cg = C/G is the number of channels per group and g = ⌊f / (F/G)⌋ the group of
 * filter f: the filters of group g see only the channels [g·Cg, (g+1)·Cg) of x. With
 * G = C each filter sees one channel (a depthwise convolution, F/C filters per channel).
 * xpad is x with P zeros around each image, so xpad[n,c,h,w] = x[n,c,h−P,w−P] inside and
 * 0 in the border. A kernel's taps are D apart, so it spans (HH−1)·D+1 rows of xpad, and
 * H2 = ⌊(H+2P−((HH−1)·D+1))/S⌋+1; stride, pad and dilation may differ along height
 * (SH, PH, DH) and width (SW, PW, DW).
 *
 * The border's terms w·0 are added too: they are 0 for a finite w, and NaN for an
 * infinite one, as numpy's sum over the padded x gives (and the Wasm GEMM, which
 * multiplies the zeros of the padding like any other entry).
 */
export function convForward(x: Tensor, w: Tensor, b: Tensor, convParam?: ConvParam): { out: Tensor; cache: ConvCache } {
  const g = convGeometry('convForward', x, w, b, convParam);
  const { N, C, H, W, F, HH, WW, SH, SW, PH, PW, H2, W2, DH, DW, G } = g;
  const Cg = C / G, Fg = F / G;
  const out = new Float64Array(N * F * H2 * W2);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      const group = Math.floor(f / Fg);
      for (let h2 = 0; h2 < H2; h2++) {
        for (let w2 = 0; w2 < W2; w2++) {
          let s = b.data[f];
          for (let cg = 0; cg < Cg; cg++) {
            const c = group * Cg + cg;
            for (let i = 0; i < HH; i++) {
              const h = h2 * SH + i * DH - PH;
              for (let j = 0; j < WW; j++) {
                const ww = w2 * SW + j * DW - PW;
                const wv = w.data[((f * Cg + cg) * HH + i) * WW + j];
                if (h < 0 || h >= H || ww < 0 || ww >= W) {
                  s += wv * 0; // the border: xpad is 0 there
                  continue;
                }
                s += wv * x.data[((n * C + c) * H + h) * W + ww];
              }
            }
          }
          out[((n * F + f) * H2 + h2) * W2 + w2] = s;
        }
      }
    }
  }
  const state: ConvState = { x: x.data.slice(), w: w.data.slice(), g };
  return { out: make(out, [N, F, H2, W2]), cache: makeCache('convForward', state) };
}

/**
 * dout (N,F,H2,W2) -> dx (N,C,H,W), dw (F,C/G,HH,WW), db (F)
 *
 *   db[f]          = Σ_n,h2,w2 dout[n,f,h2,w2]
 *   dw[f,c',i,j]   = Σ_n,h2,w2 dout[n,f,h2,w2] · xpad[n, g·Cg + c', h2·S + i·D, w2·S + j·D]
 *   dxpad[n, g·Cg + c', h2·S + i·D, w2·S + j·D] += dout[n,f,h2,w2] · w[f,c',i,j]   for every f,h2,w2,c',i,j
 *
 * with g the group of f, as in the forward, and dx is dxpad without its border (the chain
 * rule through xpad[n,c,h,w] = x[n,c,h−P,w−P]). Rows and columns of x that no window
 * reaches receive nothing, so their dx is 0. dw gets the border's terms dout·0 too (NaN
 * for an infinite dout), as in the forward.
 *
 * `options` ({dx, dw}, each true by default) leaves out the gradients set to false: they
 * are neither computed nor present in the result; db is always there.
 */
export function convBackward(dout: Tensor, cache: ConvCache, options?: { dx?: true; dw?: true }): { dx: Tensor; dw: Tensor; db: Tensor };
export function convBackward(dout: Tensor, cache: ConvCache, options: { dx: false; dw?: true }): { dw: Tensor; db: Tensor };
export function convBackward(dout: Tensor, cache: ConvCache, options: { dx?: true; dw: false }): { dx: Tensor; db: Tensor };
export function convBackward(dout: Tensor, cache: ConvCache, options: { dx: false; dw: false }): { db: Tensor };
export function convBackward(dout: Tensor, cache: ConvCache, options?: ConvBackwardParam): { dx?: Tensor; dw?: Tensor; db: Tensor };
export function convBackward(dout: Tensor, cache: ConvCache, options?: ConvBackwardParam): { dx?: Tensor; dw?: Tensor; db: Tensor } {
  const { x, w, g } = openCache<ConvState>('convBackward', 'convForward', cache);
  const { N, C, H, W, F, HH, WW, SH, SW, PH, PW, H2, W2, DH, DW, G } = g;
  const Cg = C / G, Fg = F / G;
  const d = checkDout('convBackward', dout, [N, F, H2, W2]).data;
  const { dx: wantDx, dw: wantDw } = convBackwardWants('convBackward', options);
  const dx = new Float64Array(wantDx ? N * C * H * W : 0);
  const dw = new Float64Array(wantDw ? F * Cg * HH * WW : 0);
  const db = new Float64Array(F);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      const group = Math.floor(f / Fg);
      for (let h2 = 0; h2 < H2; h2++) {
        for (let w2 = 0; w2 < W2; w2++) {
          const g1 = d[((n * F + f) * H2 + h2) * W2 + w2];
          db[f] += g1;
          for (let cg = 0; cg < Cg; cg++) {
            const c = group * Cg + cg;
            for (let i = 0; i < HH; i++) {
              const h = h2 * SH + i * DH - PH;
              for (let j = 0; j < WW; j++) {
                const ww = w2 * SW + j * DW - PW;
                const wi = ((f * Cg + cg) * HH + i) * WW + j;
                if (h < 0 || h >= H || ww < 0 || ww >= W) {
                  // The border: xpad is 0 there, and its own gradient is dropped.
                  if (wantDw) dw[wi] += g1 * 0;
                  continue;
                }
                const xi = ((n * C + c) * H + h) * W + ww;
                if (wantDw) dw[wi] += g1 * x[xi];
                if (wantDx) dx[xi] += g1 * w[wi];
              }
            }
          }
        }
      }
    }
  }
  return {
    ...(wantDx ? { dx: make(dx, [N, C, H, W]) } : {}),
    ...(wantDw ? { dw: make(dw, [F, Cg, HH, WW]) } : {}),
    db: make(db, [F]),
  };
}
