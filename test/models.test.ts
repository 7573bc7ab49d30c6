/**
 * The models and the solver, as CS231n's notebooks check them: whole-model gradient checks
 * through setParams, the initial loss of a small-weight model, overfitting a small set,
 * determinism, serialization and resuming from a checkpoint, and every bad input.
 */
import { describe, it, expect } from 'vitest';
import { ThreeLayerConvNet, FullyConnectedNet, Solver } from '../src/index.js';
import type { Tensor } from '../src/tensor.js';
import { numericGradient, relError } from '../src/gradcheck.js';
import { makeRng, randn, maxNormRelErr, expectConvcoreError } from './util.js';
import { labels, smallProblem, convOpts } from './nn-fixtures.js';

type AnyModel = ThreeLayerConvNet | FullyConnectedNet;

/** The largest relative error over the parameters between the analytic and the centered numerical gradient. */
function modelGradientErrors(model: AnyModel, X: Tensor, y: number[]): Record<string, number> {
  const { grads } = model.loss(X, y);
  const errors: Record<string, number> = {};
  for (const [name, w] of Object.entries(model.params)) {
    const num = numericGradient((wt) => {
      model.setParams({ [name]: wt });
      return model.loss(X, y).loss;
    }, w);
    model.setParams({ [name]: w });
    errors[name] = relError(num, grads[name]);
  }
  return errors;
}

describe('whole-model gradient checks (relative error < 1e-6)', () => {
  it('ThreeLayerConvNet: numFilters 3, filterSize 3, inputDim [3,16,16], hiddenDim 7, reg 0.5', () => {
    // weightScale 0.1 keeps every gradient well above the roundoff of the centered difference (about 1e-11).
    const model = new ThreeLayerConvNet({ numFilters: 3, filterSize: 3, inputDim: [3, 16, 16], hiddenDim: 7, reg: 0.5, weightScale: 0.1, seed: 1 });
    const X = randn(makeRng(2), [2, 3, 16, 16]);
    const errors = modelGradientErrors(model, X, labels(2, 10, 3));
    expect(Object.keys(errors).sort()).toEqual(['W1', 'W2', 'W3', 'b1', 'b2', 'b3']);
    for (const [name, e] of Object.entries(errors)) expect(e, name).toBeLessThan(1e-6);
  });

  // CS231n's N = 2, except with batchnorm: over two rows x̂ is ±1 whatever W1 is, so the
  // gradients of the first layers are roundoff and their relative error means nothing.
  for (const [what, N, opts] of [
    ['no normalization, reg 3.14', 2, { reg: 3.14 }],
    ['batchnorm', 10, { normalization: 'batchnorm' as const }],
    ['layernorm, reg 0.7', 2, { normalization: 'layernorm' as const, reg: 0.7 }],
    ['dropout 0.5 with a fixed seed', 2, { dropoutKeepRatio: 0.5, seed: 123 }],
    ['batchnorm and dropout 0.75', 10, { normalization: 'batchnorm' as const, dropoutKeepRatio: 0.75, seed: 7 }],
  ] as const) {
    it(`FullyConnectedNet [20, 30] on 15 inputs, N = ${N}: ${what}`, () => {
      const model = new FullyConnectedNet({ hiddenDims: [20, 30], inputDim: 15, numClasses: 10, weightScale: 5e-2, seed: 0, ...opts });
      const X = randn(makeRng(4), [N, 15]);
      const errors = modelGradientErrors(model, X, labels(N, 10, 5));
      const want = ['W1', 'W2', 'W3', 'b1', 'b2', 'b3', ...('normalization' in opts ? ['gamma1', 'gamma2', 'beta1', 'beta2'] : [])];
      expect(Object.keys(errors).sort()).toEqual(want.sort());
      for (const [name, e] of Object.entries(errors)) expect(e, name).toBeLessThan(1e-6);
    });
  }
});

