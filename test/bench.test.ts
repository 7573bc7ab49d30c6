// The benchmark must keep running and must not contradict itself. One test runs
// `bench/run.js --quick` in a child process and checks that it produced a complete,
// well-formed table whose every derived number and target line follows from the numbers
// printed (it asserts nothing about speed). The others check the report and its
// consistency check on synthetic results, and that the check catches a changed cell.
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report, BenchDoc, BenchRow } from '../bench/report.js';
import { checkConsistency } from '../bench/consistency.js';
import { networksReport } from '../bench/networks-report.js';
import { makeRng } from './random.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const SHAPES = ['cs231n', 'resnet', 'strided', 'deep'];
const CONV_KINDS = ['convForward', 'convBackward', 'convBackwardDx'];
const OTHER_KINDS = [
  'maxPoolForward', 'maxPoolBackward', 'batchnormForward', 'batchnormBackward',
  'spatialBatchnormForward', 'spatialBatchnormBackward', 'layernormForward', 'layernormBackward',
  'spatialGroupnormForward', 'spatialGroupnormBackward', 'dropoutForward', 'dropoutBackward',
  'sgd', 'sgdMomentum', 'rmsprop', 'adam',
];
const PEERS = ['reference', 'convnetjs', 'tfjs-wasm'];
const COLUMNS = '| op | shape | convcore ms | GFLOP/s | % peak | kernel ms | kernel GFLOP/s | kernel % peak | ' +
  '2 threads ms | 2 threads × | kernel 2 threads ms | kernel 2 threads × | relaxed ms | relaxed % FMA peak | relaxed speedup | ' +
  'reference ms | × | convnetjs ms | × | tfjs-wasm ms | × |';
/** The column indexes of the table (0 = op). */
const COL = { gflops: 3, pct: 4, kernelPct: 7, poolMs: 8, poolX: 9, kernelPoolMs: 10, kernelPoolX: 11, relaxedMs: 12, relaxedPct: 13, relaxedX: 14, referenceX: 16 };

