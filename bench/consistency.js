// Reads a benchmark document (bench/results.md, as printed) back and checks that it cannot
// contradict itself: every derived column of every row is recomputed from the numbers
// printed in that row and in the header, and every target line from the printed table.
// A number agrees when it is within half a unit of its last printed digit of what the
// printed inputs give. Returns the disagreements, one line each (none: consistent).
// The training section at the end of a document has its own tables and targets, and its
// own check (training-report.js).

import { columns, threadColumns, value, halfUnit, derive, acceptance } from './report.js';
import { CONV_ROWS, parseConvShape, convFlops } from './cases.js';
import { SECTION as TRAINING, checkTraining } from './training-report.js';

/**
 * The header's peak and thread count, and the table as cells, keyed as report.js keys them;
 * `threads` is the count the pool's columns name.
 */
export function parse(md) {
  const peak = /\*\*(\d+(?:\.\d+)?) GFLOP\/s\*\*/.exec(md)?.[1];
  const headerThreads = /init\(\{ threads: (\d+) \}\)/.exec(md)?.[1];
  const lines = md.split('\n').filter((l) => l.startsWith('|'));
  const split = (l) => l.slice(1, -1).split('|').map((c) => c.trim());
  const head = lines.length ? split(lines[0]) : [];
  // A × column belongs to the peer whose ms column comes right before it.
  const keys = head.map((h, i) => (h === '×' ? `${head[i - 1].replace(/ ms$/, '')} ×` : h));
  const cells = lines.slice(2).map((l) => Object.fromEntries(split(l).map((c, i) => [keys[i], c])));
  const threads = keys.map((k) => /^(\d+) threads ms$/.exec(k)?.[1]).find((t) => t !== undefined);
  const own = (k) => ['convcore ms', 'kernel ms'].includes(k) || /^(kernel )?\d+ threads ms$/.test(k);
  const peerNames = keys.filter((k) => k.endsWith(' ms') && !own(k)).map((k) => k.replace(/ ms$/, ''));
  const section = md.indexOf('\n## Targets');
  const targets = section < 0 ? [] : md.slice(section).split('\n').filter((l) => l.startsWith('- '));
  return { peak, headerThreads: headerThreads && Number(headerThreads), threads: threads && Number(threads), keys, cells, peerNames, targets };
}

/** The FLOPs of a table row: a conv op on the shape its cell names, or undefined. */
function flopsOf(c) {
  const op = CONV_ROWS.find((r) => r.label === c.op);
  const s = parseConvShape(c.shape ?? '');
  return op && s ? op.mult * convFlops(s) : undefined;
}

export function checkConsistency(md) {
  const training = md.indexOf(`\n${TRAINING}\n`);
  if (training >= 0) return [...checkConsistency(md.slice(0, training + 1)), ...checkTraining(md.slice(training + 1))];
  const problems = [];
  const { peak, headerThreads, threads, keys, cells, peerNames, targets } = parse(md);
  if (peak === undefined) problems.push('the header gives no peak (**X GFLOP/s**)');
  if (headerThreads === undefined) problems.push('the header gives no thread count (init({ threads: N }))');
  else if (threads !== headerThreads) problems.push(`the header's pool has ${headerThreads} threads, but the columns name ${threads}`);
  const want = columns(peerNames, threads ?? headerThreads);
  if (keys.join('|') !== want.join('|')) problems.push(`the columns are ${keys.join(', ')}; expected ${want.join(', ')}`);
  if (cells.length === 0) problems.push('the table has no rows');

  /** The printed cell must be the derived number, to half a unit of its last digit. */
  const agree = (c, col, derived, what) => {
    const shown = value(c[col]);
    if (shown === undefined || !Number.isFinite(derived)) {
      problems.push(`${c.op} ${c.shape}: ${col} is "${c[col]}", but ${what} gives ${derived}`);
    } else if (Math.abs(shown - derived) > halfUnit(c[col]) + 1e-9 * Math.abs(derived)) {
      problems.push(`${c.op} ${c.shape}: ${col} is ${c[col]}, but ${what} gives ${derived}`);
    }
  };

  const T = threadColumns(threads);
  for (const c of cells) {
    const flops = flopsOf(c);
    if (flops === undefined) {
      for (const col of ['GFLOP/s', '% peak', 'kernel GFLOP/s', 'kernel % peak']) {
        if (c[col]) problems.push(`${c.op} ${c.shape}: ${col} is "${c[col]}" on a row with no FLOP count`);
      }
    } else {
      agree(c, 'GFLOP/s', derive.gflops(flops, c['convcore ms']), `FLOPs / convcore ms (${flops} / ${c['convcore ms']})`);
      agree(c, '% peak', derive.pct(c['GFLOP/s'], peak), `GFLOP/s / peak (${c['GFLOP/s']} / ${peak})`);
      if (c['kernel ms']) {
        agree(c, 'kernel GFLOP/s', derive.gflops(flops, c['kernel ms']), `FLOPs / kernel ms (${flops} / ${c['kernel ms']})`);
        agree(c, 'kernel % peak', derive.pct(c['kernel GFLOP/s'], peak), `kernel GFLOP/s / peak (${c['kernel GFLOP/s']} / ${peak})`);
      } else if (c['kernel GFLOP/s'] || c['kernel % peak']) {
        problems.push(`${c.op} ${c.shape}: kernel figures with no kernel ms`);
      }
    }
    for (const [ms, x, one] of [[T.ms, T.x, 'convcore ms'], [T.kms, T.kx, 'kernel ms']]) {
      if (value(c[ms]) === undefined || value(c[one]) === undefined) {
        if (c[x]) problems.push(`${c.op} ${c.shape}: ${x} is "${c[x]}" with no ${value(c[ms]) === undefined ? ms : one}`);
        continue;
      }
      agree(c, x, derive.speedup(c[one], c[ms]), `${one} / ${ms} (${c[one]} / ${c[ms]})`);
    }
    for (const n of peerNames) {
      if (value(c[`${n} ms`]) === undefined) {
        if (c[`${n} ×`]) problems.push(`${c.op} ${c.shape}: ${n} × is "${c[`${n} ×`]}" with no ${n} ms`);
        continue;
      }
      agree(c, `${n} ×`, derive.times(c[`${n} ms`], c['convcore ms']), `${n} ms / convcore ms (${c[`${n} ms`]} / ${c['convcore ms']})`);
    }
  }

  const recomputed = acceptance(cells, threads).map((t) => t.text);
  if (targets.length !== recomputed.length) problems.push(`${targets.length} target lines; the table gives ${recomputed.length}`);
  recomputed.forEach((line, i) => {
    if (targets[i] !== line) problems.push(`target line ${i + 1} reads\n  ${targets[i]}\nbut the table gives\n  ${line}`);
  });
  return problems;
}
