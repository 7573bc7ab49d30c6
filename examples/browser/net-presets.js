// The training page's preset networks, in the syntax of its network box (net-parser.js).
// The first is the network `npm start` trains (examples/digits-net.js; test/net-parser.test.ts
// checks that they agree); the second is the network of ConvNetJS's MNIST demo; the third
// adds a residual block.
export const PRESETS = [
  {
    id: 'npm-start',
    name: 'Two conv blocks and a hidden layer (npm start)',
    text: `conv(8, 3, { pad: 1 }), spatialBatchnorm(), relu(), maxPool(2),
conv(32, 3, { pad: 1 }), spatialBatchnorm(), relu(), maxPool(2),
affine(100), batchnorm(), relu(),
affine(10)`,
  },
  {
    id: 'convnetjs',
    name: "ConvNetJS's MNIST network (no batchnorm)",
    text: `conv(8, 5, { pad: 2 }), relu(), maxPool(2),
conv(16, 5, { pad: 2 }), relu(), maxPool(3),
affine(10)`,
  },
  {
    id: 'residual',
    name: 'A residual block',
    text: `conv(16, 3, { pad: 1 }), spatialBatchnorm(), relu(), maxPool(2),
// out = relu(x + body(x)), the shortcut the identity
residual([
  conv(16, 3, { pad: 1 }), spatialBatchnorm(), relu(),
  conv(16, 3, { pad: 1 }), spatialBatchnorm(),
]),
relu(), maxPool(2),
affine(100), batchnorm(), relu(),
affine(10)`,
  },
];
