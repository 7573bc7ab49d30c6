/**
 * Sequential: a network as a list of layers (src/nn/layers.ts), every buffer resident in
 * WebAssembly memory: the parameters and their gradients, the buffers (batchnorm's running
 * statistics), and each layer's output, gradient and caches, sized once per batch
 * capacity. A step copies the batch in and the loss (or the scores) out, nothing else.
 * Parameter names follow PyTorch's path scheme with CS231n's names: `0.W`, `1.gamma`,
 * `4.body.0.W`, `5.shortcut.0.b`.
 */
import { fail } from '../errors.js';
import { Tensor, make, describe, show, shapeString, checkSameShape } from '../tensor.js';
import { put, take, f64 } from '../wasm.js';
import { F64, Layer, ParamDecl, BufferDecl, count } from '../layers/layer.js';
import { stateDict, loadStateDict, toPyTorch } from './pytorch.js';
import { LossKind, Net, Placed, place, registerNet } from './net.js';
import { Generator } from './random.js';
import { Blocks, ParamSet, storeOf, disposeModel, registerModel, DecodedModel } from './params.js';

export type { LossKind };
import { seedOf, nonNegative } from './options.js';
import { checkBatch, checkModelLabels, Labels } from './batch.js';
import { LayerSpec, buildList } from './layers.js';
import { encodeTensor, decodeTensor, JsonTensor, provenance, Provenance, checkProvenance } from './serialize.js';

export type InitKind = 'he' | 'xavier' | { weightScale: number };

export interface SequentialOptions {
  /** One example's shape: (C, H, W) for images, (D) for vectors. */
  inputShape: readonly number[];
  loss?: LossKind;
  /** The L2 strength: the loss adds 0.5·reg·ΣW² over every layer's W. */
  reg?: number;
  /** 'he' (N(0, 2/fanIn), the default), 'xavier' (N(0, 2/(fanIn+fanOut))) or { weightScale } (N(0, weightScale²), CS231n's). */
  init?: InitKind;
  /** Seeds the weights and the dropout masks of layers without a seed; omitted, one is drawn at random. */
  seed?: number;
}

export interface SequentialJSON extends Partial<Provenance> {
  type: 'Sequential';
  layers: LayerSpec[];
  options: { inputShape: number[]; loss: LossKind; reg: number; init: InitKind; seed: number };
  params: Record<string, JsonTensor>;
  buffers: Record<string, JsonTensor>;
}

const OPTION_KEYS = ['inputShape', 'loss', 'reg', 'init', 'seed'];

/** The network's layers, names and settings, made from the specs with nothing allocated. */
interface Plan {
  layers: Layer[];
  placed: Placed[];
  params: (ParamDecl & { full: string })[];
  buffers: (BufferDecl & { full: string })[];
  options: SequentialJSON['options'];
  numClasses: number;
  /** Draws the dropout seeds of layers without one. */
  gen: Generator;
}

function checkOptions(fn: string, o: unknown): SequentialJSON['options'] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) fail(`${fn}: options must be an object { inputShape, loss, reg, init, seed }, got ${describe(o)}`);
  const r = o as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!OPTION_KEYS.includes(key)) fail(`${fn}: options has an unknown key ${JSON.stringify(key)}; the valid keys are ${OPTION_KEYS.join(', ')}`);
  const shape = r.inputShape;
  if (!Array.isArray(shape) || (shape.length !== 1 && shape.length !== 3) || !shape.every((d) => Number.isSafeInteger(d) && d >= 1 && d <= 2 ** 31 - 1)) {
    fail(`${fn}: inputShape must be one example's shape, [C, H, W] or [D] of positive integers, got ${Array.isArray(shape) ? JSON.stringify(shape) : show(shape)}`);
  }
  const loss = r.loss ?? 'softmax';
  if (loss !== 'softmax' && loss !== 'svm') fail(`${fn}: loss must be 'softmax' or 'svm', got ${show(loss)}`);
  const reg = nonNegative(fn, 'reg', r.reg ?? 0);
  const init = r.init ?? 'he';
  if (init !== 'he' && init !== 'xavier') {
    const ws = (init as { weightScale?: unknown })?.weightScale;
    if (init === null || typeof init !== 'object' || Array.isArray(init) || Object.keys(init).some((k) => k !== 'weightScale')
      || typeof ws !== 'number' || !(ws >= 0) || !Number.isFinite(ws)) {
      fail(`${fn}: init must be 'he', 'xavier' or { weightScale } with a non-negative finite weightScale, got ${show(init)}`);
    }
  }
  return { inputShape: shape.slice(), loss, reg, init: init as InitKind, seed: seedOf(fn, r.seed) };
}

