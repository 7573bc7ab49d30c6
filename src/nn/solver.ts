/**
 * CS231n's Solver (solver.py): minibatch training with an update rule from optim, the
 * learning rate decayed at each epoch end, the accuracy on a sample of the training set and
 * on the validation set checked at the first iteration and at each epoch end, and the best
 * parameters by validation accuracy kept and put back into the model when training ends.
 * Minibatches are drawn with replacement by a seeded generator, as numpy.random.choice does.
 *
 * A model convcore made (ResidentModel, src/nn/params.ts) is stepped in place: its
 * parameters, gradients and buffers stay resident. Any other object with CS231n's model
 * interface (PlainModel, src/nn/plain-model.ts) is stepped through copies into resident
 * blocks the solver owns, with the same in-place update rules.
 */
import { fail } from '../errors.js';
import { Tensor, checkTensor, make, describe, show, showList, shapeString } from '../tensor.js';
import type { Labels } from '../params.js';
import { updateResident, updateSettings, stateKeys, UpdateSettings } from '../optim.js';
import { f64, put, take } from '../wasm.js';
import { Generator } from './random.js';
import { Blocks, residentOf, ResidentModel, ModelState, InputSpec, DecodedModel, ParamShapes, decodeParams } from './params.js';
import { PlainModel, PlainTrainee, ParamBlock, checkPlainModel } from './plain-model.js';
import { takeOptions, positiveInt, positive, nonNegative, seedOf, boolean, plainObject, exactObject, intIn } from './options.js';
import { checkBatch, checkModelLabels } from './batch.js';
import { encodeArray, decodeArray, encodeTensor, decodeTensor, JsonTensor, loaderInput, provenance, Provenance } from './serialize.js';
import { ThreeLayerConvNet, ThreeLayerConvNetJSON, decodeThreeLayerConvNet } from './three-layer-convnet.js';
import { Sequential, SequentialJSON, decodeSequential } from './sequential.js';
import { FullyConnectedNet, FullyConnectedNetJSON, decodeFullyConnectedNet } from './fc-net.js';

export type UpdateRuleName = 'sgd' | 'sgdMomentum' | 'rmsprop' | 'adam' | 'adamw';
type Config = Record<string, unknown>;
const RULES: readonly UpdateRuleName[] = ['sgd', 'sgdMomentum', 'rmsprop', 'adam', 'adamw'];

/**
 * A learning-rate schedule (docs/api.md, "Learning-rate schedules"): the rate of each
 * iteration from the epoch e = (iteration − 1) / iterationsPerEpoch of the iteration about
 * to run. `step`: lr·gamma^⌊e / stepSize⌋. `cosine`: a linear warmup over
 * ⌈warmupEpochs·iterationsPerEpoch⌉ steps, then a half cosine from lr down towards minLr at
 * numEpochs. A function: lr·f(e).
 */
export type LrSchedule =
  | { type: 'step'; stepSize: number; gamma?: number }
  | { type: 'cosine'; warmupEpochs?: number; minLr?: number }
  | ((epoch: number) => number);

/** A schedule checked, with its defaults filled in. */
type Schedule =
  | { type: 'step'; stepSize: number; gamma: number }
  | { type: 'cosine'; warmupEpochs: number; minLr: number }
  | ((epoch: number) => number);
const F64 = 8;

/** One parameter's update: the rule's settings and its state blocks in WebAssembly memory. */
interface Slot {
  settings: UpdateSettings;
  state: number[];
}

const solverBlocks = new FinalizationRegistry<Blocks>((b) => b.free());

/** A model convcore made: the solver steps its resident parameters in place. */
export type Model = ThreeLayerConvNet | FullyConnectedNet | Sequential;
export type { PlainModel };

