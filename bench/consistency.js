// Reads a benchmark document (bench/results.md, as printed) back and checks that it cannot
// contradict itself: every derived column of every row is recomputed from the numbers
// printed in that row and in the header, and every target line from the printed table.
// A number agrees when it is within half a unit of its last printed digit of what the
// printed inputs give. Returns the disagreements, one line each (none: consistent).
// The training and networks sections at the end of a document have their own tables and
// targets, and their own checks (training-report.js, networks-report.js).

import { columns, acceptance } from './report.js';
import { checkRow } from './row-check.js';
import { SECTION as TRAINING, checkTraining } from './training-report.js';
import { SECTION as NETWORKS, checkNetworks, sectionPeak, sectionThreads } from './networks-report.js';

/**
 * The header's peak and thread count, and the table as cells, keyed as report.js keys them;
 * `threads` is the count the pool's columns name.
 */
export function parse(md) {
  const peak = /\*\*(\d+(?:\.\d+)?) GFLOP\/s\*\*/.exec(md)?.[1];
  const fmaPeak = /\*\*(\d+(?:\.\d+)?) GFLOP\/s FMA\*\*/.exec(md)?.[1];
  const headerThreads = /init\(\{ threads: (\d+) \}\)/.exec(md)?.[1];
  const lines = md.split('\n').filter((l) => l.startsWith('|'));
  const split = (l) => l.slice(1, -1).split('|').map((c) => c.trim());
  const head = lines.length ? split(lines[0]) : [];
  // A × column belongs to the peer whose ms column comes right before it.
  const keys = head.map((h, i) => (h === '×' ? `${head[i - 1].replace(/ ms$/, '')} ×` : h));
  const cells = lines.slice(2).map((l) => Object.fromEntries(split(l).map((c, i) => [keys[i], c])));
  const threads = keys.map((k) => /^(\d+) threads ms$/.exec(k)?.[1]).find((t) => t !== undefined);
  const own = (k) => ['convcore ms', 'kernel ms', 'relaxed ms'].includes(k) || /^(kernel )?\d+ threads ms$/.test(k);
  const peerNames = keys.filter((k) => k.endsWith(' ms') && !own(k)).map((k) => k.replace(/ ms$/, ''));
  const section = md.indexOf('\n## Targets');
  const targets = section < 0 ? [] : md.slice(section).split('\n').filter((l) => l.startsWith('- '));
  return { peak, fmaPeak, headerThreads: headerThreads && Number(headerThreads), threads: threads && Number(threads), keys, cells, peerNames, targets };
}

export function checkConsistency(md) {
  const networks = md.indexOf(`\n${NETWORKS}\n`);
  if (networks >= 0) {
    const head = md.slice(0, networks + 1);
    const section = md.slice(networks + 1);
    const problems = [...checkConsistency(head), ...checkNetworks(section)];
    // The section's % peak is against the header's peak, and its pool is the header's.
    const { peak, headerThreads } = parse(head);
    const own = sectionPeak(section);
    if (own !== undefined && own !== peak) problems.push(`the networks section takes the peak as ${own} GFLOP/s; the header gives ${peak}`);
    const n = sectionThreads(section);
    if (n !== undefined && n !== headerThreads) problems.push(`the networks section's pool has ${n} threads; the header's ${headerThreads}`);
    return problems;
  }
  const training = md.indexOf(`\n${TRAINING}\n`);
  if (training >= 0) return [...checkConsistency(md.slice(0, training + 1)), ...checkTraining(md.slice(training + 1))];
  const problems = [];
  const { peak, fmaPeak, headerThreads, threads, keys, cells, peerNames, targets } = parse(md);
  if (peak === undefined) problems.push('the header gives no peak (**X GFLOP/s**)');
  if (headerThreads === undefined) problems.push('the header gives no thread count (init({ threads: N }))');
  else if (threads !== headerThreads) problems.push(`the header's pool has ${headerThreads} threads, but the columns name ${threads}`);
  const want = columns(peerNames, threads ?? headerThreads, fmaPeak !== undefined);
  if (keys.join('|') !== want.join('|')) problems.push(`the columns are ${keys.join(', ')}; expected ${want.join(', ')}`);
  // With --only (which the header says), no op row may match.
  if (cells.length === 0 && !/^- --only "/m.test(md)) problems.push('the table has no rows');

  for (const c of cells) problems.push(...checkRow(c, { peak, fmaPeak, threads, peerNames }));

  const recomputed = acceptance(cells, threads, fmaPeak && { plain: peak, fma: fmaPeak }).map((t) => t.text);
  if (targets.length !== recomputed.length) problems.push(`${targets.length} target lines; the table gives ${recomputed.length}`);
  recomputed.forEach((line, i) => {
    if (targets[i] !== line) problems.push(`target line ${i + 1} reads\n  ${targets[i]}\nbut the table gives\n  ${line}`);
  });
  return problems;
}
