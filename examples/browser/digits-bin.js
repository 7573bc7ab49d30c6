// Reads the digits that scripts/pack-digits.mjs packs (build/digits/digits.bin, served as
// /data/digits.bin by `npm run demo`): the fixed train/validation/test split of
// examples/digits.js, pixels as bytes (255 · value). Used by the page and by its worker.

const MAGIC = 'CCDIGIT1';
const HEADER_BYTES = 32;

/**
 * { height, width, train, val, test }, each part { count, labels: Uint8Array, pixels: Uint8Array }
 * (views into `buffer`, count · height · width pixels).
 */
export function parseDigits(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, MAGIC.length));
  if (magic !== MAGIC) throw new Error(`digits: not a packed digits file (magic ${JSON.stringify(magic)}, expected ${MAGIC})`);
  const view = new DataView(buffer);
  const [height, width, nTrain, nVal, nTest] = [0, 1, 2, 3, 4].map((i) => view.getUint32(8 + 4 * i, true));
  const N = nTrain + nVal + nTest;
  const size = height * width;
  if (bytes.length !== HEADER_BYTES + N + N * size) throw new Error(`digits: expected ${HEADER_BYTES + N + N * size} bytes, got ${bytes.length}`);
  let row = 0;
  const part = (count) => {
    const p = {
      count,
      labels: bytes.subarray(HEADER_BYTES + row, HEADER_BYTES + row + count),
      pixels: bytes.subarray(HEADER_BYTES + N + row * size, HEADER_BYTES + N + (row + count) * size),
    };
    row += count;
    return p;
  };
  return { height, width, train: part(nTrain), val: part(nVal), test: part(nTest) };
}

/** The first `count` images of a part as a Tensor (count, 1, H, W) with values in [0, 1], and their labels. */
export function partTensor(digits, part, count = part.count) {
  const n = Math.min(count, part.count);
  const size = digits.height * digits.width;
  const data = new Float64Array(n * size);
  for (let i = 0; i < data.length; i++) data[i] = part.pixels[i] / 255;
  return { X: { data, shape: [n, 1, digits.height, digits.width] }, y: Int32Array.from(part.labels.subarray(0, n)) };
}

/**
 * The mean image a saved model expects to be subtracted from its inputs, or null. `npm start`
 * (examples/train.js) saves { ...model.toJSON(), meanImage: [784 numbers] }; this page saves
 * one only for a model it loaded with one.
 */
export function meanImageOf(json, size = 28 * 28) {
  const m = json?.meanImage;
  if (m === undefined || m === null) return null;
  if (!Array.isArray(m) || m.length !== size || !m.every(Number.isFinite)) {
    throw new Error(`meanImage must be an array of ${size} finite numbers`);
  }
  return Float64Array.from(m);
}

/** The first `count` images of a part as partTensor gives them, minus `mean` (if any) from each image. */
export function centredTensor(digits, part, count, mean) {
  const t = partTensor(digits, part, count);
  if (mean) for (let i = 0; i < t.X.data.length; i++) t.X.data[i] -= mean[i % mean.length];
  return t;
}