/** What the solver trains: a convcore model, or a plain model through PlainTrainee. */
interface Trainee {
  /** The parameters' names and shapes, in the model's order. */
  readonly shapes: ParamShapes;
  /** What the data must look like; null for a plain model, whose loss checks its own input. */
  readonly input: InputSpec | null;
  /** The loss on a checked batch, after which every parameter is stepped by `update` on resident blocks. */
  step(fn: string, X: Tensor, y: Int32Array, update: (blocks: readonly ParamBlock[]) => void): number;
  /** The scores (rows of X, C). */
  scores(fn: string, X: Tensor): Tensor;
  snapshot(fn: string): ModelState;
  restore(fn: string, state: ModelState): void;
}

/** A convcore model's Trainee: its own training step, and the update rules on its parameter and gradient blocks. */
function residentTrainee(r: ResidentModel, model: Model): Trainee {
  const store = r.store();
  return {
    shapes: store.names.map((name) => [name, store.get(name).shape]),
    input: r.input,
    step: (_fn, X, y, update) => {
      const loss = r.step(X, y);
      const s = r.store();
      s.guard('update', () => {
        update(s.names.map((name) => {
          const p = s.get(name);
          return { name, w: p.ptr, dw: p.grad, n: p.n };
        }));
      });
      return loss;
    },
    scores: (_fn, X) => model.loss(X),
    snapshot: () => r.snapshot(),
    restore: (_fn, state) => r.restore(state),
  };
}

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
  /** The learning rate of each iteration from a schedule (lrDecay must then be 1). */
  lrSchedule?: LrSchedule | null;
  /** The gradients' global L2 norm over every parameter is clipped to this before each update. */
  clipNorm?: number | null;
  /** Stop after this many epoch-end checks without a better validation accuracy. */
  patience?: number | null;
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
  updateRule: 'sgd' as UpdateRuleName, optimConfig: {} as Config, lrDecay: 1,
  lrSchedule: null as unknown, clipNorm: null as number | null, patience: null as number | null, batchSize: 100, numEpochs: 10,
  numTrainSamples: 1000 as number | null, numValSamples: null as number | null, printEvery: 10, verbose: true,
  seed: undefined as number | undefined, log: undefined as ((line: string) => void) | undefined,
};

type EpochInfo = Parameters<NonNullable<TrainOptions['onEpoch']>>[0];

/** How far train() goes, and what it reports after each iteration and each accuracy check. */
export interface TrainOptions {
  /** Run at most this many more iterations (to pause; train() again goes on). */
  iterations?: number;
  /** After each iteration: its loss and the learning rate it used. */
  onIteration?(info: { iteration: number; numIterations: number; epoch: number; loss: number; learningRate: number }): void;
  /** After each accuracy check: what a progress display needs. */
  onEpoch?(info: EpochReport): void;
}

/** What onEpoch receives after each accuracy check. */
export interface EpochReport {
  /** The epochs done. */
  epoch: number;
  numEpochs: number;
  /** The iterations done. */
  iteration: number;
  numIterations: number;
  /** The loss of the last iteration, and the mean loss of the iterations since the previous check. */
  loss: number;
  meanLoss: number;
  trainAcc: number;
  valAcc: number;
  bestValAcc: number;
  /** The learning rate the last iteration used. */
  learningRate: number;
  /** Training images per second since the previous check (steps only; the checks not counted). */
  imagesPerSecond: number;
  /** Whether this check ended training early (patience). */
  stoppedEarly: boolean;
}

interface Settings {
  updateRule: UpdateRuleName; optimConfig: Config; lrDecay: number; lrSchedule: Schedule | null; clipNorm: number | null; patience: number | null;
  batchSize: number; numEpochs: number;
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
  const lrDecay = positive(fn, `${where}lrDecay`, o.lrDecay);
  const numEpochs = int('numEpochs');
  const lrSchedule = checkSchedule(fn, `${where}lrSchedule`, o.lrSchedule, numEpochs);
  if (lrSchedule !== null && lrDecay !== 1) fail(`${fn}: ${where}lrDecay and ${where}lrSchedule are two schedules; give one (lrDecay 1 with lrSchedule), got lrDecay ${lrDecay} and an lrSchedule`);
  return {
    updateRule: rule, optimConfig: { ...config }, lrDecay, lrSchedule,
    clipNorm: o.clipNorm === null ? null : positive(fn, `${where}clipNorm`, o.clipNorm),
    patience: o.patience === null ? null : positiveInt(fn, `${where}patience`, o.patience),
    batchSize: int('batchSize'),
    numEpochs, numTrainSamples: samples('numTrainSamples', o.numTrainSamples), numValSamples: samples('numValSamples', o.numValSamples),
    printEvery: int('printEvery'), verbose: boolean(fn, `${where}verbose`, o.verbose), seed: seedOf(fn, o.seed, `${where}seed`),
  };
}

