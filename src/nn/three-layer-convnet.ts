/**
 * CS231n's ThreeLayerConvNet (cnn.py):
 *   conv (stride 1, pad (filterSize−1)/2) − relu − 2x2 max pool − affine − relu − affine − softmax.
 * Weights are N(0, weightScale²), biases zero; the loss adds 0.5·reg·Σ W² over W1, W2, W3.
 */
import { fail } from '../errors.js';
import { Tensor, make, show, showList } from '../tensor.js';
import { ConvGeometry, PoolGeometry } from '../params.js';
import { kernels, put, take, i32, threadCount } from '../wasm.js';
import { CONV_GEOMETRY_BYTES, putConvGeometry, colsLength, dwByImages, dwByImagesOnPool, dwSlotsLength, convDwByImages } from '../conv.js';
import { POOL_GEOMETRY_BYTES, putPoolGeometry } from '../pool.js';
import { Generator } from './random.js';
import { ParamSet, Blocks, storeOf, disposeModel, registerModel, ParamShapes, DecodedModel, decodeParams } from './params.js';
import { takeOptions, positiveInt, nonNegative, seedOf, exactObject } from './options.js';
import { checkBatch, checkModelLabels, Labels } from './batch.js';
import { loaderInput } from './serialize.js';

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
  const conv: ConvGeometry = { N, C, H, W, F, HH: K, WW: K, SH: 1, SW: 1, PH: P, PW: P, H2, W2 };
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

/** The model's activations for batches of up to `capacity` rows, in WebAssembly memory. */
interface Activations {
  capacity: number;
  /** The thread count the per-thread buffers (the conv's column blocks for dw by images) are sized for. */
  threads: number;
  blocks: Blocks;
  x: number; h1: number; p1: number; argmax: number; h2: number; s: number; y: number;
  ds: number; dh2: number; dp1: number; dh1: number; cols: number; work: number; rowloss: number; slots: number;
  convGeom: number; poolGeom: number;
}