describe('sanity checks', () => {
  it('the initial loss of a small-weight model is log(numClasses) within 1%; reg raises it', () => {
    const X = randn(makeRng(6), [50, 3, 16, 16]);
    const y = labels(50, 10, 7);
    const opts = { numFilters: 4, filterSize: 5, inputDim: [3, 16, 16] as [number, number, number], hiddenDim: 20, weightScale: 1e-3, seed: 8 };
    const l0 = new ThreeLayerConvNet(opts).loss(X, y).loss;
    expect(Math.abs(l0 - Math.log(10)) / Math.log(10)).toBeLessThan(0.01);
    const lreg = new ThreeLayerConvNet({ ...opts, weightScale: 1e-1, reg: 1 }).loss(X, y).loss;
    const lnoreg = new ThreeLayerConvNet({ ...opts, weightScale: 1e-1, reg: 0 }).loss(X, y).loss;
    expect(lreg).toBeGreaterThan(lnoreg);
    const fc = new FullyConnectedNet({ hiddenDims: [30], inputDim: 768, numClasses: 10, weightScale: 1e-3, seed: 9 });
    const lf = fc.loss(X, y).loss;
    expect(Math.abs(lf - Math.log(10)) / Math.log(10)).toBeLessThan(0.01);
  });

  it('the solver overfits 100 samples to 100% training accuracy (ThreeLayerConvNet and FullyConnectedNet)', () => {
    const X = randn(makeRng(10), [100, 1, 12, 12]);
    const y = labels(100, 10, 11);
    const data = { XTrain: X, yTrain: y, XVal: X, yVal: y };
    const conv = new ThreeLayerConvNet({ inputDim: [1, 12, 12], numFilters: 8, filterSize: 3, hiddenDim: 64, weightScale: 5e-2, seed: 12 });
    const s1 = new Solver(conv, data, { updateRule: 'adam', optimConfig: { learningRate: 1e-2 }, batchSize: 25, numEpochs: 40, verbose: false, seed: 13 });
    s1.train();
    expect(s1.checkAccuracy(X, y)).toBe(1);
    const fc = new FullyConnectedNet({ hiddenDims: [100, 100], inputDim: 144, weightScale: 5e-2, seed: 14 });
    const s2 = new Solver(fc, data, { updateRule: 'sgdMomentum', optimConfig: { learningRate: 3e-2 }, batchSize: 25, numEpochs: 30, verbose: false, seed: 15 });
    s2.train();
    expect(s2.checkAccuracy(X, y)).toBe(1);
  });
});

describe('determinism and serialization', () => {
  it('the same seeds give the same loss history bit for bit; another solver seed gives another', () => {
    const { data } = smallProblem(20);
    const run = (solverSeed: number): number[] => {
      const s = new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 1 }), data, { updateRule: 'adam', batchSize: 10, numEpochs: 2, verbose: false, seed: solverSeed });
      s.train();
      return s.lossHistory;
    };
    const a = run(5);
    expect(a.length).toBe(12);
    expect(run(5)).toEqual(a);
    expect(run(6)).not.toEqual(a);
    const m1 = new ThreeLayerConvNet({ ...convOpts, seed: 1 }).params.W1.data;
    expect(new ThreeLayerConvNet({ ...convOpts, seed: 1 }).params.W1.data).toEqual(m1);
    expect(new ThreeLayerConvNet({ ...convOpts, seed: 2 }).params.W1.data).not.toEqual(m1);
  });

  it('toJSON is plain JSON and round-trips every float64 exactly, -0, NaN and ±Infinity included', () => {
    const model = new FullyConnectedNet({ hiddenDims: [5], inputDim: 3, numClasses: 2, normalization: 'batchnorm', seed: 3 });
    model.loss(randn(makeRng(1), [4, 3]), [0, 1, 1, 0]); // moves the running statistics
    const b1 = new Float64Array([-0, NaN, Infinity, -Infinity, 5e-324]);
    model.setParams({ b1: { data: b1, shape: [5] } });
    const text = JSON.stringify(model.toJSON());
    const back = FullyConnectedNet.fromJSON(JSON.parse(text));
    for (const [name, t] of Object.entries(model.params)) {
      const u = back.params[name];
      expect(u.shape).toEqual(t.shape);
      t.data.forEach((v, i) => expect(Object.is(u.data[i], v), `${name}[${i}]`).toBe(true));
    }
    expect(back.runningStats).toEqual(model.runningStats);
    expect(JSON.parse(text).params.W1.data).toBeInstanceOf(Array);
    const conv = new ThreeLayerConvNet({ ...convOpts, seed: 4 });
    const conv2 = ThreeLayerConvNet.fromJSON(JSON.parse(JSON.stringify(conv)));
    for (const [name, t] of Object.entries(conv.params)) expect(conv2.params[name].data).toEqual(t.data);
    const X = randn(makeRng(2), [3, 1, 8, 8]);
    expect(conv2.loss(X).data).toEqual(conv.loss(X).data);
  });

  it('training resumed from a checkpoint gives the same loss history, bit for bit, as training that never stopped', () => {
    const { data } = smallProblem(30);
    const opts = { updateRule: 'adam' as const, optimConfig: { learningRate: 2e-3 }, lrDecay: 0.9, batchSize: 10, numEpochs: 3, verbose: false, seed: 9, numTrainSamples: 30 };
    const whole = new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 5 }), data, opts);
    whole.train();
    const first = new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 5 }), data, opts);
    first.train({ iterations: 8 });
    expect(first.iteration).toBe(8);
    const saved = JSON.parse(JSON.stringify(first.checkpoint()));
    const resumed = Solver.fromCheckpoint(saved, data);
    resumed.train();
    expect(resumed.lossHistory).toEqual(whole.lossHistory);
    expect(resumed.trainAccHistory).toEqual(whole.trainAccHistory);
    expect(resumed.valAccHistory).toEqual(whole.valAccHistory);
    for (const [name, t] of Object.entries(whole.model.params)) expect(resumed.model.params[name].data, name).toEqual(t.data);
  });
});

