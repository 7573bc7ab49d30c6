/**
 * The element-wise, affine, normalization, dropout and pooling layers on resident buffers.
 * Each family's forward and backward is one function over addresses (reluForwardOn,
 * affineForwardOn, …), which the functional ops call on their arena and these layers on
 * their network's blocks: one execution path per layer.
 */
import type { Kernels } from '../dispatch.js';
import type { PoolGeometry } from '../params.js';
import { putRecord, recordBytes } from './geometry.js';
import { Alloc, BufferDecl, F64, Layer, OnnxGraph, ParamDecl, ParamMem, Run, count } from './layer.js';

/** The parts every layer has; a subclass sets what it declares and runs. */
export abstract class Base implements Layer {
  params: ParamDecl[] = [];
  buffers: BufferDecl[] = [];
  children: (readonly [string, readonly Layer[]])[] = [];
  alias = false;
  /** Whether backward can skip dx (given 0); layers that cannot get a block to write it to. */
  skipsDx = false;
  protected p: Record<string, ParamMem> = {};
  protected buf: Record<string, number> = {};
  /** Where dx goes when the network wants none and the layer cannot skip it. */
  protected sink = 0;

  constructor(readonly kind: string, readonly inShape: readonly number[], readonly outShape: readonly number[], private readonly specValue: unknown) {}

  abstract describe(): string;
  abstract torch(list: (layers: readonly Layer[]) => string): string;
  abstract onnx(g: OnnxGraph, x: string, value: (local: string) => Float64Array, list: (layers: readonly Layer[], x: string) => string): string;
  abstract forward(r: Run, x: number, out: number): void;
  abstract backward(r: Run, x: number, out: number, dout: number, dx: number): void;

  spec(): unknown {
    return this.specValue;
  }

  bind(param: (name: string) => ParamMem, buffer: (name: string) => number): void {
    for (const d of this.params) this.p[d.name] = param(d.name);
    for (const d of this.buffers) this.buf[d.name] = buffer(d.name);
  }

  allocate(N: number, _T: number, alloc: Alloc, first: boolean): void {
    this.sink = first && !this.skipsDx ? alloc(N * count(this.inShape) * F64) : 0;
  }

  /** dx, or the sink when the network wants none and this layer cannot skip it. */
  protected dxOr(dx: number): number {
    return dx !== 0 ? dx : this.sink;
  }
}

/** A number as Python source: the shortest decimal that reads back the same double, rounded to 15 digits where it is 1 − a short one (PyTorch's momentum). */
export function py(v: number): string {
  const short = Number(v.toPrecision(15));
  return String(short === v || Math.abs(short - v) < 1e-15 ? short : v);
}

// ---- The loss on the scores: softmax or CS231n's multiclass SVM.

export type LossKind = 'softmax' | 'svm';

/** scores (N,C), y (N i32) -> the mean loss; dscores (N,C) written, rowloss N float64 of scratch. */
export function lossOn(k: Kernels, kind: LossKind, scores: number, y: number, dscores: number, rowloss: number, N: number, C: number): number {
  return kind === 'softmax' ? k.softmax_loss(scores, y, dscores, rowloss, N, C) : k.svm_loss(scores, y, dscores, rowloss, N, C);
}

// ---- ReLU: x (n) -> max(0, x); dx = dout where x > 0 (or out > 0: the same units).

export function reluForwardOn(k: Kernels, x: number, out: number, n: number): void {
  k.relu_forward(x, out, n);
}

export function reluBackwardOn(k: Kernels, dout: number, x: number, dx: number, n: number): void {
  k.relu_backward(dout, x, dx, n);
}

export class Relu extends Base {
  constructor(inShape: readonly number[], spec: unknown) {
    super('relu', inShape, inShape, spec);
  }

  torch(): string {
    return 'nn.ReLU()';
  }

  onnx(g: OnnxGraph, x: string): string {
    return g.node('Relu', [x]);
  }

  describe(): string {
    return 'relu';
  }

  forward(r: Run, x: number, out: number): void {
    reluForwardOn(r.k, x, out, r.N * count(this.inShape));
  }

  backward(r: Run, x: number, _out: number, dout: number, dx: number): void {
    reluBackwardOn(r.k, dout, x, this.dxOr(dx), r.N * count(this.inShape));
  }
}

