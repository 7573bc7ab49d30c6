/**
 * Training as PyTorch users expect it: the learning-rate schedules (the rate each update used,
 * read off the parameters at every iteration, against the formulas of docs/api.md), adamw in
 * the Solver, clipNorm (the applied update against the clipped gradient), patience (early
 * stopping with the best parameters restored), what onEpoch reports, and checkpoints that
 * keep all of it.
 */
import { describe, it, expect } from 'vitest';
import { FullyConnectedNet, ThreeLayerConvNet, Solver, adamw } from '../src/index.js';
import type { Tensor } from '../src/tensor.js';
import type { SolverOptions, PlainModel } from '../src/nn/index.js';
import { expectConvcoreError } from './util.js';
import { labels, smallProblem, convOpts } from './nn-fixtures.js';

// ---------------------------------------------------------------- the learning rate of every iteration

/**
 * The learning rate each of a run's updates used. With X all zeros, W1's data gradient is
 * exactly 0 and its gradient is reg·W1 = W1 (reg 1): an sgd step multiplies W1 by 1 − lr, so
 * the rate update i used is 1 − W1_i / W1_{i−1}. 12 rows in batches of 4: 3 iterations per epoch.
 */
function ratesUsed(options: SolverOptions): { used: number[][]; reported: number[]; perEpoch: number } {
  const X = { data: new Float64Array(12 * 3), shape: [12, 3] };
  const y = labels(12, 2, 1);
  const model = new FullyConnectedNet({ hiddenDims: [4], inputDim: 3, numClasses: 2, reg: 1, weightScale: 1, seed: 3 });
  const s = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, { updateRule: 'sgd', batchSize: 4, verbose: false, seed: 4, ...options });
  let before = model.params.W1.data;
  const used: number[][] = [];
  const reported: number[] = [];
  s.train({
    onIteration: (info) => {
      const w = model.params.W1.data;
      used.push(Array.from(w, (v, j) => 1 - v / before[j]));
      reported.push(info.learningRate);
      before = w;
    },
  });
  return { used, reported, perEpoch: s.iterationsPerEpoch };
}

/** Every iteration's rate against want(i), i = 1 for the first; and `shifted` (the schedule one iteration off) must be told apart. */
function expectRates(options: SolverOptions, iterations: number, want: (i: number) => number): void {
  const { used, reported, perEpoch } = ratesUsed(options);
  expect(perEpoch).toBe(3);
  expect(used.length).toBe(iterations);
  used.forEach((rates, k) => {
    const w = want(k + 1);
    for (const lr of rates) expect(Math.abs(lr - w) / w, `iteration ${k + 1}: learning rate ${lr}, want ${w}`).toBeLessThan(1e-9);
    expect(Math.abs(reported[k] - w) / w, `iteration ${k + 1}: onIteration's learningRate ${reported[k]}, want ${w}`).toBeLessThan(1e-12);
  });
  // The check above fails for the schedule shifted by one iteration either way.
  for (const shift of [-1, 1]) {
    const worst = Math.max(...Array.from({ length: iterations }, (_, k) => {
      const i = Math.min(Math.max(k + 1 + shift, 1), iterations);
      return Math.abs(want(i) - want(k + 1)) / want(k + 1);
    }));
    expect(worst, `shifted by ${shift}`).toBeGreaterThan(1e-6);
  }
}