describe('the solver options', () => {
  it('lrDecay per epoch, the documented history lengths, and the best parameters left in the model', () => {
    const { data } = smallProblem(40);
    const model = new ThreeLayerConvNet({ ...convOpts, seed: 6 });
    const s = new Solver(model, data, { updateRule: 'sgdMomentum', optimConfig: { learningRate: 0.05 }, lrDecay: 0.5, batchSize: 20, numEpochs: 4, verbose: false, seed: 1, numValSamples: null });
    let epochs = 0;
    s.train({ onEpoch: () => { epochs++; } });
    expect(s.iterationsPerEpoch).toBe(3);
    expect(s.lossHistory.length).toBe(12);
    expect(s.trainAccHistory.length).toBe(5);
    expect(s.valAccHistory.length).toBe(5);
    expect(epochs).toBe(5);
    const cp = s.checkpoint();
    for (const c of Object.values(cp.optimConfigs)) expect(c.learningRate).toBe(0.05 * 0.5 ** 4);
    expect(s.bestValAcc).toBe(Math.max(...s.valAccHistory));
    expect(s.checkAccuracy(data.XVal, data.yVal)).toBe(s.bestValAcc);
    expect(cp.bestParams).not.toBeNull();
    for (const [name, t] of Object.entries(model.params)) expect(JSON.stringify(cp.bestParams![name].data), name).toBe(JSON.stringify(Array.from(t.data)));
  });

  it('the verbose lines go to log', () => {
    const { data } = smallProblem(50);
    const lines: string[] = [];
    new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 1 }), data, { batchSize: 20, numEpochs: 1, printEvery: 1, seed: 1, log: (l) => lines.push(l) }).train();
    expect(lines.filter((l) => l.startsWith('(Iteration ')).length).toBe(3);
    expect(lines.filter((l) => l.startsWith('(Epoch ')).length).toBe(2);
  });
});

