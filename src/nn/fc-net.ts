/**
 * CS231n's FullyConnectedNet (fc_net.py):
 *   {affine − [batchnorm | layernorm] − relu − [dropout]} × (L − 1) − affine − softmax.
 * W_i are N(0, weightScale²), b_i zeros, and each normalized layer has gamma_i (ones) and
 * beta_i (zeros). loss(X) runs test mode, loss(X, y) train mode. Batchnorm keeps running
 * statistics per layer (momentum 0.9, eps 1e-5), updated by every train-mode call.
 * With a seed, dropout draws the same mask on every call, as CS231n does (so that a
 * numerical gradient check sees one function); without one, each call draws a new mask.
 */
import { fail } from '../errors.js';
import { Tensor, make, describe, show, showList } from '../tensor.js';
import { kernels, put, take, f64, i32 } from '../wasm.js';
import { dropoutSettings } from '../reference/dropout.js';
import { Generator } from './random.js';
import { ParamSet, Blocks, storeOf, disposeModel, registerModel, ParamShapes, DecodedModel, decodeParams } from './params.js';
import { takeOptions, positiveInt, nonNegative, seedOf, exactObject } from './options.js';
import { checkBatch, checkModelLabels, Labels } from './batch.js';
import { encodeTensor, decodeTensor, JsonTensor, loaderInput } from './serialize.js';

export type Normalization = 'batchnorm' | 'layernorm' | null;

export interface FullyConnectedNetOptions {
  hiddenDims?: readonly number[];
  inputDim?: number;
  numClasses?: number;
  /** The probability of keeping a unit; 1 means no dropout. */
  dropoutKeepRatio?: number;
  normalization?: Normalization;
  reg?: number;
  weightScale?: number;
  seed?: number;
}

const DEFAULTS = {
  hiddenDims: [100] as readonly number[], inputDim: 3 * 32 * 32, numClasses: 10, dropoutKeepRatio: 1,
  normalization: null as Normalization, reg: 0, weightScale: 1e-2, seed: undefined as number | undefined,
};

/** The options after their checks; the seed is null when none was given. */
type Settings = Required<Omit<FullyConnectedNetOptions, 'seed'>> & { seed: number | null };

/** Checks the options; `where` goes before each name in messages. Nothing is allocated. */
function checkOptions(fn: string, o: Record<string, unknown>, where = ''): Settings {
  const dims = o.hiddenDims;
  if (!Array.isArray(dims)) fail(`${fn}: ${where}hiddenDims must be an array of positive integers, got ${show(dims)}`);
  const keep = o.dropoutKeepRatio;
  if (typeof keep !== 'number' || !(keep > 0 && keep <= 1)) fail(`${fn}: ${where}dropoutKeepRatio must be in (0, 1] (the probability of keeping a unit), got ${show(keep)}`);
  const norm = o.normalization;
  if (norm !== null && norm !== 'batchnorm' && norm !== 'layernorm') fail(`${fn}: ${where}normalization must be null, 'batchnorm' or 'layernorm', got ${Array.isArray(norm) ? showList(norm) : show(norm)}`);
  return {
    hiddenDims: dims.map((d, i) => positiveInt(fn, `${where}hiddenDims[${i}]`, d)), inputDim: positiveInt(fn, `${where}inputDim`, o.inputDim),
    numClasses: positiveInt(fn, `${where}numClasses`, o.numClasses), dropoutKeepRatio: keep, normalization: norm,
    reg: nonNegative(fn, `${where}reg`, o.reg), weightScale: nonNegative(fn, `${where}weightScale`, o.weightScale),
    seed: o.seed === undefined || o.seed === null ? null : seedOf(fn, o.seed, `${where}seed`),
  };
}

/** W_i, b_i (and gamma_i, beta_i of each normalized layer), layer by layer, with their shapes. */
function paramShapes(s: Settings): ParamShapes {
  const dims = [s.inputDim, ...s.hiddenDims, s.numClasses];
  const L = dims.length - 1;
  return dims.slice(1).flatMap((d, k) => {
    const i = k + 1;
    const layer: [string, number[]][] = [[`W${i}`, [dims[k], d]], [`b${i}`, [d]]];
    if (s.normalization !== null && i < L) layer.push([`gamma${i}`, [d]], [`beta${i}`, [d]]);
    return layer;
  });
}

/** The widths of the batchnorm layers, whose running statistics the model keeps. */
function batchnormDims(s: Settings): readonly number[] {
  return s.normalization === 'batchnorm' ? s.hiddenDims : [];
}

type RunningValues = { mean: Float64Array; variance: Float64Array }[];

