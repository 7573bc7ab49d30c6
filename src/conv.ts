import { Tensor, make } from './tensor.js';
import { ConvParam, ConvBackwardParam, ConvGeometry, convGeometry, convBackwardWants, checkDout } from './params.js';
import { kernels, reserve, put, take, i32, threadCount, maxParts } from './wasm.js';
import type { Kernels } from './dispatch.js';
import { Cache, seal, openCache } from './cache.js';

export type ConvCache = Cache<'conv'>;

interface ConvState {
  readonly x: Float64Array;
  readonly w: Float64Array;
  readonly g: ConvGeometry;
}

const F64 = 8;

/**
 * The fields of the geometry record, in the order assembly/geometry.ts's ConvGeom
 * declares them: each an i32, written by putConvGeometry and nowhere else.
 */
const CONV_FIELDS = ['N', 'C', 'H', 'W', 'F', 'HH', 'WW', 'SH', 'SW', 'PH', 'PW', 'H2', 'W2', 'DH', 'DW', 'G'] as const;

/** Size in bytes of the geometry record. */
export const CONV_GEOMETRY_BYTES = CONV_FIELDS.length * 4;

/** Writes g at ptr (CONV_GEOMETRY_BYTES reserved there) as the conv kernels read it. */
export function putConvGeometry(ptr: number, g: ConvGeometry): void {
  i32(ptr, CONV_FIELDS.length).set(CONV_FIELDS.map((f) => g[f]));
}

/**
 * Whether dw is split by images (conv_dw_images, then sum_slots) rather than by its columns:
 * when ops may run in several parts, there are images enough for them, and K = C·HH·WW is
 * small, so that a part that took a few of dw's columns would spend most of its time
 * packing dout, which every column part packs whole. Either way dw has the same bits.
 */
export function dwByImages(g: ConvGeometry): boolean {
  return dwByImagesOnPool(g, maxParts()) && g.N >= maxParts();
}

/** Whether dw could be split by images on `threads` threads: what its buffers are sized for. */
export function dwByImagesOnPool(g: ConvGeometry, threads: number): boolean {
  return threads > 1 && g.C * g.HH * g.WW < DW_BY_IMAGES_BELOW_K;
}
const DW_BY_IMAGES_BELOW_K = 128;

/** The values of w and dw: F·(C/G)·HH·WW. */
export function weightsLength(g: ConvGeometry): number {
  return g.F * (g.C / g.G) * g.HH * g.WW;
}

/** The float64 values of the slots of dw by images: N·⌈Q/KC⌉ blocks of dw's size. */
export function dwSlotsLength(g: ConvGeometry, k: Kernels): number {
  return g.N * Math.ceil((g.H2 * g.W2) / k.gemm_kc()) * weightsLength(g);
}

/** dw by images: slots, then their sum in order into dw (see assembly/conv.ts conv_dw_images). */
export function convDwByImages(k: Kernels, g: ConvGeometry, pdout: number, px: number, pcols: number, pslots: number,
  pdw: number, pwork: number, pgeom: number): void {
  k.conv_dw_images(pdout, px, pcols, pslots, pgeom, pwork);
  k.sum_slots(pslots, pdw, g.N * Math.ceil((g.H2 * g.W2) / k.gemm_kc()), weightsLength(g));
}

/**
 * Whether the conv runs on the direct depthwise kernels (assembly/depthwise.ts): groups = C,
 * with more than one channel (a conv of one channel is a plain one, whose GEMM is faster).
 */
export function isDepthwise(g: ConvGeometry): boolean {
  return g.G === g.C && g.C > 1;
}

/** A 1x1 stride-1 unpadded conv reads x directly: no column buffer. */
export function colsLength(g: ConvGeometry): number {
  const pointwise = g.HH === 1 && g.WW === 1 && g.SH === 1 && g.SW === 1 && g.PH === 0 && g.PW === 0;
  return pointwise ? 0 : g.C * g.HH * g.WW * g.H2 * g.W2;
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
  const [pgeom, px, pw, pb, pout, pwork] = reserve('convForward', [
    CONV_GEOMETRY_BYTES, x.data.length * F64, w.data.length * F64, g.F * F64, nOut * F64, depthwise ? 0 : k.gemm_workspace_bytes(),
  ]);
  putConvGeometry(pgeom, g);
  put(px, x.data);
  put(pw, w.data);
  put(pb, b.data);
  if (depthwise) k.depthwise_forward(px, pw, pb, pout, pgeom);
  else k.conv_forward(px, pw, pb, pout, pgeom, pwork);
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
  if (isDepthwise(g)) {
    // The direct kernel: no columns, no workspace; x for dw, w for dx, as below.
    const [pgeom, pdout, px, pw, pdx, pdw, pdb] = reserve(fn, [
      CONV_GEOMETRY_BYTES, dout.data.length * F64,
      want.dw ? nx * F64 : 0, want.dx ? nw * F64 : 0, want.dx ? nx * F64 : 0, want.dw ? nw * F64 : 0, g.F * F64,
    ]);
    putConvGeometry(pgeom, g);
    put(pdout, dout.data);
    if (want.dw) put(px, c.x);
    if (want.dx) put(pw, c.w);
    k.depthwise_backward(pdout, want.dw ? px : 0, want.dx ? pw : 0, want.dx ? pdx : 0, want.dw ? pdw : 0, pdb, pgeom);
    return {
      ...(want.dx ? { dx: make(take(pdx, nx), [g.N, g.C, g.H, g.W]) } : {}),
      ...(want.dw ? { dw: make(take(pdw, nw), wShape) } : {}),
      db: make(take(pdb, g.F), [g.F]),
    };
  }
  const nCols = colsLength(g);
  // Only what the asked-for gradients read is reserved and copied in: x and cols for dw,
  // w and dcols (one block per thread) for dx; the kernel gets 0 for the rest. dw by
  // images needs one cols block per thread and the slots.
  const byImages = want.dw && dwByImages(g);
  const [pgeom, pdout, px, pw, pdx, pdw, pdb, pcols, pdcols, pwork, pslots] = reserve(fn, [
    CONV_GEOMETRY_BYTES, dout.data.length * F64,
    want.dw ? nx * F64 : 0, want.dx ? nw * F64 : 0, want.dx ? nx * F64 : 0, want.dw ? nw * F64 : 0, g.F * F64,
    want.dw ? nCols * (byImages ? threadCount() : 1) * F64 : 0, want.dx ? nCols * threadCount() * F64 : 0,
    want.dx || want.dw ? k.gemm_workspace_bytes() : 0, byImages ? dwSlotsLength(g, k) * F64 : 0,
  ]);
  putConvGeometry(pgeom, g);
  put(pdout, dout.data);
  if (want.dw) put(px, c.x);
  if (want.dx) put(pw, c.w);
  const direct = want.dw && !byImages;
  k.conv_backward(pdout, direct ? px : 0, want.dx ? pw : 0, want.dx ? pdx : 0, direct ? pdw : 0, pdb,
    direct && nCols ? pcols : 0, want.dx && nCols ? pdcols : 0, pgeom, pwork);
  if (byImages) convDwByImages(k, g, pdout, px, nCols ? pcols : 0, pslots, pdw, pwork, pgeom);
  const db = make(take(pdb, g.F), [g.F]);
  return {
    ...(want.dx ? { dx: make(take(pdx, nx), [g.N, g.C, g.H, g.W]) } : {}),
    ...(want.dw ? { dw: make(take(pdw, nw), wShape) } : {}),
    db,
  };
}
