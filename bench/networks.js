// The "networks" section of npm run bench: whole training steps of networks made with
// Sequential, and the convolutions the new layers run.
//
// - The 8/16 network (conv 8 3x3 pad 1, spatial batchnorm, relu, 2x2 max pool, conv 16 3x3
//   pad 1, relu, 2x2 max pool, affine 10; softmax loss) on the digits, batch 50, Adam: a
//   step of the Sequential, a step of the same network through the functional ops
//   (convForward … softmaxLoss, the backward chain, adam per parameter), and the sum of the
//   kernels of the Sequential's step, each replayed alone on the same buffers
//   (bench/kernel-trace.js).
// - ThreeLayerConvNet (the training section's) and its replica as a Sequential (conv 32 7x7
//   pad 3, relu, 2x2 max pool, affine 100, relu, affine 10, init { weightScale: 1e-3 }), given
//   the same weights, their steps timed in alternating turns.
// - Both Sequentials' steps on the thread pool as well (bench/threads.js), in turns with one
//   thread.
// - The convolutions of cases.js's NETWORK_CONV_SHAPES (depthwise, dilated, grouped), each row
//   measured as the op table's are (bench/measure.js: the reference loops, convcore's API and
//   its kernels alone, on one thread and on the pool, and tfjs-wasm where it has the op), and
//   the f64x2 copy of bench/peak.ts on arrays of the depthwise conv's x: one pass that reads
//   x and writes out, the memory floor of that conv.
//
// A step is what solver.step() does: a minibatch drawn with replacement by the seeded
// generator and gathered, the model's training step (the batch copied in, forward, backward,
// the loss out) and the update rule in place on every parameter; every model of the section
// steps through the Solver. The functional step draws its batches from the same generator.
//
// Before anything is timed: the Sequential and the functional ops train the same steps from
// the same weights, and their losses and parameters must be bit-identical (Object.is on every
// value); a second Sequential from the same seed trains them on the pool, bit-identical too;
// ThreeLayerConvNet and its replica train the same steps, bit-identical too, and so does the
// replica's twin on the pool.
//
// Standalone: node --expose-gc bench/networks.js [--quick] [--only TEXT] (a pool of 2 threads;
// the peak measured before and after the conv rows, as npm run bench measures it around its rows).

import { pathToFileURL } from 'node:url';
import * as convcore from 'convcore';
import * as reference from 'convcore/reference';
import { Generator } from '../dist/nn/random.js';
import { make } from '../dist/tensor.js';
import { loadDigits } from '../examples/digits.js';
import { networkConvCases, NETWORK_CONV_SHAPES } from './cases.js';
import { measureRow } from './measure.js';
import { copyKernel, measurePeak } from './peak.js';
import { apiPeer } from './peers/api.js';
import { tfjsPeer, initTfjs } from './peers/tfjs.js';
import { traceKernels, timeKernelsAlone, byKernel } from './kernel-trace.js';
import { TRAINING, median } from './training.js';
import { startPool, oneThread, onPool, countSplits } from './threads.js';
import { networksReport, checkNetworks } from './networks-report.js';

const L = convcore.layers;
const LEARNING_RATE = 1e-3;
const SEED = 0;
const BATCH = 50;
/** The training images the minibatches are drawn from. */
const TRAIN_IMAGES = 500;

/** The 8/16 network on the digits. */
export const NET_816 = {
  inputShape: [1, 28, 28],
  layers: () => [
    L.conv(8, 3, { pad: 1 }), L.spatialBatchnorm(), L.relu(), L.maxPool(2),
    L.conv(16, 3, { pad: 1 }), L.relu(), L.maxPool(2), L.affine(10),
  ],
  text: 'conv 8 3x3 pad 1, spatial batchnorm, relu, 2x2 max pool, conv 16 3x3 pad 1, relu, 2x2 max pool, affine 10',
};

/** ThreeLayerConvNet of the training section as a Sequential; its parameters by ThreeLayerConvNet's names. */
export const REPLICA = {
  layers: (s) => [
    L.conv(s.numFilters, s.filterSize, { pad: (s.filterSize - 1) / 2 }), L.relu(), L.maxPool(2),
    L.affine(s.hiddenDim), L.relu(), L.affine(s.numClasses),
  ],
  names: { W1: '0.W', b1: '0.b', W2: '3.W', b2: '3.b', W3: '5.W', b3: '5.b' },
};

/** The parts of the section, by the name --only matches: the two networks, then the conv rows (by op and shape). */
export const PARTS = { net816: 'network 8/16', threeLayer: 'network ThreeLayerConvNet' };

