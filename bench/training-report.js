// The training section as Markdown, and its check. As in the op table, every derived number
// comes from numbers printed in the section, after rounding, so that a reader who redoes
// the arithmetic gets what is printed:
//   images/s = images per step / (ms per step / 1000),  × = the peer's ms / convcore's ms,
//   overhead = step ms − Σ kernels ms,  step / Σ kernels = step ms / Σ kernels ms,
//   and on the pool, × = convcore's ms on one thread / its ms on N threads,
// and each target line takes its values from those cells. checkTraining() reads a section
// back and checks all of it. Times and × are formatted as in the op table (report.js).

import { fmt, value, halfUnit } from './report.js';

export const SECTION = '## Training';
const TARGETS_HEADING = 'Training targets:';

export const PEER_COLUMNS = ['peer', 'ms per step', 'images/s', '×'];
export const STEP_COLUMNS = ['convcore step ms', 'Σ kernels alone ms', 'overhead ms', 'step / Σ kernels'];
export const THREAD_COLUMNS = ['threads', 'convcore ms per step', 'images/s', '×'];

/** The label of the thread table's rows: one thread, and the pool of n. */
const threadsLabel = (n) => (n === 1 ? '1 thread' : `${n} threads`);

/**
 * Each target: the cell it reads (row 'step': the step table's; row 'pool': the thread
 * table's pool row), and the bound its printed value must respect.
 */
const TARGETS = [
  { what: 'training step, images/s over convnetjs', row: 'convnetjs', col: '×', op: '>=', target: 15 },
  { what: 'training step, images/s over tfjs-cpu', row: 'tfjs-cpu', col: '×', op: '>=', target: 5 },
  { what: 'convcore training step over the sum of its kernels timed alone', row: 'step', col: 'step / Σ kernels', op: '<=', target: 1.25 },
  { what: (n) => `convcore training step, ${n} threads over one`, row: 'pool', col: '×', op: '>=', target: 1.7 },
];

const rate = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The derived numbers, from printed cells: the same functions make the section and check it. */
export const derive = {
  rate: (images, msCell) => (images * 1e3) / value(msCell),
  times: (peerMsCell, ccMsCell) => value(peerMsCell) / value(ccMsCell),
  overhead: (stepCell, sumCell) => value(stepCell) - value(sumCell),
  ratio: (stepCell, sumCell) => value(stepCell) / value(sumCell),
};

/** The section's cells: { peers: [one object per peer row], step: { one object } }, keyed by column. */
export function trainingCells(result) {
  const images = result.spec.batchSize;
  const peers = ['convcore', 'convnetjs', 'tfjs-cpu'].map((name) => {
    const r = result.peers[name];
    const c = { peer: name, 'ms per step': `${r.scaledFrom ? '~' : ''}${fmt.ms(r.ms)}` };
    c['images/s'] = `${r.scaledFrom ? '~' : ''}${rate(derive.rate(images, c['ms per step']))}`;
    return c;
  });
  const cc = peers[0]['ms per step'];
  peers[0]['×'] = '';
  for (const c of peers.slice(1)) c['×'] = fmt.times(derive.times(c['ms per step'], cc));
  const step = { 'convcore step ms': cc, 'Σ kernels alone ms': fmt.ms(result.kernels.sumMs) };
  step['overhead ms'] = fmt.ms(derive.overhead(step['convcore step ms'], step['Σ kernels alone ms']));
  step['step / Σ kernels'] = fmt.times(derive.ratio(step['convcore step ms'], step['Σ kernels alone ms']));
  const one = { threads: threadsLabel(1), 'convcore ms per step': cc, '×': '' };
  const pool = { threads: threadsLabel(result.threads.count), 'convcore ms per step': fmt.ms(result.threads.ms) };
  for (const c of [one, pool]) c['images/s'] = rate(derive.rate(images, c['convcore ms per step']));
  pool['×'] = fmt.times(derive.times(one['convcore ms per step'], pool['convcore ms per step']));
  return { peers, step, threads: [one, pool] };
}

const bound = (t) => `${t.op} ${t.target}×`;

/** The target lines from the cells: { what, target, values, met, text } each. */
export function trainingTargets(cells) {
  const poolRow = cells.threads?.[1];
  const n = Number(/^(\d+) threads$/.exec(poolRow?.threads ?? '')?.[1]);
  return TARGETS.map((t) => {
    const row = t.row === 'step' ? cells.step : t.row === 'pool' ? poolRow : cells.peers.find((c) => c.peer === t.row);
    const what = typeof t.what === 'function' ? t.what(n) : t.what;
    const shown = row?.[t.col] ?? '';
    const v = value(shown);
    const met = v !== undefined && (t.op === '>=' ? v >= t.target : v <= t.target);
    const who = t.row === 'step' || t.row === 'pool' ? 'convcore' : t.row;
    return {
      what, target: bound(t), values: v === undefined ? {} : { [who]: v }, met,
      text: `- ${what} (target ${bound(t)}): ${v === undefined ? 'not measured' : `${who} ${shown}`} — **${met ? 'met' : 'not met'}**`,
    };
  });
}