// ---- Flatten: (N, d1…dk) -> (N, d1·…·dk), the same memory.

export class Flatten extends Base {
  constructor(inShape: readonly number[], spec: unknown) {
    super('flatten', inShape, [count(inShape)], spec);
    this.alias = true;
    this.skipsDx = true;
  }

  torch(): string {
    return 'nn.Flatten()';
  }

  onnx(g: OnnxGraph, x: string): string {
    return g.node('Flatten', [x], { axis: { i: 1 } });
  }

  describe(): string {
    return 'flatten';
  }

  forward(): void { /* an alias: the output is the input */ }
  backward(): void { /* an alias: the gradient at the input is the one at the output */ }
}

// ---- Affine: x (N,D) -> out (N,M) = x·W + b, W (D,M), b (M).

export function affineForwardOn(k: Kernels, x: number, W: number, b: number, out: number, N: number, D: number, M: number, work: number): void {
  k.fill_rows(b, out, N, M);
  k.gemm(0, 0, N, M, D, x, D, W, M, out, M, 1, work);
}

/** dW = xᵀ·dout, db = Σ_n dout, dx = dout·Wᵀ (dx = 0 skips it). */
export function affineBackwardOn(k: Kernels, dout: number, x: number, W: number, dx: number, dW: number, db: number,
  N: number, D: number, M: number, work: number): void {
  k.gemm(1, 0, D, M, N, x, D, dout, M, dW, M, 0, work);
  k.sum_rows(dout, db, N, M);
  if (dx !== 0) k.gemm(0, 1, N, D, M, dout, M, W, M, dx, D, 0, work);
}

export class Affine extends Base {
  readonly D: number;
  constructor(inShape: readonly number[], readonly M: number, spec: unknown) {
    super('affine', inShape, [M], spec);
    this.D = count(inShape);
    this.skipsDx = true;
    this.params = [
      { name: 'W', shape: [this.D, M], init: 'weight', fanIn: this.D, fanOut: M, decay: true },
      { name: 'b', shape: [M], init: 'zeros', fanIn: this.D, fanOut: M, decay: false },
    ];
  }

  torch(): string {
    return `Affine(${this.D}, ${this.M})`;
  }

  onnx(g: OnnxGraph, x: string, value: (local: string) => Float64Array): string {
    const flat = this.inShape.length > 1 ? g.node('Flatten', [x], { axis: { i: 1 } }) : x;
    return g.node('Gemm', [flat, g.constant('W', [this.D, this.M], value('W')), g.constant('b', [this.M], value('b'))]);
  }

  describe(): string {
    return `affine ${this.D} -> ${this.M}`;
  }

  forward(r: Run, x: number, out: number): void {
    affineForwardOn(r.k, x, this.p.W.ptr, this.p.b.ptr, out, r.N, this.D, this.M, r.work);
  }

  backward(r: Run, x: number, _out: number, dout: number, dx: number): void {
    affineBackwardOn(r.k, dout, x, this.p.W.ptr, dx, this.p.W.grad, this.p.b.grad, r.N, this.D, this.M, r.work);
  }
}

// ---- Batchnorm: x viewed as (G, D, L), D features each over G·L values: (N,D) is (N,D,1),
// (N,C,H,W) is (N,C,H·W). Train mode uses the batch statistics and updates the running
// ones in place; test mode uses the running ones.

export interface BatchnormMem {
  x: number; gamma: number; beta: number; out: number; xhat: number; mean: number; variance: number; invstd: number;
  runningMean: number; runningVar: number;
}

export function batchnormForwardOn(k: Kernels, m: BatchnormMem, G: number, D: number, L: number, train: boolean, eps: number, momentum: number): void {
  k.batchnorm_forward(m.x, m.gamma, m.beta, m.out, m.xhat, m.mean, m.variance, m.invstd, m.runningMean, m.runningVar, G, D, L, train ? 1 : 0, eps, momentum);
}

/** scratch: 3·D float64. */
export function batchnormBackwardOn(k: Kernels, dout: number, xhat: number, gamma: number, invstd: number, dx: number,
  dgamma: number, dbeta: number, scratch: number, G: number, D: number, L: number, train: boolean): void {
  k.batchnorm_backward(dout, xhat, gamma, invstd, dx, dgamma, dbeta, scratch, G, D, L, train ? 1 : 0);
}

