/**
 * The kernels' assertions (issue 9, item 6), on the debug module (build/convcore.debug.wasm,
 * built with assertions kept). Each test makes one deliberately bad kernel call, past the
 * typed API, and expects the ConvcoreError that src/wasm.ts's abort import makes of the
 * failed assertion: its message, and the file and line of the assert in assembly/ (the
 * line is read back from the source and must hold that assert). The release module has
 * no abort import at all, and the same calls raise no assertion there: so these tests
 * fail if the release module is the one loaded. Vitest isolates test files, so the module
 * loaded here is this file's own. A call src/dispatch.ts cannot pass on (a geometry record
 * past the end of memory, which it reads to size the op) runs on the debug module
 * instantiated on its own.
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
import type { Kernels } from '../src/dispatch.js';
import { makeRng, randn, expectClose, instantiateModule } from './util.js';

const DEBUG = new URL('../build/convcore.debug.wasm', import.meta.url);
const RELEASE = new URL('../build/convcore.wasm', import.meta.url);

/**
 * A bad call that is harmless without assertions (a label outside [0, C) only reads past
 * a row): whether the loaded module checks its kernels' arguments.
 */
function assertionsLive(): boolean {
  const [ps, py, pd, pl] = reserve('test', [2 * 3 * 8, 2 * 4, 2 * 3 * 8, 2 * 8]);
  i32(py, 2).set([0, 3]);
  try {
    kernels().softmax_loss(ps, py, pd, pl, 2, 3);
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

/**
 * Runs a bad kernel call; it must fail a kernel assertion. Returns what the message says.
 * `raw`: the call is on a module instantiated on its own, whose abort (test/util.ts) throws
 * an Error "kernel assertion failed: …" rather than src/wasm.ts's ConvcoreError.
 */
function assertionOf(call: () => unknown, raw = false): Failure {
  let err: unknown;
  try {
    call();
  } catch (e) {
    err = e;
  }
  expect(err, 'a failed kernel assertion throws').toBeDefined();
  if (raw) expect(err, `an Error, not ${String(err)}`).toBeInstanceOf(Error);
  else expect(err, `a ConvcoreError, not ${String(err)}`).toBeInstanceOf(ConvcoreError);
  const prefix = raw ? 'kernel assertion failed: ' : 'convcore: a kernel assertion failed: ';
  const m = new RegExp(`^${prefix}(.+) at (assembly\\/[\\w-]+\\.ts):(\\d+):(\\d+)$`).exec((err as Error).message);
  expect(m, `the message names the assertion and its place: ${(err as Error).message}`).not.toBeNull();
  return { text: m![1], file: m![2], line: Number(m![3]) };
}

/** The assertion failed where the source says so: the assert at that line carries that message. */
function expectAssertion(call: () => unknown, file: string, text: string, raw = false): void {
  const f = assertionOf(call, raw);
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
  it('the debug module imports env.abort (its assertions are compiled in); the release module imports only its memory', () => {
    const imports = (url: URL) => WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(url)))
      .sort((a, b) => a.name.localeCompare(b.name));
    const memory = { module: 'env', name: 'memory', kind: 'memory' };
    expect(imports(DEBUG)).toEqual([{ module: 'env', name: 'abort', kind: 'function' }, memory]);
    expect(imports(RELEASE)).toEqual([memory]);
  });

  it('the geometry records have the layout the kernels read', () => {
    expect(CONV_GEOMETRY_BYTES).toBe(k().conv_geometry_bytes());
    expect(POOL_GEOMETRY_BYTES).toBe(k().pool_geometry_bytes());
  });

  it('the release module, instantiated on its own, runs the same bad call without an assertion', () => {
    const rel = instantiateModule(RELEASE, () => { throw new Error('the release module called abort'); });
    const base = Math.ceil(rel.heap_base() / 64) * 64;
    new Int32Array(rel.memory.buffer, base, 3).set([0, 1, 7]);
    // A label outside [0, C): the release kernel reads past its row, and the loss is a number.
    let outcome: unknown;
    try {
      rel.softmax_loss(base + 64, base, base + 1024, base + 2048, 3, 4);
      outcome = rel.softmax_loss_total(base + 2048, 3);
    } catch (e) {
      outcome = e;
    }
    expect(outcome).not.toBeInstanceOf(Error);
    expect(typeof outcome).toBe('number');
  });
});

