// Sums over data viewed as (G, D, L): feature j owns x[g, j, l] for all g and l. One code
// path for every sum of this shape: the columns of a matrix (N,M) = (N, M, 1), the
// channels of NCHW data (N, C, H*W), and so the biases of affine and conv and the
// statistics of batchnorm. With L = 1 the loop runs along j (two features per f64x2);
// otherwise along l.
import { in_memory } from './geometry';

// x (G,D,L) -> s (D): s[j] = Σ_{g,l} x[g,j,l]
export function feature_sum(x: usize, s: usize, G: i32, D: i32, L: i32): void {
  assert(G >= 0 && D >= 0 && L >= 0, 'feature_sum: a negative dimension');
  assert(in_memory(x, <u64>G * <u64>D * <u64>L), 'feature_sum: x lies outside memory');
  assert(in_memory(s, <u64>D), 'feature_sum: s lies outside memory');
  memory.fill(s, 0, <usize>D << 3);
  let p = x;
  for (let g = 0; g < G; g++) {
    if (L == 1) {
      let j = 0;
      for (; j + 2 <= D; j += 2) {
        const t = s + (<usize>j << 3);
        v128.store(t, f64x2.add(v128.load(t), v128.load(p)));
        p += 16;
      }
      for (; j < D; j++) {
        const t = s + (<usize>j << 3);
        store<f64>(t, load<f64>(t) + load<f64>(p));
        p += 8;
      }
    } else {
      for (let j = 0; j < D; j++) {
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
