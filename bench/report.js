// The results as one Markdown document: the header, the table, the notes and the targets.
//
// One method for every column. Each time is the median of its Benchmark.js samples, and
// every other number of a row is derived from the numbers printed in that row and in the
// header, after rounding, so that a reader who redoes the arithmetic gets what is printed:
//   GFLOP/s = FLOPs / ms,  % peak = GFLOP/s / the peak in the header,
//   × = the peer's ms / convcore's ms,
//   N threads × = convcore ms / N threads ms,  kernel N threads × = kernel ms / kernel N threads ms.
// Each target line is computed from cells of the same table. bench/consistency.js reads a
// document back and checks all of it.
//
// A result row is { label, kind, shape, flops?, convcore: { ms, pool: { ms, splits },
// kernel: { ms, pool: { ms, splits } } | { na } }, peers: { name: { ms, scaledFrom?, note? } |
// { na, mismatch? } } }, and the document's `threads` is the pool's thread count.

import { MACS_PER_PART, VALUES_PER_PART } from '../dist/dispatch.js';

/** The names of the pool's columns for a pool of n threads. */
export function threadColumns(n) {
  return { ms: `${n} threads ms`, x: `${n} threads ×`, kms: `kernel ${n} threads ms`, kx: `kernel ${n} threads ×` };
}

/**
 * The columns of the table, in order: convcore's, its kernels', both again on the pool of
 * `threads` threads, then each peer's `${name} ms` and `${name} ×`.
 */
export function columns(peerNames, threads, relaxed = false) {
  const T = threadColumns(threads);
  return ['op', 'shape', 'convcore ms', 'GFLOP/s', '% peak', 'kernel ms', 'kernel GFLOP/s', 'kernel % peak',
    T.ms, T.x, T.kms, T.kx, ...(relaxed ? RELAXED_COLUMNS : []), ...peerNames.flatMap((n) => [`${n} ms`, `${n} ×`])];
}

/**
 * The relaxed build's columns, where the engine runs relaxed SIMD: its public API on one
 * thread (conv rows), its % of the FMA peak, and its speedup over the plain build (convcore ms / relaxed ms).
 */
export const RELAXED_COLUMNS = ['relaxed ms', 'relaxed % FMA peak', 'relaxed speedup'];

/** How a column is headed: a peer's × column shows just ×, after its ms column. */
export const heading = (col) => (col.endsWith(' ×') && !/^(kernel )?\d+ threads ×$/.test(col) ? '×' : col);

// ---------------------------------------------------------------- numbers as printed

export const fmt = {
  ms: (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3)),
  gflops: (v) => v.toFixed(1),
  pct: (v) => `${v.toFixed(0)}%`,
  times: (v) => `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`,
};

/** The number a cell shows ('~821 ‡' → 821, '73%' → 73, '2.5×' → 2.5), or undefined. */
export function value(cell) {
  const m = /^~?(-?\d+(?:\.\d+)?)/.exec((cell ?? '').trim());
  return m ? Number(m[1]) : undefined;
}

/** Half a unit of the last digit a cell shows: how far its number may be from what was rounded. */
export function halfUnit(cell) {
  const m = /^~?-?\d+(?:\.(\d+))?/.exec((cell ?? '').trim());
  return m ? 0.5 * 10 ** -(m[1]?.length ?? 0) : 0;
}

// The derived numbers, from printed ones: the same functions make the table and check it.
export const derive = {
  gflops: (flops, msCell) => flops / value(msCell) / 1e6,
  pct: (gflopsCell, peakCell) => (100 * value(gflopsCell)) / value(peakCell),
  times: (peerMsCell, ccMsCell) => value(peerMsCell) / value(ccMsCell),
  /** One thread's ms over the pool's: the pool's speedup. */
  speedup: (oneMsCell, poolMsCell) => value(oneMsCell) / value(poolMsCell),
  /** % of a peak straight from FLOPs and a printed ms. */
  pctOf: (flops, msCell, peakCell) => (100 * (flops / value(msCell) / 1e6)) / value(peakCell),
};

// ---------------------------------------------------------------- the table

