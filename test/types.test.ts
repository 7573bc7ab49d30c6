/**
 * The published types compile for their consumers. The declarations of src/ are emitted
 * with the project's tsconfig (as `npm run build` emits dist/) into a package installed in
 * a temporary app's node_modules/convcore, next to the package.json that maps its subpaths.
 * Two consumers in test/fixtures/node-types/ are compiled against it without skipLibCheck:
 * - node-only.mts with `--lib es2022 --types node`: no DOM, so nothing in a .d.ts may need
 *   WebAssembly's or fetch's DOM types;
 * - dom.mts with `--lib es2022,dom`: a WebAssembly.Module and a Response are accepted sources.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { root, bundleTypes } from '../scripts/build-browser.mjs';

const run = promisify(execFile);
const tsc = join(root, 'node_modules', '.bin', 'tsc');
const FIXTURES = join(root, 'test', 'fixtures', 'node-types');

let app: string;

beforeAll(async () => {
  app = mkdtempSync(join(tmpdir(), 'convcore-types-'));
  const pkg = join(app, 'node_modules', 'convcore');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  // Emits even where src/ has a type error elsewhere; the consumers below are what is checked.
  await run(tsc, ['-p', 'tsconfig.json', '--emitDeclarationOnly', '--outDir', join(pkg, 'dist')], { cwd: root }).catch(() => undefined);
  if (!existsSync(join(pkg, 'dist', 'index.d.ts'))) throw new Error('tsc emitted no declarations for src/');
  writeFileSync(join(pkg, 'dist', 'convcore.browser.d.ts'), bundleTypes);
  for (const f of ['node-only.mts', 'dom.mts']) copyFileSync(join(FIXTURES, f), join(app, f));
});

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

/** Compiles one consumer with the given libs; returns tsc's diagnostics ('' when it compiles). */
async function typecheck(file: string, lib: string): Promise<string> {
  const args = ['--ignoreConfig', '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--lib', lib, '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), file];
  try {
    await run(tsc, args, { cwd: app });
    return '';
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    return `${stdout ?? ''}${stderr ?? ''}` || String(e);
  }
}

describe('the published types', () => {
  it('compile in a Node-only project (--lib es2022 --types node, no skipLibCheck)', async () => {
    expect(await typecheck('node-only.mts', 'es2022')).toBe('');
  });

  it('compile in a browser project, where init takes a WebAssembly.Module and a Response', async () => {
    expect(await typecheck('dom.mts', 'es2022,dom')).toBe('');
  });
});
