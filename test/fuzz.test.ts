/**
 * The loaders fuzzed: valid model JSON and checkpoints, each with one field at a random path
 * (options, parameters, running statistics, optimizer state, histories, the generator…)
 * deleted or replaced by null, a string, −1, 1e300, 2³¹, NaN, an array or an object. Each
 * load must give a ConvcoreError or an object that works (a model's loss(), a solver's
 * step(), then dispose()), never another error or a hang, and releaseMemory() must succeed
 * after it. The generator is seeded (CONVCORE_FUZZ_SEED overrides the seed); a failure names
 * the seed, the case, the mutation and the path.
 */
import { describe, it, expect } from 'vitest';
import { ThreeLayerConvNet, FullyConnectedNet, Sequential, Solver, layers, releaseMemory, tensor } from '../src/index.js';
import { ConvcoreError } from '../src/errors.js';
import { makeRng, randn, expectConvcoreError } from './util.js';
import type { Rng } from './util.js';
import { smallProblem, convOpts } from './nn-fixtures.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Path = (string | number)[];

const SEED = Number(process.env.CONVCORE_FUZZ_SEED ?? 2024);
const CASES = 300;
/** Longer than any load and use of these small objects takes by far. */
const SLOW_MS = 2000;

const clone = (j: unknown): Json => JSON.parse(JSON.stringify(j));

/**
 * Every field of the tree as a path with each array index written as -1 (an array's entries
 * have the structure of its first), so that each field is as likely to be picked, whatever the
 * length of the arrays: the type, an option, a parameter's shape or one of its values, a
 * history entry, a word of the generator…
 */
function fields(node: Json, prefix: Path = []): Path[] {
  if (node === null || typeof node !== 'object') return [];
  const keys: (string | number)[] = Array.isArray(node) ? (node.length > 0 ? [-1] : []) : Object.keys(node);
  return keys.flatMap((k) => [[...prefix, k], ...fields(k === -1 ? node[0] : node[k], [...prefix, k])]);
}

/**
 * A random path: half the time to one of `all` (every field as likely), with a random index
 * at each array; half the time a walk from the root, a random child at each step (every key of
 * the root as likely), that stops at a leaf or, with chance 1/4, earlier.
 */
function randomPath(r: Rng, root: Json, all: Path[]): Path {
  let node = root;
  const step = (k: string | number): string | number => {
    const key = k === -1 ? r.int(0, node.length - 1) : k;
    node = node[key];
    return key;
  };
  if (r.chance(0.5)) return r.pick(all).map(step);
  const path: Path = [];
  while (node !== null && typeof node === 'object' && Object.keys(node).length > 0 && (path.length === 0 || !r.chance(0.25))) {
    path.push(step(Array.isArray(node) ? -1 : r.pick(Object.keys(node))));
  }
  return path;
}

function pathString(root: string, path: Path): string {
  return root + path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
}

const REPLACEMENTS: [string, () => unknown][] = [
  ['null', () => null], ['a string', () => 'x'], ['-1', () => -1], ['1e300', () => 1e300], ['2^31', () => 2 ** 31],
  ['NaN', () => NaN], ['an array', () => [1, 2]], ['an object', () => ({})],
];

/** A copy of `json` with one of its fields (`all`) deleted or replaced; says which. */
function mutate(r: Rng, json: unknown, all: Path[], root: string): { json: Json; what: string } {
  const copy = clone(json);
  const path = randomPath(r, copy, all);
  const parent = path.slice(0, -1).reduce((node: Json, k) => node[k], copy);
  const key = path[path.length - 1];
  const kind = r.int(0, REPLACEMENTS.length);
  if (kind === REPLACEMENTS.length) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
    return { json: copy, what: `${pathString(root, path)} deleted` };
  }
  const [name, value] = REPLACEMENTS[kind];
  parent[key] = value();
  return { json: copy, what: `${pathString(root, path)} replaced by ${name}` };
}

/** What a loaded object is tried with, and how it is given back. */
interface Loaded {
  use(): void;
  dispose(): void;
}