/**
 * checkSteps: the steps of every check; rounds: timing rounds, each a block of steps of every
 * contender (about blockMs each) and the kernels alone.
 */
const SETTINGS = {
  full: { checkSteps: 10, rounds: 9, blockMs: 300, kernel: { minMs: 3, minReps: 2 } },
  quick: { checkSteps: 3, rounds: 2, blockMs: 60, kernel: { minMs: 0.5, minReps: 1 } },
};

function timed(fn) {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

/** Draws a minibatch as Solver.step does: indices with replacement from the seeded generator, the rows gathered into one kept array. */
function batcher(train, seed) {
  const rng = new Generator(seed);
  const N = train.X.shape[0];
  const per = train.X.data.length / N;
  const data = new Float64Array(BATCH * per);
  const shape = [BATCH, ...train.X.shape.slice(1)];
  return () => {
    const idx = new Int32Array(BATCH);
    for (let i = 0; i < BATCH; i++) idx[i] = rng.below(N);
    for (let i = 0; i < BATCH; i++) data.set(train.X.data.subarray(idx[i] * per, (idx[i] + 1) * per), i * per);
    return { X: make(data, shape), y: idx.map((i) => train.y[i]) };
  };
}

/** The step of `model` through a Solver (of `lib`, the copy of convcore the model is of) with Adam over `train`. */
function stepper(model, train, lib = convcore) {
  const solver = new lib.Solver(model, { XTrain: train.X, yTrain: train.y, XVal: train.X, yVal: train.y }, {
    updateRule: 'adam', optimConfig: { learningRate: LEARNING_RATE }, batchSize: BATCH, numEpochs: 1, verbose: false, seed: SEED,
  });
  return { losses: solver.lossHistory, step: () => solver.step(), dispose: () => solver.dispose() };
}

/**
 * The 8/16 network through the functional ops, from the parameters `p` (Sequential's names):
 * each op copies its inputs into Wasm memory and its results out, and adam steps every
 * parameter through the copying rule. The same draws as the Sequential's.
 */
function functionalStepper(p, train) {
  const cc = convcore;
  const config = Object.fromEntries(Object.keys(p).map((k) => [k, { learningRate: LEARNING_RATE }]));
  const params = { ...p };
  const draw = batcher(train, SEED);
  const pool = { poolHeight: 2, poolWidth: 2, stride: 2 };
  const losses = [];
  return {
    losses,
    params,
    step() {
      const { X, y } = draw();
      const c1 = cc.convForward(X, params['0.W'], params['0.b'], { pad: 1 });
      const bn = cc.spatialBatchnormForward(c1.out, params['1.gamma'], params['1.beta'], { mode: 'train' });
      const r1 = cc.reluForward(bn.out);
      const m1 = cc.maxPoolForward(r1.out, pool);
      const c2 = cc.convForward(m1.out, params['4.W'], params['4.b'], { pad: 1 });
      const r2 = cc.reluForward(c2.out);
      const m2 = cc.maxPoolForward(r2.out, pool);
      const a = cc.affineForward(m2.out, params['7.W'], params['7.b']);
      const s = cc.softmaxLoss(a.out, y);
      const da = cc.affineBackward(s.dscores, a.cache);
      const dm2 = cc.maxPoolBackward(da.dx, m2.cache);
      const dr2 = cc.reluBackward(dm2.dx, r2.cache);
      const dc2 = cc.convBackward(dr2.dx, c2.cache);
      const dm1 = cc.maxPoolBackward(dc2.dx, m1.cache);
      const dr1 = cc.reluBackward(dm1.dx, r1.cache);
      const dbn = cc.spatialBatchnormBackward(dr1.dx, bn.cache);
      const dc1 = cc.convBackward(dbn.dx, c1.cache, { dx: false });
      const grads = {
        '0.W': dc1.dw, '0.b': dc1.db, '1.gamma': dbn.dgamma, '1.beta': dbn.dbeta, '4.W': dc2.dw, '4.b': dc2.db, '7.W': da.dw, '7.b': da.db,
      };
      for (const [k, g] of Object.entries(grads)) {
        const r = cc.adam(params[k], g, config[k]);
        params[k] = r.w;
        config[k] = r.config;
      }
      losses.push(s.loss);
      return s.loss;
    },
    dispose() {},
  };
}

/** Throws unless a and b hold the same numbers bit for bit (Object.is on every value). */
function identical(what, a, b) {
  if (a.length !== b.length) throw new Error(`networks: ${what} has ${b.length} values, against ${a.length}`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) throw new Error(`networks: ${what}[${i}] is ${b[i]}, against ${a[i]} (not bit-identical)`);
  }
}

