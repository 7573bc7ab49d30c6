/**
 * The kernels' assertions (issue 9, item 6), on the debug module (build/convcore.debug.wasm,
 * built with assertions kept). Each test makes one deliberately bad kernel call, past the
 * typed API, and expects the ConvcoreError that src/wasm.ts's abort import makes of the
 * failed assertion: its message, and the file and line of the assert in assembly/ (the
 * line is read back from the source and must hold that assert). The release module has
 * no abort import at all, and the same calls raise no assertion there: so these tests
 * fail if the release module is the one loaded. Vitest isolates test files, so the module
 * loaded here is this file's own.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { ConvcoreError } from '../src/index.js';
import { kernels, reserve, memoryStats, i32, f64 } from '../src/wasm.js';
import { putConvGeometry, CONV_GEOMETRY_BYTES } from '../src/conv.js';
import { putPoolGeometry, POOL_GEOMETRY_BYTES } from '../src/pool.js';
import { convGeometry, poolGeometry } from '../src/params.js';
import type { ConvGeometry, PoolGeometry } from '../src/params.js';
import type { Kernels } from '../src/kernels.js';
import { makeRng, randn, expectClose } from './util.js';

const DEBUG = new URL('../build/convcore.debug.wasm', import.meta.url);
const RELEASE = new URL('../build/convcore.wasm', import.meta.url);

/**
 * A bad call that is harmless without assertions (a label outside [0, C) only reads past
 * a row): whether the loaded module checks its kernels' arguments.
 */
function assertionsLive(): boolean {
  const [ps, py, pd] = reserve('test', [2 * 3 * 8, 2 * 4, 2 * 3 * 8]);
  i32(py, 2).set([0, 3]);
  try {
    kernels().softmax_loss(ps, py, pd, 2, 3);
  } catch (e) {
    return e instanceof ConvcoreError;
  }
  return false;
}

beforeAll(async () => {
  await main.init({ wasm: DEBUG });
  // Without assertions the bad calls below could run away (a loop over a garbage count):
  // stop here instead when the module loaded is not the debug one.
  if (!assertionsLive()) throw new Error('the module loaded has no live assertions: it is not build/convcore.debug.wasm');
});

interface Failure { text: string; file: string; line: number }

/** Runs a bad kernel call; it must fail a kernel assertion. Returns what the message says. */
function assertionOf(call: () => unknown): Failure {
  let err: unknown;
  try {
    call();
  } catch (e) {
    err = e;
  }
  expect(err, 'a failed kernel assertion throws').toBeDefined();
  expect(err, `a ConvcoreError, not ${String(err)}`).toBeInstanceOf(ConvcoreError);
  const m = /^convcore: a kernel assertion failed: (.+) at (assembly\/[\w-]+\.ts):(\d+):(\d+)$/.exec((err as Error).message);
  expect(m, `the message names the assertion and its place: ${(err as Error).message}`).not.toBeNull();
  return { text: m![1], file: m![2], line: Number(m![3]) };
}

/** The assertion failed where the source says so: the assert at that line carries that message. */
function expectAssertion(call: () => unknown, file: string, text: string): void {
  const f = assertionOf(call);
  expect(f.file).toBe(file);
  expect(f.text).toBe(text);
  const lines = readFileSync(new URL(`../${f.file}`, import.meta.url), 'utf8').split('\n');
  const at = lines.slice(f.line - 1, f.line + 2).join('\n');
  expect(lines[f.line - 1], `${f.file}:${f.line} is an assert`).toMatch(/\bassert\(/);
  expect(at, `${f.file}:${f.line} carries the message`).toContain(`'${text}'`);
}

const r = makeRng(77);
const k = (): Kernels => kernels();
const top = (): number => memoryStats().bytes;

function convGeom(x: number[], w: number[], p: object): ConvGeometry {
  return convGeometry('test', randn(r, x), randn(r, w), randn(r, [w[0]]), p);
}

function poolGeom(x: number[], p: object): PoolGeometry {
  return poolGeometry('test', randn(r, x), p);
}

describe('the modules', () => {
  it('the debug module imports env.abort (its assertions are compiled in); the release module imports nothing', () => {
    const imports = (url: URL) => WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(url)));
    expect(imports(DEBUG)).toEqual([{ module: 'env', name: 'abort', kind: 'function' }]);
    expect(imports(RELEASE)).toEqual([]);
  });

  it('the geometry records have the layout the kernels read', () => {
    expect(CONV_GEOMETRY_BYTES).toBe(k().conv_geometry_bytes());
    expect(POOL_GEOMETRY_BYTES).toBe(k().pool_geometry_bytes());
  });

  it('the release module, instantiated on its own, runs the same bad call without an assertion', async () => {
    const { instance } = await WebAssembly.instantiate(readFileSync(RELEASE), {});
    const rel = instance.exports as unknown as Kernels & { memory: WebAssembly.Memory };
    const base = Math.ceil(rel.heap_base() / 64) * 64;
    new Int32Array(rel.memory.buffer, base, 3).set([0, 1, 7]);
    // A label outside [0, C): the release kernel reads past its row and returns a number.
    let outcome: unknown;
    try {
      outcome = rel.softmax_loss(base + 64, base, base + 1024, 3, 4);
    } catch (e) {
      outcome = e;
    }
    expect(outcome).not.toBeInstanceOf(ConvcoreError);
    expect(typeof outcome).toBe('number');
  });
});