describe('a bad kernel call on the debug module fails the kernel\'s assertion', () => {
  it('relu_forward: out past the end of memory', () => {
    const [px] = reserve('test', [16]);
    expectAssertion(() => k().relu_forward(px, top() - 8, 2), 'assembly/elementwise.ts', 'relu_forward: x or out lies outside memory');
  });

  it('softmax_loss: a label outside [0, C)', () => {
    const [ps, py, pd, pl] = reserve('test', [3 * 4 * 8, 3 * 4, 3 * 4 * 8, 3 * 8]);
    i32(py, 3).set([0, 4, 1]);
    expectAssertion(() => k().softmax_loss(ps, py, pd, pl, 3, 4), 'assembly/elementwise.ts', 'softmax_loss: a label is outside [0, C)');
    expectAssertion(() => k().softmax_loss(ps, py, pd, top() - 16, 3, 4), 'assembly/elementwise.ts',
      'softmax_loss: scores, y, dscores or rowloss lies outside memory');
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
    const call = () => kk.conv_forward(px, pw, pb, pout, pgeom, pwork);
    const msg = 'conv_forward: the geometry record is outside memory or inconsistent';
    putConvGeometry(pgeom, { ...g, H2: g.H2 + 1 });
    expectAssertion(call, 'assembly/conv.ts', msg);
    // S and P swapped, as positional arguments could be: stride 1, pad 2 gives other H2, W2.
    putConvGeometry(pgeom, { ...g, SH: g.PH, PH: g.SH, SW: g.PW, PW: g.SW });
    expectAssertion(call, 'assembly/conv.ts', msg);
    putConvGeometry(pgeom, { ...g, C: 0 });
    expectAssertion(call, 'assembly/conv.ts', msg);
    putConvGeometry(pgeom, { ...g, N: 2 ** 30 }); // consistent, but N·C·H·W·8 bytes wrap an i32
    expectAssertion(call, 'assembly/conv.ts', 'conv_forward: x lies outside memory');
    putConvGeometry(pgeom, g);
    expectAssertion(() => kk.conv_forward(top() - 64, pw, pb, pout, pgeom, pwork), 'assembly/conv.ts', 'conv_forward: x lies outside memory');
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
    expectAssertion(() => kk.conv_backward(pdout, px, pw, pdx, pdw, pdb, pcols, 0, pgeom, pwork),
      'assembly/conv.ts', 'conv_backward: dcols (one block per part) is missing or outside memory');
    expectAssertion(() => kk.conv_backward(pdout, top() - 8, pw, pdx, pdw, pdb, pcols, pdcols, pgeom, pwork),
      'assembly/conv.ts', 'conv_backward: x or dw lies outside memory');
    kk.conv_backward(pdout, 0, pw, pdx, 0, pdb, 0, pdcols, pgeom, pwork); // dx only needs no x, dw or cols
  });

  it('conv_forward: groups that do not divide C, a dilation of 0, an H2 that ignores the dilation', () => {
    const g = convGeom([1, 4, 7, 7], [6, 2, 3, 3], { pad: 1, dilation: 2, groups: 2 });
    const kk = k();
    const [pgeom, px, pw, pb, pout, pwork] = reserve('test', [CONV_GEOMETRY_BYTES, 196 * 8, 108 * 8, 6 * 8, 6 * 25 * 8, kk.gemm_workspace_bytes()]);
    const call = () => kk.conv_forward(px, pw, pb, pout, pgeom, pwork);
    const msg = 'conv_forward: the geometry record is outside memory or inconsistent';
    putConvGeometry(pgeom, { ...g, G: 3 });
    expectAssertion(call, 'assembly/conv.ts', msg);
    putConvGeometry(pgeom, { ...g, G: 0 });
    expectAssertion(call, 'assembly/conv.ts', msg);
    putConvGeometry(pgeom, { ...g, DH: 0 });
    expectAssertion(call, 'assembly/conv.ts', msg);
    putConvGeometry(pgeom, { ...g, DH: 1, DW: 1 }); // H2 = 5 follows from dilation 2, not 1
    expectAssertion(call, 'assembly/conv.ts', msg);
    putConvGeometry(pgeom, { ...g, G: 1 });         // w read as (6, 4, 3, 3): past the end of memory here
    expectAssertion(() => kk.conv_forward(px, top() - 108 * 8, pb, pout, pgeom, pwork), 'assembly/conv.ts', 'conv_forward: w lies outside memory');
    putConvGeometry(pgeom, g);
    call(); // the record as the wrapper writes it passes
  });

  it('depthwise_forward and depthwise_backward: a record that is not depthwise; dx asked for without w', () => {
    const g = convGeom([2, 3, 6, 6], [6, 1, 3, 3], { pad: 1, groups: 3 });
    const kk = k();
    const [pgeom, px, pw, pb, pout, pdx, pdw] = reserve('test', [CONV_GEOMETRY_BYTES, 216 * 8, 54 * 8, 6 * 8, 432 * 8, 216 * 8, 54 * 8]);
    putConvGeometry(pgeom, { ...g, G: 1, C: 3 });
    expectAssertion(() => kk.depthwise_forward(px, pw, pb, pout, pgeom), 'assembly/depthwise.ts',
      'depthwise_forward: the geometry record is outside memory, inconsistent or not depthwise');
    expectAssertion(() => kk.depthwise_backward(pout, px, pw, pdx, pdw, pb, pgeom), 'assembly/depthwise.ts',
      'depthwise_backward: the geometry record is outside memory, inconsistent or not depthwise');
    putConvGeometry(pgeom, g);
    kk.depthwise_forward(px, pw, pb, pout, pgeom);
    expectAssertion(() => kk.depthwise_forward(px, pw, pb, top() - 8, pgeom), 'assembly/depthwise.ts', 'depthwise_forward: out lies outside memory');
    expectAssertion(() => kk.depthwise_backward(pout, px, top() - 8, pdx, pdw, pb, pgeom), 'assembly/depthwise.ts',
      'depthwise_backward: w or dx lies outside memory');
    expectAssertion(() => kk.depthwise_backward(pout, top() - 8, pw, pdx, pdw, pb, pgeom), 'assembly/depthwise.ts',
      'depthwise_backward: x or dw lies outside memory');
    kk.depthwise_backward(pout, 0, pw, pdx, 0, pb, pgeom); // dx only needs no x or dw
    kk.depthwise_backward(pout, px, 0, 0, pdw, pb, pgeom); // dw only needs no w or dx
  });

  it('global_avgpool_forward and _backward: a buffer past memory, an empty plane', () => {
    const kk = k();
    const [px, pout] = reserve('test', [24 * 8, 4 * 8]);
    expectAssertion(() => kk.global_avgpool_forward(px, top() - 8, 4, 6), 'assembly/pool.ts', 'global_avgpool_forward: x or out lies outside memory');
    expectAssertion(() => kk.global_avgpool_forward(px, pout, 4, 0), 'assembly/pool.ts', 'global_avgpool_forward: a dimension is not positive');
    expectAssertion(() => kk.global_avgpool_backward(pout, top() - 16, 4, 6), 'assembly/pool.ts', 'global_avgpool_backward: dout or dx lies outside memory');
    kk.global_avgpool_forward(px, pout, 4, 6);
  });

  it('svm_loss: a label outside [0, C); svm_loss_total: rowloss past memory', () => {
    const [ps, py, pd, pl] = reserve('test', [3 * 4 * 8, 3 * 4, 3 * 4 * 8, 3 * 8]);
    i32(py, 3).set([0, 1, 4]);
    expectAssertion(() => k().svm_loss(ps, py, pd, pl, 3, 4), 'assembly/elementwise.ts', 'svm_loss: a label is outside [0, C)');
    expectAssertion(() => k().svm_loss(ps, py, top() - 8, pl, 3, 4), 'assembly/elementwise.ts',
      'svm_loss: scores, y, dscores or rowloss lies outside memory');
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

describe('a bad kernel call on the debug module instantiated on its own fails the kernel\'s assertion', () => {
  // Past src/dispatch.ts: the raw exports, with gemm and the convolutions taking their
  // workspace from set_part, and this instance's own memory.
  const raw = instantiateModule(DEBUG);
  const end = (): number => raw.memory.buffer.byteLength;
  let next = Math.ceil(raw.heap_base() / 64) * 64;
  /** Consecutive 64-byte aligned buffers in the instance's memory, grown as needed. */
  const alloc = (bytes: number): number => {
    const p = next;
    next += Math.ceil(bytes / 64) * 64;
    if (next > end()) raw.memory.grow(Math.ceil((next - end()) / 65536));
    return p;
  };
  const work = alloc(raw.gemm_workspace_bytes());
  /** A geometry record in the instance's memory, as the wrapper writes it (through the loaded module's memory). */
  const putRawGeometry = (p: number, g: ConvGeometry): void => {
    const [tmp] = reserve('test', [CONV_GEOMETRY_BYTES]);
    putConvGeometry(tmp, g);
    new Uint8Array(raw.memory.buffer, p, CONV_GEOMETRY_BYTES).set(new Uint8Array(i32(tmp, 1).buffer, tmp, CONV_GEOMETRY_BYTES));
  };
  const view = (p: number, n: number): Float64Array => new Float64Array(raw.memory.buffer, p, n);

  it('set_part: a part outside [0, parts)', () => {
    expectAssertion(() => raw.set_part(2, 2, work), 'assembly/parts.ts', 'set_part: part outside [0, parts)', true);
    expectAssertion(() => raw.set_part(0, 0, work), 'assembly/parts.ts', 'set_part: part outside [0, parts)', true);
    expectAssertion(() => raw.set_part(-1, 2, work), 'assembly/parts.ts', 'set_part: part outside [0, parts)', true);
  });

  it('gemm (its workspace from set_part): an unaligned workspace; a good call computes the product', () => {
    const [pa, pb, pc] = [alloc(6 * 8), alloc(6 * 8), alloc(4 * 8)];
    view(pa, 6).set([1, 2, 3, 4, 5, 6]);   // (2,3)
    view(pb, 6).set([1, 0, 0, 1, 2, -1]);  // (3,2)
    raw.set_part(0, 1, work + 8);
    expectAssertion(() => raw.gemm(0, 0, 2, 2, 3, pa, 3, pb, 2, pc, 2, 0), 'assembly/gemm.ts', 'gemm: the workspace is unaligned or outside memory', true);
    raw.set_part(0, 1, work);
    raw.gemm(0, 0, 2, 2, 3, pa, 3, pb, 2, pc, 2, 0);
    expect(Array.from(view(pc, 4))).toEqual([7, -1, 16, -1]);
  });

  it('conv_forward and conv_backward: the geometry record past the end of memory', () => {
    const g = convGeom([1, 2, 5, 5], [3, 2, 3, 3], { stride: 2, pad: 1 });
    const [px, pw, pb, pout, pgeom] = [alloc(50 * 8), alloc(54 * 8), alloc(3 * 8), alloc(3 * 9 * 8), alloc(CONV_GEOMETRY_BYTES)];
    putRawGeometry(pgeom, g);
    raw.set_part(0, 1, work);
    raw.conv_forward(px, pw, pb, pout, pgeom); // the record as the wrapper writes it passes
    expectAssertion(() => raw.conv_forward(px, pw, pb, pout, end() - 8), 'assembly/conv.ts',
      'conv_forward: the geometry record is outside memory or inconsistent', true);
    expectAssertion(() => raw.conv_backward(pout, px, pw, 0, 0, pb, 0, 0, end() - 8), 'assembly/conv.ts',
      'conv_backward: the geometry record is outside memory or inconsistent', true);
  });

  it('conv_backward: a dcols of one block when the op runs as two parts', () => {
    const g = convGeom([2, 2, 5, 5], [3, 2, 3, 3], { pad: 1 });
    const block = 2 * 9 * 25 * 8;
    const [pgeom, pdout, pw, pdx, pdb] = [alloc(CONV_GEOMETRY_BYTES), alloc(150 * 8), alloc(54 * 8), alloc(100 * 8), alloc(3 * 8)];
    putRawGeometry(pgeom, g);
    // Two blocks fit after pdcols, as part 0 of 2 needs; one block at the very end does not.
    const pdcols = alloc(2 * block);
    raw.set_part(0, 2, work);
    raw.conv_backward(pdout, 0, pw, pdx, 0, pdb, 0, pdcols, pgeom);
    expectAssertion(() => raw.conv_backward(pdout, 0, pw, pdx, 0, pdb, 0, end() - block, pgeom), 'assembly/conv.ts',
      'conv_backward: dcols (one block per part) is missing or outside memory', true);
    raw.set_part(0, 1, work);
    raw.conv_backward(pdout, 0, pw, pdx, 0, pdb, 0, end() - block, pgeom); // one part: one block is enough
  });

  it('conv_dw_images and sum_slots: cols of one block on two parts, slots past memory, an empty sum', () => {
    const g = convGeom([2, 2, 5, 5], [3, 2, 3, 3], { pad: 1 });
    const block = 2 * 9 * 25 * 8;            // one (K,Q) block of cols
    const nSlots = 2 * 1 * 3 * 18;           // N·⌈Q/KC⌉ blocks of F·K
    const [pgeom, pdout, px, pdw] = [alloc(CONV_GEOMETRY_BYTES), alloc(150 * 8), alloc(100 * 8), alloc(54 * 8)];
    putRawGeometry(pgeom, g);
    const [pcols, pslots] = [alloc(2 * block), alloc(nSlots * 8)];
    raw.set_part(0, 2, work);
    raw.conv_dw_images(pdout, px, pcols, pslots, pgeom);
    expectAssertion(() => raw.conv_dw_images(pdout, px, end() - block, pslots, pgeom), 'assembly/conv.ts',
      'conv_dw_images: cols (one block per part) is missing or outside memory', true);
    expectAssertion(() => raw.conv_dw_images(pdout, px, pcols, end() - 8, pgeom), 'assembly/conv.ts',
      'conv_dw_images: slots lies outside memory', true);
    raw.set_part(0, 1, work);
    raw.sum_slots(pslots, pdw, 2, 54);
    expectAssertion(() => raw.sum_slots(pslots, pdw, 0, 54), 'assembly/conv.ts',
      'sum_slots: a dimension is not positive or a buffer lies outside memory', true);
    expectAssertion(() => raw.sum_slots(end() - 8, pdw, 2, 54), 'assembly/conv.ts',
      'sum_slots: a dimension is not positive or a buffer lies outside memory', true);
  });
});
