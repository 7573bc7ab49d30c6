// The training page: a worker (train-worker.js) trains a Sequential on the digits and sends
// its progress and parameter snapshots; this page keeps a copy of the model from those
// snapshots and draws the charts, the filters, one digit's activations, the test grid and the
// predictions for a drawn digit. The network is the layer list in the page's box, parsed here
// (net-parser.js, never evaluated) and built in the worker; a definition that cannot be read
// or does not fit shows its error next to the box. State for tests:
// document.body.dataset.state ('loading', 'ready', 'running', 'paused', 'done', 'loaded',
// 'error'), document.body.dataset.net ('building', 'built', 'error') and window.trainPage.
import { init, Sequential, ThreeLayerConvNet, convForward, reluForward, spatialBatchnormForward, toOnnx } from 'convcore';
import { parseDigits, partTensor, meanImageOf } from './digits-bin.js';
import { drawingPad, inkOf, toMnist, SIDE } from './draw.js';
import { drawGrey, canvases, drawLoss, drawAccuracy, drawProbabilities } from './train-view.js';
import { parseNet, formatNet } from './net-parser.js';
import { PRESETS } from './net-presets.js';

/** The settings and their defaults; each can be given in the URL (?train=2000&epochs=1&preset=convnetjs …). */
const DEFAULTS = { train: 8000, val: 1000, epochs: 2, batch: 50, lr: 2e-3, reg: 0, seed: 0, checks: 4 };
const GRID = 100;
/** While training runs, the filters, activations and test grid are redrawn at most this often. */
const REDRAW_MS = 400;

const $ = (id) => document.getElementById(id);
const setState = (s) => { document.body.dataset.state = s; };
/** A message under the title; status() clears an error that showError() put there. */
function status(text) {
  page.error = null;
  $('status').textContent = text;
  $('status').classList.remove('error');
}
function showError(message) {
  $('status').textContent = `Error: ${message}`;
  $('status').classList.add('error');
  page.error = message;
}

function settings() {
  const q = new URLSearchParams(location.search);
  const c = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS)) {
    if (!q.has(key)) continue;
    const v = Number(q.get(key));
    const integer = !['lr', 'reg'].includes(key);
    const ok = Number.isFinite(v) && (key === 'reg' || key === 'seed' ? v >= 0 : v > 0) && (!integer || Number.isInteger(v));
    if (!ok) throw new Error(`?${key}=${q.get(key)}: expected a ${key === 'reg' || key === 'seed' ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}`);
    c[key] = v;
  }
  const preset = q.get('preset') ?? PRESETS[0].id;
  if (!PRESETS.some((p) => p.id === preset)) throw new Error(`?preset=${preset}: the presets are ${PRESETS.map((p) => p.id).join(', ')}`);
  return { ...c, preset, autostart: q.has('autostart') };
}

const page = {
  state: 'loading', info: null, losses: [], checks: [], model: null, arch: null, archKey: '', chosen: 0,
  grid: null, drawn: null, testAccuracy: null, bestValAcc: null, error: null,
  /**
   * The network box: `built` is the text of the model in use, `pending` the text sent to the
   * worker (a build or a load), `error` the message shown next to the box, `summary` the
   * model's summary.
   */
  net: { state: 'building', built: null, pending: null, error: null, summary: '' },
  /** The longest the page's main thread went without running a 50 ms timer while training ran. */
  longestStallMs: 0,
};
/** The last parameters and buffers the worker sent (the model holds its own copy; reading model.params copies again). */
let params = null;
let buffers = {};
/** The mean image the model expects subtracted from its inputs (a loaded model saved by `npm start`), or null. */
let mean = null;

/** What the model is given for images in [0, 1]: minus the mean image, if any. */
function modelInput(data) {
  if (!mean) return data;
  const out = Float64Array.from(data);
  for (let i = 0; i < out.length; i++) out[i] -= mean[i % mean.length];
  return out;
}
window.trainPage = page;

