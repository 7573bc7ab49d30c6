/**
 * The update rules sgd, sgdMomentum, rmsprop, adam and adamw: the Wasm entry against the reference
 * loops on random shapes and configs (several steps chained through the returned config),
 * both entries against the vectors published in CS231n's FullyConnectedNets notebook,
 * adamw against torch.optim.AdamW's formula worked by hand for two steps, inputs left alone, bad inputs, the in-place helper on resident buffers, and the debug
 * module's kernel assertions.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import type { Tensor } from '../src/tensor.js';
import type { AdamConfig, AdamWConfig, RmspropConfig, SgdConfig, SgdMomentumConfig, UpdateResult } from '../src/optim.js';
import { updateResident, updateSettings, stateKeys } from '../src/optim.js';
import type { UpdateRule } from '../src/optim.js';
import { reserve, put, take, f64 } from '../src/wasm.js';
import { Rng, makeRng, randn, copy, expectClose, show, expectConvcoreError, instantiateModule } from './util.js';

interface Rules {
  sgd(w: Tensor, dw: Tensor, config?: SgdConfig): UpdateResult<SgdConfig>;
  sgdMomentum(w: Tensor, dw: Tensor, config?: SgdMomentumConfig): UpdateResult<SgdMomentumConfig>;
  rmsprop(w: Tensor, dw: Tensor, config?: RmspropConfig): UpdateResult<RmspropConfig>;
  adam(w: Tensor, dw: Tensor, config?: AdamConfig): UpdateResult<AdamConfig>;
  adamw(w: Tensor, dw: Tensor, config?: AdamWConfig): UpdateResult<AdamWConfig>;
}

type AnyConfig = Record<string, unknown>;
type Step = (w: Tensor, dw: Tensor, config?: AnyConfig) => { w: Tensor; config: AnyConfig };

const entries: [string, Rules][] = [['wasm', main], ['reference', ref]];
const RULES: UpdateRule[] = ['sgd', 'sgdMomentum', 'rmsprop', 'adam', 'adamw'];
/** The rules that count their steps (t). */
const counts = (rule: UpdateRule): boolean => rule === 'adam' || rule === 'adamw';
const step = (api: Rules, rule: UpdateRule): Step => api[rule] as unknown as Step;

const HYPER: Record<UpdateRule, string[]> = {
  sgd: ['learningRate'],
  sgdMomentum: ['learningRate', 'momentum'],
  rmsprop: ['learningRate', 'decayRate', 'epsilon'],
  adam: ['learningRate', 'beta1', 'beta2', 'epsilon'],
  adamw: ['learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay'],
};

// ---------------------------------------------------------------- against the reference

/** A shape of rank 1 to 4, with sizes around the f64x2 width (1, 2, 3, …) and a few larger. */
function randomShape(r: Rng): number[] {
  if (r.chance(0.3)) return [r.pick([1, 2, 3, 4, 5, 7, 8, 9, 17, 64])];
  const rank = r.int(2, 4);
  return Array.from({ length: rank }, () => r.int(1, 6));
}

/** Some keys random, some left to their defaults, a state given or left to start at zeros. */
function randomConfig(r: Rng, rule: UpdateRule, shape: number[]): AnyConfig {
  const c: AnyConfig = {};
  const maybe = (key: string, v: () => number) => { if (r.chance(0.7)) c[key] = v(); };
  maybe('learningRate', () => (r.chance(0.1) ? 0 : 10 ** r.uniform(-4, -0.5)));
  const unit = (lo: number, hi: number) => () => (r.chance(0.15) ? 0 : r.uniform(lo, hi));
  const squares = () => { const t = randn(r, shape); return { data: t.data.map((x) => x * x), shape: t.shape }; };
  if (rule === 'sgdMomentum') {
    maybe('momentum', unit(0.1, 0.99));
    if (r.chance(0.7)) c.velocity = randn(r, shape, 0.1);
  } else if (rule === 'rmsprop') {
    maybe('decayRate', unit(0.5, 0.999));
    maybe('epsilon', () => 10 ** r.uniform(-10, -4));
    if (r.chance(0.7)) c.cache = squares();
  } else if (counts(rule)) {
    if (rule === 'adamw') maybe('weightDecay', () => (r.chance(0.1) ? 0 : 10 ** r.uniform(-4, 0)));
    maybe('beta1', unit(0.5, 0.99));
    maybe('beta2', unit(0.9, 0.9999));
    maybe('epsilon', () => 10 ** r.uniform(-10, -4));
    if (r.chance(0.7)) c.m = randn(r, shape, 0.1);
    if (r.chance(0.7)) c.v = squares();
    if (r.chance(0.7)) c.t = r.int(0, 40);
  }
  return c;
}

