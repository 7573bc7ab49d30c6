// The results: the performance targets and the Markdown table.
//
// A result row is { label, kind, shape, flops, convcore, peers } where convcore is
// { ms, samples, gflops?, pctPeak?, reused? } and peers maps a peer name to
// { ms, samples, speedup, gflops?, scaledFrom? } or { na }.

const TARGETS = {
  fwdPeak: 65,
  bwdPeak: 55,
  plainJs: 15,
  tfjsFwd: 0.45,
  tfjsDx: 4,
  memoryBound: 4,
};

const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const times = (v) => `${v >= 10 ? v.toFixed(0) : v.toFixed(1)}×`;
const ratio = (v) => `${v.toFixed(2)}×`;

/** One acceptance line: `values` are [name, value] pairs, all of which must reach `target`. */
function line(what, target, unit, values) {
  const shown = values.filter(([, v]) => v !== undefined);
  const fmt = unit === '%' ? (v) => `${v.toFixed(0)}%` : unit === '×' ? times : ratio;
  const missing = values.length - shown.length;
  const met = missing === 0 && shown.length > 0 && shown.every(([, v]) => v >= target);
  const worst = shown.length ? Math.min(...shown.map(([, v]) => v)) : undefined;
  return {
    what,
    target: `>= ${unit === '%' ? `${target}%` : `${target}×`}`,
    values: Object.fromEntries(shown),
    worst,
    met,
    text:
      `- ${what} (target >= ${unit === '%' ? `${target}%` : `${target}×`}): ` +
      (shown.map(([n, v]) => `${n} ${fmt(v)}`).join(', ') || 'no values') +
      (missing ? ` (${missing} not measured)` : '') +
      ` — **${met ? 'met' : 'not met'}**`,
  };
}

/** The performance targets, each met or not, from the result rows. */
export function acceptance(rows) {
  const find = (kind, shapeName) => rows.find((r) => r.kind === kind && (!shapeName || r.shapeName === shapeName));
  const conv = (kind) => rows.filter((r) => r.kind === kind);
  const peer = (r, name) => r.peers[name] ?? {};
  const kpeak = (r) => r.convcore.kernel?.pctPeak;
  const lines = [
    line('conv fwd, % of peak, public API', TARGETS.fwdPeak, '%', conv('convForward').map((r) => [r.shapeName, r.convcore.pctPeak])),
    line('conv fwd, % of peak, kernel alone', TARGETS.fwdPeak, '%', conv('convForward').map((r) => [r.shapeName, kpeak(r)])),
    line('conv bwd dx+dw+db, % of peak, public API', TARGETS.bwdPeak, '%', conv('convBackward').map((r) => [r.shapeName, r.convcore.pctPeak])),
    line('conv bwd dx+dw+db, % of peak, kernel alone', TARGETS.bwdPeak, '%', conv('convBackward').map((r) => [r.shapeName, kpeak(r)])),
  ];
  for (const name of ['reference', 'convnetjs']) {
    for (const kind of ['convForward', 'convBackward']) {
      const label = kind === 'convForward' ? 'conv fwd' : 'conv bwd';
      lines.push(line(`${label}, speedup over ${name}`, TARGETS.plainJs, '×', conv(kind).map((r) => [r.shapeName, peer(r, name).speedup])));
    }
  }
  lines.push(
    line('conv fwd, GFLOP/s ratio to tfjs-wasm, public API', TARGETS.tfjsFwd, 'x', conv('convForward').map((r) => [r.shapeName, peer(r, 'tfjs-wasm').speedup])),
    line('conv fwd, GFLOP/s ratio to tfjs-wasm, kernel alone (as tfjs is timed)', TARGETS.tfjsFwd, 'x', conv('convForward').map((r) => [r.shapeName, peer(r, 'tfjs-wasm').kernelSpeedup])),
  );
  // convcore has no dx-only entry point: its dx rate is taken as the rate of its full
  // backward (2x the FLOPs of dx in the time of dx+dw+db). The plain time ratio, a
  // lower bound on the dx speedup, is given alongside.
  const dx = conv('convBackwardDx');
  const dxLine = line(
    'conv dx, GFLOP/s ratio to tfjs-wasm dx (convcore rate = its full backward rate)',
    TARGETS.tfjsDx,
    'x',
    // convcore's full backward does twice the FLOPs of dx alone in the time paired with tfjs's dx.
    dx.map((r) => {
      const t = peer(r, 'tfjs-wasm');
      return [r.shapeName, t.speedup ? 2 * t.speedup : undefined];
    }),
  );
  const bound = dx.map((r) => `${r.shapeName} ${peer(r, 'tfjs-wasm').speedup?.toFixed(2) ?? '?'}×`).join(', ');
  dxLine.text += `; time ratio, tfjs dx alone vs convcore dx+dw+db (a lower bound): ${bound}`;
  lines.push(dxLine);
  const memoryBound = ['maxPoolForward', 'maxPoolBackward', 'batchnormForward', 'batchnormBackward', 'spatialBatchnormForward', 'spatialBatchnormBackward'];
  lines.push(
    line('max pool and batchnorm, speedup over reference, public API (copies counted)', TARGETS.memoryBound, '×', memoryBound.filter((k) => find(k)).map((k) => {
      const r = find(k);
      return [r.label, peer(r, 'reference').speedup];
    })),
    line('max pool and batchnorm, speedup over reference, kernel alone', TARGETS.memoryBound, '×', memoryBound.filter((k) => find(k)).map((k) => {
      const r = find(k);
      return [r.label, peer(r, 'reference').kernelSpeedup];
    })),
  );
  return lines;
}

