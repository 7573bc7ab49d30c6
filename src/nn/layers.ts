/**
 * `layers`: what a network is made of. Each function returns a plain spec (its kind and the
 * arguments it was given, JSON-safe, frozen); `new Sequential(specs, …)` builds each for
 * its input shape, checks it there and names it by index and kind when it does not fit.
 */
import { fail } from '../errors.js';
import { describe, show } from '../tensor.js';
import type { Pair } from '../params.js';
import type { Layer } from '../layers/layer.js';
import { Affine, Batchnorm, Dropout, Flatten, Norm, Pool, Relu, poolShape } from '../layers/basic.js';
import { buildConv, buildGlobalAvgPool } from '../layers/conv-layer.js';
import { Residual } from '../layers/residual.js';
import { pairOf, posInt } from '../layers/args.js';

export type LayerKind = 'conv' | 'maxPool' | 'avgPool' | 'globalAvgPool' | 'batchnorm' | 'spatialBatchnorm' | 'layernorm'
  | 'spatialGroupnorm' | 'dropout' | 'relu' | 'flatten' | 'affine' | 'residual';

/** A layer as `layers.*` describe it: its kind and its arguments, as given. */
export interface LayerSpec {
  readonly kind: LayerKind;
  readonly args: readonly unknown[];
}

export interface ConvLayerOptions { stride?: Pair; pad?: Pair; dilation?: Pair; groups?: number; bias?: boolean }
export interface PoolLayerOptions { stride?: Pair }
export interface BatchnormLayerOptions { eps?: number; momentum?: number }
export interface NormLayerOptions { eps?: number }
export interface DropoutLayerOptions { seed?: number }
export interface ResidualOptions { shortcut?: readonly LayerSpec[] }

/** A frozen spec; trailing options left out are not recorded, so that its JSON is what was given. */
function spec(kind: LayerKind, ...args: unknown[]): LayerSpec {
  while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
  return Object.freeze({ kind, args: Object.freeze(args) });
}

/** The layer functions, as `import { layers } from 'convcore'` gives them. */
export const layers = {
  /** filters, kernel (n or [h, w]), { stride, pad, dilation, groups, bias }: x (C,H,W) -> (filters,H2,W2). */
  conv: (filters: number, kernel: Pair, options?: ConvLayerOptions): LayerSpec => spec('conv', filters, kernel, options),
  /** window (n or [h, w]), { stride } (the window by default). */
  maxPool: (window: Pair, options?: PoolLayerOptions): LayerSpec => spec('maxPool', window, options),
  avgPool: (window: Pair, options?: PoolLayerOptions): LayerSpec => spec('avgPool', window, options),
  /** (C,H,W) -> (C): the mean of each map. */
  globalAvgPool: (): LayerSpec => spec('globalAvgPool'),
  /** { eps, momentum } over (D) features. */
  batchnorm: (options?: BatchnormLayerOptions): LayerSpec => spec('batchnorm', options),
  /** { eps, momentum } per channel of (C,H,W). */
  spatialBatchnorm: (options?: BatchnormLayerOptions): LayerSpec => spec('spatialBatchnorm', options),
  layernorm: (options?: NormLayerOptions): LayerSpec => spec('layernorm', options),
  spatialGroupnorm: (groups: number, options?: NormLayerOptions): LayerSpec => spec('spatialGroupnorm', groups, options),
  /** keepProb (the probability of keeping a unit), { seed } for the same mask on every call. */
  dropout: (keepProb: number, options?: DropoutLayerOptions): LayerSpec => spec('dropout', keepProb, options),
  relu: (): LayerSpec => spec('relu'),
  flatten: (): LayerSpec => spec('flatten'),
  /** The output features; the input size is inferred (an input of (C,H,W) is flattened). */
  affine: (outputs: number): LayerSpec => spec('affine', outputs),
  /** out = body(x) + shortcut(x), the shortcut the identity by default. */
  residual: (body: readonly LayerSpec[], options?: ResidualOptions): LayerSpec => spec('residual', body, options),
};

/** What building a layer needs besides its spec and input shape. */
export interface BuildContext {
  /** The prefix of every message: `Sequential: layer 3 (maxPool)`. */
  where: string;
  /** A fresh dropout seed per call for a dropout layer without one (from the network's generator). */
  draw: () => number;
}

const KIND_ARGS: Record<LayerKind, number> = {
  conv: 3, maxPool: 2, avgPool: 2, globalAvgPool: 0, batchnorm: 1, spatialBatchnorm: 1, layernorm: 1, spatialGroupnorm: 2,
  dropout: 2, relu: 0, flatten: 0, affine: 1, residual: 2,
};

/** Checks that `v` is a layer spec made by `layers.*` (or read back from JSON); `where` names it. */
export function checkSpec(where: string, v: unknown): LayerSpec {
  const s = v as LayerSpec;
  if (s === null || typeof s !== 'object' || Array.isArray(s) || typeof s.kind !== 'string' || !(s.kind in KIND_ARGS)) {
    fail(`${where}: must be a layer made by layers.conv, layers.relu, …, got ${describe(v)}`);
  }
  if (!Array.isArray(s.args) || s.args.length > KIND_ARGS[s.kind]) {
    fail(`${where} (${s.kind}): takes at most ${KIND_ARGS[s.kind]} arguments, got ${Array.isArray(s.args) ? s.args.length : describe(s.args)}`);
  }
  return s;
}

