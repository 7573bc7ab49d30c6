#!/usr/bin/env node
// Takes docs/demo.png: starts the demo server, opens the page in headless Chromium
// (/usr/bin/chromium, driven by playwright-core), runs one timing preset and saves a
// full-page screenshot. Fails if the page logs an error.
// Usage: node scripts/demo-screenshot.mjs [--layer conv] [--preset 1] [--out docs/demo.png]
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

const out = resolve(arg('out', join(root, 'docs', 'demo.png')));
const layer = arg('layer', 'conv');
const preset = arg('preset', '1');

const server = await startDemo();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 1180, height: 900 }, deviceScaleFactor: 1 });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.body.dataset.state === 'ready');
  await page.selectOption('#layer', layer);
  await page.selectOption('#preset', preset);
  await page.click('#run');
  await page.waitForFunction(() => document.body.dataset.state !== 'running' && window.demo.lastRun, null, { timeout: 60_000 });
  const run = await page.evaluate(() => window.demo.lastRun);
  if (problems.length) throw new Error(`the demo page logged:\n${problems.join('\n')}`);
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`${out}: ${run.layer}, ${run.preset}; wasm ${run.time.wasm.total.toFixed(1)} ms, reference ${run.time.ref.total.toFixed(1)} ms, max rel err ${run.err.toExponential(1)}`);
} finally {
  await browser.close();
  await server.close();
}
