// The networks section as Markdown, and its check. As in the op table and the training
// section, every derived number comes from numbers printed in the section, after rounding:
//   images/s = images per step / (ms per step / 1000),
//   over Sequential / over ThreeLayerConvNet = the row's ms / the first row's ms,
//   overhead = step ms − Σ kernels ms,  step / Σ kernels = step ms / Σ kernels ms,
//   N threads × = the 1 thread ms / the N threads ms,
// and in the conv table every column as report.js derives it (GFLOP/s, % peak against the
// peak the section names, which is the header's, the pool's ×, each peer's ×), with
//   kernel / copy = kernel ms / copy ms.
// Each target line takes its value from one printed cell. checkNetworks() reads a section (or
// the parts of it that an --only run printed) back and checks all of it.

import { fmt, value, halfUnit, tableRows, columns, heading, peerNoteLines } from './report.js';
import { derive as trainingDerive } from './training-report.js';
import { checkRow } from './row-check.js';

export const SECTION = '## Networks';
const TARGETS_HEADING = 'Networks targets:';

/** The peers of the conv table (convnetjs has neither dilation nor groups). */
export const CONV_PEERS = ['reference', 'tfjs-wasm'];

export const NET816_COLUMNS = ['8/16 network, one thread', 'ms per step', 'images/s', 'over Sequential'];
export const STEP_COLUMNS = ['Sequential step ms', 'Σ kernels alone ms', 'overhead ms', 'step / Σ kernels'];
export const THREE_LAYER_COLUMNS = ['ThreeLayerConvNet, one thread', 'ms per step', 'images/s', 'over ThreeLayerConvNet'];
export const threadCols = (n) => ['network', '1 thread ms', `${n} threads ms`, `${n} threads ×`];
/** The conv table: report.js's columns for these peers, with the copy's two after the kernel's. */
export function convColumns(n) {
  const cols = columns(CONV_PEERS, n);
  const at = cols.indexOf('kernel % peak') + 1;
  return [...cols.slice(0, at), 'copy ms', 'kernel / copy', ...cols.slice(at)];
}

const ROW = {
  sequential: 'Sequential', functional: 'functional ops', convnet: 'ThreeLayerConvNet', replica: 'Sequential replica',
  net816: '8/16 Sequential', threeLayer: 'ThreeLayerConvNet replica', relaxed: 'ThreeLayerConvNet, relaxed build',
};

const rate = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The derived numbers, from printed cells: the same functions make the section and check it. */
export const derive = {
  rate: trainingDerive.rate,
  over: (msCell, firstCell) => value(msCell) / value(firstCell),
  overhead: trainingDerive.overhead,
  ratio: trainingDerive.ratio,
  speedup: (oneCell, poolCell) => value(oneCell) / value(poolCell),
  perCopy: (kernelCell, copyCell) => value(kernelCell) / value(copyCell),
};

/** Rows of a step table: the first is the baseline, each other gets its ms over the baseline's. */
function stepRows(images, first, rows, col) {
  const out = rows.map(([name, ms]) => {
    const c = { [first]: name, 'ms per step': fmt.ms(ms) };
    c['images/s'] = rate(derive.rate(images, c['ms per step']));
    return c;
  });
  out.forEach((c, i) => { c[col] = i === 0 ? '' : fmt.times(derive.over(c['ms per step'], out[0]['ms per step'])); });
  return out;
}

/** Whether a conv-table row is the op on the shape named `shapeName`. */
const convRow = (op, shapeName) => (c) => c.op === op && c.shape.split(' ')[0] === shapeName;

/**
 * The targets: each reads one cell (`table`, the row it picks, the column) and bounds it.
 * 'Within 5%' is read as at most 1.05×: the replica may be faster.
 */
