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
// Timing: a round times a block of convcore steps (about blockMs), then each kernel of a
// convcore step alone, then one step of each slow peer (until it has its samples); the
// figures are the medians over the rounds, and every ratio is taken from those medians, as
// printed. tfjs-cpu's step takes over ten seconds (its Conv2DBackpropFilter is a loop of
// TensorBuffer.get calls), so it has one sample in a full run: its ratio to convcore is two
// orders of magnitude beyond the target, which no drift of this machine's speed changes.
//
// Standalone: node --expose-gc bench/training.js [--quick]

import { pathToFileURL } from 'node:url';
import { loadDigits } from '../examples/digits.js';
import { maxNormRelError } from 'convcore/gradcheck';
import { traceKernels, timeKernelsAlone, byKernel } from './kernel-trace.js';
import { prepareConvcore, slice, mean } from './peers/convcore-train.js';
import { convnetjsTrainPeer } from './peers/convnetjs-train.js';
import { tfjsTrainPeer } from './peers/tfjs-train.js';

/** The network and batch of the section (DESIGN.md, "Training: models and the solver"). */
export const TRAINING = { inputDim: [1, 28, 28], numFilters: 32, filterSize: 7, hiddenDim: 100, numClasses: 10, batchSize: 50 };
const LEARNING_RATE = 1e-3;
const SEED = 0;

export const TRAINING_TARGETS = { convnetjs: 15, 'tfjs-cpu': 5, stepOverKernels: 1.25 };

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

/**
 * Runs the section; resolves to { spec, learningRate, quick, peers, kernels, seconds }:
 * peers maps a name to { ms, images, imagesPerSec, samples, check, scoresError?, scaledFrom?, speedup? },
 * kernels is { stepMs, sumMs, overheadMs, ratio, calls, byKernel }.
 */
export async function runTraining({ quick = false, log = () => {} } = {}) {
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

    const { calls } = traceKernels(() => cc.step());
    const reps = Math.max(2, Math.ceil(s.blockMs / median(stepMs.slice(1))));
    const sums = [];
    const perCall = calls.map(() => []);
    for (let r = 0; r < s.rounds; r++) {
      globalThis.gc?.();
      peers.convcore.samples.push(timed(() => { for (let i = 0; i < reps; i++) cc.step(); }).ms / reps);
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
      log(`  training round ${r + 1}/${s.rounds}: convcore ${peers.convcore.samples[r].toFixed(1)} ms, kernels ${sums[r].toFixed(1)} ms`);
    }

    for (const [name, r] of Object.entries(peers)) {
      const ms = median(r.samples);
      const n = name === 'convcore' ? N : imagesOf(name);
      Object.assign(r, { ms: (ms * N) / n, images: N, imagesPerSec: (n * 1e3) / ms });
      if (n !== N) r.scaledFrom = n;
    }
    for (const { peer } of slow) peers[peer.name].speedup = peers.convcore.imagesPerSec / peers[peer.name].imagesPerSec;
    const stepMsMedian = peers.convcore.ms;
    const sumMs = median(sums);
    const kernelTimes = perCall.map(median);
    return {
      spec: TRAINING,
      learningRate: LEARNING_RATE,
      quick,
      peers,
      peerInfo: Object.fromEntries(SLOW_PEERS.map((p) => [p.name, p.describe])),
      kernels: {
        stepMs: stepMsMedian, sumMs, overheadMs: stepMsMedian - sumMs, ratio: stepMsMedian / sumMs,
        calls: calls.length, stepsPerSample: reps, byKernel: byKernel(calls, kernelTimes),
      },
      seconds: (performance.now() - started) / 1e3,
    };
  } finally {
    for (const { p } of slow) await p.dispose();
    cc.dispose();
  }
}

const fmtMs = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtRate = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtTimes = (v) => `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}×`;

/** The section's target lines, each { what, target, values, worst, met, text }, from the printed figures. */
export function trainingTargets(result) {
  const lines = [];
  for (const name of ['convnetjs', 'tfjs-cpu']) {
    const t = TRAINING_TARGETS[name];
    const v = result.peers[name]?.speedup;
    const met = v !== undefined && v >= t;
    lines.push({
      what: `training step, images/s over ${name}`, target: `>= ${t}×`, values: { [name]: v }, worst: v, met,
      text: `- training step, images/s over ${name} (target >= ${t}×): ${v === undefined ? 'not measured' : fmtTimes(v)} — **${met ? 'met' : 'not met'}**`,
    });
  }
  const k = result.kernels;
  const t = TRAINING_TARGETS.stepOverKernels;
  const met = k.ratio <= t;
  lines.push({
    what: 'training step over the sum of its kernels alone', target: `<= ${t}×`, values: { convcore: k.ratio }, worst: k.ratio, met,
    text: `- convcore training step over the sum of its kernels alone (target <= ${t}×): ${fmtMs(k.stepMs)} ms / ${fmtMs(k.sumMs)} ms = ${k.ratio.toFixed(2)}× — **${met ? 'met' : 'not met'}**`,
  });
  return lines;
}

