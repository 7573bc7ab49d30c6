// Measuring one row of the table: every peer checked against the reference loops, then
// timed with Benchmark.js (timing.js). A row keeps raw times only; report.js derives the
// rest from the times as printed. convcore (its API, then its kernels alone) is measured on
// one thread and on the pool, the two timed in turns (measureThreads).

import * as convcore from 'convcore';
import { check } from './data.js';
import { OUTPUTS, firstImages } from './cases.js';
import { time, timeInTurns, SAMPLING, SLOW_CALL_MS } from './timing.js';
import { kernelPeer } from './peers/kernel.js';
import { oneThread, onPool, countSplits } from './threads.js';

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

/** Copies of an op's outputs: a kernel's are views of Wasm memory, which its next call overwrites. */
const copy = (outputs) => Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.slice()]));

/** Throws unless every output of the pool is bit for bit one thread's (Object.is on every value). */
function identical(who, pool, one) {
  for (const [key, a] of Object.entries(one)) {
    const b = pool[key];
    if (!b || b.length !== a.length) throw new Error(`${who}: on the pool, '${key}' has ${b?.length ?? 'no'} values; on one thread ${a.length}`);
    for (let i = 0; i < a.length; i++) {
      if (!Object.is(a[i], b[i])) throw new Error(`${who}: on the pool, '${key}'[${i}] is ${b[i]}; on one thread ${a[i]} (not bit-identical)`);
    }
  }
}

/**
 * A fresh op of `peer` on problem q, called once on one thread or on the pool: the op, the
 * call's ms, its outputs (copied) and how many of its kernels ran in more than one part.
 * Fresh, because an update rule's kernel steps its buffers in place.
 */
function callOnce(peer, kind, q, pool) {
  const op = peer.prepare(kind, q);
  if (op.na) return op;
  const t0 = performance.now();
  const { value, splits } = pool ? countSplits(op.run) : { value: oneThread(op.run), splits: 0 };
  const ms = performance.now() - t0;
  return { op, ms, splits, outputs: copy(op.outputs(value)) };
}

/**
 * Measures a convcore peer (its API or its kernels alone) on one thread and on the pool. Each
 * is checked against the reference outputs where the reference ran (checkP), and on the timed
 * problem p the pool's outputs must be bit-identical to one thread's; then the same op is timed
 * on one thread and on the pool in turns (timeInTurns), so that both see the same drift of the
 * machine's speed. Resolves to { ms, samples, rounds, pool: { ms, samples, splits } } or { na }.
 */
async function measureThreads(peer, row, { p, checkP, expected, mode }, relaxedPeer = null, copy = null) {
  const who = `${peer.name} ${row.label} ${row.shape}`;
  if (checkP !== p) {
    // --quick conv rows: checked on the first images (where the reference ran), timed on the batch.
    for (const pool of [false, true]) {
      const c = callOnce(peer, row.kind, checkP, pool);
      if (c.na) return { na: c.na };
      check(`${who}${pool ? ' (pool)' : ''}`, c.outputs, expected, peer.tolerance);
    }
  }
  const one = callOnce(peer, row.kind, p, false);
  if (one.na) return { na: one.na };
  const pool = callOnce(peer, row.kind, p, true);
  if (checkP === p) {
    check(who, one.outputs, expected, peer.tolerance);
    check(`${who} (pool)`, pool.outputs, expected, peer.tolerance);
  }
  identical(who, pool.outputs, one.outputs);
  const { fast, slow, turns } = SAMPLING[mode];
  const settings = mode === 'full' && one.ms >= SLOW_CALL_MS ? slow : fast;
  const { op } = pool;
  // The relaxed build (conv rows): checked against the reference, then timed in the same turns.
  let rx = null;
  if (relaxedPeer) {
    if (checkP !== p) check(`${who} (relaxed)`, callOnce(relaxedPeer, row.kind, checkP, false).outputs, expected, peer.tolerance);
    rx = callOnce(relaxedPeer, row.kind, p, false);
    if (checkP === p) check(`${who} (relaxed)`, rx.outputs, expected, peer.tolerance);
  }
  try {
    const fns = [() => oneThread(op.run), () => onPool(op.run), ...(rx ? [rx.op.run] : []), ...(copy ? [copy.run] : [])];
    const times = await timeInTurns(fns, settings, turns);
    const [t1, tN] = times;
    const out = { ms: t1.ms, samples: t1.samples, rounds: t1.rounds, pool: { ms: tN.ms, samples: tN.samples, splits: pool.splits } };
    if (rx) out.relaxed = { ms: times[2].ms, samples: times[2].samples };
    if (copy) out.copy = { ms: times[fns.length - 1].ms, samples: times[fns.length - 1].samples };
    return out;
  } finally {
    one.op.dispose?.();
    op.dispose?.();
    rx?.op.dispose?.();
  }
}

/**
 * One row of the table: the reference, convcore (its API and its kernels alone, each on one
 * thread and on the pool) and every other peer. Everything but measureThreads' pool timings
 * runs on one thread (bench/threads.js caps every op to one part).
 */
export async function measureRow(row, env, log) {
  const p = row.problem(convcore.tensor);
  const { checkP, scale } = checkProblem(row, p, env);
  const { timing, expected } = await referenceRow(row, checkP, scale, env);
  const peers = { [env.ref.name]: timing };
  const ctx = { p, checkP, expected, mode: env.mode, scale, warm: !env.quick };
  const relaxed = row.family === 'conv' ? env.relaxed : null;
  const mine = await measureThreads(env.cc, row, ctx, relaxed); // a mismatch here throws: the run fails
  // The same, kernels only; with env.copyFor's copy for this row (if any) timed in the same turns.
  mine.kernel = await measureThreads(kernelPeer, row, ctx, null, env.copyFor?.(row) ?? null);
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
