/**
 * The seeded generator of the models and the solver: sfc32 (a 128-bit state of four
 * 32-bit words), seeded through splitmix32. Its state is four integers, so a checkpoint
 * can keep it and training resumed from it draws the same numbers.
 */
import { fail } from '../errors.js';

export type GeneratorState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Generator {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** A second normal from the last Box–Muller pair, or null. */
  private spare: number | null = null;

  /** seed: a non-negative safe integer; its high and low 32 bits both count. */
  constructor(seed: number) {
    const mix = splitmix32(seed >>> 0);
    this.a = mix(); this.b = mix(); this.c = mix();
    this.d = (mix() ^ Math.floor(seed / 4294967296)) >>> 0;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The next 32 random bits as an unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = (this.b ^ (this.b >>> 9)) >>> 0;
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992;
  }

  /** A uniform integer in [0, n), n ≤ 2^32, without modulo bias. */
  below(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = this.u32();
      if (r < limit) return r % n;
    }
  }

  /** A standard normal (Box–Muller; 1 − u keeps the log finite). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const t = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(t);
    return r * Math.cos(t);
  }

  /** The whole state: four words and the spare normal, JSON-safe. */
  get state(): { words: GeneratorState; spare: number | null } {
    return { words: [this.a, this.b, this.c, this.d], spare: this.spare };
  }

  set state(s: { words: GeneratorState; spare: number | null }) {
    const ok = s !== null && typeof s === 'object' && Array.isArray(s.words) && s.words.length === 4
      && s.words.every((w) => Number.isInteger(w) && w >= 0 && w < 4294967296)
      && (s.spare === null || typeof s.spare === 'number');
    if (!ok) fail(`Generator: state must be { words: four unsigned 32-bit integers, spare: a number or null }, got ${JSON.stringify(s)}`);
    [this.a, this.b, this.c, this.d] = s.words;
    this.spare = s.spare;
  }
}