let digits;
let test;
let worker;
let elapsed = 0;
let runStart = 0;
let lastRedraw = 0;
let redrawTimer = 0;

/** Scores of `X` through the page's copy of the model, in batches. */
function scores(X) {
  const n = X.shape[0];
  const out = new Float64Array(n * 10);
  for (let start = 0; start < n; start += 250) {
    const m = Math.min(250, n - start);
    const s = page.model.loss({ data: modelInput(X.data.subarray(start * SIDE * SIDE, (start + m) * SIDE * SIDE)), shape: [m, 1, SIDE, SIDE] });
    out.set(s.data, start * 10);
  }
  return out;
}

const argmax = (s, r) => {
  let best = 0;
  for (let c = 1; c < 10; c++) if (s[r * 10 + c] > s[r * 10 + best]) best = c;
  return best;
};

function softmax(s) {
  const max = Math.max(...s);
  const e = s.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/**
 * The model's first conv layer and the layers right after it that act per map (batchnorm in
 * test mode, ReLU), from the last snapshot; null when the model does not start with a conv.
 */
function firstConv() {
  if (page.arch.type === 'ThreeLayerConvNet') {
    const k = params.W1.shape[2];
    return { name: 'W1', W: params.W1, b: params.b1, conv: { stride: 1, pad: Math.floor((k - 1) / 2) }, after: [{ kind: 'relu' }] };
  }
  const [first, ...rest] = page.arch.layers;
  if (first.kind !== 'conv') return null;
  const W = params['0.W'];
  const F = W.shape[0];
  const o = first.args[2] ?? {};
  const conv = { stride: o.stride ?? 1, pad: o.pad ?? 0, dilation: o.dilation ?? 1, groups: o.groups ?? 1 };
  const after = [];
  for (const [j, l] of rest.entries()) {
    const i = j + 1;
    if (l.kind === 'relu') after.push({ kind: 'relu' });
    else if (l.kind === 'spatialBatchnorm') {
      after.push({
        kind: 'spatialBatchnorm', gamma: params[`${i}.gamma`], beta: params[`${i}.beta`],
        bn: { mode: 'test', eps: l.args[0]?.eps ?? 1e-5, runningMean: buffers[`${i}.runningMean`], runningVar: buffers[`${i}.runningVar`] },
      });
    } else break;
  }
  return { name: '0.W', W, b: params['0.b'] ?? { data: new Float64Array(F), shape: [F] }, conv, after };
}

function describeInside(c) {
  const note = $('inside-note');
  if (!c) {
    note.textContent = 'The network does not start with a conv layer, so there are no filters to draw here.';
    return;
  }
  const steps = ['convForward', ...c.after.map((a) => (a.kind === 'relu' ? 'reluForward' : 'spatialBatchnormForward (test mode)'))];
  note.replaceChildren(
    'The first layer\'s filters ', code(c.name), ' (each scaled to its own range, bright = positive), and what the first '
    + 'layers make of one test digit: ', ...steps.flatMap((f, i) => [i === 0 ? '' : ', then ', code(f)]),
    ' (bright = strong response, one scale for all maps). Click a digit below to look at it.',
  );
}

function code(text) {
  const el = document.createElement('code');
  el.textContent = text;
  return el;
}

function drawFilters(c) {
  const { data, shape } = c.W;
  const [F, , kh, kw] = shape;
  canvases($('filters'), F).forEach((cv, f) => {
    const w = data.subarray(f * kh * kw, (f + 1) * kh * kw);
    drawGrey(cv, w, kw, kh, Math.min(...w), Math.max(...w));
  });
}

function drawActivations(c) {
  const i = page.chosen;
  const image = test.X.data.slice(i * SIDE * SIDE, (i + 1) * SIDE * SIDE);
  const x = { data: modelInput(image), shape: [1, 1, SIDE, SIDE] };
  let maps = convForward(x, c.W, c.b, c.conv).out;
  for (const a of c.after) maps = a.kind === 'relu' ? reluForward(maps).out : spatialBatchnormForward(maps, a.gamma, a.beta, a.bn).out;
  const [, F, H, W] = maps.shape;
  const hi = Math.max(...maps.data);
  const lo = Math.min(0, ...maps.data);
  drawGrey($('act-input'), image, SIDE, SIDE);
  $('act-index').textContent = String(i);
  $('act-label').textContent = `label ${test.y[i]}`;
  canvases($('activations'), F).forEach((cv, f) => drawGrey(cv, maps.data.subarray(f * H * W, (f + 1) * H * W), W, H, lo, hi));
}

/** The filters and one digit's maps, or nothing when the model does not start with a conv (on the one-channel input). */
function drawInside() {
  const c = firstConv();
  describeInside(c);
  if (!c || c.W.shape[1] !== 1) {
    canvases($('filters'), 0);
    canvases($('activations'), 0);
    return;
  }
  drawFilters(c);
  drawActivations(c);
}

function buildGrid() {
  const grid = $('grid');
  for (let i = 0; i < GRID; i++) {
    const cell = document.createElement('div');
    cell.className = 'cell';
    cell.dataset.index = String(i);
    const cv = document.createElement('canvas');
    drawGrey(cv, test.X.data.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE), SIDE, SIDE);
    cell.append(cv, document.createElement('span'));
    cell.addEventListener('click', () => {
      page.chosen = i;
      for (const c of grid.children) c.classList.toggle('chosen', c === cell);
      if (page.model) drawInside();
    });
    grid.append(cell);
  }
  grid.children[0].classList.add('chosen');
}

