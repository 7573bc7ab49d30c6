// Seeded random data, plain JavaScript with no dependencies, so that everything that needs
// the same numbers can import it as it is: the Node tests (through vitest), the browser
// suite (bundled into the test pages) and the benchmark (run by node). Types: random.d.ts.

/** mulberry32: a small seeded PRNG, so every run sees the same configurations and data. */
export function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    normal: () => {
      // Box–Muller; 1 − u keeps the log finite.
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
    // Fisher–Yates, from the end; works on arrays and typed arrays alike.
    shuffle: (xs) => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const t = xs[i];
        xs[i] = xs[j];
        xs[j] = t;
      }
      return xs;
    },
  };
}

export function size(shape) {
  return shape.reduce((p, s) => p * s, 1);
}

/** Normal entries with standard deviation `scale`, plus `shift`. */
export function randn(r, shape, scale = 1, shift = 0) {
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = shift + scale * r.normal();
  return { data, shape: shape.slice() };
}

/**
 * Entries that are pairwise at least `gap` apart (a shuffled arithmetic sequence starting at
 * `lo`), so that a perturbation smaller than gap/2 never changes which entry is a maximum.
 */
export function distinct(r, shape, gap, lo) {
  const n = size(shape);
  const vals = r.shuffle(Array.from({ length: n }, (_, i) => lo + gap * i));
  return { data: Float64Array.from(vals), shape: shape.slice() };
}
