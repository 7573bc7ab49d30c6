// convcore's Wasm kernels alone: the inputs are put into Wasm memory once, outside the
// timing, and the timed call is the kernel with its results left there. This is how
// tfjs-backend-wasm is timed (tensors already in its memory, no readback), and it
// separates the compute from the cost of the public API's copies: copying the inputs
// in, and the results (and a forward's cache) out into fresh arrays. On the VMs this
// project is measured on, the first touch of a fresh page costs about 3 ms per MiB,
// so a 13 MB result can cost more than the convolution that made it.
//
// The buffers are laid out as the API lays them out (src/conv.ts, src/pool.ts,
// src/batchnorm.ts, src/norm.ts, src/dropout.ts, src/optim.ts), through the same arena.
// The outputs are read back for the check.

import { kernels, reserve, put, f64, threadCount } from '../../dist/wasm.js';
import { convGeometry, poolGeometry } from '../../dist/params.js';
import { putConvGeometry, CONV_GEOMETRY_BYTES } from '../../dist/conv.js';
import { isDepthwise, convForwardOn, convBackwardOn, convForwardScratch, convScratch } from '../../dist/layers/conv-layer.js';
import { putPoolGeometry, POOL_GEOMETRY_BYTES, wideArgmax } from '../../dist/pool.js';
import { updateResident, updateSettings, stateKeys } from '../../dist/optim.js';

const F64 = 8;

function convBuffers(p) {
  const g = convGeometry('bench', p.x, p.w, p.b, p.param);
  return { g, k: kernels(), nOut: g.N * g.F * g.H2 * g.W2 };
}

/**
 * A depthwise conv (groups = C > 1) on its direct kernels, as src/conv.ts calls them: no
 * columns and no workspace; the backward reads x for dw and w for dx.
 */
function prepareDepthwise(kind, g, k, p) {
  const nx = p.x.data.length, nw = p.w.data.length, nOut = g.N * g.F * g.H2 * g.W2;
  const [pgeom, px, pw, pb, pout, pdout, pdx, pdw, pdb] = reserve('bench', [
    CONV_GEOMETRY_BYTES, nx * F64, nw * F64, g.F * F64, kind === 'convForward' ? nOut * F64 : 0,
    kind === 'convForward' ? 0 : nOut * F64, kind === 'convForward' ? 0 : nx * F64, kind === 'convBackward' ? nw * F64 : 0, g.F * F64,
  ]);
  putConvGeometry(pgeom, g);
  put(px, p.x.data);
  put(pw, p.w.data);
  if (kind === 'convForward') {
    put(pb, p.b.data);
    return { run: () => k.depthwise_forward(px, pw, pb, pout, pgeom), outputs: () => ({ out: f64(pout, nOut) }) };
  }
  put(pdout, p.dout.data);
  if (kind === 'convBackwardDx') {
    return { run: () => k.depthwise_backward(pdout, 0, pw, pdx, 0, pdb, pgeom), outputs: () => ({ dx: f64(pdx, nx) }) };
  }
  return {
    run: () => k.depthwise_backward(pdout, px, pw, pdx, pdw, pdb, pgeom),
    outputs: () => ({ dx: f64(pdx, nx), dw: f64(pdw, nw), db: f64(pdb, g.F) }),
  };
}

/**
 * A conv as the API runs it (src/conv.ts): through the layers floor's convForwardOn and
 * convBackwardOn, so that each shape takes the path the API takes (im2col and the GEMM, or
 * Winograd F(2x2,3x3) for the 3x3 stride-1 convs it applies to), with the scratch
 * convForwardScratch and convScratch size; dw by columns (one part, or the pool's parts).
 */