/** Both entries' next config: the same keys, hyperparameters and t equal, state tensors close. */
function expectSameConfig(rule: UpdateRule, a: AnyConfig, e: AnyConfig, label: string): void {
  expect(Object.keys(a).sort(), `${label}: keys`).toEqual(Object.keys(e).sort());
  const keys = [...HYPER[rule], ...stateKeys(rule), ...(counts(rule) ? ['t'] : [])];
  expect(Object.keys(e).sort(), `${label}: every key filled in`).toEqual(keys.sort());
  for (const key of HYPER[rule]) expect(a[key], `${label}: ${key}`).toBe(e[key]);
  if (counts(rule)) expect(a.t, `${label}: t`).toBe(e.t);
  for (const key of stateKeys(rule)) expectClose(a[key] as Tensor, e[key] as Tensor, `${label}: ${key}`);
}

const STEPS = 3;

describe('update rules against the reference', () => {
  const r = makeRng(2024);
  for (const rule of RULES) {
    const cases: { shape: number[]; config: AnyConfig | undefined }[] = [
      { shape: [4, 5], config: undefined },   // every default, state from zeros
      { shape: [1], config: {} },
    ];
    for (let i = 0; i < 10; i++) {
      const shape = randomShape(r);
      cases.push({ shape, config: randomConfig(r, rule, shape) });
    }
    for (const { shape, config } of cases) {
      const label = `${rule} w (${shape.join(',')}), config ${config === undefined ? 'undefined' : show(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === 'number' ? v : 'tensor'])))}`;
      it(label, () => {
        const w0 = randn(r, shape);
        const grads = Array.from({ length: STEPS }, () => randn(r, shape, r.pick([1e-3, 1, 30])));
        let wa = w0, we = w0;
        let ca = config, ce = config;
        for (let k = 0; k < STEPS; k++) {
          const a = step(main, rule)(wa, grads[k], ca);
          const e = step(ref, rule)(we, grads[k], ce);
          expectClose(a.w, e.w, `step ${k + 1}: w`);
          expectSameConfig(rule, a.config, e.config, `step ${k + 1}`);
          wa = a.w; we = e.w; ca = a.config; ce = e.config;
        }
        if (counts(rule)) expect(ca!.t).toBe(((config?.t as number | undefined) ?? 0) + STEPS);
      });
    }
  }

  it('sgd by hand: w − lr·dw with the default learning rate 1e-2', () => {
    // 1 − 0.01·10 = 0.9,  −2 − 0.01·(−50) = −1.5,  0.5 − 0.01·0 = 0.5
    const w = main.tensor([1, -2, 0.5], [3]), dw = main.tensor([10, -50, 0], [3]);
    for (const [entry, api] of entries) {
      const { w: next, config } = api.sgd(w, dw);
      expect(Array.from(next.data), entry).toEqual([0.9, -1.5, 0.5]);
      expect(config, entry).toEqual({ learningRate: 1e-2 });
    }
  });
});

// ---------------------------------------------------------------- CS231n's notebook

/** numpy.linspace(start, stop, num): start + i·step, and the last entry exactly stop. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const step = (stop - start) / (num - 1);
  const y = Float64Array.from({ length: num }, (_, i) => start + i * step);
  y[num - 1] = stop;
  return y;
}

const T45 = (data: Float64Array | number[]): Tensor => ({ data: Float64Array.from(data), shape: [4, 5] });

/**
 * The notebook prints its expected arrays with 8 decimals, so each printed entry is within
 * half a unit of the 8th decimal, 5e-9, of the exact value. (Its own check, a relative error
 * around 1e-7, is looser than that for most entries and tighter than rounding allows for the
 * smallest ones, such as 0.01971428.)
 */
