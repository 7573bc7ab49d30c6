// Sums over data viewed as (G, D, L): feature j owns x[g, j, l] for all g and l. One code
// path for every sum of this shape: the columns of a matrix (N,M) = (N, M, 1), the
// channels of NCHW data (N, C, H*W), and so the biases of affine and conv and the
// statistics of batchnorm. With L = 1 the loop runs along j (two features per f64x2);
// otherwise along l.
import { in_memory } from './geometry';

// x (G,D,L) -> s (D): s[j] = Σ_{g,l} x[g,j,l], for the features j in [j0, j1) only.
// Each s[j] is the same sum in the same order whatever the range.
export function feature_sum(x: usize, s: usize, G: i32, D: i32, L: i32, j0: i32 = 0, j1: i32 = D): void {
  assert(G >= 0 && D >= 0 && L >= 0 && 0 <= j0 && j0 <= j1 && j1 <= D, 'feature_sum: a negative dimension or a bad range');
  assert(in_memory(x, <u64>G * <u64>D * <u64>L), 'feature_sum: x lies outside memory');
  assert(in_memory(s, <u64>D), 'feature_sum: s lies outside memory');
  if (j1 <= j0) return;
  memory.fill(s + (<usize>j0 << 3), 0, <usize>(j1 - j0) << 3);
  for (let g = 0; g < G; g++) {
    let p = x + ((<usize>g * D + j0) * L << 3);
    if (L == 1) {
      let j = j0;
      for (; j + 2 <= j1; j += 2) {
        const t = s + (<usize>j << 3);
        v128.store(t, f64x2.add(v128.load(t), v128.load(p)));
        p += 16;
      }
      for (; j < j1; j++) {
        const t = s + (<usize>j << 3);
        store<f64>(t, load<f64>(t) + load<f64>(p));
        p += 8;
      }
    } else {
      for (let j = j0; j < j1; j++) {
        let acc = f64x2.splat(0.0);
        let l = 0;
        for (; l + 2 <= L; l += 2) { acc = f64x2.add(acc, v128.load(p)); p += 16; }
        let r = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
        for (; l < L; l++) { r += load<f64>(p); p += 8; }
        const t = s + (<usize>j << 3);
        store<f64>(t, load<f64>(t) + r);
      }
    }
  }
}
