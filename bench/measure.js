// Measuring one row of the table: every peer checked against the reference loops, then
// timed with Benchmark.js (timing.js). A row keeps raw times only; report.js derives the
// rest from the times as printed.

import * as convcore from 'convcore';
import { check } from './data.js';
import { OUTPUTS, firstImages } from './cases.js';
import { time, SAMPLING, SLOW_CALL_MS } from './timing.js';
import { kernelPeer } from './peers/kernel.js';

/** Images of a conv batch the plain-JS peers run on in --quick. */
export const QUICK_IMAGES = 1;

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
  const op = env.ref.prepare(row.kind, checkP);
  let first = null; // the first call's result
  const timed = { ...op, run: () => { const r = op.run(); first ??= r; return r; } };
  const timing = await checkAndTime(env.ref.name, timed, { mode: env.mode, slowPeer: true, scale, warm: true });
  return { timing, expected: pick(op.outputs(first), OUTPUTS[row.kind]) };
}

/** One row of the table: the reference, convcore (its API and its kernels alone) and every other peer. */
export async function measureRow(row, env, log) {
  const p = row.problem(convcore.tensor);
  const { checkP, scale } = checkProblem(row, p, env);
  const { timing, expected } = await referenceRow(row, checkP, scale, env);
  const peers = { [env.ref.name]: timing };
  const ctx = { p, checkP, expected, mode: env.mode, scale, warm: !env.quick };
  const mine = await measure(env.cc, row, ctx); // a mismatch here throws: the run fails
  mine.kernel = await measure(kernelPeer, row, ctx); // the same, kernels only
  if (mine.kernel.na) mine.kernel = { na: 'bench/peers/kernel.js does not time this kernel alone' };
  for (const peer of env.others) {
    try {
      peers[peer.name] = await measure(peer, row, ctx);
    } catch (e) {
      if (!/does not match|produced no|values, expected/.test(e.message)) throw e;
      log(`  ${e.message}`);
      peers[peer.name] = { na: `its output did not match the reference: ${e.message}`, mismatch: true };
    }
  }
  return { label: row.label, kind: row.kind, family: row.family, shapeName: row.shapeName, shape: row.shape, flops: row.flops, convcore: mine, peers };
}
