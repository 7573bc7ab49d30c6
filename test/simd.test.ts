/**
 * The two builds (assembly/fma.ts): the plain one (SIMD128) and the relaxed one, whose
 * multiply-adds are fused (f64x2.relaxed_madd). `npm test` on Node 20 runs the plain build;
 * `npm run test:relaxed` runs this whole suite under --experimental-wasm-relaxed-simd, where
 * the relaxed build is picked. Here:
 * - the probe agrees with the engine: it validates the relaxed build exactly when the probe
 *   module validates, and simdLevel() names the build the first op loaded;
 * - init({ simd }) refuses a build the engine cannot run, a bad value, and the other build
 *   once one is loaded, naming it;
 * - where the engine runs both, the two builds differ only in rounding: within 1e-12 of each
 *   other on the benchmark's conv shapes, and not bit-equal (the fused build is really fused);
 * - model JSON and checkpoints record their format and build, and a file of the other build
 *   loads with one warning.
 */
import { describe, it, expect, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import * as main from '../src/index.js';
import { ConvcoreError, simdLevel, relaxedSimdSupported } from '../src/index.js';
import { makeRng, randn, maxNormRelError, rejection } from './util.js';

const relaxedBytes = readFileSync(new URL('../build/convcore.relaxed.wasm', import.meta.url));
const plainBytes = readFileSync(new URL('../build/convcore.wasm', import.meta.url));

/** The benchmark's conv shapes (bench/README): x, w, stride, pad. */
const SHAPES = [
  { name: 'cs231n', x: [50, 3, 32, 32], w: [32, 3, 7, 7], stride: 1, pad: 3 },
  { name: 'resnet', x: [8, 64, 56, 56], w: [64, 64, 3, 3], stride: 1, pad: 1 },
  { name: 'strided', x: [16, 32, 64, 64], w: [64, 32, 3, 3], stride: 2, pad: 1 },
  { name: 'deep', x: [4, 256, 14, 14], w: [256, 256, 3, 3], stride: 1, pad: 1 },
];

/** Forward and backward of every shape on the loaded build. */
function convAll(): Float64Array[][] {
  return SHAPES.map((s, i) => {
    const r = makeRng(100 + i);
    const x = randn(r, s.x), w = randn(r, s.w), b = randn(r, [s.w[0]]);
    const conv = { stride: s.stride, pad: s.pad };
    const { out, cache } = main.convForward(x, w, b, conv);
    const dout = randn(r, out.shape);
    const { dx, dw, db } = main.convBackward(dout, cache);
    return [out.data, dx!.data, dw!.data, db!.data];
  });
}

describe('which build runs', () => {
  it('the probe says what the engine runs: it validates the relaxed build exactly when the probe validates', () => {
    expect(WebAssembly.validate(plainBytes)).toBe(true);
    expect(WebAssembly.validate(relaxedBytes)).toBe(relaxedSimdSupported());
  });

  it('simdLevel() names the build the first op loads: relaxed where the engine runs it', () => {
    const want = relaxedSimdSupported() ? 'relaxed' : 'plain';
    expect(simdLevel()).toBe(want);
    main.reluForward(main.tensor([1, -1], [2]));
    expect(simdLevel()).toBe(want);
  });

  it('init({ simd }) refuses a bad value, and the other build once one is loaded, naming the loaded one', async () => {
    const bad = await rejection(main.init({ simd: 'fast' as never }));
    expect(bad).toBeInstanceOf(ConvcoreError);
    expect(bad.message).toBe("init: simd must be 'relaxed' or 'plain', got \"fast\"");
    const loaded = simdLevel();
    const other = loaded === 'relaxed' ? 'plain' : 'relaxed';
    const e = await rejection(main.init({ simd: other }));
    expect(e).toBeInstanceOf(ConvcoreError);
    if (other === 'relaxed' && !relaxedSimdSupported()) {
      expect(e.message).toMatch(/^init: simd 'relaxed' was asked for, but this engine does not run WebAssembly relaxed SIMD \(Node 20 needs --experimental-wasm-relaxed-simd/);
    } else {
      expect(e.message).toMatch(new RegExp(`^init: the ${loaded} build is loaded, so simd '${other}' cannot be; .*releaseMemory\\(\\) first$`));
    }
    await main.init({ simd: loaded });
    expect(simdLevel()).toBe(loaded);
  });

  it('model JSON and checkpoints record their format and build; the other build\'s file loads with one warning', () => {
    const model = new main.Sequential([main.layers.affine(3)], { inputShape: [4], seed: 1 });
    const json = model.toJSON();
    expect(json).toMatchObject({ format: 1, build: simdLevel() });
    const data = { XTrain: randn(makeRng(1), [8, 4]), yTrain: new Int32Array(8), XVal: randn(makeRng(2), [4, 4]), yVal: new Int32Array(4) };
    const solver = new main.Solver(model, data, { numEpochs: 1, batchSize: 4, log: () => {} });
    solver.step();
    const checkpoint = solver.checkpoint();
    expect(checkpoint).toMatchObject({ format: 1, build: simdLevel() });
    const other = simdLevel() === 'relaxed' ? 'plain' : 'relaxed';
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const again = main.Sequential.fromJSON(JSON.parse(JSON.stringify(json)));
      expect(warn, 'the same build: no warning').not.toHaveBeenCalled();
      const moved = main.Sequential.fromJSON({ ...json, build: other });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(new RegExp(`^convcore: Sequential\\.fromJSON: json was written by the ${other} build and this one runs the ${simdLevel()} build; .*last bits`));
      const resumed = main.Solver.fromCheckpoint({ ...checkpoint, build: other }, data, { log: () => {} });
      resumed.model.dispose();
      resumed.dispose();
      const tlc = new main.ThreeLayerConvNet({ inputDim: [1, 8, 8], numFilters: 2, hiddenDim: 4, seed: 1 });
      main.ThreeLayerConvNet.fromJSON({ ...tlc.toJSON(), build: other }).dispose();
      tlc.dispose();
      expect(warn, 'once per process').toHaveBeenCalledTimes(1);
      again.dispose();
      moved.dispose();
    } finally {
      warn.mockRestore();
    }
    expect(() => main.Sequential.fromJSON({ ...json, format: 2 })).toThrow(/^Sequential\.fromJSON: json is of format 2, later than this convcore reads \(1\); update convcore$/);
    expect(() => main.Sequential.fromJSON({ ...json, build: 'fast' })).toThrow(/^Sequential\.fromJSON: json\.build must be 'plain' or 'relaxed', got "fast"$/);
    const fc = new main.FullyConnectedNet({ inputDim: 4, hiddenDims: [3], seed: 1 });
    expect(() => main.FullyConnectedNet.fromJSON({ ...fc.toJSON(), format: 0 }))
      .toThrow(/^FullyConnectedNet\.fromJSON: json\.format must be a positive integer, got 0$/);
    fc.dispose();
    solver.dispose();
    model.dispose();
  });
});

describe.skipIf(!relaxedSimdSupported())('the two builds side by side (needs relaxed SIMD: npm run test:relaxed)', () => {
  it('differ only in rounding: conv forward and backward within 1e-12 on the benchmark shapes, and not bit-equal', async () => {
    main.releaseMemory();
    await main.init({ simd: 'plain' });
    expect(simdLevel()).toBe('plain');
    const plain = convAll();
    main.releaseMemory();
    await main.init({ simd: 'relaxed' });
    expect(simdLevel()).toBe('relaxed');
    const relaxed = convAll();
    let differ = 0;
    SHAPES.forEach((s, i) => ['out', 'dx', 'dw', 'db'].forEach((what, j) => {
      const a = plain[i][j], b = relaxed[i][j];
      expect(maxNormRelError(b, a), `${s.name} ${what}`).toBeLessThan(1e-12);
      for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) differ++;
    }));
    expect(differ, 'the relaxed build rounds its multiply-adds once').toBeGreaterThan(0);
  }, 120_000);
});
