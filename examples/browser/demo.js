// The demo page: times a layer's forward and backward through convcore's Wasm kernels and
// through the reference loops, and draws what a small conv → ReLU → max-pool stack does to a
// picture (visual.js). The module state the test reads is on document.body.dataset.state
// ('loading', 'ready', 'running', 'error') and window.demo.
import * as cc from 'convcore';
import * as ref from 'convcore/reference';
import { setupVisual } from './visual.js';

/** Shape presets per layer; the conv ones include the benchmark's cs231n shape and a resnet-like one (bench/cases.js). */
const PRESETS = {
  conv: [
    { label: 'small: x (4,3,32,32), w (8,3,3,3), stride 1, pad 1', x: [4, 3, 32, 32], w: [8, 3, 3, 3], stride: 1, pad: 1 },
    { label: 'cs231n: x (50,3,32,32), w (32,3,7,7), stride 1, pad 3', x: [50, 3, 32, 32], w: [32, 3, 7, 7], stride: 1, pad: 3 },
    { label: 'resnet-like: x (2,64,28,28), w (64,64,3,3), stride 1, pad 1', x: [2, 64, 28, 28], w: [64, 64, 3, 3], stride: 1, pad: 1 },
    { label: 'strided: x (8,32,32,32), w (64,32,3,3), stride 2, pad 1', x: [8, 32, 32, 32], w: [64, 32, 3, 3], stride: 2, pad: 1 },
  ],
  maxpool: [
    { label: 'small: x (4,8,16,16), 2x2 window, stride 2', x: [4, 8, 16, 16], pool: 2, stride: 2 },
    { label: 'x (50,32,32,32), 2x2 window, stride 2', x: [50, 32, 32, 32], pool: 2, stride: 2 },
    { label: 'overlapping: x (8,64,56,56), 3x3 window, stride 2', x: [8, 64, 56, 56], pool: 3, stride: 2 },
  ],
  spatialbn: [
    { label: 'small: x (4,8,16,16), train mode', x: [4, 8, 16, 16] },
    { label: 'x (50,32,32,32), train mode', x: [50, 32, 32, 32] },
    { label: 'x (8,64,28,28), train mode', x: [8, 64, 28, 28] },
  ],
};

/** ?quick: one warm-up call and one sample per timing, for the browser test. */
const QUICK = new URLSearchParams(location.search).has('quick');
const $ = (id) => document.getElementById(id);
const state = (s) => { document.body.dataset.state = s; };
const nextFrame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

let seed = 12345;
function normal() {
  // A small LCG and Box–Muller: the same data on every run of a preset.
  const u = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) + 1) / 2147483649;
  return Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}
function randn(shape, scale = 1) {
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = scale * normal();
  return cc.tensor(data, shape);
}

/** The forward and backward of one preset, for either entry (cc or ref). */
function layerCase(layer, p) {
  seed = 12345;
  if (layer === 'conv') {
    const x = randn(p.x), w = randn(p.w, 0.1), b = randn([p.w[0]]);
    const param = { stride: p.stride, pad: p.pad };
    return {
      forward: (api) => api.convForward(x, w, b, param),
      backward: (api, f, dout) => api.convBackward(dout, f.cache),
      results: (f, g) => ({ out: f.out, dx: g.dx, dw: g.dw, db: g.db }),
    };
  }
  if (layer === 'maxpool') {
    const x = randn(p.x);
    const param = { poolHeight: p.pool, poolWidth: p.pool, stride: p.stride };
    return {
      forward: (api) => api.maxPoolForward(x, param),
      backward: (api, f, dout) => api.maxPoolBackward(dout, f.cache),
      results: (f, g) => ({ out: f.out, dx: g.dx }),
    };
  }
  const x = randn(p.x, 2), C = p.x[1], gamma = randn([C]), beta = randn([C]);
  const param = { mode: 'train', eps: 1e-5, momentum: 0.9 };
  return {
    forward: (api) => api.spatialBatchnormForward(x, gamma, beta, param),
    backward: (api, f, dout) => api.spatialBatchnormBackward(dout, f.cache),
    results: (f, g) => ({ out: f.out, dx: g.dx, dgamma: g.dgamma, dbeta: g.dbeta }),
  };
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];

/**
 * Median time of fn in ms. Warm-up first: V8 compiles Wasm with a baseline compiler and
 * moves hot functions to its optimizing tier only after they have run a while, so the Wasm
 * path gets `warm` calls (and at least 250 ms) before it is timed; the JS loops optimize
 * on the first call. Calls are then batched so each sample lasts ≥ 5 ms (browsers coarsen
 * performance.now()), and samples are taken until `budget` ms have passed (at least one).
 */
