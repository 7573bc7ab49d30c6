// The "training" section of npm run bench: a whole training step (forward, backward, update)
// of CS231n's ThreeLayerConvNet on the digits, batch 50, Adam with learning rate 1e-3, in
// images/s, for convcore (solver.step()), convnetjs and tfjs-core's cpu backend; and
// convcore's step against the sum of the times of the kernels it runs, each timed alone on
// the same resident buffers (the rest of the step is overhead: the batch gathered and copied
// in, the loss out, JavaScript between the calls).
//
// Every peer starts from convcore's initial weights; before it is timed, its scores on a
// batch are checked against convcore's (the same network and weights), and it is trained a
// few steps on fixed batches whose mean loss must then be lower than before.
//
// convcore's step is also timed on the thread pool (bench/threads.js): the same solver, its
// ops free to run in parts. Before it is timed, a second solver from the same seed trains the
// same steps on the pool, and its losses and parameters must be bit-identical to the
// one-thread solver's. Everything else runs on one thread, as the peers are compared with
// convcore on one thread.
//
// Timing: a round times a block of convcore steps (about blockMs) on one thread and a block on
// the pool (in either order, swapped every round), then each kernel of a one-thread convcore
// step alone, then one step of each slow peer (until it has its samples); the figures are the
// medians over the rounds, and every ratio is taken from those medians, as printed. tfjs-cpu's step takes over ten seconds (its Conv2DBackpropFilter is a loop of
// TensorBuffer.get calls), so it has one sample in a full run: its ratio to convcore is two
// orders of magnitude beyond the target, which no drift of this machine's speed changes.
//
// Standalone: node --expose-gc bench/training.js [--quick] (a pool of 2 threads)

import { pathToFileURL } from 'node:url';
import { loadDigits } from '../examples/digits.js';
import { maxNormRelError } from 'convcore/gradcheck';
import { traceKernels, timeKernelsAlone, byKernel } from './kernel-trace.js';
import { prepareConvcore, slice, mean } from './peers/convcore-train.js';
import { convnetjsTrainPeer } from './peers/convnetjs-train.js';
import { tfjsTrainPeer } from './peers/tfjs-train.js';
import { trainingReport, checkTraining } from './training-report.js';
import { startPool, onPool, countSplits } from './threads.js';

/** The network and batch of the training section: npm start's ThreeLayerConvNet on the digits, batch 50. */
export const TRAINING = { inputDim: [1, 28, 28], numFilters: 32, filterSize: 7, hiddenDim: 100, numClasses: 10, batchSize: 50 };
const LEARNING_RATE = 1e-3;
const SEED = 0;

/**
 * checkBatches: fixed batches of the loss check. checkSteps: training steps of the check.
 * rounds: timing rounds; samples: the rounds in which each slow peer takes a step.
 * slowImages: the batch each slow peer runs in --quick, its time scaled to the full batch (an
 * update per slowImages images instead of per 50 makes this an overestimate).
 */
const SETTINGS = {
  full: {
    checkBatches: 3, checkSteps: { convcore: 20, convnetjs: 6, 'tfjs-cpu': 2 },
    rounds: 9, samples: { convnetjs: 5, 'tfjs-cpu': 1 }, blockMs: 300, kernel: { minMs: 3, minReps: 2 }, slowImages: null,
  },
  quick: {
    checkBatches: 1, checkSteps: { convcore: 6, convnetjs: 4, 'tfjs-cpu': 2 },
    rounds: 2, samples: { convnetjs: 2, 'tfjs-cpu': 1 }, blockMs: 60, kernel: { minMs: 0.5, minReps: 1 },
    slowImages: { convnetjs: 10, 'tfjs-cpu': 2 },
  },
};

