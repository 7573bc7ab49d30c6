// What is measured: the ops, the shapes (DESIGN.md, "Kernels and speed") and the data.

import { rng, product, randomData, distinctData } from './data.js';

/** The conv shapes of DESIGN.md: x (N,C,H,W), w (F,C,HH,WW), stride, pad. */
export const CONV_SHAPES = [
  { name: 'cs231n', x: [50, 3, 32, 32], w: [32, 3, 7, 7], stride: 1, pad: 3 },
  { name: 'resnet', x: [8, 64, 56, 56], w: [64, 64, 3, 3], stride: 1, pad: 1 },
  { name: 'strided', x: [16, 32, 64, 64], w: [64, 32, 3, 3], stride: 2, pad: 1 },
  { name: 'deep', x: [4, 256, 14, 14], w: [256, 256, 3, 3], stride: 1, pad: 1 },
];

/** Pooling and batchnorm input: x (50,32,32,32); plain batchnorm sees it as (50, 32·32·32). */
const POOL_X = [50, 32, 32, 32];
const BN_X = [50, 32 * 32 * 32];
const SBN_X = [50, 32, 32, 32];

const fmt = (shape) => `(${shape.join(',')})`;

export function convOutShape({ x: [N, , H, W], w: [F, , HH, WW], stride, pad }) {
  return [N, F, Math.floor((H + 2 * pad - HH) / stride) + 1, Math.floor((W + 2 * pad - WW) / stride) + 1];
}

/** Forward FLOPs of a convolution: 2·N·F·H2·W2·C·HH·WW (one multiply and one add per tap). */
function convFlops(s) {
  const [N, F, H2, W2] = convOutShape(s);
  return 2 * N * F * H2 * W2 * s.w[1] * s.w[2] * s.w[3];
}

// Problems: the Tensors an op is called with, NCHW float64, built once per shape and
// shared by its forward and backward rows. `tensor` is convcore's constructor.

function convProblem(s, tensor) {
  const r = rng(1);
  const t = (shape) => tensor(randomData(product(shape), r), shape);
  return {
    x: t(s.x), w: t(s.w), b: t([s.w[0]]),
    param: { stride: s.stride, pad: s.pad },
    dout: t(convOutShape(s)),
  };
}

function poolProblem(tensor) {
  const r = rng(2);
  const out = [POOL_X[0], POOL_X[1], POOL_X[2] / 2, POOL_X[3] / 2];
  return {
    x: tensor(distinctData(product(POOL_X), r), POOL_X),
    param: { poolHeight: 2, poolWidth: 2, stride: 2 },
    dout: tensor(randomData(product(out), r), out),
  };
}

function bnProblem(xShape, tensor) {
  const r = rng(3);
  const c = [xShape[1]];
  return {
    x: tensor(randomData(product(xShape), r), xShape),
    gamma: tensor(randomData(c[0], r), c),
    beta: tensor(randomData(c[0], r), c),
    param: { mode: 'train', eps: 1e-5, momentum: 0.9 },
    dout: tensor(randomData(product(xShape), r), xShape),
  };
}

/**
 * The rows of the table, in order. Each has the op `kind` (the API function it
 * times, or 'convBackwardDx'), a `label` and `shape` for the table, `flops` for the
 * conv rows, `family` and `shapeName` (for the --quick policy), and `problem(tensor)`,
 * which builds the inputs once per shape.
 */
export function cases() {
  const rows = [];
  const memo = (build) => {
    let p;
    return (tensor) => (p ??= build(tensor));
  };
  const conv = CONV_SHAPES.map((s) => ({
    s,
    problem: memo((tensor) => convProblem(s, tensor)),
    text: `${s.name} x${fmt(s.x)} w${fmt(s.w)} s${s.stride} p${s.pad}`,
  }));
  const convRows = [
    ['convForward', 'conv fwd', 1],
    ['convBackward', 'conv bwd dx+dw+db', 2],
    // The FLOPs of dx alone. convcore has no dx-only op: run.js shows its full backward there.
    ['convBackwardDx', 'conv bwd dx only', 1],
  ];
  for (const [kind, label, mult] of convRows) {
    for (const c of conv) {
      rows.push({ kind, label, family: 'conv', shapeName: c.s.name, shape: c.text, flops: mult * convFlops(c.s), problem: c.problem });
    }
  }
  const pool = memo(poolProblem);
  const bn = memo((tensor) => bnProblem(BN_X, tensor));
  const sbn = memo((tensor) => bnProblem(SBN_X, tensor));
  rows.push(
    { kind: 'maxPoolForward', label: 'max pool fwd', family: 'pool', shape: `x${fmt(POOL_X)} 2x2 s2`, problem: pool },
    { kind: 'maxPoolBackward', label: 'max pool bwd', family: 'pool', shape: `x${fmt(POOL_X)} 2x2 s2`, problem: pool },
    { kind: 'batchnormForward', label: 'batchnorm fwd', family: 'bn', shape: `x${fmt(BN_X)}`, problem: bn },
    { kind: 'batchnormBackward', label: 'batchnorm bwd', family: 'bn', shape: `x${fmt(BN_X)}`, problem: bn },
    { kind: 'spatialBatchnormForward', label: 'spatial batchnorm fwd', family: 'bn', shape: `x${fmt(SBN_X)}`, problem: sbn },
    { kind: 'spatialBatchnormBackward', label: 'spatial batchnorm bwd', family: 'bn', shape: `x${fmt(SBN_X)}`, problem: sbn },
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
};

/** The first n images of a conv problem (a cheap reference for --quick). */
export function firstImages(p, n, tensor) {
  const head = (t) => tensor(t.data.slice(0, (t.data.length / t.shape[0]) * n), [n, ...t.shape.slice(1)]);
  return { ...p, x: head(p.x), dout: head(p.dout) };
}