describe('learning-rate schedules: the rate each update used, at every iteration', () => {
  it("step: lr·gamma^⌊e / stepSize⌋ with e = (i − 1) / iterationsPerEpoch", () => {
    expectRates({ optimConfig: { learningRate: 0.1 }, lrSchedule: { type: 'step', stepSize: 2, gamma: 0.5 }, numEpochs: 6 }, 18,
      (i) => 0.1 * 0.5 ** Math.floor((i - 1) / 3 / 2));
  });

  it('step with a fractional stepSize (every 1.5 epochs, 4.5 iterations)', () => {
    expectRates({ optimConfig: { learningRate: 0.2 }, lrSchedule: { type: 'step', stepSize: 1.5, gamma: 0.3 }, numEpochs: 4 }, 12,
      (i) => 0.2 * 0.3 ** [0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2][i - 1]);
  });

  // Cosine with warmup, from docs/api.md: W = ⌈warmupEpochs·P⌉ warmup steps, T = numEpochs·P
  // steps, s = i − 1; s < W: lr·(s + 1)/W; else minLr + (lr − minLr)·(1 + cos(π·(s − W)/(T − W)))/2.
  it('cosine with one warmup epoch: lr/3, 2lr/3, lr, then a half cosine down towards minLr', () => {
    const lr = 0.1, minLr = 0.01;
    const cosine = (s: number) => minLr + (lr - minLr) * (1 + Math.cos(Math.PI * (s - 3) / 9)) / 2;
    const table = [lr / 3, 2 * lr / 3, lr, ...[3, 4, 5, 6, 7, 8, 9, 10, 11].map(cosine)];
    expect(table[3]).toBe(lr);
    expectRates({ optimConfig: { learningRate: lr }, lrSchedule: { type: 'cosine', warmupEpochs: 1, minLr }, numEpochs: 4 }, 12, (i) => table[i - 1]);
  });

  it('cosine with half a warmup epoch (⌈1.5⌉ = 2 steps) and no warmup', () => {
    const lr = 0.3;
    expectRates({ optimConfig: { learningRate: lr }, lrSchedule: { type: 'cosine', warmupEpochs: 0.5 }, numEpochs: 3 }, 9,
      (i) => (i <= 2 ? lr * i / 2 : lr * (1 + Math.cos(Math.PI * (i - 3) / 7)) / 2));
    expectRates({ optimConfig: { learningRate: lr }, lrSchedule: { type: 'cosine' }, numEpochs: 3 }, 9,
      (i) => lr * (1 + Math.cos(Math.PI * (i - 1) / 9)) / 2);
  });

  it('a function of the fractional epoch gives the multiplier', () => {
    const seen: number[] = [];
    const f = (e: number) => { seen.push(e); return 1 / (1 + e); };
    expectRates({ optimConfig: { learningRate: 0.1 }, lrSchedule: f, numEpochs: 3 }, 9, (i) => 0.1 / (1 + (i - 1) / 3));
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((s) => s / 3));
  });

  it('lrDecay is unchanged: lr0·lrDecay^⌊(i − 1)/P⌋', () => {
    expectRates({ optimConfig: { learningRate: 0.1 }, lrDecay: 0.5, numEpochs: 4 }, 12, (i) => 0.1 * 0.5 ** Math.floor((i - 1) / 3));
  });
});

// ---------------------------------------------------------------- a plain model whose gradients and accuracies the test sets

/**
 * Two classes; each row of X is one number x, scored [x, w[0]]: a row is predicted 1 when
 * w[0] > x. loss(X, y) gives the gradients `grads` whatever the batch, so an sgd step with
 * rate lr moves each parameter by −lr·grad.
 */
function plainModel(w0: number[], grads: Record<string, number[]>): PlainModel {
  const params: Record<string, Tensor> = {};
  for (const [name, g] of Object.entries(grads)) params[name] = { data: new Float64Array(g.length), shape: [g.length] };
  params.w = { data: Float64Array.from(w0), shape: [w0.length] };
  return {
    params,
    loss(X: Tensor, y?: ArrayLike<number>) {
      if (y === undefined) {
        const N = X.shape[0];
        const scores = new Float64Array(2 * N);
        for (let r = 0; r < N; r++) { scores[2 * r] = X.data[r]; scores[2 * r + 1] = this.params.w.data[0]; }
        return { data: scores, shape: [N, 2] };
      }
      const g = Object.fromEntries(Object.entries(grads).map(([k, v]) => [k, { data: Float64Array.from(v), shape: [v.length] }]));
      return { loss: this.params.w.data[0], grads: g };
    },
  } as PlainModel;
}