const MARKS = ['‡', '§', '¶', '‖'];

/**
 * The table as cells: one object per row mapping each column to the text it shows.
 * `notes` collects the peers' notes, in order of first appearance (their marks).
 */
export function tableRows(doc, notes = []) {
  const peak = fmt.gflops(doc.peak.gflops);
  const fmaPeak = doc.peak.fma ? fmt.gflops(doc.peak.fma) : null;
  return doc.rows.map((r) => {
    const c = { op: r.label, shape: r.shape };
    c['convcore ms'] = fmt.ms(r.convcore.ms);
    const k = r.convcore.kernel;
    c['kernel ms'] = k && !k.na ? fmt.ms(k.ms) : '';
    c['GFLOP/s'] = r.flops ? fmt.gflops(derive.gflops(r.flops, c['convcore ms'])) : '';
    c['% peak'] = r.flops ? fmt.pct(derive.pct(c['GFLOP/s'], peak)) : '';
    c['kernel GFLOP/s'] = r.flops && c['kernel ms'] ? fmt.gflops(derive.gflops(r.flops, c['kernel ms'])) : '';
    c['kernel % peak'] = c['kernel GFLOP/s'] ? fmt.pct(derive.pct(c['kernel GFLOP/s'], peak)) : '';
    const T = threadColumns(doc.threads);
    const kp = k && !k.na ? k.pool : undefined;
    c[T.ms] = r.convcore.pool ? fmt.ms(r.convcore.pool.ms) : '';
    c[T.x] = c[T.ms] ? fmt.times(derive.speedup(c['convcore ms'], c[T.ms])) : '';
    c[T.kms] = kp && c['kernel ms'] ? fmt.ms(kp.ms) : '';
    c[T.kx] = c[T.kms] ? fmt.times(derive.speedup(c['kernel ms'], c[T.kms])) : '';
    if (fmaPeak) {
      const rx = r.convcore.relaxed;
      c['relaxed ms'] = rx ? fmt.ms(rx.ms) : '';
      c['relaxed % FMA peak'] = rx && r.flops ? fmt.pct(derive.pctOf(r.flops, c['relaxed ms'], fmaPeak)) : '';
      c['relaxed speedup'] = rx ? fmt.times(derive.speedup(c['convcore ms'], c['relaxed ms'])) : '';
    }
    for (const name of doc.peerNames) {
      const p = r.peers[name];
      if (!p || p.na) {
        c[`${name} ms`] = p?.mismatch ? 'wrong output' : 'not available';
        c[`${name} ×`] = '';
        continue;
      }
      let mark = '';
      if (p.note) {
        if (!notes.includes(p.note)) notes.push(p.note);
        mark = ` ${MARKS[notes.indexOf(p.note)] ?? '*'}`;
      }
      c[`${name} ms`] = `${p.scaledFrom ? '~' : ''}${fmt.ms(p.ms)}${mark}`;
      c[`${name} ×`] = fmt.times(derive.times(c[`${name} ms`], c['convcore ms']));
    }
    return c;
  });
}

// ---------------------------------------------------------------- the targets

/** The conv rows' ops, by label; the other rows are memory-bound. */
const CONV_OPS = ['conv fwd', 'conv bwd dx+dw+db', 'conv bwd dx only'];
const isConv = (c) => CONV_OPS.includes(c.op);
const isPoolOrBatchnorm = (c) => /^(max pool|batchnorm|spatial batchnorm) /.test(c.op);
/** A row's name in a target line: the shape's name for a conv row, the op otherwise. */
const nameOf = (c) => (isConv(c) ? c.shape.split(' ')[0] : c.op);

/**
 * The performance targets. Each takes its values from the table: a column of the rows it
 * names, or (`ratio`) one printed column divided by another, shown as × is.
 */
