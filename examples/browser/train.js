// The training page: a worker (train-worker.js) trains ThreeLayerConvNet on the digits and
// sends its progress and parameter snapshots; this page keeps a copy of the model from those
// snapshots and draws the charts, the filters, one digit's activations, the test grid and the
// predictions for a drawn digit. State for tests: document.body.dataset.state ('loading',
// 'ready', 'running', 'paused', 'done', 'loaded', 'error') and window.trainPage.
import { init, ThreeLayerConvNet, convForward, reluForward } from 'convcore';
import { parseDigits, partTensor, meanImageOf } from './digits-bin.js';
import { drawingPad, inkOf, toMnist, SIDE } from './draw.js';
import { drawGrey, canvases, drawLoss, drawAccuracy, drawProbabilities } from './train-view.js';

/** The settings and their defaults; each can be given in the URL (?train=2000&epochs=1 …). */
const DEFAULTS = { train: 8000, val: 1000, epochs: 2, batch: 50, lr: 2e-3, filters: 8, filterSize: 7, hidden: 200, reg: 0, seed: 0, checks: 4 };
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
  return { ...c, autostart: q.has('autostart') };
}

const page = {
  state: 'loading', info: null, losses: [], checks: [], model: null, options: '', chosen: 0,
  grid: null, drawn: null, testAccuracy: null, bestValAcc: null, error: null,
  /** The longest the page's main thread went without running a 50 ms timer while training ran. */
  longestStallMs: 0,
};
/** The last parameters the worker sent (the model holds its own copy; reading model.params copies again). */
let params = null;
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

function drawFilters() {
  const { data, shape } = params.W1;
  const [F, , k] = shape;
  canvases($('filters'), F).forEach((cv, f) => {
    const w = data.subarray(f * k * k, (f + 1) * k * k);
    drawGrey(cv, w, k, k, Math.min(...w), Math.max(...w));
  });
}

function drawActivations() {
  const i = page.chosen;
  const image = test.X.data.slice(i * SIDE * SIDE, (i + 1) * SIDE * SIDE);
  const x = { data: modelInput(image), shape: [1, 1, SIDE, SIDE] };
  const { W1, b1 } = params;
  const pad = Math.floor((W1.shape[2] - 1) / 2);
  const maps = reluForward(convForward(x, W1, b1, { stride: 1, pad }).out).out;
  const [, F, H, W] = maps.shape;
  const hi = Math.max(...maps.data);
  drawGrey($('act-input'), image, SIDE, SIDE);
  $('act-index').textContent = String(i);
  $('act-label').textContent = `label ${test.y[i]}`;
  canvases($('activations'), F).forEach((cv, f) => drawGrey(cv, maps.data.subarray(f * H * W, (f + 1) * H * W), W, H, 0, hi));
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
      if (page.model) drawActivations();
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
  drawFilters();
  drawActivations();
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
      + `${info.threads} thread${info.threads > 1 ? 's' : ''}`;
    drawCharts();
  },
  model(msg) {
    const key = JSON.stringify(msg.options);
    if (key !== page.options) {
      page.model?.dispose();
      page.model = new ThreeLayerConvNet({ ...msg.options, weightScale: 0, seed: 0 });
      page.options = key;
    }
    params = msg.params;
    mean = msg.meanImage;
    page.model.setParams(params);
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
    if (msg.state === 'done') {
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
    if (page.state === 'running') {
      elapsed += performance.now() - runStart;
      page.state = 'paused';
      setState('paused');
      $('start').textContent = 'Start';
    }
    showError(message);
  },
};

function download() {
  const json = mean ? { ...page.model.toJSON(), meanImage: Array.from(mean) } : page.model.toJSON();
  const blob = new Blob([JSON.stringify(json)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'convcore-digits-model.json';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

async function load(file) {
  let json;
  try {
    json = JSON.parse(await file.text());
    // The file is checked here, with a clear message, before the worker gets it (training goes on meanwhile).
    const m = ThreeLayerConvNet.fromJSON(json);
    const fits = m.inputDim.join(',') === '1,28,28' && m.numClasses === 10;
    m.dispose();
    if (!fits) throw new Error(`this page needs a model of 28x28 digits in 10 classes; this one has inputDim [${m.inputDim}] and ${m.numClasses} classes`);
    meanImageOf(json);
  } catch (e) {
    showError(`${file.name}: ${e.message}`);
    return;
  }
  status(`Loading ${file.name}…`);
  worker.postMessage({ type: 'load', json });
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
  worker.postMessage({ type: 'init', buffer, config });
  await ready;

  page.state = 'ready';
  setState('ready');
  status(`Ready: ${digits.train.count + digits.val.count + digits.test.count} digits loaded. Press Start.`);
  for (const id of ['start', 'download', 'load']) $(id).disabled = false;
  $('start').addEventListener('click', () => worker.postMessage({ type: page.state === 'running' ? 'pause' : 'start' }));
  $('download').addEventListener('click', download);
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
