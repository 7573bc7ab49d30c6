/**
 * The GEMM behind conv and affine, through the public API, at the matrix sizes around
 * its 2x8 microkernel (1, 2 = MR, 3, 4, 5, 7, 8 = NR, 9, 16 = 2·NR, 17, 33) and across its
 * cache blocks (MC = 128, KC = 256, NC = 2048), compared with the reference at max-norm
 * relative 1e-10.
 *
 * A conv forward is out (F, P) = w (F, K) · cols (K, P) per image, with P = H2·W2 and
 * K = C·HH·WW. The backward runs dw (F, K) += dout (F, P) · colsᵀ and dcols (K, P) =
 * wᵀ · dout, so sweeping F, P and K over the sizes puts every size in every GEMM
 * dimension (M, N and K) of all three products. Each K is built twice: as a real kernel
 * (the im2col path) and as C = K channels of a 1x1 stride-1 unpadded conv (the pointwise
 * path, which reads x directly).
 */
import { describe, it, expect } from 'vitest';
import { ConvCase, compareConv, compareAffine } from './compare.js';
import { show } from './util.js';

const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33];

/** P = H2·W2 for each size. */
const OUT: Record<number, [number, number]> = {
  1: [1, 1], 2: [2, 1], 3: [1, 3], 4: [2, 2], 5: [5, 1], 7: [1, 7], 8: [2, 4], 9: [3, 3], 16: [2, 8], 17: [17, 1], 33: [3, 11],
};
/** K = C·HH·WW for each size, as a real kernel; 1 is a 1x1 kernel with stride 2 (not pointwise). */
const KERNEL: Record<number, { C: number; HH: number; WW: number; S: number }> = {
  1: { C: 1, HH: 1, WW: 1, S: 2 }, 2: { C: 1, HH: 2, WW: 1, S: 2 }, 3: { C: 1, HH: 1, WW: 3, S: 1 },
  4: { C: 1, HH: 2, WW: 2, S: 1 }, 5: { C: 1, HH: 5, WW: 1, S: 2 }, 7: { C: 1, HH: 1, WW: 7, S: 1 },
  8: { C: 2, HH: 2, WW: 2, S: 1 }, 9: { C: 1, HH: 3, WW: 3, S: 2 }, 16: { C: 4, HH: 2, WW: 2, S: 1 },
  17: { C: 17, HH: 1, WW: 1, S: 3 }, 33: { C: 11, HH: 3, WW: 1, S: 1 },
};

function sweepCase(F: number, P: number, K: number, pointwise: boolean, N: number): ConvCase {
  const [H2, W2] = OUT[P];
  if (pointwise) return { x: [N, K, H2, W2], w: [F, K, 1, 1], stride: 1, pad: 0 };
  const { C, HH, WW, S } = KERNEL[K];
  // The smallest input with exactly H2 x W2 windows, plus S − 1 unread rows (a floor case when S > 1).
  return { x: [N, C, (H2 - 1) * S + HH + (S - 1), (W2 - 1) * S + WW], w: [F, C, HH, WW], stride: S, pad: 0 };
}

describe(`GEMM sizes through conv: F, P = H2·W2, K = C·HH·WW each in {${SIZES}}`, () => {
  for (const pointwise of [false, true]) {
    for (const F of SIZES) {
      it(`${pointwise ? 'pointwise 1x1' : 'im2col'} F = ${F}: all ${SIZES.length}x${SIZES.length} (P, K)`, () => {
        for (const P of SIZES) {
          for (const K of SIZES) {
            const N = (F + P + K) % 3 === 0 ? 2 : 1;   // two images now and then: dw and db accumulate over N
            compareConv(sweepCase(F, P, K, pointwise, N), 20000 + F * 10000 + P * 100 + K);
          }
        }
      });
    }
  }
});

describe(`GEMM sizes through affine: N, D, M each in {${SIZES}}`, () => {
  for (const N of SIZES) {
    it(`affine N = ${N}: all (D, M)`, () => {
      for (const D of SIZES) {
        for (const M of SIZES) {
          compareAffine([N, D], M, 30000 + N * 10000 + D * 100 + M);
        }
      }
    });
  }
});