const TARGETS = [
  {
    what: '8/16 network: the functional ops\' step over the Sequential\'s, one thread', table: 'net816',
    row: (c) => c[NET816_COLUMNS[0]] === ROW.functional, col: 'over Sequential', op: '>=', target: 2, unit: '×',
  },
  {
    what: '8/16 network: the Sequential\'s step over the sum of its kernels timed alone', table: 'step',
    row: () => true, col: 'step / Σ kernels', op: '<=', target: 1.15, unit: '×',
  },
  {
    what: 'ThreeLayerConvNet\'s Sequential replica: its step over ThreeLayerConvNet\'s, in alternating turns', table: 'threeLayer',
    row: (c) => c[THREE_LAYER_COLUMNS[0]] === ROW.replica, col: 'over ThreeLayerConvNet', op: '<=', target: 1.05, unit: '×',
  },
  {
    what: 'depthwise conv fwd, kernel alone over the f64x2 copy of x', table: 'conv',
    row: convRow('conv fwd', 'depthwise'), col: 'kernel / copy', op: '<=', target: 3, unit: '×',
  },
  {
    what: 'depthwise conv bwd dx+dw+db, kernel alone over the f64x2 copy of x', table: 'conv',
    row: convRow('conv bwd dx+dw+db', 'depthwise'), col: 'kernel / copy', op: '<=', target: 6, unit: '×',
  },
  {
    what: 'dilated conv fwd (dilation 2), % of peak, public API', table: 'conv',
    row: convRow('conv fwd', 'dilated'), col: '% peak', op: '>=', target: 70, unit: '%',
  },
  {
    what: 'grouped conv fwd (groups 4), % of peak, public API', table: 'conv',
    row: convRow('conv fwd', 'grouped'), col: '% peak', op: '>=', target: 60, unit: '%',
  },
];

const bound = (t) => `${t.op} ${t.target}${t.unit}`;

/** The target lines from the section's tables ({ net816, step, threeLayer, conv }, each rows of cells, any absent): { what, target, value, met, text }. */
export function networksTargets(tables) {
  return TARGETS.map((t) => {
    const row = (tables[t.table] ?? []).find(t.row);
    const shown = row?.[t.col] ?? '';
    const v = value(shown);
    const met = v !== undefined && (t.op === '>=' ? v >= t.target : v <= t.target);
    return {
      what: t.what, target: bound(t), value: v, met,
      text: `- ${t.what} (target ${bound(t)}): ${v === undefined ? 'not measured' : shown} — **${met ? 'met' : 'not met'}**`,
    };
  });
}

/** The section's cells: { net816?, step?, threeLayer?, threads?, conv? }, each rows of cells keyed by column. */
export function networksCells(result) {
  const images = result.batchSize;
  const n = result.threads;
  const out = {};
  const threadRows = [];
  const pool = (name, oneCell, ms) => {
    const c = { network: name, '1 thread ms': oneCell, [`${n} threads ms`]: fmt.ms(ms) };
    c[`${n} threads ×`] = fmt.times(derive.speedup(c['1 thread ms'], c[`${n} threads ms`]));
    threadRows.push(c);
  };
  if (result.net816) {
    const r = result.net816;
    out.net816 = stepRows(images, NET816_COLUMNS[0], [[ROW.sequential, r.sequential.ms], [ROW.functional, r.functional.ms]], NET816_COLUMNS[3]);
    const seq = out.net816[0]['ms per step'];
    const step = { 'Sequential step ms': seq, 'Σ kernels alone ms': fmt.ms(r.kernels.sumMs) };
    step['overhead ms'] = fmt.ms(derive.overhead(step['Sequential step ms'], step['Σ kernels alone ms']));
    step['step / Σ kernels'] = fmt.times(derive.ratio(step['Sequential step ms'], step['Σ kernels alone ms']));
    out.step = [step];
    pool(ROW.net816, seq, r.pool.ms);
  }
  if (result.threeLayer) {
    const r = result.threeLayer;
    out.threeLayer = stepRows(images, THREE_LAYER_COLUMNS[0], [[ROW.convnet, r.convnet.ms], [ROW.replica, r.replica.ms],
      ...(r.relaxed ? [[ROW.relaxed, r.relaxed.ms]] : [])], THREE_LAYER_COLUMNS[3]);
    pool(ROW.threeLayer, out.threeLayer[1]['ms per step'], r.pool.ms);
  }
  if (threadRows.length) out.threads = threadRows;
  if (result.conv) {
    const notes = [];
    const rows = tableRows({ rows: result.conv.rows, peerNames: CONV_PEERS, peak: { gflops: result.peak }, threads: n }, notes);
    rows.forEach((c, i) => {
      const copy = result.conv.rows[i].convcore.kernel?.copy;
      c['copy ms'] = copy ? fmt.ms(copy.ms) : '';
      const withCopy = Boolean(copy);
      c['kernel / copy'] = withCopy && c['kernel ms'] ? fmt.times(derive.perCopy(c['kernel ms'], c['copy ms'])) : '';
    });
    out.conv = rows;
    out.convNotes = notes;
  }
  return out;
}

