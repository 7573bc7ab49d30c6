import { Tensor, make } from './tensor.js';
import { kernels, reserve, put, take, f64 } from './wasm.js';
import { fail } from './errors.js';
import {
  SgdConfig, SgdMomentumConfig, RmspropConfig, AdamConfig, AdamWConfig, UpdateResult, UpdateRule, UpdateSettings,
  checkUpdate, stateKeys,
} from './reference/optim.js';

export type { SgdConfig, SgdMomentumConfig, RmspropConfig, AdamConfig, AdamWConfig, UpdateResult } from './reference/optim.js';
// For code that keeps its buffers in Wasm memory: check a config once, then step in place.
export { updateSettings, stateKeys } from './reference/optim.js';
export type { UpdateRule, UpdateSettings } from './reference/optim.js';

const F64 = 8;

/**
 * An update's buffers, already resident in WebAssembly memory: addresses of n float64
 * entries each, with the state in the order stateKeys(rule) names it (velocity; cache; m, v).
 */
export interface ResidentUpdate {
  w: number;
  dw: number;
  state: readonly number[];
  n: number;
}

/**
 * One step of an update rule in place on resident buffers, for settings from updateSettings:
 * overwrites w and the state, reads dw. Returns the settings for the next step (Adam's t one
 * higher; the others as given). Internal: a model calls it on its long-lived buffers, and the
 * functional rules below call it on buffers they copy in.
 */
export function updateResident<S extends UpdateSettings>(s: S, b: ResidentUpdate): S {
  const need = stateKeys(s.rule).length;
  if (b.state.length !== need) fail(`updateResident: ${s.rule} needs ${need} state buffers, got ${b.state.length}`);
  if (!(Number.isInteger(b.n) && b.n > 0)) fail(`updateResident: n must be a positive integer, got ${b.n}`);
  const k = kernels();
  switch (s.rule) {
    case 'sgd':
      k.sgd_step(b.w, b.dw, b.n, s.learningRate);
      return s;
    case 'sgdMomentum':
      k.momentum_step(b.w, b.dw, b.state[0], b.n, s.learningRate, s.momentum);
      return s;
    case 'rmsprop':
      k.rmsprop_step(b.w, b.dw, b.state[0], b.n, s.learningRate, s.decayRate, s.epsilon);
      return s;
    case 'adam': {
      const t = s.t + 1;
      k.adam_step(b.w, b.dw, b.state[0], b.state[1], b.n, s.learningRate, s.beta1, s.beta2, s.epsilon, t);
      return { ...s, t };
    }
    case 'adamw': {
      const t = s.t + 1;
      k.adamw_step(b.w, b.dw, b.state[0], b.state[1], b.n, s.learningRate, s.beta1, s.beta2, s.epsilon, t, s.weightDecay);
      return { ...s, t };
    }
  }
}

/** Copies w, dw and the state in, steps in place, and copies the next w and state out. */
function update<C>(rule: UpdateRule, w: Tensor, dw: Tensor, config: C | undefined): UpdateResult<C> {
  const c = checkUpdate(rule, w, dw, config);
  const n = c.w.data.length;
  const keys = stateKeys(rule);
  const [pw, pdw, ...ps] = reserve(rule, [n * F64, n * F64, ...keys.map(() => n * F64)]);
  put(pw, c.w.data);
  put(pdw, c.dw.data);
  c.state.forEach((data, i) => (data ? put(ps[i], data) : f64(ps[i], n).fill(0)));
  const { rule: _, ...next } = updateResident(c.settings, { w: pw, dw: pdw, state: ps, n });
  const shape = c.w.shape;
  const out: Record<string, unknown> = { ...next };
  keys.forEach((key, i) => { out[key] = make(take(ps[i], n), shape); });
  return { w: make(take(pw, n), shape), config: out as Required<C> };
}

/** w − lr·dw. config: learningRate (1e-2). */
export function sgd(w: Tensor, dw: Tensor, config?: SgdConfig): UpdateResult<SgdConfig> {
  return update('sgd', w, dw, config);
}

/** v = momentum·v − lr·dw, then w + v. config: learningRate (1e-2), momentum (0.9), velocity (zeros). */
export function sgdMomentum(w: Tensor, dw: Tensor, config?: SgdMomentumConfig): UpdateResult<SgdMomentumConfig> {
  return update('sgdMomentum', w, dw, config);
}

/**
 * cache = d·cache + (1 − d)·dw², then w − lr·dw / (√cache + ε).
 * config: learningRate (1e-2), decayRate (0.99), epsilon (1e-8), cache (zeros).
 */
export function rmsprop(w: Tensor, dw: Tensor, config?: RmspropConfig): UpdateResult<RmspropConfig> {
  return update('rmsprop', w, dw, config);
}

/**
 * t goes up by one first; then m = β1·m + (1 − β1)·dw, v = β2·v + (1 − β2)·dw², and
 * w − lr·m̂ / (√v̂ + ε) with m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ).
 * config: learningRate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v (zeros), t (0).
 */
export function adam(w: Tensor, dw: Tensor, config?: AdamConfig): UpdateResult<AdamConfig> {
  return update('adam', w, dw, config);
}

/**
 * torch.optim.AdamW: t goes up by one first; w ← w − lr·weightDecay·w (decoupled weight
 * decay), then Adam's step (above) on the decayed w.
 * config: learningRate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), weightDecay (1e-2),
 * m, v (zeros), t (0).
 */
export function adamw(w: Tensor, dw: Tensor, config?: AdamWConfig): UpdateResult<AdamWConfig> {
  return update('adamw', w, dw, config);
}
