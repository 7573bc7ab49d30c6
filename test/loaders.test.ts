/**
 * The loaders (ThreeLayerConvNet.fromJSON, FullyConnectedNet.fromJSON, Solver.fromCheckpoint)
 * check everything they are given before they allocate anything: a refused load is a
 * ConvcoreError that names the field, and it leaves no WebAssembly memory held, so that
 * releaseMemory() succeeds right after it. Every object a test makes here is disposed.
 */
import { describe, it, expect, beforeEach } from 'vitest';
import { ThreeLayerConvNet, FullyConnectedNet, Solver, releaseMemory } from '../src/index.js';
import { makeRng, randn, expectConvcoreError } from './util.js';
import { smallProblem, convOpts } from './nn-fixtures.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const clone = (j: unknown): Json => JSON.parse(JSON.stringify(j));

/** A copy of `j` with `edit` applied. */
function changed(j: unknown, edit: (c: Json) => void): Json {
  const c = clone(j);
  edit(c);
  return c;
}

/**
 * The JSON of a small ThreeLayerConvNet, of a FullyConnectedNet with batchnorm (running
 * statistics moved by a training call), and a checkpoint of an Adam solver 7 iterations
 * into 2 epochs of 6 (the objects behind them disposed).
 */
function fixtures() {
  const { data } = smallProblem(3);
  const conv = new ThreeLayerConvNet({ ...convOpts, seed: 1 });
  const fc = new FullyConnectedNet({ hiddenDims: [5, 4], inputDim: 64, numClasses: 4, normalization: 'batchnorm', seed: 2 });
  fc.loss(randn(makeRng(5), [6, 64]), [0, 1, 2, 3, 0, 1]);
  const solver = new Solver(conv, data, { updateRule: 'adam', lrDecay: 0.9, batchSize: 10, numEpochs: 2, verbose: false, seed: 4 });
  solver.train({ iterations: 7 });
  const out = { conv: clone(conv.toJSON()), fc: clone(fc.toJSON()), checkpoint: clone(solver.checkpoint()), data };
  solver.dispose();
  conv.dispose();
  fc.dispose();
  return out;
}

const { conv, fc, checkpoint, data } = fixtures();

/** A refused load: a ConvcoreError from `fn` that matches `says`, and no WebAssembly memory left held. */
function expectRefused(call: () => unknown, says: RegExp, fn: string): void {
  expectConvcoreError(call, says, fn);
  expect(() => releaseMemory(), `${fn} (${says}) left memory held`).not.toThrow();
}

beforeEach(() => {
  releaseMemory();
});

describe('every loader', () => {
  it('given the text instead of the parsed object, says to JSON.parse it first', () => {
    const says = /got a string; call JSON\.parse on the text first/;
    expectRefused(() => ThreeLayerConvNet.fromJSON(JSON.stringify(conv)), says, 'ThreeLayerConvNet.fromJSON');
    expectRefused(() => FullyConnectedNet.fromJSON(JSON.stringify(fc)), says, 'FullyConnectedNet.fromJSON');
    expectRefused(() => Solver.fromCheckpoint(JSON.stringify(checkpoint), data), says, 'Solver.fromCheckpoint');
  });

  it('loads what toJSON() and checkpoint() wrote (a saved model may carry more keys), and dispose() gives it all back', () => {
    const a = ThreeLayerConvNet.fromJSON({ ...conv, meanImage: [0.5] });
    const b = FullyConnectedNet.fromJSON(fc);
    const s = Solver.fromCheckpoint(checkpoint, data);
    expect(a.loss(data.XVal).shape).toEqual([20, 4]);
    expect(b.loss(data.XVal).shape).toEqual([20, 4]);
    expect(b.runningStats.map((r) => Array.from(r.variance.data))).toEqual(fc.runningStats.map((r: Json) => r.variance.data));
    s.train({ iterations: 1 });
    expect(s.iteration).toBe(8);
    for (const m of [a, b, s.model]) m.dispose();
    s.dispose();
    expect(() => releaseMemory()).not.toThrow();
  });
});