function identicalParams(what, a, b) {
  for (const key of Object.keys(a)) identical(`${what}, parameter ${key}`, a[key].data, b[key]?.data ?? []);
}

/** Steps `s` `steps` times on one thread; the ms of each step. */
function train(s, steps) {
  const ms = [];
  for (let i = 0; i < steps; i++) ms.push(oneThread(() => timed(() => s.step())).ms);
  return ms;
}

/** A twin of `make()` trains `steps` steps on the pool; its losses and parameters must be `one`'s. Returns the ops per step that ran in parts. */
function checkPool(what, make, one, steps, train_) {
  const model = make();
  const s = stepper(model, train_);
  try {
    const { splits } = countSplits(() => { for (let i = 0; i < steps; i++) s.step(); });
    identical(`${what} on the pool: the losses`, one.stepper.losses.slice(0, steps), s.losses);
    identicalParams(`${what} on the pool`, one.model.params, model.params);
    return splits / steps;
  } finally {
    s.dispose();
    model.dispose();
  }
}

/**
 * Rounds of blocks: each contender's block of steps (its own reps, about blockMs), in an order
 * that reverses every round, then `after(round)`. Returns each contender's ms per step per round.
 */
function rounds(contenders, s, after) {
  const samples = contenders.map(() => []);
  for (let r = 0; r < s.rounds; r++) {
    globalThis.gc?.();
    const order = [...contenders.keys()];
    if (r % 2) order.reverse();
    for (const i of order) {
      const c = contenders[i];
      samples[i].push(c.wrap(() => timed(() => { for (let k = 0; k < c.reps; k++) c.step(); }).ms / c.reps));
    }
    after?.(r, samples);
  }
  return samples;
}

const repsFor = (s, stepMs) => Math.max(2, Math.ceil(s.blockMs / median(stepMs.slice(1))));

/** The 8/16 network: the Sequential, the functional ops, the kernels alone, and the pool. */
function runNet816(digits, s, log) {
  const make = () => new convcore.Sequential(NET_816.layers(), { inputShape: NET_816.inputShape, seed: SEED });
  const model = make();
  const seq = { model, stepper: stepper(model, digits) };
  const func = functionalStepper(model.params, digits);
  try {
    const seqMs = train(seq.stepper, s.checkSteps);
    const funcMs = train(func, s.checkSteps);
    identical('8/16 network, functional ops against Sequential: the losses', seq.stepper.losses, func.losses);
    identicalParams('8/16 network, functional ops against Sequential', model.params, func.params);
    const splitsPerStep = checkPool('8/16 network', make, seq, s.checkSteps, digits);
    log(`  networks 8/16: ${s.checkSteps} steps bit-identical through the functional ops and on the pool (${splitsPerStep} ops per step in parts); loss ${seq.stepper.losses[0].toFixed(6)} -> ${seq.stepper.losses.at(-1).toFixed(6)}`);

    const { calls } = traceKernels(() => oneThread(() => seq.stepper.step()));
    for (const name of ['conv_forward', 'batchnorm_forward', 'conv_backward', 'adam_step']) {
      if (!calls.some((c) => c.name === name)) throw new Error(`networks: the trace of the 8/16 step has no ${name} call`);
    }
    const seqReps = repsFor(s, seqMs);
    const contenders = [
      { step: () => seq.stepper.step(), reps: seqReps, wrap: oneThread },
      { step: () => func.step(), reps: repsFor(s, funcMs), wrap: oneThread },
      { step: () => seq.stepper.step(), reps: seqReps, wrap: onPool },
    ];
    const sums = [];
    const perCall = calls.map(() => []);
    const samples = rounds(contenders, s, (r, smp) => {
      const weights = model.params; // the replayed updates move them: put back afterwards
      const times = oneThread(() => timeKernelsAlone(calls, s.kernel));
      model.setParams(weights);
      times.forEach((t, i) => perCall[i].push(t));
      sums.push(times.reduce((a, b) => a + b, 0));
      log(`  networks 8/16 round ${r + 1}/${s.rounds}: Sequential ${smp[0][r].toFixed(2)} ms, functional ${smp[1][r].toFixed(2)} ms, pool ${smp[2][r].toFixed(2)} ms, kernels ${sums[r].toFixed(2)} ms`);
    });
    return {
      spec: NET_816.text,
      sequential: { ms: median(samples[0]), samples: samples[0], stepsPerSample: seqReps },
      functional: { ms: median(samples[1]), samples: samples[1], stepsPerSample: contenders[1].reps },
      pool: { ms: median(samples[2]), samples: samples[2], splitsPerStep },
      kernels: { sumMs: median(sums), calls: calls.length, byKernel: byKernel(calls, perCall.map(median)) },
      identicalSteps: s.checkSteps,
    };
  } finally {
    seq.stepper.dispose();
    model.dispose();
  }
}

