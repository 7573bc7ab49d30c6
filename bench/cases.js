// What is measured: the ops, the shapes and the data.

import { makeRng, product, randomData, distinctData } from './data.js';

/** The conv shapes: CS231n's first layer, a ResNet 3x3 layer, a strided one and a deep one; x (N,C,H,W), w (F,C,HH,WW), stride, pad. */
export const CONV_SHAPES = [
  { name: 'cs231n', x: [50, 3, 32, 32], w: [32, 3, 7, 7], stride: 1, pad: 3 },
  { name: 'resnet', x: [8, 64, 56, 56], w: [64, 64, 3, 3], stride: 1, pad: 1 },
  { name: 'strided', x: [16, 32, 64, 64], w: [64, 32, 3, 3], stride: 2, pad: 1 },
  { name: 'deep', x: [4, 256, 14, 14], w: [256, 256, 3, 3], stride: 1, pad: 1 },
];

/**
 * The conv rows: the op's kind, its label in the table and its FLOPs as a multiple of the
 * forward's. The label is what the table shows; the report finds the multiple from it.
 */
export const CONV_ROWS = [
  { kind: 'convForward', label: 'conv fwd', mult: 1 },
  { kind: 'convBackward', label: 'conv bwd dx+dw+db', mult: 2 },
  { kind: 'convBackwardDx', label: 'conv bwd dx only', mult: 1 },
];

/** Pooling, dropout and groupnorm input: x (50,32,32,32); plain batchnorm and layernorm see it as (50, 32·32·32). */
const POOL_X = [50, 32, 32, 32];
const FLAT_X = [50, 32 * 32 * 32];
const SPATIAL_X = [50, 32, 32, 32];
/** The update rules step one weight array of this many entries. */
const STEP_N = 1e6;
const GROUPS = 8;

const fmt = (shape) => `(${shape.join(',')})`;

export function convOutShape({ x: [N, , H, W], w: [F, , HH, WW], stride, pad }) {
  return [N, F, Math.floor((H + 2 * pad - HH) / stride) + 1, Math.floor((W + 2 * pad - WW) / stride) + 1];
}

/** Forward FLOPs of a convolution: 2·N·F·H2·W2·C·HH·WW (one multiply and one add per tap). */
export function convFlops(s) {
  const [N, F, H2, W2] = convOutShape(s);
  return 2 * N * F * H2 * W2 * s.w[1] * s.w[2] * s.w[3];
}

/** The shape cell of a conv row; parseConvShape reads it back. */
export const convShapeText = (s) => `${s.name} x${fmt(s.x)} w${fmt(s.w)} s${s.stride} p${s.pad}`;

/** The shape of a conv row's cell: { name, x, w, stride, pad }, or null if the text is not one. */
export function parseConvShape(text) {
  const m = /^(\S+) x\(([\d,]+)\) w\(([\d,]+)\) s(\d+) p(\d+)$/.exec(text.trim());
  if (!m) return null;
  const dims = (t) => t.split(',').map(Number);
  return { name: m[1], x: dims(m[2]), w: dims(m[3]), stride: Number(m[4]), pad: Number(m[5]) };
}

// Problems: the Tensors an op is called with, NCHW float64, built once per shape and
// shared by its forward and backward rows. `tensor` is convcore's constructor.

function convProblem(s, tensor) {
  const r = makeRng(1);
  const t = (shape) => tensor(randomData(product(shape), r), shape);
  return {
    x: t(s.x), w: t(s.w), b: t([s.w[0]]),
    param: { stride: s.stride, pad: s.pad },
    dout: t(convOutShape(s)),
  };
}

function poolProblem(tensor) {
  const r = makeRng(2);
  const out = [POOL_X[0], POOL_X[1], POOL_X[2] / 2, POOL_X[3] / 2];
  return {
    x: tensor(distinctData(product(POOL_X), r), POOL_X),
    param: { poolHeight: 2, poolWidth: 2, stride: 2 },
    dout: tensor(randomData(product(out), r), out),
  };
}

/** x, gamma and beta (one per feature or channel: axis 1), dout and the options. */
function normProblem(xShape, param, tensor, seed) {
  const r = makeRng(seed);
  const c = [xShape[1]];
  return {
    x: tensor(randomData(product(xShape), r), xShape),
    gamma: tensor(randomData(c[0], r), c),
    beta: tensor(randomData(c[0], r), c),
    param,
    dout: tensor(randomData(product(xShape), r), xShape),
  };
}

function dropoutProblem(tensor) {
  const r = makeRng(4);
  return {
    x: tensor(randomData(product(SPATIAL_X), r), SPATIAL_X),
    param: { mode: 'train', keepProb: 0.5, seed: 7 },
    dout: tensor(randomData(product(SPATIAL_X), r), SPATIAL_X),
  };
}