describe('the learning rate and the best parameters', () => {
  it('the learning rate each update used is lr0 · lrDecay^⌊(i−1)/iterationsPerEpoch⌋ at every iteration i', () => {
    // With X all zeros, W1's data gradient is exactly 0 and its gradient is reg·W1 = W1 (reg 1): an sgd
    // step multiplies W1 by 1 − lr, so the rate update i used is 1 − W1_i / W1_{i−1}, read off the parameters.
    const X = { data: new Float64Array(12 * 3), shape: [12, 3] };
    const y = labels(12, 2, 1);
    const model = new FullyConnectedNet({ hiddenDims: [4], inputDim: 3, numClasses: 2, reg: 1, weightScale: 1, seed: 3 });
    const s = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, {
      updateRule: 'sgd', optimConfig: { learningRate: 0.1 }, lrDecay: 0.5, batchSize: 4, numEpochs: 4, verbose: false, seed: 4,
    });
    expect(s.iterationsPerEpoch).toBe(3);
    let before = model.params.W1.data;
    const used: number[][] = [];
    s.train({
      onIteration: () => {
        const w = model.params.W1.data;
        used.push(Array.from(w, (v, j) => 1 - v / before[j]));
        before = w;
      },
    });
    expect(used.length).toBe(12);
    used.forEach((rates, k) => {
      const want = 0.1 * 0.5 ** Math.floor(k / 3);
      for (const lr of rates) expect(Math.abs(lr - want) / want, `iteration ${k + 1}: learning rate ${lr}, want ${want}`).toBeLessThan(1e-9);
    });
  });

  /** The model's parameters at each accuracy check of a run (read in onEpoch, after the check). */
  function paramsAtChecks(s: Solver): Record<string, Tensor>[] {
    const seen: Record<string, Tensor>[] = [];
    s.train({ onEpoch: () => { seen.push(s.model.params); } });
    return seen;
  }

  it('ties in validation accuracy keep the parameters of the first check that reached the best', () => {
    // Four copies of one image labelled 0, 1, 2, 3: whatever the parameters, exactly one is right.
    const { data } = smallProblem(90);
    const image = data.XTrain.data.subarray(0, 64);
    const XVal = { data: Float64Array.from({ length: 4 * 64 }, (_, i) => image[i % 64]), shape: [4, 1, 8, 8] };
    const model = new ThreeLayerConvNet({ ...convOpts, seed: 5 });
    const s = new Solver(model, { ...data, XVal, yVal: [0, 1, 2, 3] }, { updateRule: 'sgd', optimConfig: { learningRate: 0.05 }, batchSize: 20, numEpochs: 3, verbose: false, seed: 6 });
    const seen = paramsAtChecks(s);
    expect(s.valAccHistory).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(seen.at(-1)!.W1.data, 'training moved the parameters').not.toEqual(seen[0].W1.data);
    for (const [name, t] of Object.entries(model.params)) expect(t.data, name).toEqual(seen[0][name].data);
  });

  it('a run whose validation accuracy is 0 throughout still ends with defined best parameters: the first check\'s', () => {
    // Training labels all 0, validation labels all 1: from the first step on, the biases make every prediction 0.
    const { data } = smallProblem(91);
    const model = new FullyConnectedNet({ hiddenDims: [8], inputDim: 64, numClasses: 2, weightScale: 1e-3, seed: 7 });
    const zeroOne = { ...data, yTrain: data.yTrain.map(() => 0), yVal: data.yVal.map(() => 1) };
    const s = new Solver(model, zeroOne, { updateRule: 'sgd', optimConfig: { learningRate: 1 }, batchSize: 20, numEpochs: 2, verbose: false, seed: 8 });
    const seen = paramsAtChecks(s);
    expect(s.valAccHistory).toEqual([0, 0, 0]);
    expect(s.bestValAcc).toBe(0);
    expect(s.checkpoint().bestParams).not.toBeNull();
    expect(seen.at(-1)!.W1.data, 'training moved the parameters').not.toEqual(seen[0].W1.data);
    for (const [name, t] of Object.entries(model.params)) expect(t.data, name).toEqual(seen[0][name].data);
  });
});