const PRINTED = 5e-9;

function expectPrinted(actual: Tensor, expected: number[], label: string): void {
  expect(Array.from(actual.shape), `${label}: shape`).toEqual([4, 5]);
  let worst = 0;
  for (let i = 0; i < 20; i++) worst = Math.max(worst, Math.abs(actual.data[i] - expected[i]));
  expect(worst, `${label}: largest difference from the printed value`).toBeLessThanOrEqual(PRINTED);
}

// CS231n assignment 2, FullyConnectedNets.ipynb, the cells that test sgd_momentum, rmsprop
// and adam: N, D = 4, 5; w = linspace(-0.4, 0.6, 20), dw = linspace(-0.6, 0.4, 20), both (4,5).
const W = T45(linspace(-0.4, 0.6, 20));
const DW = T45(linspace(-0.6, 0.4, 20));

// sgd_momentum with learning_rate 1e-3, velocity = linspace(0.6, 0.9, 20)
const MOMENTUM_NEXT_W = [
  0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789,
  0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526,
  0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263,
  1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096];
const MOMENTUM_VELOCITY = [
  0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158,
  0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105,
  0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053,
  0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096];

// rmsprop with learning_rate 1e-2, cache = linspace(0.6, 0.9, 20)
const RMSPROP_NEXT_W = [
  -0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247,
  -0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774,
  0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447,
  0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619];
const RMSPROP_CACHE = [
  0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321,
  0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377,
  0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936,
  0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926];

// adam with learning_rate 1e-2, m = linspace(0.6, 0.9, 20), v = linspace(0.7, 0.5, 20), t = 5
const ADAM_NEXT_W = [
  -0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977,
  -0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929,
  0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969,
  0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459];
const ADAM_V = [
  0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853,
  0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385,
  0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767,
  0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966];
const ADAM_M = [
  0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474,
  0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316,
  0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158,
  0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85];