function drawGrid() {
  const X = { data: test.X.data.subarray(0, GRID * SIDE * SIDE), shape: [GRID, 1, SIDE, SIDE] };
  const s = scores(X);
  const predicted = Array.from({ length: GRID }, (_, r) => argmax(s, r));
  const labels = Array.from(test.y.subarray(0, GRID));
  [...$('grid').children].forEach((cell, r) => {
    const wrong = predicted[r] !== labels[r];
    cell.classList.toggle('wrong', wrong);
    cell.lastChild.textContent = wrong ? `${predicted[r]}→${labels[r]}` : String(predicted[r]);
  });
  const right = predicted.filter((p, r) => p === labels[r]).length;
  $('grid-summary').textContent = `${right} of ${GRID} right.`;
  page.grid = { scores: Array.from(s), predicted, labels, wrong: GRID - right };
}

function predictDrawing() {
  const input = toMnist(inkOf($('pad')), $('pad').width, $('pad').height);
  if (input === null || !page.model) {
    page.drawn = null;
    drawGrey($('pad-input'), new Float64Array(SIDE * SIDE), SIDE, SIDE);
    $('predicted').textContent = '–';
    drawProbabilities($('probs'), null);
    return;
  }
  drawGrey($('pad-input'), input, SIDE, SIDE);
  const s = Array.from(page.model.loss({ data: modelInput(input), shape: [1, 1, SIDE, SIDE] }).data);
  const probs = softmax(s);
  const predicted = probs.indexOf(Math.max(...probs));
  $('predicted').textContent = String(predicted);
  drawProbabilities($('probs'), probs);
  page.drawn = { input: Array.from(input), scores: s, probs, predicted };
}

function testAccuracy() {
  const s = scores(test.X);
  let right = 0;
  for (let r = 0; r < test.y.length; r++) if (argmax(s, r) === test.y[r]) right++;
  page.testAccuracy = right / test.y.length;
  $('stat-test').textContent = `${(100 * page.testAccuracy).toFixed(1)}%`;
}

/** Redraws everything that depends on the parameters, throttled while training runs. */
function redraw(now = false) {
  clearTimeout(redrawTimer);
  const wait = lastRedraw + REDRAW_MS - performance.now();
  if (!now && page.state === 'running' && wait > 0) {
    redrawTimer = setTimeout(redraw, wait);
    return;
  }
  lastRedraw = performance.now();
  drawInside();
  drawGrid();
  predictDrawing();
}

