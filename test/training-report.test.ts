// The training and networks sections of the benchmark must not contradict themselves: on
// synthetic results, every derived cell follows from the printed times, every target line
// from the cells, and each check reads its section back and catches a changed cell or verdict.
import { describe, it, expect } from 'vitest';
import { trainingReport, checkTraining, TrainingResult } from '../bench/training-report.js';
import { networksReport, checkNetworks, NetworksResult } from '../bench/networks-report.js';
import type { BenchRow } from '../bench/report.js';
import { makeRng } from './random.js';

const SPEC = { inputDim: [1, 28, 28], numFilters: 32, filterSize: 7, hiddenDim: 100, numClasses: 10, batchSize: 50 };

/** Results as bench/training.js returns them, with times drawn from `seed`; `scaled` marks the --quick peers. */
function synthetic(seed: number, scaled = false): TrainingResult {
  const r = makeRng(seed);
  const t = (lo: number, hi: number): number => lo * (hi / lo) ** r.next();
  const check = (steps: number) => ({ before: 2.302585, after: 2.302585 - t(1e-4, 0.3), steps });
  const step = t(10, 200);
  return {
    spec: SPEC,
    learningRate: 1e-3,
    quick: scaled,
    peers: {
      convcore: { ms: step, samples: [step], check: check(20) },
      convnetjs: { ms: t(100, 5000), samples: [1], check: check(6), ...(scaled ? { scaledFrom: 10 } : {}) },
      'tfjs-cpu': { ms: t(1000, 40000), samples: [1], check: check(2), ...(scaled ? { scaledFrom: 2 } : {}) },
    },
    peerInfo: { convnetjs: 'convnetjs', 'tfjs-cpu': 'tfjs-cpu' },
    kernels: { sumMs: step / t(0.6, 1.6), calls: 25, stepsPerSample: 8, byKernel: [{ name: 'gemm', calls: 6, ms: 9.5 }] },
    threads: { count: 2, ms: step / t(0.9, 2.1), samples: [1], identicalSteps: 20, splitsPerStep: 9 },
  };
}

/** md with the cell in `column` of the first table line that starts with `rowStart` replaced by `cell`. */
function withCell(md: string, rowStart: string, column: number, cell: string): string {
  const line = md.split('\n').find((l) => l.startsWith(rowStart));
  if (!line) throw new Error(`no line starting with ${rowStart}`);
  const cells = line.split('|');
  cells[column + 1] = ` ${cell} `;
  return md.replace(line, cells.join('|'));
}