/** ThreeLayerConvNet and its Sequential replica with the same weights, in turns; and the replica on the pool. */
function runThreeLayer(digits, s, log, relaxedLib) {
  const { batchSize, ...options } = TRAINING;
  const convnet = new convcore.ThreeLayerConvNet({ ...options, weightScale: 1e-3, reg: 0, seed: SEED });
  const weights = convnet.params;
  const makeReplica = () => {
    const m = new convcore.Sequential(REPLICA.layers(TRAINING), { inputShape: TRAINING.inputDim, init: { weightScale: 1e-3 }, seed: SEED });
    m.setParams(Object.fromEntries(Object.entries(REPLICA.names).map(([from, to]) => [to, weights[from]])));
    return m;
  };
  const replica = makeReplica();
  const a = { model: convnet, stepper: stepper(convnet, digits) };
  const b = { model: replica, stepper: stepper(replica, digits) };
  // The same network on the relaxed build, from the same weights (bench/relaxed.js).
  const rxModel = relaxedLib ? new relaxedLib.ThreeLayerConvNet({ ...options, weightScale: 1e-3, reg: 0, seed: SEED }) : null;
  const c = rxModel && { model: rxModel, stepper: stepper(rxModel, digits, relaxedLib) };
  try {
    const aMs = train(a.stepper, s.checkSteps);
    const bMs = train(b.stepper, s.checkSteps);
    identical('the Sequential replica against ThreeLayerConvNet: the losses', a.stepper.losses, b.stepper.losses);
    const p = replica.params;
    for (const [name, t] of Object.entries(convnet.params)) identical(`the Sequential replica against ThreeLayerConvNet: ${name}`, t.data, p[REPLICA.names[name]].data);
    const splitsPerStep = checkPool('ThreeLayerConvNet replica', makeReplica, b, s.checkSteps, digits);
    log(`  networks ThreeLayerConvNet: the replica's ${s.checkSteps} steps bit-identical to ThreeLayerConvNet's and on the pool (${splitsPerStep} ops per step in parts)`);
    let lossAgreement = 0;
    if (c) {
      train(c.stepper, s.checkSteps);
      a.stepper.losses.forEach((l, i) => { lossAgreement = Math.max(lossAgreement, Math.abs(c.stepper.losses[i] - l) / Math.abs(l)); });
      if (!(lossAgreement < 1e-9)) throw new Error(`networks: ThreeLayerConvNet on the relaxed build: its losses differ from the plain build's by ${lossAgreement} (relative)`);
    }
    const reps = repsFor(s, [...aMs, ...bMs]);
    const samples = rounds([
      { step: () => a.stepper.step(), reps, wrap: oneThread },
      { step: () => b.stepper.step(), reps, wrap: oneThread },
      { step: () => b.stepper.step(), reps, wrap: onPool },
      ...(c ? [{ step: () => c.stepper.step(), reps, wrap: oneThread }] : []),
    ], s, (r, smp) => log(`  networks ThreeLayerConvNet round ${r + 1}/${s.rounds}: ThreeLayerConvNet ${smp[0][r].toFixed(2)} ms, replica ${smp[1][r].toFixed(2)} ms, replica pool ${smp[2][r].toFixed(2)} ms${c ? `, relaxed ${smp[3][r].toFixed(2)} ms` : ''}`));
    return {
      ...(c ? { relaxed: { ms: median(samples[3]), samples: samples[3], lossAgreement } } : {}),
      convnet: { ms: median(samples[0]), samples: samples[0] },
      replica: { ms: median(samples[1]), samples: samples[1] },
      pool: { ms: median(samples[2]), samples: samples[2], splitsPerStep },
      stepsPerSample: reps,
      identicalSteps: s.checkSteps,
    };
  } finally {
    a.stepper.dispose();
    b.stepper.dispose();
    convnet.dispose();
    replica.dispose();
    c?.stepper.dispose();
    rxModel?.dispose();
  }
}

/**
 * The conv rows whose op and shape contain `only` (all without it), measured as the op table's
 * rows are, with tfjs-wasm the only other peer; on a depthwise row the copy is timed in the
 * same turns as the kernel alone (its one-thread and pool calls), so that the kernel / copy
 * ratio compares two times that saw the same drift of the machine's speed.
 */