function drawCharts() {
  const T = page.info ? page.info.numIterations : 1;
  drawLoss($('loss-chart'), page.losses, T);
  drawAccuracy($('acc-chart'), page.checks, T);
}

function fmtTime(ms) {
  const s = ms / 1000;
  return s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)} s`;
}

const onMessage = {
  ready({ info }) {
    page.info = info;
    page.losses = [];
    page.checks = [];
    elapsed = 0;
    runStart = performance.now();
    for (const id of ['iteration', 'epoch', 'loss', 'rate', 'time', 'val']) $(`stat-${id}`).textContent = '–';
    $('epochs').tBodies[0].replaceChildren();
    $('settings').textContent = `${info.train} training, ${info.val} validation images · batch ${info.batch} · `
      + `${info.epochs} epoch${info.epochs > 1 ? 's' : ''} of ${info.iterationsPerEpoch} steps · adam · `
      + `${info.threads} thread${info.threads > 1 ? 's' : ''} · ${info.simd} build`;
    drawCharts();
  },
  /** A network was built or loaded: its text is now the one in use. */
  built({ summary }) {
    const text = page.net.pending;
    page.net.pending = null;
    if (text !== null) {
      page.net.built = text;
      if ($('net').value !== text) $('net').value = text;
    }
    page.net.summary = summary;
    $('net-summary').textContent = summary;
    $('net-preset').value = PRESETS.find((p) => p.text === page.net.built)?.id ?? '';
    setNet('built');
  },
  /** The definition could be read but not built: the library's message, next to the box. */
  'net-error'({ message }) {
    page.net.pending = null;
    showNetError(message);
  },
  model(msg) {
    // The page's copy of the model is made again only when the worker's is of another shape.
    const key = JSON.stringify(msg.arch);
    if (key !== page.archKey) {
      page.model?.dispose();
      const { arch } = msg;
      page.model = arch.type === 'Sequential' ? new Sequential(arch.layers, arch.options) : new ThreeLayerConvNet({ ...arch.options, weightScale: 0, seed: 0 });
      page.arch = arch;
      page.archKey = key;
    }
    params = msg.params;
    buffers = msg.buffers;
    mean = msg.meanImage;
    page.model.setParams(params);
    if (page.model instanceof Sequential) page.model.setBuffers(buffers);
    redraw(page.state !== 'running');
  },
  step({ iteration, epoch, loss, imagesPerSecond }) {
    page.losses.push(loss);
    $('stat-iteration').textContent = `${iteration} / ${page.info.numIterations}`;
    $('stat-epoch').textContent = `${Math.min(epoch + 1, page.info.epochs)} / ${page.info.epochs}`;
    $('stat-loss').textContent = loss.toFixed(3);
    $('stat-rate').textContent = imagesPerSecond.toFixed(0);
    $('stat-time').textContent = fmtTime(elapsed + performance.now() - runStart);
    drawCharts();
  },
  check(c) {
    page.checks.push(c);
    $('stat-val').textContent = `${(100 * c.valAcc).toFixed(1)}%`;
    if (c.epochEnd && c.iteration > 1) {
      const row = document.createElement('tr');
      for (const v of [c.epoch, `${(100 * c.trainAcc).toFixed(1)}%`, `${(100 * c.valAcc).toFixed(1)}%`]) {
        const td = document.createElement('td');
        td.textContent = String(v);
        row.append(td);
      }
      $('epochs').tBodies[0].append(row);
    }
    drawCharts();
  },
  state(msg) {
    if (page.state === 'running') elapsed += performance.now() - runStart;
    if (msg.state === 'running') runStart = performance.now();
    page.state = msg.state;
    setState(msg.state);
    $('start').textContent = msg.state === 'running' ? 'Pause' : msg.state === 'done' ? 'Train again' : 'Start';
    if (msg.state === 'running') {
      status('Training in a Web Worker…');
      return;
    }
    redraw(true);
    testAccuracy();
    if (msg.state === 'ready') {
      status('Network built. Press Start.');
    } else if (msg.state === 'done') {
      page.bestValAcc = msg.bestValAcc;
      status(`Done in ${fmtTime(elapsed)}: best validation accuracy ${(100 * msg.bestValAcc).toFixed(1)}% (those parameters are kept), `
        + `test accuracy ${(100 * page.testAccuracy).toFixed(1)}%.`);
    } else if (msg.state === 'paused') {
      status('Paused.');
    } else if (msg.state === 'loaded') {
      status(`Model loaded: test accuracy ${(100 * page.testAccuracy).toFixed(1)}%. Start trains it further.`);
    }
  },
  /** The worker stops training when a message fails. */
  error({ message }) {
    if (page.net.pending !== null) {
      page.net.pending = null;
      setNet(page.net.error ? 'error' : 'built');
    }
    if (page.state === 'running') {
      elapsed += performance.now() - runStart;
      page.state = 'paused';
      setState('paused');
      $('start').textContent = 'Start';
    }
    showError(message);
  },
};

function save(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function download() {
  const json = mean ? { ...page.model.toJSON(), meanImage: Array.from(mean) } : page.model.toJSON();
  save(new Blob([JSON.stringify(json)], { type: 'application/json' }), 'convcore-digits-model.json');
}

/** The model as a float32 ONNX model (input x: the image minus the meanImage, output scores), for onnxruntime. */
function downloadOnnx() {
  save(new Blob([toOnnx(page.model)], { type: 'application/octet-stream' }), 'convcore-digits-model.onnx');
}

async function load(file) {
  let json;
  let text;
  try {
    json = JSON.parse(await file.text());
    // The file is checked here, with a clear message, before the worker gets it (training goes on meanwhile).
    const sequential = json?.type === 'Sequential';
    const m = sequential ? Sequential.fromJSON(json) : ThreeLayerConvNet.fromJSON(json);
    const shape = sequential ? m.inputShape : m.inputDim;
    const fits = shape.join(',') === '1,28,28' && m.numClasses === 10;
    m.dispose();
    if (!fits) throw new Error(`this page needs a model of 28x28 digits in 10 classes; this one takes (${shape}) and has ${m.numClasses} classes`);
    meanImageOf(json);
    // The box shows the loaded network; Start trains it further until the box is edited.
    text = sequential ? formatNet(json.layers)
      : `// ${file.name}: a ThreeLayerConvNet (${m.numFilters} ${m.filterSize}x${m.filterSize} filters, hidden ${m.hiddenDim}).\n`
        + '// Write a layer list here and press Build to train a Sequential instead.';
  } catch (e) {
    showError(`${file.name}: ${e.message}`);
    return;
  }
  status(`Loading ${file.name}…`);
  page.net.pending = text;
  setNet('building');
  worker.postMessage({ type: 'load', json });
}

