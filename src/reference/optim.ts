import { fail } from '../errors.js';
import { Tensor, checkTensor, checkSameShape, describe, make } from '../tensor.js';
import { checkKeys } from '../params.js';

/**
 * The update rules of CS231n's optim.py, with its defaults under camelCase keys, and
 * torch.optim.AdamW's (adamw, at the end). Each takes
 * w, dw and a config, and returns the next w and the next config: a new object with every
 * key filled in, the state (velocity, cache, m, v) as Tensors shaped like w. Nothing given
 * is modified. A missing state starts at zeros.
 *
 * Ranges: learningRate and epsilon are finite and ≥ 0; momentum, decayRate, beta1 and beta2
 * are in [0, 1) (at 1 Adam's bias correction 1 − βᵗ is 0); t is an integer ≥ 0.
 *
 * The parsing of the configs lives here, and the Wasm entry (src/optim.ts) uses it too, so
 * the two entries cannot disagree on a default or a check, and this entry stays free of Wasm.
 */

export interface SgdConfig {
  learningRate?: number;
}

export interface SgdMomentumConfig {
  learningRate?: number;
  momentum?: number;
  velocity?: Tensor;
}

export interface RmspropConfig {
  learningRate?: number;
  decayRate?: number;
  epsilon?: number;
  cache?: Tensor;
}

export interface AdamConfig {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  m?: Tensor;
  v?: Tensor;
  /** The number of steps taken so far; this step uses t + 1. */
  t?: number;
}

/** Adam's config and weightDecay: torch.optim.AdamW's decoupled weight decay. */
export interface AdamWConfig extends AdamConfig {
  weightDecay?: number;
}

/** The next weights and the next config, every key filled in. */
export interface UpdateResult<C> {
  w: Tensor;
  config: Required<C>;
}

export type UpdateRule = 'sgd' | 'sgdMomentum' | 'rmsprop' | 'adam' | 'adamw';

/** A config checked and with its defaults filled in, without the state tensors. */
export type UpdateSettings =
  | { readonly rule: 'sgd'; readonly learningRate: number }
  | { readonly rule: 'sgdMomentum'; readonly learningRate: number; readonly momentum: number }
  | { readonly rule: 'rmsprop'; readonly learningRate: number; readonly decayRate: number; readonly epsilon: number }
  | {
    readonly rule: 'adam'; readonly learningRate: number; readonly beta1: number; readonly beta2: number;
    readonly epsilon: number; readonly t: number;
  }
  | {
    readonly rule: 'adamw'; readonly learningRate: number; readonly beta1: number; readonly beta2: number;
    readonly epsilon: number; readonly weightDecay: number; readonly t: number;
  };

export type SettingsOf<R extends UpdateRule> = Extract<UpdateSettings, { rule: R }>;

type Range = 'nonNegative' | 'unit';

interface RuleSpec {
  readonly numbers: readonly (readonly [key: string, dflt: number, range: Range])[];
  /** The state tensors, in the order the kernels take them. */
  readonly state: readonly string[];
  /** Whether the config counts steps (t). */
  readonly counter: boolean;
}

const RULES: Record<UpdateRule, RuleSpec> = {
  sgd: { numbers: [['learningRate', 1e-2, 'nonNegative']], state: [], counter: false },
  sgdMomentum: {
    numbers: [['learningRate', 1e-2, 'nonNegative'], ['momentum', 0.9, 'unit']],
    state: ['velocity'], counter: false,
  },
  rmsprop: {
    numbers: [['learningRate', 1e-2, 'nonNegative'], ['decayRate', 0.99, 'unit'], ['epsilon', 1e-8, 'nonNegative']],
    state: ['cache'], counter: false,
  },
  adam: {
    numbers: [['learningRate', 1e-3, 'nonNegative'], ['beta1', 0.9, 'unit'], ['beta2', 0.999, 'unit'], ['epsilon', 1e-8, 'nonNegative']],
    state: ['m', 'v'], counter: true,
  },
  adamw: {
    numbers: [
      ['learningRate', 1e-3, 'nonNegative'], ['beta1', 0.9, 'unit'], ['beta2', 0.999, 'unit'], ['epsilon', 1e-8, 'nonNegative'],
      ['weightDecay', 1e-2, 'nonNegative'],
    ],
    state: ['m', 'v'], counter: true,
  },
};