const tableLines = (columns, rows, { headings = columns, left = 1 } = {}) => [
  `| ${headings.join(' | ')} |`,
  `|${columns.map((c, i) => (i < left ? '---' : '--:')).join('|')}|`,
  ...rows.map((r) => `| ${columns.map((k) => r[k]).join(' | ')} |`),
];

/** The section: description, the tables of the parts measured, the notes and the target lines. */
export function networksReport(result) {
  const n = result.threads;
  const images = result.batchSize;
  const cells = networksCells(result);
  const targets = networksTargets(cells);
  const via = result.stepVia === 'solver'
    ? 'solver.step() (the Solver takes a Sequential)'
    : 'a copy of solver.step() made in bench/networks.js from the calls it makes (the model\'s training step, then updateResident on every parameter with ' +
      'Adam\'s state in WebAssembly memory), because the Solver of this build takes only ThreeLayerConvNet and FullyConnectedNet; ThreeLayerConvNet steps through the same copy';
  const out = [SECTION, ''];
  if (result.net816 || result.threeLayer) {
    out.push(
      `Whole training steps of networks made with Sequential, on the digits (input (1,28,28)), batch ${images}, Adam with learning rate ` +
        `${result.learningRate}, softmax loss. A step is the forward, the backward and the update of one batch, through ${via}: the minibatch ` +
        'drawn with replacement by the seeded generator and gathered, copied into the network\'s WebAssembly buffers, forward, backward, the loss ' +
        `read out, and Adam in place on every parameter. images/s = ${images} / (ms per step / 1000); an "over" column is the row's ms over the ` +
        'first row\'s; × = the 1 thread ms / the pool\'s; all from the printed times.',
      '',
    );
  }
  if (result.net816) {
    const r = result.net816;
    out.push(
      `The 8/16 network: ${r.spec}. "functional ops" is the same network through the functional API (convForward, spatialBatchnormForward, ` +
        'reluForward, maxPoolForward, …, affineForward, softmaxLoss, the backward ops in reverse, and adam on each parameter), each op copying ' +
        'its inputs into WebAssembly memory and its results out into fresh arrays, on the same batches.',
      '',
      ...tableLines(NET816_COLUMNS, cells.net816),
      '',
      ...tableLines(STEP_COLUMNS, cells.step, { left: 0 }),
      '',
      `The ${r.kernels.calls} kernel calls of a Sequential step, each timed alone (ms): ` +
        r.kernels.byKernel.map((g) => `${g.name}${g.calls > 1 ? ` ×${g.calls}` : ''} ${fmt.ms(g.ms)}`).join(', ') + '.',
      '',
    );
  }
  if (result.threeLayer) {
    out.push(
      'ThreeLayerConvNet (the training section\'s network) and its replica as a Sequential: conv 32 7x7 pad 3, relu, 2x2 max pool, affine 100, ' +
        'relu, affine 10, init { weightScale: 1e-3 }, given ThreeLayerConvNet\'s weights.',
      '',
      ...tableLines(THREE_LAYER_COLUMNS, cells.threeLayer),
      '',
    );
  }
  if (cells.threads) out.push(...tableLines(threadCols(n), cells.threads), '');
  if (result.conv) {
    const copy = result.conv.copy;
    const cols = convColumns(n);
    out.push(
      `Convolutions, timed as the op table's rows are (the same columns and sampling, and its notes on the kernel column and on the first touch of fresh pages), against the peak in the header, ${fmt.gflops(result.peak)} GFLOP/s. ` +
        'FLOPs: a forward 2·N·F·H2·W2·(C/G)·HH·WW for G groups, a backward dx+dw+db twice that. ' +
        (copy
          ? `copy ms: the f64x2 copy of bench/peak.ts (four v128 loads and stores a step) from one array of the depthwise conv's x (${copy.shape.join('x')} = ${copy.values} float64) into another, ` +
            'in a WebAssembly memory of its own whose pages were touched first: one pass that reads x and writes out, the memory floor of that conv; ' +
            'timed on each depthwise row in the same turns as its kernel alone (the kernel column\'s one-thread and pool calls), so that the two see ' +
            'the same drift of this VM\'s speed. kernel / copy = kernel ms / copy ms.'
          : ''),
      '',
      ...tableLines(cols, cells.conv, { headings: cols.map(heading), left: 2 }),
      '',
    );
  }
  out.push('Notes:', '');
  if (result.net816) {
    const r = result.net816;
    out.push(
      `- 8/16 network: before it was timed, the Sequential and the functional ops trained ${r.identicalSteps} steps from the same weights on the same ` +
        'batches, and their losses and parameters were bit-identical (Object.is on every value). Σ kernels alone: the kernel calls of one ' +
        'Sequential step, recorded as the library made them, each replayed alone on the same buffers, repeated for a few ms; overhead is the rest ' +
        `of the step. The Sequential is timed in blocks of ${r.sequential.stepsPerSample} steps, the functional ops in blocks of ${r.functional.stepsPerSample}; ` +
        'each round starts after a full garbage collection, and the fresh arrays the functional ops return are collected within their blocks, as a ' +
        'training loop pays for them (a short block, as in --quick, may end before much of that cost falls due, so it can show the functional ops faster).',
    );
  }
  if (result.threeLayer) {
    out.push(
      `- ThreeLayerConvNet: before it was timed, ThreeLayerConvNet and its replica trained ${result.threeLayer.identicalSteps} steps on the same batches, and ` +
        `their losses and parameters were bit-identical. Timed in blocks of ${result.threeLayer.stepsPerSample} steps each.` +
        (result.threeLayer.relaxed
          ? ` "${ROW.relaxed}": the same ThreeLayerConvNet, from the same weights on the same batches, on the relaxed build (fused multiply-adds; ` +
            'a second copy of the package in this process), timed in the same turns; its losses agreed with the plain build\'s to ' +
            `${result.threeLayer.relaxed.lossAgreement.toExponential(1)} (max relative difference over ${result.threeLayer.identicalSteps} steps), ` +
            'as two roundings of the same steps do. Its "over" is its ms over the plain build\'s: below 1× is faster. The target of 1.2× the plain build ' +
            'holds where the FMA peak is at least 1.25× the plain peak (the op table\'s header gives both).'
          : ''),
    );
  }
  if (cells.threads) {
    const splits = [result.net816 && `${ROW.net816} ${result.net816.pool.splitsPerStep}`, result.threeLayer && `${ROW.threeLayer} ${result.threeLayer.pool.splitsPerStep}`]
      .filter(Boolean).join(', ');
    out.push(
      `- threads: the same network's step with the pool of ${n} threads, its ops free to run in up to ${n} parts (ops per step that held enough work ` +
        `to run in parts: ${splits}); before it was timed, a twin with the same initial weights trained the same steps on the pool, its losses and parameters ` +
        'bit-identical to the one-thread network\'s. No target: ops this small barely split, and the batch, the copies and the JavaScript between ' +
        'the calls stay serial.',
    );
  }
  if (result.net816 || result.threeLayer) {
    const count = result.net816?.sequential.samples.length ?? result.threeLayer.convnet.samples.length;
    out.push(
      `- Each step figure is the median over ${count} rounds; a round times a block of steps of every contender of the table (one thread, and the pool), ` +
        'in an order that reverses every round' + (result.net816 ? ', then, for the 8/16 network, the kernels alone' : '') + '.',
    );
  }
  if (result.conv) {
    out.push(...peerNoteLines(result.conv.rows, CONV_PEERS, cells.convNotes, (r) => `${r.label} ${r.shapeName}`));
    out.push('- The conv rows\' peers were checked against the reference loops before they were timed, as in the op table; tfjs-wasm, float32, ' +
      'runs the depthwise conv as tf.fused.depthwiseConv2d and the dilated one as tf.fused.conv2d with dilations.');
    if (result.quick) out.push('- ~ (--quick) the reference loops are timed by one call on the first image of the batch, and the time is multiplied by N.');
    const floor = arithmeticFloor(result);
    if (floor) out.push(floor);
  }
  out.push('', TARGETS_HEADING, '', ...targets.map((t) => t.text), '');
  return { md: out.join('\n'), cells, targets };
}