describe('the training section agrees with itself', () => {
  it('on 200 synthetic runs, full and --quick', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const { md } = trainingReport(synthetic(seed, seed % 2 === 0));
      expect(checkTraining(md), `seed ${seed}`).toEqual([]);
    }
  });

  it('images/s, ×, overhead and the ratio come from the printed times', () => {
    const { cells } = trainingReport(synthetic(5));
    const ms = (c: Record<string, string>) => Number(c['ms per step'].replace('~', ''));
    const [cc, convnetjs] = cells.peers;
    expect(Number(cc['images/s'])).toBeCloseTo(50_000 / ms(cc), 0);
    expect(Number(convnetjs['×'].replace('×', ''))).toBeCloseTo(ms(convnetjs) / ms(cc), 0);
    const step = Number(cells.step['convcore step ms']);
    const sum = Number(cells.step['Σ kernels alone ms']);
    expect(cells.step['convcore step ms']).toBe(cc['ms per step']);
    expect(Number(cells.step['overhead ms'])).toBeCloseTo(step - sum, 0);
    expect(Number(cells.step['step / Σ kernels'].replace('×', ''))).toBeCloseTo(step / sum, 2);
    // On the pool: the same step, one thread's ms over the pool's.
    const [one, pool] = cells.threads;
    expect(one['convcore ms per step']).toBe(cc['ms per step']);
    expect(pool.threads).toBe('2 threads');
    const poolMs = Number(pool['convcore ms per step']);
    expect(Number(pool['images/s'])).toBeCloseTo(50_000 / poolMs, 0);
    expect(Number(pool['×'].replace('×', ''))).toBeCloseTo(ms(cc) / poolMs, 2);
  });

  it('meets a target only when the printed value reaches it', () => {
    const r = synthetic(9);
    r.peers.convcore.ms = 40;
    r.kernels.sumMs = 40 / 1.3;
    r.peers.convnetjs.ms = 40 * 14.9;
    r.peers['tfjs-cpu'].ms = 40 * 600;
    r.threads.ms = 40 / 1.69;
    const { targets } = trainingReport(r);
    expect(targets.map((t) => t.met)).toEqual([false, true, false, false]);
    r.kernels.sumMs = 40 / 1.2;
    r.peers.convnetjs.ms = 40 * 15.2;
    r.threads.ms = 40 / 1.71;
    expect(trainingReport(r).targets.map((t) => t.met)).toEqual([true, true, true, true]);
  });

  it('catches a changed cell or target line', () => {
    const { md } = trainingReport(synthetic(3));
    const changed: [string, string][] = [
      [withCell(md, '| convcore |', 2, '9999'), 'images/s'],
      [withCell(md, '| convnetjs |', 2, '0.01'), 'images/s'],
      [withCell(md, '| tfjs-cpu |', 3, '2.00×'), '×'],
      [withCell(md, '| convcore |', 1, '1.00'), 'convcore step ms'],
      [md.replace(/^\| [\d.]+ \| ([\d.]+) \| ([-\d.]+) \|/m, (m, sum, over) => m.replace(`| ${over} |`, `| ${Number(over) + 5} |`)), 'overhead ms'],
      [md.replace(/\| ([\d.]+)× \|\n\nThe/, '| 0.50× |\n\nThe'), 'step / Σ kernels'],
      [md.replace(/— \*\*met\*\*|— \*\*not met\*\*/, (m) => (m.includes('not') ? '— **met**' : '— **not met**')), 'target line'],
      [md.replace(/\n- training step, images\/s over tfjs-cpu[^\n]*/, ''), 'training target lines'],
      [withCell(md, '| 2 threads |', 2, '9999'), 'images/s'],
      [withCell(md, '| 2 threads |', 3, '9.99×'), 'training 2 threads: ×'],
      [withCell(md, '| 1 thread |', 1, '1.00'), 'one-thread ms'],
      [withCell(md, '| 1 thread |', 3, '1.00×'), 'training 1 thread: ×'],
      [md.replace('| 2 threads |', '| 3 threads |'), 'convcore training step, 3 threads over one'],
      [md.replace(/\n- convcore training step, 2 threads over one[^\n]*/, ''), 'training target lines'],
    ];
    for (const [text, says] of changed) {
      expect(text, says).not.toBe(md);
      expect(checkTraining(text).join('\n'), says).toContain(says);
    }
  });
});

// ---------------------------------------------------------------- the networks section

type Parts = { net816?: boolean; threeLayer?: boolean; conv?: boolean };

/** The conv rows of the section, as measureRow returns them, with times drawn by `t`. */
function convRows(t: (lo: number, hi: number) => number, scaled: boolean): BenchRow[] {
  const shapes: [string, string, number][] = [
    ['depthwise', 'depthwise x(16,128,56,56) w(128,1,3,3) s1 p1 g128', 2 * 16 * 128 * 56 * 56 * 9],
    ['dilated', 'dilated x(8,64,56,56) w(64,64,3,3) s1 p2 d2', 2 * 8 * 64 * 56 * 56 * 64 * 9],
    ['grouped', 'grouped x(8,64,56,56) w(64,16,3,3) s1 p1 g4', 2 * 8 * 64 * 56 * 56 * 16 * 9],
  ];
  const both = (lo: number, hi: number) => {
    const ms = t(lo, hi);
    return { ms, pool: { ms: ms / t(0.7, 2.1), splits: 1 } };
  };
  return shapes.flatMap(([name, shape, flops]) => [['conv fwd', 'convForward', 1], ['conv bwd dx+dw+db', 'convBackward', 2]].map(([label, kind, mult]) => ({
    label: label as string, kind: kind as string, family: 'conv', shapeName: name, shape, flops: (mult as number) * flops,
    convcore: { ...both(10, 600), kernel: { ...both(5, 300), ...(name === 'depthwise' ? { copy: { ms: t(2, 8), samples: 20 } } : {}) } },
    peers: {
      reference: { ms: t(200, 9000), ...(scaled ? { scaledFrom: 1 } : {}) },
      'tfjs-wasm': kind === 'convForward' && name !== 'grouped' ? { ms: t(5, 300) } : { na: 'no such kernel' },
    },
  })));
}