const tableLines = (columns, rows) => [
  `| ${columns.join(' | ')} |`,
  `|${columns.map((c, i) => (i === 0 && (c === 'peer' || c === 'threads') ? '---' : '--:')).join('|')}|`,
  ...rows.map((r) => `| ${columns.map((k) => r[k]).join(' | ')} |`),
];

/** The section: description, the three tables, the check and timing notes, and the target lines. */
export function trainingReport(result) {
  const { peers, kernels: k, spec, threads: pool } = result;
  const n = pool.count;
  const cells = trainingCells(result);
  const targets = trainingTargets(cells);
  const checks = ['convcore', 'convnetjs', 'tfjs-cpu'].map((name) => {
    const c = peers[name].check;
    return `${name} ${c.before.toFixed(6)} → ${c.after.toFixed(6)} in ${c.steps} steps`;
  });
  const out = [
    SECTION,
    '',
    `ThreeLayerConvNet on the digits: input (${spec.inputDim.join(',')}), conv ${spec.numFilters} filters ${spec.filterSize}x${spec.filterSize} ` +
      `(pad ${(spec.filterSize - 1) / 2}, stride 1), relu, 2x2 max pool stride 2, affine ${spec.hiddenDim}, relu, affine ${spec.numClasses}, ` +
      `softmax loss; batch ${spec.batchSize}, Adam with learning rate ${result.learningRate}. A step is the forward, the backward and the ` +
      `update of one batch; images/s = ${spec.batchSize} / (ms per step / 1000) and × = the peer's ms / convcore's ms, from the printed times.`,
    '',
    ...tableLines(PEER_COLUMNS, cells.peers),
    '',
    ...tableLines(THREAD_COLUMNS, cells.threads),
    '',
    ...tableLines(STEP_COLUMNS, [cells.step]),
    '',
    `The ${k.calls} kernel calls of a step, each timed alone (ms): ` +
      k.byKernel.map((g) => `${g.name}${g.calls > 1 ? ` ×${g.calls}` : ''} ${fmt.ms(g.ms)}`).join(', ') + '.',
    '',
    'Notes:',
    '',
    '- convcore: solver.step() through the public API: the minibatch drawn and gathered, copied into the model\'s WebAssembly ' +
      'buffers, forward, backward, the loss read out, and Adam in place on every parameter; timed in blocks of ' +
      `${k.stepsPerSample} steps. Σ kernels alone: the kernel calls of one step, recorded as the library made them, each replayed ` +
      'alone on the same buffers, repeated for a few ms; overhead is the rest of the step (JavaScript between the calls, the batch ' +
      'in and the loss out). Both run on one thread (each op capped to one part), as do the peers.',
    `- threads: convcore's step on one thread (the figure above) and with the pool of ${n} threads, the same solver's ops free to run ` +
      `in up to ${n} parts (${pool.splitsPerStep} of its ops per step held enough work to run in parts; gathering the batch, ` +
      `the copies and the JavaScript between the calls stay serial); × = the one-thread ms / the ${n}-thread ms, from the printed times. ` +
      `Before it was timed, a second solver from the same seed trained ${pool.identicalSteps} steps on the pool: its loss history and ` +
      'parameters were bit-identical (Object.is on every value) to those of the one-thread solver after the same steps.',
    `- convnetjs: ${result.peerInfo.convnetjs}; a step is ${spec.batchSize} calls of its train.`,
    `- tfjs-cpu: ${result.peerInfo['tfjs-cpu']}; a step reads its loss back.`,
    '- Before it was timed, each peer started from convcore\'s initial weights, its scores on a batch were checked against ' +
      'convcore\'s (max-norm relative error <= 1e-9 in float64, <= 1e-4 in float32), and it trained on fixed batches; ' +
      `their mean loss, before → after: ${checks.join('; ')}.`,
    `- Each figure is the median over rounds that take turns: ${peers.convcore.samples.length} blocks of convcore steps on one thread and as ` +
      `many on ${n} threads (which goes first alternates), each pair followed by the one-thread kernels alone, ${peers.convnetjs.samples.length} steps of convnetjs and ${peers['tfjs-cpu'].samples.length} of tfjs-cpu ` +
      '(over ten seconds a step: its Conv2DBackpropFilter reads each value through TensorBuffer.get).',
  ];
  const scaled = ['convnetjs', 'tfjs-cpu'].filter((n) => peers[n].scaledFrom);
  if (scaled.length) {
    out.push(`- ~ (--quick) ${scaled.map((n) => `${n} trains on batches of ${peers[n].scaledFrom} images`).join(', ')}; ` +
      `its time is scaled to ${spec.batchSize} images, with an update per small batch (an overestimate).`);
  }
  out.push('', TARGETS_HEADING, '', ...targets.map((t) => t.text), '');
  return { md: out.join('\n'), cells, targets };
}

