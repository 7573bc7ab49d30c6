// `npm run export`: a trained network leaves convcore. Trains the Sequential of
// examples/digits-net.js on the digits for one epoch (or loads the model `npm start` saved,
// with --model), then writes
//   digits.safetensors  its state dict, PyTorch's names and layouts, float64;
//   digits_model.py     the equivalent torch.nn module, which assigns `model`;
//   digits.onnx         its test-mode forward as ONNX (float32), which this script runs in
//                       onnxruntime-web and compares with convcore's scores.
// and prints the Python that loads the first two (not run here: PyTorch is not a dependency).
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-web';
import { Sequential, Solver, toSafetensors, fromSafetensors } from 'convcore';
import { toOnnx } from 'convcore/onnx';
import { loadDigits } from './digits.js';
import { DIGITS_NET, DIGITS_OPTIONS } from './digits-net.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', help: 'a Sequential saved by npm start (digits-model.json) instead of one epoch of training' },
    out: { type: 'string', default: '.', help: 'where the files go' },
  },
  strict: true,
});

const digits = loadDigits();
let net;
if (values.model) {
  net = Sequential.fromJSON(JSON.parse(readFileSync(values.model, 'utf8')));
} else {
  net = new Sequential(DIGITS_NET, { ...DIGITS_OPTIONS, seed: 0 });
  const solver = new Solver(net, { XTrain: digits.train.X, yTrain: digits.train.y, XVal: digits.val.X, yVal: digits.val.y },
    { updateRule: 'adam', optimConfig: { learningRate: 2e-3 }, batchSize: 50, numEpochs: 1, verbose: false, seed: 0 });
  solver.train();
  solver.dispose();
}
const { accuracy } = net.evaluate(digits.test.X, digits.test.y);
console.log(`convcore: test accuracy ${(100 * accuracy).toFixed(2)}% on ${digits.test.y.length} digits`);

const out = (name) => resolve(values.out, name);
const st = toSafetensors(net.stateDict(), { dtype: 'float64', metadata: { source: 'convcore examples/export.js' } });
writeFileSync(out('digits.safetensors'), st);
writeFileSync(out('digits_model.py'), net.toPyTorch());
// The file reads back to the same state dict, bit for bit.
const back = fromSafetensors(st);
const sd = net.stateDict();
const same = Object.entries(sd).every(([k, t]) => back[k] && back[k].data.every((v, i) => Object.is(v, t.data[i])));
console.log(`wrote digits.safetensors (${st.length} bytes, ${Object.keys(sd).length} tensors; read back ${same ? 'bit for bit' : 'DIFFERENT'}) and digits_model.py`);

const onnxBytes = toOnnx(net);
writeFileSync(out('digits.onnx'), onnxBytes);
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(onnxBytes);
const X = digits.test.X;
const { scores } = await session.run({ x: new ort.Tensor('float32', Float32Array.from(X.data), X.shape) });
const want = net.loss(X);
let diff = 0, scale = 0;
for (let i = 0; i < want.data.length; i++) {
  diff = Math.max(diff, Math.abs(scores.data[i] - want.data[i]));
  scale = Math.max(scale, Math.abs(want.data[i]));
}
let agree = 0;
const C = want.shape[1];
for (let n = 0; n < want.shape[0]; n++) {
  let a = 0, b = 0;
  for (let c = 1; c < C; c++) {
    if (scores.data[n * C + c] > scores.data[n * C + a]) a = c;
    if (want.data[n * C + c] > want.data[n * C + b]) b = c;
  }
  if (a === b) agree++;
}
console.log(`wrote digits.onnx (${onnxBytes.length} bytes); onnxruntime-web's scores on the test digits: max-norm relative difference ${(diff / scale).toExponential(2)} from convcore's, the same class for ${agree} of ${want.shape[0]}`);
net.dispose();

console.log(`
In Python, with PyTorch and the safetensors package (pip install torch safetensors):

    from digits_model import model
    from safetensors.torch import load_file
    model.double().eval(); model.load_state_dict(load_file("digits.safetensors"))
    scores = model(x)   # x: a float64 tensor (N, 1, 28, 28), values in [0, 1]
`);
if (!same || !(diff / scale < 1e-5)) process.exit(1);
