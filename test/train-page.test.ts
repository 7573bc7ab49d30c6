/**
 * The training page of `npm run demo` (examples/browser/train.html) in headless Chromium: a
 * preset network chosen in its select is built in a Web Worker and trained for one epoch on
 * the packed digits, and the test checks the validation accuracy (in the page and again here,
 * in Node, with the downloaded model on the digits of examples/digits.js), the test grid, a
 * digit drawn with the mouse, that a downloaded model loads back into a fresh page with the
 * same predictions and its layer list in the network box, and that a definition that does not
 * fit, or cannot be read, shows its error next to the box and leaves the model in use.
 * Any console error or warning, uncaught error or request off the server fails it.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startDemo } from '../scripts/demo.mjs';
import { loadDigits } from '../examples/digits.js';
import { Sequential, layers } from '../src/index.js';
import * as ort from 'onnxruntime-web';
import { maxNormRelError } from '../src/gradcheck.js';
import { parseNet, toLayers } from '../examples/browser/net-parser.js';
import { PRESETS } from '../examples/browser/net-presets.js';
import { ensureBuilt, launchChromium, watchedPage, type Watched } from './chromium.js';

/** All 7996 training digits, one epoch of 159 steps, one accuracy check at its end. */
const QUERY = '?train=8000&epochs=1&checks=1';
const TRAIN_TIMEOUT = 150_000;

interface Check { iteration: number; epoch: number; trainAcc: number; valAcc: number; epochEnd: boolean }
interface Info { train: number; val: number; batch: number; epochs: number; iterationsPerEpoch: number; numIterations: number }
interface Grid { scores: number[]; predicted: number[]; labels: number[]; wrong: number }
interface Drawn { input: number[]; scores: number[]; probs: number[]; predicted: number }
interface Net { state: string; built: string | null; pending: string | null; error: string | null; summary: string }
interface PageState {
  state: string; info: Info; losses: number[]; checks: Check[]; grid: Grid; drawn: Drawn | null;
  testAccuracy: number | null; bestValAcc: number | null; error: string | null; longestStallMs: number; net: Net;
}