/** An options object with only the given keys (undefined: none). */
export function options(where: string, o: unknown, keys: readonly string[]): Record<string, unknown> {
  if (o === undefined) return {};
  if (o === null || typeof o !== 'object' || Array.isArray(o)) fail(`${where}: options must be an object, got ${describe(o)}`);
  for (const key of Object.keys(o)) {
    if (!keys.includes(key)) fail(`${where}: an unknown option ${JSON.stringify(key)}; the valid ones are ${keys.join(', ')}`);
  }
  return o as Record<string, unknown>;
}

function positiveNumber(where: string, name: string, v: unknown, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(`${where}: ${name} must be a positive finite number, got ${show(v)}`);
  return v;
}

function rank(where: string, inShape: readonly number[], r: number, what: string): void {
  if (inShape.length !== r) fail(`${where}: takes an input of ${what}, got (${inShape.join(',')}) per example`);
}

/** Builds one layer for its per-example input shape; every message starts with ctx.where. */
export function buildLayer(s: LayerSpec, inShape: readonly number[], ctx: BuildContext): Layer {
  const w = ctx.where;
  const a = s.args;
  switch (s.kind) {
    case 'conv': {
      rank(w, inShape, 3, '(C,H,W)');
      return buildConv(w, inShape, a[0], a[1], options(w, a[2], ['stride', 'pad', 'dilation', 'groups', 'bias']), s);
    }
    case 'maxPool':
    case 'avgPool': {
      rank(w, inShape, 3, '(C,H,W)');
      const [HH, WW] = pairOf(w, 'window', a[0], NaN, 1);
      const o = options(w, a[1], ['stride']);
      const [SH, SW] = o.stride === undefined ? [HH, WW] : pairOf(w, 'stride', o.stride, 1, 1);
      const g = poolShape(inShape, HH, WW, SH, SW);
      if (typeof g === 'string') fail(`${w}: ${g}`);
      return new Pool(s.kind === 'maxPool', g, s);
    }
    case 'globalAvgPool':
      rank(w, inShape, 3, '(C,H,W)');
      return buildGlobalAvgPool(inShape, s);
    case 'batchnorm':
    case 'spatialBatchnorm': {
      const spatial = s.kind === 'spatialBatchnorm';
      rank(w, inShape, spatial ? 3 : 1, spatial ? '(C,H,W)' : '(D) (flatten first)');
      const o = options(w, a[0], ['eps', 'momentum']);
      const momentum = o.momentum === undefined ? 0.9 : o.momentum;
      if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) fail(`${w}: momentum must be a number in [0, 1], got ${show(momentum)}`);
      return new Batchnorm(inShape, spatial, positiveNumber(w, 'eps', o.eps, 1e-5), momentum, s);
    }
    case 'layernorm': {
      rank(w, inShape, 1, '(D) (flatten first)');
      const o = options(w, a[0], ['eps']);
      return new Norm(inShape, 0, positiveNumber(w, 'eps', o.eps, 1e-5), s);
    }
    case 'spatialGroupnorm': {
      rank(w, inShape, 3, '(C,H,W)');
      const groups = posInt(w, 'groups', a[0]);
      if (inShape[0] % groups !== 0) fail(`${w}: groups ${groups} does not divide the ${inShape[0]} channels of its input`);
      const o = options(w, a[1], ['eps']);
      return new Norm(inShape, groups, positiveNumber(w, 'eps', o.eps, 1e-5), s);
    }
    case 'dropout': {
      const keepProb = a[0];
      if (typeof keepProb !== 'number' || !(keepProb > 0 && keepProb <= 1)) fail(`${w}: keepProb must be a number in (0, 1], the probability of keeping a unit, got ${show(keepProb)}`);
      const o = options(w, a[1], ['seed']);
      const seed = o.seed;
      if (seed !== undefined && (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)) fail(`${w}: seed must be a non-negative safe integer, got ${show(seed)}`);
      return new Dropout(inShape, keepProb, seed === undefined ? null : seed as number, ctx.draw, s);
    }
    case 'relu':
      return new Relu(inShape, s);
    case 'flatten':
      return new Flatten(inShape, s);
    case 'affine':
      if (a[0] === undefined) fail(`${w}: affine needs its number of outputs, as in affine(10)`);
      return new Affine(inShape, posInt(w, 'outputs', a[0]), s);
    case 'residual':
      return Residual.build(w, inShape, a[0], options(w, a[1], ['shortcut']).shortcut, ctx, buildList, s);
  }
}

/** Builds a list of layer specs from inShape; `where(i, kind)` names layer i. */
export function buildList(list: unknown, inShape: readonly number[], where: (i: number, kind: string) => string,
  ctx: Omit<BuildContext, 'where'>, listName: string): Layer[] {
  if (!Array.isArray(list)) fail(`${listName} must be an array of layers, got ${describe(list)}`);
  const out: Layer[] = [];
  let shape = inShape;
  list.forEach((v, i) => {
    const s = checkSpec(where(i, '?').replace(/ \(\?\)$/, ''), v);
    const l = buildLayer(s, shape, { ...ctx, where: where(i, s.kind) });
    out.push(l);
    shape = l.outShape;
  });
  return out;
}
