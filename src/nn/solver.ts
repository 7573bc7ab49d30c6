/**
 * CS231n's Solver (solver.py): minibatch training with an update rule from optim, the
 * learning rate decayed at each epoch end, the accuracy on a sample of the training set and
 * on the validation set checked at the first iteration and at each epoch end, and the best
 * parameters by validation accuracy kept and put back into the model when training ends.
 * Minibatches are drawn with replacement by a seeded generator, as numpy.random.choice does.
 */
import { fail } from '../errors.js';
import { Tensor, checkTensor, make, describe, show, showList } from '../tensor.js';
import type { Labels } from '../params.js';
import { updateResident, updateSettings, stateKeys, UpdateSettings } from '../optim.js';
import { f64, put, take } from '../wasm.js';
import { Generator } from './random.js';
import { Blocks, storeOf, trainSteps, InputSpec, DecodedModel, ParamShapes, decodeParams } from './params.js';
import { takeOptions, positiveInt, positive, seedOf, boolean, plainObject, exactObject, intIn } from './options.js';
import { checkBatch, checkModelLabels } from './batch.js';
import { encodeArray, decodeArray, encodeTensor, decodeTensor, JsonTensor, loaderInput } from './serialize.js';
import { ThreeLayerConvNet, ThreeLayerConvNetJSON, decodeThreeLayerConvNet } from './three-layer-convnet.js';
import { FullyConnectedNet, FullyConnectedNetJSON, decodeFullyConnectedNet } from './fc-net.js';
import { Sequential } from './sequential.js';

export type UpdateRuleName = 'sgd' | 'sgdMomentum' | 'rmsprop' | 'adam';
type Config = Record<string, unknown>;
const RULES: readonly UpdateRuleName[] = ['sgd', 'sgdMomentum', 'rmsprop', 'adam'];
const F64 = 8;

/** One parameter's update: the rule's settings and its state blocks in WebAssembly memory. */
interface Slot {
  settings: UpdateSettings;
  state: number[];
}

const solverBlocks = new FinalizationRegistry<Blocks>((b) => b.free());

export type Model = ThreeLayerConvNet | FullyConnectedNet | Sequential;

export interface SolverData {
  XTrain: Tensor;
  yTrain: Labels;
  XVal: Tensor;
  yVal: Labels;
}

export interface SolverOptions {
  updateRule?: UpdateRuleName;
  /** Hyperparameters of the update rule (learningRate, …), copied for each parameter. */
  optimConfig?: Config;
  /** The learning rate is multiplied by this at each epoch end. */
  lrDecay?: number;
  batchSize?: number;
  numEpochs?: number;
  /** How many training samples the training accuracy is checked on (null: all). */
  numTrainSamples?: number | null;
  /** How many validation samples the validation accuracy is checked on (null: all). */
  numValSamples?: number | null;
  printEvery?: number;
  verbose?: boolean;
  /** Seeds the minibatches and the accuracy samples; omitted, one is drawn at random. */
  seed?: number;
  /** Where verbose lines go (console.log by default). */
  log?: (line: string) => void;
}

const DEFAULTS = {
  updateRule: 'sgd' as UpdateRuleName, optimConfig: {} as Config, lrDecay: 1, batchSize: 100, numEpochs: 10,
  numTrainSamples: 1000 as number | null, numValSamples: null as number | null, printEvery: 10, verbose: true,
  seed: undefined as number | undefined, log: undefined as ((line: string) => void) | undefined,
};

type EpochInfo = Parameters<NonNullable<TrainOptions['onEpoch']>>[0];

/** How far train() goes, and what it reports after each iteration and each accuracy check. */
export interface TrainOptions {
  /** Run at most this many more iterations (to pause; train() again goes on). */
  iterations?: number;
  onIteration?(info: { iteration: number; numIterations: number; epoch: number; loss: number }): void;
  onEpoch?(info: { epoch: number; numEpochs: number; trainAcc: number; valAcc: number }): void;
}

