// Axis permutation, as numpy.transpose: out[i0..ik] = x[...] with out axis a = x axis perm[a].
import { in_memory } from './geometry';
import { lo, hi, part, parts } from './parts';

// x with shape (rank dims at shape, i32) -> out whose axis a is x's axis perm[a].
// strides and counter hold rank i32 of scratch per part: the strides in x of out's axes and
// the running index of out. Parts: contiguous ranges of out's rows (its last axis).
export function transpose_nd(x: usize, out: usize, rank: i32, shape: usize, perm: usize,
  strides: usize, counter: usize): void {
  assert(rank > 0, 'transpose_nd: rank is not positive');
  assert(in_memory(shape, <u64>rank, 4) && in_memory(perm, <u64>rank, 4) && in_memory(strides, <u64>rank * parts(), 4)
    && in_memory(counter, <u64>rank * parts(), 4), 'transpose_nd: shape, perm, strides or counter lies outside memory');
  // strides[a] = the element stride in x of out's axis a.
  let total: i32 = 1;
  for (let a = rank - 1; a >= 0; a--) {
    const dim = load<i32>(shape + (<usize>a << 2));
    const p = load<i32>(perm + (<usize>a << 2));
    assert(dim > 0 && <u32>p < <u32>rank, 'transpose_nd: a dimension is not positive or an axis is out of range');
    total *= dim;
  }
  assert(in_memory(x, <u64>total) && in_memory(out, <u64>total), 'transpose_nd: x or out lies outside memory');
  strides += <usize>(part() * rank) << 2;
  counter += <usize>(part() * rank) << 2;
  for (let a = 0; a < rank; a++) {
    const src = load<i32>(perm + (<usize>a << 2));
    let s: i32 = 1;
    for (let b = src + 1; b < rank; b++) s *= load<i32>(shape + (<usize>b << 2));
    store<i32>(strides + (<usize>a << 2), s);
    store<i32>(counter + (<usize>a << 2), 0);
  }
  const last = rank - 1;
  const inner = load<i32>(shape + (<usize>load<i32>(perm + (<usize>last << 2)) << 2));
  const innerStride = <usize>load<i32>(strides + (<usize>last << 2)) << 3;
  // This part's rows [r0, r1): the counter starts at row r0's index over the outer axes.
  const rows = total / inner;
  const r0 = lo(rows), r1 = hi(rows);
  let base: i32 = 0; // offset in x of the current out row
  let r = r0;
  for (let a = last - 1; a >= 0; a--) {
    const dim = load<i32>(shape + (<usize>load<i32>(perm + (<usize>a << 2)) << 2));
    const c = r % dim;
    r /= dim;
    store<i32>(counter + (<usize>a << 2), c);
    base += c * load<i32>(strides + (<usize>a << 2));
  }
  let o = out + (<usize>r0 * inner << 3);
  for (let row = r0; row < r1; row++) {
    let p = x + (<usize>base << 3);
    for (let i = 0; i < inner; i++) {
      store<f64>(o, load<f64>(p));
      o += 8;
      p += innerStride;
    }
    // advance the counter over the outer axes, odometer style
    for (let a = last - 1; a >= 0; a--) {
      const ca = counter + (<usize>a << 2);
      const dim = load<i32>(shape + (<usize>load<i32>(perm + (<usize>a << 2)) << 2));
      const s = load<i32>(strides + (<usize>a << 2));
      const c = load<i32>(ca) + 1;
      if (c < dim) { store<i32>(ca, c); base += s; break; }
      store<i32>(ca, 0);
      base -= s * (dim - 1);
    }
  }
}
