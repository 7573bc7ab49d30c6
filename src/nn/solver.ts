/**
 * CS231n's Solver (solver.py): minibatch training with an update rule from optim, the
 * learning rate decayed at each epoch end, the accuracy on a sample of the training set and
 * on the validation set checked at the first iteration and at each epoch end, and the best
 * parameters by validation accuracy kept and put back into the model when training ends.
 * Minibatches are drawn with replacement by a seeded generator, as numpy.random.choice does.
 */
import { fail } from '../errors.js';
import { Tensor, checkTensor, make } from '../tensor.js';
import type { Labels } from '../params.js';
import { updateResident, updateSettings, stateKeys, UpdateSettings } from '../optim.js';
import { f64, put, take } from '../wasm.js';
import { Generator } from './random.js';
import { Blocks, storeOf, trainSteps } from './params.js';
import { takeOptions, positiveInt, positive, seedOf } from './options.js';
import { checkBatch, checkModelLabels } from './batch.js';
import { encodeArray, decodeArray, encodeTensor, decodeTensor, JsonTensor } from './serialize.js';
import { ThreeLayerConvNet, ThreeLayerConvNetJSON } from './three-layer-convnet.js';
import { FullyConnectedNet, FullyConnectedNetJSON } from './fc-net.js';

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

export type Model = ThreeLayerConvNet | FullyConnectedNet;

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