const SLOW_PEERS = [convnetjsTrainPeer, tfjsTrainPeer];

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timed(fn) {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

/** Trains `steps` steps; the mean loss over the peer's batches must be lower after than before. */
function checkLowers(name, peer, steps) {
  const before = peer.evaluate();
  const stepMs = [];
  for (let i = 0; i < steps; i++) stepMs.push(timed(() => peer.step(i)).ms);
  const after = peer.evaluate();
  if (!(after < before)) {
    throw new Error(`training ${name}: ${steps} steps did not lower the mean loss on its batches: ${before} before, ${after} after`);
  }
  return { check: { before, after, steps }, stepMs };
}

function checkScores(name, actual, expected, tolerance) {
  const err = maxNormRelError(actual, expected);
  if (!(err <= tolerance)) {
    throw new Error(`training ${name}: its scores do not match convcore's with the same weights: max relative error ${err.toExponential(2)} > ${tolerance}`);
  }
  return err;
}

/** Throws unless a and b hold the same numbers bit for bit (Object.is on every value). */
function identical(what, a, b) {
  if (a.length !== b.length) throw new Error(`training: on the pool, ${what} has ${b.length} values; on one thread ${a.length}`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) throw new Error(`training: on the pool, ${what}[${i}] is ${b[i]}; on one thread ${a[i]} (not bit-identical)`);
  }
}

/**
 * A second solver from the same seed trains `steps` steps on the pool; its loss history and
 * parameters must be bit-identical to `cc`'s after its `steps` one-thread steps. Returns the
 * number of ops per step that ran in parts.
 */
function checkPoolIdentical(cc, batches, steps) {
  const pool = prepareConvcore(TRAINING, batches, { learningRate: LEARNING_RATE, seed: SEED });
  try {
    const { splits } = countSplits(() => { for (let i = 0; i < steps; i++) pool.step(); });
    identical('the loss history', cc.solver.lossHistory, pool.solver.lossHistory);
    const one = cc.model.params;
    const many = pool.model.params;
    for (const key of Object.keys(one)) identical(`parameter ${key}`, one[key].data, many[key]?.data ?? []);
    if (!(splits > 0)) throw new Error('training: on the pool, no op of a convcore step ran in parts');
    return splits / steps;
  } finally {
    pool.dispose();
  }
}

/**
 * Runs the section; resolves to raw times, from which training-report.js derives the rest:
 * { spec, learningRate, quick, peers, peerInfo, kernels, threads, seconds }, where peers maps a
 * name to { ms (per step of spec.batchSize images), samples (ms per step of the batch run),
 * check: { before, after, steps }, scoresError?, scaledFrom? }, kernels is { sumMs, calls,
 * stepsPerSample, byKernel: [{ name, calls, ms }] }, and threads is convcore's step on the pool:
 * { count, ms, samples, identicalSteps, splitsPerStep }. The pool must have been started
 * (bench/threads.js startPool); convcore.ms is its step on one thread.
 */