const TARGETS = [
  { what: 'conv fwd, % of peak, public API', target: 65, unit: '%', rows: (c) => c.op === 'conv fwd', col: '% peak' },
  { what: 'conv fwd, % of peak, kernel alone', target: 65, unit: '%', rows: (c) => c.op === 'conv fwd', col: 'kernel % peak' },
  { what: 'conv bwd dx+dw+db, % of peak, public API', target: 55, unit: '%', rows: (c) => c.op === 'conv bwd dx+dw+db', col: '% peak' },
  { what: 'conv bwd dx+dw+db, % of peak, kernel alone', target: 55, unit: '%', rows: (c) => c.op === 'conv bwd dx+dw+db', col: 'kernel % peak' },
  { what: 'conv fwd, speedup over reference', target: 15, unit: '×', rows: (c) => c.op === 'conv fwd', col: 'reference ×' },
  { what: 'conv bwd dx+dw+db, speedup over reference', target: 15, unit: '×', rows: (c) => c.op === 'conv bwd dx+dw+db', col: 'reference ×' },
  { what: 'conv fwd, speedup over convnetjs', target: 15, unit: '×', rows: (c) => c.op === 'conv fwd', col: 'convnetjs ×' },
  { what: 'conv bwd dx+dw+db, speedup over convnetjs', target: 15, unit: '×', rows: (c) => c.op === 'conv bwd dx+dw+db', col: 'convnetjs ×' },
  { what: 'conv fwd, tfjs-wasm ms / convcore ms, public API', target: 0.45, unit: '×', rows: (c) => c.op === 'conv fwd', col: 'tfjs-wasm ×' },
  {
    what: 'conv fwd, tfjs-wasm ms / convcore kernel ms (both on data already in Wasm memory)', target: 0.45, unit: '×',
    rows: (c) => c.op === 'conv fwd', ratio: ['tfjs-wasm ms', 'kernel ms'],
  },
  { what: 'conv dx alone, speedup over tfjs-wasm dx, public API', target: 4, unit: '×', rows: (c) => c.op === 'conv bwd dx only', col: 'tfjs-wasm ×' },
  { what: 'max pool and batchnorm, speedup over reference, public API', target: 4, unit: '×', rows: isPoolOrBatchnorm, col: 'reference ×' },
  {
    what: 'layernorm, groupnorm, dropout and the update rules, speedup over reference, public API', target: 4, unit: '×',
    rows: (c) => !isConv(c) && !isPoolOrBatchnorm(c), col: 'reference ×',
  },
];

/**
 * The fused multiply-add targets, where the relaxed build ran: conv at 70% of the FMA peak
 * through the public API; the relaxed build 1.3× the plain one where the run's FMA peak is
 * at least 1.25× its plain peak, and never slower (1.0×) where it is not; and the relaxed
 * build's conv forward against tfjs-wasm's float32 (1.0× on resnet and deep, 0.75× on
 * cs231n and strided).
 */
function relaxedTargets(fmaPays) {
  const speed = fmaPays ? 1.3 : 1;
  const where = fmaPays ? 'the FMA peak is at least 1.25× the plain peak' : 'the FMA peak is below 1.25× the plain peak: never slower';
  const isShape = (c, names) => names.includes(nameOf(c));
  return [
    { what: 'conv fwd, relaxed build, % of the FMA peak, public API', target: 70, unit: '%', rows: (c) => c.op === 'conv fwd', col: 'relaxed % FMA peak' },
    { what: 'conv bwd dx+dw+db, relaxed build, % of the FMA peak, public API', target: 70, unit: '%', rows: (c) => c.op === 'conv bwd dx+dw+db', col: 'relaxed % FMA peak' },
    { what: `conv, relaxed build over plain build (${where})`, target: speed, unit: '×', rows: isConv, col: 'relaxed speedup' },
    {
      what: 'conv fwd 3x3 stride 1, tfjs-wasm ms / relaxed build ms, public API', target: 1, unit: '×',
      rows: (c) => c.op === 'conv fwd' && isShape(c, ['resnet', 'deep']), ratio: ['tfjs-wasm ms', 'relaxed ms'],
    },
    {
      what: 'conv fwd cs231n and strided, tfjs-wasm ms / relaxed build ms, public API', target: 0.75, unit: '×',
      rows: (c) => c.op === 'conv fwd' && isShape(c, ['cs231n', 'strided']), ratio: ['tfjs-wasm ms', 'relaxed ms'],
    },
  ];
}