/** The specs a definition makes, as plain data. */
const specsOf = (text: string) => JSON.parse(JSON.stringify(toLayers(parseNet(text), layers)));
/** The summary of the network the page builds from a definition (input 1x28x28, seed 0). */
function summaryOf(text: string): string {
  const net = new Sequential(toLayers(parseNet(text), layers), { inputShape: [1, 28, 28], seed: 0 });
  const s = net.summary();
  net.dispose();
  return s;
}
/** The message new Sequential gives for a definition that does not fit. */
function constructionError(text: string): string {
  try {
    new Sequential(toLayers(parseNet(text), layers), { inputShape: [1, 28, 28], seed: 0 }).dispose();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${text} builds`);
}

let browser: Browser;
let demo: { url: string; close(): Promise<void> };
let tmp: string;
let w: Watched;
let page: Page;
let trainSeconds = 0;

/** The page's state for the test (window.trainPage without the model). */
function pageState(p: Page): Promise<PageState> {
  return p.evaluate(() => {
    const t = (window as unknown as { trainPage: PageState & { model: unknown } }).trainPage;
    const { model: _, ...rest } = t;
    return JSON.parse(JSON.stringify(rest)) as PageState;
  });
}

const waitForState = (p: Page, states: string[], timeout = 30_000) =>
  p.waitForFunction((s) => s.includes(document.body.dataset.state ?? ''), states, { timeout });
/** Waits until the network box's build (or load) has been answered: 'built' or 'error'. */
async function waitForNet(p: Page): Promise<string> {
  await p.waitForFunction(() => ['built', 'error'].includes(document.body.dataset.net ?? ''), null, { timeout: 30_000 });
  return p.evaluate(() => document.body.dataset.net!);
}

/** The first preset, npm start's network, is the one trained; the residual one is built on the way. */
const TRAINED = PRESETS[0];
const RESIDUAL = PRESETS.find((p) => p.id === 'residual')!;
let residualBuilt: { net: Net; filters: number } | null = null;

beforeAll(async () => {
  await ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'convcore-train-page-'));
  demo = await startDemo({ port: 0, supportDir: join(tmp, 'support') });
  browser = await launchChromium();
  w = await watchedPage(browser, demo.url);
  page = w.page;
  await page.goto(`${demo.url}/train.html${QUERY}`);
  await waitForState(page, ['ready', 'error']);
  // Another preset first, then the one to train: each choice builds its network in the worker.
  await page.selectOption('#net-preset', RESIDUAL.id);
  await waitForNet(page);
  residualBuilt = { net: (await pageState(page)).net, filters: await page.locator('#filters canvas').count() };
  await page.selectOption('#net-preset', TRAINED.id);
  await waitForNet(page);
  const t0 = performance.now();
  await page.click('#start');
  await waitForState(page, ['done', 'error'], TRAIN_TIMEOUT);
  trainSeconds = (performance.now() - t0) / 1000;
}, TRAIN_TIMEOUT + 60_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Strokes of a digit "1" on the pad with the mouse: a short diagonal flag, then a long vertical stroke. */
async function drawOne(p: Page): Promise<void> {
  await p.locator('#pad').scrollIntoViewIfNeeded();
  const box = await p.locator('#pad').boundingBox();
  if (!box) throw new Error('the drawing pad is not visible');
  const at = (u: number, v: number): [number, number] => [box.x + u * box.width, box.y + v * box.height];
  await p.mouse.move(...at(0.42, 0.26));
  await p.mouse.down();
  await p.mouse.move(...at(0.52, 0.16), { steps: 6 });
  await p.mouse.move(...at(0.52, 0.86), { steps: 20 });
  await p.mouse.up();
}

describe('the training page in headless Chromium', () => {
  it('a preset chosen in the select builds its network, and the box shows its definition', async () => {
    expect(residualBuilt!.net).toEqual({ state: 'built', built: RESIDUAL.text, pending: null, error: null, summary: summaryOf(RESIDUAL.text) });
    expect(residualBuilt!.filters, "the residual preset's first conv has 16 filters").toBe(16);
    const s = await pageState(page);
    expect(s.net).toEqual({ state: 'built', built: TRAINED.text, pending: null, error: null, summary: summaryOf(TRAINED.text) });
    expect(await page.inputValue('#net')).toBe(TRAINED.text);
    expect(await page.inputValue('#net-preset')).toBe(TRAINED.id);
    expect(await page.textContent('#net-summary')).toBe(summaryOf(TRAINED.text));
    expect(await page.locator('#net-error').isHidden()).toBe(true);
  });

  it('trains the preset one epoch in a worker and passes 90% validation accuracy, with no console error', async () => {
    const s = await pageState(page);
    expect(s.error, 'an error shown on the page').toBeNull();
    expect(s.state).toBe('done');
    // npm run demo sends the cross-origin isolation headers: the worker trains on every core.
    expect(s.info).toMatchObject({ train: 7996, val: 997, batch: 50, epochs: 1, iterationsPerEpoch: 159, numIterations: 159, threads: Math.min(64, cpus().length), simd: 'relaxed' });
    expect(s.losses).toHaveLength(159);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(s.losses.slice(-20)), 'the loss of the last 20 steps against the first 20').toBeLessThan(mean(s.losses.slice(0, 20)) / 3);
    // The solver checks after the first step and at the end of the epoch, on all 997 validation digits.
    expect(s.checks.map((c) => [c.iteration, c.epoch, c.epochEnd])).toEqual([[1, 0, true], [159, 1, true]]);
    const last = s.checks.at(-1)!;
    expect(last.valAcc, 'validation accuracy after one epoch').toBeGreaterThan(0.9);
    expect(s.bestValAcc).toBe(Math.max(...s.checks.map((c) => c.valAcc)));
    expect(s.testAccuracy, 'test accuracy (1007 digits)').toBeGreaterThan(0.9);
    // The steps run in the worker: the page's own timers kept running while it trained.
    expect(w.requests).toContain('200 /train-worker.js');
    expect(s.longestStallMs, 'the longest main-thread stall while training ran, in ms').toBeLessThan(1000);
    console.log(`train page: one epoch in ${trainSeconds.toFixed(1)} s; validation ${(100 * last.valAcc).toFixed(1)}%, test ${(100 * s.testAccuracy!).toFixed(1)}%; longest main-thread stall ${s.longestStallMs.toFixed(0)} ms`);

    // What the page shows: a filter and an activation map per filter of the first conv (8 filters), the test grid with the wrong ones marked.
    expect(await page.locator('#filters canvas').count()).toBe(8);
    expect(await page.locator('#activations canvas').count()).toBe(8);
    expect(await page.textContent('#inside-note')).toContain('convForward, then spatialBatchnormForward (test mode), then reluForward');
    expect(await page.locator('#grid .cell').count()).toBe(100);
    const argmax = (r: number) => s.grid.scores.slice(10 * r, 10 * r + 10).reduce((b, v, c, a) => (v > a[b] ? c : b), 0);
    expect(s.grid.predicted).toEqual(s.grid.predicted.map((_, r) => argmax(r)));
    const wrong = s.grid.predicted.flatMap((p, r) => (p !== s.grid.labels[r] ? [r] : []));
    expect(s.grid.wrong).toBe(wrong.length);
    expect(await page.locator('#grid .cell.wrong').evaluateAll((cells) => cells.map((c) => Number((c as HTMLElement).dataset.index)))).toEqual(wrong);
    expect(await page.textContent('#grid .cell:first-child span')).toBe(String(s.grid.predicted[0]) + (wrong.includes(0) ? `→${s.grid.labels[0]}` : ''));
    expect(w.problems, 'console errors and warnings, uncaught errors, off-server requests').toEqual([]);
  });

  it('a digit drawn with the mouse: a centred 28x28 input in [0, 1] and 10 probabilities that sum to 1', async () => {
    await drawOne(page);
    await page.waitForFunction(() => (window as unknown as { trainPage: PageState }).trainPage.drawn !== null);
    await page.waitForTimeout(100); // the last stroke segment is drawn at the next frame
    const { drawn } = await pageState(page);
    const d = drawn!;
    expect(d.input).toHaveLength(28 * 28);
    expect(d.input.every((v) => v >= 0 && v <= 1)).toBe(true);
    // As MNIST: the ink fits a 20x20 box (one side exactly 20) and its centre of mass is within half a pixel of the centre.
    const rows = [], cols = [];
    let mass = 0, mx = 0, my = 0;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const v = d.input[y * 28 + x];
        if (v > 0) { rows.push(y); cols.push(x); }
        mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
      }
    }
    const h = Math.max(...rows) - Math.min(...rows) + 1, wd = Math.max(...cols) - Math.min(...cols) + 1;
    expect(Math.max(h, wd)).toBe(20);
    expect(h).toBeGreaterThan(wd);
    expect(Math.abs(mx / mass - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(my / mass - 14)).toBeLessThanOrEqual(0.5);

    expect(d.probs).toHaveLength(10);
    expect(d.probs.every((p) => p >= 0 && p <= 1)).toBe(true);
    expect(Math.abs(d.probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
    const max = Math.max(...d.scores);
    const e = d.scores.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    d.probs.forEach((p, c) => expect(p).toBeCloseTo(e[c] / sum, 14));
    expect(d.predicted).toBe(d.probs.indexOf(Math.max(...d.probs)));
    expect(d.predicted, 'a drawn 1 is read as 1').toBe(1);
    expect(await page.textContent('#predicted')).toBe(String(d.predicted));
    expect(await page.locator('#probs [data-prob]').allTextContents()).toEqual(d.probs.map((p) => `${(100 * p).toFixed(1)}%`));
    expect(w.problems).toEqual([]);
  });

  it('the downloaded model loads back into a fresh page with the same predictions, and scores over 90% in Node too', async () => {
    const before = await pageState(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = join(tmp, download.suggestedFilename());
    await download.saveAs(file);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json.type).toBe('Sequential');
    expect(json.layers).toEqual(specsOf(TRAINED.text));
    expect(json.options).toMatchObject({ inputShape: [1, 28, 28], loss: 'softmax' });

    // The same model in Node, on the digits of examples/digits.js (the page's are those, as bytes).
    const model = Sequential.fromJSON(json);
    const { val } = loadDigits();
    const scores = model.loss(val.X);
    model.dispose();
    let right = 0;
    for (let r = 0; r < val.y.length; r++) {
      const row = Array.from(scores.data.subarray(10 * r, 10 * r + 10));
      if (row.indexOf(Math.max(...row)) === val.y[r]) right++;
    }
    console.log(`train page: the downloaded model in Node: validation ${(100 * right / val.y.length).toFixed(1)}%`);
    expect(right / val.y.length, 'validation accuracy of the downloaded model in Node').toBeGreaterThan(0.9);
    expect(Math.abs(right / val.y.length - before.checks.at(-1)!.valAcc), 'Node against the page').toBeLessThan(0.01);

    // The same model as a float32 ONNX file, from the page's Download .onnx: onnxruntime-web
    // gives the scores of the downloaded JSON's model in Node, to 1e-5.
    const [onnxDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-onnx')]);
    const onnxFile = join(tmp, onnxDownload.suggestedFilename());
    await onnxDownload.saveAs(onnxFile);
    expect(onnxDownload.suggestedFilename()).toBe('convcore-digits-model.onnx');
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(onnxFile)));
    const rows = 50;
    const X = { data: val.X.data.subarray(0, rows * 784), shape: [rows, 1, 28, 28] };
    const { scores: onnxScores } = await session.run({ x: new ort.Tensor('float32', Float32Array.from(X.data), X.shape) });
    const check = Sequential.fromJSON(json);
    const want = (check.loss(X) as { data: Float64Array }).data;
    check.dispose();
    expect(maxNormRelError(Float64Array.from(onnxScores.data as Float32Array), want), 'onnxruntime against convcore').toBeLessThan(1e-5);

    // A fresh page starts from new weights; after loading the file it predicts exactly as the trained page did.
    await page.goto(`${demo.url}/train.html${QUERY}`);
    await waitForState(page, ['ready', 'error']);
    const fresh = await pageState(page);
    expect(fresh.grid.scores).not.toEqual(before.grid.scores);
    await page.setInputFiles('#load', file);
    await waitForState(page, ['loaded', 'error']);
    const loaded = await pageState(page);
    expect(loaded.error).toBeNull();
    expect(loaded.grid.scores).toEqual(before.grid.scores);
    expect(loaded.testAccuracy).toBe(before.testAccuracy);
    // The box shows the loaded network's layers (formatNet), which Start trains further.
    const text = await page.inputValue('#net');
    expect(specsOf(text)).toEqual(json.layers);
    expect(loaded.net).toMatchObject({ state: 'built', built: text, error: null });
    expect(w.problems).toEqual([]);
  });

  it("a definition that does not fit shows the library's error next to the box, one that cannot be read the parser's with its position; the model in use stays", async () => {
    const before = await pageState(page);
    expect(before.state).toBe('loaded');
    const errorText = () => page.locator('#net-error').textContent();

    // A 40x40 max pool after a 3x3 conv of the 28x28 digits: new Sequential's message, word for word.
    const tooBig = 'conv(8, 3), relu(), maxPool(40), affine(10)';
    const message = constructionError(tooBig);
    expect(message).toBe('Sequential: layer 2 (maxPool): a 40x40 window does not fit an input of 26x26');
    await page.fill('#net', tooBig);
    expect(await page.inputValue('#net-preset'), 'an edited box is no preset').toBe('');
    await page.click('#build');
    expect(await waitForNet(page)).toBe('error');
    expect(await errorText()).toBe(message);
    expect(await page.locator('#net-error').isVisible()).toBe(true);
    expect(await page.getAttribute('#net', 'aria-invalid')).toBe('true');
    let s = await pageState(page);
    expect(s.net).toMatchObject({ state: 'error', error: message, built: before.net.built, pending: null });
    expect(s.error, 'the status line keeps no error').toBeNull();

    // Start with that text builds first, so it shows the error again and does not train.
    await page.click('#start');
    expect(await waitForNet(page)).toBe('error');
    expect(await errorText()).toBe(message);
    await page.waitForTimeout(300);
    s = await pageState(page);
    expect(s.state, 'nothing was trained').toBe('loaded');
    expect(s.losses).toEqual([]);
    expect(s.grid.scores, 'the loaded model still predicts').toEqual(before.grid.scores);

    // A definition that cannot be read: the parser's message with the line and a caret under the position; nothing runs.
    const code = 'relu(); globalThis.x = 1';
    await page.fill('#net', code);
    await page.click('#build');
    expect(await waitForNet(page)).toBe('error');
    expect(await errorText()).toBe(`line 1, column 7: unexpected ";": a definition holds only layer calls, numbers, true, false, arrays and { key: value } options\n${code}\n      ^`);
    expect(await page.evaluate(() => (globalThis as unknown as { x?: number }).x)).toBeUndefined();
    expect((await pageState(page)).net.error).toMatch(/^line 1, column 7: unexpected ";"/);

    // A preset again: built, the error gone, the new network in use.
    await page.selectOption('#net-preset', 'convnetjs');
    expect(await waitForNet(page)).toBe('built');
    const convnetjs = PRESETS.find((p) => p.id === 'convnetjs')!;
    s = await pageState(page);
    expect(s.net).toEqual({ state: 'built', built: convnetjs.text, pending: null, error: null, summary: summaryOf(convnetjs.text) });
    expect(s.state).toBe('ready');
    expect(await page.locator('#net-error').isHidden()).toBe(true);
    expect(await page.getAttribute('#net', 'aria-invalid')).toBeNull();
    expect(s.grid.scores).not.toEqual(before.grid.scores);
    expect(w.problems).toEqual([]);
  });
});
