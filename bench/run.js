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
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as convcore from 'convcore';
import * as reference from 'convcore/reference';
import { cases, OUTPUTS, firstImages } from './cases.js';
import { check } from './data.js';
import { time, median, SAMPLING, SLOW_CALL_MS, describeSampling } from './timing.js';
import { measurePeak } from './peak.js';
import { apiPeer } from './peers/api.js';
import { convnetjsPeer } from './peers/convnetjs.js';
import { tfjsPeer, initTfjs } from './peers/tfjs.js';
import { kernelPeer } from './peers/kernel.js';
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
 * Checks a prepared op once against `expected` (when given), then times it; resolves
 * to { ms, samples, scaledFrom?, note? }.
 * - A slow peer in --quick is called and timed once, and that call is the checked one.
 * - Otherwise the checked call, or with `warm` an extra call, warms the op up (JIT,
 *   memory growth), and in a full run its duration picks the sampling (timing.js).
 * - With `scale`, the op ran on the first images of the batch and its time is
 *   multiplied by `scale.factor`.
 */
async function checkAndTime(who, op, { expected, tolerance, mode, slowPeer, scale, warm }) {
  let t;
  if (mode === 'quick' && slowPeer) {
    t = await time(op.run, SAMPLING.quick.slow);
    if (expected) check(who, op.outputs(t.value), expected, tolerance);
  } else {
    let callMs = 0;
    if (expected || warm) {
      const t0 = performance.now();
      const r = op.run();
      callMs = performance.now() - t0;
      if (expected) check(who, op.outputs(r), expected, tolerance);
    }
    const { fast, slow } = SAMPLING[mode];
    t = await time(op.run, mode === 'full' && callMs >= SLOW_CALL_MS ? slow : fast);
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
async function measure(peer, row, { p, checkP, expected, mode, scale, warm }) {
  const who = `${peer.name} ${row.label} ${row.shape}`;
  let op = peer.prepare(row.kind, checkP);
  if (op.na) return { na: op.na };
  try {
    if (checkP === p || peer.slow) {
      const sc = checkP === p ? null : scale;
      return await checkAndTime(who, op, { expected, tolerance: peer.tolerance, mode, slowPeer: peer.slow, scale: sc, warm });
    }
    check(who, op.outputs(op.run()), expected, peer.tolerance);
    op.dispose?.();
    op = peer.prepare(row.kind, p);
    return await checkAndTime(who, op, { mode, slowPeer: peer.slow, warm });
  } finally {
    op.dispose?.();
  }
}

/**
 * The problem a row is checked on: the whole batch, or in --quick for a conv row its
 * first images (where the plain-JS peers also run, scaled by `scale.factor`).
 */
function checkProblem(row, p, env) {
  if (!env.quick || row.family !== 'conv') return { checkP: p, scale: null };
  if (!env.small.has(p)) env.small.set(p, firstImages(p, QUICK_IMAGES, convcore.tensor));
  return { checkP: env.small.get(p), scale: { factor: p.x.shape[0] / QUICK_IMAGES, images: QUICK_IMAGES } };
}

/** The reference on a row: resolves to its timing and its outputs, the expected ones. */
async function referenceRow(row, checkP, scale, env) {
  const { ref, mode } = env;
  if (row.kind === 'convBackwardDx') {
    const expected = pick(env.expectedOf.get(`${row.shapeName} convBackward`), ['dx']);
    return { timing: { na: ref.prepare(row.kind, checkP).na }, expected };
  }
  const op = ref.prepare(row.kind, checkP);
  let first = null; // the first call's result
  const timed = { ...op, run: () => { const r = op.run(); first ??= r; return r; } };
  const timing = await checkAndTime(ref.name, timed, { mode, slowPeer: true, scale, warm: true });
  const expected = pick(op.outputs(first), OUTPUTS[row.kind]);
  env.expectedOf.set(`${row.shapeName ?? row.label} ${row.kind}`, expected);
  return { timing, expected };
}

/** One row of the table: every peer checked and timed, speedups over each peer. */
async function measureRow(row, env) {
  const p = row.problem(convcore.tensor);
  const { checkP, scale } = checkProblem(row, p, env);
  const { timing, expected } = await referenceRow(row, checkP, scale, env);
  const peers = { [env.ref.name]: timing };
  const ctx = { p, checkP, expected, mode: env.mode, scale, warm: !env.quick };

  // convcore has no dx-only op, so the dx row repeats its full backward.
  let mine;
  if (row.kind === 'convBackwardDx') {
    const bwd = env.results.find((r) => r.kind === 'convBackward' && r.shapeName === row.shapeName);
    mine = { ...bwd.convcore, kernel: { ...bwd.convcore.kernel }, reused: true };
  } else {
    mine = await measure(env.cc, row, ctx); // a mismatch here throws: the run fails
    mine.kernel = await measure(kernelPeer, row, ctx); // the same, kernels only
    if (row.flops) {
      mine.gflops = row.flops / mine.ms / 1e6;
      mine.kernel.gflops = row.flops / mine.kernel.ms / 1e6;
    }
  }

  for (const peer of env.others) {
    try {
      peers[peer.name] = await measure(peer, row, ctx);
    } catch (e) {
      if (!/does not match|produced no|values, expected/.test(e.message)) throw e;
      log(`  ${e.message}`);
      peers[peer.name] = { na: `its output did not match the reference: ${e.message}`, mismatch: true };
    }
  }
  for (const r of Object.values(peers)) {
    if (r.na) continue;
    r.speedup = r.ms / mine.ms;
    r.kernelSpeedup = r.ms / mine.kernel.ms;
    if (row.flops) r.gflops = row.flops / r.ms / 1e6;
  }
  // Pairs only for the conv rows: the memory-bound rows' API times hinge on how the
  // allocator recycles pages, which interleaving other peers' calls changes (see the notes).
  if (!env.quick && row.family === 'conv') await pairedSpeedups(row, p, peers, env);
  return { label: row.label, kind: row.kind, shapeName: row.shapeName, shape: row.shape, flops: row.flops, convcore: mine, peers };
}

/** Mean ms of `reps` back-to-back calls. */
function timeReps(fn, reps) {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / reps;
}

/** Calls per member of a pair: enough to last about 50 ms, as a Benchmark.js sample does. */
const repsFor = (ms) => Math.max(1, Math.ceil(50 / ms));

/**
 * Speedups measured in pairs (full runs): a call of the peer right after a call of
 * convcore's API and one of its kernel alone, repeated, and the median of the time ratios
 * taken. Each ratio compares calls made within the same second or so, so it holds while
 * this VM's speed drifts; a ratio of two medians taken minutes apart does not.
 * The dx row pairs the peer's dx with convcore's full backward (it has no dx alone).
 */
async function pairedSpeedups(row, p, peers, env) {
  const mineKind = row.kind === 'convBackwardDx' ? 'convBackward' : row.kind;
  const ccOp = env.cc.prepare(mineKind, p);
  ccOp.run(); // warm
  for (const peer of [env.ref, ...env.others]) {
    const r = peers[peer.name];
    if (!r || r.na) continue;
    const op = peer.prepare(row.kind, p);
    if (op.na) continue;
    try {
      const n = r.ms >= SLOW_CALL_MS ? 3 : 7;
      const api = [];
      const kernel = [];
      const mine = env.results.find((x) => x.kind === mineKind && x.shapeName === row.shapeName)?.convcore;
      const ccReps = repsFor(mine?.ms ?? r.ms);
      const kReps = repsFor(mine?.kernel?.ms ?? r.ms);
      const pReps = repsFor(r.ms);
      for (let i = 0; i < n; i++) {
        const tc = timeReps(ccOp.run, ccReps);
        const kOp = kernelPeer.prepare(mineKind, p); // its inputs, put back after the API call reused the arena
        const tk = timeReps(kOp.run, kReps);
        const tp = timeReps(op.run, pReps);
        api.push(tp / tc);
        kernel.push(tp / tk);
      }
      r.speedup = median(api);
      r.kernelSpeedup = median(kernel);
      r.pairs = n;
    } finally {
      op.dispose?.();
    }
  }
}

/**
 * % of peak measured in pairs: each timed call (the public API call, then the kernel
 * alone) sits between two short runs of the peak kernel, and its rate is divided by
 * the mean of those two. The median over the pairs is robust to the drift of this VM's
 * speed over seconds and minutes, which a single peak figure for the run is not.
 */
async function pairedPercent(row, p, env) {
  const peakOpts = env.quick ? { runs: 1, runMs: 20 } : { runs: 1, runMs: 60 };
  const pairs = env.quick ? 3 : 9;
  const apiOp = env.cc.prepare(row.kind, p);
  const t0 = performance.now();
  apiOp.run(); // warm, and a first idea of the call's length
  const reps = repsFor(performance.now() - t0);
  const api = [];
  const kernel = [];
  let before = (await measurePeak(peakOpts)).gflops;
  const peaks = [before];
  for (let i = 0; i < pairs; i++) {
    let ms = timeReps(apiOp.run, reps);
    let after = (await measurePeak(peakOpts)).gflops;
    peaks.push(after);
    api.push((100 * row.flops) / ms / 1e6 / ((before + after) / 2));
    before = after;
    const kOp = kernelPeer.prepare(row.kind, p); // puts the inputs in: the API call reused the arena
    ms = timeReps(kOp.run, reps);
    after = (await measurePeak(peakOpts)).gflops;
    peaks.push(after);
    kernel.push((100 * row.flops) / ms / 1e6 / ((before + after) / 2));
    before = after;
  }
  return { api: median(api), kernel: median(kernel), pairs, peak: median(peaks) };
}

/** The rows to run; --only keeps the matching ones (and the bwd row a dx row repeats). */
function selectRows(only) {
  const all = cases();
  if (!only) return all;
  const keep = all.filter((r) => `${r.label} ${r.shape}`.includes(only));
  const needed = (r) => r.kind === 'convBackward' && keep.some((k) => k.kind === 'convBackwardDx' && k.shapeName === r.shapeName);
  return all.filter((r) => keep.includes(r) || needed(r));
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown CPU',
    cores: cpus.length,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.versions.node,
    v8: process.versions.v8,
    date: new Date().toISOString(),
  };
}

/** Writes DIR/results[.quick].md and .json, each through a temporary file. */
function write(dir, quick, md, doc) {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, quick ? 'results.quick' : 'results');
  const json = { ...doc, targets: doc.targets.map(({ text, ...t }) => t) };
  for (const [path, text] of [[`${base}.md`, md], [`${base}.json`, JSON.stringify(json, null, 2)]]) {
    writeFileSync(`${path}.tmp`, `${text}\n`);
    renameSync(`${path}.tmp`, path);
  }
  log(`bench: wrote ${base}.md and ${base}.json`);
}