/** The pool's targets (issue "Threads"), for a pool of n threads. */
function threadTargets(n) {
  const T = threadColumns(n);
  const over = `${n} threads over one`;
  const memoryBound = 'max pool, batchnorm, layernorm, groupnorm, dropout and the update rules';
  return [
    { what: `conv fwd, ${over}, public API`, target: 1.8, unit: '×', rows: (c) => c.op === 'conv fwd', col: T.x },
    { what: `conv fwd, ${over}, kernel alone`, target: 1.8, unit: '×', rows: (c) => c.op === 'conv fwd', col: T.kx },
    { what: `conv bwd dx+dw+db, ${over}, public API`, target: 1.8, unit: '×', rows: (c) => c.op === 'conv bwd dx+dw+db', col: T.x },
    { what: `conv bwd dx+dw+db, ${over}, kernel alone`, target: 1.8, unit: '×', rows: (c) => c.op === 'conv bwd dx+dw+db', col: T.kx },
    { what: `${memoryBound}, ${over}, public API`, target: 1.5, unit: '×', rows: (c) => !isConv(c), col: T.x },
    { what: `${memoryBound}, ${over}, kernel alone`, target: 1.5, unit: '×', rows: (c) => !isConv(c), col: T.kx },
    {
      what: `conv fwd, tfjs-wasm ms (one thread) / convcore ${n} threads ms, public API`, target: 1, unit: '×',
      rows: (c) => c.op === 'conv fwd', ratio: ['tfjs-wasm ms', T.ms],
    },
    {
      what: `conv fwd, tfjs-wasm ms (one thread) / convcore kernel ${n} threads ms (both on data already in Wasm memory)`, target: 1, unit: '×',
      rows: (c) => c.op === 'conv fwd', ratio: ['tfjs-wasm ms', T.kms],
    },
  ];
}

const targetText = (t) => `>= ${t.target}${t.unit}`;

/**
 * The target lines, from the table's cells (of a pool of `threads` threads): each value is
 * the cell as printed (or the ratio of two printed cells, formatted as × is), and a target
 * is met when every row it names has a value and each value, as printed, reaches it.
 */
export function acceptance(cells, threads, peaks = null) {
  const relaxed = peaks && peaks.fma ? relaxedTargets(value(peaks.fma) >= 1.25 * value(peaks.plain)) : [];
  return [...TARGETS, ...threadTargets(threads), ...relaxed].map((t) => {
    const rows = cells.filter(t.rows);
    const shown = rows.map((c) => {
      if (t.ratio) {
        const [a, b] = t.ratio;
        const v = value(c[a]) / value(c[b]);
        return [nameOf(c), Number.isFinite(v) ? fmt.times(v) : ''];
      }
      return [nameOf(c), c[t.col] ?? ''];
    });
    const measured = shown.filter(([, s]) => value(s) !== undefined);
    const missing = shown.length - measured.length;
    const met = rows.length > 0 && missing === 0 && measured.every(([, s]) => value(s) >= t.target);
    return {
      what: t.what,
      target: targetText(t),
      values: Object.fromEntries(measured.map(([n, s]) => [n, value(s)])),
      met,
      text:
        `- ${t.what} (target ${targetText(t)}): ` +
        (measured.map(([n, s]) => `${n} ${s}`).join(', ') || 'no values') +
        (missing ? ` (${missing} not measured)` : '') +
        ` — **${met ? 'met' : 'not met'}**`,
    };
  });
}

// ---------------------------------------------------------------- the document

/** Whether each row's pool calls ran in parts (above the cut-over), in words. */
function cutOver(rows) {
  const whole = rows.filter((r) => !(r.convcore.pool?.splits > 0) || (r.convcore.kernel?.pool && !(r.convcore.kernel.pool.splits > 0)));
  if (whole.length === 0) return 'Every row of this table is above it: on the pool, each row\'s call and kernel ran in parts.';
  return `On the pool, these rows ran in one part (below the cut-over): ${whole.map((r) => `${r.label} ${r.shape}`).join('; ')}.`;
}

