// The training page's worker (a module worker): it owns the model and the Solver and runs the
// training steps, so the page never freezes. It imports the self-contained bundle (the Wasm
// inlined, no configuration), as the page does.
//
// Messages from the page:
//   { type: 'init', buffer, config }  the packed digits (examples/browser/digits-bin.js) and the settings
//   { type: 'start' } / { type: 'pause' }
//   { type: 'load', json }            a model saved by model.toJSON(); training goes on from it
// Messages to the page:
//   { type: 'ready', info }           sizes of the run
//   { type: 'model', options, params, iteration }   a snapshot of the parameters (Float64Arrays)
//   { type: 'step', iteration, epoch, loss, imagesPerSecond }
//   { type: 'check', iteration, epoch, trainAcc, valAcc, epochEnd }
//   { type: 'state', state }          'running', 'paused', 'done'
//   { type: 'error', message }
import { init, threadCount, ThreeLayerConvNet, Solver } from '/dist/convcore.browser.js';
import { parseDigits, centredTensor, meanImageOf } from './digits-bin.js';

/** How long the worker steps before it looks at its messages (a pause waits at most this long). */
const SLICE_MS = 100;
/**
 * How often the parameters are sent while training runs (and at each pause and end). Copying
 * them out (model.params) takes a few tens of milliseconds, mostly touching fresh memory.
 */
const SNAPSHOT_MS = 1000;
/** Training accuracy between the solver's epoch checks is measured on this many training images (a fixed prefix). */
const CHECK_TRAIN = 1000;

let config;
let digits;
/** The mean image subtracted from every input (only for a loaded model saved with one, as `npm start` saves them). */
let mean = null;
let data;
let model;
let solver;
let running = false;
/** Bumped by each start, so that a step loop left over from before a pause never runs on. */
let generation = 0;
let checkEvery = 0;
let trainCheck;
let lastSnapshot = 0;

const post = (msg, transfer) => postMessage(msg, transfer);

