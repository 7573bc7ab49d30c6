/**
 * The kernels of the WebAssembly module (assembly/index.ts) as src/dispatch.ts presents
 * them: each runs in parts on the thread pool when it is worth it. Addresses are byte
 * offsets. `work` is one part's GEMM workspace (gemm_workspace_bytes() bytes): the calling
 * thread's; the pool has its own for the other parts.
 */
export interface Kernels {
  heap_base(): number;
  gemm_workspace_bytes(): number;
  gemm(transA: number, transB: number, M: number, N: number, K: number,
    A: number, lda: number, B: number, ldb: number, out: number, ldo: number, accumulate: number, work: number): void;
  /** Sizes of the geometry records (assembly/geometry.ts) that `geom` points to below. */
  conv_geometry_bytes(): number;
  pool_geometry_bytes(): number;
  conv_forward(x: number, w: number, b: number, out: number, work: number, geom: number): void;
  /** dx = 0 skips dx, dw = 0 skips dw (see assembly/conv.ts). dcols holds one (K,Q) block per thread (threadCount()). */
  conv_backward(dout: number, x: number, w: number, dx: number, dw: number, db: number,
    cols: number, dcols: number, work: number, geom: number): void;
  /** The depth of the GEMM's blocks along its sum (KC). */
  gemm_kc(): number;
  /** dw by images into slots (N·⌈Q/KC⌉ blocks of F·K), cols one (K,Q) block per thread; then sum_slots(slots, dw, N·⌈Q/KC⌉, F·K). */
  conv_dw_images(dout: number, x: number, cols: number, slots: number, work: number, geom: number): void;
  sum_slots(slots: number, out: number, count: number, len: number): void;
  maxpool_forward(x: number, out: number, argmax: number, geom: number, wide: number): void;
  maxpool_backward(dout: number, argmax: number, dx: number, geom: number, wide: number): void;
  avgpool_forward(x: number, out: number, geom: number): void;
  avgpool_backward(dout: number, dx: number, geom: number): void;
  batchnorm_forward(x: number, gamma: number, beta: number, out: number, xhat: number,
    mean: number, variance: number, invstd: number, runningMean: number, runningVar: number,
    G: number, D: number, L: number, train: number, eps: number, momentum: number): void;
  batchnorm_backward(dout: number, xhat: number, gamma: number, invstd: number,
    dx: number, dgamma: number, dbeta: number, k: number, G: number, D: number, L: number, train: number): void;
  relu_forward(x: number, out: number, n: number): void;
  relu_backward(dout: number, x: number, dx: number, n: number): void;
  fill_rows(b: number, out: number, N: number, M: number): void;
  sum_rows(x: number, s: number, N: number, M: number): void;
  /** Returns the loss; rowloss is N float64 of scratch. */
  softmax_loss(scores: number, y: number, dscores: number, rowloss: number, N: number, C: number): number;
  /** strides and counter: rank i32 each per thread (threadCount()). */
  transpose_nd(x: number, out: number, rank: number, shape: number, perm: number, strides: number, counter: number): void;
  norm_forward(x: number, gamma: number, beta: number, out: number, xhat: number, invstd: number,
    R: number, G: number, Cg: number, L: number, eps: number): void;
  /** partial: R·Cg·2 float64 of scratch when L > 1 (unused, may be 0, when L = 1). */
  norm_backward(dout: number, xhat: number, gamma: number, invstd: number,
    dx: number, dgamma: number, dbeta: number, partial: number, R: number, G: number, Cg: number, L: number): void;
  dropout_forward(x: number, out: number, mask: number, n: number, keepProb: number, seed: number): void;
  dropout_backward(dout: number, mask: number, dx: number, n: number, keepProb: number): void;
  sgd_step(w: number, dw: number, n: number, lr: number): void;
  momentum_step(w: number, dw: number, v: number, n: number, lr: number, mu: number): void;
  rmsprop_step(w: number, dw: number, cache: number, n: number, lr: number, decay: number, eps: number): void;
  adam_step(w: number, dw: number, m: number, v: number, n: number,
    lr: number, b1: number, b2: number, eps: number, t: number): void;
}