/**
 * The depthwise rows' arithmetic floor, from the run's numbers: the time their FLOPs take at
 * the header's peak, over the copy, and the share of the peak a kernel at the target ratio
 * runs at (FLOPs / (target × copy ms) / peak). A note line, or '' without a copy.
 */
function arithmeticFloor(result) {
  const parts = [];
  for (const t of TARGETS.filter((x) => x.col === 'kernel / copy')) {
    const row = result.conv.rows.find((r) => t.row({ op: r.label, shape: r.shapeName }));
    const copy = row?.convcore.kernel?.copy;
    if (!copy) continue;
    const atPeak = row.flops / (result.peak * 1e6);
    const share = row.flops / (t.target * copy.ms * 1e6) / result.peak;
    parts.push(`${row.label} ${fmt.ms(atPeak)} ms at the peak, ${fmt.times(atPeak / copy.ms)} the copy, so ${t.target}× the copy is ` +
      `${Math.round(share * 100)}% of the peak`);
  }
  return parts.length
    ? `- The depthwise conv's arithmetic: every output is 9 multiply-adds, and each value of x meets only its own channel's 9 weights (nothing ` +
      `to reuse across filters, as a GEMM does), so the f64x2 multiply-adds and their loads set a floor above the one pass over memory: ` +
      `${parts.join('; ')} (FLOPs / ${fmt.gflops(result.peak)} GFLOP/s; the row's kernel % peak is what the kernel reaches).`
    : '';
}

