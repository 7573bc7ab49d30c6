/**
 * The kernel bindings: src/bindings.ts is what scripts/gen-bindings.mjs makes of asc's own
 * declarations of the module, and a kernel whose signature changes in assembly/ fails `tsc`
 * (that is, `npm run build`) at every call and every argument the dispatch reads by name.
 * The changed signatures are made by editing a copy of the declarations; `tsc` then runs on
 * a copy of src/ with the bindings generated from it.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { root } from '../scripts/build-browser.mjs';

const run = promisify(execFile);
const declarations = join(root, 'build', 'convcore.debug.d.ts');
const generator = join(root, 'scripts', 'gen-bindings.mjs');
const tsc = join(root, 'node_modules', '.bin', 'tsc');
let tmp = '';

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'convcore-bindings-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** tsc's diagnostics for a copy of src/ whose bindings come from `dts` ('' when it compiles). */
async function typecheck(dts: string, name: string): Promise<string> {
  const dir = join(tmp, name);
  cpSync(join(root, 'src'), join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'tsconfig.json'), readFileSync(join(root, 'tsconfig.json')));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const file = join(dir, 'convcore.d.ts');
  writeFileSync(file, dts);
  await run(process.execPath, [generator, file, join(dir, 'src', 'bindings.ts')]);
  try {
    await run(tsc, ['-p', 'tsconfig.json', '--noEmit'], { cwd: dir });
    return '';
  } catch (e) {
    return String((e as { stdout?: string }).stdout);
  }
}

describe('the kernel bindings', () => {
  it('src/bindings.ts is what the generator makes of the built module\'s declarations', async () => {
    const out = join(tmp, 'bindings.ts');
    await run(process.execPath, [generator, declarations, out]);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(root, 'src', 'bindings.ts'), 'utf8'));
  });

  it('compile as the module declares them', async () => {
    expect(await typecheck(readFileSync(declarations, 'utf8'), 'same')).toBe('');
  }, 120_000);

  it('a kernel with a renamed parameter fails where the dispatch reads it by name', async () => {
    const dts = readFileSync(declarations, 'utf8').replace(
      'export function maxpool_forward(x: number, out: number, argmax: number, g: __Record',
      'export function maxpool_forward(x: number, out: number, argmax: number, geom: __Record');
    expect(dts).toContain('argmax: number, geom: __Record');
    expect(await typecheck(dts.replace(/(assembly\/pool\/maxpool_forward[\s\S]*?)@param g `/, '$1@param geom `'), 'renamed'))
      .toMatch(/src\/dispatch\.ts\(\d+,\d+\): error TS2339: Property 'g' does not exist on type 'Index<"maxpool_forward">'/);
  }, 120_000);

  it('a kernel with one more parameter fails at every call', async () => {
    const dts = readFileSync(declarations, 'utf8')
      .replace('export function relu_forward(x: number, out: number, n: number): void;', 'export function relu_forward(x: number, out: number, n: number, extra: number): void;')
      .replace(/(assembly\/elementwise\/relu_forward[\s\S]*?@param n `i32`)/, '$1\n   * @param extra `i32`');
    expect(dts).toContain('n: number, extra: number');
    const errors = await typecheck(dts, 'longer');
    // The one place that calls it: the ReLU's forward, which the op and every model share.
    expect(errors).toMatch(/src\/layers\/basic\.ts\(\d+,\d+\): error TS2554: Expected 4 arguments, but got 3/);
  }, 120_000);
});
