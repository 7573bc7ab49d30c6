// The benchmark must keep running: this runs `bench/run.js --quick` in a child
// process and checks that it produced a complete, well-formed table. It asserts
// nothing about speed.
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const SHAPES = ['cs231n', 'resnet', 'strided', 'deep'];
const CONV_KINDS = ['convForward', 'convBackward', 'convBackwardDx'];
const OTHER_KINDS = [
  'maxPoolForward', 'maxPoolBackward', 'batchnormForward', 'batchnormBackward',
  'spatialBatchnormForward', 'spatialBatchnormBackward',
];
const PEERS = ['reference', 'convnetjs', 'tfjs-wasm'];

/** Which peer has which op: anything else must have been measured. */
function expectedNa(kind: string, peer: string): boolean {
  if (kind === 'convBackwardDx') return peer !== 'tfjs-wasm';
  if (kind === 'convBackward') return peer === 'tfjs-wasm';
  if (kind.toLowerCase().includes('batchnorm')) return peer === 'convnetjs' || (peer === 'tfjs-wasm' && kind.endsWith('Backward'));
  return false;
}

interface PeerResult { ms?: number; speedup?: number; na?: string; mismatch?: boolean }
interface Row {
  label: string; kind: string; shape: string; flops?: number;
  convcore: { ms: number; gflops?: number; pctPeak?: number; reused?: boolean; kernel?: { ms: number; gflops?: number; pctPeak?: number } };
  peers: Record<string, PeerResult>;
}

function run(outDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--expose-gc', 'bench/run.js', '--quick', '--out-dir', outDir],
      { cwd: root, maxBuffer: 16 << 20, timeout: 240_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

describe('bench --quick', () => {
  it('runs every row against every peer and writes a well-formed table', async () => {
    expect(existsSync(join(root, 'dist/index.js')), 'bench needs the package built: npm run build').toBe(true);
    const outDir = mkdtempSync(join(tmpdir(), 'convcore-bench-'));
    try {
      const { code, stdout, stderr } = await run(outDir);
      expect(code, stderr).toBe(0);

      const doc = JSON.parse(readFileSync(join(outDir, 'results.quick.json'), 'utf8'));
      const md = readFileSync(join(outDir, 'results.quick.md'), 'utf8');
      expect(stdout).toContain(md.trim());
      expect(positive(doc.peak.gflops)).toBe(true);
      expect(doc.machine.node).toBe(process.versions.node);

      const rows: Row[] = doc.rows;
      const kinds = [...CONV_KINDS.flatMap((k) => SHAPES.map((s) => `${k} ${s}`)), ...OTHER_KINDS];
      expect(rows.map((r) => (r.kind.startsWith('conv') ? `${r.kind} ${r.shape.split(' ')[0]}` : r.kind))).toEqual(kinds);
      for (const r of rows) {
        expect(positive(r.convcore.ms), `${r.label} ${r.shape}`).toBe(true);
        // The kernels alone were measured (and checked) too.
        expect(positive(r.convcore.kernel?.ms), `kernel, ${r.label} ${r.shape}`).toBe(true);
        if (r.kind.startsWith('conv')) {
          expect(positive(r.flops) && positive(r.convcore.gflops) && positive(r.convcore.pctPeak), r.label).toBe(true);
          expect(positive(r.convcore.kernel?.gflops) && positive(r.convcore.kernel?.pctPeak), `kernel, ${r.label}`).toBe(true);
        }
        for (const peer of PEERS) {
          const p = r.peers[peer];
          const where = `${peer}, ${r.label} ${r.shape}`;
          expect(p?.mismatch, where).toBeFalsy();
          if (expectedNa(r.kind, peer)) {
            expect(p?.na, where).toMatch(/\w/);
          } else {
            expect(positive(p?.ms) && positive(p?.speedup), where).toBe(true);
          }
        }
      }

      // The Markdown table: a header, a rule and one line of 13 cells per row.
      const lines = md.split('\n').filter((l) => l.startsWith('|'));
      expect(lines[0]).toMatch(/^\| op \| shape \| convcore ms \| GFLOP\/s \| % peak \| kernel ms \| kernel % peak \| reference ms \| × \| convnetjs ms \| × \| tfjs-wasm ms \| × \|$/);
      expect(lines).toHaveLength(2 + rows.length);
      for (const l of lines.slice(2)) expect(l.split('|').length - 2).toBe(13);
      expect(md).toMatch(/GFLOP\/s/);

      // The target lines, each marked met or not met.
      expect(doc.targets).toHaveLength(13);
      for (const t of doc.targets) expect(typeof t.met).toBe('boolean');
      expect(md.match(/— \*\*(met|not met)\*\*/g)).toHaveLength(13);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 300_000);
});
