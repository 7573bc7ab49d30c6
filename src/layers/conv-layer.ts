/**
 * The convolution on resident buffers, shared by convForward/convBackward (src/conv.ts),
 * the CS231n models and the conv layer: im2col and the GEMM (assembly/conv.ts), or the
 * direct depthwise kernels (assembly/depthwise.ts) when groups = C > 1. Also the global
 * average pool layer, a mean per map.
 */
import { fail } from '../errors.js';
import type { Kernels } from '../dispatch.js';
import type { ConvGeometry } from '../params.js';
import { f64, kernels, maxParts } from '../wasm.js';
import { putRecord, recordBytes } from './geometry.js';
import { Alloc, F64, Layer, OnnxGraph, Run, count } from './layer.js';
import { Base } from './basic.js';
import { pairOf, posInt } from './args.js';

/** Below this many taps per filter (C/G·HH·WW), dw is split by images on a pool (conv_dw_images). */
const DW_BY_IMAGES_BELOW_K = 128;

/** Whether the conv runs on the direct depthwise kernels: groups = C, more than one channel. */
export function isDepthwise(g: ConvGeometry): boolean {
  return g.G === g.C && g.C > 1;
}

/** Whether dw could be split by images on `threads` threads: what its buffers are sized for. */
export function dwByImagesOnPool(g: ConvGeometry, threads: number): boolean {
  return !isDepthwise(g) && threads > 1 && g.C * g.HH * g.WW < DW_BY_IMAGES_BELOW_K;
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

/** A 3x3 stride-1 undilated conv with pad <= 2, not depthwise, which Winograd F(2x2,3x3) computes group by group (assembly/winograd.ts). */
function winogradShape(g: ConvGeometry): boolean {
  return g.HH === 3 && g.WW === 3 && g.SH === 1 && g.SW === 1 && g.DH === 1 && g.DW === 1 && !isDepthwise(g)
    && g.PH <= 2 && g.PW <= 2;
}

/**
 * Whether the forward runs on Winograd F(2x2,3x3) rather than im2col + GEMM: where it was
 * measured faster (one thread, float64): ungrouped, from C = 4 input channels on, whatever F
 * (with C = 3 the two are even, with C = 1 im2col is faster; a small F is where im2col's
 * GEMM is weakest); grouped (1 < G < C), from C/G = 2 channels a group on, whatever F/G
 * (im2col's GEMM per group, F/G rows deep C/G·9, is weak there: Winograd took 0.4 to 0.75 of
 * its time from C/G = 2, F/G = 1 to C/G = 32); and a group's C + F small enough for a block
 * of tiles to fit the workspace.
 */
export function winogradApplies(g: ConvGeometry): boolean {
  const C = g.C / g.G, F = g.F / g.G;
  return winogradShape(g) && C >= (g.G === 1 ? WINOGRAD_MIN_CHANNELS : WINOGRAD_MIN_GROUP_CHANNELS)
    && C + F <= WINOGRAD_MAX_CHANNELS;
}

/**
 * Whether dx runs on Winograd (the correlation of dout with the turned filters, pad 2 − P):
 * measured the same way, it too is faster from C = 4 on (dx's output channels), whatever F;
 * grouped, where the forward is (from C/G = 2, whatever F/G), unless dout's plane is under
 * half of the 2x2 tiles' outputs over dx's plane (a small plane, pad 0: 7x7 → 5x5), where
 * col2im, whose work follows dout's plane, is as fast (0.9 to 1.1 of Winograd's time).
 */
export function winogradDxApplies(g: ConvGeometry): boolean {
  if (g.G === 1) return winogradApplies(g);
  const tiles = 4 * Math.ceil(g.H / 2) * Math.ceil(g.W / 2);
  return winogradApplies(g) && 2 * g.H2 * g.W2 >= tiles;
}

/** Winograd's rule: at least this many input channels C (dx: output channels). */
const WINOGRAD_MIN_CHANNELS = 4;
/** Grouped (1 < G < C): at least this many input channels a group, C/G (G < C already makes it 2). */
const WINOGRAD_MIN_GROUP_CHANNELS = 2;
/** C + F at most this: a block of at least 16 tiles (16·(C + F) values each) fits in the GEMM workspace. */
const WINOGRAD_MAX_CHANNELS = 2048;

/** The float64 values of the transformed filters, for the forward or dx (the larger of the two): a block of each group's. */
export function winogradLength(g: ConvGeometry): number {
  const even = (n: number): number => n + (n & 1);
  const C = g.C / g.G, F = g.F / g.G;
  return 16 * g.G * Math.max(even(F) * C, even(C) * F);
}

/** The float64 values of scratch a forward needs besides the workspace: the transformed filters when Winograd runs. */
export function convForwardScratch(g: ConvGeometry): number {
  return winogradApplies(g) ? winogradLength(g) : 0;
}

/** The values of w and dw: F·(C/G)·HH·WW. */
export function weightsLength(g: ConvGeometry): number {
  return g.F * (g.C / g.G) * g.HH * g.WW;
}

/** The float64 values of the slots of dw by images: N·⌈Q/KC⌉ blocks of dw's size. */
export function dwSlotsLength(g: ConvGeometry, k: Kernels): number {
  return g.N * Math.ceil((g.H2 * g.W2) / k.gemm_kc()) * weightsLength(g);
}

/** A 1x1 stride-1 unpadded conv reads x directly: no column buffer. */
export function colsLength(g: ConvGeometry): number {
  if (isDepthwise(g)) return 0;
  const pointwise = g.HH === 1 && g.WW === 1 && g.SH === 1 && g.SW === 1 && g.PH === 0 && g.PW === 0;
  return pointwise ? 0 : g.C * g.HH * g.WW * g.H2 * g.W2;
}

/** The scratch a backward needs, in float64 values (work in bytes): what the op reserves and the layer allocates. */
export function convScratch(g: ConvGeometry, k: Kernels, want: { dx: boolean; dw: boolean }, threads: number, byImages: boolean):
  { cols: number; dcols: number; slots: number; work: number; wino: number } {
  if (isDepthwise(g)) return { cols: 0, dcols: 0, slots: 0, work: 0, wino: 0 };
  const nCols = colsLength(g);
  const wino = want.dx && winogradDxApplies(g);
  return {
    cols: want.dw ? nCols * (byImages ? threads : 1) : 0,
    dcols: want.dx && !wino ? nCols * threads : 0,
    wino: wino ? winogradLength(g) : 0,
    slots: byImages ? dwSlotsLength(g, k) : 0,
    work: want.dx || want.dw ? k.gemm_workspace_bytes() : 0,
  };
}

/** The caller sized no scratch for the transformed filters where Winograd runs: a bug in convcore, never a slower path. */
function missingWino(what: string): never {
  throw new Error(`convcore: ${what} runs on Winograd, but no scratch was given for its transformed filters (convForwardScratch / convScratch)`);
}

/**
 * x (N,C,H,W), w (F,C/G,HH,WW), b (F) -> out (N,F,H2,W2); work is unused by the depthwise
 * kernel. A conv winogradApplies to runs on Winograd, in wino (convForwardScratch values);
 * wino is 0 for any other.
 */
export function convForwardOn(k: Kernels, g: ConvGeometry, x: number, w: number, b: number, out: number, geom: number, work: number,
  wino: number): void {
  if (isDepthwise(g)) k.depthwise_forward(x, w, b, out, geom);
  else if (winogradApplies(g)) {
    if (wino === 0) missingWino('this forward');
    k.conv_winograd_weights(w, wino, geom, 0);
    k.conv_winograd_forward(x, w, wino, b, out, geom, work);
  } else k.conv_forward(x, w, b, out, geom, work);
}

export interface ConvBackwardMem {
  dout: number; x: number; w: number; dx: number; dw: number; db: number;
  cols: number; dcols: number; slots: number; geom: number; work: number;
  /** The transformed filters' scratch (convScratch's wino) when dx runs on Winograd, else 0. */
  wino: number;
}

/**
 * dout (N,F,H2,W2) -> db, and dx and dw where their addresses are not 0: x and cols are
 * read for dw, w and dcols for dx; with `byImages` (sized for by convScratch) dw is summed
 * by images into the slots first. Every gradient has the same bits whichever way it goes.
 */
export function convBackwardOn(k: Kernels, g: ConvGeometry, m: ConvBackwardMem, byImages: boolean): void {
  if (isDepthwise(g)) {
    k.depthwise_backward(m.dout, m.dw ? m.x : 0, m.dx ? m.w : 0, m.dx, m.dw, m.db, m.geom);
    return;
  }
  const nCols = colsLength(g);
  const direct = m.dw !== 0 && !byImages;
  const wino = m.dx !== 0 && winogradDxApplies(g);
  if (wino && m.wino === 0) missingWino('this dx');
  const dx = wino ? 0 : m.dx;
  k.conv_backward(m.dout, direct ? m.x : 0, dx ? m.w : 0, dx, direct ? m.dw : 0, m.db,
    direct && nCols ? m.cols : 0, dx && nCols ? m.dcols : 0, m.geom, m.work);
  if (wino) {
    k.conv_winograd_weights(m.w, m.wino, m.geom, 1);
    k.conv_winograd_dx(m.dout, m.w, m.wino, m.dx, m.geom, m.work);
  }
  if (m.dw !== 0 && byImages) {
    k.conv_dw_images(m.dout, m.x, nCols ? m.cols : 0, m.slots, m.geom, m.work);
    k.sum_slots(m.slots, m.dw, g.N * Math.ceil((g.H2 * g.W2) / k.gemm_kc()), weightsLength(g));
  }
}

/** The conv's geometry for one example of (C,H,W), or a message saying why it does not fit. */
export function convShape(inShape: readonly number[], F: number, HH: number, WW: number, S: [number, number], P: [number, number],
  D: [number, number], G: number): ConvGeometry | string {
  const [C, H, W] = inShape;
  if (C % G !== 0) return `groups ${G} does not divide the ${C} channels of its input`;
  if (F % G !== 0) return `groups ${G} does not divide its ${F} filters`;
  const eh = (HH - 1) * D[0] + 1, ew = (WW - 1) * D[1] + 1;
  if (eh > H + 2 * P[0] || ew > W + 2 * P[1]) {
    return `a ${HH}x${WW} kernel${D[0] > 1 || D[1] > 1 ? ` dilated by ${D[0]},${D[1]} (spanning ${eh}x${ew})` : ''} does not fit an input of ${H}x${W} padded by ${P[0]},${P[1]}`;
  }
  const H2 = Math.floor((H + 2 * P[0] - eh) / S[0]) + 1, W2 = Math.floor((W + 2 * P[1] - ew) / S[1]) + 1;
  return { N: 1, C, H, W, F, HH, WW, SH: S[0], SW: S[1], PH: P[0], PW: P[1], H2, W2, DH: D[0], DW: D[1], G };
}

export class ConvLayer extends Base {
  private m = { geom: 0, cols: 0, dcols: 0, slots: 0, wino: 0, zeros: 0, dbSink: 0 };
  private n = 0;
  private threads = 1;

  constructor(private readonly g: ConvGeometry, readonly bias: boolean, spec: unknown) {
    super('conv', [g.C, g.H, g.W], [g.F, g.H2, g.W2], spec);
    this.skipsDx = true;
    const K = (g.C / g.G) * g.HH * g.WW;
    this.params = [{ name: 'W', shape: [g.F, g.C / g.G, g.HH, g.WW], init: 'weight', fanIn: K, fanOut: g.F * g.HH * g.WW, decay: true }];
    if (bias) this.params.push({ name: 'b', shape: [g.F], init: 'zeros', fanIn: K, fanOut: g.F, decay: false });
  }

  torch(): string {
    const g = this.g;
    return `nn.Conv2d(${g.C}, ${g.F}, kernel_size=(${g.HH}, ${g.WW}), stride=(${g.SH}, ${g.SW}), padding=(${g.PH}, ${g.PW}), `
      + `dilation=(${g.DH}, ${g.DW}), groups=${g.G}, bias=${this.bias ? 'True' : 'False'})`;
  }

  onnx(og: OnnxGraph, x: string, value: (local: string) => Float64Array): string {
    const g = this.g;
    const w = og.constant('W', [g.F, g.C / g.G, g.HH, g.WW], value('W'));
    return og.node('Conv', this.bias ? [x, w, og.constant('b', [g.F], value('b'))] : [x, w], {
      kernel_shape: { ints: [g.HH, g.WW] }, strides: { ints: [g.SH, g.SW] }, pads: { ints: [g.PH, g.PW, g.PH, g.PW] },
      dilations: { ints: [g.DH, g.DW] }, group: { i: g.G },
    });
  }

  describe(): string {
    const g = this.g;
    const pair = (a: number, b: number): string => (a === b ? `${a}` : `${a},${b}`);
    const extra = [
      g.SH !== 1 || g.SW !== 1 ? `stride ${pair(g.SH, g.SW)}` : '', g.PH || g.PW ? `pad ${pair(g.PH, g.PW)}` : '',
      g.DH !== 1 || g.DW !== 1 ? `dilation ${pair(g.DH, g.DW)}` : '', g.G !== 1 ? (isDepthwise(g) ? 'depthwise' : `groups ${g.G}`) : '',
      this.bias ? '' : 'no bias',
    ].filter((e) => e);
    return `conv ${g.F} ${g.HH}x${g.WW}${extra.length ? `, ${extra.join(', ')}` : ''}`;
  }

  private geometry(N: number): ConvGeometry {
    return { ...this.g, N };
  }

  allocate(N: number, T: number, alloc: Alloc, first: boolean): void {
    super.allocate(N, T, alloc, first);
    const g = this.geometry(N);
    const byImages = dwByImagesOnPool(g, T);
    // The scratch of a full backward (dx except for the first layer, whose dx is never wanted).
    const s = convScratch(g, kernels(), { dx: !first, dw: true }, T, byImages);
    const f = (n: number): number => (n ? alloc(n * F64) : 0);
    // Without a bias the kernels add a block of zeros, and db goes to a block no one reads.
    this.m = {
      geom: alloc(recordBytes('ConvGeom')), cols: f(s.cols), dcols: f(s.dcols), slots: f(s.slots),
      wino: f(Math.max(s.wino, convForwardScratch(g))),
      zeros: this.bias ? 0 : f(g.F), dbSink: this.bias ? 0 : f(g.F),
    };
    if (!this.bias) f64(this.m.zeros, g.F).fill(0);
    this.threads = T;
    this.n = 0;
  }

  private record(N: number): number {
    if (this.n !== N) {
      putRecord(this.m.geom, 'ConvGeom', this.geometry(N));
      this.n = N;
    }
    return this.m.geom;
  }

  forward(r: Run, x: number, out: number): void {
    convForwardOn(r.k, this.g, x, this.p.W.ptr, this.bias ? this.p.b.ptr : this.m.zeros, out, this.record(r.N), r.work, this.m.wino);
  }

  backward(r: Run, x: number, _out: number, dout: number, dx: number): void {
    const g = this.geometry(r.N);
    const byImages = this.m.slots !== 0 && dwByImages(g) && this.threads === maxParts();
    convBackwardOn(r.k, g, {
      dout, x, w: this.p.W.ptr, dx, dw: this.p.W.grad, db: this.bias ? this.p.b.grad : this.m.dbSink,
      cols: this.m.cols, dcols: this.m.dcols, slots: this.m.slots, geom: this.record(r.N), work: r.work, wino: this.m.wino,
    }, byImages);
  }
}

/** Builds a conv layer: filters, kernel, and checked options; `where` names it in messages. */
export function buildConv(where: string, inShape: readonly number[], filters: unknown, kernel: unknown, o: Record<string, unknown>, spec: unknown): Layer {
  const F = posInt(where, 'filters', filters);
  const [HH, WW] = pairOf(where, 'kernel', kernel, NaN, 1);
  const S = pairOf(where, 'stride', o.stride, 1, 1);
  const P = pairOf(where, 'pad', o.pad, 0, 0);
  const D = pairOf(where, 'dilation', o.dilation, 1, 1);
  const G = o.groups === undefined ? 1 : posInt(where, 'groups', o.groups);
  if (o.bias !== undefined && typeof o.bias !== 'boolean') fail(`${where}: bias must be true or false, got ${String(o.bias)}`);
  const g = convShape(inShape, F, HH, WW, S, P, D, G);
  if (typeof g === 'string') fail(`${where}: ${g}`);
  return new ConvLayer(g, o.bias !== false, spec);
}

// ---- Global average pool: (C,H,W) -> (C), each map's mean.

export function globalAvgPoolForwardOn(k: Kernels, x: number, out: number, NC: number, L: number): void {
  k.global_avgpool_forward(x, out, NC, L);
}

export function globalAvgPoolBackwardOn(k: Kernels, dout: number, dx: number, NC: number, L: number): void {
  k.global_avgpool_backward(dout, dx, NC, L);
}

class GlobalAvgPool extends Base {
  constructor(inShape: readonly number[], spec: unknown) {
    super('globalAvgPool', inShape, [inShape[0]], spec);
  }

  torch(): string {
    return 'nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())';
  }

  onnx(g: OnnxGraph, x: string): string {
    return g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: { i: 1 } });
  }

  describe(): string {
    return 'globalAvgPool';
  }

  forward(r: Run, x: number, out: number): void {
    globalAvgPoolForwardOn(r.k, x, out, r.N * this.inShape[0], count(this.inShape) / this.inShape[0]);
  }

  backward(r: Run, _x: number, _out: number, dout: number, dx: number): void {
    globalAvgPoolBackwardOn(r.k, dout, this.dxOr(dx), r.N * this.inShape[0], count(this.inShape) / this.inShape[0]);
  }
}

export function buildGlobalAvgPool(inShape: readonly number[], spec: unknown): Layer {
  return new GlobalAvgPool(inShape, spec);
}