for (const [entry, api] of entries) {
  describe(`CS231n FullyConnectedNets notebook vectors (${entry})`, () => {
    it('sgdMomentum: next_w and velocity', () => {
      const { w, config } = api.sgdMomentum(W, DW, { learningRate: 1e-3, velocity: T45(linspace(0.6, 0.9, 20)) });
      expectPrinted(w, MOMENTUM_NEXT_W, 'next_w');
      expectPrinted(config.velocity, MOMENTUM_VELOCITY, 'velocity');
      expect(config.momentum).toBe(0.9);
    });

    it('rmsprop: next_w and cache', () => {
      const { w, config } = api.rmsprop(W, DW, { learningRate: 1e-2, cache: T45(linspace(0.6, 0.9, 20)) });
      expectPrinted(w, RMSPROP_NEXT_W, 'next_w');
      expectPrinted(config.cache, RMSPROP_CACHE, 'cache');
      expect([config.decayRate, config.epsilon]).toEqual([0.99, 1e-8]);
    });

    it('adam: next_w, v and m, the step taken with t = 6', () => {
      const { w, config } = api.adam(W, DW, {
        learningRate: 1e-2, m: T45(linspace(0.6, 0.9, 20)), v: T45(linspace(0.7, 0.5, 20)), t: 5,
      });
      expectPrinted(w, ADAM_NEXT_W, 'next_w');
      expectPrinted(config.v, ADAM_V, 'v');
      expectPrinted(config.m, ADAM_M, 'm');
      expect(config.t).toBe(6);
      expect([config.beta1, config.beta2, config.epsilon]).toEqual([0.9, 0.999, 1e-8]);
    });

    // torch.optim.AdamW's formula by hand, two steps: lr 0.1, weightDecay 0.5, beta1 0.5,
    // beta2 0.75, epsilon 0 (so that the numbers come out in closed form); w0 = [1, −2],
    // dw1 = [0.5, −1], dw2 = [0.25, 2]. Each step first decays w by 1 − lr·wd = 0.95.
    // Step 1 (t = 1): w = 0.95·[1, −2] = [0.95, −1.9]; m = 0.5·dw1 = [0.25, −0.5];
    //   v = 0.25·dw1² = [0.0625, 0.25]; m̂ = m / 0.5 = [0.5, −1]; v̂ = v / 0.25 = [0.25, 1];
    //   lr·m̂ / √v̂ = 0.1·[1, −1]; w1 = [0.85, −1.8].
    // Step 2 (t = 2): w = 0.95·[0.85, −1.8] = [0.8075, −1.71];
    //   m = 0.5·[0.25, −0.5] + 0.5·[0.25, 2] = [0.25, 0.75];
    //   v = 0.75·[0.0625, 0.25] + 0.25·[0.0625, 4] = [0.0625, 1.1875];
    //   1 − 0.5² = 0.75, 1 − 0.75² = 0.4375: m̂ = [1/3, 1], v̂ = [0.0625/0.4375, 1.1875/0.4375] = [1/7, 19/7];
    //   lr·m̂ / √v̂ = [0.1·√7 / 3, 0.1·√(7/19)] = [0.08819171036881969, 0.06069769786668839];
    //   w2 = [0.8075 − 0.08819171036881969, −1.71 − 0.06069769786668839]
    //      = [0.7193082896311803, −1.7706976978666884].
    it('adamw: two steps of torch.optim.AdamW\'s formula worked by hand', () => {
      const cfg = { learningRate: 0.1, weightDecay: 0.5, beta1: 0.5, beta2: 0.75, epsilon: 0 };
      const one = api.adamw({ data: Float64Array.of(1, -2), shape: [2] }, { data: Float64Array.of(0.5, -1), shape: [2] }, cfg);
      const expectNear = (got: ArrayLike<number>, want: number[], what: string) => {
        want.forEach((x, i) => expect(Math.abs(got[i] - x), `${what}[${i}]: ${got[i]}, want ${x}`).toBeLessThan(1e-15));
      };
      expectNear(one.w.data, [0.85, -1.8], 'w1');
      expectNear(one.config.m.data, [0.25, -0.5], 'm1');
      expectNear(one.config.v.data, [0.0625, 0.25], 'v1');
      expect(one.config.t).toBe(1);
      const two = api.adamw(one.w, { data: Float64Array.of(0.25, 2), shape: [2] }, one.config);
      expectNear(two.w.data, [0.7193082896311803, -1.7706976978666884], 'w2');
      expectNear(two.config.m.data, [0.25, 0.75], 'm2');
      expectNear(two.config.v.data, [0.0625, 1.1875], 'v2');
      expect(two.config.t).toBe(2);
      expect(two.config.weightDecay).toBe(0.5);
      // The defaults are torch.optim.AdamW's, CS231n's adam's with weightDecay 1e-2.
      const d = api.adamw(one.w, one.w).config;
      expect([d.learningRate, d.beta1, d.beta2, d.epsilon, d.weightDecay, d.t]).toEqual([1e-3, 0.9, 0.999, 1e-8, 1e-2, 1]);
    });

    it('adam: the check above tells the step with t = 6 from one with t = 5', () => {
      // Counting t up after the step instead (t = 5 here) moves next_w by far more than the printed digits.
      const { w } = api.adam(W, DW, {
        learningRate: 1e-2, m: T45(linspace(0.6, 0.9, 20)), v: T45(linspace(0.7, 0.5, 20)), t: 4,
      });
      let worst = 0;
      for (let i = 0; i < 20; i++) worst = Math.max(worst, Math.abs(w.data[i] - ADAM_NEXT_W[i]));
      expect(worst).toBeGreaterThan(100 * PRINTED);
    });
  });
}

// ---------------------------------------------------------------- inputs left alone