/** The names of a rule's state tensors, in the order its kernel takes them. */
export function stateKeys(rule: UpdateRule): readonly string[] {
  return RULES[rule].state;
}

function validKeys(spec: RuleSpec): string[] {
  return [...spec.numbers.map(([key]) => key), ...spec.state, ...(spec.counter ? ['t'] : [])];
}

function shown(v: unknown): string {
  return typeof v === 'number' ? String(v) : describe(v);
}

function configObject(fn: string, config: unknown): Record<string, unknown> {
  if (config === undefined) return {};
  if (config === null || typeof config !== 'object' || Array.isArray(config) || ArrayBuffer.isView(config)) {
    fail(`${fn}: config must be an object, got ${describe(config)}`);
  }
  return config as Record<string, unknown>;
}

/**
 * Checks a config's keys, hyperparameters and step count and fills in the defaults; the
 * state tensors are checked by checkUpdate, against w. A model can call this once per
 * parameter and then step its resident buffers.
 */
export function updateSettings<R extends UpdateRule>(fn: string, rule: R, config: unknown): SettingsOf<R> {
  const spec = RULES[rule];
  const p = configObject(fn, config);
  checkKeys(fn, 'config', p, validKeys(spec));
  const out: Record<string, unknown> = { rule };
  for (const [key, dflt, range] of spec.numbers) {
    const v = p[key] === undefined ? dflt : p[key];
    if (range === 'unit') {
      if (typeof v !== 'number' || !(v >= 0 && v < 1)) fail(`${fn}: ${key} must be a number in [0, 1), got ${shown(v)}`);
    } else if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) {
      fail(`${fn}: ${key} must be a non-negative finite number, got ${shown(v)}`);
    }
    out[key] = v;
  }
  if (spec.counter) {
    const t = p.t === undefined ? 0 : p.t;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= Number.MAX_SAFE_INTEGER) {
      fail(`${fn}: t must be a non-negative integer (the steps taken so far), got ${shown(t)}`);
    }
    out.t = t;
  }
  return out as SettingsOf<R>;
}

export interface CheckedUpdate<S> {
  w: Tensor;
  dw: Tensor;
  settings: S;
  /** The state given in the config, in stateKeys order; null where it starts at zeros. */
  state: (Float64Array | null)[];
}

/** Checks w, dw (shaped like w) and the config of `rule`; the function's name is the rule's. */
export function checkUpdate<R extends UpdateRule>(rule: R, w: unknown, dw: unknown, config: unknown): CheckedUpdate<SettingsOf<R>> {
  const fn = rule;
  const wt = checkTensor(fn, 'w', w);
  const dwt = checkSameShape(fn, 'dw', dw, wt.shape, 'the shape of w');
  const settings = updateSettings(fn, rule, config);
  const p = configObject(fn, config);
  const state = RULES[rule].state.map((key) =>
    p[key] === undefined ? null : checkSameShape(fn, key, p[key], wt.shape, 'the shape of w').data);
  return { w: wt, dw: dwt, settings, state };
}

/** w − lr·dw. */
export function sgd(w: Tensor, dw: Tensor, config?: SgdConfig): UpdateResult<SgdConfig> {
  const { w: wt, dw: dwt, settings: s } = checkUpdate('sgd', w, dw, config);
  const x = wt.data, g = dwt.data, lr = s.learningRate;
  const next = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) next[i] = x[i] - lr * g[i];
  return { w: make(next, wt.shape), config: { learningRate: lr } };
}