const rowsOf = (xs: number[]): Tensor => ({ data: Float64Array.from(xs), shape: [xs.length, 1] });

describe('clipNorm: the global L2 norm over every gradient, as torch.nn.utils.clip_grad_norm_', () => {
  const ga = [3, -4, 1], gb = [2, 0, -5, 7], gw = [0.5];
  const norm = Math.sqrt([...ga, ...gb, ...gw].reduce((p, g) => p + g * g, 0));

  function updateApplied(clipNorm: number | null): Record<string, number[]> {
    const model = plainModel([0.25], { a: ga, b: gb, w: gw });
    const before = Object.fromEntries(Object.entries(model.params).map(([k, t]) => [k, Array.from(t.data)]));
    const X = rowsOf([0, 1, 2, 3]);
    const s = new Solver(model, { XTrain: X, yTrain: [1, 1, 1, 1], XVal: X, yVal: [1, 1, 1, 1] },
      { updateRule: 'sgd', optimConfig: { learningRate: 0.5 }, clipNorm, batchSize: 2, verbose: false, seed: 1 });
    s.step();
    return Object.fromEntries(Object.entries(model.params).map(([k, t]) => [k, Array.from(t.data, (v, i) => v - before[k][i])]));
  }

  it('above clipNorm every gradient is scaled by clipNorm / (norm + 1e-6); below, left alone', () => {
    expect(norm).toBeCloseTo(Math.sqrt(104.25), 12);
    for (const [clipNorm, scale] of [[norm / 4, norm / 4 / (norm + 1e-6)], [2.5, 2.5 / (norm + 1e-6)], [norm * 2, 1], [null, 1]] as const) {
      const step = updateApplied(clipNorm);
      for (const [name, g] of [['a', ga], ['b', gb], ['w', gw]] as const) {
        g.forEach((gi, i) => {
          const want = -0.5 * gi * scale;
          expect(Math.abs(step[name][i] - want), `clipNorm ${clipNorm}: ${name}[${i}] moved ${step[name][i]}, want ${want}`).toBeLessThan(1e-14);
        });
      }
    }
  });

  it('a convcore model: the norm is over every parameter\'s gradient, the L2 term included', () => {
    // Every training row is the same image with the same label, so any batch's gradient is the one computed here.
    const { data } = smallProblem(7);
    const row = data.XTrain.data.subarray(0, 64);
    const X = { data: Float64Array.from({ length: 20 * 64 }, (_, i) => row[i % 64]), shape: [20, 1, 8, 8] };
    const y = new Array(20).fill(2);
    const model = new ThreeLayerConvNet({ ...convOpts, reg: 0.5, seed: 3 });
    const w0 = model.params;
    const grads = model.loss({ data: X.data.slice(0, 5 * 64), shape: [5, 1, 8, 8] }, y.slice(0, 5)).grads;
    let sum = 0;
    for (const g of Object.values(grads)) for (const v of g.data) sum += v * v;
    const clipNorm = Math.sqrt(sum) / 3;
    const scale = clipNorm / (Math.sqrt(sum) + 1e-6);
    const s = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, { updateRule: 'sgd', optimConfig: { learningRate: 1e-2 }, clipNorm, batchSize: 5, verbose: false, seed: 2 });
    s.step();
    const w1 = model.params;
    let worst = 0, moved = 0;
    for (const [name, g] of Object.entries(grads)) {
      g.data.forEach((gi, i) => {
        const got = w1[name].data[i] - w0[name].data[i];
        worst = Math.max(worst, Math.abs(got + 1e-2 * scale * gi));
        moved = Math.max(moved, Math.abs(got));
      });
    }
    expect(moved).toBeGreaterThan(1e-6);
    expect(worst / moved).toBeLessThan(1e-9);
    s.dispose();
    model.dispose();
  });
});

