// The check of one row of an op table as report.js prints it (bench/consistency.js runs it on
// the op table, bench/networks-report.js on the networks section's conv table): every derived
// cell recomputed from the numbers printed in the row and the peak, within half a unit of
// its last printed digit.

import { threadColumns, value, halfUnit, derive } from './report.js';
import { CONV_ROWS, parseConvShape, convFlops } from './cases.js';

/** The FLOPs of a table row: a conv op on the shape its cell names, or undefined. */
export function flopsOf(c) {
  const op = CONV_ROWS.find((r) => r.label === c.op);
  const s = parseConvShape(c.shape ?? '');
  return op && s ? op.mult * convFlops(s) : undefined;
}

/**
 * The disagreements of row `c` (cells keyed by column), one line each: GFLOP/s and % peak
 * (from `peak`, the printed peak), the pool's × columns of a pool of `threads`, and each of
 * `peerNames`' ×.
 */
export function checkRow(c, { peak, fmaPeak, threads, peerNames }) {
  const problems = [];
  /** The printed cell must be the derived number, to half a unit of its last digit. */
  const agree = (col, derived, what) => {
    const shown = value(c[col]);
    if (shown === undefined || !Number.isFinite(derived)) {
      problems.push(`${c.op} ${c.shape}: ${col} is "${c[col]}", but ${what} gives ${derived}`);
    } else if (Math.abs(shown - derived) > halfUnit(c[col]) + 1e-9 * Math.abs(derived)) {
      problems.push(`${c.op} ${c.shape}: ${col} is ${c[col]}, but ${what} gives ${derived}`);
    }
  };
  const flops = flopsOf(c);
  if (flops === undefined) {
    for (const col of ['GFLOP/s', '% peak', 'kernel GFLOP/s', 'kernel % peak']) {
      if (c[col]) problems.push(`${c.op} ${c.shape}: ${col} is "${c[col]}" on a row with no FLOP count`);
    }
  } else {
    agree('GFLOP/s', derive.gflops(flops, c['convcore ms']), `FLOPs / convcore ms (${flops} / ${c['convcore ms']})`);
    agree('% peak', derive.pct(c['GFLOP/s'], peak), `GFLOP/s / peak (${c['GFLOP/s']} / ${peak})`);
    if (c['kernel ms']) {
      agree('kernel GFLOP/s', derive.gflops(flops, c['kernel ms']), `FLOPs / kernel ms (${flops} / ${c['kernel ms']})`);
      agree('kernel % peak', derive.pct(c['kernel GFLOP/s'], peak), `kernel GFLOP/s / peak (${c['kernel GFLOP/s']} / ${peak})`);
    } else if (c['kernel GFLOP/s'] || c['kernel % peak']) {
      problems.push(`${c.op} ${c.shape}: kernel figures with no kernel ms`);
    }
  }
  if (value(c['relaxed ms']) !== undefined) {
    agree('relaxed speedup', derive.speedup(c['convcore ms'], c['relaxed ms']), `convcore ms / relaxed ms (${c['convcore ms']} / ${c['relaxed ms']})`);
    if (flops !== undefined) agree('relaxed % FMA peak', derive.pctOf(flops, c['relaxed ms'], fmaPeak), `FLOPs / relaxed ms / FMA peak (${flops} / ${c['relaxed ms']} / ${fmaPeak})`);
  } else if (c['relaxed speedup'] || c['relaxed % FMA peak']) {
    problems.push(`${c.op} ${c.shape}: relaxed figures with no relaxed ms`);
  }
  const T = threadColumns(threads);
  for (const [ms, x, one] of [[T.ms, T.x, 'convcore ms'], [T.kms, T.kx, 'kernel ms']]) {
    if (value(c[ms]) === undefined || value(c[one]) === undefined) {
      if (c[x]) problems.push(`${c.op} ${c.shape}: ${x} is "${c[x]}" with no ${value(c[ms]) === undefined ? ms : one}`);
      continue;
    }
    agree(x, derive.speedup(c[one], c[ms]), `${one} / ${ms} (${c[one]} / ${c[ms]})`);
  }
  for (const n of peerNames) {
    if (value(c[`${n} ms`]) === undefined) {
      if (c[`${n} ×`]) problems.push(`${c.op} ${c.shape}: ${n} × is "${c[`${n} ×`]}" with no ${n} ms`);
      continue;
    }
    agree(`${n} ×`, derive.times(c[`${n} ms`], c['convcore ms']), `${n} ms / convcore ms (${c[`${n} ms`]} / ${c['convcore ms']})`);
  }
  return problems;
}
