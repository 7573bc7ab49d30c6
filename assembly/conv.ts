// Convolution as im2col + GEMM, one image at a time. The backward writes one image's column
// buffer; the forward gathers the same columns while the GEMM packs them (gemm_im2col).
// cols (C*HH*WW, H2*W2): cols[(c*HH + i)*WW + j, h2*W2 + w2] = xpad[c, h2*SH + i, w2*SW + j]
import { gemm, gemm_im2col } from './gemm';

// x (C,H,W) of one image -> cols (C*HH*WW, H2*W2); padding reads as zero.
function im2col(x: usize, cols: usize, C: i32, H: i32, W: i32, HH: i32, WW: i32,
  SH: i32, SW: i32, PH: i32, PW: i32, H2: i32, W2: i32): void {
  let dst = cols;
  for (let c = 0; c < C; c++) {
    const xc = x + (<usize>(c * H * W) << 3);
    for (let i = 0; i < HH; i++) {
      for (let j = 0; j < WW; j++) {
        // Output columns w2 whose input column w2*SW + j - PW lies inside [0, W).
        const lo = j >= PW ? 0 : (PW - j + SW - 1) / SW;
        const hiRaw = (W - 1 + PW - j) / SW + 1;
        const hi = W - 1 + PW - j < 0 ? 0 : min(W2, hiRaw);
        for (let h2 = 0; h2 < H2; h2++) {
          const y = h2 * SH + i - PH;
          if (y < 0 || y >= H || lo >= hi) {
            memory.fill(dst, 0, <usize>W2 << 3);
          } else {
            const row = xc + (<usize>(y * W) << 3);
            if (lo > 0) memory.fill(dst, 0, <usize>lo << 3);
            if (SW == 1) {
              memory.copy(dst + (<usize>lo << 3), row + (<usize>(lo + j - PW) << 3), <usize>(hi - lo) << 3);
            } else {
              let src = row + (<usize>(lo * SW + j - PW) << 3);
              for (let w2 = lo; w2 < hi; w2++) {
                store<f64>(dst + (<usize>w2 << 3), load<f64>(src));
                src += <usize>SW << 3;
              }
            }
            if (hi < W2) memory.fill(dst + (<usize>hi << 3), 0, <usize>(W2 - hi) << 3);
          }
          dst += <usize>W2 << 3;
        }
      }
    }
  }
}

// dcols (C*HH*WW, H2*W2) -> dx (C,H,W) of one image, dx zeroed first; entries that
// fall in the padding are dropped, and overlapping windows accumulate.
function col2im(dcols: usize, dx: usize, C: i32, H: i32, W: i32, HH: i32, WW: i32,
  SH: i32, SW: i32, PH: i32, PW: i32, H2: i32, W2: i32): void {
  memory.fill(dx, 0, <usize>(C * H * W) << 3);
  let src = dcols;
  for (let c = 0; c < C; c++) {
    const dxc = dx + (<usize>(c * H * W) << 3);
    for (let i = 0; i < HH; i++) {
      for (let j = 0; j < WW; j++) {
        const lo = j >= PW ? 0 : (PW - j + SW - 1) / SW;
        const hi = W - 1 + PW - j < 0 ? 0 : min(W2, (W - 1 + PW - j) / SW + 1);
        for (let h2 = 0; h2 < H2; h2++) {
          const y = h2 * SH + i - PH;
          if (y >= 0 && y < H) {
            let dst = dxc + (<usize>(y * W + lo * SW + j - PW) << 3);
            for (let w2 = lo; w2 < hi; w2++) {
              store<f64>(dst, load<f64>(dst) + load<f64>(src + (<usize>w2 << 3)));
              dst += <usize>SW << 3;
            }
          }
          src += <usize>W2 << 3;
        }
      }
    }
  }
}

function isPointwise(HH: i32, WW: i32, SH: i32, SW: i32, PH: i32, PW: i32): bool {
  return HH == 1 && WW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0;
}