/**
 * A schedule: null, a function of the epoch, or { type: 'step', stepSize, gamma (0.1) } or
 * { type: 'cosine', warmupEpochs (0), minLr (0) }, warmupEpochs below numEpochs.
 */
function checkSchedule(fn: string, name: string, v: unknown, numEpochs: number): Schedule | null {
  if (v === null || typeof v === 'function') return v as Schedule | null;
  const type = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as { type?: unknown }).type : undefined;
  if (type === 'step') {
    const o = takeOptions(fn, name, v, { type, stepSize: undefined as unknown, gamma: 0.1 as unknown });
    return { type, stepSize: positive(fn, `${name}.stepSize`, o.stepSize), gamma: positive(fn, `${name}.gamma`, o.gamma) };
  }
  if (type === 'cosine') {
    const o = takeOptions(fn, name, v, { type, warmupEpochs: 0 as unknown, minLr: 0 as unknown });
    const warmupEpochs = nonNegative(fn, `${name}.warmupEpochs`, o.warmupEpochs);
    if (warmupEpochs >= numEpochs) fail(`${fn}: ${name}.warmupEpochs must be below numEpochs (${numEpochs}), got ${warmupEpochs}`);
    return { type, warmupEpochs, minLr: nonNegative(fn, `${name}.minLr`, o.minLr) };
  }
  fail(`${fn}: ${name} must be null, a function of the epoch giving the learning rate's multiplier, { type: 'step', stepSize, gamma } or { type: 'cosine', warmupEpochs, minLr }, got ${type === undefined ? describe(v) : `type ${show(type)}`}`);
}

/**
 * The learning rate of iteration i (1 for the first), from the base rate lr0: docs/api.md,
 * "Learning-rate schedules", gives the formulas.
 */
export function scheduledRate(fn: string, schedule: Schedule, lr0: number, i: number, perEpoch: number, numEpochs: number): number {
  const s = i - 1;
  let lr: number;
  if (typeof schedule === 'function') {
    const e = s / perEpoch;
    const m = schedule(e) as unknown;
    if (typeof m !== 'number' || !(m >= 0) || !Number.isFinite(m)) fail(`${fn}: lrSchedule(${e}) must return a non-negative finite multiplier of the learning rate, got ${show(m)}`);
    lr = lr0 * m;
  } else if (schedule.type === 'step') {
    lr = lr0 * schedule.gamma ** Math.floor(s / (schedule.stepSize * perEpoch));
  } else {
    const W = Math.ceil(schedule.warmupEpochs * perEpoch);
    const T = numEpochs * perEpoch;
    if (s < W) lr = lr0 * ((s + 1) / W);
    else lr = schedule.minLr + (lr0 - schedule.minLr) * (1 + Math.cos(Math.PI * ((s - W) / (T - W)))) / 2;
  }
  if (!Number.isFinite(lr)) fail(`${fn}: lrSchedule gives the learning rate ${lr} at iteration ${i}; it must be finite`);
  return lr;
}

/**
 * torch.nn.utils.clip_grad_norm_: the L2 norm of every gradient together; when
 * clipNorm / (norm + 1e-6) < 1, every gradient is multiplied by it, in place.
 */
function clipGradients(blocks: readonly ParamBlock[], clipNorm: number): void {
  let sum = 0;
  for (const b of blocks) {
    const g = f64(b.dw, b.n);
    for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  }
  const coef = clipNorm / (Math.sqrt(sum) + 1e-6);
  if (!(coef < 1)) return;
  for (const b of blocks) {
    const g = f64(b.dw, b.n);
    for (let i = 0; i < g.length; i++) g[i] *= coef;
  }
}