/** Which peer has which op: anything else must have been measured. */
function expectedNa(kind: string, peer: string): boolean {
  if (peer === 'reference') return false;
  if (peer === 'convnetjs') return !['convForward', 'convBackward', 'maxPoolForward', 'maxPoolBackward'].includes(kind);
  return !['convForward', 'convBackwardDx', 'maxPoolForward', 'maxPoolBackward', 'batchnormForward', 'spatialBatchnormForward'].includes(kind);
}
/** The ops bench/peers/kernel.js times alone. */
function run(outDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--experimental-wasm-relaxed-simd', 'bench/run.js', '--quick', '--out-dir', outDir],
      { cwd: root, maxBuffer: 16 << 20, timeout: 540_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;
const tableLines = (md: string): string[] => md.split('\n').filter((l) => l.startsWith('|'));

/** md with the cell in `column` of the first row whose line contains `rowText` replaced by `cell`. */
function withCell(md: string, rowText: string, column: number, cell: string): string {
  const line = tableLines(md).find((l) => l.includes(rowText));
  if (!line) throw new Error(`no row with ${rowText}`);
  const cells = line.split('|');
  cells[column + 1] = ` ${cell} `;
  return md.replace(line, cells.join('|'));
}

describe('bench --quick', () => {
  it('runs every row against every peer and writes a table that agrees with itself', async () => {
    expect(existsSync(join(root, 'dist/index.js')), 'bench needs the package built: npm run build').toBe(true);
    const outDir = mkdtempSync(join(tmpdir(), 'convcore-bench-'));
    try {
      const { code, stdout, stderr } = await run(outDir);
      expect(code, stderr).toBe(0);

      const doc = JSON.parse(readFileSync(join(outDir, 'results.quick.json'), 'utf8'));
      const md = readFileSync(join(outDir, 'results.quick.md'), 'utf8');
      expect(stdout).toContain(md.trim());
      expect(positive(doc.peak.gflops)).toBe(true);
      // The run is under --experimental-wasm-relaxed-simd: the FMA peak, and the relaxed build on every conv row.
      expect(positive(doc.peak.fma)).toBe(true);
      expect(doc.machine.node).toBe(process.versions.node);
      expect(doc.threads).toBe(2);

      const rows: BenchRow[] = doc.rows;
      const kinds = [...CONV_KINDS.flatMap((k) => SHAPES.map((s) => `${k} ${s}`)), ...OTHER_KINDS];
      expect(rows.map((r) => (r.kind.startsWith('conv') ? `${r.kind} ${r.shape.split(' ')[0]}` : r.kind))).toEqual(kinds);
      for (const r of rows) {
        const where = `${r.label} ${r.shape}`;
        expect(positive(r.convcore.ms), where).toBe(true);
        // Every row's kernels are also measured (and checked) alone, with the data already in Wasm memory.
        expect(positive(r.convcore.kernel?.ms), `kernel, ${where}`).toBe(true);
        // And both again on the pool (checked, and bit-identical to one thread, by the run), split into parts.
        expect(positive(r.convcore.pool?.ms), `pool, ${where}`).toBe(true);
        expect(positive(r.convcore.kernel?.pool?.ms), `kernel on the pool, ${where}`).toBe(true);
        expect(r.convcore.pool?.splits, `pool, ${where}`).toBeGreaterThan(0);
        expect(r.convcore.kernel?.pool?.splits, `kernel on the pool, ${where}`).toBeGreaterThan(0);
        if (r.kind.startsWith('conv')) expect(positive(r.flops), where).toBe(true);
        if (r.kind.startsWith('conv')) expect(positive(r.convcore.relaxed?.ms), `relaxed, ${where}`).toBe(true);
        else expect(r.convcore.relaxed, `relaxed, ${where}`).toBeUndefined();
        for (const peer of PEERS) {
          const p = r.peers[peer];
          expect(p?.mismatch, `${peer}, ${where}`).toBeFalsy();
          if (expectedNa(r.kind, peer)) expect(p?.na, `${peer}, ${where}`).toMatch(/\w/);
          else expect(positive(p?.ms), `${peer}, ${where}`).toBe(true);
        }
      }

      // The Markdown table: the header, a rule and one line of 18 cells per row.
      const [ops] = md.split('\n## Training\n');
      const [training_] = md.slice(ops.length).split('\n## Networks\n');
      const networksMd = md.slice(ops.length + training_.length);
      const lines = tableLines(ops);
      expect(lines[0]).toBe(COLUMNS);
      expect(lines).toHaveLength(2 + rows.length);
      for (const l of lines.slice(2)) expect(l.split('|').length - 2).toBe(21);
      // Every derived number follows from the printed ones, and every target line from the table.
      expect(checkConsistency(md)).toEqual([]);
      expect(doc.targets).toHaveLength(26);
      for (const t of doc.targets) expect(typeof t.met).toBe('boolean');
      expect(ops.match(/— \*\*(met|not met)\*\*/g)).toHaveLength(26);
      // And the check reads this table: a changed × is caught, a peer's and the pool's.
      expect(checkConsistency(withCell(md, 'conv fwd | resnet', COL.referenceX, '99×')).join('\n')).toMatch(/conv fwd resnet.*reference ×/);
      expect(checkConsistency(withCell(md, 'conv fwd | resnet', COL.poolX, '99×')).join('\n')).toMatch(/conv fwd resnet.*2 threads ×/);
      expect(checkConsistency(withCell(md, 'adam step', COL.kernelPoolX, '99×')).join('\n')).toMatch(/adam step.*kernel 2 threads ×/);
      expect(checkConsistency(withCell(md, 'conv fwd | deep', COL.relaxedX, '9.99×')).join('\n')).toMatch(/conv fwd deep.*relaxed speedup/);
      expect(checkConsistency(withCell(md, 'conv fwd | deep', COL.relaxedPct, '1%')).join('\n')).toMatch(/conv fwd deep.*relaxed % FMA peak/);

      // The training section: each peer's loss fell before it was timed, the kernels of a step
      // were timed alone, convcore's step was also timed on the pool (after steps on the pool
      // bit-identical to one thread's), and its four target lines follow from its tables.
      const training = doc.training;
      for (const name of ['convcore', 'convnetjs', 'tfjs-cpu']) {
        const p = training.peers[name];
        expect(positive(p.ms), `training ${name}`).toBe(true);
        expect(p.check.after, `training ${name}`).toBeLessThan(p.check.before);
      }
      expect(positive(training.kernels.sumMs)).toBe(true);
      expect(training.threads.count).toBe(2);
      expect(positive(training.threads.ms)).toBe(true);
      expect(training.threads.identicalSteps).toBeGreaterThan(0);
      expect(training.threads.splitsPerStep).toBeGreaterThan(0);
      expect(training.targets).toHaveLength(4);
      expect(training_.match(/— \*\*(met|not met)\*\*/g)).toHaveLength(4);
      expect(checkConsistency(withCell(md, '| tfjs-cpu |', 3, '1.00×')).join('\n')).toMatch(/training tfjs-cpu: ×/);
      expect(checkConsistency(withCell(md, '| 2 threads |', 3, '9.99×')).join('\n')).toMatch(/training 2 threads: ×/);

      // The networks section: the 8/16 network as a Sequential, through the functional ops and
      // its kernels alone; ThreeLayerConvNet and its replica; both Sequentials on the pool (each
      // checked bit-identical by the run before it was timed); the depthwise, dilated and grouped
      // conv rows with the copy; its seven target lines follow from its tables.
      const net = doc.networks;
      expect(['solver', 'resident']).toContain(net.stepVia);
      for (const t of [net.net816.sequential, net.net816.functional, net.net816.pool, net.threeLayer.convnet, net.threeLayer.replica, net.threeLayer.pool, net.threeLayer.relaxed]) {
        expect(positive(t.ms)).toBe(true);
      }
      expect(positive(net.net816.kernels.sumMs)).toBe(true);
      expect(net.net816.kernels.byKernel.map((g: { name: string }) => g.name)).toEqual(expect.arrayContaining(['conv_forward', 'batchnorm_forward', 'conv_backward', 'adam_step']));
      expect(net.net816.identicalSteps).toBeGreaterThan(0);
      expect(net.threeLayer.identicalSteps).toBeGreaterThan(0);
      expect(net.net816.pool.splitsPerStep).toBeGreaterThan(0);
      expect(net.threeLayer.pool.splitsPerStep).toBeGreaterThan(0);
      const convRows: BenchRow[] = net.conv.rows;
      expect(convRows.map((r) => `${r.label} ${r.shapeName}`)).toEqual(['depthwise', 'dilated', 'grouped'].flatMap((n) => [`conv fwd ${n}`, `conv bwd dx+dw+db ${n}`]));
      for (const r of convRows) {
        const where = `${r.label} ${r.shape}`;
        expect(positive(r.convcore.ms), where).toBe(true);
        expect(positive(r.convcore.kernel?.ms), `kernel, ${where}`).toBe(true);
        expect(positive(r.convcore.pool?.ms), `pool, ${where}`).toBe(true);
        expect(positive(r.peers.reference?.ms), `reference, ${where}`).toBe(true);
        // tfjs-wasm has the depthwise and the dilated forward, no grouped conv and no dw.
        const tfjs = r.kind === 'convForward' && r.shapeName !== 'grouped';
        expect(tfjs ? positive(r.peers['tfjs-wasm']?.ms) : r.peers['tfjs-wasm']?.na, `tfjs-wasm, ${where}`).toBeTruthy();
      }
      for (const r of convRows) expect(r.shapeName === 'depthwise' ? positive(r.convcore.kernel?.copy?.ms) : !r.convcore.kernel?.copy, `copy, ${r.label} ${r.shape}`).toBeTruthy();
      expect(net.targets).toHaveLength(7);
      for (const t of net.targets) expect(typeof t.met).toBe('boolean');
      expect(networksMd.match(/— \*\*(met|not met)\*\*/g)).toHaveLength(7);
      expect(networksMd).not.toMatch(/not measured/);
      expect(checkConsistency(withCell(md, '| functional ops |', 3, '99.9×')).join('\n')).toMatch(/networks functional ops: over Sequential/);
      expect(checkConsistency(withCell(md, '| conv fwd | depthwise', 9, '0.01×')).join('\n')).toMatch(/networks conv fwd depthwise.*kernel \/ copy/);
      expect(checkConsistency(withCell(md, '| conv fwd | dilated', 4, '1%')).join('\n')).toMatch(/networks conv fwd dilated.*% peak/);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 560_000);
});

// ---------------------------------------------------------------- the report on synthetic results

const PEAK = 24.13;

/** Results as run.js collects them, with times drawn from `seed`: conv rows, memory-bound rows, a note, a scaled time, gaps. */
function syntheticDoc(seed: number): BenchDoc {
  const r = makeRng(seed);
  const t = (lo: number, hi: number): number => lo * (hi / lo) ** r.next();
  /** A one-thread time and the pool's, at 0.9 to 2.1 times the speed. */
  const both = (lo: number, hi: number) => {
    const ms = t(lo, hi);
    return { ms, pool: { ms: ms / t(0.9, 2.1), splits: 1 } };
  };
  const conv = (label: string, kind: string, mult: number, shape: string, flops: number): BenchRow => ({
    label, kind, family: 'conv', shapeName: shape.split(' ')[0], shape, flops: mult * flops,
    convcore: { ...both(5, 300), kernel: kind === 'convBackwardDx' ? { na: 'not timed alone' } : both(5, 300), relaxed: { ms: t(5, 300) } },
    peers: {
      reference: { ms: t(200, 9000), scaledFrom: 1 },
      convnetjs: kind === 'convBackwardDx' ? { na: 'no dx-only op' } : { ms: t(200, 9000), scaledFrom: 1 },
      'tfjs-wasm': kind === 'convBackward' ? { na: 'no dw kernel' } : { ms: t(5, 600) },
    },
  });
  const other = (label: string, kind: string): BenchRow => ({
    label, kind, family: 'norm', shape: 'x(50,32768)',
    convcore: { ...both(0.1, 30), kernel: r.chance(0.5) ? both(0.05, 5) : { na: 'not timed alone' } },
    peers: {
      reference: { ms: t(0.5, 200) },
      convnetjs: { na: 'no such layer' },
      'tfjs-wasm': r.chance(0.5) ? { ms: t(0.2, 60), note: 'a note' } : { na: 'no such kernel' },
    },
  });
  const shapes: [string, number][] = [
    ['cs231n x(50,3,32,32) w(32,3,7,7) s1 p3', 2 * 50 * 32 * 32 * 32 * 3 * 49],
    ['resnet x(8,64,56,56) w(64,64,3,3) s1 p1', 2 * 8 * 64 * 56 * 56 * 64 * 9],
  ];
  const rows = [
    ...shapes.map(([s, f]) => conv('conv fwd', 'convForward', 1, s, f)),
    ...shapes.map(([s, f]) => conv('conv bwd dx+dw+db', 'convBackward', 2, s, f)),
    ...shapes.map(([s, f]) => conv('conv bwd dx only', 'convBackwardDx', 1, s, f)),
    other('batchnorm fwd', 'batchnormForward'), other('batchnorm bwd', 'batchnormBackward'), other('adam step', 'adam'),
  ];
  return {
    quick: false,
    threads: 2,
    machine: { cpu: 'a CPU', cores: 2, os: 'an OS', node: '20', v8: '11', date: 'today' },
    peak: { gflops: PEAK, start: PEAK, end: 23.2, runs: 15, fma: 1.3 * PEAK, fmaStart: 1.3 * PEAK, fmaEnd: 30 },
    sampling: { rule: 'some samples' },
    peers: ['the peers'],
    peerNames: ['reference', 'convnetjs', 'tfjs-wasm'],
    rows,
  };
}

describe('the report on synthetic results', () => {
  it('on 60 synthetic runs, every derived cell and target line follows from the printed numbers', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const { md } = report(syntheticDoc(seed));
      expect(checkConsistency(md), `seed ${seed}`).toEqual([]);
    }
  });

  it('% of peak is the printed GFLOP/s over the printed peak, and × the ratio of the printed times', () => {
    const { cells } = report(syntheticDoc(7));
    const times = (cell: string): number => Number(cell.replace('×', ''));
    for (const c of cells) {
      // The pool's speedup: one thread's ms over the pool's, as printed.
      const x = Number(c['convcore ms']) / Number(c['2 threads ms']);
      expect(times(c['2 threads ×'])).toBeCloseTo(x, x >= 10 ? 1 : 2);
      if (c['kernel ms']) expect(times(c['kernel 2 threads ×'])).toBeCloseTo(Number(c['kernel ms']) / Number(c['kernel 2 threads ms']), 2);
      else expect(c['kernel 2 threads ×']).toBe('');
    }
    for (const c of cells.filter((x) => x.op === 'conv fwd')) {
      const gf = Number(c['GFLOP/s']);
      expect(Math.abs(Number(c['% peak'].replace('%', '')) - (100 * gf) / Number(PEAK.toFixed(1)))).toBeLessThanOrEqual(0.5);
      const x = Number(c['reference ms'].replace('~', '')) / Number(c['convcore ms']);
      expect(Number(c['reference ×'].replace('×', ''))).toBeCloseTo(x, x >= 100 ? -0.3 : x >= 10 ? 1 : 2);
    }
  });

  it('a document with the networks section: the section is checked, against the header\'s peak and pool', () => {
    const doc = syntheticDoc(11);
    const section = (peak: number, threads = 2) => networksReport({
      quick: false, threads, learningRate: 1e-3, batchSize: 50, peak,
      conv: { rows: syntheticDoc(12).rows.filter((r) => r.kind !== 'convBackwardDx'), copy: undefined },
    }).md;
    const { md } = report(doc);
    expect(checkConsistency(`${md}\n${section(PEAK)}`)).toEqual([]);
    const changed: [string, string][] = [
      [`${md}\n${section(30.2)}`, 'the networks section takes the peak as 30.2 GFLOP/s; the header gives 24.1'],
      [`${md}\n${section(PEAK, 3)}`, 'the networks section\'s pool has 3 threads; the header\'s 2'],
      [`${md}\n${withCell(section(PEAK), 'conv fwd | resnet', 2, '1.00')}`, 'networks conv fwd resnet'],
      [`${withCell(md, 'conv fwd | resnet', COL.referenceX, '3.00×')}\n${section(PEAK)}`, 'reference ×'],
    ];
    for (const [text, says] of changed) expect(checkConsistency(text).join('\n'), says).toContain(says);
  });

  it('an --only document may have no op rows, and says so in its header', () => {
    const doc = { ...syntheticDoc(13), rows: [] };
    expect(checkConsistency(report(doc).md)).toEqual(['the table has no rows']);
    expect(checkConsistency(report({ ...doc, only: 'depthwise' }).md)).toEqual([]);
  });

  it('catches a changed cell or target line', () => {
    const { md } = report(syntheticDoc(3));
    const changed: [string, string][] = [
      [withCell(md, 'conv fwd | cs231n', COL.gflops, '99.9'), 'GFLOP/s'],
      [withCell(md, 'conv fwd | cs231n', COL.pct, '1%'), '% peak'],
      [withCell(md, 'conv bwd dx+dw+db | resnet', COL.kernelPct, '2%'), 'kernel % peak'],
      [withCell(md, 'conv fwd | resnet', COL.referenceX, '3.00×'), 'reference ×'],
      [withCell(md, 'conv bwd dx+dw+db | resnet', COL.poolX, '0.10×'), '2 threads ×'],
      [withCell(md, 'conv bwd dx+dw+db | resnet', COL.kernelPoolX, '0.10×'), 'kernel 2 threads ×'],
      [withCell(md, 'conv fwd | cs231n', COL.poolMs, '0.001'), '2 threads ×'],
      [withCell(md, 'conv fwd | cs231n', COL.kernelPoolMs, '0.001'), 'kernel 2 threads ×'],
      [withCell(md, 'conv bwd dx only | cs231n', COL.kernelPoolX, '1.00×'), 'kernel 2 threads × is "1.00×" with no kernel'],
      [withCell(md, 'conv fwd | resnet', COL.relaxedX, '0.01×'), 'relaxed speedup'],
      [withCell(md, 'conv fwd | resnet', COL.relaxedPct, '1%'), 'relaxed % FMA peak'],
      [md.replace('init({ threads: 2 })', 'init({ threads: 3 })'), 'the header\'s pool has 3 threads'],
      [withCell(md, 'batchnorm fwd', 2, '1000'), 'reference ×'],
      [md.replace(/\*\*[\d.]+ GFLOP\/s\*\*/, '**48.3 GFLOP/s**'), '% peak'],
      [md.replace(/— \*\*met\*\*|— \*\*not met\*\*/, (m) => (m.includes('not') ? '— **met**' : '— **not met**')), 'target line'],
      [md.replace(/(conv fwd, speedup over reference \(target >= 15×\): cs231n )[\d.]+×/, '$1999×'), 'target line 5'],
      [md.replace(/(conv fwd, 2 threads over one, public API \(target >= 1.8×\): cs231n )[\d.]+×/, '$19.99×'), 'target line 14'],
      [md.replace(/(tfjs-wasm ms \(one thread\) \/ convcore 2 threads ms, public API \(target >= 1×\): )/, '$1deep 9.99×, '), 'target line 20'],
    ];
    for (const [text, says] of changed) {
      expect(text, says).not.toBe(md);
      expect(checkConsistency(text).join('\n'), says).toContain(says);
    }
  });
});
