// The thread pool: every op gives the same bits on 1, 2, 3 and 4 threads (each split into
// as many parts, however small the op), a few training steps of each model too; the pool
// starts, resizes and shuts down; a process that used threads exits by itself; a worker
// that dies is reported by the next op, and the module goes on with the threads it has.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as cc from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { capParts, splitEveryOp, splitOps, splitPoolForSuite, workerHandles, MAX_THREADS } from './knobs.js';
import { makeRng, randn } from './util.js';
import { setThreadHost, theRuntime } from '../src/wasm.js';
import { nodeThreadHost } from '../src/node-host.js';
import type { ThreadHost, WorkerEvents } from '../src/threads.js';

const COUNTS = [1, 2, 3, 4];

/** Every float64 of every array in a result, as one list (NaN and -0 kept apart by Object.is). */
function flat(v: unknown, out: number[] = []): number[] {
  if (typeof v === 'number') out.push(v);
  else if (v instanceof Float64Array || v instanceof Int32Array) out.push(...v);
  else if (Array.isArray(v)) v.forEach((e) => flat(e, out));
  else if (v && typeof v === 'object') {
    for (const key of Object.keys(v).sort()) if (key !== 'cache') flat((v as Record<string, unknown>)[key], out);
  }
  return out;
}

/** How many values differ in bits between two results. */
function differing(a: number[], b: number[]): number {
  if (a.length !== b.length) return Infinity;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

/** Runs `op` with each part count and expects the same bits as one part. */
function sameOnEveryCount(op: () => unknown): void {
  const results = COUNTS.map((n) => {
    capParts(n);
    const before = splitOps();
    const r = flat(op());
    // Split (n > 1) means at least one op of the call ran in n parts.
    if (n > 1) expect(splitOps()).toBeGreaterThan(before);
    return r;
  });
  capParts(MAX_THREADS);
  expect(results[0].length).toBeGreaterThan(0);
  for (let i = 1; i < results.length; i++) expect(differing(results[i], results[0]), `${COUNTS[i]} threads`).toBe(0);
}

const r = makeRng(77);
const t = (shape: number[], scale = 1, shift = 0): Tensor => randn(r, shape, scale, shift) as Tensor;

splitPoolForSuite(cc);

describe('every op gives the same bits on 1, 2, 3 and 4 threads', () => {
  const convCases: [string, number[], number[], object][] = [
    ['3x3 pad 1, N = 5', [5, 3, 9, 11], [4, 3, 3, 3], { stride: 1, pad: 1 }],
    ['7x7 stride 2 pad 3, N = 1', [1, 2, 15, 13], [3, 2, 7, 7], { stride: 2, pad: 3 }],
    ['1x1 pointwise, N = 3', [3, 6, 5, 7], [5, 6, 1, 1], {}],
    ['5x3 stride (2,1) pad (2,0), N = 4', [4, 3, 12, 10], [8, 3, 5, 3], { stride: [2, 1], pad: [2, 0] }],
    ['many filters, N = 2', [2, 17, 6, 6], [40, 17, 3, 3], { pad: 1 }],
  ];
  for (const [name, xs, ws, p] of convCases) {
    it(`conv forward and backward (full, dx only, dw only): ${name}`, () => {
      const x = t(xs), w = t(ws), b = t([ws[0]]);
      const { out, cache } = cc.convForward(x, w, b, p);
      const dout = t(out.shape as number[]);
      sameOnEveryCount(() => cc.convForward(x, w, b, p).out);
      sameOnEveryCount(() => cc.convBackward(dout, cache));
      sameOnEveryCount(() => cc.convBackward(dout, cache, { dx: false }));
      sameOnEveryCount(() => cc.convBackward(dout, cache, { dw: false }));
    });
  }

  // Dilation and groups: one GEMM per group, dw split by rows of cols that cross the groups
  // (and, with N ≥ the parts, dw by images); depthwise on its direct kernels, split by
  // output planes, by filters (dw, db) and by input planes (dx).
  const groupCases: [string, number[], number[], cc.ConvParam][] = [
    ['dilation 2, pad 2, N = 3', [3, 3, 9, 11], [4, 3, 3, 3], { pad: 2, dilation: 2 }],
    ['groups 2, dilation (2,1), stride 2, N = 2', [2, 6, 11, 9], [8, 3, 3, 3], { groups: 2, dilation: [2, 1], stride: 2, pad: 1 }],
    ['groups 2, N = 4 (dw by images on every count)', [4, 4, 8, 8], [6, 2, 3, 3], { groups: 2, pad: 1 }],
    ['groups 3 pointwise, N = 3', [3, 6, 5, 7], [9, 2, 1, 1], { groups: 3 }],
    ['depthwise F = C, N = 1', [1, 5, 9, 13], [5, 1, 3, 3], { groups: 5, pad: 1 }],
    ['depthwise F = 2C, dilation 2, stride 2, N = 3', [3, 4, 12, 17], [8, 1, 3, 3], { groups: 4, pad: 2, dilation: 2, stride: 2 }],
    ['depthwise F = 3C, N = 2', [2, 2, 7, 10], [6, 1, 5, 3], { groups: 2, pad: [2, 1] }],
  ];
  for (const [name, xs, ws, p] of groupCases) {
    it(`conv with dilation or groups, forward and backward (full, dx only, dw only): ${name}`, () => {
      const x = t(xs), w = t(ws), b = t([ws[0]]);
      const { out, cache } = cc.convForward(x, w, b, p);
      const dout = t(out.shape as number[]);
      sameOnEveryCount(() => cc.convForward(x, w, b, p).out);
      sameOnEveryCount(() => cc.convBackward(dout, cache));
      sameOnEveryCount(() => cc.convBackward(dout, cache, { dx: false }));
      sameOnEveryCount(() => cc.convBackward(dout, cache, { dw: false }));
    });
  }

  it('global average pool, forward and backward', () => {
    for (const shape of [[3, 5, 7, 9], [1, 1, 4, 4], [2, 3, 1, 1], [8, 16, 6, 6]]) {
      const x = t(shape);
      const { out, cache } = cc.globalAvgPoolForward(x);
      const dout = t(out.shape as number[]);
      sameOnEveryCount(() => cc.globalAvgPoolForward(x).out);
      sameOnEveryCount(() => cc.globalAvgPoolBackward(dout, cache));
    }
  });

  it('svm loss', () => {
    for (const [N, C] of [[7, 5], [1, 3], [40, 10], [3, 1]]) {
      const scores = t([N, C]);
      const y = Array.from({ length: N }, (_, i) => (i * 3) % C);
      sameOnEveryCount(() => cc.svmLoss(scores, y));
    }
  });

  const poolCases: [string, number[], cc.PoolParam][] = [
    ['2x2 stride 2', [3, 5, 8, 10], { poolHeight: 2, poolWidth: 2, stride: 2 }],
    ['3x3 stride 1, odd sizes', [2, 3, 7, 9], { poolHeight: 3, poolWidth: 3, stride: 1 }],
    ['2x2 stride 2, N·C = 1', [1, 1, 6, 6], { poolHeight: 2, poolWidth: 2, stride: 2 }],
    ['17x16 window (wide argmax)', [2, 3, 17, 16], { poolHeight: 17, poolWidth: 16, stride: 1 }],
  ];
  for (const [name, xs, p] of poolCases) {
    it(`max and average pool forward and backward: ${name}`, () => {
      const x = t(xs);
      x.data[3] = NaN;
      const m = cc.maxPoolForward(x, p);
      const a = cc.avgPoolForward(x, p);
      const dout = t(m.out.shape as number[]);
      // The cache is made on each count too: the backward reads the argmax the forward left.
      sameOnEveryCount(() => { const f = cc.maxPoolForward(x, p); return [f.out, cc.maxPoolBackward(dout, f.cache)]; });
      sameOnEveryCount(() => cc.maxPoolBackward(dout, m.cache));
      sameOnEveryCount(() => { const f = cc.avgPoolForward(x, p); return [f.out, cc.avgPoolBackward(dout, f.cache)]; });
      sameOnEveryCount(() => cc.avgPoolBackward(dout, a.cache));
    });
  }

  for (const [name, shape] of [['N = 7, D = 13', [7, 13]], ['N = 2, D = 1', [2, 1]], ['N = 50, D = 64', [50, 64]]] as const) {
    it(`batchnorm, train and test mode, forward and backward: ${name}`, () => {
      const D = shape[1];
      const x = t([...shape], 3, 1e3), gamma = t([D]), beta = t([D]);
      for (const mode of ['train', 'test'] as const) {
        const param = () => ({ mode, runningMean: t([D], 1, 1e3), runningVar: t([D], 0.1, 2) });
        const fixed = param();
        const run = () => cc.batchnormForward(x, gamma, beta, { ...fixed });
        const { out, cache } = run();
        const dout = t(out.shape as number[]);
        sameOnEveryCount(() => { const res = run(); return [res.out, res.runningMean, res.runningVar]; });
        sameOnEveryCount(() => cc.batchnormBackward(dout, cache));
      }
    });
  }

  it('spatial batchnorm, train and test mode, forward and backward', () => {
    const x = t([4, 5, 3, 7], 2, -1), gamma = t([5]), beta = t([5]);
    for (const mode of ['train', 'test'] as const) {
      const fixed = { mode, runningMean: t([5]), runningVar: t([5], 0.1, 1) };
      const run = () => cc.spatialBatchnormForward(x, gamma, beta, { ...fixed });
      const { out, cache } = run();
      const dout = t(out.shape as number[]);
      sameOnEveryCount(() => { const res = run(); return [res.out, res.runningMean, res.runningVar]; });
      sameOnEveryCount(() => cc.spatialBatchnormBackward(dout, cache));
    }
  });

  for (const [N, D] of [[9, 11], [1, 5], [40, 64]]) {
    it(`layernorm forward and backward: N = ${N}, D = ${D}`, () => {
      const x = t([N, D], 2, 1e3), gamma = t([D]), beta = t([D]);
      const { out, cache } = cc.layernormForward(x, gamma, beta);
      const dout = t(out.shape as number[]);
      sameOnEveryCount(() => cc.layernormForward(x, gamma, beta).out);
      sameOnEveryCount(() => cc.layernormBackward(dout, cache));
    });
  }

  for (const [shape, groups] of [[[3, 6, 5, 7], 2], [[2, 4, 3, 3], 4], [[5, 8, 4, 4], 1]] as const) {
    it(`spatial groupnorm forward and backward: x (${shape.join(',')}), ${groups} groups`, () => {
      const C = shape[1];
      const x = t([...shape]), gamma = t([C]), beta = t([C]);
      const { out, cache } = cc.spatialGroupnormForward(x, gamma, beta, { groups });
      const dout = t(out.shape as number[]);
      sameOnEveryCount(() => cc.spatialGroupnormForward(x, gamma, beta, { groups }).out);
      sameOnEveryCount(() => cc.spatialGroupnormBackward(dout, cache));
    });
  }

  it('relu, affine and softmax loss, forward and backward', () => {
    for (const [N, D, M] of [[7, 13, 5], [1, 3, 2], [33, 40, 17]]) {
      const x = t([N, D]), w = t([D, M]), b = t([M]);
      const y = Array.from({ length: N }, (_, i) => (i * 7) % M);
      const relu = cc.reluForward(x);
      const aff = cc.affineForward(x, w, b);
      const dx = t([N, D]), dout = t([N, M]);
      sameOnEveryCount(() => cc.reluForward(x).out);
      sameOnEveryCount(() => cc.reluBackward(dx, relu.cache));
      sameOnEveryCount(() => cc.affineForward(x, w, b).out);
      sameOnEveryCount(() => cc.affineBackward(dout, aff.cache));
      sameOnEveryCount(() => cc.softmaxLoss(aff.out, y));
    }
  });

  it('transpose', () => {
    const x = t([3, 4, 5, 6]);
    for (const axes of [[0, 2, 3, 1], [3, 2, 1, 0], [1, 0, 2, 3], [0, 1, 2, 3]]) sameOnEveryCount(() => cc.transpose(x, axes));
    const y = t([17, 3]);
    sameOnEveryCount(() => cc.transpose(y));
  });

  it('dropout, forward and backward, with a seed', () => {
    for (const n of [1, 7, 8, 9, 63, 64, 65, 1000]) {
      const x = t([n]);
      const param = { mode: 'train' as const, keepProb: 0.6, seed: 12345 };
      const { cache } = cc.dropoutForward(x, param);
      const dout = t([n]);
      // The cache is made on each count too: the backward reads the mask the forward left.
      sameOnEveryCount(() => { const f = cc.dropoutForward(x, param); return [f.out, cc.dropoutBackward(dout, f.cache)]; });
      sameOnEveryCount(() => cc.dropoutBackward(dout, cache));
    }
  });

  it('the update rules sgd, sgdMomentum, rmsprop, adam and adamw', () => {
    for (const n of [1, 5, 64, 1001]) {
      const w = t([n]), dw = t([n]), s1 = t([n]), s2 = t([n], 1, 2);
      sameOnEveryCount(() => cc.sgd(w, dw, { learningRate: 0.1 }).w);
      sameOnEveryCount(() => { const u = cc.sgdMomentum(w, dw, { learningRate: 0.1, velocity: s1 }); return [u.w, u.config.velocity]; });
      sameOnEveryCount(() => { const u = cc.rmsprop(w, dw, { learningRate: 0.1, cache: s2 }); return [u.w, u.config.cache]; });
      sameOnEveryCount(() => { const u = cc.adam(w, dw, { learningRate: 0.1, m: s1, v: s2, t: 3 }); return [u.w, u.config.m, u.config.v]; });
      sameOnEveryCount(() => { const u = cc.adamw(w, dw, { learningRate: 0.1, weightDecay: 0.2, m: s1, v: s2, t: 3 }); return [u.w, u.config.m, u.config.v]; });
    }
  });

  it('a few training steps of ThreeLayerConvNet and of FullyConnectedNet (batchnorm, dropout; layernorm)', () => {
    const rr = makeRng(5);
    const X = randn(rr, [20, 3, 12, 12]) as Tensor;
    const y = Array.from({ length: 20 }, (_, i) => i % 10);
    const data = { XTrain: X, yTrain: y, XVal: X, yVal: y };
    const train = (model: cc.Model): unknown => {
      const s = new cc.Solver(model, data, { updateRule: 'adam', batchSize: 10, numEpochs: 2, verbose: false, seed: 3 });
      s.train();
      const out = [s.lossHistory, s.trainAccHistory, Object.values(model.params)];
      s.dispose();
      model.dispose();
      return out;
    };
    sameOnEveryCount(() => train(new cc.ThreeLayerConvNet({ numFilters: 6, filterSize: 3, inputDim: [3, 12, 12], hiddenDim: 20, seed: 1 })));
    for (const extra of [{ normalization: 'batchnorm' as const, dropoutKeepRatio: 0.7 }, { normalization: 'layernorm' as const }]) {
      sameOnEveryCount(() => train(new cc.FullyConnectedNet({ hiddenDims: [30, 20], inputDim: 432, seed: 2, ...extra })));
    }
    // A Sequential of every layer kind (residuals with an identity and a strided shortcut, depthwise, grouped and dilated convs).
    const L = cc.layers;
    sameOnEveryCount(() => train(new cc.Sequential([
      L.conv(6, 3, { pad: 1, bias: false }), L.spatialBatchnorm(), L.relu(),
      L.residual([L.conv(6, 3, { pad: 2, dilation: 2 }), L.spatialGroupnorm(3), L.relu()]),
      L.residual([L.conv(8, 3, { pad: 1, stride: 2, groups: 2 })], { shortcut: [L.conv(8, 1, { stride: 2 })] }),
      L.conv(8, 3, { pad: 1, groups: 8 }), L.maxPool(2, { stride: 1 }), L.avgPool(2), L.globalAvgPool(), L.flatten(),
      L.dropout(0.8, { seed: 5 }), L.batchnorm(), L.layernorm(), L.affine(10),
    ], { inputShape: [3, 12, 12], seed: 4, reg: 1e-3 })));
  });
});

describe('the pool', () => {
  it('starts, resizes and shuts down; ops keep working through every change', async () => {
    const x = t([4, 3, 8, 8]), w = t([5, 3, 3, 3]), b = t([5]);
    const want = flat(cc.convForward(x, w, b, { pad: 1 }).out);
    for (const n of [2, 3, 1, 4]) {
      await cc.init({ threads: n });
      expect(cc.threadCount()).toBe(n);
      expect(workerHandles().length).toBe(n - 1);
      expect(differing(flat(cc.convForward(x, w, b, { pad: 1 }).out), want)).toBe(0);
    }
    cc.shutdownThreads();
    expect(cc.threadCount()).toBe(1);
    expect(differing(flat(cc.convForward(x, w, b, { pad: 1 }).out), want)).toBe(0);
    await cc.init({ threads: 'auto' });
    const { availableParallelism } = await import('node:os');
    expect(cc.threadCount()).toBe(Math.min(MAX_THREADS, availableParallelism()));
    await cc.init({ threads: 4 });
  });

  it('rejects a thread count that is not an integer in [1, 64] or "auto"', async () => {
    for (const bad of [0, -1, 1.5, 65, NaN, '2', 'all', null]) {
      await expect(cc.init({ threads: bad as never })).rejects.toThrow(/^init: threads must be an integer in \[1, 64\] or "auto", got /);
    }
    expect(cc.threadCount()).toBe(4);
  });

  it('releaseMemory refuses while a pool shares the memory, and names the way out', () => {
    expect(() => cc.releaseMemory()).toThrow(/releaseMemory: a pool of 4 threads shares this memory; call shutdownThreads\(\) first/);
  });

  it('splits a large op and leaves a small one on the calling thread', () => {
    splitEveryOp(false);
    try {
      const before = splitOps();
      cc.reluForward(t([100]));
      expect(splitOps()).toBe(before);
      cc.reluForward(t([1 << 18]));
      expect(splitOps()).toBe(before + 1);
    } finally {
      splitEveryOp(true);
    }
  });

  it('a worker that dies is named by the next op, and the module goes on with the threads it has', async () => {
    await cc.init({ threads: 3 });
    const x = t([6, 3, 8, 8]), w = t([5, 3, 3, 3]), b = t([5]);
    const want = flat(cc.convForward(x, w, b, { pad: 1 }).out);
    workerHandles()[1].terminate();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(() => cc.convForward(x, w, b, { pad: 1 })).toThrow(
      /^convcore: worker thread \d+ exited \(code 1\)\. The pool now runs on 2 threads; this op did not run, call it again$/);
    expect(cc.threadCount()).toBe(2);
    expect(differing(flat(cc.convForward(x, w, b, { pad: 1 }).out), want)).toBe(0);
    // Killed while ops run back to back: the parts it would have taken are taken by the others.
    workerHandles()[0].terminate();
    for (let i = 0; i < 20; i++) expect(differing(flat(cc.convForward(x, w, b, { pad: 1 }).out), want)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(() => cc.convForward(x, w, b, { pad: 1 })).toThrow(/^convcore: worker thread \d+ exited/);
    expect(cc.threadCount()).toBe(1);
    expect(differing(flat(cc.convForward(x, w, b, { pad: 1 }).out), want)).toBe(0);
    await cc.init({ threads: 4 });
    expect(cc.threadCount()).toBe(4);
  });
});

/** 'settled' once p settles (either way), 'pending' if it has not within ms. */
async function settles(p: Promise<unknown>, ms = 15000): Promise<'settled' | 'pending'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'pending'>((resolve) => { timer = setTimeout(() => resolve('pending'), ms); });
  const r = await Promise.race([p.then(() => 'settled' as const, () => 'settled' as const), late]);
  clearTimeout(timer);
  return r;
}

describe('the runtime: every init settles, the last thread count wins', () => {
  it('two inits in a row: both settle, and the second resolves once its pool is ready', async () => {
    cc.shutdownThreads();
    const a = cc.init({ threads: 4 });
    const b = cc.init({ threads: 2 });
    let atB = -1;
    void b.then(() => { atB = cc.threadCount(); });
    expect(theRuntime().state()).toBe('resizing');
    expect(await settles(a)).toBe('settled');
    expect(await settles(b)).toBe('settled');
    expect(atB).toBe(2);
    expect(cc.threadCount()).toBe(2);
    expect(workerHandles().length).toBe(1);
    expect(theRuntime().state()).toBe('ready');
  });

  it('init, then shutdownThreads before its workers are ready: the init settles on one thread', async () => {
    cc.shutdownThreads();
    const a = cc.init({ threads: 3 });
    cc.shutdownThreads();
    expect(await settles(a)).toBe('settled');
    expect(cc.threadCount()).toBe(1);
    expect(workerHandles().length).toBe(0);
    // A later init starts a pool again.
    await cc.init({ threads: 3 });
    expect(cc.threadCount()).toBe(3);
  });

  it('init, then releaseMemory before its workers are ready: refused, naming the way out; the init settles', async () => {
    cc.shutdownThreads();
    const a = cc.init({ threads: 3 });
    expect(() => cc.releaseMemory()).toThrow(/^releaseMemory: a pool is starting on this memory; await init\(\) and call shutdownThreads\(\) first/);
    expect(await settles(a)).toBe('settled');
    expect(cc.threadCount()).toBe(3);
    cc.shutdownThreads();
    cc.releaseMemory();
    await cc.init({ threads: 4 });
    expect(cc.threadCount()).toBe(4);
    splitEveryOp(true);
  });

  it('many inits and shutdowns interleaved: all settle, and the last call decides', async () => {
    const calls: Promise<void>[] = [];
    for (const n of [2, 4, 1, 3]) calls.push(cc.init({ threads: n }));
    cc.shutdownThreads();
    calls.push(cc.init({ threads: 3 }));
    for (const c of calls) expect(await settles(c)).toBe('settled');
    expect(cc.threadCount()).toBe(3);
    await cc.init({ threads: 4 });
  });
});

/** Stops the pool and waits until its workers have exited, so that new workers get thread numbers 1, 2, … */
async function stopped(): Promise<void> {
  cc.shutdownThreads();
  for (let i = 0; i < 500 && theRuntime().state() === 'stopping'; i++) await new Promise((r) => setTimeout(r, 10));
  expect(theRuntime().state()).toBe('ready');
}

/** A pool of 3 threads whose odd-numbered worker exits on its first claim of a part of `kernel` (test/fixtures/dying-worker.mjs). */
async function dyingPool(kernel: string): Promise<void> {
  await stopped();
  process.env.CONVCORE_TEST_DIE_ON = kernel;
  try {
    setThreadHost(nodeThreadHost(new URL('./fixtures/dying-worker.mjs', import.meta.url)));
    await cc.init({ threads: 3 });
  } finally {
    delete process.env.CONVCORE_TEST_DIE_ON;
  }
}

describe('a worker that exits while it holds a part', () => {
  afterAll(async () => {
    cc.shutdownThreads();
    setThreadHost(nodeThreadHost());
    await cc.init({ threads: 4 });
  });

  it('is noticed at once: the op throws the named error, runs no part twice, and the pool goes on', async () => {
    await dyingPool('conv_forward');
    expect(cc.threadCount()).toBe(3);
    // Three channels: a conv on im2col + GEMM (conv_forward), below Winograd's rule.
    const x = t([12, 3, 24, 24]), w = t([16, 3, 3, 3]), b = t([16]);
    capParts(1);
    const want = flat(cc.convForward(x, w, b, { pad: 1 }).out);
    capParts(MAX_THREADS);
    let error: unknown = null;
    // A worker of odd thread number exits on its first claim of a conv_forward part.
    for (let i = 0; i < 300 && error === null; i++) {
      try {
        cc.convForward(x, w, b, { pad: 1 });
      } catch (e) {
        error = e;
      }
    }
    expect(error).toBeInstanceOf(cc.WorkerExitedError);
    expect(error).toBeInstanceOf(cc.ConvcoreError);
    expect((error as Error).message).toMatch(
      /^convcore: worker thread \d+ exited \(code 7\) while it ran part [12] of conv_forward\. The op did not complete and its outputs are half-written; the pool now runs on 2 threads, call it again$/);
    expect(cc.threadCount()).toBe(2);
    expect(differing(flat(cc.convForward(x, w, b, { pad: 1 }).out), want)).toBe(0);
    // Its exit event, which comes later, is not reported a second time.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(differing(flat(cc.convForward(x, w, b, { pad: 1 }).out), want)).toBe(0);
    expect(cc.threadCount()).toBe(2);
  });

  it('a model whose update it cut short is marked unusable, and its next call says so', async () => {
    await dyingPool('adam_step');
    const rr = makeRng(9);
    const X = randn(rr, [8, 3, 10, 10]) as Tensor;
    const y = Array.from({ length: 8 }, (_, i) => i % 10);
    const model = new cc.ThreeLayerConvNet({ numFilters: 4, filterSize: 3, inputDim: [3, 10, 10], hiddenDim: 200, seed: 1 });
    const solver = new cc.Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, { updateRule: 'adam', batchSize: 8, verbose: false, seed: 2 });
    let error: unknown = null;
    for (let i = 0; i < 300 && error === null; i++) {
      try {
        solver.step();
      } catch (e) {
        error = e;
      }
    }
    expect(error).toBeInstanceOf(cc.WorkerExitedError);
    expect((error as Error).message).toMatch(/while it ran part \d+ of adam_step/);
    const unusable = /^ThreeLayerConvNet: this model's update was cut short \(convcore: worker thread \d+ exited \(code 7\) while it ran part \d+ of adam_step.*\), so its parameters or running statistics may be half-updated; make it again from its toJSON\(\) or a checkpoint, or dispose\(\) it$/;
    expect(() => model.loss(X)).toThrow(unusable);
    expect(() => model.params).toThrow(unusable);
    expect(() => model.toJSON()).toThrow(unusable);
    expect(() => solver.step()).toThrow(unusable);
    solver.dispose();
    model.dispose();
    expect(cc.threadCount()).toBe(2);
  });

  it('a solver whose update of a plain model it cut short refuses to step again; the model keeps the parameters it had', async () => {
    await dyingPool('adam_step');
    const rr = makeRng(10);
    const X = randn(rr, [8, 400]) as Tensor;
    const y = Array.from({ length: 8 }, (_, i) => i % 10);
    // A softmax classifier with CS231n's model interface, on the functional ops; W is large
    // enough that a worker wakes in time to claim a part of its update, even on a busy machine.
    const model = {
      params: { W: randn(rr, [400, 50], 0.1) as Tensor, b: randn(rr, [50], 0.1) as Tensor },
      loss(x: Tensor, labels?: cc.Labels) {
        const a = cc.affineForward(x, this.params.W, this.params.b);
        if (labels === undefined) return a.out;
        const { loss, dscores } = cc.softmaxLoss(a.out, labels);
        const d = cc.affineBackward(dscores, a.cache);
        return { loss, grads: { W: d.dw, b: d.db } };
      },
    };
    const solver = new cc.Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, { updateRule: 'adam', batchSize: 8, verbose: false, seed: 2 });
    let error: unknown = null;
    let before: Tensor[] = [];
    for (let i = 0; i < 200 && error === null; i++) {
      before = [model.params.W, model.params.b];
      try {
        solver.step();
      } catch (e) {
        error = e;
      }
    }
    expect(error).toBeInstanceOf(cc.WorkerExitedError);
    expect((error as Error).message).toMatch(/while it ran part \d+ of adam_step/);
    expect([model.params.W, model.params.b]).toEqual(before);
    expect(model.params.W).toBe(before[0]);
    const steps = solver.lossHistory.length;
    expect(() => solver.step()).toThrow(/^Solver\.step: this solver's update was cut short \(convcore: worker thread \d+ exited \(code 7\) while it ran part \d+ of adam_step.*\), so its optimizer state may be half-updated; the model's parameters were left as they were before the step; make a new Solver, or dispose\(\) this one$/);
    expect(solver.lossHistory.length).toBe(steps);
    expect(solver.checkAccuracy(X, y)).toBeGreaterThanOrEqual(0);
    solver.dispose();
    expect(cc.threadCount()).toBe(2);
  });

  it('a worker whose error event fires is terminated, and the next op names it', async () => {
    cc.shutdownThreads();
    const events: WorkerEvents[] = [];
    const terminated: number[] = [];
    const spawned: number[] = [];
    // Workers that say they are ready and never claim a part: the calling thread runs every part.
    const host: ThreadHost = {
      cores: () => 2,
      isolated: () => true,
      spawn(data, ev) {
        events.push(ev);
        spawned.push(data.thread);
        queueMicrotask(() => ev.message({ ready: true }));
        return { terminate: () => { terminated.push(data.thread); } };
      },
    };
    setThreadHost(host);
    await cc.init({ threads: 2 });
    expect(cc.threadCount()).toBe(2);
    const x = t([1000]);
    expect(differing(flat(cc.reluForward(x).out.data), flat(x.data.map((v) => Math.max(0, v))))).toBe(0);
    events[0].error('boom');
    expect(terminated).toEqual([spawned[0]]);
    expect(() => cc.reluForward(x)).toThrow(/^convcore: worker thread \d+ stopped with an error: boom\. The pool now runs on 1 thread; this op did not run, call it again$/);
    expect(cc.threadCount()).toBe(1);
  });
});

describe('a Node process', () => {
  it('that used a pool exits by itself when its script ends', () => {
    const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      const cc = await import(${JSON.stringify(entry)});
      await cc.init({ threads: 2 });
      const x = cc.tensor(new Float64Array(8 * 3 * 32 * 32).map((_, i) => Math.sin(i)), [8, 3, 32, 32]);
      const w = cc.tensor(new Float64Array(16 * 3 * 5 * 5).map((_, i) => Math.cos(i)), [16, 3, 5, 5]);
      const { out } = cc.convForward(x, w, cc.tensor(new Float64Array(16), [16]), { pad: 2 });
      console.log(cc.threadCount(), out.data.length);`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 });
    expect(res.error).toBeUndefined();
    expect(res.status).toBe(0);
    expect(res.stdout.trim()).toBe(`2 ${8 * 16 * 32 * 32}`);
  });
});