describe('train() and its hooks', () => {
  const { data } = smallProblem(80);
  /** 2 epochs of 3 iterations. */
  const solver = (): Solver => new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 1 }), data, {
    updateRule: 'sgdMomentum', optimConfig: { learningRate: 0.05 }, lrDecay: 0.5, batchSize: 20, numEpochs: 2, verbose: false, seed: 2,
  });

  it('checks its options before any step: unknown keys, null, hooks that are not functions, iterations', () => {
    const s = solver();
    const cases: [unknown, RegExp][] = [
      [{ iteration: 1 }, /options has an unknown key "iteration"; the valid keys are iterations, onIteration, onEpoch/],
      [null, /options must be an object, got null/],
      [{ onEpoch: 5 }, /options\.onEpoch must be a function, got 5/],
      [{ onIteration: 'log' }, /options\.onIteration must be a function, got "log"/],
      [{ iterations: 0 }, /iterations must be a positive integer, got 0/],
    ];
    for (const [options, says] of cases) {
      expectConvcoreError(() => s.train(options as never), says, 'Solver.train');
      expect(s.iteration, String(says)).toBe(0);
      expect(s.lossHistory, String(says)).toEqual([]);
    }
  });

  it('train() or step() called from inside a hook is refused; the solver then goes on as if the hook had not been there', () => {
    const whole = solver();
    whole.train();
    for (const hook of ['onIteration', 'onEpoch'] as const) {
      for (const call of ['train', 'step'] as const) {
        for (const at of [3, 6]) {
          const s = solver();
          const what = `${call}() from ${hook} at iteration ${at}`;
          const hooks = { [hook]: () => { if (s.iteration === at) s[call](); } };
          expectConvcoreError(() => s.train(hooks), new RegExp(`called from inside ${hook}`), `Solver.${call}`);
          expect([s.iteration, s.epoch, s.lossHistory.length], what).toEqual([at, at / 3, at]);
          s.train();
          expect(s.lossHistory, what).toEqual(whole.lossHistory);
          expect([s.trainAccHistory, s.valAccHistory, s.bestValAcc], what).toEqual([whole.trainAccHistory, whole.valAccHistory, whole.bestValAcc]);
          expect(s.checkpoint().optimConfigs, what).toEqual(whole.checkpoint().optimConfigs);
          for (const [name, t] of Object.entries(whole.model.params)) expect(s.model.params[name].data, `${what}: ${name}`).toEqual(t.data);
        }
      }
    }
  });
});

describe('bad input', () => {
  const { data } = smallProblem(60);
  const cases: [string, RegExp, () => unknown][] = [
    ['unknown model option', /ThreeLayerConvNet: options has an unknown key "filtersize"; the valid keys are inputDim, numFilters, filterSize/, () => new ThreeLayerConvNet({ filtersize: 3 } as never)],
    ['unknown FC option', /FullyConnectedNet: options has an unknown key "dropout"; the valid keys are .*dropoutKeepRatio/, () => new FullyConnectedNet({ dropout: 0.5 } as never)],
    ['unknown solver option', /Solver: options has an unknown key "learningRate"; the valid keys are updateRule, optimConfig/, () => new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 1 }), data, { learningRate: 1 } as never)],
    ['unknown optimConfig key', /learning_rate/, () => new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 1 }), data, { optimConfig: { learning_rate: 1 } })],
    ['bad update rule', /updateRule must be one of sgd, sgdMomentum, rmsprop, adam/, () => new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 1 }), data, { updateRule: 'sgd_momentum' as never })],
    ['X unlike inputDim', /X must have shape \(N,1,8,8\) to match inputDim, got \(2,1,8,9\)/, () => new ThreeLayerConvNet({ ...convOpts, seed: 1 }).loss(randn(makeRng(1), [2, 1, 8, 9]))],
    ['FC X unlike inputDim', /X must have shape \(N, d1…dk\) with d1·…·dk = inputDim 15, got \(2,14\)/, () => new FullyConnectedNet({ inputDim: 15, seed: 1 }).loss(randn(makeRng(1), [2, 14]))],
    ['label out of range', /y\[1\] must be an integer label in \[0, 4\), got 4/, () => new ThreeLayerConvNet({ ...convOpts, seed: 1 }).loss(randn(makeRng(1), [2, 1, 8, 8]), [0, 4])],
    ['label count', /y has 1 labels but X has 2 rows/, () => new ThreeLayerConvNet({ ...convOpts, seed: 1 }).loss(randn(makeRng(1), [2, 1, 8, 8]), [0])],
    ['training labels out of range', /Solver: yTrain\[0\] must be an integer label in \[0, 4\), got 9/, () => new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 1 }), { ...data, yTrain: data.yTrain.map(() => 9) })],
    ['empty training set', /XTrain/, () => new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 1 }), { ...data, XTrain: { data: new Float64Array(0), shape: [0, 1, 8, 8] }, yTrain: [] })],
    ['training set unlike inputDim', /Solver: XTrain must have shape \(N,1,8,8\) to match inputDim, got \(60,1,7,8\)/, () => new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 1 }), { ...data, XTrain: randn(makeRng(1), [60, 1, 7, 8]) })],
    ['setParams shape', /W1 must have shape \(4,1,3,3\)/, () => new ThreeLayerConvNet({ ...convOpts, seed: 1 }).setParams({ W1: randn(makeRng(1), [4, 1, 3, 2]) })],
    ['setParams name', /has no parameter "W4"/, () => new ThreeLayerConvNet({ ...convOpts, seed: 1 }).setParams({ W4: randn(makeRng(1), [1]) })],
    ['dropoutKeepRatio', /dropoutKeepRatio must be in \(0, 1\]/, () => new FullyConnectedNet({ dropoutKeepRatio: 0 })],
    ['normalization', /normalization must be null, 'batchnorm' or 'layernorm'/, () => new FullyConnectedNet({ normalization: 'groupnorm' as never })],
    ['fromJSON of another type', /type "ThreeLayerConvNet"/, () => ThreeLayerConvNet.fromJSON(new FullyConnectedNet({ seed: 1 }).toJSON())],
    ['fromJSON with a parameter missing', /params lacks b3/, () => { const j = new ThreeLayerConvNet({ ...convOpts, seed: 1 }).toJSON(); delete (j.params as Record<string, unknown>).b3; return ThreeLayerConvNet.fromJSON(j); }],
    ['a checkpoint of something else', /type "SolverCheckpoint"/, () => Solver.fromCheckpoint({}, data)],
  ];
  for (const [what, says, call] of cases) {
    it(what, () => {
      expectConvcoreError(call, says);
    });
  }
});