/**
 * The note lines of a table's rows: each peer note by its mark (`notes` as tableRows collected
 * them), then each reason a peer or the kernel column was not measured, with the rows it
 * concerns (`nameOf`, the op by default).
 */
export function peerNoteLines(rows, names, notes, nameOf = (r) => r.label) {
  const out = [];
  for (const [i, note] of notes.entries()) {
    const who = names.filter((n) => rows.some((r) => r.peers[n]?.note === note));
    out.push(`- ${MARKS[i] ?? '*'} ${who.join(', ')}: ${note}.`);
  }
  const reasons = new Map();
  for (const r of rows) {
    for (const n of [...names, 'kernel']) {
      const na = n === 'kernel' ? r.convcore.kernel?.na : r.peers[n]?.na;
      if (na) reasons.set(`${n}: ${na}`, [...(reasons.get(`${n}: ${na}`) ?? []), nameOf(r)]);
    }
  }
  for (const [why, labels] of reasons) {
    out.push(`- ${why.includes('did not match') ? 'wrong output' : 'not available'}, ${why} (${[...new Set(labels)].join(', ')}).`);
  }
  return out;
}

/** The whole Markdown document: header, table, notes and targets; also returns the cells and targets. */
export function report(doc) {
  const { machine, peak, peers, quick } = doc;
  const names = doc.peerNames;
  const notes = [];
  const cells = tableRows(doc, notes);
  const n = doc.threads;
  const T = threadColumns(n);
  const fmaCell = peak.fma ? fmt.gflops(peak.fma) : null;
  const targets = acceptance(cells, n, fmaCell && { plain: fmt.gflops(peak.gflops), fma: fmaCell });
  const cols = columns(names, n, Boolean(fmaCell));
  const head = cols.map(heading);
  const out = [];
  out.push(`# convcore benchmark${quick ? ' (--quick: indicative only)' : ''}`, '');
  out.push(
    `- Machine: ${machine.cpu} (${machine.cores} logical cores), ${machine.os}; Node ${machine.node} (V8 ${machine.v8}); ${machine.date}.`,
    `- Threads: a pool of ${n} threads in all, started once (init({ threads: ${n} })). Every column runs on one thread ` +
      `(each op capped to one part, the pool left idle) except the four "${n} threads" columns. Every time is the median of ` +
      `the Benchmark.js samples of one call (${doc.sampling.rule}; the counts are in the .json).`,
    `- Wasm f64x2 multiply-add peak (bench/peak.ts, twelve chains of f64x2.mul then f64x2.add, the higher of the medians of ${peak.runs} runs at the start ` +
      `(${fmt.gflops(peak.start)}) and at the end (${fmt.gflops(peak.end)}) of the run): **${fmt.gflops(peak.gflops)} GFLOP/s**` +
      (fmaCell
        ? `; FMA peak (the same chains, each step one f64x2.relaxed_madd, built with relaxed SIMD; ${fmt.gflops(peak.fmaStart)} and ${fmt.gflops(peak.fmaEnd)}): **${fmaCell} GFLOP/s FMA**, ` +
          `${fmt.times(value(fmaCell) / value(fmt.gflops(peak.gflops)))} the plain peak. ` +
          'The columns up to the pool\'s run the plain build; the "relaxed" columns run the relaxed build (fused multiply-adds), through its public API on one thread, ' +
          'timed in turns with the plain build\'s one-thread call (a second copy of the package in the same process, init({ simd: \'relaxed\' })), its % against the FMA peak, its speedup = convcore ms / relaxed ms.'
        : '. This engine does not run relaxed SIMD: no relaxed column.'),
    '- Every number of a row comes from the times printed in it: GFLOP/s = FLOPs / ms, ' +
      '% peak = GFLOP/s / the peak above, × = the peer\'s ms / convcore\'s ms (convcore\'s speedup), ' +
      `${T.x} = convcore ms / ${T.ms} and ${T.kx} = kernel ms / ${T.kms} (the pool's speedup over one thread), ` +
      'each computed from the rounded numbers as printed; each target below takes its values from the table.',
    `- Peers: ${peers.join('; ')}.`,
    '- FLOPs: conv fwd 2·N·F·H2·W2·C·HH·WW; conv bwd dx+dw+db twice that; conv dx alone once that. ' +
      'These are the direct convolution\'s FLOPs whichever way it runs: the 3x3 stride-1 rows (resnet, deep) run on Winograd F(2x2, 3x3), ' +
      'forward and dx, with 2.25× fewer multiplies, so their GFLOP/s and % peak can pass the peak.',
  );
  if (doc.only) out.push(`- --only "${doc.only}": only the rows, and the parts of the networks section, whose name contains it; no training section.`);
  out.push('');
  out.push(`| ${head.join(' | ')} |`, `|${cols.map((c, i) => (i < 2 ? '---' : '--:')).join('|')}|`);
  for (const c of cells) out.push(`| ${cols.map((k) => c[k]).join(' | ')} |`);
  out.push('', 'Notes:', '');
  out.push(
    '- convcore is timed through its public API, validation and the copies into and out of Wasm memory included. ' +
      'The peers are timed on data already in their own layout (and, for tfjs-wasm, already in its memory, results left there). ' +
      'A backward is timed on the cache of one forward made outside the timing; the dx row asks convcore\'s backward for dx alone (`{ dw: false }`).',
    '- kernel: convcore\'s Wasm kernels alone, with the inputs already in Wasm memory and the results left there, ' +
      'as tfjs-wasm is timed. The difference from the public API is the copies in and out and, above all, the first ' +
      'touch of the fresh result arrays (and a forward\'s cache): on this VM a page touched for the first time costs ' +
      'about 3 ms per MiB, so whether the allocator hands back recycled or fresh pages moves an API time by up to that much.',
    `- ${T.ms}: the same public API call with the pool, each kernel free to run in up to ${n} parts on ${n} threads; ` +
      `${T.kms}: the same for the kernels alone. Only the kernels run in parts: the argument checks, the copies into Wasm memory ` +
      'and out into fresh arrays (and the first touch of their pages) stay serial on the calling thread, so no thread count ' +
      `speeds them up, and ${T.x} is below ${T.kx} by as much as the copies weigh in the call (most on the memory-bound rows).`,
    `- Where the split starts: an op runs as min(threads, ⌊work / per part⌋) parts, with at least ${MACS_PER_PART} ` +
      `(2^${Math.log2(MACS_PER_PART)}) multiply-adds per part for a GEMM or a convolution (MACS_PER_PART) and ${VALUES_PER_PART} ` +
      `(2^${Math.log2(VALUES_PER_PART)}) values read or written per part for a memory-bound op (VALUES_PER_PART, src/dispatch.ts); ` +
      `below two parts' work an op stays on the calling thread. ${cutOver(doc.rows)}`,
    `- convcore's one-thread and ${n}-thread times are of the same prepared call, timed in alternating turns (the sampling rule above), so that both see the same drift of this VM's speed. ` +
      `Before they were timed, the pool's outputs were checked against the reference loops as the one-thread ones were, and found ` +
      'bit-identical to the one-thread outputs (Object.is on every value), so both columns time the same work.',
    '- Every other cell of a row is measured at its own time, one peer after the other; this VM\'s speed drifts over minutes, ' +
      'which moves a ratio of two cells by as much as it moves the cells.',
  );
  if (quick) {
    out.push(
      `- ~ (--quick) the plain-JS peers are timed by one call on the first ${doc.quickImages} image(s) of a conv batch, ` +
        `and the time is multiplied by N/${doc.quickImages}. The conv outputs are checked on those image(s) only.`,
    );
  }
  out.push(...peerNoteLines(doc.rows, names, notes));
  out.push('- Every peer\'s outputs were checked against the reference loops before it was timed ' +
    '(max-norm relative error <= 1e-9 for float64, <= 1e-4 for float32).', '');
  out.push('## Targets', '', ...targets.map((t) => t.text), '');
  return { md: out.join('\n'), cells, targets };
}
