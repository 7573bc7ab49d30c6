// @tensorflow/tfjs-backend-wasm: float32, XNNPACK with Wasm SIMD (four lanes), one thread.
//
// The wasm backend's conv and pool kernels take NHWC only, and filters as
// (HH,WW,C,F), so the data is permuted (and rounded to float32: our test values are
// exact in float32) outside the timing; we time tfjs on tensors already in its
// memory and layout, and leave its results there (no readback is timed).
//
// What the backend has, by kernel name:
// - Conv2D / FusedConv2D (forward, with bias) and Conv2DBackpropInput (dx), called
//   through tf.fused.conv2d and tf.conv2dTranspose.
// - No Conv2DBackpropFilter: dw, and so the full conv backward, is not available.
// - MaxPool and MaxPoolGrad. MaxPoolGrad has no public op; it is called through the
//   engine, as tfjs's own gradient of maxPool does. It is wrong on all-negative
//   windows (see preparePool).
// - FusedBatchNorm, which normalizes with a given mean and variance. Train-mode
//   batchnorm forward is tf.moments then tf.batchNorm (Mean, SquaredDifference, …,
//   FusedBatchNorm, all wasm kernels). There is no batchnorm gradient kernel, and
//   tfjs-core's node build registers no gradient functions (they come with the full
//   @tensorflow/tfjs package), so batchnorm backward is not available.

import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { permute } from '../data.js';

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];

/** Loads the backend from node_modules, single-threaded; resolves to a description. */
export async function initTfjs() {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/';
  tfwasm.setWasmPaths(dist);
  tfwasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialize');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = tfwasm.getThreadsCount();
  return `tfjs-backend-wasm ${tfwasm.version_wasm}, float32, ${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}`;
}

const nhwc = (t) => tf.tensor(permute(t.data, t.shape, NCHW_TO_NHWC, Float32Array), NCHW_TO_NHWC.map((a) => t.shape[a]));
const f32 = (t) => tf.tensor(Float32Array.from(t.data), t.shape);

/** An NHWC result as a float64 NCHW array, for the check. */
function fromNHWC(y) {
  return permute(y.dataSync(), y.shape, NHWC_TO_NCHW, Float64Array);
}

/**
 * A prepared op: `run` makes a new result and disposes the previous one, so timing
 * does not leak tensors; `outputs` reads the last result back; `dispose` frees all.
 */
function op(call, outputs, inputs) {
  let last = null;
  return {
    run: () => {
      if (last) tf.dispose(last);
      last = call();
      return last;
    },
    outputs,
    dispose: () => tf.dispose([last, ...inputs]),
  };
}

/**
 * A depthwise conv (groups = C): tf.fused.depthwiseConv2d, whose filter is (HH,WW,C,k) for
 * k filters per channel; ours is (F,1,HH,WW) with filter f = c·k + m, tfjs's output channel
 * c·k + m as well. The wasm backend has no depthwise gradient kernel.
 */
function prepareDepthwise(kind, p) {
  if (kind !== 'convForward') return { na: 'no depthwise conv gradient kernel (DepthwiseConv2dNativeBackpropInput/Filter) in the wasm backend' };
  const [F, , HH, WW] = p.w.shape;
  const C = p.x.shape[1];
  const k = F / C;
  const x = nhwc(p.x);
  const w = tf.tensor(permute(p.w.data, [C, k, HH, WW], [2, 3, 0, 1], Float32Array), [HH, WW, C, k]);
  const b = f32(p.b);
  const { stride, pad, dilation = 1 } = p.param;
  return op(() => tf.fused.depthwiseConv2d({ x, filter: w, strides: stride, pad, dilations: dilation, bias: b }), (y) => ({ out: fromNHWC(y) }), [x, w, b]);
}