const MARKS = ['‡', '§', '¶', '‖'];

function cell(result, notes) {
  if (!result) return ['', ''];
  if (result.mismatch) return ['wrong output', ''];
  if (result.na) return ['not available', ''];
  let mark = '';
  if (result.note) {
    if (!notes.includes(result.note)) notes.push(result.note);
    mark = ` ${MARKS[notes.indexOf(result.note)] ?? '*'}`;
  }
  return [`${result.scaledFrom ? '~' : ''}${ms(result.ms)}${mark}`, times(result.speedup)];
}

/** The whole Markdown document: header, table, notes and acceptance lines. */
export function markdown(doc) {
  const { machine, peak, peers, rows, targets, quick } = doc;
  const out = [];
  out.push(`# convcore benchmark${quick ? ' (--quick: indicative only)' : ''}`, '');
  out.push(
    `- Machine: ${machine.cpu} (${machine.cores} logical cores), ${machine.os}; Node ${machine.node} (V8 ${machine.v8}); ${machine.date}.`,
    `- Single thread. Every time is the median of the Benchmark.js samples of one call ` +
      `(${doc.sampling.rule}; the counts are in the .json).`,
    `- Wasm f64x2 multiply-add peak (bench/peak.ts, median of ${peak.runs} runs): **${peak.gflops.toFixed(1)} GFLOP/s** ` +
      `(${peak.start.toFixed(1)} at the start of the run, ${peak.end.toFixed(1)} at the end; median of the paired runs during each conv row: ` +
      `${rows.filter((r) => r.paired && r.kind !== 'convBackwardDx').map((r) => `${r.label} ${r.shapeName} ${r.paired.peak.toFixed(1)}`).join(', ')}).`,
    `- % of peak is measured in pairs, because this VM's speed drifts: each of ${rows.find((r) => r.paired)?.paired.pairs ?? 0} measurements ` +
      `(the API call, and the kernel alone, each repeated for about 50 ms) sits between two short runs of the peak kernel, its rate is divided by their mean, ` +
      `and the median of those ratios is given. The ms and GFLOP/s columns are the Benchmark.js medians.`,
    `- Peers: ${peers.join('; ')}.`,
    `- FLOPs: conv fwd 2·N·F·H2·W2·C·HH·WW; conv bwd dx+dw+db twice that; conv dx alone once that.`,
    '',
  );
  const names = doc.peerNames;
  out.push(
    `| op | shape | convcore ms | GFLOP/s | % peak | kernel ms | kernel % peak | ${names.map((n) => `${n} ms | ×`).join(' | ')} |`,
    `|---|---|--:|--:|--:|--:|--:|${names.map(() => '--:|--:').join('|')}|`,
  );
  const notes = []; // peer notes, in order of first appearance: their marks
  for (const r of rows) {
    const c = r.convcore;
    const gf = c.gflops ? c.gflops.toFixed(1) : '';
    const pct = c.pctPeak ? `${c.pctPeak.toFixed(0)}%` : '';
    const cc = `${ms(c.ms)}${c.reused ? ' †' : ''}`;
    const kms = c.kernel && !c.kernel.na ? ms(c.kernel.ms) : '';
    const kpct = c.kernel?.pctPeak ? `${c.kernel.pctPeak.toFixed(0)}%` : '';
    out.push(`| ${r.label} | ${r.shape} | ${cc} | ${gf} | ${pct} | ${kms} | ${kpct} | ${names.map((n) => cell(r.peers[n], notes).join(' | ')).join(' | ')} |`);
  }
  out.push(
    '',
    quick
      ? '× is the speedup of convcore: the peer\'s ms divided by convcore\'s.'
      : '× is the speedup of convcore\'s API call: the peer\'s ms divided by convcore\'s for max pool and batchnorm, and for the conv rows measured in pairs: the median, over calls made back to back, of the peer\'s time ' +
        'divided by convcore\'s (3 pairs for a call of 500 ms or more, 7 otherwise; each member of a pair is the mean of as many calls as take about 50 ms, as in a Benchmark.js sample). This VM\'s speed drifts over minutes, so ' +
        'this can differ from the ratio of the two ms columns, which were taken at different times. ' +
        'Max pool and batchnorm are not paired: their API times depend on whether the allocator hands back recycled or fresh pages ' +
        '(a fresh page costs about 3 ms per MiB here), and interleaving other peers\' calls changes that; ' +
        'their ms are Benchmark.js medians in the steady state of repeated calls. The .json also has the speedups of the kernel alone (kernelSpeedup).',
    '',
  );
  out.push('Notes:', '');
  out.push(
    '- convcore is timed through its public API, validation and the copies into and out of Wasm memory included. ' +
      'The peers are timed on data already in their own layout (and, for tfjs-wasm, already in its memory, results left there). ' +
      'A backward is timed on the cache of one forward made outside the timing.',
    '- kernel: convcore\'s Wasm kernels alone, with the inputs already in Wasm memory and the results left there, ' +
      'as tfjs-wasm is timed. The difference from the public API is the copies in and out and, above all, the first ' +
      'touch of the fresh result arrays (and a forward\'s cache): on this VM a page touched for the first time costs ' +
      'about 3 ms per MiB, so whether the allocator hands back recycled or fresh pages moves an API time by up to that much.',
    '- † convcore has no dx-only entry point: the dx row repeats its full backward (dx+dw+db) and its GFLOP/s, ' +
      'so the × over tfjs-wasm dx there is a lower bound on the dx speedup.',
  );
  if (quick) {
    out.push(
      `- ~ (--quick) the plain-JS peers are timed by one call on the first ${doc.quickImages} image(s) of a conv batch, ` +
        `and the time is multiplied by N/${doc.quickImages}. The conv outputs are checked on those image(s) only.`,
    );
  }
  for (const [i, note] of notes.entries()) {
    const who = names.filter((n) => rows.some((r) => r.peers[n]?.note === note));
    out.push(`- ${MARKS[i] ?? '*'} ${who.join(', ')}: ${note}.`);
  }
  const reasons = new Map();
  for (const r of rows) {
    for (const n of names) {
      const na = r.peers[n]?.na;
      if (na) reasons.set(`${n}: ${na}`, [...(reasons.get(`${n}: ${na}`) ?? []), r.label]);
    }
  }
  for (const [why, labels] of reasons) {
    out.push(`- ${why.includes('did not match') ? 'wrong output' : 'not available'}, ${why} (${[...new Set(labels)].join(', ')}).`);
  }
  out.push('- Every peer\'s outputs were checked against the reference loops before it was timed ' +
    '(max-norm relative error <= 1e-9 for float64, <= 1e-4 for float32).', '');
  out.push('## Targets', '', ...targets.map((t) => t.text), '');
  return out.join('\n');
}