/** Reads toJSON()'s runningStats back: one {mean, variance} per batchnorm layer, of its width. */
function decodeRunning(fn: string, name: string, j: unknown, dims: readonly number[]): RunningValues {
  if (!Array.isArray(j) || j.length !== dims.length) fail(`${fn}: ${name} must hold the running statistics of ${dims.length} batchnorm layers, got ${describe(j)}`);
  return dims.map((D, k) => {
    const r = exactObject(fn, `${name}[${k}]`, j[k], ['mean', 'variance'], 'FullyConnectedNet.toJSON()');
    return { mean: decodeTensor(fn, `${name}[${k}].mean`, r.mean, [D]).data, variance: decodeTensor(fn, `${name}[${k}].variance`, r.variance, [D]).data };
  });
}

/** Checks a FullyConnectedNet's toJSON() (named `name`) and decodes it; nothing is allocated until build(). */
export function decodeFullyConnectedNet(fn: string, name: string, json: unknown): DecodedModel<FullyConnectedNet> {
  const writer = 'FullyConnectedNet.toJSON()';
  const j = loaderInput(fn, name, json, 'FullyConnectedNet', writer, ['options', 'params', 'runningStats']);
  const s = checkOptions(fn, exactObject(fn, `${name}.options`, j.options, Object.keys(DEFAULTS), writer), `${name}.options.`);
  const shapes = paramShapes(s);
  const values = decodeParams(fn, `${name}.params`, j.params, shapes, 'FullyConnectedNet');
  const stats = decodeRunning(fn, `${name}.runningStats`, j.runningStats, batchnormDims(s));
  const build = (): FullyConnectedNet => {
    const model = new FullyConnectedNet({ ...s, seed: s.seed ?? undefined });
    storeOf(model).load(values);
    running.get(model)!.forEach((r, k) => {
      put(r.mean, stats[k].mean);
      put(r.variance, stats[k].variance);
    });
    return model;
  };
  const buffers = batchnormDims(s).flatMap((D, k) => runningNames(k).map((n) => [n, [D]] as const));
  return { shapes, buffers, input: { shape: [s.inputDim], flat: true, numClasses: s.numClasses }, build };
}

/** The names of batchnorm layer k's running mean and variance as the solver keeps them (the model's buffers). */
function runningNames(k: number): [string, string] {
  return [`runningMean${k + 1}`, `runningVariance${k + 1}`];
}

/** Batchnorm's running statistics of one layer, in WebAssembly memory (the kernel updates them in place). */
interface Running {
  mean: number;
  variance: number;
  D: number;
}

/** One layer's activations for batches of up to `capacity` rows; 0 where the layer has none. */
interface LayerBuffers {
  a: number;      // affine output (N, d)
  xhat: number;   // normalized, before gamma and beta
  invstd: number; // per feature (batchnorm) or per row (layernorm)
  h: number;      // after normalization and relu (relu in place)
  mask: number;   // dropout's bits
  d: number;      // after dropout
  grad: number;   // the gradient flowing down through this layer (N, d)
}

interface Activations {
  capacity: number;
  blocks: Blocks;
  x: number; y: number; ds: number; work: number; scratch: number; rowloss: number;
  layers: LayerBuffers[];
}

const F64 = 8;
const EPS = 1e-5;
const MOMENTUM = 0.9;
const running = new WeakMap<FullyConnectedNet, Running[]>();
const acts = new WeakMap<FullyConnectedNet, Activations>();

export class FullyConnectedNet {
  readonly hiddenDims: readonly number[];
  readonly inputDim: number;
  readonly numClasses: number;
  readonly dropoutKeepRatio: number;
  readonly normalization: Normalization;
  readonly weightScale: number;
  /** The seed of the weights and of the dropout mask, or null when none was given. */
  readonly seed: number | null;
  reg: number;
  readonly numLayers: number;