function makePlan(fn: string, list: unknown, given: unknown): Plan {
  const options = checkOptions(fn, given);
  if (!Array.isArray(list) || list.length === 0) fail(`${fn}: layers must be a non-empty array of layers (layers.conv, layers.relu, …), got ${describe(list)}`);
  // Dropout seeds come from a generator of their own, so that the weights do not depend on them.
  const gen = new Generator(options.seed ^ 0x5bd1e995);
  const draw = (): number => Math.floor(gen.uniform() * 2 ** 32);
  const layers = buildList(list, options.inputShape, (i, kind) => `${fn}: layer ${i} (${kind})`, { draw }, `${fn}: layers`);
  const out = layers[layers.length - 1].outShape;
  if (out.length !== 1) fail(`${fn}: the last layer gives (${out.join(',')}) per example, not scores; end with affine(numClasses)`);
  if (out[0] < 2) fail(`${fn}: the last layer gives ${out[0]} score per example; a classifier needs 2 or more`);
  const placed = place(layers);
  const params = placed.flatMap(({ path, layer }) => layer.params.map((d) => ({ ...d, full: `${path}.${d.name}` })));
  const buffers = placed.flatMap(({ path, layer }) => layer.buffers.map((d) => ({ ...d, full: `${path}.${d.name}` })));
  return { layers, placed, params, buffers, options, numClasses: out[0], gen };
}

/** The standard deviation a weight of this declaration starts with. */
function initStd(init: InitKind, d: ParamDecl): number {
  if (init === 'he') return Math.sqrt(2 / d.fanIn);
  if (init === 'xavier') return Math.sqrt(2 / (d.fanIn + d.fanOut));
  return init.weightScale;
}

const blocksOf = new WeakMap<Sequential, Blocks>();
const nets = new WeakMap<Sequential, Net>();
/** The values fromJSON has checked, which the constructor it calls takes instead of drawing them. */
let loading: { params: Record<string, Tensor>; buffers: Record<string, Tensor> } | null = null;
const buffersOf = new WeakMap<Sequential, Map<string, { ptr: number; shape: readonly number[]; n: number }>>();

export class Sequential {
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly lossKind: LossKind;
  readonly init: InitKind;
  readonly seed: number;
  /** The L2 strength; may be changed between calls. */
  reg: number;
  private readonly plan: Plan;

  constructor(list: readonly LayerSpec[], options: SequentialOptions) {
    const fn = 'Sequential';
    const plan = makePlan(fn, list, options);
    const o = plan.options;
    this.plan = plan;
    this.inputShape = o.inputShape;
    this.numClasses = plan.numClasses;
    this.lossKind = o.loss;
    this.init = o.init;
    this.seed = o.seed;
    this.reg = o.reg;
    const blocks = new Blocks();
    blocksOf.set(this, blocks);
    const store = new ParamSet(fn, this, [blocks]);
    registerModel(this, {
      input: { shape: this.inputShape, flat: false, numClasses: this.numClasses },
      step: (x, labels) => store.guard('training step', () => this.trainStep(x, labels)),
      buffers: () => [...buffersOf.get(this)!].map(([name, b]) => ({ name, shape: b.shape, ptr: b.ptr })),
    });
    const gen = new Generator(o.seed);
    const given = loading;
    loading = null;
    for (const d of plan.params) {
      const std = d.init === 'weight' ? initStd(o.init, d) : 0;
      const fill = d.init === 'ones' ? 1 : 0;
      const values = given?.params[d.full].data;
      let i = 0;
      store.add(d.full, d.shape, values ? () => values[i++] : d.init === 'weight' ? () => std * gen.normal() : () => fill);
    }
    const bufs = new Map<string, { ptr: number; shape: readonly number[]; n: number }>();
    for (const d of plan.buffers) {
      const n = count(d.shape);
      const ptr = store.blocks.alloc(fn, n * F64);
      const values = given?.buffers[d.full].data;
      if (values) put(ptr, values);
      else f64(ptr, n).fill(d.fill);
      bufs.set(d.full, { ptr, shape: d.shape, n });
    }
    buffersOf.set(this, bufs);
    nets.set(this, new Net(fn, plan.layers, plan.numClasses, o.loss, store, (path, name) => `${path}.${name}`, (name) => bufs.get(name)!.ptr, blocks));
    registerNet(this, nets.get(this)!);
  }