describe('patience: early stopping on the validation accuracy', () => {
  // sgd at rate 1 with gradient −1 raises w by 1 per iteration, from 0; 2 iterations per epoch.
  // The validation rows 0.5, 1.5, 2.5, 3.5 (labels 1) are right once w passes them: the checks
  // (after iteration 1, then at each epoch end, iterations 2, 4, 6, …) see 0.25, 0.5, 1, 1, 1, …
  function run(patience: number | null): { s: Solver<PlainModel>; model: PlainModel; reports: number } {
    const model = plainModel([0], { w: [-1] });
    const X = rowsOf([10, 10, 10, 10]);
    const s = new Solver(model, { XTrain: X, yTrain: [0, 0, 0, 0], XVal: rowsOf([0.5, 1.5, 2.5, 3.5]), yVal: [1, 1, 1, 1] },
      { updateRule: 'sgd', optimConfig: { learningRate: 1 }, patience, batchSize: 2, numEpochs: 10, verbose: false, seed: 1 });
    let reports = 0;
    s.train({ onEpoch: () => { reports++; } });
    return { s, model, reports };
  }

  it('stops after exactly `patience` epoch-end checks without a better accuracy, the best parameters restored', () => {
    for (const patience of [1, 2, 3]) {
      const { s, model, reports } = run(patience);
      // The best, 1, is first reached at iteration 4; then `patience` epoch ends (2 iterations each).
      const stop = 4 + 2 * patience;
      expect(s.iteration, `patience ${patience}`).toBe(stop);
      expect(s.lossHistory.length).toBe(stop);
      expect(s.valAccHistory).toEqual([0.25, 0.5, 1, ...new Array(patience).fill(1)]);
      expect(reports).toBe(3 + patience);
      expect(s.stoppedEarly).toBe(true);
      expect(Array.from(model.params.w.data), 'the parameters of the best check, iteration 4').toEqual([4]);
      s.train();
      expect(s.iteration, 'train() again does not go on').toBe(stop);
    }
    const { s, model } = run(null);
    expect(s.iteration).toBe(20);
    expect(s.stoppedEarly).toBe(false);
    expect(Array.from(model.params.w.data)).toEqual([4]);
  });

  it('the check after the first step does not count', () => {
    // w from 1.5 goes down by 1 per iteration, 2 iterations per epoch. With a validation row at
    // 0.25 only the first check (w = 0.5) gets it right; without, every check gets 0 and the
    // first is the best by being first. Either way `patience` epoch ends go by after it.
    for (const [first, xs] of [[0.25, [0.25, 5, 6, 7]], [0, [5, 6, 7, 8]]] as const) for (const patience of [1, 2, 3]) {
      const model = plainModel([1.5], { w: [1] });
      const s = new Solver(model, { XTrain: rowsOf([10, 10]), yTrain: [0, 0], XVal: rowsOf([...xs]), yVal: [1, 1, 1, 1] },
        { updateRule: 'sgd', optimConfig: { learningRate: 1 }, patience, batchSize: 1, numEpochs: 10, verbose: false, seed: 1 });
      s.train();
      expect(s.valAccHistory).toEqual([first, ...new Array(patience).fill(0)]);
      expect(s.iteration).toBe(2 * patience);
      expect(Array.from(model.params.w.data)).toEqual([0.5]);
    }
  });
});

// ---------------------------------------------------------------- adamw, onEpoch, options, checkpoints

