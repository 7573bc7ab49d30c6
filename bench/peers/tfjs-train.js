// tfjs-core on its cpu backend (@tensorflow/tfjs-backend-cpu: plain JavaScript, float32)
// training the network of the "training" section with tf.variableGrads and tf.train.adam.
//
// Layout NHWC, filters (K,K,C,F), as tfjs wants them; the weights are convcore's initial
// ones, permuted and rounded to float32, and its scores are checked against convcore's
// before training. The conv layer is tf.conv2d, a bias add and relu, so that the tape skips
// the first layer's dx (tf.fused.conv2d's gradient computes it whether needed or not); the
// two affine layers are tf.fused.matMul with their bias (and relu), as tfjs-layers' Dense
// runs them. The loss is tf.losses.softmaxCrossEntropy on one-hot labels (the batch mean).
//
// Gradients: tfjs-core's Node build (the CommonJS bundle) registers no gradient functions;
// the @tensorflow/tfjs union package does it by importing tfjs-core's
// dist/register_all_gradients.js, an ES module whose extensionless imports Node cannot
// load. esbuild bundles it once here; its copy of tfjs-core's internals shares the global
// engine and the kernel and gradient registries with the CommonJS one (tfjs keeps them on
// the global object so that several copies work together), so its gradient functions
// serve tf.variableGrads.
//
// The backend is the cpu one only while this peer is in use: prepare() switches to it and
// dispose() switches back to the backend that was active before (tfjs-wasm, in npm run
// bench), whose tensors are left alone.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { build } from 'esbuild';
import { permute } from '../data.js';

let gradientsRegistered = false;

/** Registers tfjs-core's gradient functions (see the header), once per process. */
async function registerGradients() {
  if (gradientsRegistered) return;
  const require = createRequire(import.meta.url);
  const entry = join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist', 'register_all_gradients.js');
  const { outputFiles } = await build({ entryPoints: [entry], bundle: true, write: false, format: 'esm', platform: 'node', logLevel: 'silent' });
  await import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].text).toString('base64')}`);
  if (!tf.getGradient('Conv2D') || !tf.getGradient('MaxPool')) throw new Error('tfjs-cpu: the gradient functions did not register');
  gradientsRegistered = true;
}

const f32 = (a) => Float32Array.from(a);

/** The variables, from convcore's parameters (see convnetjs-train.js for their shapes). */
function variables(spec, params, pooled) {
  const { W1, b1, W2, b2, W3, b3 } = params;
  const [F, C, K] = W1.shape;
  const Hd = spec.hiddenDim;
  // W2's rows are in (F, H', W') order; tfjs flattens the NHWC pooled maps in (H', W', F).
  const w2 = permute(W2.data, [F, pooled.H, pooled.W, Hd], [1, 2, 0, 3], Float32Array);
  return {
    W1: tf.variable(tf.tensor4d(permute(W1.data, W1.shape, [2, 3, 1, 0], Float32Array), [K, K, C, F]), true, 'W1'),
    b1: tf.variable(tf.tensor1d(f32(b1.data)), true, 'b1'),
    W2: tf.variable(tf.tensor2d(w2, W2.shape), true, 'W2'),
    b2: tf.variable(tf.tensor1d(f32(b2.data)), true, 'b2'),
    W3: tf.variable(tf.tensor2d(f32(W3.data), W3.shape), true, 'W3'),
    b3: tf.variable(tf.tensor1d(f32(b3.data)), true, 'b3'),
  };
}

/** One batch as tfjs tensors: x (N,H,W,C) float32 and one-hot labels (N, classes). */
function batchTensors(b, classes) {
  const [N, C, H, W] = b.X.shape;
  const x = tf.tensor4d(permute(b.X.data, b.X.shape, [0, 2, 3, 1], Float32Array), [N, H, W, C]);
  const onehot = new Float32Array(N * classes);
  b.y.forEach((label, n) => { onehot[n * classes + label] = 1; });
  return { x, onehot: tf.tensor2d(onehot, [N, classes]) };
}

/**
 * The tfjs-cpu peer: `await prepare(spec, params, batches, { learningRate })` switches tfjs to
 * the cpu backend, makes the variables and the batch tensors (outside any timing) and returns
 * { step(i), scores(i), evaluate(), dispose() } as the convnetjs peer does. A step's loss is read back
 * (one float), as convcore's step returns its loss.
 */
export const tfjsTrainPeer = {
  name: 'tfjs-cpu',
  describe: `tfjs-core ${tf.version_core} on @tensorflow/tfjs-backend-cpu, float32 plain JS, NHWC, tf.variableGrads and tf.train.adam`,
  tolerance: 1e-4, // float32 against float64
  async prepare(spec, params, batches, { learningRate }) {
    await registerGradients();
    const previous = tf.engine().backendName;
    if (!(await tf.setBackend('cpu'))) throw new Error('tfjs-cpu: the cpu backend did not initialize');
    const prod = tf.env().getBool('PROD');
    tf.env().set('PROD', true); // no "install tfjs-node" notice on the first tensor
    const K = spec.filterSize;
    const P = (K - 1) / 2;
    const [, H, W] = spec.inputDim;
    const pooled = { H: Math.floor(H / 2), W: Math.floor(W / 2) };
    const v = variables(spec, params, pooled);
    const list = Object.values(v);
    const data = batches.map((b) => batchTensors(b, spec.numClasses));
    const optimizer = tf.train.adam(learningRate);
    const logits = (x) => {
      const h1 = tf.relu(tf.add(tf.conv2d(x, v.W1, 1, P), v.b1));
      const p1 = tf.maxPool(h1, 2, 2, 'valid');
      const flat = tf.reshape(p1, [x.shape[0], -1]);
      const h2 = tf.fused.matMul({ a: flat, b: v.W2, bias: v.b2, activation: 'relu' });
      return tf.fused.matMul({ a: h2, b: v.W3, bias: v.b3 });
    };
    return {
      step(i) {
        const { x, onehot } = data[i % data.length];
        const value = tf.tidy(() => {
          const { value: loss, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(onehot, logits(x)), list);
          optimizer.applyGradients(grads);
          return loss;
        });
        const loss = value.dataSync()[0];
        value.dispose();
        return loss;
      },
      scores(i) {
        const s = tf.tidy(() => logits(data[i % data.length].x));
        const out = Float64Array.from(s.dataSync());
        s.dispose();
        return out;
      },
      evaluate() {
        const losses = data.map(({ x, onehot }) => {
          const l = tf.tidy(() => tf.losses.softmaxCrossEntropy(onehot, logits(x)));
          const v = l.dataSync()[0];
          l.dispose();
          return v;
        });
        return losses.reduce((s, v) => s + v, 0) / losses.length;
      },
      async dispose() {
        optimizer.dispose();
        tf.dispose([...list, ...data.flatMap((d) => [d.x, d.onehot])]);
        tf.env().set('PROD', prod);
        if (previous && previous !== 'cpu') await tf.setBackend(previous);
      },
    };
  },
};