describe('the resident training step', () => {
  /** ThreeLayerConvNet's layers composed from an entry's functional ops: loss and gradients. */
  function composed(api: typeof import('../src/index.js') | typeof import('../src/reference/index.js'), model: ThreeLayerConvNet, X: Tensor, y: number[]) {
    const p = model.params;
    const pad = (model.filterSize - 1) >> 1;
    const c1 = api.convForward(X, p.W1, p.b1, { stride: 1, pad });
    const r1 = api.reluForward(c1.out);
    const m1 = api.maxPoolForward(r1.out, { poolHeight: 2, poolWidth: 2, stride: 2 });
    const a2 = api.affineForward(m1.out, p.W2, p.b2);
    const r2 = api.reluForward(a2.out);
    const a3 = api.affineForward(r2.out, p.W3, p.b3);
    const { loss, dscores } = api.softmaxLoss(a3.out, y);
    const d3 = api.affineBackward(dscores, a3.cache as never);
    const d2 = api.affineBackward(api.reluBackward(d3.dx, r2.cache as never).dx, a2.cache as never);
    const dm = api.maxPoolBackward(d2.dx, m1.cache as never);
    const d1 = api.convBackward(api.reluBackward(dm.dx, r1.cache as never).dx, c1.cache as never);
    let l2 = 0;
    const grads: Record<string, Float64Array> = { W1: d1.dw.data, b1: d1.db.data, W2: d2.dw.data, b2: d2.db.data, W3: d3.dw.data, b3: d3.db.data };
    // Σ W² of each matrix, then their sum: the order the model adds them in.
    for (const w of ['W1', 'W2', 'W3']) {
      let t = 0;
      for (let i = 0; i < p[w].data.length; i++) { t += p[w].data[i] * p[w].data[i]; grads[w][i] += model.reg * p[w].data[i]; }
      l2 += t;
    }
    return { loss: loss + 0.5 * model.reg * l2, grads, scores: a3.out.data };
  }

  it('ThreeLayerConvNet equals its layers through the functional API (bit for bit) and the reference (1e-10), for two batch sizes', async () => {
    const main = await import('../src/index.js');
    const ref = await import('../src/reference/index.js');
    const model = new ThreeLayerConvNet({ inputDim: [2, 9, 7], numFilters: 5, filterSize: 3, hiddenDim: 11, numClasses: 6, weightScale: 0.1, reg: 0.3, seed: 3 });
    for (const N of [4, 3, 4]) {
      const X = randn(makeRng(N), [N, 2, 9, 7]);
      const y = labels(N, 6, N + 1);
      const got = model.loss(X, y);
      const want = composed(main, model, X, y);
      expect(got.loss).toBe(want.loss);
      for (const [name, g] of Object.entries(got.grads)) expect(Array.from(g.data), name).toEqual(Array.from(want.grads[name]));
      expect(Array.from(model.loss(X).data)).toEqual(Array.from(want.scores));
      const oracle = composed(ref, model, X, y);
      expect(Math.abs(got.loss - oracle.loss) / oracle.loss).toBeLessThan(1e-12);
      for (const [name, g] of Object.entries(got.grads)) expect(maxNormRelErr(g.data, oracle.grads[name]), name).toBeLessThan(1e-10);
    }
  });

  it('a model holds its memory until dispose(); a disposed model says so', async () => {
    const { memoryStats, releaseMemory } = await import('../src/index.js');
    const model = new ThreeLayerConvNet({ ...convOpts, seed: 1 });
    model.loss(randn(makeRng(1), [3, 1, 8, 8]), [0, 1, 2]);
    expect(() => releaseMemory()).toThrow(/held by live models; call dispose\(\)/);
    model.dispose();
    expect(() => model.loss(randn(makeRng(1), [3, 1, 8, 8]))).toThrow(/disposed/);
    expect(memoryStats().bytes).toBeGreaterThan(0);
  });
});

