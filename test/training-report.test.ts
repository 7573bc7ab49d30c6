// The training section of the benchmark must not contradict itself: on synthetic results,
// every derived cell follows from the printed times, every target line from the cells, and
// the check reads a section back and catches a changed cell or verdict.
import { describe, it, expect } from 'vitest';
import { trainingReport, checkTraining, TrainingResult } from '../bench/training-report.js';
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