function setNet(state) {
  page.net.state = state;
  document.body.dataset.net = state;
  if (page.state !== 'loading') for (const id of ['build', 'start']) $(id).disabled = state === 'building';
  if (state !== 'error') {
    page.net.error = null;
    $('net-error').hidden = true;
    $('net-error').textContent = '';
    $('net').removeAttribute('aria-invalid');
  }
}

/** An error next to the box; a parse error's line is repeated with a caret under its position. */
function showNetError(message, position) {
  const text = $('net').value;
  let shown = message;
  if (position !== undefined) {
    const start = text.lastIndexOf('\n', position - 1) + 1;
    const end = text.indexOf('\n', position);
    shown += `\n${text.slice(start, end < 0 ? text.length : end)}\n${' '.repeat(position - start)}^`;
  }
  page.net.error = message;
  setNet('error');
  $('net-error').textContent = shown;
  $('net-error').hidden = false;
  $('net').setAttribute('aria-invalid', 'true');
}

/** Parses the box and sends the list to the worker to build (and start, if asked); a parse error is shown and nothing is sent. */
function requestBuild(start) {
  const text = $('net').value;
  let net;
  try {
    net = parseNet(text);
  } catch (e) {
    showNetError(e.message, e.position);
    return;
  }
  page.net.pending = text;
  setNet('building');
  worker.postMessage({ type: 'build', net, start });
}