/** '' when the load is refused with a ConvcoreError or gives an object that works; else what went wrong. */
function outcome(load: () => Loaded): { problem: string; refused: boolean } {
  let loaded: Loaded;
  try {
    loaded = load();
  } catch (e) {
    return e instanceof ConvcoreError ? { problem: '', refused: true } : { problem: `${(e as Error).name}: ${(e as Error).message}`, refused: false };
  }
  try {
    loaded.use();
  } catch (e) {
    return { problem: `loaded, then ${(e as Error).name} when used: ${(e as Error).message}`, refused: false };
  } finally {
    loaded.dispose();
  }
  return { problem: '', refused: false };
}

/**
 * Loads CASES mutations of `json` and returns the problems, one line each: another error
 * than a ConvcoreError, an object that does not work, memory left held, or a slow case.
 */
function fuzz(name: string, json: unknown, load: (j: Json) => Loaded): { problems: string[]; refused: number } {
  const r = makeRng(SEED);
  const all = fields(json);
  const problems: string[] = [];
  let refused = 0;
  for (let i = 0; i < CASES; i++) {
    const { json: mutated, what } = mutate(r, json, all, name);
    const start = performance.now();
    const o = outcome(() => load(mutated));
    const ms = performance.now() - start;
    const held = (() => { try { releaseMemory(); return ''; } catch (e) { return (e as Error).message; } })();
    const label = `seed ${SEED} case ${i}: ${what}`;
    if (o.problem) problems.push(`${label}: ${o.problem}`);
    if (held) problems.push(`${label}: releaseMemory() afterwards: ${held}`);
    if (ms > SLOW_MS) problems.push(`${label}: took ${ms.toFixed(0)} ms`);
    if (o.refused) refused++;
  }
  return { problems, refused };
}

/** Two rows shaped for a model, and labels for them. */
function batchFor(m: ThreeLayerConvNet | FullyConnectedNet | Sequential): { X: ReturnType<typeof randn>; y: number[] } {
  const shape = m instanceof ThreeLayerConvNet ? [2, ...m.inputDim] : m instanceof Sequential ? [2, ...m.inputShape] : [2, m.inputDim];
  return { X: randn(makeRng(1), shape), y: [0, m.numClasses - 1] };
}

function usedModel(m: ThreeLayerConvNet | FullyConnectedNet | Sequential): Loaded {
  return {
    use: () => {
      const { X, y } = batchFor(m);
      m.loss(X);
      m.loss(X, y);
    },
    dispose: () => m.dispose(),
  };
}

function usedSolver(s: Solver): Loaded {
  return {
    use: () => { s.step(); },
    dispose: () => { s.dispose(); s.model.dispose(); },
  };
}

/** The valid JSON the mutations start from, with what made it disposed. */
function sources() {
  const { data } = smallProblem(3);
  const conv = new ThreeLayerConvNet({ ...convOpts, seed: 1 });
  const fc = new FullyConnectedNet({ hiddenDims: [5, 4], inputDim: 64, numClasses: 4, normalization: 'batchnorm', dropoutKeepRatio: 0.8, seed: 2 });
  const adam = new Solver(conv, data, { updateRule: 'adam', lrDecay: 0.9, batchSize: 10, numEpochs: 2, verbose: false, seed: 4 });
  adam.train({ iterations: 7 });
  const rmsprop = new Solver(fc, data, { updateRule: 'rmsprop', batchSize: 20, numEpochs: 2, verbose: false, seed: 5 });
  rmsprop.train({ iterations: 4 });
  const conv2 = new ThreeLayerConvNet({ ...convOpts, seed: 3 });
  const adamw = new Solver(conv2, data, {
    updateRule: 'adamw', optimConfig: { weightDecay: 0.1 }, lrSchedule: { type: 'cosine', warmupEpochs: 0.5, minLr: 1e-5 }, clipNorm: 1, patience: 2,
    batchSize: 10, numEpochs: 3, verbose: false, seed: 8,
  });
  adamw.train({ iterations: 8 });
  const L = layers;
  const seq = new Sequential([
    L.conv(3, 3, { pad: 1, bias: false }), L.spatialBatchnorm(), L.relu(), L.residual([L.conv(3, 3, { pad: 1 }), L.relu()]),
    L.maxPool(2), L.dropout(0.9, { seed: 1 }), L.affine(4),
  ], { inputShape: convOpts.inputDim, seed: 6 });
  const sgd = new Solver(seq, data, { updateRule: 'sgdMomentum', batchSize: 10, numEpochs: 2, verbose: false, seed: 7 });
  sgd.train({ iterations: 5 });
  const out = {
    data, conv: clone(conv.toJSON()), fc: clone(fc.toJSON()), adam: clone(adam.checkpoint()), rmsprop: clone(rmsprop.checkpoint()), adamw: clone(adamw.checkpoint()),
    seq: clone(seq.toJSON()), sgd: clone(sgd.checkpoint()),
  };
  for (const x of [adam, rmsprop, adamw, sgd, conv, conv2, fc, seq]) x.dispose();
  return out;
}

