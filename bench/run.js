// npm run bench [-- --quick] [-- --out-dir DIR] [-- --only TEXT]
//
// Times convcore against its reference loops, convnetjs and tfjs-backend-wasm in one
// process, on the shapes of DESIGN.md, and measures this machine's Wasm f64x2 peak
// in the same run. Prints one Markdown table and writes it, with the raw numbers, to
// bench/results.md and bench/results.json (--quick: bench/results.quick.*, which are
// not committed). Every peer's outputs are checked against the reference loops
// before it is timed, so that no row compares different work.
//
// --quick: few samples, and the plain-JS peers are timed on the first image of each
// conv batch, scaled by N (marked ~ in the table). Under a minute.
// --only TEXT: only the rows whose op or shape contains TEXT (writes no file unless
// --out-dir is given).

import os from 'node:os';
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as convcore from 'convcore';
import * as reference from 'convcore/reference';
import { cases, OUTPUTS, firstImages } from './cases.js';
import { check } from './data.js';
import { time, SAMPLING } from './timing.js';
import { measurePeak } from './peak.js';
import { apiPeer } from './peers/api.js';
import { convnetjsPeer } from './peers/convnetjs.js';
import { tfjsPeer, initTfjs } from './peers/tfjs.js';
import { acceptance, markdown } from './report.js';

/** Images of a conv batch the plain-JS peers run on in --quick. */
const QUICK_IMAGES = 1;

function parseArgs(argv) {
  const opts = { quick: false, outDir: null, only: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--out-dir') opts.outDir = argv[++i];
    else if (a === '--only') opts.only = argv[++i];
    else throw new Error(`bench: unknown argument ${a} (expected --quick, --out-dir DIR or --only TEXT)`);
  }
  return opts;
}

const log = (s) => process.stderr.write(`${s}\n`);
const pick = (outputs, keys) => Object.fromEntries(keys.map((k) => [k, outputs[k]]));

/**
 * Checks a prepared op once against `expected` (when given), then times it. With
 * `scale`, the op ran on the first images of the batch and its time is multiplied by
 * `scale.factor`. With `sampling.once`, the one timed call is also the checked one.
 * Otherwise the checked call, or with `warm` an extra call, warms the op up (JIT,
 * memory growth) before the timing.
 */
async function checkAndTime(who, op, { expected, tolerance, sampling, scale, warm }) {
  let t;
  if (sampling.once) {
    t = await time(op.run, sampling);
    if (expected) check(who, op.outputs(t.value), expected, tolerance);
  } else {
    if (expected) check(who, op.outputs(op.run()), expected, tolerance);
    else if (warm) op.run();
    t = await time(op.run, sampling);
  }
  const result = { ms: t.ms, samples: t.samples };
  if (scale) Object.assign(result, { ms: t.ms * scale.factor, scaledFrom: scale.images });
  if (op.note) result.note = op.note;
  return result;
}

/**
 * Measures one peer on one row: checked against the reference outputs where the
 * reference ran (checkP), and timed on the whole batch (p), except that a slow peer
 * in --quick is timed where it was checked and scaled.
 */
