// convnetjs 0.3: float64 plain JavaScript, one example (a Vol) at a time.
//
// A Vol(sx, sy, depth) stores w[((sx·y)+x)·depth + d]: one image in HWC order, with
// sx = W and sy = H. A ConvLayer filter is a Vol(WW, HH, C), so our w (F,C,HH,WW)
// becomes, per filter, (HH,WW,C). Its geometry is ours: out_sx = ⌊(W+2P−WW)/S⌋+1,
// and window (ax, ay) starts at (ax·S−P, ay·S−P) with zero padding outside. Its
// backward accumulates the filter and bias gradients over every backward call, so
// one layer looping over the batch sums dw and db over the batch as ours does.
//
// The layout changes happen outside the timing: we time convnetjs on data already
// in its own layout. convnetjs has no batch, layer or group normalization layer.

import convnetjs from 'convnetjs';
import { permute } from '../data.js';

const { Vol, ConvLayer, PoolLayer } = convnetjs;

/** One Vol (sx = W, sy = H, depth = C, HWC order) per image of an (N, C, H, W) Float64Array. */
export function vols(data, [N, C, H, W]) {
  const per = C * H * W;
  const out = [];
  for (let n = 0; n < N; n++) {
    const v = new Vol(W, H, C, 0.0);
    v.w = permute(data.subarray(n * per, (n + 1) * per), [C, H, W], [1, 2, 0]);
    out.push(v);
  }
  return out;
}

/** Output Vols whose gradient (dw) is dout, one per image. */
function gradVols(dout, shape) {
  return vols(dout, shape).map((v) => {
    const g = new Vol(v.sx, v.sy, v.depth, 0.0);
    g.dw = v.w;
    return g;
  });
}

/** Gathers per-image HWC arrays back into one NCHW Float64Array. */
function toNCHW(images, [N, C, H, W]) {
  const per = C * H * W;
  const out = new Float64Array(N * per);
  for (let n = 0; n < N; n++) out.set(permute(images[n], [H, W, C], [2, 0, 1]), n * per);
  return out;
}

function convLayer(p) {
  const [, C, H, W] = p.x.shape;
  const [F, , HH, WW] = p.w.shape;
  const { stride, pad } = p.param;
  const layer = new ConvLayer({ filters: F, sx: WW, sy: HH, in_depth: C, in_sx: W, in_sy: H, stride, pad });
  const per = C * HH * WW;
  for (let f = 0; f < F; f++) {
    layer.filters[f].w = permute(p.w.data.subarray(f * per, (f + 1) * per), [C, HH, WW], [1, 2, 0]);
  }
  layer.biases.w = Float64Array.from(p.b.data);
  return layer;
}

function prepareConv(kind, p) {
  const layer = convLayer(p);
  const xs = vols(p.x.data, p.x.shape);
  const N = xs.length;
  const outShape = [N, layer.out_depth, layer.out_sy, layer.out_sx];
  if (kind === 'convForward') {
    return {
      run: () => xs.map((v) => layer.forward(v, true).w),
      outputs: (outs) => ({ out: toNCHW(outs, outShape) }),
    };
  }
  const douts = gradVols(p.dout.data, outShape);
  const [F, C, HH, WW] = p.w.shape;
  return {
    run: () => {
      for (const f of layer.filters) f.dw.fill(0);
      layer.biases.dw.fill(0);
      const dx = [];
      for (let n = 0; n < N; n++) {
        layer.in_act = xs[n];
        layer.out_act = douts[n];
        layer.backward();
        dx.push(xs[n].dw);
      }
      return dx;
    },
    outputs: (dx) => ({
      dx: toNCHW(dx, p.x.shape),
      dw: toNCHW(layer.filters.map((f) => f.dw), [F, C, HH, WW]),
      db: Float64Array.from(layer.biases.dw),
    }),
  };
}

function preparePool(kind, p) {
  const [N, C, H, W] = p.x.shape;
  const { poolHeight, poolWidth, stride } = p.param;
  // A layer remembers the argmax ("switches") of its last forward only, so each
  // image gets its own layer, as each example would in a convnetjs net.
  const layers = [];
  for (let n = 0; n < N; n++) {
    layers.push(new PoolLayer({ sx: poolWidth, sy: poolHeight, stride, in_depth: C, in_sx: W, in_sy: H }));
  }
  const xs = vols(p.x.data, p.x.shape);
  const outShape = [N, C, layers[0].out_sy, layers[0].out_sx];
  if (kind === 'maxPoolForward') {
    return {
      run: () => layers.map((l, n) => l.forward(xs[n], true).w),
      outputs: (outs) => ({ out: toNCHW(outs, outShape) }),
    };
  }
  const douts = gradVols(p.dout.data, outShape);
  layers.forEach((l, n) => l.forward(xs[n], true));
  return {
    run: () =>
      layers.map((l, n) => {
        l.out_act = douts[n];
        l.backward();
        return xs[n].dw;
      }),
    outputs: (dx) => ({ dx: toNCHW(dx, p.x.shape) }),
  };
}

/** Why convnetjs has no counterpart of `kind`. */
function missing(kind) {
  if (/atchnorm/.test(kind)) return 'no batchnorm layer';
  if (/layernorm|Groupnorm/.test(kind)) return 'no layer or group normalization layer';
  if (kind.startsWith('dropout')) return 'its dropout layer draws its own mask, which cannot be seeded to match';
  return 'its Trainer steps the weights of its own layers, not a given array';
}

export const convnetjsPeer = {
  name: 'convnetjs',
  slow: true,
  tolerance: 1e-9,
  prepare(kind, p) {
    switch (kind) {
      case 'convForward':
      case 'convBackward':
        return prepareConv(kind, p);
      case 'convBackwardDx':
        return { na: 'no dx-only op' };
      case 'maxPoolForward':
      case 'maxPoolBackward':
        return preparePool(kind, p);
      default:
        return { na: missing(kind) };
    }
  },
};