function checkData(fn: string, model: Model, data: unknown): { XTrain: Tensor; yTrain: Int32Array; XVal: Tensor; yVal: Int32Array } {
  if (data === null || typeof data !== 'object') fail(`${fn}: data must be an object {XTrain, yTrain, XVal, yVal}`);
  const d = takeOptions(fn, 'data', data, { XTrain: undefined as unknown, yTrain: undefined as unknown, XVal: undefined as unknown, yVal: undefined as unknown });
  const inputShape = model instanceof ThreeLayerConvNet ? model.inputDim : [model.inputDim];
  const take = (xName: string, yName: string): [Tensor, Int32Array] => {
    const X = checkBatch(fn, (d as Record<string, unknown>)[xName], inputShape, model instanceof FullyConnectedNet, xName);
    const y = checkModelLabels(fn, (d as Record<string, unknown>)[yName], X.shape[0], model.numClasses, yName);
    return [X, y];
  };
  const [XTrain, yTrain] = take('XTrain', 'yTrain');
  const [XVal, yVal] = take('XVal', 'yVal');
  return { XTrain, yTrain, XVal, yVal };
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

  constructor(model: Model, data: SolverData, options?: SolverOptions) {
    const fn = 'Solver';
    if (!(model instanceof ThreeLayerConvNet) && !(model instanceof FullyConnectedNet)) fail(`${fn}: model must be a ThreeLayerConvNet or a FullyConnectedNet`);
    const o = takeOptions(fn, 'options', options, DEFAULTS);
    if (!RULES.includes(o.updateRule)) fail(`${fn}: updateRule must be one of ${RULES.join(', ')}, got ${JSON.stringify(o.updateRule)}`);
    if (o.optimConfig === null || typeof o.optimConfig !== 'object') fail(`${fn}: optimConfig must be an object, got ${String(o.optimConfig)}`);
    for (const key of stateKeys(o.updateRule)) {
      if (key in o.optimConfig) fail(`${fn}: optimConfig holds the hyperparameters of ${o.updateRule}; its state (${key}) is kept per parameter and starts at zeros`);
    }
    const samples = (name: string, v: unknown): number | null => (v === null ? null : positiveInt(fn, name, v));
    this.s = {
      updateRule: o.updateRule, optimConfig: { ...o.optimConfig }, lrDecay: positive(fn, 'lrDecay', o.lrDecay),
      batchSize: positiveInt(fn, 'batchSize', o.batchSize), numEpochs: positiveInt(fn, 'numEpochs', o.numEpochs),
      numTrainSamples: samples('numTrainSamples', o.numTrainSamples), numValSamples: samples('numValSamples', o.numValSamples),
      printEvery: positiveInt(fn, 'printEvery', o.printEvery), verbose: Boolean(o.verbose), seed: seedOf(fn, o.seed),
    };
    if (o.log !== undefined && typeof o.log !== 'function') fail(`${fn}: log must be a function, got ${typeof o.log}`);
    this.log = o.log ?? ((line: string) => console.log(line));
    this.model = model;
    this.data = checkData(fn, model, data);
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
  }

  get numIterations(): number {
    return this.s.numEpochs * this.iterationsPerEpoch;
  }

  get iterationsPerEpoch(): number {
    return Math.max(Math.floor(this.data.XTrain.shape[0] / this.s.batchSize), 1);
  }

  /** One update: a minibatch drawn with replacement, its loss and gradients, and the rule applied to every parameter. */
  step(): number {
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
    for (const name of store.names) {
      const p = store.get(name);
      const slot = this.slots[name];
      if (!slot) fail('Solver.step: this solver was disposed');
      slot.settings = updateResident(slot.settings, { w: p.ptr, dw: p.grad, state: slot.state, n: p.n });
    }
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

  /** Runs the remaining iterations (all of them on a new solver); at the end the best parameters are left in the model. */
  train(hooks: TrainOptions = {}): void {
    const T = this.numIterations;
    const stop = hooks.iterations === undefined ? T : Math.min(T, this.iteration + positiveInt('Solver.train', 'iterations', hooks.iterations));
    while (this.iteration < stop) {
      const t = this.iteration;
      const loss = this.step();
      this.iteration++;
      if (this.s.verbose && t % this.s.printEvery === 0) this.log(`(Iteration ${t + 1} / ${T}) loss: ${loss.toFixed(6)}`);
      hooks.onIteration?.({ iteration: this.iteration, numIterations: T, epoch: this.epoch, loss });
      const epochEnd = this.iteration % this.iterationsPerEpoch === 0;
      if (epochEnd) {
        this.epoch++;
        for (const slot of Object.values(this.slots)) {
          slot.settings = { ...slot.settings, learningRate: slot.settings.learningRate * this.s.lrDecay };
        }
      }
      if (t === 0 || this.iteration === T || epochEnd) this.checkEpoch(hooks);
    }
    if (this.iteration === T && this.bestParams) this.model.setParams(this.bestParams);
  }

  private checkEpoch(hooks: TrainOptions): void {
    const d = this.data;
    const trainAcc = this.checkAccuracy(d.XTrain, d.yTrain, { numSamples: this.s.numTrainSamples });
    const valAcc = this.checkAccuracy(d.XVal, d.yVal, { numSamples: this.s.numValSamples });
    this.trainAccHistory.push(trainAcc);
    this.valAccHistory.push(valAcc);
    if (this.s.verbose) this.log(`(Epoch ${this.epoch} / ${this.s.numEpochs}) train acc: ${trainAcc.toFixed(6)}; val_acc: ${valAcc.toFixed(6)}`);
    hooks.onEpoch?.({ epoch: this.epoch, numEpochs: this.s.numEpochs, trainAcc, valAcc });
    if (valAcc > this.bestValAcc) {
      this.bestValAcc = valAcc;
      this.bestParams = this.model.params;
    }
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
      model: this.model.toJSON(),
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

  /** A solver that goes on from a checkpoint, with its model rebuilt from the checkpoint. */
  static fromCheckpoint(checkpoint: unknown, data: SolverData, options?: { log?: (line: string) => void }): Solver {
    const fn = 'Solver.fromCheckpoint';
    const c = checkpoint as SolverCheckpoint;
    if (c === null || typeof c !== 'object' || c.type !== 'SolverCheckpoint') fail(`${fn}: checkpoint must be what solver.checkpoint() returns (type "SolverCheckpoint")`);
    const model = c.model?.type === 'ThreeLayerConvNet' ? ThreeLayerConvNet.fromJSON(c.model) : FullyConnectedNet.fromJSON(c.model);
    const solver = new Solver(model, data, { ...c.options, ...takeOptions(fn, 'options', options, { log: undefined as ((line: string) => void) | undefined }) });
    solver.epoch = c.epoch;
    solver.iteration = c.iteration;
    const store = storeOf(model);
    const rule = solver.s.updateRule;
    if (c.optimConfigs === null || typeof c.optimConfigs !== 'object') fail(`${fn}: checkpoint.optimConfigs must be an object`);
    for (const name of store.names) {
      const j = c.optimConfigs[name];
      if (j === null || typeof j !== 'object') fail(`${fn}: checkpoint.optimConfigs lacks ${name}`);
      const keys = stateKeys(rule);
      const numbers = Object.fromEntries(Object.entries(j).filter(([k]) => !keys.includes(k)));
      const slot = solver.slots[name];
      slot.settings = updateSettings(fn, rule, numbers);
      keys.forEach((key, i) => {
        const t = decodeTensor(fn, `optimConfigs.${name}.${key}`, (j[key] as { tensor?: unknown } | undefined)?.tensor, store.get(name).shape);
        put(slot.state[i], t.data);
      });
    }
    solver.lossHistory.push(...decodeArray(fn, 'lossHistory', c.lossHistory));
    solver.trainAccHistory.push(...c.trainAccHistory);
    solver.valAccHistory.push(...c.valAccHistory);
    solver.bestValAcc = c.bestValAcc;
    solver.bestParams = c.bestParams && Object.fromEntries(Object.entries(c.bestParams).map(([k, t]) => [k, decodeTensor(fn, `bestParams.${k}`, t)]));
    solver.rng.state = c.generator;
    return solver;
  }
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