export async function runTraining({ quick = false, log = () => {}, threads = 2 } = {}) {
  const started = performance.now();
  const s = SETTINGS[quick ? 'quick' : 'full'];
  const N = TRAINING.batchSize;
  const digits = loadDigits({ train: s.checkBatches * N, val: 1, test: 1 });
  const batches = Array.from({ length: s.checkBatches }, (_, i) => slice(digits.train, i * N, N));
  const imagesOf = (name) => s.slowImages?.[name] ?? N;

  const cc = prepareConvcore(TRAINING, batches, { learningRate: LEARNING_RATE, seed: SEED });
  const peers = {};
  const slow = [];
  try {
    for (const peer of SLOW_PEERS) {
      const n = imagesOf(peer.name);
      const own = n === N ? batches : batches.map((b) => slice(b, 0, n));
      const expectedScores = cc.scores(own[0]); // convcore has not trained yet: the initial weights
      const p = await peer.prepare({ ...TRAINING, batchSize: n }, cc.params, own, { learningRate: LEARNING_RATE });
      slow.push({ peer, p });
      const scoresError = checkScores(peer.name, p.scores(0), expectedScores, peer.tolerance);
      const { check } = checkLowers(peer.name, p, s.checkSteps[peer.name]);
      peers[peer.name] = { check, scoresError, samples: [] };
      log(`  training ${peer.name}: loss ${check.before.toFixed(6)} -> ${check.after.toFixed(6)} after ${check.steps} steps`);
    }
    const { check, stepMs } = checkLowers('convcore', cc, s.checkSteps.convcore);
    peers.convcore = { check, samples: [] };
    log(`  training convcore: loss ${check.before.toFixed(6)} -> ${check.after.toFixed(6)} after ${check.steps} steps`);
    const splitsPerStep = checkPoolIdentical(cc, batches, check.steps);
    const pool = { count: threads, samples: [], identicalSteps: check.steps, splitsPerStep };
    log(`  training convcore on ${threads} threads: ${check.steps} steps bit-identical to one thread's, ${splitsPerStep} ops per step in parts`);

    const { calls } = traceKernels(() => cc.step());
    const traced = new Set(calls.map((c) => c.name));
    for (const name of ['conv_forward', 'conv_backward', 'gemm', 'adam_step']) {
      if (!traced.has(name)) throw new Error(`training: the trace of a convcore step has no ${name} call; it saw ${[...traced].join(', ') || 'none'}`);
    }
    const reps = Math.max(2, Math.ceil(s.blockMs / median(stepMs.slice(1))));
    const sums = [];
    const perCall = calls.map(() => []);
    for (let r = 0; r < s.rounds; r++) {
      globalThis.gc?.();
      const block = () => timed(() => { for (let i = 0; i < reps; i++) cc.step(); }).ms / reps;
      if (r % 2 === 0) {
        peers.convcore.samples.push(block());
        pool.samples.push(onPool(block));
      } else {
        pool.samples.push(onPool(block));
        peers.convcore.samples.push(block());
      }
      const weights = cc.model.params; // the replayed updates move them: put back afterwards
      const times = timeKernelsAlone(calls, s.kernel);
      cc.model.setParams(weights);
      times.forEach((t, i) => perCall[i].push(t));
      sums.push(times.reduce((a, b) => a + b, 0));
      for (const { peer, p } of slow) {
        if (r >= s.samples[peer.name]) continue;
        globalThis.gc?.();
        peers[peer.name].samples.push(timed(() => p.step(r)).ms);
      }
      log(`  training round ${r + 1}/${s.rounds}: convcore ${peers.convcore.samples[r].toFixed(1)} ms, ${threads} threads ${pool.samples[r].toFixed(1)} ms, kernels ${sums[r].toFixed(1)} ms`);
    }

    for (const [name, r] of Object.entries(peers)) {
      const n = name === 'convcore' ? N : imagesOf(name);
      r.ms = (median(r.samples) * N) / n;
      if (n !== N) r.scaledFrom = n;
    }
    pool.ms = median(pool.samples);
    return {
      spec: TRAINING,
      learningRate: LEARNING_RATE,
      quick,
      peers,
      peerInfo: Object.fromEntries(SLOW_PEERS.map((p) => [p.name, p.describe])),
      kernels: { sumMs: median(sums), calls: calls.length, stepsPerSample: reps, byKernel: byKernel(calls, perCall.map(median)) },
      threads: pool,
      seconds: (performance.now() - started) / 1e3,
    };
  } finally {
    for (const { p } of slow) await p.dispose();
    cc.dispose();
  }
}

async function main() {
  const quick = process.argv.includes('--quick');
  const log = (line) => process.stderr.write(`${line}\n`);
  const threads = await startPool(2);
  const result = await runTraining({ quick, log, threads });
  const { md } = trainingReport(result);
  const problems = checkTraining(md);
  if (problems.length) throw new Error(`training: the section contradicts itself:\n${problems.join('\n')}`);
  process.stdout.write(`${md}\n`);
  log(`training: ${result.seconds.toFixed(0)} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
}
