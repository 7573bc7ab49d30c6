/**
 * The package as npm publishes it. The files `npm pack` lists (no scripts run) are installed
 * into a temporary app's node_modules/convcore, as `npm install` of the tarball would, and a
 * Node process imports every exported subpath from there. Also: the lockfile agrees with
 * package.json (so `npm install` leaves it alone), the license and the engines are declared,
 * and .gitignore ignores tarballs and no tracked file. Needs `npm run build` (dist/) first,
 * as `npm test` does.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { root } from '../scripts/build-browser.mjs';

const run = promisify(execFile);

interface Pkg {
  name: string;
  license?: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
}

const pkg: Pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
let files: string[] = [];
let app: string;

/** The newest modification time of the .ts files under dir. */
function newestTs(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newestTs(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
  }, 0);
}

/** Fails unless dist/ is built and newer than src/ and build/convcore.wasm: the test reads dist/ as it is. */
function checkBuilt(): void {
  const built = ['dist/index.js', 'dist/convcore.browser.js', 'dist/convcore.wasm'].map((f) => join(root, f));
  const missing = built.filter((f) => !existsSync(f));
  if (missing.length) throw new Error(`${missing.join(', ')} missing: run \`npm run build\` first (npm test does)`);
  const sources = Math.max(newestTs(join(root, 'src')), statSync(join(root, 'build', 'convcore.wasm')).mtimeMs);
  const stale = built.filter((f) => statSync(f).mtimeMs < sources);
  if (stale.length) throw new Error(`${stale.join(', ')} older than src/ or build/convcore.wasm: run \`npm run build\` first (npm test does)`);
}

beforeAll(async () => {
  checkBuilt();
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
  files = JSON.parse(stdout)[0].files.map((f: { path: string }) => f.path);
  // Inside the repository's node_modules, so that the dependency (@assemblyscript/loader)
  // resolves from there, as it would from the app's own node_modules.
  app = mkdtempSync(join(root, 'node_modules', '.convcore-packed-'));
  const dest = join(app, 'node_modules', 'convcore');
  for (const f of files) {
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    cpSync(join(root, f), join(dest, f));
  }
});

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

/** Every file an `exports` entry points to. */
function exportTargets(): string[] {
  return Object.values(pkg.exports).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v))).map((p) => p.replace(/^\.\//, ''));
}

describe('the packed package', () => {
  it('ships the two builds, the license, and every file its exports name', () => {
    expect(files.filter((f) => f.endsWith('.wasm')).sort()).toEqual(['dist/convcore.relaxed.wasm', 'dist/convcore.wasm']);
    expect(files).toContain('LICENSE');
    for (const t of exportTargets()) expect(files, t).toContain(t);
    expect(files.some((f) => f.startsWith('build/') || f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
  });

  it('exports the inlined bundle and package.json as subpaths', () => {
    expect(pkg.exports['./inline']).toEqual({ types: './dist/convcore.browser.d.ts', default: './dist/convcore.browser.js' });
    expect(pkg.exports['./package.json']).toBe('./package.json');
  });

  it('works in Node from node_modules: the main entry, convcore/inline, reference, gradcheck, package.json', async () => {
    const script = `
      import { createRequire } from 'node:module';
      const cc = await import('convcore');
      const inline = await import('convcore/inline');
      const ref = await import('convcore/reference');
      const { relError } = await import('convcore/gradcheck');
      const meta = createRequire(import.meta.url)('convcore/package.json');
      const x = cc.tensor([1, -2, 3, -4, 5, -6, 7, -8, 9], [1, 1, 3, 3]);
      const w = cc.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
      const b = cc.tensor([0.5], [1]);
      const a = cc.convForward(x, w, b).out;
      await inline.init();
      const i = inline.convForward(x, w, b).out;
      const r = ref.convForward(x, w, b).out;
      console.log(JSON.stringify({ name: meta.name, wasm: relError(a, r), inline: relError(i, r), shape: a.shape }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
    const got = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(got.name).toBe('convcore');
    expect(got.shape).toEqual([1, 1, 2, 2]);
    expect(got.wasm).toBeLessThanOrEqual(1e-12);
    expect(got.inline).toBeLessThanOrEqual(1e-12);
  });

  it('bundles with esbuild through convcore/inline into one file that runs with no .wasm beside it', async () => {
    const entry = join(app, 'entry.js');
    writeFileSync(entry, [
      "import { init, tensor, reluForward } from 'convcore/inline';",
      'await init();',
      "console.log(JSON.stringify(Array.from(reluForward(tensor([1, -2, 3], [3])).out.data)));",
    ].join('\n'));
    const out = join(app, 'out', 'bundle.js');
    await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: out, logLevel: 'silent' });
    expect(readdirSync(join(app, 'out'))).toEqual(['bundle.js']);
    // Run it as a page would, in a process of its own: the bundle carries the module.
    const { stdout } = await run(process.execPath, [out], { cwd: join(app, 'out') });
    expect(stdout.trim()).toBe('[1,0,3]');
  });

  // Skipped, and reported as skipped, on a Node that cannot load ES modules through require().
  const requireModule = (process.features as { require_module?: boolean }).require_module === true;
  it.skipIf(!requireModule)('require() loads it on the Node versions that load ES modules through require()', async () => {
    const script = "const cc = require('convcore'); console.log(JSON.stringify(Array.from(cc.reluForward(cc.tensor([-1, 2], [2])).out.data)));";
    const { stdout } = await run(process.execPath, ['--no-warnings', '-e', script], { cwd: app });
    expect(stdout.trim()).toBe('[0,2]');
  });
});

describe('the repository', () => {
  it('has an MIT LICENSE that names no one, and declares its engines', () => {
    expect(pkg.license).toBe('MIT');
    const text = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^MIT License\n\nCopyright \(c\) convcore contributors\n/);
    expect(pkg.engines?.node).toMatch(/^>=\d+/);
  });

  it('package-lock.json agrees with package.json, so npm install leaves it unchanged', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    const top = lock.packages[''];
    expect(top.dependencies ?? {}).toEqual(pkg.dependencies ?? {});
    expect(top.devDependencies ?? {}).toEqual(pkg.devDependencies ?? {});
    expect(top.engines ?? {}).toEqual(pkg.engines ?? {});
    for (const name of Object.keys(pkg.dependencies ?? {})) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry, name).toBeDefined();
      expect(entry.dev, `${name} is a runtime dependency, not a dev one`).toBeUndefined();
    }
  });

  it('.gitignore ignores tarballs and no tracked file', async () => {
    const { stdout } = await run('git', ['ls-files', '--cached', '--ignored', '--exclude-standard'], { cwd: root });
    expect(stdout.trim(), 'tracked files that .gitignore lists').toBe('');
    const ignored = await run('git', ['check-ignore', 'convcore-0.1.0.tgz'], { cwd: root }).then(() => true, () => false);
    expect(ignored, 'convcore-0.1.0.tgz is ignored').toBe(true);
  });
});