/** Results as bench/networks.js returns them (with the peak run.js adds), times drawn from `seed`; `parts` picks what an --only run measured. */
function syntheticNetworks(seed: number, parts: Parts = { net816: true, threeLayer: true, conv: true }, scaled = false): NetworksResult {
  const r = makeRng(seed);
  const t = (lo: number, hi: number): number => lo * (hi / lo) ** r.next();
  const seq = t(4, 40);
  const tl = t(15, 60);
  const out: NetworksResult = { quick: scaled, threads: 2, learningRate: 1e-3, batchSize: 50, peak: 24.13, stepVia: 'resident' };
  if (parts.net816) {
    out.net816 = {
      spec: 'conv 8 3x3 pad 1, …',
      sequential: { ms: seq, samples: [seq, seq], stepsPerSample: 8 },
      functional: { ms: seq * t(0.8, 4), samples: [1, 1], stepsPerSample: 3 },
      pool: { ms: seq / t(0.6, 1.9), samples: [1, 1], splitsPerStep: 16 },
      kernels: { sumMs: seq / t(0.8, 1.6), calls: 28, byKernel: [{ name: 'conv_forward', calls: 2, ms: 3.1 }, { name: 'gemm', calls: 3, ms: 0.2 }] },
      identicalSteps: 10,
    };
  }
  if (parts.threeLayer) {
    out.threeLayer = {
      convnet: { ms: tl, samples: [tl, tl] }, replica: { ms: tl * t(0.9, 1.15), samples: [1, 1] },
      pool: { ms: tl / t(0.6, 1.9), samples: [1, 1], splitsPerStep: 12 }, stepsPerSample: 4, identicalSteps: 10,
    };
  }
  if (parts.conv) {
    out.conv = { rows: convRows(t, scaled), copy: { values: 6422528, shape: [16, 128, 56, 56] } };
  }
  return out;
}