/** The section as Markdown lines: the table, the step against its kernels, notes and targets. */
export function trainingMarkdown(result, { targets = true } = {}) {
  const { peers, kernels: k, spec } = result;
  const out = [
    '## Training',
    '',
    `ThreeLayerConvNet on the digits: input (1,28,28), conv ${spec.numFilters} filters ${spec.filterSize}x${spec.filterSize} ` +
      `(pad ${(spec.filterSize - 1) / 2}, stride 1), relu, 2x2 max pool stride 2, affine ${spec.hiddenDim}, relu, affine ${spec.numClasses}, softmax loss; ` +
      `batch ${spec.batchSize}, Adam with learning rate ${result.learningRate}. A step is forward, backward and update on one batch.`,
    '',
    '| peer | ms per step | images/s | convcore × | loss before → after check steps |',
    '|---|--:|--:|--:|---|',
  ];
  for (const name of ['convcore', 'convnetjs', 'tfjs-cpu']) {
    const r = peers[name];
    const mark = r.scaledFrom ? '~' : '';
    const c = r.check;
    out.push(`| ${name} | ${mark}${fmtMs(r.ms)} | ${mark}${fmtRate(r.imagesPerSec)} | ${r.speedup ? fmtTimes(r.speedup) : ''} | ` +
      `${c.before.toFixed(6)} → ${c.after.toFixed(6)} (${c.steps} steps) |`);
  }
  out.push(
    '',
    '| convcore step ms | Σ kernels alone ms | overhead ms | step / Σ kernels |',
    '|--:|--:|--:|--:|',
    `| ${fmtMs(k.stepMs)} | ${fmtMs(k.sumMs)} | ${fmtMs(k.overheadMs)} | ${k.ratio.toFixed(2)}× |`,
    '',
    `The ${k.calls} kernel calls of a step, each timed alone: ` +
      k.byKernel.map((g) => `${g.name}${g.calls > 1 ? ` ×${g.calls}` : ''} ${fmtMs(g.ms)}`).join(', ') + ' (ms).',
    '',
    'Notes:',
    '',
    '- convcore: solver.step() of its public API (the minibatch drawn and gathered, copied into the model\'s WebAssembly buffers, ' +
      'forward, backward, the loss read out, Adam in place), timed as blocks of ' +
      `${k.stepsPerSample} steps. Σ kernels: the kernel calls of one step, recorded as the library made them and each replayed alone ` +
      'on the same buffers (repeated for a few ms); the overhead is the rest of the step.',
    `- convnetjs: ${result.peerInfo.convnetjs}; 50 calls of its train per step.`,
    `- tfjs-cpu: ${result.peerInfo['tfjs-cpu']}; the loss of each step read back.`,
    '- Every peer starts from convcore\'s initial weights: its scores on a batch were checked against convcore\'s ' +
      '(max-norm relative error <= 1e-9 for float64, <= 1e-4 for float32), and its mean loss on fixed batches was lower after ' +
      'the check steps than before, before it was timed.',
    `- Figures: medians over ${peers.convcore.samples.length} rounds (convnetjs ${peers.convnetjs.samples.length} steps, ` +
      `tfjs-cpu ${peers['tfjs-cpu'].samples.length}); the ratios are those of the medians.`,
  );
  const scaled = Object.entries(peers).filter(([, r]) => r.scaledFrom);
  if (scaled.length) {
    out.push(`- ~ (--quick) ${scaled.map(([name, r]) => `${name} trains on batches of ${r.scaledFrom} images`).join(', ')}; ` +
      `the time is scaled to ${spec.batchSize}, with one update per small batch (an overestimate).`);
  }
  if (targets) out.push('', ...trainingTargets(result).map((t) => t.text));
  return out;
}

async function main() {
  const quick = process.argv.includes('--quick');
  const log = (line) => process.stderr.write(`${line}\n`);
  const result = await runTraining({ quick, log });
  process.stdout.write(`${trainingMarkdown(result).join('\n')}\n`);
  log(`training: ${result.seconds.toFixed(0)} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
}