// ---------------------------------------------------------------- the check

/** The tables of a section: runs of consecutive '|' lines, each as { keys, rows } (rows keyed by column, a × after an ms column named for it). */
function tables(md) {
  const out = [];
  let run = [];
  for (const line of [...md.split('\n'), '']) {
    if (line.startsWith('|')) {
      run.push(line);
      continue;
    }
    if (run.length) {
      const split = (l) => l.slice(1, -1).split('|').map((c) => c.trim());
      const head = split(run[0]);
      const keys = head.map((h, i) => (h === '×' ? `${head[i - 1].replace(/ ms$/, '')} ×` : h));
      out.push({ keys, rows: run.slice(2).map((l) => Object.fromEntries(split(l).map((c, i) => [keys[i], c]))) });
    }
    run = [];
  }
  return out;
}

/** The peak (GFLOP/s) a networks section's conv table is reported against, as printed, or undefined. */
export function sectionPeak(md) {
  return /against the peak in the header, (\d+(?:\.\d+)?) GFLOP\/s/.exec(md)?.[1];
}

/** The pool's thread count a networks section's tables name, or undefined. */
export function sectionThreads(md) {
  const m = /\| (\d+) threads ms \|/.exec(md);
  return m ? Number(m[1]) : undefined;
}

/**
 * Reads a networks section (from its heading to the end of `md`) back: every derived cell is
 * recomputed from the printed ones (within half a unit of its last digit), and every target
 * line from the cells. Returns the disagreements, one line each (none: consistent).
 */
