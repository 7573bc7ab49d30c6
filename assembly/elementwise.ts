// The small layers around the convolution: ReLU, the bias of affine, softmax loss.
import { in_memory } from './geometry';
import { feature_sum } from './reduce';
import { lo, hi } from './parts';

// Parts: ranges of elements (relu), of rows (fill_rows, softmax_loss) or of columns (sum_rows).

// x (n) -> out (n): max(0, x); NaN stays NaN.
export function relu_forward(x: usize, out: usize, n: i32): void {
  assert(n >= 0, 'relu_forward: n is negative');
  assert(in_memory(x, <u64>n) && in_memory(out, <u64>n), 'relu_forward: x or out lies outside memory');
  const zero = f64x2.splat(0.0);
  const i1 = hi(n, 2);
  let i = lo(n, 2);
  for (; i + 2 <= i1; i += 2) {
    const o = <usize>i << 3;
    const v = v128.load(x + o);
    // keep v where v > 0 or v is NaN (v != v); zero where v <= 0
    v128.store(out + o, v128.andnot(v, f64x2.le(v, zero)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 3;
    const v = load<f64>(x + o);
    store<f64>(out + o, v <= 0 ? 0.0 : v);
  }
}

// a, b (n) -> out (n) = a + b: a residual block's sum and the sum of its two gradients.
// out may be a or b.
export function add_values(a: usize, b: usize, out: usize, n: i32): void {
  assert(n >= 0, 'add_values: n is negative');
  assert(in_memory(a, <u64>n) && in_memory(b, <u64>n) && in_memory(out, <u64>n), 'add_values: a, b or out lies outside memory');
  const i1 = hi(n, 2);
  let i = lo(n, 2);
  for (; i + 2 <= i1; i += 2) {
    const o = <usize>i << 3;
    v128.store(out + o, f64x2.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 3;
    store<f64>(out + o, load<f64>(a + o) + load<f64>(b + o));
  }
}

// dout, x (n) -> dx (n): dout where x > 0, else 0.
export function relu_backward(dout: usize, x: usize, dx: usize, n: i32): void {
  assert(n >= 0, 'relu_backward: n is negative');
  assert(in_memory(dout, <u64>n) && in_memory(x, <u64>n) && in_memory(dx, <u64>n), 'relu_backward: dout, x or dx lies outside memory');
  const zero = f64x2.splat(0.0);
  const i1 = hi(n, 2);
  let i = lo(n, 2);
  for (; i + 2 <= i1; i += 2) {
    const o = <usize>i << 3;
    v128.store(dx + o, v128.and(v128.load(dout + o), f64x2.gt(v128.load(x + o), zero)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 3;
    store<f64>(dx + o, load<f64>(x + o) > 0 ? load<f64>(dout + o) : 0.0);
  }
}

// b (M) -> out (N,M): every row a copy of b (the start value of x·w + b).
export function fill_rows(b: usize, out: usize, N: i32, M: i32): void {
  assert(N >= 0 && M >= 0, 'fill_rows: a negative dimension');
  assert(in_memory(b, <u64>M) && in_memory(out, <u64>N * <u64>M), 'fill_rows: b or out lies outside memory');
  const bytes = <usize>M << 3;
  const i1 = hi(N);
  for (let i = lo(N); i < i1; i++) memory.copy(out + <usize>i * bytes, b, bytes);
}

// x (N,M) -> s (M): s[j] = Σ_i x[i,j], the sum over (G,D,L) = (N,M,1).
export function sum_rows(x: usize, s: usize, N: i32, M: i32): void {
  feature_sum(x, s, N, M, 1, lo(M), hi(M));
}

// scores (N,C), y (N) -> dscores (N,C), and each row's term of the loss in rowloss (N):
//   rowloss[i] = log softmax(scores_i)[y_i], with the row max subtracted first
//   dscores = (softmax − onehot(y)) / N
// The loss, −(1/N) Σ_i rowloss[i], is summed in row order by softmax_loss_total.
export function softmax_loss(scores: usize, y: usize, dscores: usize, rowloss: usize, N: i32, C: i32): void {
  assert(N > 0 && C > 0, 'softmax_loss: a dimension is not positive');
  assert(in_memory(scores, <u64>N * <u64>C) && in_memory(dscores, <u64>N * <u64>C) && in_memory(y, <u64>N, 4)
    && in_memory(rowloss, <u64>N), 'softmax_loss: scores, y, dscores or rowloss lies outside memory');
  const invN = 1.0 / <f64>N;
  const i1 = hi(N);
  for (let i = lo(N); i < i1; i++) {
    const row = scores + (<usize>(i * C) << 3);
    const drow = dscores + (<usize>(i * C) << 3);
    let m = load<f64>(row);
    for (let j = 1; j < C; j++) m = max(m, load<f64>(row + (<usize>j << 3)));
    let z = 0.0;
    for (let j = 0; j < C; j++) {
      const e = Math.exp(load<f64>(row + (<usize>j << 3)) - m);
      store<f64>(drow + (<usize>j << 3), e);
      z += e;
    }
    const label = load<i32>(y + (<usize>i << 2));
    assert(<u32>label < <u32>C, 'softmax_loss: a label is outside [0, C)');
    const logz = Math.log(z);
    store<f64>(rowloss + (<usize>i << 3), load<f64>(row + (<usize>label << 3)) - m - logz);
    const invz = 1.0 / z;
    for (let j = 0; j < C; j++) {
      const t = drow + (<usize>j << 3);
      store<f64>(t, load<f64>(t) * invz * invN);
    }
    const t = drow + (<usize>label << 3);
    store<f64>(t, load<f64>(t) - invN);
  }
}

// rowloss (N) -> the mean loss −(1/N) Σ_i rowloss[i], summed in row order (never split).
export function softmax_loss_total(rowloss: usize, N: i32): f64 {
  assert(N > 0 && in_memory(rowloss, <u64>N), 'softmax_loss_total: N is not positive or rowloss lies outside memory');
  let loss = 0.0;
  for (let i = 0; i < N; i++) loss -= load<f64>(rowloss + (<usize>i << 3));
  return loss * (1.0 / <f64>N);
}

// scores (N,C), y (N) -> dscores (N,C), and each row's sum of margins in rowloss (N), the
// multiclass SVM (hinge) loss with margin 1:
//   margin[i,j] = max(0, s[i,j] − s[i,y_i] + 1) for j ≠ y_i (NaN stays NaN, as numpy.maximum)
//   dscores[i,j] = 1[margin > 0] / N for j ≠ y_i;  dscores[i,y_i] = −#{j : margin[i,j] > 0} / N
// The loss, (1/N) Σ_i rowloss[i], is summed in row order by svm_loss_total. Parts: ranges of rows.
export function svm_loss(scores: usize, y: usize, dscores: usize, rowloss: usize, N: i32, C: i32): void {
  assert(N > 0 && C > 0, 'svm_loss: a dimension is not positive');
  assert(in_memory(scores, <u64>N * <u64>C) && in_memory(dscores, <u64>N * <u64>C) && in_memory(y, <u64>N, 4)
    && in_memory(rowloss, <u64>N), 'svm_loss: scores, y, dscores or rowloss lies outside memory');
  const n = <f64>N;
  const invN = 1.0 / n;
  const i1 = hi(N);
  for (let i = lo(N); i < i1; i++) {
    const row = scores + (<usize>(i * C) << 3);
    const drow = dscores + (<usize>(i * C) << 3);
    const label = load<i32>(y + (<usize>i << 2));
    assert(<u32>label < <u32>C, 'svm_loss: a label is outside [0, C)');
    const sy = load<f64>(row + (<usize>label << 3));
    let sum = 0.0;
    let count = 0;
    for (let j = 0; j < C; j++) {
      if (j == label) continue;
      const m = max(0.0, load<f64>(row + (<usize>j << 3)) - sy + 1.0);
      sum += m;
      const pos = m > 0;
      count += <i32>pos;
      store<f64>(drow + (<usize>j << 3), pos ? invN : 0.0);
    }
    // 0 − count, as numpy's dx[y] −= num_pos on a zero: +0 (not −0) when no margin is positive.
    store<f64>(drow + (<usize>label << 3), (0.0 - <f64>count) / n);
    store<f64>(rowloss + (<usize>i << 3), sum);
  }
}

// rowloss (N) -> the mean loss (1/N) Σ_i rowloss[i], summed in row order (never split).
export function svm_loss_total(rowloss: usize, N: i32): f64 {
  assert(N > 0 && in_memory(rowloss, <u64>N), 'svm_loss_total: N is not positive or rowloss lies outside memory');
  let loss = 0.0;
  for (let i = 0; i < N; i++) loss += load<f64>(rowloss + (<usize>i << 3));
  return loss / <f64>N;
}