function prepareConv(kind, p) {
  const { g, k, nOut } = convBuffers(p);
  if (isDepthwise(g)) return prepareDepthwise(kind, g, k, p);
  const nx = p.x.data.length, nw = p.w.data.length;
  if (kind === 'convForward') {
    const nWino = convForwardScratch(g);
    const [pgeom, px, pw, pb, pout, pwork, pwino] = reserve('bench', [
      CONV_GEOMETRY_BYTES, nx * F64, nw * F64, g.F * F64, nOut * F64, k.gemm_workspace_bytes(), nWino * F64,
    ]);
    putConvGeometry(pgeom, g);
    put(px, p.x.data);
    put(pw, p.w.data);
    put(pb, p.b.data);
    return {
      run: () => convForwardOn(k, g, px, pw, pb, pout, pgeom, pwork, nWino ? pwino : 0),
      outputs: () => ({ out: f64(pout, nOut) }),
    };
  }
  // dx alone, as convBackward(dout, cache, { dw: false }) calls it (no x, no cols, no dw), or the whole backward.
  const dw = kind === 'convBackward';
  const sc = convScratch(g, k, { dx: true, dw }, threadCount(), false);
  const [pgeom, pdout, px, pw, pdx, pdw, pdb, pcols, pdcols, pwork, pwino] = reserve('bench', [
    CONV_GEOMETRY_BYTES, nOut * F64, dw ? nx * F64 : 0, nw * F64, nx * F64, dw ? nw * F64 : 0, g.F * F64,
    sc.cols * F64, sc.dcols * F64, sc.work, sc.wino * F64,
  ]);
  putConvGeometry(pgeom, g);
  put(pdout, p.dout.data);
  if (dw) put(px, p.x.data);
  put(pw, p.w.data);
  const mem = {
    dout: pdout, x: dw ? px : 0, w: pw, dx: pdx, dw: dw ? pdw : 0, db: pdb,
    cols: pcols, dcols: pdcols, slots: 0, geom: pgeom, work: pwork, wino: sc.wino ? pwino : 0,
  };
  return {
    run: () => convBackwardOn(k, g, mem, false),
    outputs: () => (dw ? { dx: f64(pdx, nx), dw: f64(pdw, nw), db: f64(pdb, g.F) } : { dx: f64(pdx, nx) }),
  };
}

function preparePool(kind, p) {
  const g = poolGeometry('bench', p.x, p.param);
  const k = kernels();
  const nx = p.x.data.length;
  const nOut = g.N * g.C * g.H2 * g.W2;
  const wide = wideArgmax(g) ? 1 : 0;
  const [pgeom, px, pout, parg, pdout, pdx] = reserve('bench', [
    POOL_GEOMETRY_BYTES, nx * F64, nOut * F64, nOut * (wide ? 4 : 1), nOut * F64, nx * F64,
  ]);
  putPoolGeometry(pgeom, g);
  put(px, p.x.data);
  if (kind === 'maxPoolForward') {
    return { run: () => k.maxpool_forward(px, pout, parg, pgeom, wide), outputs: () => ({ out: f64(pout, nOut) }) };
  }
  k.maxpool_forward(px, pout, parg, pgeom, wide);
  put(pdout, p.dout.data);
  return { run: () => k.maxpool_backward(pdout, parg, pdx, pgeom, wide), outputs: () => ({ dx: f64(pdx, nx) }) };
}

function prepareBatchnorm(kind, p) {
  const spatial = kind.startsWith('spatial');
  const s = p.x.shape;
  const [G, D, L] = spatial ? [s[0], s[1], s[2] * s[3]] : [s[0], s[1], 1];
  const k = kernels();
  const n = p.x.data.length;
  const v = D * F64;
  const [px, pgamma, pbeta, pout, pxhat, pmean, pvar, pinv, prm, prv, pdout, pdx, pdgamma, pdbeta, pk] =
    reserve('bench', [n * F64, v, v, n * F64, n * F64, v, v, v, v, v, n * F64, n * F64, v, v, 3 * v]);
  put(px, p.x.data);
  put(pgamma, p.gamma.data);
  put(pbeta, p.beta.data);
  f64(prm, D).fill(0);
  f64(prv, D).fill(0);
  const { eps = 1e-5, momentum = 0.9 } = p.param;
  const forward = () => k.batchnorm_forward(px, pgamma, pbeta, pout, pxhat, pmean, pvar, pinv, prm, prv, G, D, L, 1, eps, momentum);
  if (kind.endsWith('Forward')) return { run: forward, outputs: () => ({ out: f64(pout, n) }) };
  forward();
  put(pdout, p.dout.data);
  return {
    run: () => k.batchnorm_backward(pdout, pxhat, pgamma, pinv, pdx, pdgamma, pdbeta, pk, G, D, L, 1),
    outputs: () => ({ dx: f64(pdx, n), dgamma: f64(pdgamma, D), dbeta: f64(pdbeta, D) }),
  };
}

