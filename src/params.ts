import { fail } from './errors.js';
import { Tensor, checkTensor, checkVector, checkSameShape, shapeString, describe, show, showList, MAX_ELEMENTS } from './tensor.js';

/** An integer, or an [h, w] pair for different values along height and width. */
export type Pair = number | readonly [number, number];

export interface ConvParam {
  stride?: Pair;
  pad?: Pair;
  /** The spacing of the kernel's taps over the input (1: adjacent). */
  dilation?: Pair;
  /**
   * Channel groups: x's C channels and w's F filters in `groups` blocks, filter f seeing only
   * the C/groups channels of its block; w is then (F, C/groups, HH, WW). groups = C is a
   * depthwise convolution (F = k·C, a channel multiplier k).
   */
  groups?: number;
}

/**
 * Which gradients convBackward computes; each defaults to true and db is always computed.
 * `{ dx: false }` is for a network's first layer, whose input needs no gradient: the
 * backward skips the dx GEMM and col2im. `{ dw: false }` skips the dw GEMM and the im2col
 * of x. `{ dx: false, dw: false }` gives db alone.
 */
export interface ConvBackwardParam {
  dx?: boolean;
  dw?: boolean;
}

export interface PoolParam {
  poolHeight: number;
  poolWidth: number;
  stride?: Pair;
}

export type BatchnormMode = 'train' | 'test';

export interface BatchnormParam {
  mode: BatchnormMode;
  eps?: number;
  momentum?: number;
  runningMean?: Tensor;
  runningVar?: Tensor;
}

/** Integer labels, one per row of the scores. */
export type Labels = readonly number[] | Int32Array;

/**
 * The geometry of a convolution, computed once; the kernels get it as a record (src/conv.ts
 * putConvGeometry). w is (F, C/G, HH, WW); (DH, DW) is the dilation and G the groups.
 */
export interface ConvGeometry {
  N: number; C: number; H: number; W: number;
  F: number; HH: number; WW: number;
  SH: number; SW: number; PH: number; PW: number;
  H2: number; W2: number;
  DH: number; DW: number; G: number;
}

/** The geometry of a pooling: an HH×WW window (poolHeight×poolWidth, named as a conv kernel's) moved by (SH,SW). */
export interface PoolGeometry {
  N: number; C: number; H: number; W: number;
  HH: number; WW: number; SH: number; SW: number;
  H2: number; W2: number;
}

/** The largest stride, pad, window or size the kernels take: their integers are i32. */
const I32_MAX = 2 ** 31 - 1;

