/**
 * The solver's models: an object with CS231n's model interface (params, loss) trained
 * through copies into the solver's resident blocks, checked against a loop of the
 * functional update rules; its best parameters; its validation; and the best state of a
 * convcore model, which includes batchnorm's running statistics.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FullyConnectedNet, Solver, releaseMemory, sgd, sgdMomentum, rmsprop, adam } from '../src/index.js';
import type { PlainModel, Tensor, Labels, UpdateRuleName } from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { Generator } from '../src/nn/random.js';
import { makeRng, randn, expectConvcoreError } from './util.js';
import { labels } from './nn-fixtures.js';

/** CS231n's TwoLayerNet (affine − relu − affine − softmax, L2 on the weights) on the reference ops; it records each training batch it is given. */
class TwoLayerNet implements PlainModel {
  readonly batches: { X: Tensor; y: Labels }[] = [];

  constructor(public params: Record<string, Tensor>, readonly reg: number) {}

  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Labels): { loss: number; grads: Record<string, Tensor> };
  loss(X: Tensor, y?: Labels): Tensor | { loss: number; grads: Record<string, Tensor> } {
    const p = this.params;
    const a1 = ref.affineForward(X, p.W1, p.b1);
    const r1 = ref.reluForward(a1.out);
    const a2 = ref.affineForward(r1.out, p.W2, p.b2);
    if (y === undefined) return a2.out;
    this.batches.push({ X, y });
    const { loss, dscores } = ref.softmaxLoss(a2.out, y);
    const d2 = ref.affineBackward(dscores, a2.cache);
    const d1 = ref.affineBackward(ref.reluBackward(d2.dx, r1.cache).dx, a1.cache);
    let l2 = 0;
    for (const [w, dw] of [[p.W1, d1.dw], [p.W2, d2.dw]]) {
      for (let i = 0; i < w.data.length; i++) {
        l2 += w.data[i] * w.data[i];
        dw.data[i] += this.reg * w.data[i];
      }
    }
    return { loss: loss + 0.5 * this.reg * l2, grads: { W1: d1.dw, b1: d1.db, W2: d2.dw, b2: d2.db } };
  }
}

const D = 12, H = 10, C = 4;

/**
 * The bytes of WebAssembly memory that live models and solvers hold, read from what
 * releaseMemory() says when it refuses (exact up to 1 MiB); 0 when it succeeds (the next op
 * loads the module again).
 */
function held(): number {
  try {
    releaseMemory();
    return 0;
  } catch (e) {
    // Past 1 MiB the message rounds to a tenth of a MiB.
    const m = /^releaseMemory: ([\d.]+) (bytes|MiB|GiB) of WebAssembly memory are held by live models/.exec((e as Error).message);
    if (!m) throw e;
    return Number(m[1]) * { bytes: 1, MiB: 2 ** 20, GiB: 2 ** 30 }[m[2] as 'bytes' | 'MiB' | 'GiB'];
  }
}

function initialParams(seed: number): Record<string, Tensor> {
  const r = makeRng(seed);
  return { W1: randn(r, [D, H], 0.3), b1: randn(r, [H], 0.1), W2: randn(r, [H, C], 0.3), b2: randn(r, [C], 0.1) };
}

function copies(params: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(params).map(([k, t]) => [k, { data: t.data.slice(), shape: t.shape.slice() }]));
}

/** 60 training and 20 validation rows of D features in C classes. */
function plainData(seed: number) {
  const r = makeRng(seed);
  return { XTrain: randn(r, [60, D]), yTrain: labels(60, C, seed + 1), XVal: randn(r, [20, D]), yVal: labels(20, C, seed + 2) };
}

const RULES = { sgd, sgdMomentum, rmsprop, adam } as const;

/** The rate and a hyperparameter other than the default for each rule, so that each reaches the update. */
const CONFIGS: Record<UpdateRuleName, Record<string, number>> = {
  sgd: { learningRate: 0.1 },
  sgdMomentum: { learningRate: 0.05, momentum: 0.8 },
  rmsprop: { learningRate: 0.01, decayRate: 0.9 },
  adam: { learningRate: 0.01, beta1: 0.85, beta2: 0.99 },
};