interface Settings {
  updateRule: UpdateRuleName; optimConfig: Config; lrDecay: number; batchSize: number; numEpochs: number;
  numTrainSamples: number | null; numValSamples: number | null; printEvery: number; verbose: boolean; seed: number;
}

/** Checks the options but log; `where` goes before each name in messages. Nothing is allocated. */
function checkSettings(fn: string, o: Record<string, unknown>, where = ''): Settings {
  const rule = o.updateRule as UpdateRuleName;
  if (!RULES.includes(rule)) fail(`${fn}: ${where}updateRule must be one of ${RULES.join(', ')}, got ${show(rule)}`);
  const config = plainObject(fn, `${where}optimConfig`, o.optimConfig);
  for (const key of stateKeys(rule)) {
    if (key in config) fail(`${fn}: ${where}optimConfig holds the hyperparameters of ${rule}; its state (${key}) is kept per parameter and starts at zeros`);
  }
  updateSettings(where ? `${fn}: ${where}optimConfig` : fn, rule, config);
  const samples = (name: string, v: unknown): number | null => (v === null ? null : positiveInt(fn, `${where}${name}`, v));
  const int = (name: 'batchSize' | 'numEpochs' | 'printEvery'): number => positiveInt(fn, `${where}${name}`, o[name]);
  return {
    updateRule: rule, optimConfig: { ...config }, lrDecay: positive(fn, `${where}lrDecay`, o.lrDecay), batchSize: int('batchSize'),
    numEpochs: int('numEpochs'), numTrainSamples: samples('numTrainSamples', o.numTrainSamples), numValSamples: samples('numValSamples', o.numValSamples),
    printEvery: int('printEvery'), verbose: boolean(fn, `${where}verbose`, o.verbose), seed: seedOf(fn, o.seed, `${where}seed`),
  };
}

function checkLog(fn: string, log: unknown): (line: string) => void {
  if (log !== undefined && typeof log !== 'function') fail(`${fn}: log must be a function, got ${show(log)}`);
  return (log as ((line: string) => void) | undefined) ?? ((line: string) => console.log(line));
}

function inputOf(model: Model): InputSpec {
  if (model instanceof Sequential) return { shape: model.inputShape, flat: false, numClasses: model.numClasses };
  const flat = model instanceof FullyConnectedNet;
  return { shape: flat ? [model.inputDim] : model.inputDim, flat, numClasses: model.numClasses };
}

function checkData(fn: string, input: InputSpec, data: unknown): { XTrain: Tensor; yTrain: Int32Array; XVal: Tensor; yVal: Int32Array } {
  if (data === null || typeof data !== 'object') fail(`${fn}: data must be an object {XTrain, yTrain, XVal, yVal}, got ${describe(data)}`);
  const d = takeOptions(fn, 'data', data, { XTrain: undefined as unknown, yTrain: undefined as unknown, XVal: undefined as unknown, yVal: undefined as unknown });
  const take = (xName: 'XTrain' | 'XVal', yName: 'yTrain' | 'yVal'): [Tensor, Int32Array] => {
    const X = checkBatch(fn, d[xName], input.shape, input.flat, xName);
    return [X, checkModelLabels(fn, d[yName], X.shape[0], input.numClasses, yName)];
  };
  const [XTrain, yTrain] = take('XTrain', 'yTrain');
  const [XVal, yVal] = take('XVal', 'yVal');
  return { XTrain, yTrain, XVal, yVal };
}

function iterationsPerEpoch(N: number, batchSize: number): number {
  return Math.max(Math.floor(N / batchSize), 1);
}