/** An integer in [min, I32_MAX], or an [h, w] pair of them; `what` says what it is in messages. */
function pair(fn: string, name: string, v: unknown, dflt: number, min: number, what: string): [number, number] {
  if (v === undefined) return [dflt, dflt];
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= min && x <= I32_MAX;
  const expected = `${what} (at most ${I32_MAX}) or an [h, w] pair of them`;
  if (Array.isArray(v)) {
    if (v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
    fail(`${fn}: ${name} must be ${expected}, got ${showList(v)}`);
  }
  if (ok(v)) return [v, v];
  fail(`${fn}: ${name} must be ${expected}, got ${show(v)}`);
}

/**
 * Checks that an output shape holds at most MAX_ELEMENTS values (its float64s fit a 32-bit
 * module; every offset into it fits an i32); `cause` names the arguments that gave it.
 */
function checkOutput(fn: string, shape: readonly number[], cause: string): void {
  const n = shape.reduce((p, d) => p * d, 1);
  if (n > MAX_ELEMENTS) {
    const gib = ((n * 8) / 2 ** 30).toPrecision(3);
    fail(`${fn}: this call needs ${gib} GiB for an output of shape ${shapeString(shape)} (from ${cause}), more than the 4 GiB a 32-bit WebAssembly module can address`);
  }
}

/**
 * Rejects any own key of the options object `obj` (named `name` in messages) that is not in
 * `validKeys`, listing the valid ones: `convForward: convParam has an unknown key "padding";
 * the valid keys are stride, pad`. Does nothing for a value that is not an object (the
 * caller checks that itself).
 */
export function checkKeys(fn: string, name: string, obj: unknown, validKeys: readonly string[]): void {
  if (obj === null || typeof obj !== 'object') return;
  for (const key of Object.keys(obj)) {
    if (!validKeys.includes(key)) {
      fail(`${fn}: ${name} has an unknown key ${JSON.stringify(key)}; the valid keys are ${validKeys.join(', ')}`);
    }
  }
}

function paramObject(fn: string, name: string, p: unknown): Record<string, unknown> {
  if (p === undefined) return {};
  if (p === null || typeof p !== 'object' || Array.isArray(p)) fail(`${fn}: ${name} must be an object, got ${describe(p)}`);
  return p as Record<string, unknown>;
}

/** The valid keys of a convParam. */
const CONV_KEYS = ['stride', 'pad', 'dilation', 'groups'];

/**
 * Validates x (N,C,H,W), w (F,C/groups,HH,WW), b (F) and the conv parameters; returns the
 * geometry. The kernel spans (HH−1)·DH+1 rows of the input, so
 * H2 = ⌊(H + 2·PH − ((HH−1)·DH+1)) / SH⌋ + 1, and likewise for W.
 */
export function convGeometry(fn: string, x: unknown, w: unknown, b: unknown, convParam: unknown): ConvGeometry {
  const xt = checkTensor(fn, 'x', x, 4, '(N,C,H,W)');
  const wt = checkTensor(fn, 'w', w, 4, '(F,C/groups,HH,WW)');
  const [N, C, H, W] = xt.shape;
  const [F, Cw, HH, WW] = wt.shape;
  const p = paramObject(fn, 'convParam', convParam);
  checkKeys(fn, 'convParam', p, CONV_KEYS);
  const G = p.groups === undefined ? 1 : p.groups;
  if (typeof G !== 'number' || !Number.isSafeInteger(G) || G < 1 || G > I32_MAX) {
    fail(`${fn}: groups must be a positive integer (at most ${I32_MAX}), got ${show(G)}`);
  }
  if (C % G !== 0) fail(`${fn}: groups ${G} does not divide the ${C} channels of x`);
  if (F % G !== 0) fail(`${fn}: groups ${G} does not divide the ${F} filters of w`);
  if (G === 1) {
    if (Cw !== C) fail(`${fn}: w has ${Cw} channels but x has ${C}`);
  } else if (Cw * G !== C) {
    fail(`${fn}: w has ${Cw} channels per group but x has ${C} channels in ${G} groups (${C / G} per group)`);
  }
  checkVector(fn, 'b', b, F, `the ${F} filters of w`);
  const [SH, SW] = pair(fn, 'stride', p.stride, 1, 1, 'a positive integer');
  const [PH, PW] = pair(fn, 'pad', p.pad, 0, 0, 'a non-negative integer');
  const [DH, DW] = pair(fn, 'dilation', p.dilation, 1, 1, 'a positive integer');
  if (H + 2 * PH > I32_MAX || W + 2 * PW > I32_MAX) {
    fail(`${fn}: pad ${PH},${PW} makes the padded input ${H + 2 * PH}x${W + 2 * PW}, larger than ${I32_MAX} (an i32) along a side`);
  }
  // The extent of the kernel over the input: its taps are DH rows and DW columns apart.
  const EH = (HH - 1) * DH + 1, EW = (WW - 1) * DW + 1;
  if (EH > H + 2 * PH || EW > W + 2 * PW) {
    const input = `an input of ${H}x${W} padded by ${PH},${PW} (${H + 2 * PH}x${W + 2 * PW})`;
    if (DH === 1 && DW === 1) fail(`${fn}: a ${HH}x${WW} kernel does not fit ${input}`);
    const d = DH === DW ? `${DH}` : `${DH},${DW}`;
    fail(`${fn}: a ${HH}x${WW} kernel with dilation ${d} spans ${EH}x${EW} and does not fit ${input}`);
  }
  const H2 = Math.floor((H + 2 * PH - EH) / SH) + 1;
  const W2 = Math.floor((W + 2 * PW - EW) / SW) + 1;
  checkOutput(fn, [N, F, H2, W2], `stride ${SH},${SW} and pad ${PH},${PW}`);
  return { N, C, H, W, F, HH, WW, SH, SW, PH, PW, H2, W2, DH, DW, G };
}

/** Validates x (N,C,H,W) and the pool parameters; returns the geometry. */
export function poolGeometry(fn: string, x: unknown, poolParam: unknown): PoolGeometry {
  const xt = checkTensor(fn, 'x', x, 4, '(N,C,H,W)');
  const [N, C, H, W] = xt.shape;
  if (poolParam === null || typeof poolParam !== 'object' || Array.isArray(poolParam)) {
    fail(`${fn}: poolParam must be an object {poolHeight, poolWidth, stride}, got ${describe(poolParam)}`);
  }
  checkKeys(fn, 'poolParam', poolParam, ['poolHeight', 'poolWidth', 'stride']);
  const p = poolParam as Record<string, unknown>;
  const dim = (name: string): number => {
    const v = p[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > I32_MAX) {
      const range = typeof v === 'number' && v > I32_MAX ? ` no larger than ${I32_MAX}` : '';
      fail(`${fn}: ${name} must be a positive integer${range}, got ${show(v)}`);
    }
    return v;
  };
  const HH = dim('poolHeight');
  const WW = dim('poolWidth');
  // The stride defaults to the window (non-overlapping windows), as in PyTorch and tfjs.
  const [SH, SW] = p.stride === undefined ? [HH, WW] : pair(fn, 'stride', p.stride, 1, 1, 'a positive integer');
  if (HH > H || WW > W) {
    const s = SH === SW ? `${SH}` : `${SH},${SW}`;
    fail(`${fn}: a ${HH}x${WW} window with stride ${s} does not fit an input of ${H}x${W}`);
  }
  const H2 = Math.floor((H - HH) / SH) + 1;
  const W2 = Math.floor((W - WW) / SW) + 1;
  return { N, C, H, W, HH, WW, SH, SW, H2, W2 };
}

export interface BatchnormSettings {
  mode: BatchnormMode;
  eps: number;
  momentum: number;
  runningMean: Float64Array | null;
  runningVar: Float64Array | null;
}

const BATCHNORM_KEYS = ['mode', 'eps', 'momentum', 'runningMean', 'runningVar'];

/** Validates gamma, beta (D) and the batchnorm parameters for D features. */
export function batchnormSettings(fn: string, D: number, gamma: unknown, beta: unknown, bnParam: unknown): BatchnormSettings {
  checkVector(fn, 'gamma', gamma, D, `the ${D} features of x`);
  checkVector(fn, 'beta', beta, D, `the ${D} features of x`);
  if (bnParam === null || typeof bnParam !== 'object' || Array.isArray(bnParam)) {
    fail(`${fn}: bnParam must be an object {mode, eps, momentum, runningMean, runningVar}, got ${describe(bnParam)}`);
  }
  checkKeys(fn, 'bnParam', bnParam, BATCHNORM_KEYS);
  const p = bnParam as Record<string, unknown>;
  const mode = p.mode;
  if (mode !== 'train' && mode !== 'test') fail(`${fn}: mode must be 'train' or 'test', got ${show(mode)}`);
  const eps = p.eps === undefined ? 1e-5 : p.eps;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) fail(`${fn}: eps must be a positive finite number, got ${show(eps)}`);
  const momentum = p.momentum === undefined ? 0.9 : p.momentum;
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) fail(`${fn}: momentum must be a number in [0, 1], got ${show(momentum)}`);
  const stat = (name: string): Float64Array | null => {
    const v = p[name];
    if (v === undefined || v === null) return null;
    return checkVector(fn, name, v, D, `the ${D} features of x`).data;
  };
  return { mode, eps, momentum, runningMean: stat('runningMean'), runningVar: stat('runningVar') };
}

