#!/usr/bin/env node
// Takes docs/demo.png: starts the demo server, opens the page in headless Chromium
// (/usr/bin/chromium, driven by playwright-core), runs one timing preset and saves a
// full-page screenshot. Fails if the page logs an error.
// With --page train it takes docs/train.png instead: the training page after a run with its
// default settings (or --query '?epochs=1…'), with a digit drawn on its pad.
// Usage: node scripts/demo-screenshot.mjs [--layer conv] [--preset 1] [--out docs/demo.png]
//        node scripts/demo-screenshot.mjs --page train [--query '?epochs=2'] [--out docs/train.png]
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { root } from './build-browser.mjs';
import { startDemo } from './demo.mjs';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const which = arg('page', 'demo');
if (!['demo', 'train'].includes(which)) throw new Error(`--page must be demo or train, got ${which}`);
const out = resolve(arg('out', join(root, 'docs', `${which}.png`)));
const layer = arg('layer', 'conv');
const preset = arg('preset', '1');

/** Strokes through the given points (fractions of the pad), one list per stroke, with the mouse. */
async function strokes(page, lines) {
  const pad = page.locator('#pad');
  await pad.scrollIntoViewIfNeeded();
  const box = await pad.boundingBox();
  const at = ([u, v]) => [box.x + u * box.width, box.y + v * box.height];
  for (const line of lines) {
    await page.mouse.move(...at(line[0]));
    await page.mouse.down();
    for (const p of line.slice(1)) await page.mouse.move(...at(p), { steps: 12 });
    await page.mouse.up();
  }
}

/** The training page after a run, with a 7 drawn on the pad; returns a line for the log. */
async function trainShot(page, url) {
  await page.goto(`${url}/train.html${arg('query', '')}`);
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
  const t0 = performance.now();
  await page.click('#start');
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: 600_000 });
  const seconds = (performance.now() - t0) / 1000;
  await strokes(page, [[[0.24, 0.22], [0.74, 0.2], [0.48, 0.84]], [[0.36, 0.52], [0.7, 0.5]]]);
  await page.waitForFunction(() => window.trainPage.drawn !== null);
  await page.waitForTimeout(200);
  await page.evaluate(() => window.scrollTo(0, 0));
  const s = await page.evaluate(() => ({ error: window.trainPage.error, status: document.getElementById('status').textContent, drawn: window.trainPage.drawn?.predicted }));
  if (s.error) throw new Error(`the training page failed: ${s.error}`);
  return `${s.status} (${seconds.toFixed(1)} s in the browser; the drawn digit read as ${s.drawn})`;
}

/** The demo page after one timing run; returns a line for the log. */
async function demoShot(page, url) {
  await page.goto(`${url}/`);
  await page.waitForFunction(() => document.body.dataset.state === 'ready');
  await page.selectOption('#layer', layer);
  await page.selectOption('#preset', preset);
  await page.click('#run');
  await page.waitForFunction(() => document.body.dataset.state !== 'running' && window.demo.lastRun, null, { timeout: 60_000 });
  const run = await page.evaluate(() => window.demo.lastRun);
  return `${run.layer}, ${run.preset}; wasm ${run.time.wasm.total.toFixed(1)} ms, reference ${run.time.ref.total.toFixed(1)} ms, max rel err ${run.err.toExponential(1)}`;
}

const server = await startDemo();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 1180, height: 900 }, deviceScaleFactor: 1 });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  const line = which === 'train' ? await trainShot(page, server.url) : await demoShot(page, server.url);
  if (problems.length) throw new Error(`the ${which} page logged:\n${problems.join('\n')}`);
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`${out}: ${line}`);
} finally {
  await browser.close();
  await server.close();
}