function fullConfig(r: Rng, rule: UpdateRule, shape: number[]): AnyConfig {
  const state = Object.fromEntries(stateKeys(rule).map((key) => [key, { data: randn(r, shape).data.map(Math.abs), shape: shape.slice() }]));
  const hyper: Record<UpdateRule, AnyConfig> = {
    sgd: { learningRate: 0.1 },
    sgdMomentum: { learningRate: 0.1, momentum: 0.5 },
    rmsprop: { learningRate: 0.1, decayRate: 0.9, epsilon: 1e-6 },
    adam: { learningRate: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, t: 3 },
    adamw: { learningRate: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.3, t: 3 },
  };
  return { ...hyper[rule], ...state };
}

function snapshot(config: AnyConfig): AnyConfig {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === 'number' ? v : copy(v as Tensor)]));
}

describe('inputs are not mutated and results are fresh', () => {
  const r = makeRng(7);
  const wasmBuffer = () => f64(0, 1).buffer;
  for (const rule of RULES) {
    for (const [entry, api] of entries) {
      it(`${rule} (${entry})`, () => {
        const shape = [3, 5];
        const w = randn(r, shape), dw = randn(r, shape);
        const config = fullConfig(r, rule, shape);
        const [w0, dw0, config0] = [copy(w), copy(dw), snapshot(config)];
        const tensors = Object.fromEntries(Object.entries(config).filter(([, v]) => typeof v !== 'number'));
        const out = step(api, rule)(w, dw, config);
        expect(w).toEqual(w0);
        expect(dw).toEqual(dw0);
        expect(config).toEqual(config0);
        for (const [k, t] of Object.entries(tensors)) expect(config[k], `config.${k} is the same object`).toBe(t);
        expect(out.config).not.toBe(config);
        const results = [out.w, ...stateKeys(rule).map((k) => out.config[k] as Tensor)];
        for (const t of results) {
          expect(t.data).not.toBe(w.data);
          expect(t.data).not.toBe(dw.data);
          for (const given of Object.values(tensors)) expect(t.data).not.toBe((given as Tensor).data);
          expect(t.data.buffer).not.toBe(wasmBuffer());
          expect(t.shape).not.toBe(w.shape);
        }
      });
    }
  }
});

// ---------------------------------------------------------------- bad inputs

interface BadCase {
  what: string;
  rules: UpdateRule[];
  /** The argument the message must name, and what else it must say. */
  says: RegExp;
  args(rule: UpdateRule): [unknown, unknown, unknown];
}

const r0 = makeRng(99);
const w45 = randn(r0, [4, 5]), dw45 = randn(r0, [4, 5]);
const raw = (data: unknown, shape: unknown): Tensor => ({ data, shape } as unknown as Tensor);