const F64 = 8;
const acts = new WeakMap<ThreeLayerConvNet, Activations>();

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
    const activations: Activations = { capacity: 0, threads: 0, blocks: new Blocks() } as Activations;
    acts.set(this, activations);
    const p = new ParamSet(fn, this, [activations.blocks]);
    registerModel(this, { input: { shape: this.inputDim, flat: false, numClasses: this.numClasses }, step: (x, labels) => this.trainStep(x, labels) });
    const draw = (): number => s.weightScale * gen.normal();
    try {
      for (const [name, shape] of paramShapes(s)) p.add(name, shape, name.startsWith('W') ? draw : () => 0);
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** The conv and pool geometry for N images. */
  private geometry(N: number): { conv: ConvGeometry; pool: PoolGeometry; pooled: number } {
    return geometryOf(this, N);
  }

  /** The activation buffers for a batch of N, made once for the largest N seen. */
  private activations(N: number): Activations {
    const a = acts.get(this)!;
    if (N > a.capacity || a.threads !== threadCount()) {
      a.blocks.free();
      const cap = Math.max(N, a.capacity);
      const g = this.geometry(cap);
      // dw by images (with a pool) needs a cols block per thread and the slots.
      const T = threadCount();
      const byImages = dwByImagesOnPool(g.conv, T);
      const slots = byImages ? dwSlotsLength(g.conv, kernels()) : 0;
      const fn = 'ThreeLayerConvNet.loss';
      const nx = cap * this.inputDim[0] * this.inputDim[1] * this.inputDim[2];
      const n1 = cap * this.numFilters * g.conv.H2 * g.conv.W2;
      const np = cap * g.pooled;
      const nh = cap * this.hiddenDim;
      const ns = cap * this.numClasses;
      const f = (n: number): number => a.blocks.alloc(fn, n * F64);
      Object.assign(a, {
        capacity: cap, threads: T, slots: slots ? f(slots) : 0, x: f(nx), h1: f(n1), p1: f(np), argmax: a.blocks.alloc(fn, np), h2: f(nh), s: f(ns),
        y: a.blocks.alloc(fn, cap * 4), ds: f(ns), dh2: f(nh), dp1: f(np), dh1: f(n1), cols: f(colsLength(g.conv) * (byImages ? T : 1)),
        work: a.blocks.alloc(fn, kernels().gemm_workspace_bytes()), rowloss: f(cap),
        convGeom: a.blocks.alloc(fn, CONV_GEOMETRY_BYTES), poolGeom: a.blocks.alloc(fn, POOL_GEOMETRY_BYTES),
      });
    }
    return a;
  }

  /** Copies of W1, b1, W2, b2, W3, b3. */
  get params(): Record<string, Tensor> {
    return storeOf(this).copies();
  }

  /** Copies in any of the parameters; names and shapes are checked first. */
  setParams(params: Partial<Record<string, Tensor>>): void {
    storeOf(this).set('ThreeLayerConvNet.setParams', params);
  }

  /** Gives back the WebAssembly memory the model holds (also done when it is collected); it cannot be used afterwards. */
  dispose(): void {
    disposeModel(this, [acts.get(this)!.blocks]);
  }

  /** Scores (N, numClasses) for X (N, C, H, W). */
  loss(X: Tensor): Tensor;
  /** The softmax loss with the L2 term, and the gradient of every parameter. */
  loss(X: Tensor, y: Labels): { loss: number; grads: ThreeLayerConvNetGrads };
  loss(X: Tensor, y?: Labels): Tensor | { loss: number; grads: ThreeLayerConvNetGrads } {
    const fn = 'ThreeLayerConvNet.loss';
    const x = checkBatch(fn, X, this.inputDim);
    if (y === undefined) return this.scores(x);
    const loss = this.trainStep(x, checkModelLabels(fn, y, x.shape[0], this.numClasses));
    return { loss, grads: storeOf(this).gradCopies() as ThreeLayerConvNetGrads };
  }

  /** The forward pass on resident buffers up to the scores; returns the activations. */
  private forward(x: Tensor): { a: Activations; N: number } {
    const N = x.shape[0];
    const a = this.activations(N);
    const p = storeOf(this);
    const k = kernels();
    const g = this.geometry(N);
    putConvGeometry(a.convGeom, g.conv);
    putPoolGeometry(a.poolGeom, g.pool);
    put(a.x, x.data);
    const n1 = N * this.numFilters * g.conv.H2 * g.conv.W2;
    k.conv_forward(a.x, p.get('W1').ptr, p.get('b1').ptr, a.h1, a.convGeom, a.work);
    k.relu_forward(a.h1, a.h1, n1);
    k.maxpool_forward(a.h1, a.p1, a.argmax, a.poolGeom, 0);
    const D = g.pooled, Hd = this.hiddenDim, C = this.numClasses;
    k.fill_rows(p.get('b2').ptr, a.h2, N, Hd);
    k.gemm(0, 0, N, Hd, D, a.p1, D, p.get('W2').ptr, Hd, a.h2, Hd, 1, a.work);
    k.relu_forward(a.h2, a.h2, N * Hd);
    k.fill_rows(p.get('b3').ptr, a.s, N, C);
    k.gemm(0, 0, N, C, Hd, a.h2, Hd, p.get('W3').ptr, C, a.s, C, 1, a.work);
    return { a, N };
  }

  private scores(x: Tensor): Tensor {
    const { a, N } = this.forward(x);
    return make(take(a.s, N * this.numClasses), [N, this.numClasses]);
  }

  /**
   * One forward and backward on resident buffers: the batch goes in, the loss comes out, and
   * the gradients are left in the model's gradient blocks (for the solver's update rules).
   * The conv's backward skips dx: nothing is below the first layer.
   */
  private trainStep(x: Tensor, labels: Int32Array): number {
    return storeOf(this).guard('training step', () => this.trainStepOn(x, labels));
  }

  private trainStepOn(x: Tensor, labels: Int32Array): number {
    const { a, N } = this.forward(x);
    const p = storeOf(this);
    const k = kernels();
    const g = this.geometry(N);
    const D = g.pooled, Hd = this.hiddenDim, C = this.numClasses;
    i32(a.y, N).set(labels);
    const data = k.softmax_loss(a.s, a.y, a.ds, a.rowloss, N, C);
    // affine 3: dW3 = h2ᵀ·ds, db3 = Σ_n ds, dh2 = ds·W3ᵀ; then relu 2 in place.
    k.gemm(1, 0, Hd, C, N, a.h2, Hd, a.ds, C, p.get('W3').grad, C, 0, a.work);
    k.sum_rows(a.ds, p.get('b3').grad, N, C);
    k.gemm(0, 1, N, Hd, C, a.ds, C, p.get('W3').ptr, C, a.dh2, Hd, 0, a.work);
    k.relu_backward(a.dh2, a.h2, a.dh2, N * Hd);
    // affine 2: dW2 = p1ᵀ·dh2, db2 = Σ_n dh2, dp1 = dh2·W2ᵀ.
    k.gemm(1, 0, D, Hd, N, a.p1, D, a.dh2, Hd, p.get('W2').grad, Hd, 0, a.work);
    k.sum_rows(a.dh2, p.get('b2').grad, N, Hd);
    k.gemm(0, 1, N, D, Hd, a.dh2, Hd, p.get('W2').ptr, Hd, a.dp1, D, 0, a.work);
    // pool, relu 1 (in place), then the conv's dw and db only.
    const n1 = N * this.numFilters * g.conv.H2 * g.conv.W2;
    k.maxpool_backward(a.dp1, a.argmax, a.dh1, a.poolGeom, 0);
    k.relu_backward(a.dh1, a.h1, a.dh1, n1);
    if (a.slots && dwByImages(g.conv)) {
      k.conv_backward(a.dh1, 0, 0, 0, 0, p.get('b1').grad, 0, 0, a.convGeom, a.work);
      convDwByImages(k, g.conv, a.dh1, a.x, a.cols, a.slots, p.get('W1').grad, a.work, a.convGeom);
    } else {
      k.conv_backward(a.dh1, a.x, 0, 0, p.get('W1').grad, p.get('b1').grad, a.cols, 0, a.convGeom, a.work);
    }
    return data + p.l2(['W1', 'W2', 'W3'], this.reg, true);
  }

  /** A JSON-safe object that ThreeLayerConvNet.fromJSON turns back into the same model, every float64 exact. */
  toJSON(): ThreeLayerConvNetJSON {
    return {
      type: 'ThreeLayerConvNet',
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

export interface ThreeLayerConvNetJSON {
  type: 'ThreeLayerConvNet';
  options: Required<Omit<ThreeLayerConvNetOptions, 'seed'>>;
  params: ReturnType<ParamSet['toJSON']>;
}
