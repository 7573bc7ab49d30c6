/**
 * What the browser tests share (test/browser.test.ts, test/train-page.test.ts): finding and
 * launching Chromium or Chrome (driven by playwright-core), making sure dist/ is built from
 * the current src/, and pages that record their console problems and every request that
 * leaves the test server.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { root, buildBrowser } from '../scripts/build-browser.mjs';

const run = promisify(execFile);

/** Where a Chromium or Chrome is looked for when CONVCORE_CHROMIUM (or CHROME_PATH) is not set. */
const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable',
  '/Applications/Chromium.app/Contents/MacOS/Chromium', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'];

/**
 * The browser the tests drive: the executable CONVCORE_CHROMIUM names (or CHROME_PATH), else
 * the first of CHROMIUM_PATHS that exists. Without one, an error says what is needed.
 */
export function findChromium(): string {
  for (const name of ['CONVCORE_CHROMIUM', 'CHROME_PATH']) {
    const given = process.env[name];
    if (!given) continue;
    if (!existsSync(given)) throw new Error(`${name}=${given}: no such file; point it to a Chromium or Chrome executable`);
    return given;
  }
  const found = CHROMIUM_PATHS.find((p) => existsSync(p));
  if (found) return found;
  throw new Error(`the browser tests need Chromium or Chrome, and found none at ${CHROMIUM_PATHS.join(', ')}: `
    + 'install one (Debian: apt-get install -y chromium; .ci/run installs it) or set CONVCORE_CHROMIUM=/path/to/chrome');
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Launches the browser findChromium() finds, with CHROMIUM_ARGS. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
}

/** The browser files of dist/ that are missing or older than src/ or build/convcore.wasm. */
function staleBuild(): string[] {
  const newest = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
  }, 0);
  const wasm = join(root, 'build', 'convcore.wasm');
  if (!existsSync(wasm)) throw new Error('build/convcore.wasm is missing: run `npm run build` before the browser tests');
  const sources = Math.max(newest(join(root, 'src')), statSync(wasm).mtimeMs);
  return ['dist/browser.js', 'dist/convcore.browser.js', 'dist/convcore.wasm', 'dist/reference/index.js']
    .filter((f) => !existsSync(join(root, f)) || statSync(join(root, f)).mtimeMs < sources);
}

/**
 * The pages load dist/ as built. After `npm ci` it is current; when src/ has been edited
 * since, the browser part of the build (tsc, then scripts/build-browser.mjs) is redone
 * here, so the test never passes on stale files.
 */
export async function ensureBuilt(): Promise<void> {
  const stale = staleBuild();
  if (stale.length === 0) return;
  console.log(`browser test: ${stale.join(', ')} older than src/ or build/convcore.wasm; running tsc and scripts/build-browser.mjs`);
  await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: root }).catch((e) => {
    throw new Error(`tsc failed; fix src/ or run \`npm run build\`:\n${e.stdout}${e.stderr}`);
  });
  await buildBrowser();
  const still = staleBuild();
  if (still.length) throw new Error(`${still.join(', ')} still older than src/ after rebuilding`);
}

export interface Watched { page: Page; requests: string[]; problems: string[] }

/**
 * A new page that records every response ('200 /path') and every console error or warning
 * (its workers' included), uncaught error and request that leaves `origin` (the tests must
 * not use the network; data: URLs and the page's own blob: URLs stay in the page).
 * Console messages matching `allowed` are expected ones (the 404 of a test that wants it).
 */
export async function watchedPage(browser: Browser, origin: string, allowed: RegExp[] = []): Promise<Watched> {
  const page = await browser.newPage();
  const w: Watched = { page, requests: [], problems: [] };
  page.on('console', (m) => {
    if ((m.type() === 'error' || m.type() === 'warning') && !allowed.some((re) => re.test(m.text()))) w.problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => w.problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith(`blob:${origin}/`)) w.problems.push(`a request off the test server: ${url}`);
  });
  page.on('response', (r) => {
    if (r.url().startsWith(origin)) w.requests.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
  page.on('requestfailed', (r) => w.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return w;
}