describe('a bad kernel call on the debug module fails the kernel\'s assertion', () => {
  it('relu_forward: out past the end of memory', () => {
    const [px] = reserve('test', [16]);
    expectAssertion(() => k().relu_forward(px, top() - 8, 2), 'assembly/elementwise.ts', 'relu_forward: x or out lies outside memory');
  });

  it('softmax_loss: a label outside [0, C)', () => {
    const [ps, py, pd] = reserve('test', [3 * 4 * 8, 3 * 4, 3 * 4 * 8]);
    i32(py, 3).set([0, 4, 1]);
    expectAssertion(() => k().softmax_loss(ps, py, pd, 3, 4), 'assembly/elementwise.ts', 'softmax_loss: a label is outside [0, C)');
  });

  it('sum_rows: the sums past the end of memory (feature_sum, shared with batchnorm and conv)', () => {
    const [px] = reserve('test', [4 * 8]);
    expectAssertion(() => k().sum_rows(px, top() - 8, 2, 2), 'assembly/reduce.ts', 'feature_sum: s lies outside memory');
  });

  it('gemm: a row stride shorter than a row, an unaligned workspace, an output past memory', () => {
    const g = k();
    const [pa, pb, pc, pwork] = reserve('test', [6 * 8, 6 * 8, 4 * 8, g.gemm_workspace_bytes() + 16]);
    expectAssertion(() => g.gemm(0, 0, 2, 2, 3, pa, 2, pb, 2, pc, 2, 0, pwork), 'assembly/gemm.ts', 'gemm: a row stride shorter than its row');
    expectAssertion(() => g.gemm(0, 0, 2, 2, 3, pa, 3, pb, 2, pc, 2, 0, pwork + 8), 'assembly/gemm.ts', 'gemm: the workspace is unaligned or outside memory');
    expectAssertion(() => g.gemm(0, 0, 2, 2, 3, pa, 3, pb, 2, top() - 16, 2, 0, pwork), 'assembly/gemm.ts', 'gemm: out lies outside memory');
  });

  it('conv_forward: a record whose H2 does not follow from H, HH, S and P; fields in the wrong order; x past memory', () => {
    const g = convGeom([1, 2, 5, 5], [3, 2, 3, 3], { stride: 2, pad: 1 });
    const kk = k();
    const [pgeom, px, pw, pb, pout, pwork] = reserve('test', [CONV_GEOMETRY_BYTES, 50 * 8, 54 * 8, 3 * 8, 3 * 16 * 8, kk.gemm_workspace_bytes()]);
    const call = () => kk.conv_forward(px, pw, pb, pout, pwork, pgeom);
    const msg = 'conv_forward: the geometry record is outside memory or inconsistent';
    putConvGeometry(pgeom, { ...g, H2: g.H2 + 1 });
    expectAssertion(call, 'assembly/conv.ts', msg);
    // S and P swapped, as positional arguments could be: stride 1, pad 2 gives other H2, W2.
    putConvGeometry(pgeom, { ...g, SH: g.PH, PH: g.SH, SW: g.PW, PW: g.SW });
    expectAssertion(call, 'assembly/conv.ts', msg);
    putConvGeometry(pgeom, { ...g, C: 0 });
    expectAssertion(call, 'assembly/conv.ts', msg);
    expectAssertion(() => kk.conv_forward(px, pw, pb, pout, pwork, top() - 8), 'assembly/conv.ts', msg);
    putConvGeometry(pgeom, { ...g, N: 2 ** 30 }); // consistent, but N·C·H·W·8 bytes wrap an i32
    expectAssertion(call, 'assembly/conv.ts', 'conv_forward: x lies outside memory');
    putConvGeometry(pgeom, g);
    expectAssertion(() => kk.conv_forward(top() - 64, pw, pb, pout, pwork, pgeom), 'assembly/conv.ts', 'conv_forward: x lies outside memory');
    call(); // the record as the wrapper writes it passes
  });

  it('conv_backward: dx asked for without a dcols buffer, dw without x', () => {
    const g = convGeom([1, 2, 5, 5], [3, 2, 3, 3], { pad: 1 });
    const kk = k();
    const nCols = 2 * 9 * 25;
    const [pgeom, pdout, px, pw, pdx, pdw, pdb, pcols, pdcols, pwork] = reserve('test', [
      CONV_GEOMETRY_BYTES, 75 * 8, 50 * 8, 54 * 8, 50 * 8, 54 * 8, 3 * 8, nCols * 8, nCols * 8, kk.gemm_workspace_bytes(),
    ]);
    putConvGeometry(pgeom, g);
    expectAssertion(() => kk.conv_backward(pdout, px, pw, pdx, pdw, pdb, pcols, 0, pwork, pgeom),
      'assembly/conv.ts', 'conv_backward: dcols is missing or outside memory');
    expectAssertion(() => kk.conv_backward(pdout, top() - 8, pw, pdx, pdw, pdb, pcols, pdcols, pwork, pgeom),
      'assembly/conv.ts', 'conv_backward: x or dw lies outside memory');
    kk.conv_backward(pdout, 0, pw, pdx, 0, pdb, 0, pdcols, pwork, pgeom); // dx only needs no x, dw or cols
  });

  it('maxpool_backward: an argmax outside its window; maxpool_forward: byte argmax for a 17x16 window', () => {
    const g = poolGeom([1, 1, 6, 6], { poolHeight: 3, poolWidth: 3, stride: 3 });
    const kk = k();
    const [pgeom, pdout, parg, pdx] = reserve('test', [POOL_GEOMETRY_BYTES, 4 * 8, 4, 36 * 8]);
    putPoolGeometry(pgeom, g);
    new Uint8Array(f64(pdout, 4).buffer, parg, 4).set([0, 8, 9, 1]);
    expectAssertion(() => kk.maxpool_backward(pdout, parg, pdx, pgeom, 0), 'assembly/pool.ts', 'maxpool_backward: an argmax lies outside its window');
    const gw = poolGeom([1, 1, 17, 16], { poolHeight: 17, poolWidth: 16 });
    const [pg2, px, pout, parg2] = reserve('test', [POOL_GEOMETRY_BYTES, 272 * 8, 8, 4]);
    putPoolGeometry(pg2, gw);
    expectAssertion(() => kk.maxpool_forward(px, pout, parg2, pg2, 0), 'assembly/pool.ts', 'maxpool_forward: a byte cannot hold every argmax of this window');
  });

  it('avgpool_forward: windows that run past the input', () => {
    const g = poolGeom([1, 1, 6, 6], { poolHeight: 2, poolWidth: 2 });
    const kk = k();
    const [pgeom, px, pout] = reserve('test', [POOL_GEOMETRY_BYTES, 36 * 8, 16 * 8]);
    putPoolGeometry(pgeom, { ...g, H2: 4 });
    expectAssertion(() => kk.avgpool_forward(px, pout, pgeom), 'assembly/pool.ts', 'avgpool_forward: the geometry record is outside memory or inconsistent');
  });

  it('batchnorm_forward: train neither 0 nor 1; batchnorm_backward: the per-feature vectors past memory', () => {
    const kk = k();
    const [p] = reserve('test', [64 * 8]);
    expectAssertion(() => kk.batchnorm_forward(p, p, p, p, p, p, p, p, p, p, 2, 2, 1, 2, 1e-5, 0.9),
      'assembly/batchnorm.ts', 'batchnorm_forward: a dimension is not positive or train is not 0 or 1');
    expectAssertion(() => kk.batchnorm_backward(p, p, p, p, p, p, top() - 8, p, 2, 2, 1, 1),
      'assembly/batchnorm.ts', 'batchnorm_backward: a per-feature vector lies outside memory');
  });

  it('transpose_nd: an axis out of range', () => {
    const kk = k();
    const [px, pout, pshape, pperm, pstrides, pcounter] = reserve('test', [6 * 8, 6 * 8, 8, 8, 8, 8]);
    i32(pshape, 2).set([2, 3]);
    i32(pperm, 2).set([1, 2]);
    expectAssertion(() => kk.transpose_nd(px, pout, 2, pshape, pperm, pstrides, pcounter),
      'assembly/transpose.ts', 'transpose_nd: a dimension is not positive or an axis is out of range');
  });

  it('after every failed assertion the module still computes what the reference computes', () => {
    const x = randn(r, [2, 3, 7, 6]), w = randn(r, [4, 3, 3, 2]), b = randn(r, [4]);
    const p = { stride: [2, 1] as [number, number], pad: 1 };
    const a = main.convForward(x, w, b, p), e = ref.convForward(x, w, b, p);
    expectClose(a.out, e.out, 'out');
    const dout = randn(r, e.out.shape as number[]);
    const ga = main.convBackward(dout, a.cache), ge = ref.convBackward(dout, e.cache);
    expectClose(ga.dx, ge.dx, 'dx');
    expectClose(ga.dw, ge.dw, 'dw');
    const pm = main.maxPoolForward(x, { poolHeight: 3, poolWidth: 3, stride: 2 });
    expectClose(pm.out, ref.maxPoolForward(x, { poolHeight: 3, poolWidth: 3, stride: 2 }).out, 'max pool out');
  });
});