describe('a model with CS231n\'s interface (params, loss), trained by the Solver', () => {
  const data = plainData(3);
  const settings = { lrDecay: 0.5, batchSize: 10, numEpochs: 3, numTrainSamples: null, numValSamples: null, verbose: false, seed: 7 };
  /** 6 iterations per epoch, 18 in all. */
  const T = 18, perEpoch = 6;

  /**
   * CS231n's solver loop written out: the minibatches drawn as the solver draws them (seeded
   * generator, with replacement), each parameter stepped by the functional update rule with
   * its own config, which carries the rule's state from step to step, and every learning
   * rate multiplied by lrDecay at each epoch end. Returns the losses and the parameters
   * after each step.
   */
  function loop(rule: UpdateRuleName) {
    const model = new TwoLayerNet(initialParams(5), 0.05);
    const g = new Generator(settings.seed);
    const N = data.XTrain.shape[0];
    const configs: Record<string, Record<string, unknown>> = Object.fromEntries(Object.keys(model.params).map((k) => [k, { ...CONFIGS[rule] }]));
    const losses: number[] = [];
    const after: Record<string, Tensor>[] = [];
    const batches: number[][] = [];
    for (let t = 0; t < T; t++) {
      const idx = Array.from({ length: settings.batchSize }, () => g.below(N));
      batches.push(idx);
      const X = { data: new Float64Array(idx.flatMap((i) => Array.from(data.XTrain.data.subarray(i * D, (i + 1) * D)))), shape: [idx.length, D] };
      const { loss, grads } = model.loss(X, idx.map((i) => data.yTrain[i]));
      losses.push(loss);
      for (const name of Object.keys(model.params)) {
        const next = (RULES[rule] as (w: Tensor, dw: Tensor, c: unknown) => { w: Tensor; config: Record<string, unknown> })(model.params[name], grads[name], configs[name]);
        model.params[name] = next.w;
        configs[name] = next.config;
      }
      after.push(copies(model.params));
      if ((t + 1) % perEpoch === 0) for (const c of Object.values(configs)) c.learningRate = (c.learningRate as number) * settings.lrDecay;
    }
    return { losses, after, batches };
  }

  for (const rule of ['sgd', 'sgdMomentum', 'rmsprop', 'adam'] as const) {
    it(`${rule}: the loss history and the parameters after every step equal the functional rules' loop, bit for bit`, () => {
      const want = loop(rule);
      const model = new TwoLayerNet(initialParams(5), 0.05);
      const first = model.params.W1;
      const firstData = first.data.slice();
      const solver = new Solver(model, data, { ...settings, updateRule: rule, optimConfig: CONFIGS[rule] });
      expect(solver.numIterations).toBe(T);
      const after: Record<string, Tensor>[] = [];
      solver.train({ onIteration: () => { after.push(copies(model.params)); } });
      // The solver drew the loop's minibatches, and gave the model a fresh array each time.
      expect(model.batches.length).toBe(T);
      model.batches.forEach((b, t) => {
        expect(Array.from(b.y), `batch ${t}`).toEqual(want.batches[t].map((i) => data.yTrain[i]));
        expect(b.X.shape).toEqual([settings.batchSize, D]);
        want.batches[t].forEach((i, k) => expect(Array.from(b.X.data.subarray(k * D, (k + 1) * D)), `batch ${t} row ${k}`).toEqual(Array.from(data.XTrain.data.subarray(i * D, (i + 1) * D))));
      });
      expect(new Set(model.batches.map((b) => b.X.data)).size).toBe(T);
      expect(solver.lossHistory).toEqual(want.losses);
      after.forEach((params, t) => {
        for (const [name, w] of Object.entries(want.after[t])) expect(params[name].data, `${name} after step ${t + 1}`).toEqual(w.data);
      });
      // Each step assigned a fresh Tensor to model.params; the one the model started with is as it was.
      expect(model.params.W1).not.toBe(first);
      expect(first.data).toEqual(firstData);
      solver.dispose();
    });
  }

  it('the best parameters are copies of model.params at the best check, assigned back when train() ends', () => {
    const model = new TwoLayerNet(initialParams(6), 0);
    const solver = new Solver(model, data, { ...settings, updateRule: 'sgd', optimConfig: { learningRate: 1 }, lrDecay: 1, numEpochs: 6 });
    const atChecks: Record<string, Tensor>[] = [];
    let last: Record<string, Tensor> = {};
    solver.train({ onIteration: () => { last = copies(model.params); }, onEpoch: () => { atChecks.push(copies(model.params)); } });
    const best = solver.valAccHistory.indexOf(solver.bestValAcc);
    expect(solver.bestValAcc).toBe(Math.max(...solver.valAccHistory));
    // The run is one where restoring matters: the best check is not the last, and training moved the parameters since.
    expect(best).toBeLessThan(solver.valAccHistory.length - 1);
    expect(last.W1.data).not.toEqual(atChecks[best].W1.data);
    for (const [name, t] of Object.entries(atChecks[best])) expect(model.params[name].data, name).toEqual(t.data);
    expect(solver.checkAccuracy(data.XVal, data.yVal)).toBe(solver.bestValAcc);
    // What was assigned is the model's own: changing it leaves the solver's copy alone, which train() assigns again.
    model.params.W1.data.fill(0);
    solver.train();
    expect(model.params.W1.data).toEqual(atChecks[best].W1.data);
    solver.dispose();
  });

  it('trains until a target: the solver and a model in a few lines, as in CS231n\'s notebooks', () => {
    // Overfitting 20 rows: the training accuracy on them reaches 1.
    const small = { XTrain: { data: data.XTrain.data.slice(0, 20 * D), shape: [20, D] }, yTrain: data.yTrain.slice(0, 20), XVal: data.XVal, yVal: data.yVal };
    const model = new TwoLayerNet(initialParams(8), 0);
    const solver = new Solver(model, small, { updateRule: 'adam', optimConfig: { learningRate: 2e-2 }, batchSize: 10, numEpochs: 60, verbose: false, seed: 1 });
    solver.train();
    expect(solver.trainAccHistory.at(-1)).toBe(1);
    solver.dispose();
  });
});