  /** A table of each layer's output shape and parameter count, and the totals. */
  summary(): string {
    storeOf(this);
    const rows: [string, string, string, string][] = [['layer', 'kind', 'output', 'parameters']];
    const input = `(${this.inputShape.join(',')})`;
    rows.push(['input', '', input, '']);
    let total = 0;
    for (const { path, layer } of this.plan.placed) {
      const n = layer.params.reduce((s, d) => s + count(d.shape), 0);
      total += n;
      rows.push([path, layer.describe(), `(${layer.outShape.join(',')})`, n ? String(n) : '']);
    }
    const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
    const line = (r: string[]): string => r.map((c, j) => (j === 3 ? c.padStart(widths[j]) : c.padEnd(widths[j]))).join('  ').trimEnd();
    const bufs = this.plan.buffers.reduce((s, d) => s + count(d.shape), 0);
    return [line(rows[0]), ...rows.slice(1).map(line),
      `${total} parameters${bufs ? `, ${bufs} buffer values (running statistics)` : ''}; loss ${this.lossKind}, reg ${this.reg}`].join('\n');
  }

  /** Copies of every parameter, by name. */
  get params(): Record<string, Tensor> {
    return storeOf(this).copies();
  }

  /** Copies in any of the parameters; names and shapes are checked first. */
  setParams(params: Partial<Record<string, Tensor>>): void {
    storeOf(this).set('Sequential.setParams', params);
  }

  /** Copies of every buffer (batchnorm's running mean and variance), by name. */
  get buffers(): Record<string, Tensor> {
    storeOf(this);
    const out: Record<string, Tensor> = {};
    for (const [name, b] of buffersOf.get(this)!) out[name] = make(take(b.ptr, b.n), b.shape);
    return out;
  }

  /** Copies in any of the buffers; names and shapes are checked first. */
  setBuffers(buffers: Partial<Record<string, Tensor>>): void {
    const fn = 'Sequential.setBuffers';
    storeOf(this);
    const bufs = buffersOf.get(this)!;
    if (buffers === null || typeof buffers !== 'object' || Array.isArray(buffers)) fail(`${fn}: buffers must be an object of Tensors keyed by name, got ${describe(buffers)}`);
    const entries = Object.entries(buffers);
    for (const [name, t] of entries) {
      const b = bufs.get(name);
      if (!b) fail(`${fn}: the network has no buffer "${name}"; its buffers are ${[...bufs.keys()].join(', ') || 'none'}`);
      checkSameShape(fn, name, t, b.shape, `the shape of ${name}`);
    }
    for (const [name, t] of entries) put(bufs.get(name)!.ptr, (t as Tensor).data);
  }

  /** PyTorch's state dict of the equivalent module (see toPyTorch): its names and layouts, copies. */
  stateDict(): Record<string, Tensor> {
    storeOf(this);
    return stateDict(nets.get(this)!);
  }

  /** Loads a PyTorch state dict of the equivalent module; keys and shapes are checked first. */
  loadStateDict(sd: Record<string, Tensor>, options?: { stripPrefix?: string }): void {
    storeOf(this);
    loadStateDict('Sequential.loadStateDict', nets.get(this)!, sd, options);
  }