describe('the networks section agrees with itself', () => {
  const PARTS: Parts[] = [
    { net816: true, threeLayer: true, conv: true }, { net816: true }, { threeLayer: true }, { conv: true }, { net816: true, conv: true },
  ];

  it('on 200 synthetic runs, full, --quick and the parts an --only run prints', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const { md } = networksReport(syntheticNetworks(seed, PARTS[seed % PARTS.length], seed % 3 === 0));
      expect(checkNetworks(md), `seed ${seed}`).toEqual([]);
    }
  });

  it('images/s, the "over" columns, overhead, the ratios, the pool and kernel / copy come from the printed times', () => {
    const { cells } = networksReport(syntheticNetworks(5));
    const num = (cell: string): number => Number(cell.replace(/[~×%]/g, ''));
    const [seq, func] = cells.net816!;
    expect(num(seq['images/s'])).toBeCloseTo(50_000 / num(seq['ms per step']), 0);
    expect(seq['over Sequential']).toBe('');
    expect(num(func['over Sequential'])).toBeCloseTo(num(func['ms per step']) / num(seq['ms per step']), 2);
    const step = cells.step![0];
    expect(step['Sequential step ms']).toBe(seq['ms per step']);
    expect(num(step['overhead ms'])).toBeCloseTo(num(step['Sequential step ms']) - num(step['Σ kernels alone ms']), 1);
    expect(num(step['step / Σ kernels'])).toBeCloseTo(num(step['Sequential step ms']) / num(step['Σ kernels alone ms']), 2);
    const [convnet, replica] = cells.threeLayer!;
    expect(num(replica['over ThreeLayerConvNet'])).toBeCloseTo(num(replica['ms per step']) / num(convnet['ms per step']), 2);
    const [p816, pReplica] = cells.threads!;
    expect(p816['1 thread ms']).toBe(seq['ms per step']);
    expect(pReplica['1 thread ms']).toBe(replica['ms per step']);
    expect(num(p816['2 threads ×'])).toBeCloseTo(num(p816['1 thread ms']) / num(p816['2 threads ms']), 2);
    for (const c of cells.conv!) {
      if (c.shape.startsWith('depthwise')) {
        const x = num(c['kernel ms']) / num(c['copy ms']);
        expect(num(c['kernel / copy'])).toBeCloseTo(x, x >= 10 ? 1 : 2);
      } else expect([c['copy ms'], c['kernel / copy']]).toEqual(['', '']);
      expect(Math.abs(num(c['% peak']) - (100 * num(c['GFLOP/s'])) / 24.1)).toBeLessThanOrEqual(0.5);
    }
  });

  it('meets a target only when the printed value reaches it', () => {
    const r = syntheticNetworks(9);
    r.net816!.sequential.ms = 10;
    r.net816!.functional.ms = 19.9;
    r.net816!.kernels.sumMs = 10 / 1.16;
    r.threeLayer!.convnet.ms = 20;
    r.threeLayer!.replica.ms = 21.2;
    const kernel = (shape: string, op: string) => r.conv!.rows.find((x) => x.shapeName === shape && x.label === op)!.convcore;
    kernel('depthwise', 'conv fwd').kernel.copy = { ms: 5, samples: 20 };
    kernel('depthwise', 'conv bwd dx+dw+db').kernel.copy = { ms: 5, samples: 20 };
    kernel('depthwise', 'conv fwd').kernel.ms = 15.1;
    kernel('depthwise', 'conv bwd dx+dw+db').kernel.ms = 30.1;
    const flops = 2 * 8 * 64 * 56 * 56 * 64 * 9;
    kernel('dilated', 'conv fwd').ms = flops / (0.69 * 24.1) / 1e6;
    kernel('grouped', 'conv fwd').ms = flops / 4 / (0.59 * 24.1) / 1e6;
    expect(networksReport(r).targets.map((t) => t.met)).toEqual([false, false, false, false, false, false, false]);
    r.net816!.functional.ms = 20;
    r.net816!.kernels.sumMs = 10 / 1.14;
    r.threeLayer!.replica.ms = 20.9;
    kernel('depthwise', 'conv fwd').kernel.ms = 14.9;
    kernel('depthwise', 'conv bwd dx+dw+db').kernel.ms = 29.9;
    kernel('dilated', 'conv fwd').ms = flops / (0.71 * 24.1) / 1e6;
    kernel('grouped', 'conv fwd').ms = flops / 4 / (0.61 * 24.1) / 1e6;
    expect(networksReport(r).targets.map((t) => t.met)).toEqual([true, true, true, true, true, true, true]);
    // A part not measured (an --only run) is not met.
    const only = networksReport(syntheticNetworks(9, { conv: true }));
    for (const t of only.targets.slice(0, 3)) {
      expect(t.met, t.what).toBe(false);
      expect(t.text, t.what).toMatch(/\): not measured — \*\*not met\*\*$/);
    }
  });

  it('catches a changed cell or target line', () => {
    const { md } = networksReport(syntheticNetworks(3));
    const changed: [string, string][] = [
      [withCell(md, '| functional ops |', 3, '9.99×'), 'networks functional ops: over Sequential'],
      [withCell(md, '| Sequential |', 2, '1'), 'networks Sequential: images/s'],
      [withCell(md, '| Sequential |', 1, '1.00'), 'Sequential step ms'],
      [withCell(md, '| Sequential replica |', 3, '0.50×'), 'networks Sequential replica: over ThreeLayerConvNet'],
      [withCell(md, '| ThreeLayerConvNet |', 3, '1.00×'), 'networks ThreeLayerConvNet: over ThreeLayerConvNet is "1.00×"; expected none'],
      [md.replace(/\| ([\d.]+)× \|\n\nThe 28/, '| 0.50× |\n\nThe 28'), 'step / Σ kernels'],
      [withCell(md, '| 8/16 Sequential |', 1, '1.00'), 'the 1 thread ms "1.00"'],
      [withCell(md, '| 8/16 Sequential |', 3, '9.99×'), 'networks 8/16 Sequential: 2 threads ×'],
      [withCell(md, '| ThreeLayerConvNet replica |', 2, '0.001'), 'networks ThreeLayerConvNet replica: 2 threads ×'],
      [withCell(md, '| conv fwd | depthwise', 9, '0.10×'), 'kernel / copy'],
      [withCell(md, '| conv fwd | depthwise', 8, '1000'), 'kernel / copy'],
      [withCell(md, '| conv fwd | dilated', 9, '1.00×'), 'kernel / copy is "1.00×" with no copy ms'],
      [withCell(md, '| conv fwd | dilated', 4, '99%'), 'networks conv fwd dilated x(8,64,56,56) w(64,64,3,3) s1 p2 d2: % peak'],
      [withCell(md, '| conv fwd | grouped', 3, '99.9'), 'networks conv fwd grouped x(8,64,56,56) w(64,16,3,3) s1 p1 g4: GFLOP/s'],
      [withCell(md, '| conv bwd dx+dw+db | depthwise', 15, '9.99×'), 'reference ×'],
      [withCell(md, '| conv fwd | dilated', 11, '9.99×'), '2 threads ×'],
      [md.replace(/against the peak in the header, [\d.]+ GFLOP\/s/, 'against the peak in the header, 48.3 GFLOP/s'), '% peak'],
      [md.replace('| 2 threads ms |', '| 3 threads ms |'), 'columns'],
      [md.replace(/— \*\*met\*\*|— \*\*not met\*\*/, (m) => (m.includes('not') ? '— **met**' : '— **not met**')), 'networks target line'],
      [md.replace(/\n- grouped conv fwd \(groups 4\)[^\n]*/, ''), 'networks target lines'],
      [md.replace(/(depthwise conv fwd, kernel alone over the f64x2 copy of x \(target <= 3×\): )[\d.]+×/, '$11.00×'), 'networks target line 4'],
    ];
    for (const [text, says] of changed) {
      expect(text, says).not.toBe(md);
      expect(checkNetworks(text).join('\n'), says).toContain(says);
    }
  });
});