describe('the model loaders validate before they allocate', () => {
  const cases: [string, string, RegExp, Json][] = [
    ['ThreeLayerConvNet.fromJSON', 'options missing', /json lacks options/, changed(conv, (c) => { delete c.options; })],
    ['ThreeLayerConvNet.fromJSON', 'options not an object', /json\.options must be an object, got 5/, changed(conv, (c) => { c.options = 5; })],
    ['ThreeLayerConvNet.fromJSON', 'an option missing', /json\.options lacks hiddenDim/, changed(conv, (c) => { delete c.options.hiddenDim; })],
    ['ThreeLayerConvNet.fromJSON', 'an unknown option', /json\.options has an unknown key "seed"/, changed(conv, (c) => { c.options.seed = 1; })],
    ['ThreeLayerConvNet.fromJSON', 'weightScale negative', /json\.options\.weightScale must be a non-negative finite number, got -1/, changed(conv, (c) => { c.options.weightScale = -1; })],
    ['ThreeLayerConvNet.fromJSON', 'weightScale a string', /json\.options\.weightScale must be a non-negative finite number, got "x"/, changed(conv, (c) => { c.options.weightScale = 'x'; })],
    ['ThreeLayerConvNet.fromJSON', 'hiddenDim past an i32', /json\.options\.hiddenDim must be a positive integer no larger than 2147483647, got 2147483648/, changed(conv, (c) => { c.options.hiddenDim = 2 ** 31; })],
    ['ThreeLayerConvNet.fromJSON', 'numFilters negative', /json\.options\.numFilters must be a positive integer, got -1/, changed(conv, (c) => { c.options.numFilters = -1; })],
    ['ThreeLayerConvNet.fromJSON', 'a parameter of the wrong shape', /json\.params\.b3 must have shape \(4\), got \(3\)/, changed(conv, (c) => { c.params.b3 = { shape: [3], data: [1, 2, 3] }; })],
    ['ThreeLayerConvNet.fromJSON', 'a parameter value not a number', /json\.params\.W3\.data\[2\] must be a number or one of "NaN"/, changed(conv, (c) => { c.params.W3.data[2] = 'x'; })],
    ['ThreeLayerConvNet.fromJSON', 'params null', /json\.params must be an object, got null/, changed(conv, (c) => { c.params = null; })],
    ['FullyConnectedNet.fromJSON', 'options missing', /json lacks options/, changed(fc, (c) => { delete c.options; })],
    ['FullyConnectedNet.fromJSON', 'seed a string', /json\.options\.seed must be a non-negative integer or null, got "x"/, changed(fc, (c) => { c.options.seed = 'x'; })],
    ['FullyConnectedNet.fromJSON', 'seed missing', /json\.options lacks seed/, changed(fc, (c) => { delete c.options.seed; })],
    ['FullyConnectedNet.fromJSON', 'hiddenDims not an array', /json\.options\.hiddenDims must be an array of positive integers, got 5/, changed(fc, (c) => { c.options.hiddenDims = 5; })],
    ['FullyConnectedNet.fromJSON', 'a parameter missing', /json\.params lacks gamma2 \(4\)/, changed(fc, (c) => { delete c.params.gamma2; })],
    ['FullyConnectedNet.fromJSON', 'running statistics of the wrong length', /json\.runningStats\[1\]\.variance must have shape \(4\), got \(5\)/, changed(fc, (c) => { c.runningStats[1].variance = c.runningStats[0].variance; })],
    ['FullyConnectedNet.fromJSON', 'a layer of running statistics null', /json\.runningStats\[0\] must be an object, got null/, changed(fc, (c) => { c.runningStats[0] = null; })],
    ['FullyConnectedNet.fromJSON', 'running statistics missing', /json lacks runningStats/, changed(fc, (c) => { delete c.runningStats; })],
    ['FullyConnectedNet.fromJSON', 'running statistics for too few layers', /json\.runningStats must hold the running statistics of 2 batchnorm layers, got an array of length 1/, changed(fc, (c) => { c.runningStats.pop(); })],
  ];
  for (const [fn, what, says, json] of cases) {
    it(`${fn}: ${what}`, () => {
      const load = fn === 'ThreeLayerConvNet.fromJSON' ? ThreeLayerConvNet.fromJSON : FullyConnectedNet.fromJSON;
      expectRefused(() => load(json), says, fn);
    });
  }
});

describe('a model too large for WebAssembly memory', () => {
  // The first parameters fit and are allocated; a later one does not, and they are given back.
  it('is a ConvcoreError and holds nothing: ThreeLayerConvNet with numClasses 2^31 − 1', () => {
    expectRefused(() => new ThreeLayerConvNet({ ...convOpts, hiddenDim: 1, numClasses: 2 ** 31 - 1, seed: 1 }), /more than the 4 GiB/, 'ThreeLayerConvNet');
  });

  it('is a ConvcoreError and holds nothing: FullyConnectedNet with hiddenDims [4, 2^31 − 1]', () => {
    expectRefused(() => new FullyConnectedNet({ hiddenDims: [4, 2 ** 31 - 1], inputDim: 3, seed: 1 }), /more than the 4 GiB/, 'FullyConnectedNet');
  });
});