/** The rows of X at the given indices, as a Tensor over `into` (of the right length) or a fresh array. */
function rows(X: Tensor, idx: ArrayLike<number>, into?: Float64Array): Tensor {
  const row = X.data.length / X.shape[0];
  const out = into ?? new Float64Array(idx.length * row);
  for (let i = 0; i < idx.length; i++) out.set(X.data.subarray(idx[i] * row, (idx[i] + 1) * row), i * row);
  return make(out, [idx.length, ...X.shape.slice(1)]);
}

export class Solver {
  readonly model: Model;
  readonly lossHistory: number[] = [];
  readonly trainAccHistory: number[] = [];
  readonly valAccHistory: number[] = [];
  bestValAcc = 0;
  /** The epochs done. */
  epoch = 0;
  /** The iterations done. */
  iteration = 0;
  private readonly s: Settings;
  private readonly data: ReturnType<typeof checkData>;
  private readonly rng: Generator;
  private readonly log: (line: string) => void;
  private slots: Record<string, Slot> = {};
  private readonly blocks = new Blocks();
  private bestParams: Record<string, Tensor> | null = null;
  private batch: Float64Array | null = null;
  /** The hook of a running train() being called, or null. */
  private inHook: string | null = null;
  private disposed = false;

  constructor(model: Model, data: SolverData, options?: SolverOptions) {
    const fn = 'Solver';
    if (!(model instanceof ThreeLayerConvNet) && !(model instanceof FullyConnectedNet) && !(model instanceof Sequential)) fail(`${fn}: model must be a ThreeLayerConvNet or a FullyConnectedNet`);
    const o = takeOptions(fn, 'options', options, DEFAULTS);
    this.s = checkSettings(fn, o);
    this.log = checkLog(fn, o.log);
    this.model = model;
    this.data = checkData(fn, inputOf(model), data);
    this.rng = new Generator(this.s.seed);
    // Each parameter gets its own settings (checked here, once) and its state at zeros.
    const settings = updateSettings(fn, this.s.updateRule, this.s.optimConfig);
    const store = storeOf(model);
    for (const name of store.names) {
      const n = store.get(name).n;
      const state = stateKeys(this.s.updateRule).map(() => {
        const ptr = this.blocks.alloc(fn, n * F64);
        f64(ptr, n).fill(0);
        return ptr;
      });
      this.slots[name] = { settings: { ...settings }, state };
    }
    solverBlocks.register(this, this.blocks, this);
  }

  /** Gives back the WebAssembly memory of the optimizer state (also done when the solver is collected). */
  dispose(): void {
    this.blocks.free();
    solverBlocks.unregister(this);
    this.slots = {};
    this.disposed = true;
  }

  get numIterations(): number {
    return this.s.numEpochs * this.iterationsPerEpoch;
  }

  get iterationsPerEpoch(): number {
    return iterationsPerEpoch(this.data.XTrain.shape[0], this.s.batchSize);
  }

  /** One update: a minibatch drawn with replacement, its loss and gradients, and the rule applied to every parameter. */
  step(): number {
    this.checkCallable('Solver.step');
    const N = this.data.XTrain.shape[0];
    const idx = new Int32Array(this.s.batchSize);
    for (let i = 0; i < idx.length; i++) idx[i] = this.rng.below(N);
    // The batch is gathered into one array kept for the solver's life (the model copies it in).
    const per = this.data.XTrain.data.length / N;
    if (this.batch?.length !== idx.length * per) this.batch = new Float64Array(idx.length * per);
    const X = rows(this.data.XTrain, idx, this.batch);
    const y = idx.map((i) => this.data.yTrain[i]);
    const loss = trainSteps.get(this.model)!(X, y);
    this.lossHistory.push(loss);
    const store = storeOf(this.model);
    store.guard('update', () => {
      for (const name of store.names) {
        const p = store.get(name);
        const slot = this.slots[name];
        slot.settings = updateResident(slot.settings, { w: p.ptr, dw: p.grad, state: slot.state, n: p.n });
      }
    });
    return loss;
  }

