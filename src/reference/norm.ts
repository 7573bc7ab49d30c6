import { Tensor, checkTensor, make, describe, show, shapeString } from '../tensor.js';
import { checkDout, checkKeys } from '../params.js';
import { fail } from '../errors.js';
import { Cache, makeCache, openCache } from './cache.js';

export interface LayernormParam {
  eps?: number;
}

export interface GroupnormParam {
  /** How many groups the channels are split into; it divides C. */
  groups: number;
  eps?: number;
}

export type LayernormCache = Cache<'layernormForward'>;
export type SpatialGroupnormCache = Cache<'spatialGroupnormForward'>;

function paramObject(fn: string, name: string, p: unknown, keys: readonly string[], required: boolean): Record<string, unknown> {
  if (p === undefined && !required) return {};
  if (p === null || typeof p !== 'object' || Array.isArray(p)) fail(`${fn}: ${name} must be an object {${keys.join(', ')}}, got ${describe(p)}`);
  checkKeys(fn, name, p, keys);
  return p as Record<string, unknown>;
}

function epsOf(fn: string, p: Record<string, unknown>): number {
  const eps = p.eps === undefined ? 1e-5 : p.eps;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) fail(`${fn}: eps must be a positive finite number, got ${show(eps)}`);
  return eps;
}

/** gamma or beta: shape (len). `note` is added to the message when the shape is wrong. */
function checkScale(fn: string, name: string, t: unknown, len: number, what: string, note = ''): void {
  const v = checkTensor(fn, name, t);
  if (v.shape.length !== 1 || v.shape[0] !== len) fail(`${fn}: ${name} must have shape (${len}) to match ${what}, got ${shapeString(v.shape)}${note}`);
}

/** Validates gamma, beta (D) and lnParam {eps} for x (N,D) (shared by the Wasm entry); returns eps. */
export function layernormSettings(fn: string, D: number, gamma: unknown, beta: unknown, lnParam: unknown): { eps: number } {
  checkScale(fn, 'gamma', gamma, D, `the ${D} features of x`);
  checkScale(fn, 'beta', beta, D, `the ${D} features of x`);
  return { eps: epsOf(fn, paramObject(fn, 'lnParam', lnParam, ['eps'], false)) };
}

/** Validates gamma, beta (C) and gnParam {groups, eps} for x with C channels (shared by the Wasm entry). */
export function groupnormSettings(fn: string, C: number, gamma: unknown, beta: unknown, gnParam: unknown): { groups: number; eps: number } {
  const note = '; CS231n\'s notebook shapes gamma and beta (1,C,1,1), convcore (C), as in spatialBatchnormForward';
  checkScale(fn, 'gamma', gamma, C, `the ${C} channels of x`, note);
  checkScale(fn, 'beta', beta, C, `the ${C} channels of x`, note);
  const p = paramObject(fn, 'gnParam', gnParam, ['groups', 'eps'], true);
  const G = p.groups;
  if (typeof G !== 'number' || !Number.isInteger(G) || G <= 0 || C % G !== 0) {
    fail(`${fn}: groups must be a positive integer that divides the ${C} channels of x, got ${show(G)}`);
  }
  return { groups: G, eps: epsOf(fn, p) };
}

/**
 * The data as R rows of M values, normalized one row at a time; value k of row r is
 * scaled and shifted by gamma[c], beta[c] of its channel c = channel(r, k).
 */
interface Rows {
  R: number;
  M: number;
  channel: (r: number, k: number) => number;
}

interface RowsState {
  rows: Rows;
  shape: readonly number[];
  C: number;            // the length of gamma
  gamma: Float64Array;
  xmu: Float64Array;    // (R,M), x − μ of the row
  xhat: Float64Array;   // (R,M)
  variance: Float64Array; // (R)
  eps: number;
}

/**
 * Per row: μ = Σ x/M, σ² = Σ (x−μ)²/M (biased), x̂ = (x−μ)/√(σ²+eps), out = γ·x̂ + β.
 * The mean is refined once, μ = μ₀ + Σ(x−μ₀)/M, which removes the rounding of the first
 * sum: with a mean of 1e3 and a spread of 1e-2 that rounding would show in x̂.
 */
function normalizeRows(x: Float64Array, gamma: Float64Array, beta: Float64Array, rows: Rows, eps: number) {
  const { R, M, channel } = rows;
  const xmu = new Float64Array(R * M);
  const xhat = new Float64Array(R * M);
  const out = new Float64Array(R * M);
  const variance = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let sum = 0;
    for (let k = 0; k < M; k++) sum += x[r * M + k];
    let mu = sum / M;
    let dev = 0;
    for (let k = 0; k < M; k++) dev += x[r * M + k] - mu;
    mu += dev / M;
    let sq = 0;
    for (let k = 0; k < M; k++) sq += (x[r * M + k] - mu) ** 2;
    variance[r] = sq / M;
    for (let k = 0; k < M; k++) {
      const i = r * M + k;
      const c = channel(r, k);
      xmu[i] = x[i] - mu;
      xhat[i] = xmu[i] / Math.sqrt(variance[r] + eps);
      out[i] = gamma[c] * xhat[i] + beta[c];
    }
  }
  return { out, xmu, xhat, variance };
}