export class Batchnorm extends Base {
  private readonly D: number;
  private readonly L: number;
  private m = { xhat: 0, mean: 0, variance: 0, invstd: 0, scratch: 0 };
  private train = true;
  /** Train-mode forwards run (PyTorch's num_batches_tracked, for the state dict). */
  tracked = 0;

  constructor(inShape: readonly number[], readonly spatial: boolean, readonly eps: number, readonly momentum: number, spec: unknown) {
    super(spatial ? 'spatialBatchnorm' : 'batchnorm', inShape, inShape, spec);
    this.D = inShape[0];
    this.L = spatial ? inShape[1] * inShape[2] : 1;
    this.params = [
      { name: 'gamma', shape: [this.D], init: 'ones', fanIn: 1, fanOut: 1, decay: false },
      { name: 'beta', shape: [this.D], init: 'zeros', fanIn: 1, fanOut: 1, decay: false },
    ];
    this.buffers = [{ name: 'runningMean', shape: [this.D], fill: 0 }, { name: 'runningVar', shape: [this.D], fill: 0 }];
  }

  torch(): string {
    return `nn.BatchNorm${this.spatial ? '2d' : '1d'}(${this.D}, eps=${py(this.eps)}, momentum=${py(1 - this.momentum)})`;
  }

  onnx(g: OnnxGraph, x: string, value: (local: string) => Float64Array): string {
    const c = (n: string): string => g.constant(n, [this.D], value(n));
    return g.node('BatchNormalization', [x, c('gamma'), c('beta'), c('runningMean'), c('runningVar')], { epsilon: { f: this.eps } });
  }

  describe(): string {
    return `${this.kind} ${this.D}`;
  }

  allocate(N: number, T: number, alloc: Alloc, first: boolean): void {
    super.allocate(N, T, alloc, first);
    const v = this.D * F64;
    this.m = { xhat: alloc(N * count(this.inShape) * F64), mean: alloc(v), variance: alloc(v), invstd: alloc(v), scratch: alloc(3 * v) };
  }

  forward(r: Run, x: number, out: number): void {
    this.train = r.train;
    if (r.train) this.tracked++;
    batchnormForwardOn(r.k, {
      x, gamma: this.p.gamma.ptr, beta: this.p.beta.ptr, out, xhat: this.m.xhat, mean: this.m.mean, variance: this.m.variance,
      invstd: this.m.invstd, runningMean: this.buf.runningMean, runningVar: this.buf.runningVar,
    }, r.N, this.D, this.L, r.train, this.eps, this.momentum);
  }

  backward(r: Run, _x: number, _out: number, dout: number, dx: number): void {
    batchnormBackwardOn(r.k, dout, this.m.xhat, this.p.gamma.ptr, this.m.invstd, this.dxOr(dx), this.p.gamma.grad, this.p.beta.grad,
      this.m.scratch, r.N, this.D, this.L, this.train);
  }
}

// ---- Layernorm and spatial groupnorm: rows of (N·G) groups, each over Cg channels × L values.

export function normForwardOn(k: Kernels, x: number, gamma: number, beta: number, out: number, xhat: number, invstd: number,
  R: number, G: number, Cg: number, L: number, eps: number): void {
  k.norm_forward(x, gamma, beta, out, xhat, invstd, R, G, Cg, L, eps);
}

/** partial: R·Cg·2 float64 when L > 1 (0 otherwise). */
export function normBackwardOn(k: Kernels, dout: number, xhat: number, gamma: number, invstd: number, dx: number,
  dgamma: number, dbeta: number, partial: number, R: number, G: number, Cg: number, L: number): void {
  k.norm_backward(dout, xhat, gamma, invstd, dx, dgamma, dbeta, partial, R, G, Cg, L);
}

export class Norm extends Base {
  private readonly G: number;
  private readonly Cg: number;
  private readonly L: number;
  private m = { xhat: 0, invstd: 0, partial: 0 };

  /** groups 0: layernorm over (D); otherwise spatial groupnorm over (C,H,W). */
  constructor(inShape: readonly number[], readonly groups: number, readonly eps: number, spec: unknown) {
    super(groups === 0 ? 'layernorm' : 'spatialGroupnorm', inShape, inShape, spec);
    const C = inShape[0];
    this.G = groups === 0 ? 1 : groups;
    this.Cg = C / this.G;
    this.L = groups === 0 ? 1 : inShape[1] * inShape[2];
    this.params = [
      { name: 'gamma', shape: [C], init: 'ones', fanIn: 1, fanOut: 1, decay: false },
      { name: 'beta', shape: [C], init: 'zeros', fanIn: 1, fanOut: 1, decay: false },
    ];
  }

