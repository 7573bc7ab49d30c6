import { Tensor, checkTensor, make } from '../tensor.js';
import { checkAxes } from '../params.js';

/** Row-major strides: how far apart in the data consecutive indices of each axis are. */
function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let step = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    s[k] = step;
    step *= shape[k];
  }
  return s;
}

/**
 * x of shape (d0,…,d_{r−1}) -> out of shape (d_axes[0],…,d_axes[r−1]), like numpy.transpose:
 *
 *   out[i0,…,i_{r−1}] = x[j] with j[axes[k]] = i_k
 *
 * `axes` defaults to the reversed order (r−1,…,0).
 */
export function transpose(x: Tensor, axes?: readonly number[]): Tensor {
  const t = checkTensor('transpose', 'x', x);
  const perm = checkAxes('transpose', t.shape.length, axes);
  const r = perm.length;
  const outShape = perm.map((a) => t.shape[a]);
  const xStride = strides(t.shape);
  const out = new Float64Array(t.data.length);
  const idx = new Array<number>(r).fill(0); // the index (i0,…,i_{r−1}) of out, row-major
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < r; k++) src += idx[k] * xStride[perm[k]];
    out[o] = t.data[src];
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k] < outShape[k]) break;
      idx[k] = 0;
    }
  }
  return make(out, outShape);
}