// x (N,C,H,W), w (F,C,HH,WW), b (F) -> out (N,F,H2,W2).
// Per image: out[n] (F, H2*W2) = b + w (F, C*HH*WW) · cols (C*HH*WW, H2*W2), where the
// columns are gathered from the image as the GEMM packs them (gemm_im2col), so no column
// buffer is written. A 1x1 stride-1 unpadded conv multiplies by x[n] itself.
export function conv_forward(x: usize, w: usize, b: usize, out: usize, work: usize,
  N: i32, C: i32, H: i32, W: i32, F: i32, HH: i32, WW: i32,
  SH: i32, SW: i32, PH: i32, PW: i32, H2: i32, W2: i32): void {
  const K = C * HH * WW;
  const P = H2 * W2;
  const pointwise = isPointwise(HH, WW, SH, SW, PH, PW);
  for (let n = 0; n < N; n++) {
    const xn = x + (<usize>(n * C * H * W) << 3);
    const on = out + (<usize>(n * F * P) << 3);
    for (let f = 0; f < F; f++) {
      const bf = f64x2.splat(load<f64>(b + (<usize>f << 3)));
      const row = on + (<usize>(f * P) << 3);
      let q = 0;
      for (; q + 2 <= P; q += 2) v128.store(row + (<usize>q << 3), bf);
      if (q < P) store<f64>(row + (<usize>q << 3), f64x2.extract_lane(bf, 0));
    }
    if (pointwise) gemm(0, 0, F, P, K, w, K, xn, P, on, P, 1, work);
    else gemm_im2col(F, w, K, xn, C, H, W, HH, WW, SH, SW, PH, PW, H2, W2, on, P, 1, work);
  }
}

// dout (N,F,H2,W2), with x and w of the forward -> dx (N,C,H,W), dw (F,C,HH,WW), db (F).
// Per image: db += Σ dout[n]; dw (F,K) += dout[n] (F,P) · cols[n]ᵀ (P,K);
// dcols (K,P) = wᵀ (K,F) · dout[n] (F,P), then col2im into dx[n].
export function conv_backward(dout: usize, x: usize, w: usize, dx: usize, dw: usize, db: usize,
  cols: usize, dcols: usize, work: usize,
  N: i32, C: i32, H: i32, W: i32, F: i32, HH: i32, WW: i32,
  SH: i32, SW: i32, PH: i32, PW: i32, H2: i32, W2: i32): void {
  const K = C * HH * WW;
  const P = H2 * W2;
  const pointwise = isPointwise(HH, WW, SH, SW, PH, PW);
  memory.fill(db, 0, <usize>F << 3);
  memory.fill(dw, 0, <usize>(F * K) << 3);
  for (let n = 0; n < N; n++) {
    const xn = x + (<usize>(n * C * H * W) << 3);
    const dxn = dx + (<usize>(n * C * H * W) << 3);
    const dn = dout + (<usize>(n * F * P) << 3);
    for (let f = 0; f < F; f++) {
      const row = dn + (<usize>(f * P) << 3);
      let s = f64x2.splat(0.0);
      let q = 0;
      for (; q + 2 <= P; q += 2) s = f64x2.add(s, v128.load(row + (<usize>q << 3)));
      let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
      if (q < P) t += load<f64>(row + (<usize>q << 3));
      const dbf = db + (<usize>f << 3);
      store<f64>(dbf, load<f64>(dbf) + t);
    }
    if (pointwise) {
      gemm(0, 1, F, K, P, dn, P, xn, P, dw, K, 1, work);
      gemm(1, 0, K, P, F, w, K, dn, P, dxn, P, 0, work);
    } else {
      im2col(xn, cols, C, H, W, HH, WW, SH, SW, PH, PW, H2, W2);
      gemm(0, 1, F, K, P, dn, P, cols, P, dw, K, 1, work);
      gemm(1, 0, K, P, F, w, K, dn, P, dcols, P, 0, work);
      col2im(dcols, dxn, C, H, W, HH, WW, SH, SW, PH, PW, H2, W2);
    }
  }
}
