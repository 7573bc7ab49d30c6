// The ONNX export, run in onnxruntime-web (in Node): a network of every layer kind, and the
// CS231n models, give convcore's test-mode scores to 1e-5 (float32), for any batch size.
import { describe, it, expect, beforeAll } from 'vitest';
import * as ort from 'onnxruntime-web';
import * as cc from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { toOnnx } from '../src/onnx.js';
import { maxNormRelError } from '../src/gradcheck.js';
import { expectConvcoreError, makeRng, randn } from './util.js';

const L = cc.layers;

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

/** The scores onnxruntime computes for X with the exported model. */
async function ortScores(bytes: Uint8Array, X: Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(X.data), X.shape as number[]) });
  return out.scores.data as Float32Array;
}

async function expectSameScores(model: cc.Sequential | cc.ThreeLayerConvNet | cc.FullyConnectedNet, X: Tensor): Promise<number> {
  const bytes = toOnnx(model);
  const want = model.loss(X) as Tensor;
  const got = await ortScores(bytes, X);
  const err = maxNormRelError(Float64Array.from(got), want.data);
  expect(err).toBeLessThan(1e-5);
  return err;
}

describe('toOnnx in onnxruntime-web', () => {
  it('a network of every layer kind, with trained running statistics, on two batch sizes', async () => {
    const net = new cc.Sequential([
      L.conv(4, 3, { pad: 1, bias: false }), L.spatialBatchnorm(), L.relu(),
      L.residual([L.conv(4, 3, { pad: 2, dilation: 2 }), L.spatialGroupnorm(2), L.relu()]),
      L.residual([L.conv(6, 3, { pad: 1, stride: 2 })], { shortcut: [L.conv(6, 1, { stride: 2 })] }),
      L.conv(6, 3, { pad: 1, groups: 6 }), L.conv(6, [3, 1], { pad: [1, 0], groups: 2 }),
      L.maxPool(2, { stride: 1 }), L.avgPool(2), L.globalAvgPool(), L.flatten(), L.dropout(0.75), L.batchnorm(), L.layernorm(), L.relu(), L.affine(5),
    ], { inputShape: [2, 9, 9], seed: 3 });
    const r = makeRng(7);
    for (let i = 0; i < 3; i++) net.loss(randn(r, [4, 2, 9, 9], 2, 0.5), [0, 1, 2, 3]);
    await expectSameScores(net, randn(r, [3, 2, 9, 9]));
    await expectSameScores(net, randn(r, [1, 2, 9, 9]));
    net.dispose();
  });

  it('flatten and affine on images, maxPool and avgPool with windows and strides of their own', async () => {
    const net = new cc.Sequential([L.conv(3, [3, 2], { stride: [2, 1] }), L.relu(), L.maxPool([2, 3], { stride: [1, 2] }), L.avgPool(2, { stride: 1 }), L.affine(4)],
      { inputShape: [1, 13, 12], seed: 1 });
    await expectSameScores(net, randn(makeRng(8), [2, 1, 13, 12]));
    net.dispose();
  });

  it('ThreeLayerConvNet and FullyConnectedNet (batchnorm; layernorm)', async () => {
    const r = makeRng(9);
    const tlc = new cc.ThreeLayerConvNet({ inputDim: [1, 8, 8], numFilters: 3, filterSize: 3, hiddenDim: 7, numClasses: 4, weightScale: 0.3, seed: 1 });
    await expectSameScores(tlc, randn(r, [2, 1, 8, 8]));
    for (const normalization of ['batchnorm', 'layernorm'] as const) {
      const fc = new cc.FullyConnectedNet({ hiddenDims: [6, 5], inputDim: 7, numClasses: 3, normalization, weightScale: 0.5, seed: 2 });
      fc.loss(randn(r, [5, 7], 1, 1), [0, 1, 2, 0, 1]);
      await expectSameScores(fc, randn(r, [3, 7]));
      fc.dispose();
    }
    tlc.dispose();
  });

  it('refuses what is not a convcore model, and a disposed one', () => {
    expectConvcoreError(() => toOnnx({ params: {}, loss: () => 0 }), /^toOnnx: model must be a Sequential, a ThreeLayerConvNet or a FullyConnectedNet$/);
    const net = new cc.Sequential([L.affine(2)], { inputShape: [3], seed: 1 });
    net.dispose();
    expectConvcoreError(() => toOnnx(net), /disposed/);
  });
});
