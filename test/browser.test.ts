/**
 * convcore in a real browser: headless Chromium or Chrome (CONVCORE_CHROMIUM, else /usr/bin/chromium
 * or another usual place: see findChromium in test/chromium.ts; driven by playwright-core)
 * against pages served by a static server on 127.0.0.1 that this file starts and stops.
 * Each page runs test/browser-suite.ts: every op against the reference loops on random
 * shapes, centered gradient checks and two bad inputs; the assertions are here. Loading cases:
 * the inlined bundle; the regular entry with the .wasm beside it; init({ wasm }) with a URL
 * elsewhere (after a 404), with bytes and with a WebAssembly.Module; a Vite app that depends
 * on the packed package; and the demo page. No network: everything is served locally.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { root, buildSupportBundles } from '../scripts/build-browser.mjs';
import { startServer, CROSS_ORIGIN_ISOLATION } from '../scripts/static-server.mjs';
import { startDemo } from '../scripts/demo.mjs';
import type { PageReport } from './browser-suite.js';
import { ensureBuilt, launchChromium, watchedPage } from './chromium.js';

const run = promisify(execFile);

const TOL = 1e-10;
const GRAD_TOL = 1e-7;
const OPS = [
  'convForward+convBackward', 'maxPoolForward+maxPoolBackward', 'avgPoolForward+avgPoolBackward',
  'batchnormForward+Backward', 'spatialBatchnormForward+Backward', 'reluForward+reluBackward',
  'affineForward+affineBackward', 'softmaxLoss', 'transpose', 'tensor',
  'convForward+convBackward depthwise', 'svmLoss',
];
const FIXTURE = join(root, 'test', 'fixtures', 'vite-app');

interface Server { url: string; requests: { method: string; path: string; status: number }[]; close(): Promise<void> }

let browser: Browser;
let server: Server;
/** The same files, served with the cross-origin isolation headers. */
let isolatedServer: Server;
let tmp: string;

/**
 * A page that runs the suite after init({ threads: 2 }), then one conv forward and backward
 * large enough to be split (2·8·8·32·32·16·3·3 multiply-adds, above the cut-over), on 2
 * threads and again on 1: it reports the thread counts and whether the bits agree.
 */
function threadsPage(): { body: string } {
  return {
    body: `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>threads</title></head>
<body><script type="module">
import * as cc from '/dist/convcore.browser.js';
import * as ref from '/support/reference.js';
import * as grad from '/support/gradcheck.js';
import { runPage } from '/support/suite.js';
window.__done = (async () => {
  const report = await runPage(cc, ref, grad, [{ threads: 2 }]);
  const threads = cc.threadCount();
  const t = (shape, k) => cc.tensor(Float64Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(k * i + 1)), shape);
  const x = t([8, 8, 32, 32], 0.7), w = t([16, 8, 3, 3], 1.3), b = t([16], 2.1);
  const run = () => {
    const f = cc.convForward(x, w, b, { pad: 1 });
    const g = cc.convBackward(t(f.out.shape, 0.3), f.cache);
    return [f.out.data, g.dx.data, g.dw.data, g.db.data];
  };
  const pool = run();
  await cc.init({ threads: 1 });
  const one = run();
  const same = pool.every((a, i) => a.length === one[i].length && a.every((v, j) => Object.is(v, one[i][j])));
  const after = cc.threadCount();
  await cc.init({ threads: 'auto' });
  const auto = cc.threadCount();
  return { ...report, threads: { isolated: crossOriginIsolated, threads, after, same, auto, cores: navigator.hardwareConcurrency } };
})();
</script></body></html>`,
  };
}

/** An HTML page whose module imports `entry` and runs the suite with the given init sources (JS source text). */
function suitePage(entry: string, sources: string, importMap = false): { body: string } {
  const map = importMap
    ? `<script type="importmap">{"imports":{"@assemblyscript/loader":"/node_modules/@assemblyscript/loader/index.js"}}</script>`
    : '';
  return {
    body: `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${entry}</title>${map}</head>
<body><script type="module">
import * as cc from '${entry}';
import * as ref from '/support/reference.js';
import * as grad from '/support/gradcheck.js';
import { runPage } from '/support/suite.js';
window.__done = (async () => runPage(cc, ref, grad, ${sources}))();
</script></body></html>`,
  };
}

interface ThreadsReport { isolated: boolean; threads: number; after: number; same: boolean; auto: number; cores: number }
interface Visit { report: PageReport & { threads?: ThreadsReport }; requests: string[]; console: string[] }

