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
import { put, take, f64 } from '../wasm.js';
import type { Layer } from '../layers/layer.js';
import { stateDict, loadStateDict, toPyTorch } from './pytorch.js';
import { Net, registerNet } from './net.js';
import { LayerSpec, buildList, layers as Lyr } from './layers.js';
import { dropoutSettings } from '../reference/dropout.js';
import { Generator } from './random.js';
import { ParamSet, Blocks, storeOf, disposeModel, registerModel, ParamShapes, DecodedModel, decodeParams } from './params.js';
import { takeOptions, positiveInt, nonNegative, seedOf, exactObject } from './options.js';
import { checkBatch, checkModelLabels, Labels } from './batch.js';
import { encodeTensor, decodeTensor, JsonTensor, loaderInput, provenance, Provenance } from './serialize.js';

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

/**
 * The layers, as a Sequential would write them: {affine − [batchnorm | layernorm] − relu −
 * [dropout]} × (L−1) − affine, and the model's name for each layer's parameter or buffer
 * (W1, b1, gamma1, beta1, …; runningMean1 and runningVariance1 for batchnorm's statistics).
 */
function layersOf(s: Settings, draw: () => number): { layers: Layer[]; names: Map<string, string> } {
  const specs: LayerSpec[] = [];
  const names = new Map<string, string>();
  const L = s.hiddenDims.length + 1;
  let bn = 0;
  [...s.hiddenDims, s.numClasses].forEach((d, k) => {
    const i = k + 1;
    const at = (local: string, name: string): void => { names.set(`${specs.length}.${local}`, name); };
    at('W', `W${i}`);
    at('b', `b${i}`);
    specs.push(Lyr.affine(d));
    if (i === L) return;
    if (s.normalization !== null) {
      at('gamma', `gamma${i}`);
      at('beta', `beta${i}`);
      if (s.normalization === 'batchnorm') {
        const [mean, variance] = runningNames(bn++);
        at('runningMean', mean);
        at('runningVar', variance);
      }
      specs.push(s.normalization === 'batchnorm' ? Lyr.batchnorm({ eps: EPS, momentum: MOMENTUM }) : Lyr.layernorm({ eps: EPS }));
    }
    specs.push(Lyr.relu());
    if (s.dropoutKeepRatio < 1) specs.push(Lyr.dropout(s.dropoutKeepRatio, s.seed === null ? undefined : { seed: s.seed }));
  });
  const layers = buildList(specs, [s.inputDim], (i, kind) => `FullyConnectedNet: layer ${i} (${kind})`, { draw }, 'FullyConnectedNet');
  return { layers, names };
}

const F64 = 8;
const EPS = 1e-5;
const MOMENTUM = 0.9;
const nets = new WeakMap<FullyConnectedNet, { net: Net; blocks: Blocks }>();
const running = new WeakMap<FullyConnectedNet, Running[]>();

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
    const blocks = new Blocks();
    nets.set(this, { net: null as unknown as Net, blocks });
    const p = new ParamSet(fn, this, [blocks]);
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
    // A dropout without the model's seed draws a fresh one at each call.
    const fresh = (): number => dropoutSettings(fn, { mode: 'train', keepProb: 1 }).seed;
    const { layers, names } = layersOf(s, fresh);
    const stats = new Map(running.get(this)!.flatMap((r, k) => runningNames(k).map((name, j) => [name, j ? r.variance : r.mean] as const)));
    nets.get(this)!.net = new Net(fn, layers, s.numClasses, 'softmax', p, (path, local) => names.get(`${path}.${local}`)!,
      (name) => stats.get(name)!, blocks);
    registerNet(this, nets.get(this)!.net);
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

  /** PyTorch's state dict of the equivalent module (see toPyTorch): its names and layouts, copies. */
  stateDict(): Record<string, Tensor> {
    storeOf(this);
    return stateDict(nets.get(this)!.net);
  }

  /** Loads a PyTorch state dict of the equivalent module; keys and shapes are checked first. */
  loadStateDict(sd: Record<string, Tensor>, options?: { stripPrefix?: string }): void {
    storeOf(this);
    loadStateDict('FullyConnectedNet.loadStateDict', nets.get(this)!.net, sd, options);
  }

  /** Python source that assigns `model`, the equivalent torch.nn module (load stateDict() into it). */
  toPyTorch(): string {
    storeOf(this);
    return toPyTorch(nets.get(this)!.net, 'FullyConnectedNet');
  }

  /** Gives back the WebAssembly memory the model holds (also done when it is collected); it cannot be used afterwards. */
  dispose(): void {
    disposeModel(this, [nets.get(this)!.blocks]);
  }

  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Labels): { loss: number; grads: Record<string, Tensor> };
  loss(X: Tensor, y?: Labels): Tensor | { loss: number; grads: Record<string, Tensor> } {
    const fn = 'FullyConnectedNet.loss';
    const x = checkBatch(fn, X, [this.inputDim], true);
    storeOf(this);
    if (y === undefined) return nets.get(this)!.net.scores(x);
    const loss = this.trainStep(x, checkModelLabels(fn, y, x.shape[0], this.numClasses));
    return { loss, grads: storeOf(this).gradCopies() };
  }

  /**
   * One forward and backward in train mode: the loss comes out and the gradients are left in
   * the model's gradient blocks (for the solver's update rules).
   */
  private trainStep(x: Tensor, labels: Int32Array): number {
    const p = storeOf(this);
    const weights = Array.from({ length: this.numLayers }, (_, j) => `W${j + 1}`);
    return p.guard('training step', () => nets.get(this)!.net.trainStep(x, labels) + p.l2(weights, this.reg, true));
  }

  toJSON(): FullyConnectedNetJSON {
    return {
      type: 'FullyConnectedNet',
      ...provenance(),
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

export interface FullyConnectedNetJSON extends Partial<Provenance> {
  type: 'FullyConnectedNet';
  options: Required<Omit<FullyConnectedNetOptions, 'seed'>> & { seed: number | null };
  params: Record<string, JsonTensor>;
  runningStats: { mean: JsonTensor; variance: JsonTensor }[];
}