  /** The fraction of X's rows whose highest score is their label; numSamples rows drawn with replacement when given. */
  checkAccuracy(X: Tensor, y: Labels, options?: { numSamples?: number | null; batchSize?: number }): number {
    const fn = 'Solver.checkAccuracy';
    const o = takeOptions(fn, 'options', options, { numSamples: null as number | null, batchSize: 100 });
    const Xt = checkTensor(fn, 'X', X);
    let labels = checkModelLabels(fn, y, Xt.shape[0], this.model.numClasses);
    const batch = positiveInt(fn, 'batchSize', o.batchSize);
    let N = Xt.shape[0];
    let idx: Int32Array | null = null;
    if (o.numSamples !== null && positiveInt(fn, 'numSamples', o.numSamples) < N) {
      idx = new Int32Array(o.numSamples);
      for (let i = 0; i < idx.length; i++) idx[i] = this.rng.below(N);
      labels = idx.map((i) => labels[i]);
      N = idx.length;
    }
    let right = 0;
    for (let start = 0; start < N; start += batch) {
      const ids = Array.from({ length: Math.min(batch, N - start) }, (_, k) => (idx ? idx[start + k] : start + k));
      const scores = this.model.loss(rows(Xt, ids));
      const C = scores.shape[1];
      for (let r = 0; r < ids.length; r++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (scores.data[r * C + c] > scores.data[r * C + best]) best = c;
        if (best === labels[start + r]) right++;
      }
    }
    return right / N;
  }

  /**
   * Runs the remaining iterations (all of them on a new solver), or `iterations` more; at the
   * end the best parameters are left in the model. Not from inside one of its own hooks.
   */
  train(options?: TrainOptions): void {
    const fn = 'Solver.train';
    this.checkCallable(fn);
    const o = takeOptions(fn, 'options', options, { iterations: undefined as unknown, onIteration: undefined as unknown, onEpoch: undefined as unknown });
    for (const hook of ['onIteration', 'onEpoch'] as const) {
      if (o[hook] !== undefined && typeof o[hook] !== 'function') fail(`${fn}: options.${hook} must be a function, got ${show(o[hook])}`);
    }
    const T = this.numIterations;
    const stop = o.iterations === undefined ? T : Math.min(T, this.iteration + positiveInt(fn, 'iterations', o.iterations));
    while (this.iteration < stop) this.iterate(options ?? {});
    if (this.iteration === T && this.bestParams) this.model.setParams(this.bestParams);
  }

  /**
   * One iteration of train(): the step, the epoch end (the learning rates decayed), the
   * accuracy check when one is due, and only then the hooks: a hook sees the iteration done,
   * and one that throws leaves a solver that train() goes on with.
   */
  private iterate(hooks: TrainOptions): void {
    const T = this.numIterations;
    const t = this.iteration;
    const epoch = this.epoch;
    const loss = this.step();
    this.iteration++;
    if (this.s.verbose && t % this.s.printEvery === 0) this.log(`(Iteration ${t + 1} / ${T}) loss: ${loss.toFixed(6)}`);
    const epochEnd = this.iteration % this.iterationsPerEpoch === 0;
    if (epochEnd) this.endEpoch();
    const check = t === 0 || this.iteration === T || epochEnd ? this.checkEpoch() : null;
    this.callHook(hooks, 'onIteration', { iteration: this.iteration, numIterations: T, epoch, loss });
    if (check) this.callHook(hooks, 'onEpoch', check);
  }

  private endEpoch(): void {
    this.epoch++;
    for (const slot of Object.values(this.slots)) {
      slot.settings = { ...slot.settings, learningRate: slot.settings.learningRate * this.s.lrDecay };
    }
  }