/** w and dw of STEP_N entries, and each rule's state (positive where it is a running square). */
function stepProblem(tensor) {
  const r = makeRng(5);
  const t = (scale = 1, shift = 0) => tensor(randomData(STEP_N, r).map((v) => shift + scale * v), [STEP_N]);
  return {
    w: t(), dw: t(),
    config: {
      sgd: { learningRate: 1e-2 },
      sgdMomentum: { learningRate: 1e-2, momentum: 0.9, velocity: t(0.1) },
      rmsprop: { learningRate: 1e-2, decayRate: 0.99, epsilon: 1e-8, cache: t(0.25, 0.5) },
      adam: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, m: t(0.1), v: t(0.25, 0.5), t: 5 },
    },
  };
}

/**
 * The rows of the table, in order. Each has the op `kind` (the API function it times,
 * or 'convBackwardDx', the backward asked for dx alone), a `label` and `shape` for the
 * table, `flops` for the conv rows, `family` and `shapeName` (for the --quick policy),
 * and `problem(tensor)`, which builds the inputs once per shape.
 */
export function cases() {
  const rows = [];
  const memo = (build) => {
    let p;
    return (tensor) => (p ??= build(tensor));
  };
  const conv = CONV_SHAPES.map((s) => ({ s, problem: memo((tensor) => convProblem(s, tensor)) }));
  for (const { kind, label, mult } of CONV_ROWS) {
    for (const c of conv) {
      rows.push({ kind, label, family: 'conv', shapeName: c.s.name, shape: convShapeText(c.s), flops: mult * convFlops(c.s), problem: c.problem });
    }
  }
  const pool = memo(poolProblem);
  const bn = memo((tensor) => normProblem(FLAT_X, { mode: 'train', eps: 1e-5, momentum: 0.9 }, tensor, 3));
  const sbn = memo((tensor) => normProblem(SPATIAL_X, { mode: 'train', eps: 1e-5, momentum: 0.9 }, tensor, 3));
  const ln = memo((tensor) => normProblem(FLAT_X, { eps: 1e-5 }, tensor, 6));
  const gn = memo((tensor) => normProblem(SPATIAL_X, { groups: GROUPS, eps: 1e-5 }, tensor, 7));
  const drop = memo(dropoutProblem);
  const step = memo(stepProblem);
  const pair = (kind, label, family, shape, problem) => [
    { kind: `${kind}Forward`, label: `${label} fwd`, family, shape, problem },
    { kind: `${kind}Backward`, label: `${label} bwd`, family, shape, problem },
  ];
  rows.push(
    ...pair('maxPool', 'max pool', 'pool', `x${fmt(POOL_X)} 2x2 s2`, pool),
    ...pair('batchnorm', 'batchnorm', 'norm', `x${fmt(FLAT_X)}`, bn),
    ...pair('spatialBatchnorm', 'spatial batchnorm', 'norm', `x${fmt(SPATIAL_X)}`, sbn),
    ...pair('layernorm', 'layernorm', 'norm', `x${fmt(FLAT_X)}`, ln),
    ...pair('spatialGroupnorm', 'spatial groupnorm', 'norm', `x${fmt(SPATIAL_X)} ${GROUPS} groups`, gn),
    ...pair('dropout', 'dropout', 'dropout', `x${fmt(SPATIAL_X)} keep 0.5`, drop),
    ...['sgd', 'sgdMomentum', 'rmsprop', 'adam'].map((rule) => ({ kind: rule, label: `${rule} step`, family: 'optim', shape: `w(${STEP_N})`, problem: step })),
  );
  return rows;
}

/** The outputs of each kind that are checked against the reference. */
export const OUTPUTS = {
  convForward: ['out'],
  convBackward: ['dx', 'dw', 'db'],
  convBackwardDx: ['dx'],
  maxPoolForward: ['out'],
  maxPoolBackward: ['dx'],
  batchnormForward: ['out'],
  batchnormBackward: ['dx', 'dgamma', 'dbeta'],
  spatialBatchnormForward: ['out'],
  spatialBatchnormBackward: ['dx', 'dgamma', 'dbeta'],
  layernormForward: ['out'],
  layernormBackward: ['dx', 'dgamma', 'dbeta'],
  spatialGroupnormForward: ['out'],
  spatialGroupnormBackward: ['dx', 'dgamma', 'dbeta'],
  dropoutForward: ['out'],
  dropoutBackward: ['dx'],
  sgd: ['w'],
  sgdMomentum: ['w', 'velocity'],
  rmsprop: ['w', 'cache'],
  adam: ['w', 'm', 'v'],
};

/** The first n images of a conv problem (a cheap reference for --quick). */
export function firstImages(p, n, tensor) {
  const head = (t) => tensor(t.data.slice(0, (t.data.length / t.shape[0]) * n), [n, ...t.shape.slice(1)]);
  return { ...p, x: head(p.x), dout: head(p.dout) };
}