/** Measures how responsive the page stays while the worker trains (a timer every 50 ms). */
function watchStalls() {
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (page.state === 'running') page.longestStallMs = Math.max(page.longestStallMs, now - last - 50);
    last = now;
  }, 50);
}

async function main() {
  setState('loading');
  watchStalls();
  const config = settings();
  const [, response] = await Promise.all([init(), fetch('/data/digits.bin')]);
  if (!response.ok) throw new Error(`could not fetch /data/digits.bin: HTTP ${response.status} (run \`npm run demo\`, which packs it)`);
  const buffer = await response.arrayBuffer();
  digits = parseDigits(buffer);
  test = partTensor(digits, digits.test);
  config.train = Math.min(config.train, digits.train.count);
  config.val = Math.min(config.val, digits.val.count);
  buildGrid();
  const select = $('net-preset');
  for (const p of PRESETS) select.append(new Option(p.name, p.id));
  select.append(new Option('(edited)', ''));
  select.value = config.preset;
  $('net').value = PRESETS.find((p) => p.id === config.preset).text;
  const pad = drawingPad($('pad'), () => predictDrawing());
  $('clear').addEventListener('click', () => pad.clear());

  worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = (e) => onMessage[e.data.type](e.data);
  // Ready at the first parameters; an error before them (a failed init, or a worker that did not load) ends the page.
  const ready = new Promise((resolve, reject) => {
    const first = (e) => {
      if (e.type === 'message' && e.data.type !== 'model' && e.data.type !== 'error') return;
      worker.removeEventListener('message', first);
      worker.removeEventListener('error', first);
      if (e.type === 'message' && e.data.type === 'model') resolve();
      else reject(new Error(e.type === 'message' ? e.data.message : `the worker failed to start: ${e.message ?? 'no message'}`));
    };
    worker.addEventListener('message', first);
    worker.addEventListener('error', first);
  });
  page.net.pending = $('net').value;
  worker.postMessage({ type: 'init', buffer, config, net: parseNet($('net').value) });
  await ready;

  page.state = 'ready';
  setState('ready');
  status(`Ready: ${digits.train.count + digits.val.count + digits.test.count} digits loaded. Press Start.`);
  for (const id of ['start', 'download', 'download-onnx', 'load', 'build']) $(id).disabled = false;
  $('start').addEventListener('click', () => {
    if (page.state === 'running') worker.postMessage({ type: 'pause' });
    else if ($('net').value !== page.net.built) requestBuild(true);
    else worker.postMessage({ type: 'start' });
  });
  $('build').addEventListener('click', () => requestBuild(false));
  select.addEventListener('change', () => {
    const p = PRESETS.find((x) => x.id === select.value);
    if (!p) return;
    $('net').value = p.text;
    requestBuild(false);
  });
  $('net').addEventListener('input', () => {
    if (PRESETS.find((p) => p.id === select.value)?.text !== $('net').value) select.value = '';
  });
  $('download').addEventListener('click', download);
  $('download-onnx').addEventListener('click', downloadOnnx);
  $('load').addEventListener('change', (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (file) load(file);
  });
  worker.onerror = (e) => onMessage.error({ message: e.message || 'the worker failed' });
  if (config.autostart) worker.postMessage({ type: 'start' });
}

main().catch((e) => {
  setState('error');
  showError(e.message);
  console.error(e);
});