describe('the resident FullyConnectedNet', () => {
  /** The net's layers composed from the functional ops of the main entry, in train mode. */
  function composedFc(model: FullyConnectedNet, X: Tensor, y: number[], api: typeof import('../src/index.js')) {
    const p = model.params;
    const L = model.numLayers;
    const stats = model.runningStats;
    const caches: Record<string, unknown>[] = [];
    let h: Tensor = X;
    for (let i = 1; i <= L; i++) {
      const a = api.affineForward(h, p[`W${i}`], p[`b${i}`]);
      const c: Record<string, unknown> = { a: a.cache };
      caches.push(c);
      h = a.out;
      if (i === L) break;
      if (model.normalization === 'batchnorm') {
        const bn = api.batchnormForward(h, p[`gamma${i}`], p[`beta${i}`], { mode: 'train', runningMean: stats[i - 1].mean, runningVar: stats[i - 1].variance });
        h = bn.out; c.n = bn.cache;
      } else if (model.normalization === 'layernorm') {
        const ln = api.layernormForward(h, p[`gamma${i}`], p[`beta${i}`], {});
        h = ln.out; c.n = ln.cache;
      }
      const r = api.reluForward(h);
      h = r.out; c.r = r.cache;
      if (model.dropoutKeepRatio < 1) {
        const d = api.dropoutForward(h, { mode: 'train', keepProb: model.dropoutKeepRatio, seed: model.seed! });
        h = d.out; c.d = d.cache;
      }
    }
    const { loss, dscores } = api.softmaxLoss(h, y);
    const grads: Record<string, Float64Array> = {};
    let d = dscores;
    for (let i = L; i >= 1; i--) {
      const c = caches[i - 1];
      if (i < L) {
        if (c.d) d = api.dropoutBackward(d, c.d as never).dx;
        d = api.reluBackward(d, c.r as never).dx;
        if (c.n) {
          const nb = model.normalization === 'batchnorm' ? api.batchnormBackward(d, c.n as never) : api.layernormBackward(d, c.n as never);
          grads[`gamma${i}`] = nb.dgamma.data; grads[`beta${i}`] = nb.dbeta.data; d = nb.dx;
        }
      }
      const ab = api.affineBackward(d, c.a as never);
      grads[`W${i}`] = ab.dw.data; grads[`b${i}`] = ab.db.data; d = ab.dx;
    }
    let l2 = 0;
    // Σ W² of each matrix, then their sum: the order the model adds them in.
    for (let i = 1; i <= L; i++) {
      const w = p[`W${i}`].data;
      let t = 0;
      for (let j = 0; j < w.length; j++) { t += w[j] * w[j]; grads[`W${i}`][j] += model.reg * w[j]; }
      l2 += t;
    }
    return { loss: loss + 0.5 * model.reg * l2, grads };
  }

  for (const [what, opts] of [
    ['batchnorm and dropout', { normalization: 'batchnorm' as const, dropoutKeepRatio: 0.6, seed: 5, reg: 0.2 }],
    ['layernorm', { normalization: 'layernorm' as const, seed: 6, reg: 0.1 }],
    ['no normalization, dropout', { dropoutKeepRatio: 0.8, seed: 7 }],
  ] as const) {
    it(`equals its layers through the functional API bit for bit: ${what}`, async () => {
      const main = await import('../src/index.js');
      const model = new FullyConnectedNet({ hiddenDims: [9, 7], inputDim: 12, numClasses: 5, weightScale: 0.3, ...opts });
      for (const N of [6, 4]) {
        const X = randn(makeRng(N + 20), [N, 3, 4]);
        const y = labels(N, 5, N);
        const want = composedFc(model, X, y, main);
        const got = model.loss(X, y);
        expect(got.loss).toBe(want.loss);
        for (const [name, g] of Object.entries(got.grads)) expect(Array.from(g.data), name).toEqual(Array.from(want.grads[name]));
      }
    });
  }

  it('test mode uses the running statistics the train calls left', () => {
    const model = new FullyConnectedNet({ hiddenDims: [6], inputDim: 4, numClasses: 3, normalization: 'batchnorm', seed: 1 });
    for (let s = 0; s < 5; s++) model.loss(randn(makeRng(s), [8, 4], 1, 3), labels(8, 3, s));
    const st = model.runningStats[0];
    expect(Math.max(...Array.from(st.mean.data).map(Math.abs))).toBeGreaterThan(0);
    const X = randn(makeRng(9), [2, 4]);
    const p = model.params;
    const a = affineRef(X, p.W1, p.b1);
    const out = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) {
      const j = i % 6;
      const v = p.gamma1.data[j] * (a[i] - st.mean.data[j]) / Math.sqrt(st.variance.data[j] + 1e-5) + p.beta1.data[j];
      out[i] = Math.max(0, v);
    }
    const scores = affineRef({ data: out, shape: [2, 6] }, p.W2, p.b2);
    expect(maxNormRelErr(model.loss(X).data, scores)).toBeLessThan(1e-12);
  });
});