describe('Solver.fromCheckpoint validates every field before it allocates', () => {
  const W1 = '\\(4,1,3,3\\)';
  const cases: [string, RegExp, Json, typeof data?][] = [
    ['iteration a string', /checkpoint\.iteration must be an integer in \[0, 12\] \(numEpochs 2 × 6 iterations per epoch\), got "x"/, changed(checkpoint, (c) => { c.iteration = 'x'; })],
    ['iteration negative', /checkpoint\.iteration must be an integer in \[0, 12\].*got -1000000/, changed(checkpoint, (c) => { c.iteration = -1e6; })],
    ['iteration past the end', /checkpoint\.iteration must be an integer in \[0, 12\].*got 13/, changed(checkpoint, (c) => { c.iteration = 13; })],
    ['iteration not an integer', /checkpoint\.iteration must be an integer in \[0, 12\].*got 6\.5/, changed(checkpoint, (c) => { c.iteration = 6.5; })],
    ['epoch unlike the iteration', /checkpoint\.epoch must be 1 \(⌊iteration 7 \/ 6 iterations per epoch⌋\), got 2/, changed(checkpoint, (c) => { c.epoch = 2; })],
    ['trainAccHistory a string', /checkpoint\.trainAccHistory must be an array of accuracies in \[0, 1\], got "oops"/, changed(checkpoint, (c) => { c.trainAccHistory = 'oops'; })],
    ['an accuracy out of range', /checkpoint\.valAccHistory\[1\] must be an accuracy in \[0, 1\], got 2/, changed(checkpoint, (c) => { c.valAccHistory[1] = 2; })],
    ['histories of different lengths', /checkpoint\.valAccHistory has 1 entries but trainAccHistory has 2/, changed(checkpoint, (c) => { c.valAccHistory.pop(); })],
    ['bestValAcc a string', /checkpoint\.bestValAcc must be an accuracy in \[0, 1\], got "high"/, changed(checkpoint, (c) => { c.bestValAcc = 'high'; })],
    ['bestParams of the wrong shape', new RegExp(`checkpoint\\.bestParams\\.W1 must have shape ${W1}, got \\(64,16\\)`), changed(checkpoint, (c) => { c.bestParams.W1 = c.bestParams.W2; })],
    ['bestParams lacking one', /checkpoint\.bestParams lacks b3 \(4\)/, changed(checkpoint, (c) => { delete c.bestParams.b3; })],
    ['bestParams a number', /checkpoint\.bestParams must be null or an object/, changed(checkpoint, (c) => { c.bestParams = 5; })],
    ['lossHistory with a string', /checkpoint\.lossHistory\[3\] must be a number or one of "NaN"/, changed(checkpoint, (c) => { c.lossHistory[3] = 'x'; })],
    ['optimizer state of the wrong shape', new RegExp(`checkpoint\\.optimConfigs\\.W1\\.m must have shape ${W1}`), changed(checkpoint, (c) => { c.optimConfigs.W1.m.tensor = c.optimConfigs.W2.m.tensor; })],
    ['optimizer state missing', /checkpoint\.optimConfigs\.b2 lacks v/, changed(checkpoint, (c) => { delete c.optimConfigs.b2.v; })],
    ['a learning rate missing', /checkpoint\.optimConfigs\.b2 lacks learningRate/, changed(checkpoint, (c) => { delete c.optimConfigs.b2.learningRate; })],
    ['a learning rate a string', /checkpoint\.optimConfigs\.W1: learningRate must be a non-negative finite number, got "x"/, changed(checkpoint, (c) => { c.optimConfigs.W1.learningRate = 'x'; })],
    ['Adam\'s t negative', /checkpoint\.optimConfigs\.W3: t must be a non-negative integer/, changed(checkpoint, (c) => { c.optimConfigs.W3.t = -1; })],
    ['optimConfigs lacking a parameter', /checkpoint\.optimConfigs lacks b1/, changed(checkpoint, (c) => { delete c.optimConfigs.b1; })],
    ['generator words short', /checkpoint\.generator\.words must be 4 unsigned 32-bit integers, got an array of length 3/, changed(checkpoint, (c) => { c.generator.words.pop(); })],
    ['generator spare a string', /checkpoint\.generator\.spare must be a finite number or null, got "x"/, changed(checkpoint, (c) => { c.generator.spare = 'x'; })],
    ['an optimConfig option out of range', /checkpoint\.options\.optimConfig: learningRate must be a non-negative finite number, got -1/, changed(checkpoint, (c) => { c.options.optimConfig = { learningRate: -1 }; })],
    ['an option a string', /checkpoint\.options\.batchSize must be a positive integer, got "x"/, changed(checkpoint, (c) => { c.options.batchSize = 'x'; })],
    ['an option missing', /checkpoint\.options lacks seed/, changed(checkpoint, (c) => { delete c.options.seed; })],
    ['verbose not a boolean', /checkpoint\.options\.verbose must be true or false, got "yes"/, changed(checkpoint, (c) => { c.options.verbose = 'yes'; })],
    ['a model option out of range', /checkpoint\.model\.options\.numFilters must be a positive integer, got -1/, changed(checkpoint, (c) => { c.model.options.numFilters = -1; })],
    ['a model of another type', /checkpoint\.model must be what a model's toJSON\(\) returns \(type "ThreeLayerConvNet", "FullyConnectedNet" or "Sequential"\), got type "Net"/, changed(checkpoint, (c) => { c.model.type = 'Net'; })],
    ['epoch missing', /checkpoint lacks epoch/, changed(checkpoint, (c) => { delete c.epoch; })],
    ['data unlike the model', /Solver\.fromCheckpoint: XTrain must have shape \(N,1,8,8\) to match inputDim, got \(60,64\)/, checkpoint, { ...data, XTrain: { data: data.XTrain.data, shape: [60, 64] } }],
  ];
  for (const [what, says, c, d] of cases) {
    it(what, () => {
      expectRefused(() => Solver.fromCheckpoint(c, d ?? data), says, 'Solver.fromCheckpoint');
    });
  }
});
