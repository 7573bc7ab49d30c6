// convnetjs 0.3 training the network of the "training" section: float64 plain JavaScript,
// one image (a Vol) at a time, its gradients summed over a batch and an update every
// batchSize images, as its Trainer does.
//
// The net is convnetjs's own layer_defs: conv 7x7 (32 filters, stride 1, pad 3) with relu,
// pool 2x2 stride 2, fc 100 with relu, softmax 10. It is given the same initial weights as
// convcore's model (permuted into its HWC Vols), and its scores are checked against
// convcore's before training.
//
// The update: the npm release of convnetjs (0.3.0) has no Adam. Its Trainer takes any
// `method` it does not know for SGD with momentum 0.9, so `method: 'adam'` would silently
// train with another rule. The later convnetjs sources add an Adam branch to that loop. So
// step() runs Trainer.train's own sequence (net.forward(x, true), net.backward(y), the
// gradients summed until batchSize images are seen) and replaces only its update loop by
// Adam in the same plain-JS form (CS231n's rule: t counts updates, the bias corrections
// divide), with l2_decay 0. The update is one pass over the 640k parameters per batch; the
// 50 forwards and backwards are nearly all of the time.

import convnetjs from 'convnetjs';
import { permute } from '../data.js';
import { vols } from './convnetjs.js';

const { Net } = convnetjs;

/**
 * The network of `spec` with convcore's parameters `params` ({ W1 (F,C,K,K), b1, W2 (D,Hd)
 * with D in the (F,H',W') order of the pooled maps, b2, W3 (Hd,classes), b3 }, Float64Arrays
 * with their shapes).
 */
function makeNet(spec, params) {
  const [C, H, W] = spec.inputDim;
  const K = spec.filterSize;
  const net = new Net();
  net.makeLayers([
    { type: 'input', out_sx: W, out_sy: H, out_depth: C },
    { type: 'conv', sx: K, sy: K, filters: spec.numFilters, stride: 1, pad: (K - 1) / 2, activation: 'relu' },
    { type: 'pool', sx: 2, sy: 2, stride: 2 },
    { type: 'fc', num_neurons: spec.hiddenDim, activation: 'relu' },
    { type: 'softmax', num_classes: spec.numClasses },
  ]);
  const [conv, , pool, fc1, , fc2] = net.layers.slice(1);
  const { W1, b1, W2, b2, W3, b3 } = params;
  const per = C * K * K;
  conv.filters.forEach((f, i) => { f.w = permute(W1.data.subarray(i * per, (i + 1) * per), [C, K, K], [1, 2, 0]); });
  conv.biases.w = Float64Array.from(b1.data);
  // W2's rows are in (F, H', W') order, a Vol's in (H', W', F): filter j is column j of W2, permuted.
  const Hd = spec.hiddenDim;
  const w2 = permute(W2.data, [pool.out_depth, pool.out_sy, pool.out_sx, Hd], [3, 1, 2, 0]);
  const D = w2.length / Hd;
  fc1.filters.forEach((f, j) => { f.w = w2.slice(j * D, (j + 1) * D); });
  fc1.biases.w = Float64Array.from(b2.data);
  const w3 = permute(W3.data, W3.shape, [1, 0]);
  fc2.filters.forEach((f, j) => { f.w = w3.slice(j * Hd, (j + 1) * Hd); });
  fc2.biases.w = Float64Array.from(b3.data);
  return net;
}

/** Adam over convnetjs's parameter lists, in the style of its Trainer's update loop. */
function adamUpdate(state, pglist, batchSize) {
  const { learningRate: lr, beta1, beta2, epsilon } = state;
  if (state.m.length === 0) {
    for (const pg of pglist) {
      state.m.push(new Float64Array(pg.params.length));
      state.v.push(new Float64Array(pg.params.length));
    }
  }
  state.t++;
  const c1 = 1 - beta1 ** state.t;
  const c2 = 1 - beta2 ** state.t;
  for (let i = 0; i < pglist.length; i++) {
    const p = pglist[i].params;
    const g = pglist[i].grads;
    const m = state.m[i];
    const v = state.v[i];
    for (let j = 0; j < p.length; j++) {
      const gij = g[j] / batchSize; // the batch's mean gradient (l2_decay 0)
      m[j] = beta1 * m[j] + (1 - beta1) * gij;
      v[j] = beta2 * v[j] + (1 - beta2) * gij * gij;
      p[j] -= (lr * (m[j] / c1)) / (Math.sqrt(v[j] / c2) + epsilon);
      g[j] = 0.0;
    }
  }
}

/**
 * The convnetjs peer: `prepare(spec, params, batches)` builds the net with convcore's initial
 * weights and turns each batch { X: {data, shape}, y: Int32Array } into Vols (outside any
 * timing). Then `step(i)` trains on batch i (batchSize calls of train, one update) and
 * returns the batch's mean loss; `scores(i)` is the forward of batch i in test mode,
 * (N, classes) row-major; `evaluate()` is the mean loss over all the batches, forward only.
 */
export const convnetjsTrainPeer = {
  name: 'convnetjs',
  describe: 'convnetjs 0.3, float64 plain JS, one image at a time, its Trainer\'s forward, backward and gradient sums; Adam in its update loop (its npm release has none)',
  tolerance: 1e-9,
  prepare(spec, params, batches, { learningRate }) {
    const net = makeNet(spec, params);
    const data = batches.map((b) => ({ xs: vols(b.X.data, b.X.shape), y: b.y }));
    const adam = { learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, t: 0, m: [], v: [] };
    let seen = 0; // images since the last update (Trainer's k)
    const train = (x, y) => {
      net.forward(x, true);
      const loss = net.backward(y);
      if (++seen % spec.batchSize === 0) adamUpdate(adam, net.getParamsAndGrads(), spec.batchSize);
      return loss;
    };
    return {
      step(i) {
        const { xs, y } = data[i % data.length];
        let sum = 0;
        for (let n = 0; n < xs.length; n++) sum += train(xs[n], y[n]);
        return sum / xs.length;
      },
      scores(i) {
        const { xs } = data[i % data.length];
        const logits = net.layers[net.layers.length - 2];
        const out = new Float64Array(xs.length * spec.numClasses);
        xs.forEach((x, n) => {
          net.forward(x, false);
          out.set(logits.out_act.w, n * spec.numClasses);
        });
        return out;
      },
      evaluate() {
        let sum = 0;
        let count = 0;
        for (const { xs, y } of data) {
          xs.forEach((x, n) => {
            const probs = net.forward(x, false).w;
            sum -= Math.log(probs[y[n]]);
            count++;
          });
        }
        return sum / count;
      },
      dispose() {},
    };
  },
};