function checkLog(fn: string, log: unknown): (line: string) => void {
  if (log !== undefined && typeof log !== 'function') fail(`${fn}: log must be a function, got ${show(log)}`);
  return (log as ((line: string) => void) | undefined) ?? ((line: string) => console.log(line));
}

/** The labels a plain model may be given: any Int32 that is not negative (its scores give the class count). */
const ANY_CLASS = 2 ** 31;

/**
 * Checks the data against the model's input, or for a plain model (input null): XTrain with
 * a row per sample, XVal with rows shaped like XTrain's, labels non-negative integers.
 */
function checkData(fn: string, input: InputSpec | null, data: unknown): { XTrain: Tensor; yTrain: Int32Array; XVal: Tensor; yVal: Int32Array } {
  if (data === null || typeof data !== 'object') fail(`${fn}: data must be an object {XTrain, yTrain, XVal, yVal}, got ${describe(data)}`);
  const d = takeOptions(fn, 'data', data, { XTrain: undefined as unknown, yTrain: undefined as unknown, XVal: undefined as unknown, yVal: undefined as unknown });
  const rowsOf = (xName: 'XTrain' | 'XVal'): Tensor => {
    if (input) return checkBatch(fn, d[xName], input.shape, input.flat, xName);
    const X = checkTensor(fn, xName, d[xName]);
    if (X.shape.length === 0) fail(`${fn}: ${xName} must have a row per sample (shape (N, …)), got shape ()`);
    const like = xName === 'XVal' ? (d.XTrain as Tensor).shape : null;
    if (like && shapeString(X.shape.slice(1)) !== shapeString(like.slice(1))) {
      fail(`${fn}: XVal must have rows shaped like XTrain's, (N,${like.slice(1).join(',')}), got ${shapeString(X.shape)}`);
    }
    return X;
  };
  const take = (xName: 'XTrain' | 'XVal', yName: 'yTrain' | 'yVal'): [Tensor, Int32Array] => {
    const X = rowsOf(xName);
    return [X, checkModelLabels(fn, d[yName], X.shape[0], input ? input.numClasses : ANY_CLASS, yName)];
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

/**
 * Trains a convcore model (Model) or any object with CS231n's model interface (PlainModel);
 * M is the model's type.
 */
export class Solver<M extends Model | PlainModel = Model> {
  readonly model: M;
  readonly lossHistory: number[] = [];
  readonly trainAccHistory: number[] = [];
  readonly valAccHistory: number[] = [];
  bestValAcc = 0;
  /** The epochs done. */
  epoch = 0;
  /** The iterations done. */
  iteration = 0;
  /** Whether training stopped early: `patience` epoch-end checks went by without a better validation accuracy. */
  stoppedEarly = false;
  /** The epoch-end checks since the validation accuracy last improved (counted for patience). */
  private checksSinceBest = 0;
  /** The learning rate before any schedule or decay (optimConfig's, or the rule's default). */
  private readonly baseLr: number;
  /** The learning rate the last step used (the first parameter's). */
  private lastLr = NaN;
  /** Where the progress since the last accuracy check is counted from. */
  private since = { iteration: 0, time: 0, steps: 0, lossSum: 0 };
  private readonly s: Settings;
  private readonly data: ReturnType<typeof checkData>;
  private readonly rng: Generator;
  private readonly log: (line: string) => void;
  private slots: Record<string, Slot> = {};
  private readonly blocks = new Blocks();
  private readonly trainee: Trainee;
  /** Whether the model is a plain one (stepped through copies), not convcore's. */
  private readonly plain: boolean;
  /** The parameters and buffers at the best accuracy check so far. */
  private best: ModelState | null = null;
  private batch: Float64Array | null = null;
  /** The hook of a running train() being called, or null. */
  private inHook: string | null = null;
  private disposed = false;

  constructor(model: M, data: SolverData, options?: SolverOptions) {
    const fn = 'Solver';
    const resident = residentOf(model);
    // A convcore model says here when it was disposed; any other object is checked for CS231n's interface.
    const shapes = resident ? null : checkPlainModel(fn, model);
    if (resident) resident.store();
    const o = takeOptions(fn, 'options', options, DEFAULTS);
    this.s = checkSettings(fn, o);
    this.log = checkLog(fn, o.log);
    this.model = model;
    this.plain = resident === undefined;
    this.data = checkData(fn, resident ? resident.input : null, data);
    this.rng = new Generator(this.s.seed);
    // Each parameter gets its own settings (checked here, once) and its state at zeros.
    const settings = updateSettings(fn, this.s.updateRule, this.s.optimConfig);
    this.baseLr = settings.learningRate;
    try {
      this.trainee = resident ? residentTrainee(resident, model as Model) : new PlainTrainee(model as PlainModel, shapes!, this.blocks, fn);
      for (const [name, shape] of this.trainee.shapes) {
        const n = shape.reduce((p, d) => p * d, 1);
        const state = stateKeys(this.s.updateRule).map(() => {
          const ptr = this.blocks.alloc(fn, n * F64);
          f64(ptr, n).fill(0);
          return ptr;
        });
        this.slots[name] = { settings: { ...settings }, state };
      }
    } catch (e) {
      this.blocks.free();
      throw e;
    }
    solverBlocks.register(this, this.blocks, this);
  }

  /** Gives back the WebAssembly memory of the optimizer state and of a plain model's blocks (also done when the solver is collected). */
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
    // A convcore model's batch is gathered into one array kept for the solver's life (the
    // model copies it in); a plain model gets a fresh one, which it may keep.
    const per = this.data.XTrain.data.length / N;
    if (!this.plain && this.batch?.length !== idx.length * per) this.batch = new Float64Array(idx.length * per);
    const X = rows(this.data.XTrain, idx, this.plain ? undefined : this.batch!);
    const y = idx.map((i) => this.data.yTrain[i]);
    const clip = this.s.clipNorm;
    const loss = this.trainee.step('Solver.step', X, y, (blocks) => {
      if (clip !== null) clipGradients(blocks, clip);
      for (const { name, w, dw, n } of blocks) {
        const slot = this.slots[name];
        this.lastLr = slot.settings.learningRate;
        slot.settings = updateResident(slot.settings, { w, dw, state: slot.state, n });
      }
    });
    this.lossHistory.push(loss);
    return loss;
  }

  /** The fraction of X's rows whose highest score is their label; numSamples rows drawn with replacement when given. */
  checkAccuracy(X: Tensor, y: Labels, options?: { numSamples?: number | null; batchSize?: number }): number {
    const fn = 'Solver.checkAccuracy';
    const o = takeOptions(fn, 'options', options, { numSamples: null as number | null, batchSize: 100 });
    const Xt = checkTensor(fn, 'X', X);
    let labels = checkModelLabels(fn, y, Xt.shape[0], this.trainee.input?.numClasses ?? ANY_CLASS);
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
      const scores = this.trainee.scores(fn, rows(Xt, ids));
      const C = scores.shape[1];
      for (let r = 0; r < ids.length; r++) {
        const label = labels[start + r];
        if (label >= C) fail(`${fn}: y[${idx ? idx[start + r] : start + r}] is ${label}, but model.loss(X) gives scores for ${C} classes`);
        let best = 0;
        for (let c = 1; c < C; c++) if (scores.data[r * C + c] > scores.data[r * C + best]) best = c;
        if (best === label) right++;
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
    this.since = { iteration: this.iteration, time: performance.now(), steps: 0, lossSum: 0 };
    while (this.iteration < stop && !this.stoppedEarly) this.iterate(options ?? {});
    if ((this.iteration === T || this.stoppedEarly) && this.best) this.trainee.restore(fn, this.best);
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
    const schedule = this.s.lrSchedule;
    if (schedule !== null) {
      const lr = scheduledRate('Solver.train', schedule, this.baseLr, t + 1, this.iterationsPerEpoch, this.s.numEpochs);
      for (const slot of Object.values(this.slots)) slot.settings = { ...slot.settings, learningRate: lr };
    }
    const loss = this.step();
    this.iteration++;
    this.since.steps++;
    this.since.lossSum += loss;
    if (this.s.verbose && t % this.s.printEvery === 0) this.log(`(Iteration ${t + 1} / ${T}) loss: ${loss.toFixed(6)}`);
    const epochEnd = this.iteration % this.iterationsPerEpoch === 0;
    if (epochEnd) this.endEpoch();
    const check = t === 0 || this.iteration === T || epochEnd ? this.checkEpoch() : null;
    this.callHook(hooks, 'onIteration', { iteration: this.iteration, numIterations: T, epoch, loss, learningRate: this.lastLr });
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
    const seconds = (performance.now() - this.since.time) / 1000;
    const progress = { steps: this.since.steps, lossSum: this.since.lossSum, seconds };
    const trainAcc = this.checkAccuracy(d.XTrain, d.yTrain, { numSamples: this.s.numTrainSamples });
    const valAcc = this.checkAccuracy(d.XVal, d.yVal, { numSamples: this.s.numValSamples });
    this.trainAccHistory.push(trainAcc);
    this.valAccHistory.push(valAcc);
    if (this.s.verbose) this.log(`(Epoch ${this.epoch} / ${this.s.numEpochs}) train acc: ${trainAcc.toFixed(6)}; val_acc: ${valAcc.toFixed(6)}`);
    const first = this.best === null;
    if (first || valAcc > this.bestValAcc) {
      this.bestValAcc = valAcc;
      this.best = this.trainee.snapshot('Solver.train');
      this.checksSinceBest = 0;
    } else if (this.iteration % this.iterationsPerEpoch === 0) {
      // An epoch-end check without a better accuracy (the check after the first step is not one).
      this.checksSinceBest++;
      if (this.s.patience !== null && this.checksSinceBest >= this.s.patience && this.iteration < this.numIterations) {
        this.stoppedEarly = true;
        if (this.s.verbose) this.log(`(Epoch ${this.epoch} / ${this.s.numEpochs}) stopped early: ${this.checksSinceBest} checks without a better val_acc than ${this.bestValAcc.toFixed(6)}`);
      }
    }
    this.since = { iteration: this.iteration, time: performance.now(), steps: 0, lossSum: 0 };
    return {
      epoch: this.epoch, numEpochs: this.s.numEpochs, iteration: this.iteration, numIterations: this.numIterations,
      loss: this.lossHistory[this.lossHistory.length - 1], meanLoss: progress.steps > 0 ? progress.lossSum / progress.steps : NaN,
      trainAcc, valAcc, bestValAcc: this.bestValAcc, learningRate: this.lastLr,
      imagesPerSecond: progress.seconds > 0 ? (progress.steps * this.s.batchSize) / progress.seconds : NaN, stoppedEarly: this.stoppedEarly,
    };
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
    const fn = 'Solver.checkpoint';
    if (this.plain) {
      fail(`${fn}: checkpoints need a convcore model (ThreeLayerConvNet, FullyConnectedNet), which Solver.fromCheckpoint can rebuild; this solver's model is another object, whose parameters the caller can save (model.params)`);
    }
    const model = this.model as Model;
    const shapes = new Map(this.trainee.shapes);
    const encodeConfig = (name: string, slot: Slot): Record<string, unknown> => {
      const { rule: _, ...numbers } = slot.settings;
      const shape = shapes.get(name)!;
      const n = shape.reduce((p, d) => p * d, 1);
      const state = stateKeys(this.s.updateRule).map((key, i) => [key, { tensor: encodeTensor(make(take(slot.state[i], n), shape)) }]);
      return { ...numbers, ...Object.fromEntries(state) };
    };
    const encode = (r: Record<string, Tensor>): Record<string, JsonTensor> => Object.fromEntries(Object.entries(r).map(([k, t]) => [k, encodeTensor(t)]));
    return {
      type: 'SolverCheckpoint',
      ...provenance(),
      model: model.toJSON(),
      // A schedule given as a function cannot be written; fromCheckpoint takes it again in its options.
      options: { ...this.s, lrSchedule: typeof this.s.lrSchedule === 'function' ? { type: 'function' } : this.s.lrSchedule },
      epoch: this.epoch,
      iteration: this.iteration,
      optimConfigs: Object.fromEntries(Object.entries(this.slots).map(([k, slot]) => [k, encodeConfig(k, slot)])),
      lossHistory: encodeArray(this.lossHistory),
      trainAccHistory: this.trainAccHistory.slice(),
      valAccHistory: this.valAccHistory.slice(),
      bestValAcc: this.bestValAcc,
      bestParams: this.best && encode(this.best.params),
      bestBuffers: this.best && encode(this.best.buffers),
      generator: this.rng.state,
      stoppedEarly: this.stoppedEarly,
      checksSinceBest: this.checksSinceBest,
    };
  }

  /**
   * A solver that goes on from a checkpoint, with its model rebuilt from the checkpoint.
   * Every field is checked, against the model and the data, before anything is allocated.
   */
  static fromCheckpoint(checkpoint: unknown, data: SolverData, options?: { log?: (line: string) => void; lrSchedule?: (epoch: number) => number }): Solver<Model> {
    const fn = 'Solver.fromCheckpoint';
    const c = loaderInput(fn, 'checkpoint', checkpoint, 'SolverCheckpoint', WRITER, CHECKPOINT_KEYS);
    const given = takeOptions(fn, 'options', options, { log: undefined as unknown, lrSchedule: undefined as unknown });
    const log = checkLog(fn, given.log);
    const decoded = decodeModel(fn, 'checkpoint.model', c.model);
    const saved = { ...exactObject(fn, 'checkpoint.options', c.options, Object.keys(DEFAULTS).filter((k) => k !== 'log'), WRITER) };
    const savedSchedule = saved.lrSchedule as { type?: unknown } | null;
    const isFunction = savedSchedule !== null && typeof savedSchedule === 'object' && savedSchedule.type === 'function';
    if (isFunction !== (typeof given.lrSchedule === 'function')) {
      fail(isFunction
        ? `${fn}: checkpoint.options.lrSchedule was a function, which a checkpoint cannot hold; give it again as options.lrSchedule, got ${show(given.lrSchedule)}`
        : `${fn}: options.lrSchedule is for a checkpoint whose lrSchedule was a function; this one's is ${describe(savedSchedule)}, got ${show(given.lrSchedule)}`);
    }
    if (isFunction) saved.lrSchedule = given.lrSchedule;
    const s = checkSettings(fn, saved, 'checkpoint.options.');
    const d = checkData(fn, decoded.input, data);
    const state = decodeState(fn, c, s, decoded.shapes, decoded.buffers ?? [], iterationsPerEpoch(d.XTrain.shape[0], s.batchSize));
    const model = decoded.build();
    try {
      return new Solver<Model>(model, data, { ...s, log }).resume(state);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  /** Takes up the training state a checkpoint held (checked by decodeState). */
  private resume(r: Resumed): this {
    this.epoch = r.epoch;
    this.iteration = r.iteration;
    this.trainee.shapes.forEach(([name], i) => {
      const slot = this.slots[name];
      slot.settings = r.slots[i].settings;
      r.slots[i].state.forEach((values, k) => put(slot.state[k], values));
    });
    for (const v of r.lossHistory) this.lossHistory.push(v);
    for (const v of r.trainAccHistory) this.trainAccHistory.push(v);
    for (const v of r.valAccHistory) this.valAccHistory.push(v);
    this.bestValAcc = r.bestValAcc;
    this.best = r.best;
    this.rng.state = r.generator;
    this.stoppedEarly = r.stoppedEarly;
    this.checksSinceBest = r.checksSinceBest;
    return this;
  }
}

const WRITER = 'solver.checkpoint()';
const CHECKPOINT_KEYS = ['model', 'options', 'epoch', 'iteration', 'optimConfigs', 'lossHistory', 'trainAccHistory', 'valAccHistory', 'bestValAcc', 'bestParams', 'bestBuffers', 'generator', 'stoppedEarly', 'checksSinceBest'];

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
  /** The parameters and buffers at the best check, or null. */
  best: ModelState | null;
  generator: Generator['state'];
  stoppedEarly: boolean;
  checksSinceBest: number;
}

function decodeModel(fn: string, name: string, j: unknown): DecodedModel<Model> {
  const type = j !== null && typeof j === 'object' ? (j as { type?: unknown }).type : undefined;
  if (type === 'ThreeLayerConvNet') return decodeThreeLayerConvNet(fn, name, j);
  if (type === 'FullyConnectedNet') return decodeFullyConnectedNet(fn, name, j);
  if (type === 'Sequential') return decodeSequential(fn, name, j);
  const got = j !== null && typeof j === 'object' && !Array.isArray(j) ? `type ${show(type)}` : describe(j);
  fail(`${fn}: ${name} must be what a model's toJSON() returns (type "ThreeLayerConvNet", "FullyConnectedNet" or "Sequential"), got ${got}`);
}

/** Checks a checkpoint's training state against the settings, the model's parameters and the iterations per epoch. */
function decodeState(fn: string, c: Record<string, unknown>, s: Settings, shapes: ParamShapes, buffers: ParamShapes, perEpoch: number): Resumed {
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
    bestValAcc: accuracy(fn, 'checkpoint.bestValAcc', c.bestValAcc), best: decodeBest(fn, c.bestParams, c.bestBuffers, shapes, buffers),
    generator: decodeGenerator(fn, 'checkpoint.generator', c.generator),
    stoppedEarly: boolean(fn, 'checkpoint.stoppedEarly', c.stoppedEarly),
    checksSinceBest: intIn(fn, 'checkpoint.checksSinceBest', c.checksSinceBest, 0, trainAccHistory.length, ' (the accuracy checks so far)'),
  };
}

/**
 * The best parameters and buffers: both null (none kept yet), or every one of the model's
 * parameters and every one of its buffers (batchnorm's running statistics), with its shape.
 */
function decodeBest(fn: string, params: unknown, buffers: unknown, shapes: ParamShapes, bufferShapes: ParamShapes): ModelState | null {
  const read = (name: string, v: unknown, of: ParamShapes, what: string): Record<string, Tensor> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${fn}: ${name} must be null or an object of the model's ${what}, got ${describe(v)}`);
    const values = decodeParams(fn, name, v, of, 'the model', what);
    return Object.fromEntries(of.map(([n, shape], i) => [n, make(values[i], shape)]));
  };
  if (params === null && buffers === null) return null;
  if (params === null || buffers === null) {
    const [isNull, other] = params === null ? ['bestParams', 'bestBuffers'] : ['bestBuffers', 'bestParams'];
    fail(`${fn}: checkpoint.${other} must be null when checkpoint.${isNull} is (they are kept together), got ${describe(params ?? buffers)}`);
  }
  return { params: read('checkpoint.bestParams', params, shapes, 'parameters'), buffers: read('checkpoint.bestBuffers', buffers, bufferShapes, 'buffers') };
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

export interface SolverCheckpoint extends Partial<Provenance> {
  type: 'SolverCheckpoint';
  model: ThreeLayerConvNetJSON | FullyConnectedNetJSON | SequentialJSON;
  options: Omit<Settings, 'lrSchedule'> & { lrSchedule: Exclude<Schedule, (epoch: number) => number> | { type: 'function' } | null };
  epoch: number;
  iteration: number;
  optimConfigs: Record<string, Record<string, unknown>>;
  lossHistory: ReturnType<typeof encodeArray>;
  trainAccHistory: number[];
  valAccHistory: number[];
  bestValAcc: number;
  bestParams: Record<string, JsonTensor> | null;
  /** The model's buffers (a FullyConnectedNet's batchnorm running statistics) at the best check; null when bestParams is. */
  bestBuffers: Record<string, JsonTensor> | null;
  generator: Generator['state'];
  stoppedEarly: boolean;
  checksSinceBest: number;
}