/** The tables of a section: runs of consecutive '|' lines, each as { keys, rows } (rows keyed by column). */
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
      const keys = split(run[0]);
      out.push({ keys, rows: run.slice(2).map((l) => Object.fromEntries(split(l).map((c, i) => [keys[i], c]))) });
    }
    run = [];
  }
  return out;
}

/**
 * Reads a training section (from its heading to the end of `md`) back: every derived cell is
 * recomputed from the printed ones (within half a unit of its last digit), and every target
 * line from the cells. Returns the disagreements, one line each (none: consistent).
 */
export function checkTraining(md) {
  const problems = [];
  const start = md.indexOf(SECTION);
  if (start < 0) return [`no "${SECTION}" section`];
  const section = md.slice(start);
  const [peerTable, threadTable, stepTable] = tables(section);
  if (peerTable?.keys.join('|') !== PEER_COLUMNS.join('|')) problems.push(`the first training table's columns are ${peerTable?.keys.join(', ')}; expected ${PEER_COLUMNS.join(', ')}`);
  if (threadTable?.keys.join('|') !== THREAD_COLUMNS.join('|')) problems.push(`the second training table's columns are ${threadTable?.keys.join(', ')}; expected ${THREAD_COLUMNS.join(', ')}`);
  if (stepTable?.keys.join('|') !== STEP_COLUMNS.join('|')) problems.push(`the third training table's columns are ${stepTable?.keys.join(', ')}; expected ${STEP_COLUMNS.join(', ')}`);
  if (problems.length) return problems;
  const images = Number(/batch (\d+), Adam/.exec(section)?.[1]);
  if (!(images > 0)) problems.push('the training section does not say its batch ("batch N, Adam")');

  const agree = (where, col, shownCell, derived, what) => {
    const shown = value(shownCell);
    if (shown === undefined || !Number.isFinite(derived) || Math.abs(shown - derived) > halfUnit(shownCell) + 1e-9 * Math.abs(derived)) {
      problems.push(`training ${where}: ${col} is "${shownCell}", but ${what} gives ${derived}`);
    }
  };
  const cc = peerTable.rows.find((r) => r.peer === 'convcore');
  if (!cc) problems.push('the training table has no convcore row');
  for (const r of peerTable.rows) {
    agree(r.peer, 'images/s', r['images/s'], derive.rate(images, r['ms per step']), `${images} / (${r['ms per step']} ms / 1000)`);
    if (r !== cc && cc) agree(r.peer, '×', r['×'], derive.times(r['ms per step'], cc['ms per step']), `${r['ms per step']} / ${cc['ms per step']}`);
  }
  const step = stepTable.rows[0] ?? {};
  if (cc && step['convcore step ms'] !== cc['ms per step']) {
    problems.push(`training: the step table's convcore step ms "${step['convcore step ms']}" is not the convcore row's "${cc['ms per step']}"`);
  }
  agree('step', 'overhead ms', step['overhead ms'], derive.overhead(step['convcore step ms'], step['Σ kernels alone ms']), `${step['convcore step ms']} − ${step['Σ kernels alone ms']}`);
  agree('step', 'step / Σ kernels', step['step / Σ kernels'], derive.ratio(step['convcore step ms'], step['Σ kernels alone ms']), `${step['convcore step ms']} / ${step['Σ kernels alone ms']}`);

  const [one, pool, ...extra] = threadTable.rows;
  if (one?.threads !== threadsLabel(1) || !/^\d+ threads$/.test(pool?.threads ?? '') || extra.length) {
    problems.push(`the thread table's rows are ${threadTable.rows.map((r) => `"${r.threads}"`).join(', ')}; expected "1 thread" and "N threads"`);
  } else {
    const ms = 'convcore ms per step';
    if (cc && one[ms] !== cc['ms per step']) problems.push(`training: the thread table's one-thread ms "${one[ms]}" is not the convcore row's "${cc['ms per step']}"`);
    for (const r of [one, pool]) agree(r.threads, 'images/s', r['images/s'], derive.rate(images, r[ms]), `${images} / (${r[ms]} ms / 1000)`);
    if (one['×']) problems.push(`training 1 thread: × is "${one['×']}"; expected none`);
    agree(pool.threads, '×', pool['×'], derive.times(one[ms], pool[ms]), `${one[ms]} / ${pool[ms]}`);
  }

  const heading = section.indexOf(`\n${TARGETS_HEADING}`);
  const printed = heading < 0 ? [] : section.slice(heading).split('\n').filter((l) => l.startsWith('- '));
  const recomputed = trainingTargets({ peers: peerTable.rows, step, threads: threadTable.rows }).map((t) => t.text);
  if (printed.length !== recomputed.length) problems.push(`${printed.length} training target lines; the tables give ${recomputed.length}`);
  recomputed.forEach((line, i) => {
    if (printed[i] !== line) problems.push(`training target line ${i + 1} reads\n  ${printed[i]}\nbut the tables give\n  ${line}`);
  });
  return problems;
}