const badCases: BadCase[] = [
  { what: 'dw shaped unlike w', rules: RULES, says: /dw must have shape \(4,5\) \(the shape of w\), got \(5,4\)/, args: () => [w45, randn(r0, [5, 4]), {}] },
  { what: 'dw with as many entries but another rank', rules: RULES, says: /dw must have shape \(4,5\).*got \(20\)/, args: () => [w45, randn(r0, [20]), undefined] },
  { what: 'w not a Tensor', rules: RULES, says: /w must be a Tensor \{data, shape\}, got a Float64Array of length 20/, args: () => [w45.data, dw45, {}] },
  { what: 'w.data a Float32Array', rules: RULES, says: /w\.data must be a Float64Array, got a Float32Array/, args: () => [raw(new Float32Array(20), [4, 5]), dw45, {}] },
  { what: 'dw missing', rules: RULES, says: /dw must be a Tensor.*got undefined/, args: () => [w45, undefined, {}] },
  { what: 'learningRate NaN', rules: RULES, says: /learningRate must be a non-negative finite number, got NaN/, args: () => [w45, dw45, { learningRate: NaN }] },
  { what: 'learningRate Infinity', rules: RULES, says: /learningRate must be a non-negative finite number, got Infinity/, args: () => [w45, dw45, { learningRate: Infinity }] },
  { what: 'learningRate -1', rules: RULES, says: /learningRate must be a non-negative finite number, got -1/, args: () => [w45, dw45, { learningRate: -1 }] },
  { what: 'learningRate a string', rules: RULES, says: /learningRate must be a non-negative finite number, got .*0\.1/, args: () => [w45, dw45, { learningRate: '0.1' }] },
  { what: 'momentum 1', rules: ['sgdMomentum'], says: /momentum must be a number in \[0, 1\), got 1/, args: () => [w45, dw45, { momentum: 1 }] },
  { what: 'momentum -0.1', rules: ['sgdMomentum'], says: /momentum must be a number in \[0, 1\), got -0\.1/, args: () => [w45, dw45, { momentum: -0.1 }] },
  { what: 'decayRate NaN', rules: ['rmsprop'], says: /decayRate must be a number in \[0, 1\), got NaN/, args: () => [w45, dw45, { decayRate: NaN }] },
  { what: 'beta1 1', rules: ['adam', 'adamw'], says: /beta1 must be a number in \[0, 1\), got 1/, args: () => [w45, dw45, { beta1: 1 }] },
  { what: 'beta2 1.5', rules: ['adam', 'adamw'], says: /beta2 must be a number in \[0, 1\), got 1\.5/, args: () => [w45, dw45, { beta2: 1.5 }] },
  { what: 'epsilon -1e-8', rules: ['rmsprop', 'adam', 'adamw'], says: /epsilon must be a non-negative finite number, got -1e-8/, args: () => [w45, dw45, { epsilon: -1e-8 }] },
  { what: 'epsilon Infinity', rules: ['rmsprop', 'adam', 'adamw'], says: /epsilon must be a non-negative finite number, got Infinity/, args: () => [w45, dw45, { epsilon: Infinity }] },
  { what: 'velocity of the wrong shape', rules: ['sgdMomentum'], says: /velocity must have shape \(4,5\) \(the shape of w\), got \(4,4\)/, args: () => [w45, dw45, { velocity: randn(r0, [4, 4]) }] },
  { what: 'velocity a Float64Array', rules: ['sgdMomentum'], says: /velocity must be a Tensor \{data, shape\}, got a Float64Array/, args: () => [w45, dw45, { velocity: new Float64Array(20) }] },
  { what: 'cache of the wrong shape', rules: ['rmsprop'], says: /cache must have shape \(4,5\).*got \(5,4\)/, args: () => [w45, dw45, { cache: randn(r0, [5, 4]) }] },
  { what: 'cache null', rules: ['rmsprop'], says: /cache must be a Tensor.*got null/, args: () => [w45, dw45, { cache: null }] },
  { what: 'm of the wrong shape', rules: ['adam', 'adamw'], says: /m must have shape \(4,5\).*got \(4,5,1\)/, args: () => [w45, dw45, { m: randn(r0, [4, 5, 1]) }] },
  { what: 'v of the wrong shape', rules: ['adam', 'adamw'], says: /v must have shape \(4,5\).*got \(3\)/, args: () => [w45, dw45, { v: randn(r0, [3]) }] },
  { what: 'v a plain array', rules: ['adam', 'adamw'], says: /v must be a Tensor.*got an array of length 20/, args: () => [w45, dw45, { v: new Array(20).fill(0) }] },
  { what: 't = -1', rules: ['adam', 'adamw'], says: /t must be a non-negative integer.*got -1/, args: () => [w45, dw45, { t: -1 }] },
  { what: 't = 1.5', rules: ['adam', 'adamw'], says: /t must be a non-negative integer.*got 1\.5/, args: () => [w45, dw45, { t: 1.5 }] },
  { what: 't = NaN', rules: ['adam', 'adamw'], says: /t must be a non-negative integer.*got NaN/, args: () => [w45, dw45, { t: NaN }] },
  { what: 'config a number', rules: RULES, says: /config must be an object, got .*0\.01/, args: () => [w45, dw45, 0.01] },
  { what: 'config null', rules: RULES, says: /config must be an object, got null/, args: () => [w45, dw45, null] },
  { what: 'unknown key (snake_case)', rules: ['sgd'], says: /config has an unknown key "learning_rate"; the valid keys are learningRate$/, args: () => [w45, dw45, { learning_rate: 1e-3 }] },
  { what: 'unknown key', rules: ['sgdMomentum'], says: /config has an unknown key "lr"; the valid keys are learningRate, momentum, velocity$/, args: () => [w45, dw45, { lr: 1e-3 }] },
  { what: 'another rule\'s key', rules: ['rmsprop'], says: /config has an unknown key "momentum"; the valid keys are learningRate, decayRate, epsilon, cache$/, args: () => [w45, dw45, { momentum: 0.9 }] },
  { what: 'adam given t in a rule without one', rules: ['sgd', 'sgdMomentum', 'rmsprop'], says: /config has an unknown key "t"/, args: () => [w45, dw45, { t: 1 }] },
  { what: 'weightDecay -0.1', rules: ['adamw'], says: /weightDecay must be a non-negative finite number, got -0\.1/, args: () => [w45, dw45, { weightDecay: -0.1 }] },
  { what: 'weightDecay given to adam', rules: ['adam'], says: /config has an unknown key "weightDecay"; the valid keys are learningRate, beta1, beta2, epsilon, m, v, t$/, args: () => [w45, dw45, { weightDecay: 0.1 }] },
  { what: 'unknown key for adamw', rules: ['adamw'], says: /config has an unknown key "decay"; the valid keys are learningRate, beta1, beta2, epsilon, weightDecay, m, v, t$/, args: () => [w45, dw45, { decay: 0.1 }] },
  { what: 'unknown key for adam', rules: ['adam'], says: /config has an unknown key "beta"; the valid keys are learningRate, beta1, beta2, epsilon, m, v, t$/, args: () => [w45, dw45, { beta: 0.9 }] },
];