  /**
   * The accuracies on the training sample and the validation set, into the histories; the
   * parameters are kept as the best when none are yet or when the validation accuracy beats
   * the best so far (a tie keeps the earlier ones).
   */
  private checkEpoch(): EpochInfo {
    const d = this.data;
    const trainAcc = this.checkAccuracy(d.XTrain, d.yTrain, { numSamples: this.s.numTrainSamples });
    const valAcc = this.checkAccuracy(d.XVal, d.yVal, { numSamples: this.s.numValSamples });
    this.trainAccHistory.push(trainAcc);
    this.valAccHistory.push(valAcc);
    if (this.s.verbose) this.log(`(Epoch ${this.epoch} / ${this.s.numEpochs}) train acc: ${trainAcc.toFixed(6)}; val_acc: ${valAcc.toFixed(6)}`);
    if (this.bestParams === null || valAcc > this.bestValAcc) {
      this.bestValAcc = valAcc;
      this.bestParams = this.model.params;
    }
    return { epoch: this.epoch, numEpochs: this.s.numEpochs, trainAcc, valAcc };
  }

  /** Calls one of train()'s hooks (as a method of the object given), with train() and step() refused meanwhile. */
  private callHook<K extends 'onIteration' | 'onEpoch'>(hooks: TrainOptions, name: K, info: Parameters<NonNullable<TrainOptions[K]>>[0]): void {
    const hook = hooks[name] as ((info: unknown) => void) | undefined;
    if (hook === undefined) return;
    this.inHook = name;
    try {
      hook.call(hooks, info);
    } finally {
      this.inHook = null;
    }
  }

  /** Refuses train() and step() from inside a hook of a train() in progress, and on a disposed solver. */
  private checkCallable(fn: string): void {
    if (this.inHook !== null) {
      fail(`${fn}: called from inside ${this.inHook} of a train() in progress; train() and step() cannot run inside a hook (they would interleave with that train()'s iterations and epoch ends), call them after train() returns`);
    }
    if (this.disposed) fail(`${fn}: this solver was disposed`);
  }

  /**
   * Everything training needs to go on where it stopped, JSON-safe: the model, the options,
   * each parameter's optimizer state, the epoch and iteration, the histories, the best
   * parameters and the generator's state. Solver.fromCheckpoint(checkpoint, data) resumes.
   */
  checkpoint(): SolverCheckpoint {
    const store = storeOf(this.model);
    const encodeConfig = (name: string, slot: Slot): Record<string, unknown> => {
      const { rule: _, ...numbers } = slot.settings;
      const p = store.get(name);
      const state = stateKeys(this.s.updateRule).map((key, i) => [key, { tensor: encodeTensor(make(take(slot.state[i], p.n), p.shape)) }]);
      return { ...numbers, ...Object.fromEntries(state) };
    };
    return {
      type: 'SolverCheckpoint',
      model: this.model.toJSON() as SolverCheckpoint['model'],
      options: { ...this.s },
      epoch: this.epoch,
      iteration: this.iteration,
      optimConfigs: Object.fromEntries(Object.entries(this.slots).map(([k, slot]) => [k, encodeConfig(k, slot)])),
      lossHistory: encodeArray(this.lossHistory),
      trainAccHistory: this.trainAccHistory.slice(),
      valAccHistory: this.valAccHistory.slice(),
      bestValAcc: this.bestValAcc,
      bestParams: this.bestParams && Object.fromEntries(Object.entries(this.bestParams).map(([k, t]) => [k, encodeTensor(t)])),
      generator: this.rng.state,
    };
  }