/** Opens a suite page and returns its report, the files it fetched and its console problems. */
async function visit(url: string, allowed: RegExp[] = []): Promise<Visit> {
  const origin = new URL(url).origin;
  const w = await watchedPage(browser, origin, allowed);
  try {
    await w.page.goto(url);
    await w.page.waitForFunction(() => (window as unknown as { __done?: unknown }).__done !== undefined, null, { timeout: 20_000 });
    const report = await w.page.evaluate(() => (window as unknown as { __done: Promise<PageReport> }).__done);
    if (process.env.CONVCORE_BROWSER_VERBOSE) console.log(url, `${report.ms.toFixed(0)} ms in the page`, w.requests);
    return { report, requests: w.requests, console: w.problems };
  } catch (e) {
    throw new Error(`${url}: ${(e as Error).message}\nconsole: ${w.problems.join('\n') || '(nothing)'}\nrequests: ${w.requests.join(', ')}`);
  } finally {
    await w.page.close();
  }
}

/** Every op agrees with the reference, every gradient checks, bad inputs throw clear errors. */
function expectSuitePassed(v: Visit): void {
  const r = v.report;
  expect(v.console, 'console errors and warnings').toEqual([]);
  expect(r.attempts.at(-1), 'the last init attempt').toMatchObject({ ok: true });
  expect(r.beforeInit, 'an op before init()').toMatch(/call `await init\(\)` before the first op/);

  expect(new Set(r.cases.map((c) => c.op)), 'ops covered').toEqual(new Set(OPS));
  expect(r.cases.length).toBeGreaterThanOrEqual(50);
  const bad = r.cases.filter((c) => !(c.err <= TOL));
  expect(bad, 'cases whose max-norm relative error exceeds 1e-10').toEqual([]);
  expect(r.cases.filter((c) => c.mutated), 'cases that mutated an input').toEqual([]);

  expect(r.gradchecks.map((g) => g.name)).toEqual([
    'convBackward dx', 'convBackward dw', 'convBackward db', 'maxPoolBackward dx',
    'spatialBatchnormBackward dx', 'spatialBatchnormBackward dgamma', 'spatialBatchnormBackward dbeta',
  ]);
  for (const g of r.gradchecks) expect(g.err, `gradient check ${g.name}`).toBeLessThan(GRAD_TOL);

  expect(r.errors).toEqual([
    { name: 'conv channels', errorName: 'ConvcoreError', isConvcoreError: true, message: 'convForward: w has 3 channels but x has 4' },
    { name: 'pool window', errorName: 'ConvcoreError', isConvcoreError: true, message: 'maxPoolForward: a 3x3 window with stride 2 does not fit an input of 2x2' },
  ]);
  expect(r.afterErrors, 'ops after the errors').toBeLessThanOrEqual(TOL);
}

const wasmRequests = (v: Visit): string[] => v.requests.filter((r) => r.endsWith('.wasm'));