/** v = momentum·v − lr·dw, then w + v. */
export function sgdMomentum(w: Tensor, dw: Tensor, config?: SgdMomentumConfig): UpdateResult<SgdMomentumConfig> {
  const { w: wt, dw: dwt, settings: s, state: [v0] } = checkUpdate('sgdMomentum', w, dw, config);
  const x = wt.data, g = dwt.data, n = x.length;
  const { learningRate: lr, momentum: mu } = s;
  const v = v0 ?? new Float64Array(n);
  const nextV = new Float64Array(n);
  const next = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    nextV[i] = mu * v[i] - lr * g[i];
    next[i] = x[i] + nextV[i];
  }
  return { w: make(next, wt.shape), config: { learningRate: lr, momentum: mu, velocity: make(nextV, wt.shape) } };
}

/** cache = d·cache + (1 − d)·dw², then w − lr·dw / (√cache + ε). */
export function rmsprop(w: Tensor, dw: Tensor, config?: RmspropConfig): UpdateResult<RmspropConfig> {
  const { w: wt, dw: dwt, settings: s, state: [c0] } = checkUpdate('rmsprop', w, dw, config);
  const x = wt.data, g = dwt.data, n = x.length;
  const { learningRate: lr, decayRate: d, epsilon: eps } = s;
  const c = c0 ?? new Float64Array(n);
  const cache = new Float64Array(n);
  const next = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    cache[i] = d * c[i] + (1 - d) * (g[i] * g[i]);
    next[i] = x[i] - lr * g[i] / (Math.sqrt(cache[i]) + eps);
  }
  return {
    w: make(next, wt.shape),
    config: { learningRate: lr, decayRate: d, epsilon: eps, cache: make(cache, wt.shape) },
  };
}

/**
 * t goes up by one first; then m = β1·m + (1 − β1)·dw, v = β2·v + (1 − β2)·dw²,
 * m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ), and w − lr·m̂ / (√v̂ + ε).
 */
export function adam(w: Tensor, dw: Tensor, config?: AdamConfig): UpdateResult<AdamConfig> {
  const { w: wt, dw: dwt, settings: s, state: [m0, v0] } = checkUpdate('adam', w, dw, config);
  const x = wt.data, g = dwt.data, n = x.length;
  const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps } = s;
  const t = s.t + 1;
  const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
  const mPrev = m0 ?? new Float64Array(n), vPrev = v0 ?? new Float64Array(n);
  const m = new Float64Array(n), v = new Float64Array(n), next = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    m[i] = b1 * mPrev[i] + (1 - b1) * g[i];
    v[i] = b2 * vPrev[i] + (1 - b2) * (g[i] * g[i]);
    const mHat = m[i] / c1, vHat = v[i] / c2;
    next[i] = x[i] - lr * mHat / (Math.sqrt(vHat) + eps);
  }
  return {
    w: make(next, wt.shape),
    config: { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, m: make(m, wt.shape), v: make(v, wt.shape), t },
  };
}

/**
 * torch.optim.AdamW: t goes up by one first; w ← w − lr·weightDecay·w (as w·(1 − lr·weightDecay),
 * the product torch forms), then Adam's step on the decayed w: m = β1·m + (1 − β1)·dw,
 * v = β2·v + (1 − β2)·dw², w − lr·m̂ / (√v̂ + ε) with m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ).
 */
export function adamw(w: Tensor, dw: Tensor, config?: AdamWConfig): UpdateResult<AdamWConfig> {
  const { w: wt, dw: dwt, settings: s, state: [m0, v0] } = checkUpdate('adamw', w, dw, config);
  const x = wt.data, g = dwt.data, n = x.length;
  const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd } = s;
  const t = s.t + 1;
  const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
  const mPrev = m0 ?? new Float64Array(n), vPrev = v0 ?? new Float64Array(n);
  const m = new Float64Array(n), v = new Float64Array(n), next = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const decayed = x[i] * (1 - lr * wd);
    m[i] = b1 * mPrev[i] + (1 - b1) * g[i];
    v[i] = b2 * vPrev[i] + (1 - b2) * (g[i] * g[i]);
    const mHat = m[i] / c1, vHat = v[i] / c2;
    next[i] = decayed - lr * mHat / (Math.sqrt(vHat) + eps);
  }
  return {
    w: make(next, wt.shape),
    config: {
      learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd,
      m: make(m, wt.shape), v: make(v, wt.shape), t,
    },
  };
}