export function checkNetworks(md) {
  const problems = [];
  const start = md.indexOf(SECTION);
  if (start < 0) return [`no "${SECTION}" section`];
  const section = md.slice(start);
  const found = {};
  const n = sectionThreads(section);
  for (const t of tables(section)) {
    const kind = { [NET816_COLUMNS[0]]: 'net816', [STEP_COLUMNS[0]]: 'step', [THREE_LAYER_COLUMNS[0]]: 'threeLayer', network: 'threads', op: 'conv' }[t.keys[0]];
    if (!kind) {
      problems.push(`networks: a table headed "${t.keys[0]}", which the section does not have`);
      continue;
    }
    if (found[kind]) problems.push(`networks: two tables headed "${t.keys[0]}"`);
    const want = { net816: NET816_COLUMNS, step: STEP_COLUMNS, threeLayer: THREE_LAYER_COLUMNS, threads: threadCols(n), conv: convColumns(n) }[kind];
    if (t.keys.join('|') !== want.join('|')) problems.push(`networks: the "${t.keys[0]}" table's columns are ${t.keys.join(', ')}; expected ${want.join(', ')}`);
    found[kind] = t.rows;
  }
  if (problems.length) return problems;
  const images = Number(/batch (\d+), Adam/.exec(section)?.[1]);
  const agree = (where, col, shownCell, derived, what) => {
    const shown = value(shownCell);
    if (shown === undefined || !Number.isFinite(derived) || Math.abs(shown - derived) > halfUnit(shownCell) + 1e-9 * Math.abs(derived)) {
      problems.push(`networks ${where}: ${col} is "${shownCell}", but ${what} gives ${derived}`);
    }
  };
  const steps = (rows, first, names, col) => {
    const got = rows.map((r) => r[first]);
    if (got.join('|') !== names.join('|')) {
      problems.push(`networks: the "${first}" table's rows are ${got.map((g) => `"${g}"`).join(', ')}; expected ${names.map((g) => `"${g}"`).join(', ')}`);
      return;
    }
    if (!(images > 0)) problems.push('networks: the section does not say its batch ("batch N, Adam")');
    rows.forEach((r, i) => {
      agree(r[first], 'images/s', r['images/s'], derive.rate(images, r['ms per step']), `${images} / (${r['ms per step']} ms / 1000)`);
      if (i === 0) {
        if (r[col]) problems.push(`networks ${r[first]}: ${col} is "${r[col]}"; expected none`);
      } else agree(r[first], col, r[col], derive.over(r['ms per step'], rows[0]['ms per step']), `${r['ms per step']} / ${rows[0]['ms per step']}`);
    });
  };
  if (found.net816) steps(found.net816, NET816_COLUMNS[0], [ROW.sequential, ROW.functional], NET816_COLUMNS[3]);
  if (found.threeLayer) {
    const names = [ROW.convnet, ROW.replica, ...(found.threeLayer.length === 3 ? [ROW.relaxed] : [])];
    steps(found.threeLayer, THREE_LAYER_COLUMNS[0], names, THREE_LAYER_COLUMNS[3]);
  }
  const seqMs = found.net816?.[0]?.['ms per step'];
  const replicaMs = found.threeLayer?.[1]?.['ms per step'];
  if (found.step) {
    if (!found.net816) problems.push('networks: a Sequential step table without the 8/16 network\'s');
    const step = found.step[0] ?? {};
    if (seqMs !== undefined && step['Sequential step ms'] !== seqMs) {
      problems.push(`networks: the step table's Sequential step ms "${step['Sequential step ms']}" is not the 8/16 Sequential row's "${seqMs}"`);
    }
    agree('step', 'overhead ms', step['overhead ms'], derive.overhead(step['Sequential step ms'], step['Σ kernels alone ms']), `${step['Sequential step ms']} − ${step['Σ kernels alone ms']}`);
    agree('step', 'step / Σ kernels', step['step / Σ kernels'], derive.ratio(step['Sequential step ms'], step['Σ kernels alone ms']), `${step['Sequential step ms']} / ${step['Σ kernels alone ms']}`);
  } else if (found.net816) problems.push('networks: the 8/16 network without its Sequential step table');
  if (found.threads) {
    const want = [found.net816 && [ROW.net816, seqMs], found.threeLayer && [ROW.threeLayer, replicaMs]].filter(Boolean);
    const got = found.threads.map((r) => r.network);
    if (got.join('|') !== want.map(([name]) => name).join('|')) {
      problems.push(`networks: the thread table's rows are ${got.map((g) => `"${g}"`).join(', ')}; expected ${want.map(([g]) => `"${g}"`).join(', ')}`);
    } else {
      const [, , ms, x] = threadCols(n);
      found.threads.forEach((r, i) => {
        if (r['1 thread ms'] !== want[i][1]) problems.push(`networks ${r.network}: the 1 thread ms "${r['1 thread ms']}" is not its step table's "${want[i][1]}"`);
        agree(r.network, x, r[x], derive.speedup(r['1 thread ms'], r[ms]), `${r['1 thread ms']} / ${r[ms]}`);
      });
    }
  } else if (found.net816 || found.threeLayer) problems.push('networks: the networks\' steps without the thread table');
  if (found.conv) {
    const peak = sectionPeak(section);
    if (peak === undefined) problems.push('networks: the conv table names no peak ("against the peak in the header, X GFLOP/s")');
    for (const c of found.conv) {
      problems.push(...checkRow(c, { peak, threads: n, peerNames: CONV_PEERS }).map((p) => `networks ${p}`));
      if (value(c['copy ms']) !== undefined && value(c['kernel ms']) !== undefined) {
        agree(`${c.op} ${c.shape}`, 'kernel / copy', c['kernel / copy'], derive.perCopy(c['kernel ms'], c['copy ms']), `${c['kernel ms']} / ${c['copy ms']}`);
      } else if (c['kernel / copy']) {
        problems.push(`networks ${c.op} ${c.shape}: kernel / copy is "${c['kernel / copy']}" with no ${value(c['copy ms']) === undefined ? 'copy ms' : 'kernel ms'}`);
      }
    }
  }

  const heading_ = section.indexOf(`\n${TARGETS_HEADING}`);
  const printed = heading_ < 0 ? [] : section.slice(heading_).split('\n').filter((l) => l.startsWith('- '));
  const recomputed = networksTargets(found).map((t) => t.text);
  if (printed.length !== recomputed.length) problems.push(`${printed.length} networks target lines; the tables give ${recomputed.length}`);
  recomputed.forEach((line, i) => {
    if (printed[i] !== line) problems.push(`networks target line ${i + 1} reads\n  ${printed[i]}\nbut the tables give\n  ${line}`);
  });
  return problems;
}
