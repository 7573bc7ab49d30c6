import { Tensor, make, checkTensor } from './tensor.js';
import { checkAxes } from './params.js';
import { kernels, reserve, put, take, i32, threadCount } from './wasm.js';

/** Permutes the axes of x as numpy.transpose: out axis a is x axis axes[a] (default: reversed). */
export function transpose(x: Tensor, axes?: readonly number[]): Tensor {
  const xt = checkTensor('transpose', 'x', x);
  const rank = xt.shape.length;
  const perm = checkAxes('transpose', rank, axes);
  const n = xt.data.length;
  if (rank === 0) return make(xt.data.slice(), []);
  const [px, pout, pshape, pperm, pstrides, pcounter] = reserve('transpose', [n * 8, n * 8, rank * 4, rank * 4, rank * 4 * threadCount(), rank * 4 * threadCount()]);
  put(px, xt.data);
  i32(pshape, rank).set(xt.shape);
  i32(pperm, rank).set(perm);
  kernels().transpose_nd(px, pout, rank, pshape, pperm, pstrides, pcounter);
  return make(take(pout, n), perm.map((a) => xt.shape[a]));
}