  torch(): string {
    const C = this.inShape[0];
    return this.groups === 0 ? `nn.LayerNorm(${C}, eps=${py(this.eps)})` : `nn.GroupNorm(${this.groups}, ${C}, eps=${py(this.eps)})`;
  }

  onnx(g: OnnxGraph, x: string, value: (local: string) => Float64Array): string {
    const C = this.inShape[0];
    if (this.groups === 0) {
      return g.node('LayerNormalization', [x, g.constant('gamma', [C], value('gamma')), g.constant('beta', [C], value('beta'))],
        { axis: { i: -1 }, epsilon: { f: this.eps } });
    }
    // Groupnorm as a layer normalization of each group's (C/G)·H·W values, then gamma and beta per channel.
    const n = this.Cg * this.L;
    const grouped = g.node('Reshape', [x, g.ints('groups', [0, this.G, n])]);
    const normed = g.node('LayerNormalization', [grouped, g.constant('ones', [n], new Float64Array(n).fill(1)), g.constant('zeros', [n], new Float64Array(n))],
      { axis: { i: 2 }, epsilon: { f: this.eps } });
    const back = g.node('Reshape', [normed, g.ints('shape', [0, ...this.inShape])]);
    const scaled = g.node('Mul', [back, g.constant('gamma', [C, 1, 1], value('gamma'))]);
    return g.node('Add', [scaled, g.constant('beta', [C, 1, 1], value('beta'))]);
  }

  describe(): string {
    return this.groups === 0 ? `layernorm ${this.inShape[0]}` : `spatialGroupnorm ${this.inShape[0]}, ${this.groups} groups`;
  }

  allocate(N: number, T: number, alloc: Alloc, first: boolean): void {
    super.allocate(N, T, alloc, first);
    const R = N * this.G;
    this.m = { xhat: alloc(N * count(this.inShape) * F64), invstd: alloc(R * F64), partial: this.L > 1 ? alloc(R * this.Cg * 2 * F64) : 0 };
  }

  forward(r: Run, x: number, out: number): void {
    normForwardOn(r.k, x, this.p.gamma.ptr, this.p.beta.ptr, out, this.m.xhat, this.m.invstd, r.N * this.G, this.G, this.Cg, this.L, this.eps);
  }

  backward(r: Run, _x: number, _out: number, dout: number, dx: number): void {
    normBackwardOn(r.k, dout, this.m.xhat, this.p.gamma.ptr, this.m.invstd, this.dxOr(dx), this.p.gamma.grad, this.p.beta.grad,
      this.m.partial, r.N * this.G, this.G, this.Cg, this.L);
  }
}

// ---- Dropout: inverted; train keeps each unit with probability keepProb and divides it by
// keepProb; test is the identity (the kernel with keepProb 1 keeps every unit: x/1 = x).

export function dropoutForwardOn(k: Kernels, x: number, out: number, mask: number, n: number, keepProb: number, seed: number): void {
  k.dropout_forward(x, out, mask, n, keepProb, seed);
}

export function dropoutBackwardOn(k: Kernels, dout: number, mask: number, dx: number, n: number, keepProb: number): void {
  k.dropout_backward(dout, mask, dx, n, keepProb);
}

export class Dropout extends Base {
  private mask = 0;
  private used = 1;

  /** seed: the same mask on every call; null: a fresh seed per call from `draw`. */
  constructor(inShape: readonly number[], readonly keepProb: number, readonly seed: number | null, private readonly draw: () => number, spec: unknown) {
    super('dropout', inShape, inShape, spec);
  }

  torch(): string {
    return `nn.Dropout(p=${py(1 - this.keepProb)})`;
  }

  /** Test mode: the identity. */
  onnx(_g: OnnxGraph, x: string): string {
    return x;
  }

  describe(): string {
    return `dropout keep ${this.keepProb}${this.seed === null ? '' : `, seed ${this.seed}`}`;
  }

  allocate(N: number, T: number, alloc: Alloc, first: boolean): void {
    super.allocate(N, T, alloc, first);
    this.mask = alloc((N * count(this.inShape) + 7) >> 3);
  }

