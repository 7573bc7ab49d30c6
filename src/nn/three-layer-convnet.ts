/**
 * CS231n's ThreeLayerConvNet (cnn.py):
 *   conv (stride 1, pad (filterSize−1)/2) − relu − 2x2 max pool − affine − relu − affine − softmax.
 * Weights are N(0, weightScale²), biases zero; the loss adds 0.5·reg·Σ W² over W1, W2, W3.
 */
import { fail } from '../errors.js';
import { Tensor, show, showList } from '../tensor.js';
import { ConvGeometry, PoolGeometry } from '../params.js';
import { Generator } from './random.js';
import { stateDict, loadStateDict, toPyTorch } from './pytorch.js';
import { Net, registerNet } from './net.js';
import { layers as L } from './layers.js';
import { buildList } from './layers.js';
import { ParamSet, Blocks, storeOf, disposeModel, registerModel, ParamShapes, DecodedModel, decodeParams } from './params.js';
import { takeOptions, positiveInt, nonNegative, seedOf, exactObject } from './options.js';
import { checkBatch, checkModelLabels, Labels } from './batch.js';
import { loaderInput, provenance, Provenance } from './serialize.js';

export interface ThreeLayerConvNetOptions {
  /** (C, H, W) of one input image. */
  inputDim?: readonly [number, number, number];
  numFilters?: number;
  filterSize?: number;
  hiddenDim?: number;
  numClasses?: number;
  weightScale?: number;
  reg?: number;
  /** Seeds the weights; omitted, they are drawn from a seed chosen at random. */
  seed?: number;
}

const DEFAULTS = {
  inputDim: [3, 32, 32] as readonly [number, number, number],
  numFilters: 32, filterSize: 7, hiddenDim: 100, numClasses: 10, weightScale: 1e-3, reg: 0,
  seed: undefined as number | undefined,
};

export type ThreeLayerConvNetGrads = Record<'W1' | 'b1' | 'W2' | 'b2' | 'W3' | 'b3', Tensor>;

/** The options after their checks (the seed apart). */
type Settings = Required<Omit<ThreeLayerConvNetOptions, 'seed'>>;

/** The options toJSON() writes: all of them but the seed. */
const JSON_KEYS = ['inputDim', 'numFilters', 'filterSize', 'hiddenDim', 'numClasses', 'weightScale', 'reg'];

/** Checks the options but the seed; `where` goes before each name in messages. Nothing is allocated. */
function checkOptions(fn: string, o: Record<string, unknown>, where = ''): Settings {
  const dims = o.inputDim;
  if (!Array.isArray(dims) || dims.length !== 3) fail(`${fn}: ${where}inputDim must be [C, H, W], got ${Array.isArray(dims) ? showList(dims) : show(dims)}`);
  const [C, H, W] = dims.map((d, i) => positiveInt(fn, `${where}inputDim[${i}]`, d));
  const s: Settings = {
    inputDim: [C, H, W], numFilters: positiveInt(fn, `${where}numFilters`, o.numFilters),
    filterSize: positiveInt(fn, `${where}filterSize`, o.filterSize), hiddenDim: positiveInt(fn, `${where}hiddenDim`, o.hiddenDim),
    numClasses: positiveInt(fn, `${where}numClasses`, o.numClasses), weightScale: nonNegative(fn, `${where}weightScale`, o.weightScale),
    reg: nonNegative(fn, `${where}reg`, o.reg),
  };
  const g = geometryOf(s, 1).conv;
  if (g.H2 < 2 || g.W2 < 2) fail(`${fn}: a ${g.HH}x${g.WW} filter leaves ${g.H2}x${g.W2} maps from ${H}x${W} images, too small for the 2x2 pool`);
  return s;
}

/** The conv (stride 1, pad ⌊(filterSize−1)/2⌋) and 2x2 pool geometry for N images. */
function geometryOf(m: Pick<Settings, 'inputDim' | 'numFilters' | 'filterSize'>, N: number): { conv: ConvGeometry; pool: PoolGeometry; pooled: number } {
  const [C, H, W] = m.inputDim;
  const F = m.numFilters, K = m.filterSize;
  const P = Math.floor((K - 1) / 2);
  const H2 = H + 2 * P - K + 1, W2 = W + 2 * P - K + 1;
  const conv: ConvGeometry = { N, C, H, W, F, HH: K, WW: K, SH: 1, SW: 1, PH: P, PW: P, H2, W2, DH: 1, DW: 1, G: 1 };
  const pool: PoolGeometry = { N, C: F, H: H2, W: W2, HH: 2, WW: 2, SH: 2, SW: 2, H2: Math.floor(H2 / 2), W2: Math.floor(W2 / 2) };
  return { conv, pool, pooled: F * pool.H2 * pool.W2 };
}

