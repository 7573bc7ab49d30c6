// Timing with Benchmark.js, reported as the median of its samples.
//
// Each Benchmark.js sample is the mean time of `count` calls, where count is
// calibrated so that a sample lasts at least minTime (50 ms); for slow calls a
// sample is one call. We report the median of the samples rather than the mean,
// so that one sample disturbed by GC or another process does not move the result.
//
// The benchmark is deferred: Benchmark.js then calls our function directly. In its
// synchronous mode it would first call a closure once more per sample as a
// "pretest", which doubles the cost of the slow peers and measures nothing.

import Benchmark from 'benchmark';

/**
 * Sample settings. In a full run a call that takes SLOW_CALL_MS or more (the plain-JS
 * conv loops, some tfjs dx) gets the slow settings, every other call the fast ones.
 * In --quick the plain-JS peers are called once; the others get a few samples.
 */
export const SLOW_CALL_MS = 500;
export const SAMPLING = {
  full: {
    fast: { minSamples: 10, maxTime: 3 },
    // At least 3 calls, and more while the 5 s budget lasts: a 1 s call gets 5.
    slow: { minSamples: 3, maxTime: 5 },
    // convcore on one thread and on the pool: timed in this many turns each (timeInTurns).
    turns: 5,
  },
  quick: {
    fast: { minSamples: 3, maxTime: 0.2 },
    // One timed call, which is also the one whose result is checked.
    slow: { once: true, minSamples: 1 },
    turns: 2,
  },
};

/** The sampling rule in words, for the table header. */
export function describeSampling(mode) {
  const { fast, slow, turns } = SAMPLING[mode];
  const rule = mode === 'quick'
    ? `at least ${fast.minSamples} samples for convcore and tfjs-wasm; one call for the plain-JS peers`
    : `at least ${fast.minSamples} samples for a call under ${SLOW_CALL_MS} ms, at least ${slow.minSamples} for a longer one`;
  return `${rule}; convcore on one thread and on the pool in ${turns} turns (which goes first alternates), each with 1/${turns} of the samples and time ` +
    'of one Benchmark.js run, the median taken over all the samples of its turns';
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times fn() and resolves to { ms, samples, value }: the median milliseconds per
 * call, the number of samples it was taken from, and what the last call returned.
 * With `once`, fn is called and timed once, without Benchmark.js.
 */
export function time(fn, { minSamples, maxTime, once = false }) {
  let value;
  if (once) {
    const t0 = performance.now();
    value = fn();
    const ms = performance.now() - t0;
    return Promise.resolve({ ms, samples: 1, value, sample: [ms] });
  }
  return new Promise((resolve, reject) => {
    const bench = new Benchmark({
      defer: true,
      minSamples,
      maxTime,
      fn: function (deferred) {
        value = fn();
        deferred.resolve();
      },
      onComplete() {
        if (bench.error) reject(bench.error);
        else {
          const sample = bench.stats.sample.map((s) => s * 1e3);
          resolve({ ms: median(sample), samples: sample.length, value, sample });
        }
      },
    });
    bench.run({ async: true });
  });
}

/**
 * Times several functions in turns: `rounds` rounds, each timing every function in order
 * with Benchmark.js on 1/rounds of the settings' time budget and samples, so that slow drift
 * of the machine's speed falls on all of them alike. Resolves to one { ms, samples, rounds }
 * per function: the median of all its samples, over every round.
 */
export async function timeInTurns(fns, settings, rounds) {
  const per = settings.once
    ? settings
    : { ...settings, minSamples: Math.ceil(settings.minSamples / rounds), maxTime: settings.maxTime / rounds };
  const samples = fns.map(() => []);
  for (let r = 0; r < rounds; r++) {
    // Which goes first alternates from turn to turn, so that a drift of the machine's speed
    // within a turn favours neither.
    const order = [...fns.keys()];
    if (r % 2) order.reverse();
    for (const i of order) samples[i].push(...(await time(fns[i], per)).sample);
  }
  return samples.map((s) => ({ ms: median(s), samples: s.length, rounds }));
}