export async function runConvRows({ quick = false, only = null, log = () => {} } = {}) {
  const mode = quick ? 'quick' : 'full';
  const selected = networkConvCases().filter((r) => !only || `${r.label} ${r.shape}`.includes(only));
  if (selected.length === 0) return null;
  const env = {
    quick, mode, ref: apiPeer('reference', reference, { slow: true }), cc: apiPeer('convcore', convcore), others: [tfjsPeer], small: new WeakMap(),
  };
  const depthwise = NETWORK_CONV_SHAPES.find((s) => s.name === 'depthwise');
  const values = depthwise.x.reduce((a, b) => a * b, 1);
  const copy = selected.some((r) => r.shapeName === 'depthwise') ? await copyKernel(values) : null;
  env.copyFor = (row) => (row.shapeName === 'depthwise' ? copy : null);
  const rows = [];
  for (const row of selected) {
    const t0 = performance.now();
    const r = await measureRow(row, env, log);
    rows.push(r);
    const k = r.convcore.kernel;
    const peers = ['reference', 'tfjs-wasm'].map((n) => `${n} ${r.peers[n].na ? 'n/a' : r.peers[n].ms.toFixed(1)}`).join(', ');
    const cp = k.copy ? `, copy ${k.copy.ms.toFixed(2)} ms in its turns` : '';
    log(`  networks ${r.label} ${r.shape}: convcore ${r.convcore.ms.toFixed(2)} ms (kernel ${k.na ? 'n/a' : k.ms.toFixed(2)} ms${cp}), ${peers} (${((performance.now() - t0) / 1e3).toFixed(1)} s)`);
    globalThis.gc?.();
  }
  return { rows, copy: copy ? { values, shape: depthwise.x } : undefined };
}

/**
 * The networks' steps, or with `only` those whose part name (PARTS) contains it: resolves to
 * { stepVia, net816?, threeLayer? }, or null when none is selected. The pool must have been
 * started.
 */
export async function runNetworkSteps({ quick = false, log = () => {}, only = null, relaxed = null } = {}) {
  const s = SETTINGS[quick ? 'quick' : 'full'];
  const wants = (name) => !only || name.includes(only);
  if (!wants(PARTS.net816) && !wants(PARTS.threeLayer)) return null;
  const d = loadDigits({ train: TRAIN_IMAGES, val: 1, test: 1 }).train;
  const digits = { X: d.X, y: d.y };
  const out = { stepVia: 'solver' };
  if (wants(PARTS.net816)) out.net816 = runNet816(digits, s, log);
  if (wants(PARTS.threeLayer)) out.threeLayer = runThreeLayer(digits, s, log, relaxed);
  return out;
}

/**
 * The section's raw results, from which networks-report.js derives the rest: `conv` (from
 * runConvRows, measured by run.js between its two peak measurements, or null) and `steps`
 * (from runNetworkSteps, or null) put together with the run's settings and the peak, or null
 * when both are null: { quick, threads, learningRate, batchSize, peak, stepVia?, net816?,
 * threeLayer?, conv? }.
 */
export function networksResult({ quick, threads, peak, conv, steps }) {
  if (!conv && !steps) return null;
  return { quick, threads, learningRate: LEARNING_RATE, batchSize: BATCH, peak, ...(steps ?? {}), ...(conv ? { conv } : {}) };
}

async function main() {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const at = argv.indexOf('--only');
  const only = at >= 0 ? argv[at + 1] : null;
  const log = (line) => process.stderr.write(`${line}\n`);
  const threads = await startPool(2);
  await initTfjs();
  const peakOpts = quick ? { runs: 7, runMs: 50 } : { runs: 15, runMs: 100 };
  const started = performance.now();
  const start = await measurePeak(peakOpts);
  const conv = await runConvRows({ quick, only, log });
  const end = await measurePeak(peakOpts);
  const steps = await runNetworkSteps({ quick, log, only });
  const result = networksResult({ quick, threads, peak: Math.max(start.gflops, end.gflops), conv, steps });
  if (!result) throw new Error(`networks: nothing matches --only ${only}`);
  const { md } = networksReport(result);
  const problems = checkNetworks(md);
  if (problems.length) throw new Error(`networks: the section contradicts itself:\n${problems.join('\n')}`);
  process.stdout.write(`${md}\n`);
  log(`networks: ${((performance.now() - started) / 1e3).toFixed(0)} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
}