/** Layer and group normalization as src/norm.ts runs them: x viewed as (R, Cg, L), G groups of gammas. */
function prepareNorm(kind, p) {
  const s = p.x.shape;
  const group = kind.startsWith('spatialGroupnorm');
  const G = group ? p.param.groups : 1;
  const [R, Cg, L] = group ? [s[0] * G, s[1] / G, s[2] * s[3]] : [s[0], s[1], 1];
  const k = kernels();
  const n = p.x.data.length;
  const c = G * Cg * F64;
  // partial: each row's per-channel sums, (R, Cg, 2), when L > 1.
  const [px, pgamma, pbeta, pout, pxhat, pinv, pdout, pdx, pdgamma, pdbeta, ppartial] =
    reserve('bench', [n * F64, c, c, n * F64, n * F64, R * F64, n * F64, n * F64, c, c, L > 1 ? R * Cg * 2 * F64 : 0]);
  put(px, p.x.data);
  put(pgamma, p.gamma.data);
  put(pbeta, p.beta.data);
  const forward = () => k.norm_forward(px, pgamma, pbeta, pout, pxhat, pinv, R, G, Cg, L, p.param.eps);
  if (kind.endsWith('Forward')) return { run: forward, outputs: () => ({ out: f64(pout, n) }) };
  forward();
  put(pdout, p.dout.data);
  return {
    run: () => k.norm_backward(pdout, pxhat, pgamma, pinv, pdx, pdgamma, pdbeta, L > 1 ? ppartial : 0, R, G, Cg, L),
    outputs: () => ({ dx: f64(pdx, n), dgamma: f64(pdgamma, G * Cg), dbeta: f64(pdbeta, G * Cg) }),
  };
}

function prepareDropout(kind, p) {
  const k = kernels();
  const n = p.x.data.length;
  const { keepProb, seed } = p.param;
  const [px, pout, pmask, pdout, pdx] = reserve('bench', [n * F64, n * F64, (n + 7) >> 3, n * F64, n * F64]);
  put(px, p.x.data);
  const forward = () => k.dropout_forward(px, pout, pmask, n, keepProb, seed);
  if (kind === 'dropoutForward') return { run: forward, outputs: () => ({ out: f64(pout, n) }) };
  forward();
  put(pdout, p.dout.data);
  return { run: () => k.dropout_backward(pdout, pmask, pdx, n, keepProb), outputs: () => ({ dx: f64(pdx, n) }) };
}

/**
 * One in-place step of an update rule on resident buffers (src/optim.ts updateResident).
 * Each timed call steps the same buffers again with the same settings; the checked call
 * is the first, the one the reference takes.
 */
function prepareStep(rule, p) {
  const n = p.w.data.length;
  const keys = stateKeys(rule);
  const config = p.config[rule];
  const hyper = Object.fromEntries(Object.entries(config).filter(([key]) => !keys.includes(key)));
  const settings = updateSettings('bench', rule, hyper);
  const [pw, pdw, ...ps] = reserve('bench', [n * F64, n * F64, ...keys.map(() => n * F64)]);
  put(pw, p.w.data);
  put(pdw, p.dw.data);
  keys.forEach((key, i) => put(ps[i], config[key].data));
  const buffers = { w: pw, dw: pdw, state: ps, n };
  return {
    run: () => updateResident(settings, buffers),
    outputs: () => ({ w: f64(pw, n), ...Object.fromEntries(keys.map((key, i) => [key, f64(ps[i], n)])) }),
  };
}

/**
 * Not a peer of the table but a second measurement of convcore: its kernels with the
 * data already in Wasm memory. Run it right before timing: any other call reuses the arena.
 */
export const kernelPeer = {
  name: 'convcore kernel',
  slow: false,
  tolerance: 1e-9,
  prepare(kind, p) {
    if (kind.startsWith('conv')) return prepareConv(kind, p);
    if (kind === 'maxPoolForward' || kind === 'maxPoolBackward') return preparePool(kind, p);
    if (kind.includes('atchnorm')) return prepareBatchnorm(kind, p);
    if (kind.startsWith('layernorm') || kind.startsWith('spatialGroupnorm')) return prepareNorm(kind, p);
    if (kind.startsWith('dropout')) return prepareDropout(kind, p);
    if (['sgd', 'sgdMomentum', 'rmsprop', 'adam'].includes(kind)) return prepareStep(kind, p);
    return { na: 'no such kernel' };
  },
};