describe('a plain model is checked', () => {
  const data = plainData(4);
  const net = (): TwoLayerNet => new TwoLayerNet(initialParams(5), 0);
  const tensor = (shape: number[]): Tensor => randn(makeRng(1), shape);

  const atConstruction: [string, RegExp, () => unknown][] = [
    ['a model that is not an object', /^Solver: model must be a convcore model \(ThreeLayerConvNet, FullyConnectedNet\) or an object with CS231n's model interface \(params, loss\), got null$/, () => null],
    ['params missing', /^Solver: model\.params must be an object of Tensors keyed by name \(CS231n's model\.params\), got undefined$/, () => ({ loss: () => 0 })],
    ['params an array', /^Solver: model\.params must be an object of Tensors keyed by name .*, got an array of length 1$/, () => ({ params: [tensor([2])], loss: () => 0 })],
    ['params empty', /^Solver: model\.params must hold at least one Tensor, got an object with no keys$/, () => ({ params: {}, loss: () => 0 })],
    ['a param not a Tensor', /^Solver: model\.params\.b1 must be a Tensor \{data, shape\}, got an array of length 3$/, () => ({ params: { W1: tensor([2, 3]), b1: [0, 0, 0] }, loss: () => 0 })],
    ['a param of Float32', /^Solver: model\.params\.W1\.data must be a Float64Array, got a Float32Array of length 6$/, () => ({ params: { W1: { data: new Float32Array(6), shape: [2, 3] } }, loss: () => 0 })],
    ['params a new object at each read', /^Solver: model\.params must be the model's own record of its parameters, the same object at every read .*got a new object at each read$/,
      () => ({ get params() { return { W1: tensor([2]) }; }, loss: () => 0 })],
    ['params frozen', /^Solver: model\.params\.W1 must be writable \(the solver assigns each updated parameter to it\), got a read-only property$/,
      () => ({ params: Object.freeze({ W1: tensor([2]) }), loss: () => 0 })],
    ['loss missing', /^Solver: model\.loss must be a function \(loss\(X\) → scores, loss\(X, y\) → \{ loss, grads \}\), got undefined$/, () => ({ params: { W1: tensor([2]) } })],
    ['loss a number', /^Solver: model\.loss must be a function .*, got 5$/, () => ({ params: { W1: tensor([2]) }, loss: 5 })],
  ];
  for (const [what, says, make] of atConstruction) {
    it(`at construction, with nothing allocated: ${what}`, () => {
      const model = make();
      const before = held();
      expectConvcoreError(() => new Solver(model as never, data), says, 'Solver');
      expect(held()).toBe(before);
    });
  }

  it('the data of a plain model: rows of XVal like XTrain\'s, labels non-negative integers', () => {
    const before = held();
    expectConvcoreError(() => new Solver(net(), { ...data, XVal: tensor([20, D + 1]) }), /^Solver: XVal must have rows shaped like XTrain's, \(N,12\), got \(20,13\)$/, 'Solver');
    expectConvcoreError(() => new Solver(net(), { ...data, yTrain: data.yTrain.map((v, i) => (i === 2 ? -1 : v)) }), /^Solver: yTrain\[2\] must be an integer label in \[0, 2147483648\), got -1$/, 'Solver');
    expectConvcoreError(() => new Solver(net(), { ...data, yVal: data.yVal.slice(1) }), /^Solver: yVal has 19 labels but XVal has 20 rows$/, 'Solver');
    expect(held()).toBe(before);
  });

  /** A TwoLayerNet whose loss(X, y) result is changed by `edit`. */
  function withLoss(edit: (out: { loss: number; grads: Record<string, Tensor> }) => unknown): TwoLayerNet {
    const m = net();
    const loss = m.loss.bind(m) as (X: Tensor, y?: Labels) => unknown;
    m.loss = ((X: Tensor, y?: Labels) => (y === undefined ? loss(X) : edit(loss(X, y) as never))) as never;
    return m;
  }

  const atStep: [string, RegExp, () => TwoLayerNet][] = [
    ['a gradient missing', /^Solver\.step: model\.loss\(X, y\)\.grads lacks b2; it must hold a gradient for each of model\.params \(W1, b1, W2, b2\)$/,
      () => withLoss((o) => { delete o.grads.b2; return o; })],
    ['a gradient of the wrong shape', /^Solver\.step: model\.loss\(X, y\)\.grads\.W2 must have shape \(10,4\) \(the shape of model\.params\.W2\), got \(4,10\)$/,
      () => withLoss((o) => { o.grads.W2 = { data: o.grads.W2.data, shape: [4, 10] }; return o; })],
    ['grads not an object', /^Solver\.step: model\.loss\(X, y\)\.grads must be an object of Tensors keyed by parameter name, got null$/, () => withLoss((o) => ({ ...o, grads: null }))],
    ['the loss not a number', /^Solver\.step: model\.loss\(X, y\)\.loss must be a number, got "0\.5"$/, () => withLoss((o) => ({ ...o, loss: '0.5' }))],
    ['loss(X, y) returning the loss alone', /^Solver\.step: model\.loss\(X, y\) must return \{ loss, grads \}, got 1\.5$/, () => withLoss(() => 1.5)],
  ];
  for (const [what, says, make] of atStep) {
    it(`at each step, before anything is updated: ${what}`, () => {
      const model = make();
      const solver = new Solver(model, data, { batchSize: 10, verbose: false, seed: 1 });
      const before = copies(model.params);
      const bytes = held();
      expectConvcoreError(() => solver.step(), says, 'Solver.step');
      for (const [name, t] of Object.entries(before)) expect(model.params[name].data, name).toEqual(t.data);
      expect(solver.lossHistory).toEqual([]);
      expect(held()).toBe(bytes);
      solver.dispose();
    });
  }

  /** A model whose loss ignores its parameters: zero scores, and zero gradients shaped like W1 (2, 3) and b1 (3). */
  const still = (): PlainModel => ({
    params: { W1: tensor([2, 3]), b1: tensor([3]) },
    loss: (X: Tensor, y?: Labels) => (y === undefined
      ? { data: new Float64Array(X.shape[0] * 3), shape: [X.shape[0], 3] }
      : { loss: 1, grads: { W1: { data: new Float64Array(6), shape: [2, 3] }, b1: { data: new Float64Array(3), shape: [3] } } }),
  });

  for (const [what, edit, says] of [
    ['gone', (p: Record<string, Tensor>) => { delete p.b1; }, /^Solver\.step: model\.params lacks b1, which it had when the solver was made \(its parameters were W1, b1\)$/],
    ['given another shape', (p: Record<string, Tensor>) => { p.W1 = tensor([3, 2]); }, /^Solver\.step: model\.params\.W1 must have shape \(2,3\) \(its shape when the solver was made\), got \(3,2\)$/],
  ] as const) {
    it(`a parameter ${what} since the solver was made is refused before anything is copied in`, () => {
      const model = still();
      const solver = new Solver(model, data, { batchSize: 10, verbose: false, seed: 1 });
      solver.step();
      edit(model.params);
      const b1 = model.params.b1;
      expectConvcoreError(() => solver.step(), says, 'Solver.step');
      expect(model.params.b1).toBe(b1);
      expect(solver.lossHistory.length).toBe(1);
      solver.dispose();
    });
  }

  it('checkAccuracy: scores of the wrong shape, and labels past the scores\' classes', () => {
    const model = net();
    const solver = new Solver(model, data, { batchSize: 10, verbose: false, seed: 1 });
    const scores = model.loss.bind(model) as (X: Tensor) => Tensor;
    model.loss = ((X: Tensor) => { const s = scores(X); return { data: s.data, shape: [s.data.length] }; }) as never;
    expectConvcoreError(() => solver.checkAccuracy(data.XVal, data.yVal),
      /^Solver\.checkAccuracy: model\.loss\(X\) must return scores of shape \(N, C\) with N = 20, the rows of the X it was given, got \(80\)$/, 'Solver.checkAccuracy');
    model.loss = ((X: Tensor) => ({ data: scores(X).data.slice(0, 4 * 3), shape: [3, 4] })) as never;
    expectConvcoreError(() => solver.checkAccuracy(data.XVal, data.yVal, { batchSize: 5 }), /with N = 5, the rows of the X it was given, got \(3,4\)$/, 'Solver.checkAccuracy');
    model.loss = (() => undefined) as never;
    expectConvcoreError(() => solver.checkAccuracy(data.XVal, data.yVal), /^Solver\.checkAccuracy: model\.loss\(X\) must be a Tensor \{data, shape\}, got undefined$/, 'Solver.checkAccuracy');
    model.loss = scores as never;
    expectConvcoreError(() => solver.checkAccuracy(data.XVal, data.yVal.map((v, i) => (i === 5 ? 9 : v))),
      /^Solver\.checkAccuracy: y\[5\] is 9, but model\.loss\(X\) gives scores for 4 classes$/, 'Solver.checkAccuracy');
    solver.dispose();
  });

  it('checkpoint() says checkpoints need a convcore model', () => {
    const solver = new Solver(net(), data, { batchSize: 10, verbose: false, seed: 1 });
    solver.step();
    expectConvcoreError(() => solver.checkpoint(),
      /^Solver\.checkpoint: checkpoints need a convcore model \(ThreeLayerConvNet, FullyConnectedNet\), which Solver\.fromCheckpoint can rebuild; this solver's model is another object, whose parameters the caller can save \(model\.params\)$/,
      'Solver.checkpoint');
    solver.dispose();
  });

  it('the solver\'s blocks for a plain model are allocated once and given back by dispose()', () => {
    const before = held();
    const solver = new Solver(net(), data, { updateRule: 'adam', batchSize: 10, verbose: false, seed: 1 });
    const made = held();
    // W1, b1, W2, b2: values, gradient, m and v, 8 bytes each (at least; blocks may be rounded up).
    expect(made - before).toBeGreaterThanOrEqual(4 * 8 * (D * H + H + H * C + C));
    for (let i = 0; i < 5; i++) solver.step();
    solver.checkAccuracy(data.XVal, data.yVal);
    expect(held()).toBe(made);
    solver.dispose();
    expect(held()).toBe(before);
  });
});

/** The import specifiers of the copying functional update rules in a module's source. */
function copyingRuleImports(source: string): string[] {
  const found: string[] = [];
  const optim = /^(\.\.\/)+(optim|reference\/optim|reference\/index|index|api)\.js$|^\.\.\/reference\/?$/;
  for (const m of source.matchAll(/import\s+(type\s+)?([^'";]*?)\s+from\s+'([^']+)'/g)) {
    if (!optim.test(m[3]) || m[1]) continue;
    if (/\*\s+as/.test(m[2])) found.push(`* from ${m[3]}`);
    for (const name of m[2].replace(/[{}]/g, '').split(',').map((s) => s.trim().split(/\s+as\s+/)[0])) {
      if (['sgd', 'sgdMomentum', 'rmsprop', 'adam'].includes(name)) found.push(`${name} from ${m[3]}`);
    }
  }
  for (const m of source.matchAll(/import\(\s*'([^']+)'\s*\)/g)) if (optim.test(m[1])) found.push(`import(${m[1]})`);
  return found;
}

describe('nothing in src/nn calls the copying functional update rules', () => {
  it('the check finds such an import', () => {
    expect(copyingRuleImports("import { updateResident, sgd, adam as step } from '../optim.js';")).toEqual(['sgd from ../optim.js', 'adam from ../optim.js']);
    expect(copyingRuleImports("import * as optim from '../reference/optim.js';")).toEqual(['* from ../reference/optim.js']);
    expect(copyingRuleImports("const o = await import('../optim.js');")).toEqual(['import(../optim.js)']);
    expect(copyingRuleImports("import { updateResident, updateSettings } from '../optim.js';\nimport type { UpdateRule } from '../reference/optim.js';")).toEqual([]);
  });

  it('src/nn imports none (only updateResident, which steps resident blocks in place)', () => {
    const dir = join(__dirname, '..', 'src', 'nn');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('solver.ts');
    for (const f of files) expect(copyingRuleImports(readFileSync(join(dir, f), 'utf8')), f).toEqual([]);
    expect(readFileSync(join(dir, 'solver.ts'), 'utf8')).toMatch(/import \{ updateResident,[^}]*\} from '\.\.\/optim\.js'/);
  });
});

describe('the best state of a convcore model includes its buffers', () => {
  /** Rows of 10 features around one of 4 class means, with noise 2.5: a problem whose validation accuracy goes up and down. */
  function clusters(seed: number) {
    const r = makeRng(seed);
    const means = randn(r, [4, 10]);
    const make = (n: number): [Tensor, number[]] => {
      const X = randn(r, [n, 10], 2.5);
      const y: number[] = [];
      for (let i = 0; i < n; i++) {
        const c = r.int(0, 3);
        y.push(c);
        for (let d = 0; d < 10; d++) X.data[i * 10 + d] += means.data[c * 10 + d];
      }
      return [X, y];
    };
    const [XTrain, yTrain] = make(60);
    const [XVal, yVal] = make(40);
    return { XTrain, yTrain, XVal, yVal };
  }
  const data = clusters(2);
  const fc = (): FullyConnectedNet => new FullyConnectedNet({ hiddenDims: [16], inputDim: 10, numClasses: 4, normalization: 'batchnorm', weightScale: 0.1, seed: 2 });
  const opts = { updateRule: 'sgd' as const, optimConfig: { learningRate: 0.5 }, batchSize: 10, numEpochs: 6, numTrainSamples: null, verbose: false, seed: 102 };

  it('a FullyConnectedNet with batchnorm left after train() scores the bestValAcc it reports: its running statistics are the best check\'s', () => {
    const model = fc();
    const solver = new Solver(model, data, opts);
    const statsAtChecks: FullyConnectedNet['runningStats'][] = [];
    let lastStats = model.runningStats;
    solver.train({ onIteration: () => { lastStats = model.runningStats; }, onEpoch: () => { statsAtChecks.push(model.runningStats); } });
    const best = solver.valAccHistory.indexOf(solver.bestValAcc);
    // A run where the statistics matter: the best check is not the last, and the statistics moved since.
    expect(best).toBeLessThan(solver.valAccHistory.length - 1);
    expect(lastStats[0].mean.data).not.toEqual(statsAtChecks[best][0].mean.data);
    expect(solver.checkAccuracy(data.XVal, data.yVal)).toBe(solver.bestValAcc);
    expect(model.runningStats).toEqual(statsAtChecks[best]);
    solver.dispose();
    model.dispose();
  });

  it('a checkpoint keeps the best buffers: training resumed from one leaves the model a run that never stopped leaves', () => {
    const whole = new Solver(fc(), data, opts);
    whole.train();
    const first = new Solver(fc(), data, opts);
    first.train({ iterations: 20 });
    const saved = JSON.parse(JSON.stringify(first.checkpoint()));
    expect(Object.keys(saved.bestBuffers)).toEqual(['runningMean1', 'runningVariance1']);
    const resumed = Solver.fromCheckpoint(saved, data);
    resumed.train();
    expect(resumed.lossHistory).toEqual(whole.lossHistory);
    expect(resumed.bestValAcc).toBe(whole.bestValAcc);
    expect((resumed.model as FullyConnectedNet).runningStats).toEqual((whole.model as FullyConnectedNet).runningStats);
    for (const [name, t] of Object.entries(whole.model.params)) expect(resumed.model.params[name].data, name).toEqual(t.data);
    expect(resumed.checkAccuracy(data.XVal, data.yVal)).toBe(resumed.bestValAcc);
    for (const s of [whole, first, resumed]) { s.dispose(); s.model.dispose(); }
  });

  it('Solver.fromCheckpoint checks the best buffers against the model before it allocates', () => {
    const s = new Solver(fc(), data, opts);
    s.train({ iterations: 3 });
    const saved = JSON.parse(JSON.stringify(s.checkpoint()));
    s.dispose();
    s.model.dispose();
    const cases: [string, RegExp, (c: Record<string, any>) => void][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      ['a buffer of the wrong shape', /^Solver\.fromCheckpoint: checkpoint\.bestBuffers\.runningMean1 must have shape \(16\), got \(15\)$/,
        (c) => { c.bestBuffers.runningMean1 = { shape: [15], data: c.bestBuffers.runningMean1.data.slice(1) }; }],
      ['a buffer missing', /^Solver\.fromCheckpoint: checkpoint\.bestBuffers lacks runningVariance1 \(16\)$/, (c) => { delete c.bestBuffers.runningVariance1; }],
      ['a buffer the model lacks', /^Solver\.fromCheckpoint: checkpoint\.bestBuffers has "runningMean2", which the model does not have; its buffers are runningMean1, runningVariance1$/,
        (c) => { c.bestBuffers.runningMean2 = c.bestBuffers.runningMean1; }],
      ['bestBuffers null, bestParams not', /^Solver\.fromCheckpoint: checkpoint\.bestParams must be null when checkpoint\.bestBuffers is \(they are kept together\), got an object$/,
        (c) => { c.bestBuffers = null; }],
      ['bestBuffers missing', /^Solver\.fromCheckpoint: checkpoint lacks bestBuffers; solver\.checkpoint\(\) writes/, (c) => { delete c.bestBuffers; }],
    ];
    for (const [what, says, edit] of cases) {
      const c = JSON.parse(JSON.stringify(saved));
      edit(c);
      const before = held();
      expectConvcoreError(() => Solver.fromCheckpoint(c, data), says, 'Solver.fromCheckpoint');
      expect(held(), what).toBe(before);
    }
  });
});