beforeAll(async () => {
  await ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'convcore-browser-'));
  await buildSupportBundles(join(tmp, 'support'), { suite: join(root, 'test', 'browser-suite.ts') });
  server = await startServer({
    mounts: {
      '/dist/': join(root, 'dist'),
      '/node_modules/@assemblyscript/loader/': join(root, 'node_modules', '@assemblyscript', 'loader'),
      '/support/': join(tmp, 'support'),
      '/elsewhere/': join(root, 'build'), // build/convcore.wasm, at a path no entry knows
      '/vite/': join(tmp, 'vite'),
    },
    pages: {
      '/inline.html': suitePage('/dist/convcore.browser.js', '[undefined]'),
      '/regular.html': suitePage('/dist/browser.js', '[undefined]', true),
      '/url.html': suitePage('/dist/browser.js', "[{ wasm: '/missing/convcore.wasm' }, { wasm: new URL('/elsewhere/convcore.wasm', location.href) }]", true),
      '/bytes.html': suitePage('/dist/browser.js', "[{ wasm: new Uint8Array(await (await fetch('/elsewhere/convcore.wasm')).arrayBuffer()) }]", true),
      '/module.html': suitePage('/dist/browser.js', "[await WebAssembly.compileStreaming(fetch('/elsewhere/convcore.wasm'))]", true),
      '/threads.html': threadsPage(),
    },
  });
  isolatedServer = await startServer({
    headers: CROSS_ORIGIN_ISOLATION,
    mounts: { '/dist/': join(root, 'dist'), '/support/': join(tmp, 'support') },
    pages: { '/threads.html': threadsPage() },
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await isolatedServer?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/**
 * Installs the package into the Vite fixture as `npm install` of its tarball would: the files
 * `npm pack` lists (the package.json `files`), copied into node_modules/convcore; no scripts,
 * no network. @assemblyscript/loader resolves from the repository's node_modules above.
 */
async function installPackedPackage(): Promise<void> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
  const files: string[] = JSON.parse(stdout)[0].files.map((f: { path: string }) => f.path);
  expect(files).toEqual(expect.arrayContaining(['package.json', 'dist/browser.js', 'dist/convcore.wasm', 'dist/convcore.relaxed.wasm', 'dist/convcore.browser.js']));
  expect(files.filter((f) => f.endsWith('.wasm')).sort(), 'the two builds in the package').toEqual(['dist/convcore.relaxed.wasm', 'dist/convcore.wasm']);
  const pkg = join(FIXTURE, 'node_modules', 'convcore');
  rmSync(pkg, { recursive: true, force: true });
  for (const f of files) {
    mkdirSync(dirname(join(pkg, f)), { recursive: true });
    cpSync(join(root, f), join(pkg, f));
  }
}

describe('convcore in headless Chromium', () => {
  it('inlined bundle dist/convcore.browser.js: await init() with no configuration', async () => {
    const v = await visit(`${server.url}/inline.html`);
    expectSuitePassed(v);
    expect(v.report.attempts).toMatchObject([{ source: '(default)', ok: true }]);
    expect(wasmRequests(v), 'the inlined bundle fetches no .wasm').toEqual([]);
    expect(v.report.simd, 'Chromium runs relaxed SIMD: the relaxed build is picked').toBe('relaxed');
    expect(v.requests.filter((r) => r.includes('/dist/')), 'one file from dist/').toEqual(['200 /dist/convcore.browser.js']);
    expect(readFileSync(join(root, 'dist', 'convcore.browser.js'), 'utf8'), 'a self-contained module').not.toMatch(/\bimport\s*[{*"']|\bimport\(/);
  });

  it('regular entry dist/browser.js: loads the relaxed build, dist/convcore.relaxed.wasm, beside it through import.meta.url', async () => {
    const v = await visit(`${server.url}/regular.html`);
    expectSuitePassed(v);
    expect(v.report.simd).toBe('relaxed');
    expect(wasmRequests(v)).toEqual(['200 /dist/convcore.relaxed.wasm']);
  });

  it('init({ wasm: url }) at another path; a 404 first throws an error naming the URL and the status', async () => {
    const v = await visit(`${server.url}/url.html`, [/Failed to load resource: the server responded with a status of 404/]);
    expectSuitePassed(v);
    const [missing, found] = v.report.attempts;
    expect(missing.ok).toBe(false);
    expect(missing.message).toContain('init: could not fetch the WebAssembly module at /missing/convcore.wasm');
    expect(missing.message).toContain(`${server.url}/missing/convcore.wasm`);
    expect(missing.message).toMatch(/HTTP 404\b/);
    expect(found).toMatchObject({ ok: true, source: `${server.url}/elsewhere/convcore.wasm` });
    expect(wasmRequests(v), 'the default .wasm is never fetched').toEqual(['404 /missing/convcore.wasm', '200 /elsewhere/convcore.wasm']);
  });

  it('init({ wasm: bytes })', async () => {
    const v = await visit(`${server.url}/bytes.html`);
    expectSuitePassed(v);
    expect(v.report.attempts).toMatchObject([{ source: 'bytes', ok: true }]);
    expect(wasmRequests(v)).toEqual(['200 /elsewhere/convcore.wasm']);
  });

  it('init(WebAssembly.Module)', async () => {
    const v = await visit(`${server.url}/module.html`);
    expectSuitePassed(v);
    expect(v.report.attempts).toMatchObject([{ source: 'WebAssembly.Module', ok: true }]);
    expect(wasmRequests(v)).toEqual(['200 /elsewhere/convcore.wasm']);
  });

  it('threads: a cross-origin isolated page runs the suite on 2 threads, and a split op equals 1 thread bit for bit', async () => {
    const v = await visit(`${isolatedServer.url}/threads.html`);
    expectSuitePassed(v);
    expect(v.report.attempts).toMatchObject([{ source: 'object', ok: true }]);
    const t = v.report.threads!;
    expect(t).toEqual({ isolated: true, threads: 2, after: 1, same: true, auto: Math.min(64, t.cores), cores: t.cores });
  });

  it('threads: a page that is not cross-origin isolated runs on one thread and says why once (threads: 2), and not for "auto"', async () => {
    const warning = /^convcore: init\(\{ threads: 2 \}\) runs on one thread: this page is not cross-origin isolated, .*"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp"\.$/;
    const w = await watchedPage(browser, server.url);
    const warnings: string[] = [];
    w.page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
    try {
      await w.page.goto(`${server.url}/threads.html`);
      await w.page.waitForFunction(() => (window as unknown as { __done?: unknown }).__done !== undefined, null, { timeout: 20_000 });
      const report = await w.page.evaluate(() => (window as unknown as { __done: Promise<PageReport & { threads: ThreadsReport }> }).__done);
      // 'auto' falls back silently: the one warning is threads: 2's.
      expect(report.threads).toEqual({ isolated: false, threads: 1, after: 1, same: true, auto: 1, cores: report.threads.cores });
      expect(report.cases.filter((c) => !(c.err <= TOL))).toEqual([]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(warning);
      expect(w.problems.filter((p) => !warning.test(p.replace(/^warning: /, '')))).toEqual([]);
    } finally {
      await w.page.close();
    }
  });

  describe('a Vite app that depends on the packed package (test/fixtures/vite-app)', () => {
    beforeAll(installPackedPackage);

    it('vite build: both builds become assets, and the app loads the relaxed one and passes the suite', async () => {
      const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
      const out = join(tmp, 'vite');
      await run(process.execPath, [vite, 'build', FIXTURE, '--outDir', out], { cwd: FIXTURE }).catch((e) => {
        throw new Error(`vite build failed:\n${e.stdout}\n${e.stderr}`);
      });
      const wasm = readdirSync(join(out, 'assets')).filter((f) => f.endsWith('.wasm'));
      expect(wasm, 'Vite emitted each build as an asset').toHaveLength(2);
      const relaxed = wasm.filter((f) => f.startsWith('convcore.relaxed-'));
      expect(relaxed).toHaveLength(1);
      const v = await visit(`${server.url}/vite/index.html`);
      expectSuitePassed(v);
      expect(v.report.simd).toBe('relaxed');
      expect(wasmRequests(v)).toEqual([`200 /vite/assets/${relaxed[0]}`]);
    });

    it('vite dev server: the same app passes the suite', async () => {
      const { createServer } = await import('vite');
      const dev = await createServer({
        root: FIXTURE, configFile: join(FIXTURE, 'vite.config.js'), logLevel: 'error',
        cacheDir: join(tmp, 'vite-cache'), server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
      });
      try {
        await dev.listen();
        const url = dev.resolvedUrls?.local[0];
        if (!url) throw new Error('the Vite dev server has no local URL');
        const v = await visit(url);
        expectSuitePassed(v);
        expect(wasmRequests(v)).toEqual(['200 /node_modules/convcore/dist/convcore.relaxed.wasm']);
      } finally {
        await dev.close();
      }
    });
  });

  it('the demo page draws the maps and runs each layer with no console errors', async () => {
    const demo = await startDemo({ port: 0, supportDir: join(tmp, 'demo-support') });
    const w = await watchedPage(browser, demo.url);
    const page = w.page;
    try {
      await page.goto(`${demo.url}/?quick`);
      await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 20_000 });
      expect(await page.locator('#maps .card').count(), 'one card per filter').toBe(8);
      expect(await page.locator('#maps canvas').count(), 'an activation and a pooled map per filter').toBe(16);
      for (const layer of ['conv', 'maxpool', 'spatialbn']) {
        await page.selectOption('#layer', layer);
        await page.selectOption('#preset', '0');
        await page.click('#run');
        await page.waitForFunction((l) => {
          const d = (window as unknown as { demo: { lastRun: { layer: string } | null } }).demo;
          return document.body.dataset.state !== 'running' && d.lastRun?.layer === l;
        }, layer, { timeout: 30_000 });
        expect(await page.evaluate(() => document.body.dataset.state)).toBe('ready');
        const last = await page.evaluate(() => (window as unknown as { demo: { lastRun: { err: number; time: { wasm: { total: number }; ref: { total: number } } } } }).demo.lastRun);
        expect(last.err, `${layer}: Wasm against reference`).toBeLessThanOrEqual(TOL);
        expect(last.time.wasm.total).toBeGreaterThan(0);
        expect(last.time.ref.total).toBeGreaterThan(0);
        expect(await page.textContent('[data-cell="x-total"]')).toMatch(/^\d+(\.\d)?×$/);
      }
      await page.click('#reroll');
      expect(await page.locator('#maps canvas').count()).toBe(16);
      expect(w.problems, 'demo console errors, warnings and off-server requests').toEqual([]);
    } finally {
      await page.close();
      await demo.close();
    }
  });
});