function timeOp(fn, { warm, budget }) {
  const w0 = performance.now();
  let calls = 0;
  let once;
  do {
    const t = performance.now();
    fn();
    once = Math.max(performance.now() - t, 0.01);
    calls++;
  } while (calls < warm || (warm > 1 && performance.now() - w0 < 250 && calls < 50));
  const k = Math.max(1, Math.ceil(5 / once));
  const samples = [];
  const start = performance.now();
  do {
    const s = performance.now();
    for (let i = 0; i < k; i++) fn();
    samples.push((performance.now() - s) / k);
  } while (performance.now() - start < budget && samples.length < 25);
  return median(samples);
}

/** max|a − b| / max|b| over every result tensor. */
function agreement(a, b) {
  let worst = 0;
  for (const key of Object.keys(b)) {
    let diff = 0, scale = 0;
    const x = a[key].data, y = b[key].data;
    for (let i = 0; i < y.length; i++) {
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(y[i]));
    }
    worst = Math.max(worst, diff / Math.max(scale, 1e-300));
  }
  return worst;
}

function fmtMs(ms) {
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

function setCell(name, text) {
  document.querySelector(`[data-cell="${name}"]`).textContent = text;
}

async function runTiming() {
  const layer = $('layer').value;
  const preset = PRESETS[layer][Number($('preset').value)];
  const c = layerCase(layer, preset);
  $('run').disabled = true;
  state('running');
  for (const k of ['wasm', 'ref', 'x']) for (const p of ['fwd', 'bwd', 'total']) setCell(`${k}-${p}`, '…');
  $('agreement').textContent = '';
  try {
    const time = { wasm: {}, ref: {} };
    const outs = {};
    const runs = QUICK
      ? [['wasm', cc, { warm: 1, budget: 0 }], ['ref', ref, { warm: 1, budget: 0 }]]
      : [['wasm', cc, { warm: 3, budget: 500 }], ['ref', ref, { warm: 1, budget: 800 }]];
    for (const [name, api, how] of runs) {
      $('agreement').textContent = name === 'wasm' ? 'timing convcore…' : 'timing the reference loops…';
      await nextFrame();
      const f = c.forward(api);
      seed = 777;
      const dout = randn(f.out.shape);
      const g = c.backward(api, f, dout);
      outs[name] = c.results(f, g);
      time[name].fwd = timeOp(() => c.forward(api), how);
      await nextFrame();
      time[name].bwd = timeOp(() => c.backward(api, f, dout), how);
      time[name].total = time[name].fwd + time[name].bwd;
      for (const p of ['fwd', 'bwd', 'total']) setCell(`${name}-${p}`, fmtMs(time[name][p]));
    }
    for (const p of ['fwd', 'bwd', 'total']) setCell(`x-${p}`, `${(time.ref[p] / time.wasm[p]).toFixed(1)}×`);
    const err = agreement(outs.wasm, outs.ref);
    $('agreement').textContent = `Wasm and reference agree on ${Object.keys(outs.ref).join(', ')} to a max relative error of ${err.toExponential(1)}.`;
    window.demo.lastRun = { layer, preset: preset.label, time, err };
    state('ready');
  } catch (e) {
    $('agreement').textContent = `Error: ${e.message}`;
    state('error');
    throw e;
  } finally {
    $('run').disabled = false;
  }
}

function fillPresets() {
  const sel = $('preset');
  sel.replaceChildren(...PRESETS[$('layer').value].map((p, i) => new Option(p.label, String(i))));
  updateShape();
}

function updateShape() {
  const p = PRESETS[$('layer').value][Number($('preset').value)];
  $('shape').textContent = p.label.replace(/^[^:]*: /, '');
}

async function main() {
  state('loading');
  window.demo = { lastRun: null, PRESETS };
  $('layer').addEventListener('change', fillPresets);
  $('preset').addEventListener('change', updateShape);
  $('controls').addEventListener('submit', (e) => {
    e.preventDefault();
    runTiming();
  });
  fillPresets();
  const t = performance.now();
  await cc.init();
  $('status').textContent = `WebAssembly module ready in ${fmtMs(performance.now() - t)}; ${navigator.userAgent.match(/(Chrom(e|ium)|Firefox|Safari)\/[\d.]+/)?.[0] ?? 'this browser'}.`;
  $('run').disabled = false;
  setupVisual(cc);
  state('ready');
}

main().catch((e) => {
  $('status').textContent = `Error: ${e.message}`;
  state('error');
  throw e;
});