describe('across the blocks of the GEMM (MC = 128, KC = 256, NC = 2048)', () => {
  const big: { what: string; c: ConvCase }[] = [
    { what: 'K = 360 > KC (C = 40, 3x3), F = 130 > MC, dcols M = 360', c: { x: [2, 40, 9, 9], w: [130, 40, 3, 3], stride: 1, pad: 1 } },
    { what: 'P = 2116 > NC (46x46), dw K = 2116 > KC', c: { x: [1, 2, 48, 48], w: [3, 2, 3, 3], stride: 1, pad: 0 } },
    { what: 'K = 2070 > NC for dw (C = 230, 3x3), many KC blocks forward', c: { x: [1, 230, 4, 5], w: [3, 230, 3, 3], stride: 1, pad: 1 } },
    { what: 'pointwise K = 300 > KC, F = 130 > MC', c: { x: [2, 300, 5, 7], w: [130, 300, 1, 1], stride: 1, pad: 0 } },
    { what: 'strided 5x5, K = 400, P = 100, pad 2', c: { x: [1, 16, 20, 19], w: [9, 16, 5, 5], stride: 2, pad: 2 } },
    { what: 'F = 257 = 2·MC + 1, K = 257 = KC + 1 (pointwise)', c: { x: [1, 257, 3, 3], w: [257, 257, 1, 1], stride: 1, pad: 0 } },
    { what: 'P = 257 = KC + 1 for dw, odd F = 129', c: { x: [1, 3, 257, 1], w: [129, 3, 1, 1], stride: 1, pad: 0 } },
  ];
  big.forEach(({ what, c }, i) => {
    it(`conv ${what} ${show(c)}`, () => compareConv(c, 40000 + i));
  });

  const affines: { what: string; x: number[]; M: number }[] = [
    { what: 'N = 130 > MC, D = 300 > KC', x: [130, 3, 10, 10], M: 40 },
    { what: 'M = 2100 > NC', x: [2, 5], M: 2100 },
    { what: 'N = 257 > KC for dw, D = 129 > MC for dw', x: [257, 129], M: 9 },
  ];
  affines.forEach(({ what, x, M }, i) => {
    it(`affine ${what} x ${show(x)} M ${M}`, () => compareAffine(x, M, 41000 + i));
  });
});

// The forward gathers im2col(x) while packing B, 8 output positions (one panel) at a time.
// A panel inside one output row takes a fast path: one input row, read whole (stride 1)
// or every other value (stride 2) when the 8 columns lie inside it, read without
// checks for other strides, with checks where the columns reach into the padding, and
// all zeros when the row is in the padding. Panels that straddle output rows, and the
// last panel of a block, take the general path. These cases have rows of 8 to 26
// outputs so that every branch runs, at each stride and with pads on either side.
describe('the im2col packing of the forward GEMM, on rows of 8 or more outputs', () => {
  const cases: { what: string; c: ConvCase }[] = [];
  for (const SW of [1, 2, 3]) {
    for (const [PW, WW] of [[0, 3], [2, 3], [1, 5], [3, 2]]) {
      for (const W2 of [8, 11, 16, 26]) {
        const W = (W2 - 1) * SW + WW - 2 * PW + (SW > 1 ? 1 : 0);
        if (W < 1) continue;
        const SH = 1 + ((SW + W2) % 2);
        cases.push({
          what: `W2 ${W2} stride [${SH},${SW}] pad [${PW},${PW}] kernel 3x${WW}`,
          c: { x: [1, 2, 5 + SH, W], w: [3, 2, 3, WW], stride: [SH, SW], pad: [(PW + 1) % 3, PW] },
        });
      }
    }
  }
  it(`${cases.length} configurations, forward and backward, against the reference`, () => {
    cases.forEach(({ what, c }, i) => {
      const [, , HH, WW] = c.w;
      const [PH, PW] = c.pad as [number, number];
      const [SH, SW] = c.stride as [number, number];
      const W2 = Math.floor((c.x[3] + 2 * PW - WW) / SW) + 1;
      expect(W2, what).toBeGreaterThanOrEqual(8);
      expect(Math.floor((c.x[2] + 2 * PH - HH) / SH) + 1, what).toBeGreaterThanOrEqual(1);
      compareConv(c, 42000 + i);
    });
  });
});

describe('GEMM sweep geometry', () => {
  it('each sweep case has H2·W2 = P and C·HH·WW = K', () => {
    for (const pointwise of [false, true]) {
      for (const P of SIZES) {
        for (const K of SIZES) {
          const c = sweepCase(1, P, K, pointwise, 1);
          const S = c.stride as number;
          const H2 = Math.floor((c.x[2] - c.w[2]) / S) + 1;
          const W2 = Math.floor((c.x[3] - c.w[3]) / S) + 1;
          expect(H2 * W2, show(c)).toBe(P);
          expect(c.w[1] * c.w[2] * c.w[3], show(c)).toBe(K);
          expect(c.w[2] === 1 && c.w[3] === 1 && S === 1, `pointwise ${show(c)}`).toBe(pointwise);
        }
      }
    }
  });
});
