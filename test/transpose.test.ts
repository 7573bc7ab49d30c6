/**
 * transpose (numpy's, the axis permutation the seed needs) of the Node API against the
 * plain reference loops, on shapes of rank 1 to 5 with given and default axes. A
 * permutation moves values without arithmetic, so the results must be equal.
 */
import { describe, it, expect } from 'vitest';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { Api, makeRng, randn, show } from './util.js';

const api: Api = main;
const oracle: Api = ref;

const transposeCases: { shape: number[]; axes?: number[] }[] = [
  { shape: [7], axes: [0] }, { shape: [3, 5] }, { shape: [2, 3, 4], axes: [0, 2, 1] },
  { shape: [2, 3, 4, 5], axes: [0, 2, 3, 1] }, { shape: [2, 4, 5, 3], axes: [0, 3, 1, 2] },
  { shape: [1, 1, 3] }, { shape: [3, 1, 2, 1, 2], axes: [4, 2, 0, 3, 1] },
];
{
  const r = makeRng(8901);
  while (transposeCases.length < 22) {
    const rank = r.int(1, 5);
    const shape = Array.from({ length: rank }, () => r.int(1, 5));
    transposeCases.push(r.chance(0.2) ? { shape } : { shape, axes: r.shuffle(Array.from({ length: rank }, (_, k) => k)) });
  }
}

describe('transpose vs reference', () => {
  transposeCases.forEach((c, i) => {
    it(`transpose #${i} ${show(c)}`, () => {
      const r = makeRng(9000 + i);
      const x = randn(r, c.shape);
      const got = api.transpose(x, c.axes);
      const want = oracle.transpose(x, c.axes);
      expect(Array.from(got.shape)).toEqual(Array.from(want.shape));
      expect(got.data).toBeInstanceOf(Float64Array);
      expect(Array.from(got.data), 'a permutation is exact').toEqual(Array.from(want.data));
    });
  });
});