  /**
   * A solver that goes on from a checkpoint, with its model rebuilt from the checkpoint.
   * Every field is checked, against the model and the data, before anything is allocated.
   */
  static fromCheckpoint(checkpoint: unknown, data: SolverData, options?: { log?: (line: string) => void }): Solver {
    const fn = 'Solver.fromCheckpoint';
    const c = loaderInput(fn, 'checkpoint', checkpoint, 'SolverCheckpoint', WRITER, CHECKPOINT_KEYS);
    const log = checkLog(fn, takeOptions(fn, 'options', options, { log: undefined as unknown }).log);
    const decoded = decodeModel(fn, 'checkpoint.model', c.model);
    const s = checkSettings(fn, exactObject(fn, 'checkpoint.options', c.options, Object.keys(DEFAULTS).filter((k) => k !== 'log'), WRITER), 'checkpoint.options.');
    const d = checkData(fn, decoded.input, data);
    const state = decodeState(fn, c, s, decoded.shapes, iterationsPerEpoch(d.XTrain.shape[0], s.batchSize));
    const model = decoded.build();
    try {
      return new Solver(model, data, { ...s, log }).resume(state);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  /** Takes up the training state a checkpoint held (checked by decodeState). */
  private resume(r: Resumed): this {
    this.epoch = r.epoch;
    this.iteration = r.iteration;
    storeOf(this.model).names.forEach((name, i) => {
      const slot = this.slots[name];
      slot.settings = r.slots[i].settings;
      r.slots[i].state.forEach((values, k) => put(slot.state[k], values));
    });
    for (const v of r.lossHistory) this.lossHistory.push(v);
    for (const v of r.trainAccHistory) this.trainAccHistory.push(v);
    for (const v of r.valAccHistory) this.valAccHistory.push(v);
    this.bestValAcc = r.bestValAcc;
    this.bestParams = r.bestParams;
    this.rng.state = r.generator;
    return this;
  }
}

const WRITER = 'solver.checkpoint()';
const CHECKPOINT_KEYS = ['model', 'options', 'epoch', 'iteration', 'optimConfigs', 'lossHistory', 'trainAccHistory', 'valAccHistory', 'bestValAcc', 'bestParams', 'generator'];

/** A checkpoint's training state, checked and decoded. */
interface Resumed {
  epoch: number;
  iteration: number;
  /** Each parameter's update settings and state values, in the model's order. */
  slots: { settings: UpdateSettings; state: Float64Array[] }[];
  lossHistory: Float64Array;
  trainAccHistory: number[];
  valAccHistory: number[];
  bestValAcc: number;
  bestParams: Record<string, Tensor> | null;
  generator: Generator['state'];
}

function decodeModel(fn: string, name: string, j: unknown): DecodedModel<Model> {
  const type = j !== null && typeof j === 'object' ? (j as { type?: unknown }).type : undefined;
  if (type === 'ThreeLayerConvNet') return decodeThreeLayerConvNet(fn, name, j);
  if (type === 'FullyConnectedNet') return decodeFullyConnectedNet(fn, name, j);
  const got = j !== null && typeof j === 'object' && !Array.isArray(j) ? `type ${show(type)}` : describe(j);
  fail(`${fn}: ${name} must be what a model's toJSON() returns (type "ThreeLayerConvNet" or "FullyConnectedNet"), got ${got}`);
}

/** Checks a checkpoint's training state against the settings, the model's parameters and the iterations per epoch. */
function decodeState(fn: string, c: Record<string, unknown>, s: Settings, shapes: ParamShapes, perEpoch: number): Resumed {
  const iteration = intIn(fn, 'checkpoint.iteration', c.iteration, 0, s.numEpochs * perEpoch, ` (numEpochs ${s.numEpochs} × ${perEpoch} iterations per epoch)`);
  const epoch = Math.floor(iteration / perEpoch);
  if (c.epoch !== epoch) fail(`${fn}: checkpoint.epoch must be ${epoch} (⌊iteration ${iteration} / ${perEpoch} iterations per epoch⌋), got ${show(c.epoch)}`);
  const trainAccHistory = accuracies(fn, 'checkpoint.trainAccHistory', c.trainAccHistory);
  const valAccHistory = accuracies(fn, 'checkpoint.valAccHistory', c.valAccHistory);
  if (valAccHistory.length !== trainAccHistory.length) {
    fail(`${fn}: checkpoint.valAccHistory has ${valAccHistory.length} entries but trainAccHistory has ${trainAccHistory.length}; each accuracy check adds one to both`);
  }
  return {
    epoch, iteration, slots: decodeSlots(fn, 'checkpoint.optimConfigs', c.optimConfigs, s.updateRule, shapes),
    lossHistory: decodeArray(fn, 'checkpoint.lossHistory', c.lossHistory), trainAccHistory, valAccHistory,
    bestValAcc: accuracy(fn, 'checkpoint.bestValAcc', c.bestValAcc), bestParams: decodeBest(fn, 'checkpoint.bestParams', c.bestParams, shapes),
    generator: decodeGenerator(fn, 'checkpoint.generator', c.generator),
  };
}

/** The best parameters: null (none kept yet) or every one of the model's, with its shape. */
function decodeBest(fn: string, name: string, v: unknown, shapes: ParamShapes): Record<string, Tensor> | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) fail(`${fn}: ${name} must be null or an object of the model's parameters, got ${describe(v)}`);
  const values = decodeParams(fn, name, v, shapes, 'the model');
  return Object.fromEntries(shapes.map(([n, shape], i) => [n, make(values[i], shape)]));
}

