// The network `npm start` (examples/train.js) trains on the digits, and how it trains it.
// The training page offers the same list as its first preset (examples/browser/net-presets.js),
// and test/net-parser.test.ts checks that the two agree.
import { layers } from 'convcore';

const { conv, spatialBatchnorm, relu, maxPool, affine, batchnorm } = layers;

/** Two 3x3 conv blocks (conv, batchnorm, ReLU, 2x2 max pool), then a hidden layer of 100: (1,28,28) -> 10 scores. */
export const DIGITS_NET = [
  conv(8, 3, { pad: 1 }), spatialBatchnorm(), relu(), maxPool(2),
  conv(32, 3, { pad: 1 }), spatialBatchnorm(), relu(), maxPool(2),
  affine(100), batchnorm(), relu(),
  affine(10),
];

/** The Sequential's options besides its seed. */
export const DIGITS_OPTIONS = { inputShape: [1, 28, 28], loss: 'softmax', reg: 0, init: 'he' };

/** npm start's defaults for this network (its flags change them). */
export const DIGITS_TRAINING = { epochs: 8, batchSize: 50, learningRate: 2e-3, lrDecay: 0.8, updateRule: 'adam' };