/** W1, b1, W2, b2, W3, b3 and their shapes. */
function paramShapes(s: Settings): ParamShapes {
  const [C] = s.inputDim;
  const { numFilters: F, filterSize: K, hiddenDim: Hd, numClasses: NC } = s;
  const D = geometryOf(s, 1).pooled;
  return [['W1', [F, C, K, K]], ['b1', [F]], ['W2', [D, Hd]], ['b2', [Hd]], ['W3', [Hd, NC]], ['b3', [NC]]];
}

/** Checks a ThreeLayerConvNet's toJSON() (named `name`) and decodes it; nothing is allocated until build(). */
export function decodeThreeLayerConvNet(fn: string, name: string, json: unknown): DecodedModel<ThreeLayerConvNet> {
  const writer = 'ThreeLayerConvNet.toJSON()';
  const j = loaderInput(fn, name, json, 'ThreeLayerConvNet', writer, ['options', 'params']);
  const s = checkOptions(fn, exactObject(fn, `${name}.options`, j.options, JSON_KEYS, writer), `${name}.options.`);
  const shapes = paramShapes(s);
  const values = decodeParams(fn, `${name}.params`, j.params, shapes, 'ThreeLayerConvNet');
  const build = (): ThreeLayerConvNet => {
    const model = new ThreeLayerConvNet({ ...s, seed: 0 });
    storeOf(model).load(values);
    return model;
  };
  return { shapes, input: { shape: s.inputDim, flat: false, numClasses: s.numClasses }, build };
}

/**
 * The layers, as a Sequential would write them: conv − relu − 2x2 max pool − affine − relu −
 * affine, whose parameters 0.W, 0.b, 3.W, 3.b, 5.W, 5.b are W1, b1, W2, b2, W3, b3.
 */
function layersOf(s: Settings): ReturnType<typeof buildList> {
  const specs = [
    L.conv(s.numFilters, s.filterSize, { pad: Math.floor((s.filterSize - 1) / 2) }), L.relu(), L.maxPool(2),
    L.affine(s.hiddenDim), L.relu(), L.affine(s.numClasses),
  ];
  return buildList(specs, s.inputDim, (i, kind) => `ThreeLayerConvNet: layer ${i} (${kind})`, { draw: () => 0 }, 'ThreeLayerConvNet');
}

const CS231N_NAMES: Record<string, string> = { '0.W': 'W1', '0.b': 'b1', '3.W': 'W2', '3.b': 'b2', '5.W': 'W3', '5.b': 'b3' };

const nets = new WeakMap<ThreeLayerConvNet, { net: Net; blocks: Blocks }>();

export class ThreeLayerConvNet {
  readonly inputDim: readonly [number, number, number];
  readonly numFilters: number;
  readonly filterSize: number;
  readonly hiddenDim: number;
  readonly numClasses: number;
  readonly weightScale: number;
  /** The L2 strength; may be changed between calls. */
  reg: number;

  constructor(options?: ThreeLayerConvNetOptions) {
    const fn = 'ThreeLayerConvNet';
    const o = takeOptions(fn, 'options', options, DEFAULTS);
    const s = checkOptions(fn, o);
    this.inputDim = s.inputDim;
    this.numFilters = s.numFilters;
    this.filterSize = s.filterSize;
    this.hiddenDim = s.hiddenDim;
    this.numClasses = s.numClasses;
    this.weightScale = s.weightScale;
    this.reg = s.reg;
    const gen = new Generator(seedOf(fn, o.seed));
    const blocks = new Blocks();
    const p = new ParamSet(fn, this, [blocks]);
    registerModel(this, { input: { shape: this.inputDim, flat: false, numClasses: this.numClasses }, step: (x, labels) => this.trainStep(x, labels) });
    const draw = (): number => s.weightScale * gen.normal();
    nets.set(this, { net: null as unknown as Net, blocks });
    try {
      for (const [name, shape] of paramShapes(s)) p.add(name, shape, name.startsWith('W') ? draw : () => 0);
    } catch (e) {
      this.dispose();
      throw e;
    }
    nets.get(this)!.net = new Net(fn, layersOf(s), s.numClasses, 'softmax', p, (path, name) => CS231N_NAMES[`${path}.${name}`],
      () => 0, blocks);
    registerNet(this, nets.get(this)!.net);
  }