  constructor(options?: FullyConnectedNetOptions) {
    const fn = 'FullyConnectedNet';
    const s = checkOptions(fn, takeOptions(fn, 'options', options, DEFAULTS));
    this.hiddenDims = s.hiddenDims;
    this.inputDim = s.inputDim;
    this.numClasses = s.numClasses;
    this.dropoutKeepRatio = s.dropoutKeepRatio;
    this.normalization = s.normalization;
    this.reg = s.reg;
    this.weightScale = s.weightScale;
    this.seed = s.seed;
    this.numLayers = this.hiddenDims.length + 1;
    const g = new Generator(this.seed ?? seedOf(fn, undefined));
    const activations: Activations = { capacity: 0, blocks: new Blocks(), layers: [] } as unknown as Activations;
    acts.set(this, activations);
    const p = new ParamSet(fn, this, [activations.blocks]);
    registerModel(this, {
      input: { shape: [this.inputDim], flat: true, numClasses: this.numClasses },
      step: (x, labels) => this.trainStep(x, labels),
      buffers: () => running.get(this)!.flatMap((r, k) => runningNames(k).map((name, j) => ({ name, shape: [r.D], ptr: j ? r.variance : r.mean }))),
    });
    const draw = (): number => this.weightScale * g.normal();
    const init = (name: string) => (name.startsWith('W') ? draw : name.startsWith('gamma') ? () => 1 : () => 0);
    try {
      for (const [name, shape] of paramShapes(s)) p.add(name, shape, init(name));
      running.set(this, batchnormDims(s).map((D) => ({ mean: zeros(p.blocks, fn, D), variance: zeros(p.blocks, fn, D), D })));
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  get params(): Record<string, Tensor> {
    return storeOf(this).copies();
  }

  setParams(params: Partial<Record<string, Tensor>>): void {
    storeOf(this).set('FullyConnectedNet.setParams', params);
  }

  /** Copies of each batchnorm layer's running mean and variance (empty without batchnorm). */
  get runningStats(): { mean: Tensor; variance: Tensor }[] {
    return running.get(this)!.map((r) => ({ mean: make(take(r.mean, r.D), [r.D]), variance: make(take(r.variance, r.D), [r.D]) }));
  }

  /** Gives back the WebAssembly memory the model holds (also done when it is collected); it cannot be used afterwards. */
  dispose(): void {
    disposeModel(this, [acts.get(this)!.blocks]);
  }

  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Labels): { loss: number; grads: Record<string, Tensor> };
  loss(X: Tensor, y?: Labels): Tensor | { loss: number; grads: Record<string, Tensor> } {
    const fn = 'FullyConnectedNet.loss';
    const x = checkBatch(fn, X, [this.inputDim], true);
    if (y === undefined) return this.run(x, null) as Tensor;
    const loss = this.trainStep(x, checkModelLabels(fn, y, x.shape[0], this.numClasses));
    return { loss, grads: storeOf(this).gradCopies() };
  }

  /**
   * One forward and backward in train mode: the loss comes out and the gradients are left in
   * the model's gradient blocks (for the solver's update rules).
   */
  private trainStep(x: Tensor, labels: Int32Array): number {
    return storeOf(this).guard('training step', () => this.run(x, labels) as number);
  }

  /** The layer widths: inputDim, the hidden dims, numClasses. */
  private get dims(): number[] {
    return [this.inputDim, ...this.hiddenDims, this.numClasses];
  }

  /** The activation buffers for a batch of N, made once for the largest N seen. */
  private activations(N: number): Activations {
    const a = acts.get(this)!;
    if (N <= a.capacity) return a;
    a.blocks.free();
    const fn = 'FullyConnectedNet.loss';
    const f = (n: number): number => a.blocks.alloc(fn, n * F64);
    const dims = this.dims;
    const widest = Math.max(...dims);
    a.capacity = N;
    a.x = f(N * this.inputDim);
    a.y = a.blocks.alloc(fn, N * 4);
    a.ds = f(N * this.numClasses);
    a.work = a.blocks.alloc(fn, kernels().gemm_workspace_bytes());
    a.scratch = f(3 * widest);
    a.rowloss = f(N);
    a.layers = [];
    for (let i = 1; i <= this.numLayers; i++) {
      const n = N * dims[i];
      const hidden = i < this.numLayers;
      const norm = hidden ? this.normalization : null;
      const dropout = hidden && this.dropoutKeepRatio < 1;
      a.layers.push({
        a: f(n),
        xhat: norm ? f(n) : 0,
        invstd: norm ? f(norm === 'batchnorm' ? dims[i] : N) : 0,
        h: norm ? f(n) : 0,
        mask: dropout ? a.blocks.alloc(fn, (n + 7) >> 3) : 0,
        d: dropout ? f(n) : 0,
        grad: f(n),
      });
    }
    return a;
  }

  /**
   * The layers on resident buffers: the scores in test mode, or the loss in train mode with
   * the gradients left in the model's gradient blocks. Each layer runs the kernel its
   * functional op runs (affine: fill_rows then gemm; batchnorm_*; norm_* for layernorm;
   * relu in place; dropout_*), so the results equal those of the functional ops bit for bit.
   */
  private run(x: Tensor, labels: Int32Array | null): Tensor | number {
    const N = x.shape[0];
    const train = labels !== null;
    const a = this.activations(N);
    const p = storeOf(this);
    const stats = running.get(this)!;
    const k = kernels();
    const dims = this.dims;
    const L = this.numLayers;
    const seed = this.dropoutKeepRatio < 1 && train
      ? dropoutSettings('FullyConnectedNet.loss', this.seed === null
        ? { mode: 'train', keepProb: this.dropoutKeepRatio }
        : { mode: 'train', keepProb: this.dropoutKeepRatio, seed: this.seed }).seed
      : 0;
    put(a.x, x.data);
    const outputs: number[] = [a.x];
    for (let i = 1; i <= L; i++) {
      const b = a.layers[i - 1];
      const [din, d] = [dims[i - 1], dims[i]];
      const input = outputs[i - 1];
      k.fill_rows(p.get(`b${i}`).ptr, b.a, N, d);
      k.gemm(0, 0, N, d, din, input, din, p.get(`W${i}`).ptr, d, b.a, d, 1, a.work);
      if (i === L) { outputs.push(b.a); break; }
      let h = b.a;
      if (this.normalization === 'batchnorm') {
        const r = stats[i - 1];
        k.batchnorm_forward(b.a, p.get(`gamma${i}`).ptr, p.get(`beta${i}`).ptr, b.h, b.xhat, a.scratch, a.scratch + d * F64,
          b.invstd, r.mean, r.variance, N, d, 1, train ? 1 : 0, EPS, MOMENTUM);
        h = b.h;
      } else if (this.normalization === 'layernorm') {
        k.norm_forward(b.a, p.get(`gamma${i}`).ptr, p.get(`beta${i}`).ptr, b.h, b.xhat, b.invstd, N, 1, d, 1, EPS);
        h = b.h;
      }
      k.relu_forward(h, h, N * d);
      if (b.d && train) {
        k.dropout_forward(h, b.d, b.mask, N * d, this.dropoutKeepRatio, seed);
        h = b.d;
      }
      outputs.push(h);
    }
    const C = this.numClasses;
    const scores = outputs[L];
    if (!train) return make(take(scores, N * C), [N, C]);

    i32(a.y, N).set(labels);
    const data = k.softmax_loss(scores, a.y, a.ds, a.rowloss, N, C);
    let dout = a.ds;
    for (let i = L; i >= 1; i--) {
      const b = a.layers[i - 1];
      const [din, d] = [dims[i - 1], dims[i]];
      if (i < L) {
        // Down through dropout, relu and the normalization, into this layer's grad buffer.
        if (b.d) { k.dropout_backward(dout, b.mask, b.grad, N * d, this.dropoutKeepRatio); dout = b.grad; }
        const post = b.h || b.a;
        k.relu_backward(dout, post, b.grad, N * d);
        dout = b.grad;
        if (this.normalization === 'batchnorm') {
          k.batchnorm_backward(dout, b.xhat, p.get(`gamma${i}`).ptr, b.invstd, b.grad, p.get(`gamma${i}`).grad, p.get(`beta${i}`).grad,
            a.scratch, N, d, 1, 1);
        } else if (this.normalization === 'layernorm') {
          k.norm_backward(dout, b.xhat, p.get(`gamma${i}`).ptr, b.invstd, b.grad, p.get(`gamma${i}`).grad, p.get(`beta${i}`).grad, 0, N, 1, d, 1);
        }
      }
      const input = outputs[i - 1];
      k.gemm(1, 0, din, d, N, input, din, dout, d, p.get(`W${i}`).grad, d, 0, a.work);
      k.sum_rows(dout, p.get(`b${i}`).grad, N, d);
      if (i > 1) {
        const below = a.layers[i - 2];
        k.gemm(0, 1, N, din, d, dout, d, p.get(`W${i}`).ptr, d, below.grad, din, 0, a.work);
        dout = below.grad;
      }
    }
    const weights = Array.from({ length: L }, (_, j) => `W${j + 1}`);
    return data + p.l2(weights, this.reg, true);
  }

  toJSON(): FullyConnectedNetJSON {
    return {
      type: 'FullyConnectedNet',
      options: {
        hiddenDims: [...this.hiddenDims], inputDim: this.inputDim, numClasses: this.numClasses,
        dropoutKeepRatio: this.dropoutKeepRatio, normalization: this.normalization, reg: this.reg,
        weightScale: this.weightScale, seed: this.seed,
      },
      params: storeOf(this).toJSON(),
      runningStats: this.runningStats.map((r) => ({ mean: encodeTensor(r.mean), variance: encodeTensor(r.variance) })),
    };
  }

  /** The model toJSON() wrote; every field is checked before anything is allocated. */
  static fromJSON(json: unknown): FullyConnectedNet {
    return decodeFullyConnectedNet('FullyConnectedNet.fromJSON', 'json', json).build();
  }
}

/** D float64 zeros in a block of `blocks`. */
function zeros(blocks: Blocks, fn: string, D: number): number {
  const ptr = blocks.alloc(fn, D * F64);
  f64(ptr, D).fill(0);
  return ptr;
}

export interface FullyConnectedNetJSON {
  type: 'FullyConnectedNet';
  options: Required<Omit<FullyConnectedNetOptions, 'seed'>> & { seed: number | null };
  params: Record<string, JsonTensor>;
  runningStats: { mean: JsonTensor; variance: JsonTensor }[];
}