  /** Python source that assigns `model`, the equivalent torch.nn module (load stateDict() into it). */
  toPyTorch(): string {
    storeOf(this);
    return toPyTorch(nets.get(this)!, 'Sequential');
  }

  /** Gives back the WebAssembly memory the network holds (also done when it is collected); it cannot be used afterwards. */
  dispose(): void {
    disposeModel(this, [blocksOf.get(this)!]);
  }

  /** 0.5·reg·ΣW² over the weights; with grads, reg·W is added to their gradients. */
  private l2(grads: boolean): number {
    return storeOf(this).l2(this.plan.params.filter((d) => d.decay).map((d) => d.full), this.reg, grads);
  }

  /** One forward and backward in train mode: the loss comes out, the gradients stay in the gradient blocks. */
  private trainStep(x: Tensor, labels: Int32Array): number {
    return nets.get(this)!.trainStep(x, labels) + this.l2(true);
  }

  /** Scores (N, numClasses) in test mode (dropout off, batchnorm's running statistics). */
  loss(X: Tensor): Tensor;
  /** The loss (with the L2 term) in train mode, and the gradient of every parameter. */
  loss(X: Tensor, y: Labels): { loss: number; grads: Record<string, Tensor> };
  loss(X: Tensor, y?: Labels): Tensor | { loss: number; grads: Record<string, Tensor> } {
    const fn = 'Sequential.loss';
    const store = storeOf(this);
    const x = checkBatch(fn, X, this.inputShape, false, 'X', 'inputShape');
    if (y === undefined) return nets.get(this)!.scores(x);
    const labels = checkModelLabels(fn, y, x.shape[0], this.numClasses);
    const loss = store.guard('training step', () => this.trainStep(x, labels));
    return { loss, grads: store.gradCopies() };
  }

  /** Batches of X of at most batchSize rows, as Tensors over views of X's data. */
  private *batches(fn: string, X: Tensor, batchSize: unknown): IterableIterator<Tensor> {
    const bs = batchSize === undefined ? 256 : batchSize;
    if (typeof bs !== 'number' || !Number.isSafeInteger(bs) || bs < 1) fail(`${fn}: batchSize must be a positive integer, got ${show(bs)}`);
    const N = X.shape[0];
    const per = X.data.length / N;
    for (let i = 0; i < N; i += bs) {
      const n = Math.min(bs, N - i);
      yield make(X.data.subarray(i * per, (i + n) * per), [n, ...X.shape.slice(1)]);
    }
  }

  /** The class of each row of X (the argmax of its scores, in test mode), in batches of batchSize (256). */
  predict(X: Tensor, options?: { batchSize?: number }): Int32Array {
    const fn = 'Sequential.predict';
    storeOf(this);
    const x = checkBatch(fn, X, this.inputShape, false, 'X', 'inputShape');
    const o = checkPredictOptions(fn, options);
    const out = new Int32Array(x.shape[0]);
    let row = 0;
    const C = this.numClasses;
    for (const b of this.batches(fn, x, o.batchSize)) {
      const { r, scores } = nets.get(this)!.forward(b, false);
      const s = f64(scores, r.N * C);
      for (let n = 0; n < r.N; n++, row++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (s[n * C + c] > s[n * C + best]) best = c;
        out[row] = best;
      }
    }
    return out;
  }

  /** The test-mode loss (data loss averaged over X, plus the L2 term) and the accuracy, in batches of batchSize (256). */
  evaluate(X: Tensor, y: Labels, options?: { batchSize?: number }): { loss: number; accuracy: number } {
    const fn = 'Sequential.evaluate';
    storeOf(this);
    const x = checkBatch(fn, X, this.inputShape, false, 'X', 'inputShape');
    const labels = checkModelLabels(fn, y, x.shape[0], this.numClasses);
    const o = checkPredictOptions(fn, options);
    const C = this.numClasses;
    let sum = 0, right = 0, row = 0;
    for (const b of this.batches(fn, x, o.batchSize)) {
      const net = nets.get(this)!;
      const { r, scores } = net.forward(b, false);
      const s = f64(scores, r.N * C);
      let hits = 0;
      for (let n = 0; n < r.N; n++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (s[n * C + c] > s[n * C + best]) best = c;
        if (best === labels[row + n]) hits++;
      }
      right += hits;
      sum += net.dataLoss(r, scores, labels.subarray(row, row + r.N)) * r.N;
      row += r.N;
    }
    return { loss: sum / row + this.l2(false), accuracy: right / row };
  }