describe('bad inputs: a ConvcoreError that names the function and the argument', () => {
  for (const c of badCases) {
    for (const rule of c.rules) {
      for (const [entry, api] of entries) {
        it(`${rule} (${entry}): ${c.what}`, () => {
          const [w, dw, config] = c.args(rule);
          expectConvcoreError(() => step(api, rule)(w as Tensor, dw as Tensor, config as AnyConfig), c.says, rule);
        });
      }
    }
  }

  it('after all of them the Wasm entry still computes what the reference does', () => {
    for (const rule of RULES) {
      const config = fullConfig(r0, rule, [4, 5]);
      const a = step(main, rule)(w45, dw45, config);
      const e = step(ref, rule)(w45, dw45, config);
      expectClose(a.w, e.w, `${rule} w`);
      expectSameConfig(rule, a.config, e.config, rule);
    }
  });
});

// ---------------------------------------------------------------- resident buffers

describe('updateResident: in place on buffers already in Wasm memory', () => {
  const r = makeRng(31);
  for (const rule of RULES) {
    it(`${rule} equals the functional API, n = 1, 2, 3, 5, 8, 9`, () => {
      for (const n of [1, 2, 3, 5, 8, 9]) {
        const w = randn(r, [n]), dw = randn(r, [n]);
        const config = fullConfig(r, rule, [n]);
        const expected = step(main, rule)(w, dw, config);
        const keys = stateKeys(rule);
        const [pw, pdw, ...ps] = reserve('test', [n * 8, n * 8, ...keys.map(() => n * 8)]);
        put(pw, w.data);
        put(pdw, dw.data);
        keys.forEach((key, i) => put(ps[i], (config[key] as Tensor).data));
        const settings = updateSettings(rule, rule, config);
        const next = updateResident(settings, { w: pw, dw: pdw, state: ps, n });
        expect(Array.from(take(pw, n)), `n = ${n}: w`).toEqual(Array.from(expected.w.data));
        keys.forEach((key, i) => {
          expect(Array.from(take(ps[i], n)), `n = ${n}: ${key}`).toEqual(Array.from((expected.config[key] as Tensor).data));
        });
        expect(Array.from(take(pdw, n)), `n = ${n}: dw is only read`).toEqual(Array.from(dw.data));
        if (counts(rule)) expect((next as { t: number }).t).toBe(expected.config.t);
        else expect(next).toBe(settings);
      }
    });
  }

  it('refuses the wrong number of state buffers', () => {
    const s = updateSettings('adam', 'adam', {});
    expect(() => updateResident(s, { w: 0, dw: 0, state: [0], n: 1 })).toThrow(/adam needs 2 state buffers, got 1/);
  });
});

