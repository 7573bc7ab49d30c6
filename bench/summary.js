// The README's benchmark summary: a few rows and columns of bench/results.md, copied as
// printed (no number is recomputed), and the training step's figures. A full run of
// `npm run bench` writes it into README.md between the SUMMARY_START and SUMMARY_END
// markers; test/readme.test.ts checks that the README holds summary(bench/results.md).

export const SUMMARY_START = '<!-- bench-summary:start -->';
export const SUMMARY_END = '<!-- bench-summary:end -->';

/** The rows, by op and the start of their shape, in the order they are shown. */
export const SUMMARY_ROWS = [
  ['conv fwd', 'cs231n'],
  ['conv fwd', 'resnet'],
  ['conv fwd', 'deep'],
  ['conv bwd dx+dw+db', 'cs231n'],
  ['conv bwd dx+dw+db', 'resnet'],
  ['conv bwd dx only', 'resnet'],
  ['max pool fwd', ''],
  ['max pool bwd', ''],
  ['spatial batchnorm fwd', ''],
  ['layernorm fwd', ''],
  ['dropout fwd', ''],
  ['adam step', ''],
];

/**
 * The columns shown: [heading in the summary, heading in results.md, which occurrence of
 * that heading (the table has several "×" columns, each after its peer's ms), and for a ×
 * the heading of its peer's ms, whose "not available" stands in for an empty ×].
 */
const COLUMNS = [
  ['op', 'op', 0],
  ['shape', 'shape', 0],
  ['convcore ms', 'convcore ms', 0],
  ['% peak', '% peak', 0],
  ['2 threads ms', '2 threads ms', 0],
  ['2 threads ×', '2 threads ×', 0],
  ['relaxed ms', 'relaxed ms', 0, undefined, 'optional'],
  ['relaxed speedup', 'relaxed speedup', 0, undefined, 'optional'],
  ['× reference', '×', 0, 'reference ms'],
  ['× convnetjs', '×', 1, 'convnetjs ms'],
  ['tfjs-wasm ms', 'tfjs-wasm ms', 0],
  ['× tfjs-wasm', '×', 2],
];

const cellsOf = (line) => line.split('|').slice(1, -1).map((c) => c.trim());

/** The cells of the first table of `md` whose header line starts with `head`, as rows of cells, header first. */
function table(md, head) {
  const lines = md.split('\n');
  const i = lines.findIndex((l) => l.startsWith(head));
  if (i < 0) throw new Error(`bench summary: results.md has no table starting "${head}"`);
  const rows = [cellsOf(lines[i])];
  for (let j = i + 2; j < lines.length && lines[j].startsWith('|'); j++) rows.push(cellsOf(lines[j]));
  return rows;
}

/** The value after `label` on the list line of `md` that starts with `- ${label}`. */
function listLine(md, label) {
  const line = md.split('\n').find((l) => l.startsWith(`- ${label}`));
  if (!line) throw new Error(`bench summary: results.md has no "- ${label}" line`);
  return line;
}

/** The README's summary of a bench/results.md (the text of a full run), markers excluded. */
export function summary(md) {
  const [header, ...rows] = table(md, '| op | shape |');
  // The relaxed build's columns are there when the run had relaxed SIMD.
  const shown = COLUMNS.filter(([, name, , , optional]) => !optional || header.includes(name));
  const column = (name, nth = 0) => {
    const at = header.map((h, i) => (h === name ? i : -1)).filter((i) => i >= 0)[nth];
    if (at === undefined) throw new Error(`bench summary: results.md has no column "${name}" (#${nth + 1})`);
    return at;
  };
  const index = shown.map(([, name, nth, peer]) => [column(name, nth), peer === undefined ? -1 : column(peer)]);
  const picked = SUMMARY_ROWS.map(([op, shape]) => {
    const row = rows.find((r) => r[0] === op && r[1].startsWith(shape));
    if (!row) throw new Error(`bench summary: results.md has no row ${op} ${shape}`);
    return index.map(([i, peer]) => (row[i] === '' && peer >= 0 && row[peer] === 'not available' ? 'not available' : row[i]));
  });
  const marked = picked.some((r) => r.some((c) => c.includes('‡')));
  const line = (cells) => `| ${cells.join(' | ')} |`;
  const rule = line(shown.map(([, , ], i) => (i < 2 ? '---' : '--:'))).replace(/ /g, '');

  const peers = Object.fromEntries(table(md, '| peer |').slice(1).map((r) => [r[0], r]));
  const threads = Object.fromEntries(table(md, '| threads |').slice(1).map((r) => [r[0], r]));
  const pool = Object.keys(threads).find((k) => k !== '1 thread');
  const machine = listLine(md, 'Machine: ').slice('- Machine: '.length).replace(/; \d{4}-\d\d-\d\dT[\d:.]+Z\.$/, '');
  const peakLine = listLine(md, 'Wasm f64x2 multiply-add peak');
  const peak = /\*\*([\d.]+ GFLOP\/s)\*\*/.exec(peakLine)?.[1];
  const fma = /\*\*([\d.]+ GFLOP\/s) FMA\*\*/.exec(peakLine)?.[1];
  if (!peers.convcore || !peers.convnetjs || !peers['tfjs-cpu'] || !pool || !peak) throw new Error('bench summary: results.md lacks the training tables or the peak');

  return [
    `Measured on ${machine};`,
    `this machine's Wasm \`f64x2\` multiply-add peak was ${peak}${fma ? `, and ${fma} fused (\`relaxed_madd\`)` : ''}.`,
    '× is a peer\'s ms over convcore\'s (how many times faster convcore is); 2 threads × is the',
    `one-thread ms over the pool's.${fma ? ' The relaxed columns are the relaxed build on one thread, and its speedup over the plain one.' : ''}`,
    'The resnet and deep convs run on Winograd F(2x2, 3x3): % peak counts the direct conv\'s FLOPs, so it can pass 100%.',
    '',
    line(shown.map(([name]) => name)),
    rule,
    ...picked.map(line),
    ...(marked ? ['', '‡: see the notes of bench/results.md.'] : []),
    '',
    `A training step of ThreeLayerConvNet on the digits (batch 50, Adam) took ${peers.convcore[1]} ms`,
    `(${peers.convcore[2]} images/s) on one thread and ${threads[pool][1]} ms on ${pool}; convnetjs took`,
    `${peers.convnetjs[1]} ms (convcore ${peers.convnetjs[3]} faster) and tfjs-cpu ${peers['tfjs-cpu'][1]} ms (${peers['tfjs-cpu'][3]}).`,
  ].join('\n');
}

/** `readme` with its summary replaced by summary(md); unchanged (and `false`) when it has no markers. */
export function withSummary(readme, md) {
  const i = readme.indexOf(SUMMARY_START);
  const j = readme.indexOf(SUMMARY_END);
  if (i < 0 || j < i) return false;
  return `${readme.slice(0, i + SUMMARY_START.length)}\n${summary(md)}\n${readme.slice(j)}`;
}

/** The summary that `readme` holds between the markers, or null. */
export function summaryIn(readme) {
  const i = readme.indexOf(SUMMARY_START);
  const j = readme.indexOf(SUMMARY_END);
  return i < 0 || j < i ? null : readme.slice(i + SUMMARY_START.length, j).trim();
}