/** A seeded generator (mulberry32) and Box–Muller normals, for the initial weights. */
function normals(seed) {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/**
 * ThreeLayerConvNet with He-scaled weights, N(0, 2 / fan-in) per weight matrix, set through
 * setParams (the constructor's weightScale is one scale for all three layers, and with it
 * the net learns much more slowly in a single epoch); biases stay zero.
 */
function newModel(c) {
  const m = new ThreeLayerConvNet({
    inputDim: [1, 28, 28], numFilters: c.filters, filterSize: c.filterSize, hiddenDim: c.hidden,
    numClasses: 10, weightScale: 0, reg: c.reg, seed: c.seed,
  });
  const normal = normals(c.seed + 1);
  const p = m.params;
  const scaled = {};
  for (const name of ['W1', 'W2', 'W3']) {
    const { shape } = p[name];
    const fanIn = name === 'W1' ? shape[1] * shape[2] * shape[3] : shape[0];
    const s = Math.sqrt(2 / fanIn);
    scaled[name] = { data: Float64Array.from({ length: p[name].data.length }, () => s * normal()), shape };
  }
  m.setParams(scaled);
  return m;
}

/** The training and validation tensors (minus the mean image, if any). */
function makeData() {
  const train = centredTensor(digits, digits.train, config.train, mean);
  const val = centredTensor(digits, digits.val, config.val, mean);
  data = { XTrain: train.X, yTrain: train.y, XVal: val.X, yVal: val.y };
  trainCheck = centredTensor(digits, digits.train, Math.min(CHECK_TRAIN, config.train), mean);
}

function newSolver() {
  solver?.dispose(); // gives back the WebAssembly memory of the optimizer state
  solver = new Solver(model, data, {
    updateRule: 'adam', optimConfig: { learningRate: config.lr }, batchSize: config.batch, numEpochs: config.epochs,
    numTrainSamples: CHECK_TRAIN, numValSamples: null, verbose: false, seed: config.seed,
  });
  checkEvery = Math.max(1, Math.round(solver.iterationsPerEpoch / config.checks));
}

/** The model's constructor options, as in model.toJSON().options (without encoding the parameters). */
function optionsOf(m) {
  const { numFilters, filterSize, hiddenDim, numClasses, weightScale, reg } = m;
  return { inputDim: [...m.inputDim], numFilters, filterSize, hiddenDim, numClasses, weightScale, reg };
}

function sendModel() {
  lastSnapshot = performance.now();
  const params = model.params;
  const transfer = Object.values(params).map((t) => t.data.buffer);
  post({ type: 'model', options: optionsOf(model), params, meanImage: mean, iteration: solver.iteration }, transfer);
}

function info() {
  return {
    train: data.yTrain.length, val: data.yVal.length, batch: config.batch, epochs: config.epochs,
    iterationsPerEpoch: solver.iterationsPerEpoch, numIterations: solver.numIterations, threads: threadCount(),
  };
}

/** Accuracy between the solver's epoch-end checks, on the whole validation set and a fixed training prefix. */
function midCheck() {
  const trainAcc = solver.checkAccuracy(trainCheck.X, trainCheck.y);
  const valAcc = solver.checkAccuracy(data.XVal, data.yVal);
  post({ type: 'check', iteration: solver.iteration, epoch: solver.epoch, trainAcc, valAcc, epochEnd: false });
}

const hooks = {
  onIteration({ iteration, epoch, loss }) {
    hooks.steps++;
    const seconds = (performance.now() - hooks.since) / 1000;
    post({ type: 'step', iteration, epoch, loss, imagesPerSecond: (hooks.steps * config.batch) / seconds });
  },
  onEpoch({ epoch, trainAcc, valAcc }) {
    post({ type: 'check', iteration: solver.iteration, epoch, trainAcc, valAcc, epochEnd: true });
  },
  steps: 0,
  since: 0,
};

/** Steps for a time slice, sends the parameters when due, then yields to the message loop and goes on. */
function run(gen) {
  if (!running || gen !== generation) return;
  const end = performance.now() + SLICE_MS;
  while (running && solver.iteration < solver.numIterations && performance.now() < end) {
    solver.train({ iterations: 1, onIteration: hooks.onIteration, onEpoch: hooks.onEpoch });
    const it = solver.iteration;
    if (it % checkEvery === 0 && it % solver.iterationsPerEpoch !== 0 && it < solver.numIterations) midCheck();
  }
  const finished = solver.iteration >= solver.numIterations;
  if (finished || performance.now() - lastSnapshot >= SNAPSHOT_MS) sendModel();
  if (finished) {
    running = false;
    post({ type: 'state', state: 'done', bestValAcc: solver.bestValAcc });
    return;
  }
  setTimeout(run, 0, gen);
}

const handlers = {
  async init(msg) {
    // Every core when the page is cross-origin isolated (npm run demo sends the headers), else one thread.
    await init({ threads: 'auto' });
    config = msg.config;
    digits = parseDigits(msg.buffer);
    makeData();
    model = newModel(config);
    newSolver();
    post({ type: 'ready', info: info() });
    sendModel();
  },
  start() {
    if (running) return;
    // After a finished run, Start trains the same model for another run of config.epochs.
    if (solver.iteration >= solver.numIterations) {
      newSolver();
      post({ type: 'ready', info: info() });
    }
    running = true;
    hooks.steps = 0;
    hooks.since = performance.now();
    post({ type: 'state', state: 'running' });
    run(++generation);
  },
  pause() {
    if (!running) return;
    running = false;
    sendModel();
    post({ type: 'state', state: 'paused' });
  },
  load(msg) {
    const loaded = ThreeLayerConvNet.fromJSON(msg.json);
    const { inputDim, numClasses } = loaded;
    if (inputDim.join(',') !== '1,28,28' || numClasses !== 10) {
      throw new Error(`this page trains on 28x28 digits in 10 classes; the file's model has inputDim [${inputDim}] and ${numClasses} classes`);
    }
    running = false;
    mean = meanImageOf(msg.json);
    makeData();
    const old = model;
    model = loaded;
    newSolver();
    old.dispose();
    post({ type: 'ready', info: info() });
    sendModel();
    post({ type: 'state', state: 'loaded' });
  },
};

let queue = Promise.resolve();
onmessage = (e) => {
  // One message at a time, in order (init is asynchronous).
  queue = queue.then(() => handlers[e.data.type](e.data)).catch((err) => {
    running = false;
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  });
};