  forward(r: Run, x: number, out: number): void {
    this.used = r.train ? this.keepProb : 1;
    const seed = r.train ? this.seed ?? this.draw() : 0;
    dropoutForwardOn(r.k, x, out, this.mask, r.N * count(this.inShape), this.used, seed);
  }

  backward(r: Run, _x: number, _out: number, dout: number, dx: number): void {
    dropoutBackwardOn(r.k, dout, this.mask, this.dxOr(dx), r.N * count(this.inShape), this.used);
  }
}

// ---- Max and average pooling over windows (no padding), on a geometry record.

export function wideArgmax(g: PoolGeometry): boolean {
  return g.HH * g.WW > 256;
}

export function maxPoolForwardOn(k: Kernels, x: number, out: number, argmax: number, geom: number, g: PoolGeometry): void {
  k.maxpool_forward(x, out, argmax, geom, wideArgmax(g) ? 1 : 0);
}

export function maxPoolBackwardOn(k: Kernels, dout: number, argmax: number, dx: number, geom: number, g: PoolGeometry): void {
  k.maxpool_backward(dout, argmax, dx, geom, wideArgmax(g) ? 1 : 0);
}

export function avgPoolForwardOn(k: Kernels, x: number, out: number, geom: number): void {
  k.avgpool_forward(x, out, geom);
}

export function avgPoolBackwardOn(k: Kernels, dout: number, dx: number, geom: number): void {
  k.avgpool_backward(dout, dx, geom);
}

/** The pooling geometry of a (C,H,W) input, or a message when the window does not fit. */
export function poolShape(inShape: readonly number[], HH: number, WW: number, SH: number, SW: number): PoolGeometry | string {
  const [C, H, W] = inShape;
  if (HH > H || WW > W) return `a ${HH}x${WW} window does not fit an input of ${H}x${W}`;
  return { N: 1, C, H, W, HH, WW, SH, SW, H2: Math.floor((H - HH) / SH) + 1, W2: Math.floor((W - WW) / SW) + 1 };
}

export class Pool extends Base {
  private geom = 0;
  private argmax = 0;
  private n = 0;

  constructor(readonly max: boolean, private readonly g: PoolGeometry, spec: unknown) {
    super(max ? 'maxPool' : 'avgPool', [g.C, g.H, g.W], [g.C, g.H2, g.W2], spec);
  }

  torch(): string {
    const g = this.g;
    return `nn.${this.max ? 'MaxPool2d' : 'AvgPool2d'}(kernel_size=(${g.HH}, ${g.WW}), stride=(${g.SH}, ${g.SW}))`;
  }

  onnx(g: OnnxGraph, x: string): string {
    const p = this.g;
    return g.node(this.max ? 'MaxPool' : 'AveragePool', [x], { kernel_shape: { ints: [p.HH, p.WW] }, strides: { ints: [p.SH, p.SW] } });
  }

  describe(): string {
    const g = this.g;
    return `${this.kind} ${g.HH}x${g.WW}, stride ${g.SH === g.SW ? g.SH : `${g.SH},${g.SW}`}`;
  }

  allocate(N: number, T: number, alloc: Alloc, first: boolean): void {
    super.allocate(N, T, alloc, first);
    this.geom = alloc(recordBytes('PoolGeom'));
    this.argmax = this.max ? alloc(N * count(this.outShape) * (wideArgmax(this.g) ? 4 : 1)) : 0;
    this.n = 0;
  }

  /** The geometry record for a batch of N, written when N changes. */
  private record(N: number): number {
    if (this.n !== N) {
      putRecord(this.geom, 'PoolGeom', { ...this.g, N });
      this.n = N;
    }
    return this.geom;
  }

  forward(r: Run, x: number, out: number): void {
    const geom = this.record(r.N);
    if (this.max) maxPoolForwardOn(r.k, x, out, this.argmax, geom, this.g);
    else avgPoolForwardOn(r.k, x, out, geom);
  }

  backward(r: Run, _x: number, _out: number, dout: number, dx: number): void {
    const geom = this.record(r.N);
    if (this.max) maxPoolBackwardOn(r.k, dout, this.argmax, this.dxOr(dx), geom, this.g);
    else avgPoolBackwardOn(r.k, dout, this.dxOr(dx), geom);
  }
}
