import { Tensor, make } from './tensor.js';
import { ConvParam, ConvBackwardParam, ConvGeometry, convGeometry, convBackwardWants, checkDout } from './params.js';
import { kernels, reserve, put, take, threadCount } from './wasm.js';
import { putRecord, recordBytes } from './layers/geometry.js';
import { convBackwardOn, convForwardOn, convForwardScratch, convScratch, dwByImages, isDepthwise } from './layers/conv-layer.js';
import { Cache, seal, openCache } from './cache.js';

export type ConvCache = Cache<'conv'>;

interface ConvState {
  readonly x: Float64Array;
  readonly w: Float64Array;
  readonly g: ConvGeometry;
}

const F64 = 8;

/** Size in bytes of the conv geometry record. */
export const CONV_GEOMETRY_BYTES = recordBytes('ConvGeom');

/** Writes g at ptr (CONV_GEOMETRY_BYTES reserved there) as the conv kernels read it. */
export function putConvGeometry(ptr: number, g: ConvGeometry): void {
  putRecord(ptr, 'ConvGeom', g);
}

/**
 * x (N,C,H,W), w (F,C/groups,HH,WW), b (F) -> out (N,F,H2,W2),
 * H2 = ⌊(H+2P−((HH−1)·D+1))/S⌋+1. A depthwise conv (groups = C > 1) runs on its direct kernel.
 */
export function convForward(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam = {}): { out: Tensor; cache: ConvCache } {
  const g = convGeometry('convForward', x, w, b, convParam);
  const k = kernels();
  const nOut = g.N * g.F * g.H2 * g.W2;
  const depthwise = isDepthwise(g);
  const nWino = convForwardScratch(g);
  const [pgeom, px, pw, pb, pout, pwork, pwino] = reserve('convForward', [
    CONV_GEOMETRY_BYTES, x.data.length * F64, w.data.length * F64, g.F * F64, nOut * F64, depthwise ? 0 : k.gemm_workspace_bytes(), nWino * F64,
  ]);
  putConvGeometry(pgeom, g);
  put(px, x.data);
  put(pw, w.data);
  put(pb, b.data);
  convForwardOn(k, g, px, pw, pb, pout, pgeom, pwork, nWino ? pwino : 0);
  const out = make(take(pout, nOut), [g.N, g.F, g.H2, g.W2]);
  return { out, cache: seal('conv', { x: x.data.slice(), w: w.data.slice(), g }) };
}

/**
 * dout (N,F,H2,W2) -> dx (N,C,H,W), dw (F,C/groups,HH,WW), db (F), or the part of them that
 * `options` asks for (ConvBackwardParam); a gradient not asked for is neither computed
 * nor present in the result. Each result equals, bit for bit, the same gradient of the
 * full backward.
 */
export function convBackward(dout: Tensor, cache: ConvCache, options?: { dx?: true; dw?: true }): { dx: Tensor; dw: Tensor; db: Tensor };
export function convBackward(dout: Tensor, cache: ConvCache, options: { dx: false; dw?: true }): { dw: Tensor; db: Tensor };
export function convBackward(dout: Tensor, cache: ConvCache, options: { dx?: true; dw: false }): { dx: Tensor; db: Tensor };
export function convBackward(dout: Tensor, cache: ConvCache, options: { dx: false; dw: false }): { db: Tensor };
export function convBackward(dout: Tensor, cache: ConvCache, options?: ConvBackwardParam): { dx?: Tensor; dw?: Tensor; db: Tensor };
export function convBackward(dout: Tensor, cache: ConvCache, options?: ConvBackwardParam): { dx?: Tensor; dw?: Tensor; db: Tensor } {
  const fn = 'convBackward';
  const c = openCache<ConvState>(fn, cache, 'conv', 'convForward');
  const g = c.g;
  checkDout(fn, dout, [g.N, g.F, g.H2, g.W2]);
  const want = convBackwardWants(fn, options);
  const k = kernels();
  const nx = c.x.length, nw = c.w.length;
  const wShape = [g.F, g.C / g.G, g.HH, g.WW];
  // Only what the asked-for gradients read is reserved and copied in: x (and cols) for dw,
  // w (and dcols, one block per thread) for dx; dw by images needs one cols block per
  // thread and the slots. The depthwise kernels need none of the scratch.
  const byImages = want.dw && dwByImages(g);
  const sc = convScratch(g, k, want, threadCount(), byImages);
  const [pgeom, pdout, px, pw, pdx, pdw, pdb, pcols, pdcols, pwork, pslots, pwino] = reserve(fn, [
    CONV_GEOMETRY_BYTES, dout.data.length * F64,
    want.dw ? nx * F64 : 0, want.dx ? nw * F64 : 0, want.dx ? nx * F64 : 0, want.dw ? nw * F64 : 0, g.F * F64,
    sc.cols * F64, sc.dcols * F64, sc.work, sc.slots * F64, sc.wino * F64,
  ]);
  putConvGeometry(pgeom, g);
  put(pdout, dout.data);
  if (want.dw) put(px, c.x);
  if (want.dx) put(pw, c.w);
  convBackwardOn(k, g, {
    dout: pdout, x: want.dw ? px : 0, w: want.dx ? pw : 0, dx: want.dx ? pdx : 0, dw: want.dw ? pdw : 0, db: pdb,
    cols: sc.cols ? pcols : 0, dcols: sc.dcols ? pdcols : 0, slots: pslots, geom: pgeom, work: pwork, wino: sc.wino ? pwino : 0,
  }, byImages);
  const db = make(take(pdb, g.F), [g.F]);
  return {
    ...(want.dx ? { dx: make(take(pdx, nx), [g.N, g.C, g.H, g.W]) } : {}),
    ...(want.dw ? { dw: make(take(pdw, nw), wShape) } : {}),
    db,
  };
}