describe('the Solver with adamw, onEpoch, and the options checked', () => {
  it("updateRule 'adamw' steps each parameter as adamw() does, weightDecay from optimConfig", () => {
    const model = plainModel([0.5, -1], { w: [0.3, 0.7] });
    const X = rowsOf([0, 1]);
    const s = new Solver(model, { XTrain: X, yTrain: [1, 1], XVal: X, yVal: [1, 1] },
      { updateRule: 'adamw', optimConfig: { learningRate: 0.1, weightDecay: 0.2 }, batchSize: 1, verbose: false, seed: 1 });
    let w: Tensor = { data: Float64Array.of(0.5, -1), shape: [2] };
    let config = {};
    for (let i = 0; i < 6; i++) {
      s.step();
      ({ w, config } = adamw(w, { data: Float64Array.of(0.3, 0.7), shape: [2] }, { ...config, learningRate: 0.1, weightDecay: 0.2 }));
      expect(Array.from(model.params.w.data), `step ${i + 1}`).toEqual(Array.from(w.data));
    }
    s.dispose();
  });

  it('onEpoch reports the epoch, iteration, losses, accuracies, learning rate and images per second', () => {
    const { data } = smallProblem(12);
    const s = new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 2 }), data, {
      updateRule: 'adamw', optimConfig: { learningRate: 1e-3 }, lrSchedule: { type: 'step', stepSize: 1, gamma: 0.5 }, batchSize: 20, numEpochs: 2, verbose: false, seed: 3,
    });
    const reports: Parameters<NonNullable<Parameters<Solver['train']>[0]>['onEpoch']>[0][] = [];
    s.train({ onEpoch: (info) => { reports.push(info); } });
    expect(reports.map((r) => [r.epoch, r.iteration, r.numEpochs, r.numIterations])).toEqual([[0, 1, 2, 6], [1, 3, 2, 6], [2, 6, 2, 6]]);
    const L = s.lossHistory;
    expect(reports.map((r) => r.loss)).toEqual([L[0], L[2], L[5]]);
    expect(reports.map((r) => r.meanLoss)).toEqual([L[0], (L[1] + L[2]) / 2, (L[3] + L[4] + L[5]) / 3]);
    expect(reports.map((r) => r.learningRate)).toEqual([1e-3, 1e-3, 5e-4]);
    expect(reports.map((r) => [r.trainAcc, r.valAcc])).toEqual(s.trainAccHistory.map((a, i) => [a, s.valAccHistory[i]]));
    for (const r of reports) expect(r.imagesPerSecond).toBeGreaterThan(0);
    expect(reports.map((r) => r.stoppedEarly)).toEqual([false, false, false]);
  });

  const { data } = smallProblem(14);
  const make = (o: Record<string, unknown>) => () => new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 1 }), data, { verbose: false, ...o } as SolverOptions);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['lrDecay and lrSchedule', { lrDecay: 0.9, lrSchedule: { type: 'step', stepSize: 1 } }, /lrDecay and lrSchedule are two schedules; give one .*got lrDecay 0\.9/],
    ['an unknown schedule type', { lrSchedule: { type: 'linear' } }, /lrSchedule must be null, a function of the epoch .*got type "linear"/],
    ['a schedule that is a number', { lrSchedule: 0.5 }, /lrSchedule must be null, a function .*got 0\.5/],
    ['stepSize missing', { lrSchedule: { type: 'step' } }, /lrSchedule\.stepSize must be a positive finite number, got undefined/],
    ['gamma 0', { lrSchedule: { type: 'step', stepSize: 1, gamma: 0 } }, /lrSchedule\.gamma must be a positive finite number, got 0/],
    ['an unknown schedule key', { lrSchedule: { type: 'cosine', warmup: 1 } }, /lrSchedule has an unknown key "warmup"; the valid keys are type, warmupEpochs, minLr/],
    ['warmupEpochs = numEpochs', { numEpochs: 2, lrSchedule: { type: 'cosine', warmupEpochs: 2 } }, /lrSchedule\.warmupEpochs must be below numEpochs \(2\), got 2/],
    ['minLr -1', { lrSchedule: { type: 'cosine', minLr: -1 } }, /lrSchedule\.minLr must be a non-negative finite number, got -1/],
    ['clipNorm 0', { clipNorm: 0 }, /clipNorm must be a positive finite number, got 0/],
    ['patience 1.5', { patience: 1.5 }, /patience must be a positive integer, got 1\.5/],
    ['updateRule adamw with a weightDecay of -1', { updateRule: 'adamw', optimConfig: { weightDecay: -1 } }, /weightDecay must be a non-negative finite number, got -1/],
  ];
  for (const [what, o, says] of cases) it(`refuses ${what}`, () => expectConvcoreError(make(o), says, 'Solver'));

  it('refuses a schedule function that returns NaN, naming the epoch', () => {
    const s = make({ lrSchedule: (e: number) => (e > 0.3 ? NaN : 1), batchSize: 20 })();
    expectConvcoreError(() => s.train(), /lrSchedule\(0\.3333333333333333\) must return a non-negative finite multiplier of the learning rate, got NaN/, 'Solver.train');
  });
});

