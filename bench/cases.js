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

/**
 * The convolutions of the networks section (bench/networks.js): a depthwise 3x3 (groups = C, one
 * filter per channel) on a MobileNet-sized map, and a dilated and a grouped 3x3 on the resnet
 * shape (dilation 2 with pad 2 keeps 56x56; groups 4 makes w (64,16,3,3)).
 */
export const NETWORK_CONV_SHAPES = [
  { name: 'depthwise', x: [16, 128, 56, 56], w: [128, 1, 3, 3], stride: 1, pad: 1, groups: 128 },
  { name: 'dilated', x: [8, 64, 56, 56], w: [64, 64, 3, 3], stride: 1, pad: 2, dilation: 2 },
  { name: 'grouped', x: [8, 64, 56, 56], w: [64, 16, 3, 3], stride: 1, pad: 1, groups: 4 },
];

/** Pooling, dropout and groupnorm input: x (50,32,32,32); plain batchnorm and layernorm see it as (50, 32·32·32). */
const POOL_X = [50, 32, 32, 32];
const FLAT_X = [50, 32 * 32 * 32];
const SPATIAL_X = [50, 32, 32, 32];
/** The update rules step one weight array of this many entries. */
const STEP_N = 1e6;
const GROUPS = 8;

const fmt = (shape) => `(${shape.join(',')})`;

/** The output shape; a dilated kernel spans (HH−1)·dilation+1 rows and (WW−1)·dilation+1 columns. */
export function convOutShape({ x: [N, , H, W], w: [F, , HH, WW], stride, pad, dilation = 1 }) {
  const eh = (HH - 1) * dilation + 1, ew = (WW - 1) * dilation + 1;
  return [N, F, Math.floor((H + 2 * pad - eh) / stride) + 1, Math.floor((W + 2 * pad - ew) / stride) + 1];
}

/**
 * Forward FLOPs of a convolution: 2·N·F·H2·W2·(C/G)·HH·WW (one multiply and one add per tap);
 * w's second dimension is C/G, the channels each filter reads.
 */
export function convFlops(s) {
  const [N, F, H2, W2] = convOutShape(s);
  return 2 * N * F * H2 * W2 * s.w[1] * s.w[2] * s.w[3];
}

/**
 * The shape cell of a conv row; parseConvShape reads it back. A dilation other than 1 adds
 * ` d2`, groups other than 1 ` g4`.
 */
export const convShapeText = (s) =>
  `${s.name} x${fmt(s.x)} w${fmt(s.w)} s${s.stride} p${s.pad}${(s.dilation ?? 1) !== 1 ? ` d${s.dilation}` : ''}${(s.groups ?? 1) !== 1 ? ` g${s.groups}` : ''}`;

/** The shape of a conv row's cell: { name, x, w, stride, pad, dilation, groups }, or null if the text is not one. */
export function parseConvShape(text) {
  const m = /^(\S+) x\(([\d,]+)\) w\(([\d,]+)\) s(\d+) p(\d+)(?: d(\d+))?(?: g(\d+))?$/.exec(text.trim());
  if (!m) return null;
  const dims = (t) => t.split(',').map(Number);
  return {
    name: m[1], x: dims(m[2]), w: dims(m[3]), stride: Number(m[4]), pad: Number(m[5]),
    dilation: m[6] === undefined ? 1 : Number(m[6]), groups: m[7] === undefined ? 1 : Number(m[7]),
  };
}

// Problems: the Tensors an op is called with, NCHW float64, built once per shape and
// shared by its forward and backward rows. `tensor` is convcore's constructor.

function convProblem(s, tensor) {
  const r = makeRng(1);
  const t = (shape) => tensor(randomData(product(shape), r), shape);
  return {
    x: t(s.x), w: t(s.w), b: t([s.w[0]]),
    param: {
      stride: s.stride, pad: s.pad,
      ...((s.dilation ?? 1) !== 1 ? { dilation: s.dilation } : {}), ...((s.groups ?? 1) !== 1 ? { groups: s.groups } : {}),
    },
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

/**
 * The conv rows of the networks section: the forward and the full backward of each of
 * NETWORK_CONV_SHAPES, as cases() makes the op table's conv rows (family 'conv', so that
 * --quick runs the plain-JS peers on the first image).
 */
export function networkConvCases() {
  const rows = [];
  for (const s of NETWORK_CONV_SHAPES) {
    let p;
    const problem = (tensor) => (p ??= convProblem(s, tensor));
    for (const { kind, label, mult } of CONV_ROWS.filter((r) => r.kind !== 'convBackwardDx')) {
      rows.push({ kind, label, family: 'conv', shapeName: s.name, shape: convShapeText(s), flops: mult * convFlops(s), problem });
    }
  }
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
