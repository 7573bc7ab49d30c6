// The training page's worker (a module worker): it owns the model and the Solver and runs the
// training steps, so the page never freezes. It imports the self-contained bundle (the Wasm
// inlined, no configuration), as the page does. The model is a Sequential built from the
// layer list of the page's network box (parsed there by net-parser.js, made here with the
// library's `layers` functions), or a model loaded from a file (a Sequential or a
// ThreeLayerConvNet).
//
// Messages from the page:
//   { type: 'init', buffer, config, net }  the packed digits (examples/browser/digits-bin.js), the settings and the first network
//   { type: 'build', net, start }     a new network from a parsed list (parseNet); start: train it at once
//   { type: 'start' } / { type: 'pause' }
//   { type: 'load', json }            a model saved by model.toJSON(); training goes on from it
// Messages to the page:
//   { type: 'built', summary }        a network was built (or loaded): its summary
//   { type: 'net-error', message }    the network could not be built (the library's message); the model in use stays
//   { type: 'ready', info }           sizes of the run
//   { type: 'model', arch, params, buffers, meanImage, iteration }   a snapshot of the parameters and buffers (Float64Arrays)
//   { type: 'step', iteration, epoch, loss, imagesPerSecond }
//   { type: 'check', iteration, epoch, trainAcc, valAcc, epochEnd }
//   { type: 'state', state }          'ready' (a new network), 'running', 'paused', 'done', 'loaded'
//   { type: 'error', message }
import { init, threadCount, simdLevel, Sequential, ThreeLayerConvNet, Solver, layers } from '/dist/convcore.browser.js';
import { parseDigits, centredTensor, meanImageOf } from './digits-bin.js';
import { toLayers } from './net-parser.js';

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
/** The layer list and options each Sequential was made from (for the page's copy of it). */
const sequentialArch = new WeakMap();
let solver;
let running = false;
/** Bumped by each start, so that a step loop left over from before a pause never runs on. */
let generation = 0;
let checkEvery = 0;
let trainCheck;
let lastSnapshot = 0;

const post = (msg, transfer) => postMessage(msg, transfer);

/**
 * A Sequential of the parsed layer list, He-initialized and seeded; the library checks the
 * list and its error names the layer that does not fit.
 */
function newNetwork(net, c) {
  const list = toLayers(net, layers);
  const options = { inputShape: [1, 28, 28], loss: 'softmax', reg: c.reg, init: 'he', seed: c.seed };
  const m = new Sequential(list, options);
  sequentialArch.set(m, { layers: list, options });
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

/**
 * What the page needs to make its own copy of the model: the layer list and the options of a
 * Sequential, or the constructor options of a ThreeLayerConvNet (as toJSON() has them, without
 * encoding the parameters).
 */
function archOf(m) {
  if (m instanceof Sequential) {
    const { layers: list, options } = sequentialArch.get(m);
    return { type: 'Sequential', layers: list, options };
  }
  const { numFilters, filterSize, hiddenDim, numClasses, weightScale, reg } = m;
  return { type: 'ThreeLayerConvNet', options: { inputDim: [...m.inputDim], numFilters, filterSize, hiddenDim, numClasses, weightScale, reg } };
}

function sendModel() {
  lastSnapshot = performance.now();
  const params = model.params;
  const buffers = model instanceof Sequential ? model.buffers : {};
  const transfer = [...Object.values(params), ...Object.values(buffers)].map((t) => t.data.buffer);
  post({ type: 'model', arch: archOf(model), params, buffers, meanImage: mean, iteration: solver.iteration }, transfer);
}

/** Makes `next` the model: a new solver on it, the old model given back, the page told. */
function use(next, state) {
  running = false;
  generation++;
  const old = model;
  model = next;
  newSolver();
  old?.dispose();
  post({ type: 'built', summary: summaryOf(model) });
  post({ type: 'ready', info: info() });
  sendModel();
  if (state) post({ type: 'state', state });
}

function summaryOf(m) {
  if (m instanceof Sequential) return m.summary();
  return `ThreeLayerConvNet: conv ${m.numFilters} ${m.filterSize}x${m.filterSize} - relu - 2x2 max pool - affine ${m.hiddenDim} - relu - affine ${m.numClasses}`;
}

function info() {
  return {
    train: data.yTrain.length, val: data.yVal.length, batch: config.batch, epochs: config.epochs,
    iterationsPerEpoch: solver.iterationsPerEpoch, numIterations: solver.numIterations, threads: threadCount(), simd: simdLevel(),
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
    use(newNetwork(msg.net, config), null);
  },
  build(msg) {
    let net;
    try {
      net = newNetwork(msg.net, config);
    } catch (e) {
      // A definition that does not fit: the page shows the library's message; the model in use stays.
      post({ type: 'net-error', message: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (mean) {
      // A loaded model's mean image goes with it; a new network trains on the digits as they are.
      mean = null;
      makeData();
    }
    use(net, 'ready');
    if (msg.start) handlers.start();
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
    const sequential = msg.json?.type === 'Sequential';
    const loaded = sequential ? Sequential.fromJSON(msg.json) : ThreeLayerConvNet.fromJSON(msg.json);
    const inputShape = sequential ? loaded.inputShape : loaded.inputDim;
    if (inputShape.join(',') !== '1,28,28' || loaded.numClasses !== 10) {
      loaded.dispose();
      throw new Error(`this page trains on 28x28 digits in 10 classes; the file's model takes (${inputShape}) and has ${loaded.numClasses} classes`);
    }
    if (sequential) sequentialArch.set(loaded, { layers: msg.json.layers, options: msg.json.options });
    mean = meanImageOf(msg.json);
    makeData();
    use(loaded, 'loaded');
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