async function measure(peer, row, { p, checkP, expected, sampling, scale, warm }) {
  const who = `${peer.name} ${row.label} ${row.shape}`;
  const s = sampling[peer.slow ? 'slow' : 'fast'];
  let op = peer.prepare(row.kind, checkP);
  if (op.na) return { na: op.na };
  try {
    if (checkP === p || peer.slow) {
      return await checkAndTime(who, op, { expected, tolerance: peer.tolerance, sampling: s, scale: checkP === p ? null : scale, warm });
    }
    check(who, op.outputs(op.run()), expected, peer.tolerance);
    op.dispose?.();
    op = peer.prepare(row.kind, p);
    return await checkAndTime(who, op, { sampling: s, warm });
  } finally {
    op.dispose?.();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const mode = opts.quick ? 'quick' : 'full';
  const sampling = SAMPLING[mode];
  const started = performance.now();

  const tfjsInfo = await initTfjs();
  const ref = apiPeer('reference', reference, { slow: true });
  const cc = apiPeer('convcore', convcore);
  const others = [convnetjsPeer, tfjsPeer];
  const peerNames = [ref.name, ...others.map((p) => p.name)];

  log(`bench (${mode}): measuring the Wasm f64x2 peak`);
  const peakOpts = opts.quick ? { runs: 7, runMs: 50 } : { runs: 15, runMs: 100 };
  const peakStart = await measurePeak(peakOpts);

  let rows = cases();
  if (opts.only) rows = rows.filter((r) => `${r.label} ${r.shape}`.includes(opts.only));
  const small = new WeakMap(); // problem -> its first images (--quick conv rows)
  const expectedOf = new Map(); // `${shapeName} ${kind}` -> reference outputs
  const results = [];

  for (const row of rows) {
    const t0 = performance.now();
    const p = row.problem(convcore.tensor);
    const N = p.x.shape[0];
    let checkP = p;
    if (opts.quick && row.family === 'conv') {
      if (!small.has(p)) small.set(p, firstImages(p, QUICK_IMAGES, convcore.tensor));
      checkP = small.get(p);
    }
    const scale = checkP === p ? null : { factor: N / QUICK_IMAGES, images: QUICK_IMAGES };
    const key = `${row.shapeName ?? row.label} ${row.kind}`;
    const peers = {};

    // The reference: its outputs are the expected ones, and the same op is timed.
    let expected;
    if (row.kind === 'convBackwardDx') {
      expected = pick(expectedOf.get(`${row.shapeName} convBackward`), ['dx']);
      peers[ref.name] = { na: ref.prepare(row.kind, checkP).na };
    } else {
      const op = ref.prepare(row.kind, checkP);
      let first = null; // the first call's result: the expected outputs
      const timed = { ...op, run: () => { const r = op.run(); first ??= r; return r; } };
      peers[ref.name] = await checkAndTime(ref.name, timed, { sampling: sampling.slow, scale, warm: true });
      expected = pick(op.outputs(first), OUTPUTS[row.kind]);
      expectedOf.set(key, expected);
    }
    const ctx = { p, checkP, expected, sampling, scale, warm: !opts.quick };

    // convcore: checked where the reference ran, timed on the whole batch. It has no
    // dx-only op, so the dx row repeats its full backward.
    let mine;
    if (row.kind === 'convBackwardDx') {
      const bwd = results.find((r) => r.kind === 'convBackward' && r.shapeName === row.shapeName);
      if (!bwd) throw new Error('bench: the dx row needs the conv bwd row of the same shape');
      mine = { ...bwd.convcore, reused: true };
    } else {
      mine = await measure(cc, row, ctx);
      if (row.flops) mine.gflops = row.flops / mine.ms / 1e6;
    }

    for (const peer of others) {
      try {
        peers[peer.name] = await measure(peer, row, ctx);
      } catch (e) {
        if (!/does not match|produced no|values, expected/.test(e.message)) throw e;
        log(`  ${e.message}`);
        peers[peer.name] = { na: `its output did not match the reference: ${e.message}`, mismatch: true };
      }
    }

    // Speedups: the peer's time over convcore's. GFLOP/s of each peer for the conv rows.
    for (const r of Object.values(peers)) {
      if (r.na) continue;
      r.speedup = r.ms / mine.ms;
      if (row.flops) r.gflops = row.flops / r.ms / 1e6;
    }
    results.push({ label: row.label, kind: row.kind, shapeName: row.shapeName, shape: row.shape, flops: row.flops, convcore: mine, peers });
    const cells = peerNames.map((n) => `${n} ${peers[n].na ? 'n/a' : `${peers[n].ms.toFixed(1)}`}`).join(', ');
    log(`  ${row.label} ${row.shape}: convcore ${mine.ms.toFixed(2)} ms, ${cells} (${((performance.now() - t0) / 1e3).toFixed(1)} s)`);
    globalThis.gc?.();
  }

  const peakEnd = await measurePeak(peakOpts);
  const peak = { gflops: Math.max(peakStart.gflops, peakEnd.gflops), start: peakStart.gflops, end: peakEnd.gflops, runs: peakOpts.runs };
  for (const r of results) if (r.convcore.gflops) r.convcore.pctPeak = (100 * r.convcore.gflops) / peak.gflops;

  const cpus = os.cpus();
  const doc = {
    quick: opts.quick,
    quickImages: opts.quick ? QUICK_IMAGES : undefined,
    machine: {
      cpu: cpus[0]?.model ?? 'unknown CPU',
      cores: cpus.length,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.versions.node,
      v8: process.versions.v8,
      date: new Date().toISOString(),
    },
    peak,
    sampling,
    peers: ['convcore: float64 Wasm f64x2, its public API', 'reference: convcore/reference, float64 plain-JS loops', 'convnetjs 0.3: float64 plain JS, a loop over the batch', tfjsInfo],
    peerNames,
    rows: results.map(({ shapeName, ...r }) => r),
    targets: acceptance(results),
    seconds: (performance.now() - started) / 1e3,
  };
  const md = markdown(doc);
  process.stdout.write(`${md}\n`);

  if (!opts.only || opts.outDir) {
    const dir = opts.outDir ?? fileURLToPath(new URL('.', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const base = join(dir, opts.quick ? 'results.quick' : 'results');
    const json = { ...doc, targets: doc.targets.map(({ text, ...t }) => t) };
    for (const [path, text] of [[`${base}.md`, md], [`${base}.json`, JSON.stringify(json, null, 2)]]) {
      writeFileSync(`${path}.tmp`, `${text}\n`);
      renameSync(`${path}.tmp`, path);
    }
    log(`bench: wrote ${base}.md and ${base}.json`);
  }
  log(`bench: ${doc.seconds.toFixed(0)} s`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
