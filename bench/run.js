// npm run bench [-- --quick] [-- --out-dir DIR] [-- --only TEXT] [-- --threads N]
//
// Times convcore against its reference loops, convnetjs and tfjs-backend-wasm in one
// process, on the shapes of cases.js, and measures this machine's Wasm f64x2 peak
// in the same run. Prints one Markdown table and writes it, with the raw numbers, to
// bench/results.md and bench/results.json (--quick: bench/results.quick.*, which are
// not committed); a full run also writes the README's summary of it (summary.js). Every
// peer's outputs are checked against the reference loops before it is timed, so that no
// row compares different work. Every column of a row derives from the times printed in
// it (report.js), and the run fails if the document contradicts itself anywhere
// (consistency.js). Then a section times whole training steps
// of a small convnet on the digits (training.js, training-report.js), and a last one the
// networks made with Sequential and the convolutions of the new layers (networks.js,
// networks-report.js).
//
// --quick: few samples, and the plain-JS peers are timed on the first image of each
// conv batch, scaled by N (marked ~ in the table). Two to three minutes.
// --only TEXT: only the rows whose op or shape contains TEXT, and the parts of the networks
// section whose name contains it ('network 8/16', 'network ThreeLayerConvNet', or a conv row's
// op and shape); no training section (writes no file unless --out-dir is given).
// --threads N: the pool's thread count, the calling thread included (default 2). The pool is
// started once; every column runs on one thread (bench/threads.js caps each op to one part)
// except convcore's "N threads" columns, timed in turns with the one-thread ones.