function affineRef(x: Tensor, w: Tensor, b: Tensor): Float64Array {
  const [D, M] = w.shape;
  const N = x.data.length / D;
  const out = new Float64Array(N * M);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
    let s = b.data[m];
    for (let d = 0; d < D; d++) s += x.data[n * D + d] * w.data[d * M + m];
    out[n * M + m] = s;
  }
  return out;
}

describe('memory', () => {
  it('stays flat over 1000 training steps of a model, and dispose() gives its blocks back', async () => {
    const { memoryStats } = await import('../src/index.js');
    const { data } = smallProblem(70);
    const model = new ThreeLayerConvNet({ ...convOpts, seed: 2 });
    const solver = new Solver(model, data, { updateRule: 'adam', batchSize: 10, numEpochs: 200, verbose: false, seed: 3 });
    solver.train({ iterations: 10 });
    solver.checkAccuracy(data.XVal, data.yVal);
    const after10 = memoryStats();
    solver.train({ iterations: 990 });
    expect(solver.iteration).toBe(1000);
    expect(memoryStats().bytes).toBe(after10.bytes);
    expect(memoryStats().peak).toBe(after10.peak);
    solver.dispose();
    model.dispose();
    // The blocks went back: a model of the same shape reuses them instead of growing the memory.
    const again = new Solver(new ThreeLayerConvNet({ ...convOpts, seed: 2 }), data, { batchSize: 10, verbose: false, seed: 3 });
    again.train({ iterations: 5 });
    expect(memoryStats().peak).toBe(after10.peak);
  });
});