/** Copies the table of a full run into README.md, between its bench markers. */
function updateReadme(md) {
  const path = fileURLToPath(new URL('../README.md', import.meta.url));
  const readme = readFileSync(path, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const i = readme.indexOf(start);
  const j = readme.indexOf(end);
  if (i < 0 || j < i) {
    log('bench: README.md has no bench markers; not updated');
    return;
  }
  // One heading level down: the table sits under the README's own "Benchmark" heading.
  const body = md.replace(/^# convcore benchmark\n/, '').replace(/^## /gm, '### ').trim();
  writeFileSync(path, `${readme.slice(0, i + start.length)}\n${body}\n${readme.slice(j)}`);
  log('bench: copied the table into README.md');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const mode = opts.quick ? 'quick' : 'full';
  const started = performance.now();
  const tfjsInfo = await initTfjs();
  const env = {
    quick: opts.quick,
    mode,
    ref: apiPeer('reference', reference, { slow: true }),
    cc: apiPeer('convcore', convcore),
    others: [convnetjsPeer, tfjsPeer],
    small: new WeakMap(), // problem -> its first images
    expectedOf: new Map(), // `${shapeName} ${kind}` -> the reference outputs
    results: [],
  };
  const peerNames = [env.ref.name, ...env.others.map((p) => p.name)];

  log(`bench (${mode}): measuring the Wasm f64x2 peak`);
  const peakOpts = opts.quick ? { runs: 7, runMs: 50 } : { runs: 15, runMs: 100 };
  const peakStart = await measurePeak(peakOpts);
  for (const row of selectRows(opts.only)) {
    const t0 = performance.now();
    // (The dx row repeats the backward row's convcore figures, and so its % of peak too.)
    const repeat = row.kind === 'convBackwardDx';
    const r = await measureRow(row, env);
    if (row.flops && !repeat) r.paired = await pairedPercent(row, row.problem(convcore.tensor), env);
    if (repeat) r.paired = env.results.find((b) => b.kind === 'convBackward' && b.shapeName === row.shapeName)?.paired;
    env.results.push(r);
    const cells = peerNames.map((n) => `${n} ${r.peers[n].na ? 'n/a' : r.peers[n].ms.toFixed(1)}`).join(', ');
    log(`  ${r.label} ${r.shape}: convcore ${r.convcore.ms.toFixed(2)} ms (kernel ${r.convcore.kernel.ms.toFixed(2)}), ${cells} (${((performance.now() - t0) / 1e3).toFixed(1)} s)`);
    globalThis.gc?.();
  }
  const peakEnd = await measurePeak(peakOpts);
  // The higher of the two medians: a disturbed measurement can only lower the peak.
  const peak = { gflops: Math.max(peakStart.gflops, peakEnd.gflops), start: peakStart.gflops, end: peakEnd.gflops, runs: peakOpts.runs };
  for (const r of env.results) {
    if (!r.paired) continue;
    r.convcore.pctPeak = r.paired.api;
    r.convcore.kernel.pctPeak = r.paired.kernel;
  }

  const doc = {
    quick: opts.quick,
    quickImages: opts.quick ? QUICK_IMAGES : undefined,
    machine: machine(),
    peak,
    sampling: { ...SAMPLING[mode], slowCallMs: SLOW_CALL_MS, rule: describeSampling(mode) },
    peers: [
      'convcore: float64 Wasm f64x2, its public API (and, as "kernel", its Wasm kernels alone on data already in Wasm memory)',
      'reference: convcore/reference, float64 plain-JS loops',
      'convnetjs 0.3: float64 plain JS, a loop over the batch',
      tfjsInfo,
    ],
    peerNames,
    rows: env.results,
    targets: acceptance(env.results),
    seconds: (performance.now() - started) / 1e3,
  };
  const md = markdown(doc);
  process.stdout.write(`${md}\n`);
  if (!opts.only || opts.outDir) write(opts.outDir ?? fileURLToPath(new URL('.', import.meta.url)), opts.quick, md, doc);
  if (!opts.quick && !opts.only && !opts.outDir) updateReadme(md);
  log(`bench: ${doc.seconds.toFixed(0)} s`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