import os from 'node:os';
import { readFileSync, writeFileSync, renameSync, mkdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as convcore from 'convcore';
import * as reference from 'convcore/reference';
import { cases } from './cases.js';
import { SAMPLING, SLOW_CALL_MS, describeSampling } from './timing.js';
import { measurePeak } from './peak.js';
import { measureRow, QUICK_IMAGES } from './measure.js';
import { apiPeer } from './peers/api.js';
import { convnetjsPeer } from './peers/convnetjs.js';
import { tfjsPeer, initTfjs } from './peers/tfjs.js';
import { report } from './report.js';
import { checkConsistency } from './consistency.js';
import { runTraining } from './training.js';
import { trainingReport } from './training-report.js';
import { runConvRows, runNetworkSteps, networksResult } from './networks.js';
import { networksReport } from './networks-report.js';
import { startPool } from './threads.js';
import { withSummary } from './summary.js';
import { loadRelaxed } from './relaxed.js';

function parseArgs(argv) {
  const opts = { quick: false, outDir: null, only: null, threads: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--out-dir') opts.outDir = argv[++i];
    else if (a === '--only') opts.only = argv[++i];
    else if (a === '--threads') {
      opts.threads = Number(argv[++i]);
      if (!Number.isInteger(opts.threads) || opts.threads < 2 || opts.threads > 64) {
        throw new Error(`bench: --threads takes an integer in [2, 64], got ${argv[i]}`);
      }
    } else throw new Error(`bench: unknown argument ${a} (expected --quick, --out-dir DIR, --only TEXT or --threads N)`);
  }
  return opts;
}

const log = (s) => process.stderr.write(`${s}\n`);

/** The rows to run; --only keeps those whose op or shape contains TEXT. */
function selectRows(only) {
  const all = cases();
  return only ? all.filter((r) => `${r.label} ${r.shape}`.includes(only)) : all;
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
function write(dir, quick, md, json) {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, quick ? 'results.quick' : 'results');
  for (const [path, text] of [[`${base}.md`, md], [`${base}.json`, JSON.stringify(json, null, 2)]]) {
    writeFileSync(`${path}.tmp`, `${text}\n`);
    renameSync(`${path}.tmp`, path);
  }
  log(`bench: wrote ${base}.md and ${base}.json`);
}

/** Writes the summary of a full run (summary.js) into README.md, between its summary markers. */
function updateReadme(md) {
  const path = fileURLToPath(new URL('../README.md', import.meta.url));
  const next = withSummary(readFileSync(path, 'utf8'), md);
  if (next === false) {
    log('bench: README.md has no benchmark summary markers; not updated');
    return;
  }
  writeFileSync(path, next);
  log('bench: wrote the summary into README.md');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const mode = opts.quick ? 'quick' : 'full';
  const started = performance.now();
  const threads = await startPool(opts.threads);
  const relaxed = await loadRelaxed();
  const tfjsInfo = await initTfjs();
  const env = {
    quick: opts.quick,
    mode,
    ref: apiPeer('reference', reference, { slow: true }),
    cc: apiPeer('convcore', convcore),
    relaxed: relaxed && apiPeer('relaxed', relaxed),
    others: [convnetjsPeer, tfjsPeer],
    small: new WeakMap(), // problem -> its first images
  };
  const peerNames = [env.ref.name, ...env.others.map((p) => p.name)];

  log(`bench (${mode}, a pool of ${threads} threads): measuring the Wasm f64x2 peak`);
  const peakOpts = { ...(opts.quick ? { runs: 7, runMs: 50 } : { runs: 15, runMs: 100 }), relaxed: Boolean(relaxed) };
  const peakStart = await measurePeak(peakOpts);
  const rows = [];
  for (const row of selectRows(opts.only)) {
    const t0 = performance.now();
    const r = await measureRow(row, env, log);
    rows.push(r);
    const k = r.convcore.kernel;
    const cells = peerNames.map((n) => `${n} ${r.peers[n].na ? 'n/a' : r.peers[n].ms.toFixed(1)}`).join(', ');
    const both = (t) => `${t.ms.toFixed(2)} ms, ${threads} threads ${t.pool.ms.toFixed(2)} ms${t.relaxed ? `, relaxed ${t.relaxed.ms.toFixed(2)} ms` : ''}`;
    log(`  ${r.label} ${r.shape}: convcore ${both(r.convcore)} (kernel ${k.na ? 'n/a' : both(k)}), ${cells} (${((performance.now() - t0) / 1e3).toFixed(1)} s)`);
    globalThis.gc?.();
  }
  // The networks section's conv rows, between the two peak measurements as the op rows are.
  const conv = await runConvRows({ quick: opts.quick, only: opts.only, log });
  const peakEnd = await measurePeak(peakOpts);
  // The higher of the two medians: a disturbed measurement can only lower the peak.
  const peak = { gflops: Math.max(peakStart.gflops, peakEnd.gflops), start: peakStart.gflops, end: peakEnd.gflops, runs: peakOpts.runs };
  if (relaxed) Object.assign(peak, { fma: Math.max(peakStart.fma, peakEnd.fma), fmaStart: peakStart.fma, fmaEnd: peakEnd.fma });
  // Whole training steps, after the op rows (it switches tfjs to its cpu backend and back); not with --only.
  const training = opts.only ? undefined : await runTraining({ quick: opts.quick, log, threads });
  const steps = await runNetworkSteps({ quick: opts.quick, log, only: opts.only, relaxed });
  const networks = networksResult({ quick: opts.quick, threads, peak: peak.gflops, conv, steps });
  if (opts.only && rows.length === 0 && !networks) throw new Error(`bench: nothing matches --only ${opts.only}`);

  const doc = {
    quick: opts.quick,
    quickImages: opts.quick ? QUICK_IMAGES : undefined,
    only: opts.only ?? undefined,
    threads,
    machine: machine(),
    peak,
    sampling: { ...SAMPLING[mode], slowCallMs: SLOW_CALL_MS, rule: describeSampling(mode) },
    peers: [
      'convcore: float64 Wasm f64x2, its public API (and, as "kernel", its Wasm kernels alone on data already in Wasm memory), ' +
        `on one thread and, in the "${threads} threads" columns, on the pool`,
      'reference: convcore/reference, float64 plain-JS loops',
      'convnetjs 0.3: float64 plain JS, a loop over the batch',
      tfjsInfo,
    ],
    peerNames,
    rows,
    seconds: (performance.now() - started) / 1e3,
  };
  const { md: opsMd, cells, targets } = report(doc);
  const section = training && trainingReport(training);
  const netSection = networks && networksReport(networks);
  const md = [opsMd, section?.md, netSection?.md].filter(Boolean).join('\n');
  const problems = checkConsistency(md);
  if (problems.length) throw new Error(`bench: the table contradicts itself:\n${problems.join('\n')}`);
  // The main job, npm start, in a full run: its wall time and test accuracy, as a person sees them.
  const mainJob = opts.quick || opts.only ? null : runMainJob(log);
  const safetensors = opts.quick || opts.only ? null : runSafetensors(log);
  const fullMd = [md, mainJob?.md, safetensors?.md].filter(Boolean).join('\n');
  process.stdout.write(`${fullMd}\n`);
  const json = { ...doc, table: cells, targets: targets.map(({ text, ...t }) => t) };
  if (section) json.training = { ...training, table: section.cells, targets: section.targets.map(({ text, ...t }) => t) };
  if (netSection) json.networks = { ...networks, table: netSection.cells, targets: netSection.targets.map(({ text, ...t }) => t) };
  if (mainJob) json.mainJob = mainJob.result;
  if (safetensors) json.safetensors = safetensors.result;
  if (!opts.only || opts.outDir) write(opts.outDir ?? fileURLToPath(new URL('.', import.meta.url)), opts.quick, fullMd, json);
  if (!opts.quick && !opts.only && !opts.outDir) updateReadme(md);
  log(`bench: ${doc.seconds.toFixed(0)} s`);
}

/**
 * npm start (examples/train.js, every core) run as a child process, nothing else running:
 * its wall time and the test accuracy it prints, and the section of results.md that says so.
 */
function runMainJob(log) {
  const model = join(os.tmpdir(), `convcore-bench-${process.pid}.json`);
  const script = fileURLToPath(new URL('../examples/train.js', import.meta.url));
  log('bench: npm start (examples/train.js) ...');
  const t0 = performance.now();
  const res = spawnSync(process.execPath, [script, '--model', model], { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1e3;
  rmSync(model, { force: true });
  const acc = /test accuracy: ([\d.]+)% on (\d+) images/.exec(res.stdout ?? '');
  if (res.status !== 0 || !acc) throw new Error(`bench: npm start failed (status ${res.status}):\n${res.stderr}`);
  const head = /, (\d+) threads?, the (\w+) build\n/.exec(res.stdout);
  if (!head) throw new Error(`bench: npm start printed no "N threads, the … build" line:\n${res.stdout}`);
  const [, threads, build] = head;
  const result = { seconds, testAccuracy: Number(acc[1]), testImages: Number(acc[2]), threads: Number(threads), build };
  const md = ['## The main job', '', `\`npm start\` (examples/train.js: the Sequential of examples/digits-net.js on the digits, ${threads} threads, the ${build} build): `
    + `test accuracy ${acc[1]}% on ${acc[2]} images, ${seconds.toFixed(1)} s wall (target: at least 97.5% in under 60 s) — `
    + `**${Number(acc[1]) >= 97.5 && seconds < 60 ? 'met' : 'not met'}**`, ''].join('\n');
  return { md, result };
}

/**
 * toSafetensors and fromSafetensors of a 10-million-parameter state dict (80 tensors of
 * 125,000 float64), written as float64 and as float32: the median of 7 timed calls each,
 * after a round trip checked bit for bit (float64) and to the nearest float32.
 */
function runSafetensors(log) {
  log('bench: safetensors ...');
  const TENSORS = 80, EACH = 125_000;
  const tensors = {};
  for (let t = 0; t < TENSORS; t++) {
    const data = new Float64Array(EACH);
    for (let i = 0; i < EACH; i++) data[i] = Math.sin(t * EACH + i) * 3;
    tensors[`${t}.weight`] = { data, shape: [250, 500] };
  }
  const median = (f) => {
    const times = [];
    for (let r = 0; r < 7; r++) {
      const t0 = performance.now();
      f();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[3];
  };
  const rows = [];
  for (const dtype of ['float64', 'float32']) {
    const bytes = convcore.toSafetensors(tensors, { dtype });
    const back = convcore.fromSafetensors(bytes);
    for (const [name, t] of Object.entries(tensors)) {
      const r = back[name].data;
      for (let i = 0; i < EACH; i++) {
        const want = dtype === 'float64' ? t.data[i] : Math.fround(t.data[i]);
        if (!Object.is(r[i], want)) throw new Error(`bench: safetensors ${dtype} round trip differs at ${name}[${i}]`);
      }
    }
    rows.push({ call: `toSafetensors, ${dtype}`, bytes: bytes.length, ms: median(() => convcore.toSafetensors(tensors, { dtype })) });
    rows.push({ call: `fromSafetensors, ${dtype} file`, bytes: bytes.length, ms: median(() => convcore.fromSafetensors(bytes)) });
  }
  const TARGET_MS = 300;
  const md = ['## safetensors', '', `A state dict of ${TENSORS * EACH} parameters (${TENSORS} tensors of ${EACH} values); each round trip was checked first (float64 bit for bit, float32 to the nearest float32). ms: the median of 7 calls.`, '',
    '| call | file bytes | ms |', '|---|--:|--:|',
    ...rows.map((r) => `| ${r.call} | ${r.bytes} | ${r.ms.toFixed(0)} |`), '',
    `- every call under ${TARGET_MS} ms (target): ${rows.map((r) => `${r.ms.toFixed(0)}`).join(', ')} — **${rows.every((r) => Number(r.ms.toFixed(0)) < TARGET_MS) ? 'met' : 'not met'}**`, ''].join('\n');
  return { md, result: { parameters: TENSORS * EACH, tensors: TENSORS, rows, targetMs: TARGET_MS } };
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