  /** Copies of W1, b1, W2, b2, W3, b3. */
  get params(): Record<string, Tensor> {
    return storeOf(this).copies();
  }

  /** Copies in any of the parameters; names and shapes are checked first. */
  setParams(params: Partial<Record<string, Tensor>>): void {
    storeOf(this).set('ThreeLayerConvNet.setParams', params);
  }

  /** PyTorch's state dict of the equivalent module (see toPyTorch): its names and layouts, copies. */
  stateDict(): Record<string, Tensor> {
    storeOf(this);
    return stateDict(nets.get(this)!.net);
  }

  /** Loads a PyTorch state dict of the equivalent module; keys and shapes are checked first. */
  loadStateDict(sd: Record<string, Tensor>, options?: { stripPrefix?: string }): void {
    storeOf(this);
    loadStateDict('ThreeLayerConvNet.loadStateDict', nets.get(this)!.net, sd, options);
  }

  /** Python source that assigns `model`, the equivalent torch.nn module (load stateDict() into it). */
  toPyTorch(): string {
    storeOf(this);
    return toPyTorch(nets.get(this)!.net, 'ThreeLayerConvNet');
  }

  /** Gives back the WebAssembly memory the model holds (also done when it is collected); it cannot be used afterwards. */
  dispose(): void {
    disposeModel(this, [nets.get(this)!.blocks]);
  }

  /** Scores (N, numClasses) for X (N, C, H, W). */
  loss(X: Tensor): Tensor;
  /** The softmax loss with the L2 term, and the gradient of every parameter. */
  loss(X: Tensor, y: Labels): { loss: number; grads: ThreeLayerConvNetGrads };
  loss(X: Tensor, y?: Labels): Tensor | { loss: number; grads: ThreeLayerConvNetGrads } {
    const fn = 'ThreeLayerConvNet.loss';
    const x = checkBatch(fn, X, this.inputDim);
    storeOf(this);
    if (y === undefined) return nets.get(this)!.net.scores(x);
    const loss = this.trainStep(x, checkModelLabels(fn, y, x.shape[0], this.numClasses));
    return { loss, grads: storeOf(this).gradCopies() as ThreeLayerConvNetGrads };
  }

  /**
   * One forward and backward on resident buffers: the batch goes in, the loss comes out, and
   * the gradients are left in the model's gradient blocks (for the solver's update rules).
   * The conv's backward skips dx: nothing is below the first layer.
   */
  private trainStep(x: Tensor, labels: Int32Array): number {
    const p = storeOf(this);
    return p.guard('training step', () => nets.get(this)!.net.trainStep(x, labels) + p.l2(['W1', 'W2', 'W3'], this.reg, true));
  }

  /** A JSON-safe object that ThreeLayerConvNet.fromJSON turns back into the same model, every float64 exact. */
  toJSON(): ThreeLayerConvNetJSON {
    return {
      type: 'ThreeLayerConvNet',
      ...provenance(),
      options: {
        inputDim: [...this.inputDim], numFilters: this.numFilters, filterSize: this.filterSize,
        hiddenDim: this.hiddenDim, numClasses: this.numClasses, weightScale: this.weightScale, reg: this.reg,
      },
      params: storeOf(this).toJSON(),
    };
  }

  /** The model toJSON() wrote; every field is checked before anything is allocated. */
  static fromJSON(json: unknown): ThreeLayerConvNet {
    return decodeThreeLayerConvNet('ThreeLayerConvNet.fromJSON', 'json', json).build();
  }
}

export interface ThreeLayerConvNetJSON extends Partial<Provenance> {
  type: 'ThreeLayerConvNet';
  options: Required<Omit<ThreeLayerConvNetOptions, 'seed'>>;
  params: ReturnType<ParamSet['toJSON']>;
}