  /** A JSON-safe object that Sequential.fromJSON turns back into the same network, every float64 exact. */
  toJSON(): SequentialJSON {
    const store = storeOf(this);
    const buffers: Record<string, JsonTensor> = {};
    for (const [name, t] of Object.entries(this.buffers)) buffers[name] = encodeTensor(t);
    return {
      type: 'Sequential',
      ...provenance(),
      layers: this.plan.layers.map((l) => l.spec() as LayerSpec),
      options: { ...this.plan.options, inputShape: [...this.inputShape], reg: this.reg },
      params: store.toJSON(),
      buffers,
    };
  }

  /** The network toJSON() wrote; everything is checked before any memory is taken. */
  static fromJSON(json: unknown): Sequential {
    return decodeSequential('Sequential.fromJSON', 'json', json).build();
  }
}

/** Checks a Sequential's toJSON() (named `name`) and decodes it; nothing is allocated until build(). */
export function decodeSequential(fn: string, name: string, json: unknown): DecodedModel<Sequential> {
  if (typeof json === 'string') fail(`${fn}: ${name} must be the object toJSON() returns, got a string; JSON.parse it first`);
  const j = json as SequentialJSON;
  if (j === null || typeof j !== 'object' || Array.isArray(j) || j.type !== 'Sequential') fail(`${fn}: ${name} must be what Sequential.toJSON() returns (type "Sequential"), got ${describe(json)}`);
  checkProvenance(fn, name, j as unknown as Record<string, unknown>);
  const plan = makePlan(fn, j.layers, j.options);
  const shapes = plan.params.map((d) => [d.full, d.shape] as const);
  const bufferShapes = plan.buffers.map((d) => [d.full, d.shape] as const);
  const params = decodeAll(fn, `${name}.params`, j.params, shapes);
  const buffers = decodeAll(fn, `${name}.buffers`, j.buffers, bufferShapes);
  return {
    shapes, buffers: bufferShapes, input: { shape: plan.options.inputShape, flat: false, numClasses: plan.numClasses },
    build: () => {
      loading = { params, buffers };
      try {
        return new Sequential(j.layers, plan.options);
      } finally {
        loading = null;
      }
    },
  };
}

function checkPredictOptions(fn: string, options: unknown): { batchSize?: number } {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) fail(`${fn}: options must be an object { batchSize }, got ${describe(options)}`);
  for (const key of Object.keys(options)) if (key !== 'batchSize') fail(`${fn}: options has an unknown key ${JSON.stringify(key)}; the valid key is batchSize`);
  return options as { batchSize?: number };
}

/** Decodes a record of tensors that must hold exactly the given names and shapes. */
function decodeAll(fn: string, what: string, j: unknown, want: readonly (readonly [string, readonly number[]])[]): Record<string, Tensor> {
  if (j === null || typeof j !== 'object' || Array.isArray(j)) fail(`${fn}: ${what} must be an object of tensors keyed by name, got ${describe(j)}`);
  const given = j as Record<string, unknown>;
  const names = new Set(want.map(([n]) => n));
  for (const name of Object.keys(given)) if (!names.has(name)) fail(`${fn}: ${what} has "${name}", which the network does not have`);
  const out: Record<string, Tensor> = {};
  for (const [name, shape] of want) {
    if (!(name in given)) fail(`${fn}: ${what} lacks ${name} ${shapeString(shape)}`);
    out[name] = decodeTensor(fn, `${what}.${name}`, given[name], shape);
  }
  return out;
}