/**
 * dout (R,M) -> dx (R,M), dgamma, dbeta (C)
 *
 *   dβ[c] = Σ dout,  dγ[c] = Σ dout·x̂  (over every value of channel c),  dx̂ = dout·γ[c]
 *
 * and per row, through μ and σ² of that row (each depends on every x of the row):
 *   dσ² = Σ_k dx̂·(x−μ) · (−½)(σ²+eps)^(−3/2)
 *   dμ  = Σ_k dx̂·(−1/√(σ²+eps)) + dσ² · Σ_k (−2(x−μ))/M
 *   dx  = dx̂/√(σ²+eps) + dσ²·2(x−μ)/M + dμ/M
 */
function normalizeRowsBackward(dout: Float64Array, st: RowsState) {
  const { rows: { R, M, channel }, C, gamma, xmu, xhat, variance, eps } = st;
  const dx = new Float64Array(R * M);
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    const invStd = 1 / Math.sqrt(variance[r] + eps);
    let dvar = 0;
    let dmu = 0;
    let sumXmu = 0;
    for (let k = 0; k < M; k++) {
      const i = r * M + k;
      const c = channel(r, k);
      const dxhat = dout[i] * gamma[c];
      dbeta[c] += dout[i];
      dgamma[c] += dout[i] * xhat[i];
      dvar += dxhat * xmu[i] * -0.5 * invStd * invStd * invStd;
      dmu += -dxhat * invStd;
      sumXmu += -2 * xmu[i];
    }
    dmu += dvar * sumXmu / M;
    for (let k = 0; k < M; k++) {
      const i = r * M + k;
      const dxhat = dout[i] * gamma[channel(r, k)];
      dx[i] = dxhat * invStd + dvar * 2 * xmu[i] / M + dmu / M;
    }
  }
  return { dx, dgamma, dbeta };
}

function rowsForward<K extends string>(fn: K, x: Tensor, gamma: Tensor, beta: Tensor, rows: Rows, C: number, eps: number) {
  const { out, xmu, xhat, variance } = normalizeRows(x.data, gamma.data, beta.data, rows, eps);
  const state: RowsState = { rows, shape: x.shape.slice(), C, gamma: gamma.data.slice(), xmu, xhat, variance, eps };
  return { out: make(out, x.shape), cache: makeCache(fn, state) };
}

function rowsBackward(fn: string, forward: string, dout: Tensor, cache: unknown) {
  const st = openCache<RowsState>(fn, forward, cache);
  const d = checkDout(fn, dout, st.shape).data;
  const { dx, dgamma, dbeta } = normalizeRowsBackward(d, st);
  return { dx: make(dx, st.shape), dgamma: make(dgamma, [st.C]), dbeta: make(dbeta, [st.C]) };
}

/** x (N,D), gamma, beta (D) -> out (N,D): each row normalized over its D features. */
export function layernormForward(x: Tensor, gamma: Tensor, beta: Tensor, lnParam?: LayernormParam): { out: Tensor; cache: LayernormCache } {
  const fn = 'layernormForward';
  const t = checkTensor(fn, 'x', x, 2, '(N,D)');
  const [N, D] = t.shape;
  const { eps } = layernormSettings(fn, D, gamma, beta, lnParam);
  return rowsForward(fn, t, gamma, beta, { R: N, M: D, channel: (_r, k) => k }, D, eps);
}

/** dout (N,D) -> dx (N,D), dgamma, dbeta (D). */
export function layernormBackward(dout: Tensor, cache: LayernormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  return rowsBackward('layernormBackward', 'layernormForward', dout, cache);
}

/**
 * x (N,C,H,W), gamma, beta (C) -> out (N,C,H,W). The C channels are split into `groups`
 * groups of C/groups consecutive channels; each (n, group) is normalized over its C/groups
 * channels and H·W pixels. As in CS231n, x is read as (N·groups, C/groups·H·W): in NCHW
 * that is a reshape, the values of one group being contiguous.
 */
export function spatialGroupnormForward(x: Tensor, gamma: Tensor, beta: Tensor, gnParam: GroupnormParam): { out: Tensor; cache: SpatialGroupnormCache } {
  const fn = 'spatialGroupnormForward';
  const t = checkTensor(fn, 'x', x, 4, '(N,C,H,W)');
  const [N, C, H, W] = t.shape;
  const { groups: G, eps } = groupnormSettings(fn, C, gamma, beta, gnParam);
  const Cg = C / G;
  const rows: Rows = { R: N * G, M: Cg * H * W, channel: (r, k) => (r % G) * Cg + Math.floor(k / (H * W)) };
  return rowsForward(fn, t, gamma, beta, rows, C, eps);
}

/** dout (N,C,H,W) -> dx (N,C,H,W), dgamma, dbeta (C). */
export function spatialGroupnormBackward(dout: Tensor, cache: SpatialGroupnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  return rowsBackward('spatialGroupnormBackward', 'spatialGroupnormForward', dout, cache);
}