describe(`fuzzed loaders (${CASES} mutations each, seed ${SEED})`, () => {
  const src = sources();
  const loaders: [string, unknown, (j: Json) => Loaded][] = [
    ['ThreeLayerConvNet.fromJSON(json)', src.conv, (j) => usedModel(ThreeLayerConvNet.fromJSON(j))],
    ['FullyConnectedNet.fromJSON(json)', src.fc, (j) => usedModel(FullyConnectedNet.fromJSON(j))],
    ['Solver.fromCheckpoint(adam checkpoint of a ThreeLayerConvNet)', src.adam, (j) => usedSolver(Solver.fromCheckpoint(j, src.data))],
    ['Solver.fromCheckpoint(rmsprop checkpoint of a FullyConnectedNet)', src.rmsprop, (j) => usedSolver(Solver.fromCheckpoint(j, src.data))],
    ['Solver.fromCheckpoint(adamw checkpoint with a cosine schedule, clipNorm and patience)', src.adamw, (j) => usedSolver(Solver.fromCheckpoint(j, src.data))],
    ['Sequential.fromJSON(json)', src.seq, (j) => usedModel(Sequential.fromJSON(j))],
    ['Solver.fromCheckpoint(sgdMomentum checkpoint of a Sequential)', src.sgd, (j) => usedSolver(Solver.fromCheckpoint(j, src.data))],
  ];
  for (const [name, json, load] of loaders) {
    it(`${name}: a ConvcoreError or an object that works, and no memory held after`, () => {
      expect(outcome(() => load(json)), 'the unmutated JSON loads and works').toEqual({ problem: '', refused: false });
      const { problems, refused } = fuzz(name.slice(0, name.indexOf('(')) === 'Solver.fromCheckpoint' ? 'checkpoint' : 'json', json, load);
      expect(problems.length, `${problems.length} problems, the first ones:\n${problems.slice(0, 30).join('\n')}\n`).toBe(0);
      // Both outcomes occur: most mutations are refused, and some (a parameter value, a history entry) still load.
      expect(refused, 'refused').toBeGreaterThan(CASES / 2);
      expect(refused, 'refused').toBeLessThan(CASES);
    });
  }
});

describe('tensor() takes numbers only', () => {
  it("tensor(['7', null, {}, true], [4]) is refused, not coerced to [7, 0, NaN, 1]", () => {
    expectConvcoreError(() => tensor(['7', null, {}, true] as never, [4]), /tensor: data\[0\] must be a number, got "7"/, 'tensor');
    expectConvcoreError(() => tensor([1, 2, null] as never, [3]), /tensor: data\[2\] must be a number, got null/, 'tensor');
    // eslint-disable-next-line no-sparse-arrays
    expectConvcoreError(() => tensor([1, , 3] as never, [3]), /tensor: data\[1\] must be a number, got undefined/, 'tensor');
    expect(Array.from(tensor([1, NaN, -Infinity], [3]).data)).toEqual([1, NaN, -Infinity]);
  });
});