/** Each parameter's update settings (every hyperparameter of the rule) and state, as checkpoint() writes them. */
function decodeSlots(fn: string, name: string, j: unknown, rule: UpdateRuleName, shapes: ParamShapes): Resumed['slots'] {
  const configs = exactObject(fn, name, j, shapes.map(([n]) => n), WRITER);
  const numbers = Object.keys(updateSettings(fn, rule, {})).filter((k) => k !== 'rule');
  const keys = stateKeys(rule);
  return shapes.map(([p, shape]) => {
    const at = `${name}.${p}`;
    const config = exactObject(fn, at, configs[p], [...numbers, ...keys], WRITER);
    const settings = updateSettings(`${fn}: ${at}`, rule, Object.fromEntries(numbers.map((k) => [k, config[k]])));
    const state = keys.map((key) => decodeTensor(fn, `${at}.${key}`, exactObject(fn, `${at}.${key}`, config[key], ['tensor'], WRITER).tensor, shape).data);
    return { settings, state };
  });
}

function accuracy(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(`${fn}: ${name} must be an accuracy in [0, 1], got ${show(v)}`);
  return v;
}

function accuracies(fn: string, name: string, v: unknown): number[] {
  if (!Array.isArray(v)) fail(`${fn}: ${name} must be an array of accuracies in [0, 1], got ${show(v)}`);
  return v.map((a, i) => accuracy(fn, `${name}[${i}]`, a));
}

function decodeGenerator(fn: string, name: string, v: unknown): Generator['state'] {
  const g = exactObject(fn, name, v, ['words', 'spare'], WRITER);
  const w = g.words;
  const ok = Array.isArray(w) && w.length === 4 && w.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32);
  if (!ok) fail(`${fn}: ${name}.words must be 4 unsigned 32-bit integers, got ${Array.isArray(w) && w.length === 4 ? showList(w) : describe(w)}`);
  const spare = g.spare;
  if (spare !== null && !(typeof spare === 'number' && Number.isFinite(spare))) fail(`${fn}: ${name}.spare must be a finite number or null, got ${show(spare)}`);
  return { words: w as Generator['state']['words'], spare: spare as number | null };
}

export interface SolverCheckpoint {
  type: 'SolverCheckpoint';
  model: ThreeLayerConvNetJSON | FullyConnectedNetJSON;
  options: Omit<Settings, 'log'>;
  epoch: number;
  iteration: number;
  optimConfigs: Record<string, Record<string, unknown>>;
  lossHistory: ReturnType<typeof encodeArray>;
  trainAccHistory: number[];
  valAccHistory: number[];
  bestValAcc: number;
  bestParams: Record<string, JsonTensor> | null;
  generator: Generator['state'];
}