/** Validates scores (N,C) and labels y (N), integers in [0, C). */
export function checkLabels(fn: string, scores: unknown, y: unknown): { N: number; C: number; labels: Int32Array } {
  const s = checkTensor(fn, 'scores', scores, 2, '(N,C)');
  const [N, C] = s.shape;
  const isInt32 = y instanceof Int32Array;
  if (!isInt32 && !Array.isArray(y)) fail(`${fn}: y must be an array or an Int32Array of ${N} integer labels, got ${describe(y)}`);
  const arr = y as ArrayLike<unknown>;
  if (arr.length !== N) fail(`${fn}: y has ${arr.length} labels but scores has ${N} rows`);
  const labels = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const v = arr[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= C) {
      fail(`${fn}: y[${i}] must be an integer label in [0, ${C}), got ${show(v)}`);
    }
    labels[i] = v;
  }
  return { N, C, labels };
}

/** Validates a permutation of the axes of a tensor of rank `rank`; default is reversal, as in numpy. */
export function checkAxes(fn: string, rank: number, axes: unknown): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (!Array.isArray(axes)) fail(`${fn}: axes must be an array, a permutation of 0..${rank - 1}, got ${describe(axes)}`);
  const seen = new Array<boolean>(rank).fill(false);
  const ok = axes.length === rank && axes.every((a) => {
    if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a >= rank || seen[a]) return false;
    seen[a] = true;
    return true;
  });
  if (!ok) fail(`${fn}: axes must be a permutation of 0..${rank - 1}, got ${showList(axes)}`);
  return axes as number[];
}

/** Checks that dout has the shape of the forward output recorded in a cache. */
export function checkDout(fn: string, dout: unknown, outShape: readonly number[]): Tensor {
  return checkSameShape(fn, 'dout', dout, outShape, 'the shape of the forward output');
}

/** Validates convBackward's options (a ConvBackwardParam); returns which gradients to compute. */
export function convBackwardWants(fn: string, options: unknown): { dx: boolean; dw: boolean } {
  const p = paramObject(fn, 'options', options);
  checkKeys(fn, 'options', p, ['dx', 'dw']);
  const flag = (name: string): boolean => {
    const v = p[name];
    if (v !== undefined && typeof v !== 'boolean') fail(`${fn}: options.${name} must be true or false, got ${show(v)}`);
    return v !== false;
  };
  return { dx: flag('dx'), dw: flag('dw') };
}

export { shapeString };
