// convcore training the network of the "training" section: ThreeLayerConvNet and a Solver
// with Adam, through the public API. A step is solver.step(): a minibatch drawn from the
// training set and gathered, copied into the model's WebAssembly buffers, the forward and
// backward on them, the loss read out, and the update rule run in place on every parameter.

import { ThreeLayerConvNet, Solver, softmaxLoss, tensor } from 'convcore';

/** The rows [start, start + count) of a digits part { X, y } as a Tensor and labels. */
export function slice({ X, y }, start, count) {
  const per = X.data.length / X.shape[0];
  return {
    X: tensor(X.data.slice(start * per, (start + count) * per), [count, ...X.shape.slice(1)]),
    y: y.slice(start, start + count),
  };
}

/**
 * The model (its initial weights are the ones every peer starts from), and a solver whose
 * training set is the given batches, so that it draws its minibatches from those images.
 */
export function prepareConvcore(spec, batches, { learningRate, seed }) {
  const { batchSize, ...options } = spec;
  const model = new ThreeLayerConvNet({ ...options, weightScale: 1e-3, reg: 0, seed });
  const params = model.params;
  const per = batches[0].X.data.length / batches[0].X.shape[0];
  const XTrain = tensor(new Float64Array(batches.length * batchSize * per), [batches.length * batchSize, ...spec.inputDim]);
  const yTrain = new Int32Array(batches.length * batchSize);
  batches.forEach((b, i) => {
    XTrain.data.set(b.X.data, i * batchSize * per);
    yTrain.set(b.y, i * batchSize);
  });
  const solver = new Solver(model, { XTrain, yTrain, XVal: batches[0].X, yVal: batches[0].y }, {
    updateRule: 'adam', optimConfig: { learningRate }, batchSize, numEpochs: 1, verbose: false, seed,
  });
  return {
    model,
    solver,
    params,
    step: () => solver.step(),
    /** Scores of a batch in test mode, (N, classes) row-major. */
    scores: (b) => model.loss(b.X).data,
    /** The mean loss over the batches, forward only. */
    evaluate: () => mean(batches.map((b) => softmaxLoss(model.loss(b.X), b.y).loss)),
    dispose() {
      solver.dispose();
      model.dispose();
    },
  };
}

export const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