describe('checkpoints keep the schedule, clipNorm, patience and adamw', () => {
  const { data } = smallProblem(30);

  function resumes(opts: SolverOptions, at: number, fromOptions?: { lrSchedule?: (e: number) => number }): void {
    const whole = new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 5 }), data, opts);
    whole.train();
    const first = new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 5 }), data, opts);
    first.train({ iterations: at });
    const saved = JSON.parse(JSON.stringify(first.checkpoint()));
    const resumed = Solver.fromCheckpoint(saved, data, fromOptions);
    resumed.train();
    expect(resumed.lossHistory).toEqual(whole.lossHistory);
    expect(resumed.valAccHistory).toEqual(whole.valAccHistory);
    expect(resumed.iteration).toBe(whole.iteration);
    expect(resumed.stoppedEarly).toBe(whole.stoppedEarly);
    for (const [name, t] of Object.entries(whole.model.params)) expect(resumed.model.params[name].data, name).toEqual(t.data);
  }

  it('adamw with cosine warmup and clipNorm resumes bit for bit', () => {
    resumes({
      updateRule: 'adamw', optimConfig: { learningRate: 3e-3, weightDecay: 0.05 }, lrSchedule: { type: 'cosine', warmupEpochs: 1.5, minLr: 1e-4 },
      clipNorm: 0.5, batchSize: 10, numEpochs: 4, verbose: false, seed: 9, numTrainSamples: 30,
    }, 7);
  });

  it('a stopped run stays stopped; a patience count resumes where it was', () => {
    // A learning rate of 0 leaves the parameters and so the accuracies as they were: every epoch-end check fails to improve.
    const opts: SolverOptions = { updateRule: 'adamw', optimConfig: { learningRate: 0 }, patience: 3, batchSize: 10, numEpochs: 6, verbose: false, seed: 2 };
    const whole = new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 5 }), data, opts);
    whole.train();
    expect(whole.iteration).toBe(18);
    expect(whole.stoppedEarly).toBe(true);
    resumes(opts, 8);
    resumes(opts, 18);
  });

  it('a schedule function is given again to fromCheckpoint; without it the checkpoint is refused', () => {
    const f = (e: number) => 0.5 ** e;
    const opts: SolverOptions = { updateRule: 'adam', lrSchedule: f, batchSize: 10, numEpochs: 3, verbose: false, seed: 3 };
    resumes(opts, 5, { lrSchedule: f });
    const s = new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 5 }), data, opts);
    s.train({ iterations: 2 });
    const saved = JSON.parse(JSON.stringify(s.checkpoint()));
    expect(saved.options.lrSchedule).toEqual({ type: 'function' });
    expectConvcoreError(() => Solver.fromCheckpoint(saved, data), /checkpoint\.options\.lrSchedule was a function, which a checkpoint cannot hold; give it again as options\.lrSchedule/, 'Solver.fromCheckpoint');
    const cosine = new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 5 }), data, { ...opts, lrSchedule: { type: 'cosine' } });
    const saved2 = JSON.parse(JSON.stringify(cosine.checkpoint()));
    expect(saved2.options.lrSchedule).toEqual({ type: 'cosine', warmupEpochs: 0, minLr: 0 });
    expectConvcoreError(() => Solver.fromCheckpoint(saved2, data, { lrSchedule: f }), /options\.lrSchedule is for a checkpoint whose lrSchedule was a function/, 'Solver.fromCheckpoint');
  });
});
