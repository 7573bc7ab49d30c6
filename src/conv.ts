import { Tensor, make } from './tensor.js';
import { ConvParam, ConvGeometry, convGeometry, checkDout } from './params.js';
import { kernels, reserve, put, take } from './wasm.js';
import { Cache, seal, openCache } from './cache.js';

export type ConvCache = Cache<'conv'>;

interface ConvState {
  readonly x: Float64Array;
  readonly w: Float64Array;
  readonly g: ConvGeometry;
}

const F64 = 8;

/** A 1x1 stride-1 unpadded conv reads x directly: no column buffer. */
export function colsLength(g: ConvGeometry): number {
  const pointwise = g.HH === 1 && g.WW === 1 && g.SH === 1 && g.SW === 1 && g.PH === 0 && g.PW === 0;
  return pointwise ? 0 : g.C * g.HH * g.WW * g.H2 * g.W2;
}

/** x (N,C,H,W), w (F,C,HH,WW), b (F) -> out (N,F,H2,W2), H2 = ⌊(H+2P−HH)/S⌋+1. */
export function convForward(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam = {}): { out: Tensor; cache: ConvCache } {
  const g = convGeometry('convForward', x, w, b, convParam);
  const k = kernels();
  const nOut = g.N * g.F * g.H2 * g.W2;
  const [px, pw, pb, pout, pwork] = reserve('convForward', [
    x.data.length * F64, w.data.length * F64, g.F * F64, nOut * F64, k.gemm_workspace_bytes(),
  ]);
  put(px, x.data);
  put(pw, w.data);
  put(pb, b.data);
  k.conv_forward(px, pw, pb, pout, pwork,
    g.N, g.C, g.H, g.W, g.F, g.HH, g.WW, g.SH, g.SW, g.PH, g.PW, g.H2, g.W2);
  const out = make(take(pout, nOut), [g.N, g.F, g.H2, g.W2]);
  return { out, cache: seal('conv', { x: x.data.slice(), w: w.data.slice(), g }) };
}

/** dout (N,F,H2,W2) -> dx (N,C,H,W), dw (F,C,HH,WW), db (F). */
export function convBackward(dout: Tensor, cache: ConvCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const c = openCache<ConvState>('convBackward', cache, 'conv', 'convForward');
  const g = c.g;
  checkDout('convBackward', dout, [g.N, g.F, g.H2, g.W2]);
  const k = kernels();
  const nCols = colsLength(g);
  const [pdout, px, pw, pdx, pdw, pdb, pcols, pdcols, pwork] = reserve('convBackward', [
    dout.data.length * F64, c.x.length * F64, c.w.length * F64, c.x.length * F64, c.w.length * F64, g.F * F64,
    nCols * F64, nCols * F64, k.gemm_workspace_bytes(),
  ]);
  put(pdout, dout.data);
  put(px, c.x);
  put(pw, c.w);
  k.conv_backward(pdout, px, pw, pdx, pdw, pdb, pcols, pdcols, pwork,
    g.N, g.C, g.H, g.W, g.F, g.HH, g.WW, g.SH, g.SW, g.PH, g.PW, g.H2, g.W2);
  return {
    dx: make(take(pdx, c.x.length), [g.N, g.C, g.H, g.W]),
    dw: make(take(pdw, c.w.length), [g.F, g.C, g.HH, g.WW]),
    db: make(take(pdb, g.F), [g.F]),
  };
}