function prepareConv(kind, p) {
  const groups = p.param.groups ?? 1;
  if (groups !== 1 && groups === p.x.shape[1]) return prepareDepthwise(kind, p);
  if (groups !== 1) return { na: `no grouped convolution (groups ${groups}) in tfjs` };
  const x = nhwc(p.x);
  const w = tf.tensor(permute(p.w.data, p.w.shape, [2, 3, 1, 0], Float32Array), [2, 3, 1, 0].map((a) => p.w.shape[a]));
  const { stride, pad, dilation = 1 } = p.param;
  if (kind === 'convForward') {
    const b = f32(p.b);
    return op(() => tf.fused.conv2d({ x, filter: w, strides: stride, pad, dilations: dilation, bias: b }), (y) => ({ out: fromNHWC(y) }), [x, w, b]);
  }
  if (dilation !== 1) return { na: 'tf.conv2dTranspose takes no dilation' };
  const dout = nhwc(p.dout);
  return op(() => tf.conv2dTranspose(dout, w, x.shape, stride, pad), (dx) => ({ dx: fromNHWC(dx) }), [x, w, dout]);
}

/**
 * tfjs-wasm's MaxPoolGrad sends no gradient to the right place from a window whose
 * values are all negative (on a 2x2 window of -1, -5, -4, -0.5 it routes dy to the
 * -1; with -3, -2, -7, -6 it drops it). Adding 2 to x makes every value positive
 * without changing any argmax, so dx must equal ours; it is checked and timed so.
 */
const POOL_SHIFT = 2;

function preparePool(kind, p) {
  const { poolHeight, poolWidth, stride } = p.param;
  const attrs = { filterSize: [poolHeight, poolWidth], strides: [stride, stride], pad: 'valid' };
  if (kind === 'maxPoolForward') {
    const x = nhwc(p.x);
    return op(() => tf.maxPool(x, attrs.filterSize, attrs.strides, 'valid'), (y) => ({ out: fromNHWC(y) }), [x]);
  }
  const shifted = permute(p.x.data, p.x.shape, NCHW_TO_NHWC, Float32Array).map((v) => v + POOL_SHIFT);
  const x = tf.tensor(shifted, NCHW_TO_NHWC.map((a) => p.x.shape[a]));
  const y = tf.maxPool(x, attrs.filterSize, attrs.strides, 'valid');
  const dy = nhwc(p.dout);
  const prepared = op(
    () => tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, attrs),
    (dx) => ({ dx: fromNHWC(dx) }),
    [x, y, dy],
  );
  prepared.note = `its MaxPoolGrad mis-routes dy from windows whose values are all negative, so it is checked and timed on x+${POOL_SHIFT} (same argmax)`;
  return prepared;
}

function prepareBatchnorm(kind, p) {
  const spatial = kind === 'spatialBatchnormForward';
  const x = spatial ? nhwc(p.x) : f32(p.x);
  const gamma = f32(p.gamma);
  const beta = f32(p.beta);
  const axes = spatial ? [0, 1, 2] : [0];
  const { eps } = p.param;
  const forward = () =>
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x, axes);
      return tf.batchNorm(x, mean, variance, beta, gamma, eps);
    });
  const outputs = (y) => ({ out: spatial ? fromNHWC(y) : Float64Array.from(y.dataSync()) });
  return op(forward, outputs, [x, gamma, beta]);
}

export const tfjsPeer = {
  name: 'tfjs-wasm',
  slow: false,
  tolerance: 1e-4, // float32 against float64
  prepare(kind, p) {
    switch (kind) {
      case 'convForward':
      case 'convBackwardDx':
        return prepareConv(kind, p);
      case 'convBackward':
        if ((p.param.groups ?? 1) === p.x.shape[1] && p.x.shape[1] > 1) return prepareDepthwise(kind, p);
        return { na: 'no Conv2DBackpropFilter (dw) kernel in the wasm backend' };
      case 'maxPoolForward':
      case 'maxPoolBackward':
        return preparePool(kind, p);
      case 'batchnormForward':
      case 'spatialBatchnormForward':
        return prepareBatchnorm(kind, p);
      case 'batchnormBackward':
      case 'spatialBatchnormBackward':
        return { na: 'no batchnorm gradient kernel in the wasm backend, and no gradient functions in tfjs-core for node' };
      case 'dropoutForward':
      case 'dropoutBackward':
        return { na: 'its dropout mask comes from its own generator, so its output cannot be checked against ours' };
      case 'sgd':
      case 'sgdMomentum':
      case 'rmsprop':
      case 'adam':
        return { na: 'its optimizers update tf.Variables from gradients it computes itself' };
      default:
        return { na: 'no layer or group normalization op' };
    }
  },
};