// ---------------------------------------------------------------- the debug module's checks

describe('kernels of the debug module (assertions kept)', () => {
  const k = instantiateModule(new URL('../build/convcore.debug.wasm', import.meta.url));
  const n = 7;
  const base = Math.ceil(k.heap_base() / 64) * 64;
  const at = (i: number) => base + i * 64 * 8;   // five buffers of n ≤ 64 entries
  const view = (p: number) => new Float64Array(k.memory.buffer, p, n);

  it('compute what the reference does on an odd n', () => {
    const r = makeRng(5);
    for (const rule of RULES) {
      const w = randn(r, [n]), dw = randn(r, [n]);
      const config = fullConfig(r, rule, [n]);
      const e = step(ref, rule)(w, dw, config);
      const keys = stateKeys(rule);
      view(at(0)).set(w.data);
      view(at(1)).set(dw.data);
      keys.forEach((key, i) => view(at(2 + i)).set((config[key] as Tensor).data));
      const s = config as Record<string, number>;
      if (rule === 'sgd') k.sgd_step(at(0), at(1), n, s.learningRate);
      if (rule === 'sgdMomentum') k.momentum_step(at(0), at(1), at(2), n, s.learningRate, s.momentum);
      if (rule === 'rmsprop') k.rmsprop_step(at(0), at(1), at(2), n, s.learningRate, s.decayRate, s.epsilon);
      if (rule === 'adam') k.adam_step(at(0), at(1), at(2), at(3), n, s.learningRate, s.beta1, s.beta2, s.epsilon, s.t + 1);
      if (rule === 'adamw') k.adamw_step(at(0), at(1), at(2), at(3), n, s.learningRate, s.beta1, s.beta2, s.epsilon, s.t + 1, s.weightDecay);
      expectClose({ data: view(at(0)).slice(), shape: [n] }, e.w, `${rule} w`);
      keys.forEach((key, i) => expectClose({ data: view(at(2 + i)).slice(), shape: [n] }, e.config[key] as Tensor, `${rule} ${key}`));
    }
  });

  it('assert n > 0, every buffer inside memory, and t ≥ 1', () => {
    const end = k.memory.buffer.byteLength;
    const calls: [string, () => void][] = [
      ['sgd n = 0', () => k.sgd_step(at(0), at(1), 0, 0.1)],
      ['sgd w past the end', () => k.sgd_step(end - 8, at(1), 2, 0.1)],
      ['momentum v past the end', () => k.momentum_step(at(0), at(1), end, 1, 0.1, 0.9)],
      ['rmsprop n < 0', () => k.rmsprop_step(at(0), at(1), at(2), -1, 0.1, 0.9, 1e-8)],
      ['rmsprop dw wrapping around', () => k.rmsprop_step(at(0), 0xfffffff8, at(2), 2, 0.1, 0.9, 1e-8)],
      ['adam m past the end', () => k.adam_step(at(0), at(1), end - 16, at(3), 3, 0.1, 0.9, 0.99, 1e-8, 1)],
      ['adam t = 0', () => k.adam_step(at(0), at(1), at(2), at(3), n, 0.1, 0.9, 0.99, 1e-8, 0)],
      ['adamw v past the end', () => k.adamw_step(at(0), at(1), at(2), end - 8, 2, 0.1, 0.9, 0.99, 1e-8, 1, 0.01)],
      ['adamw t = 0', () => k.adamw_step(at(0), at(1), at(2), at(3), n, 0.1, 0.9, 0.99, 1e-8, 0, 0.01)],
    ];
    for (const [what, call] of calls) expect(call, what).toThrow(/kernel assertion failed/);
    // The last entry of memory is inside it.
    expect(() => k.sgd_step(end - 8, at(1), 1, 0.1)).not.toThrow();
  });
});
