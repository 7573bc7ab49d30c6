import { expect } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Tensor } from '../src/tensor.js';
import type { ConvParam, PoolParam, BatchnormParam, Labels } from '../src/params.js';

import { Rng, size } from './random.js';
import { maxNormRelError } from '../src/gradcheck.js';
import { ConvcoreError } from '../src/errors.js';

export { makeRng, size, randn, distinct } from './random.js';
export type { Rng } from './random.js';

/** Entries whose magnitude is at least `away` (for ReLU checks: no entry near the kink at 0). */
export function awayFromZero(r: Rng, shape: readonly number[], away: number): Tensor {
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = (r.chance(0.5) ? 1 : -1) * (away + Math.abs(r.normal()));
  return { data, shape: shape.slice() };
}

export function copy(t: Tensor): Tensor {
  return { data: t.data.slice(), shape: t.shape.slice() };
}

/**
 * max|a − b| / max(max|b|, tiny): the error relative to the largest expected entry; a NaN
 * or a length mismatch gives Infinity. The one in src/gradcheck.ts, which the browser
 * suite and the bench use too.
 */
export { maxNormRelError, maxNormRelError as maxNormRelErr } from '../src/gradcheck.js';

export const TOL = 1e-10;

/** Asserts that `actual` has the shape of `expected` and matches it at max-norm relative TOL. */
export function expectClose(actual: Tensor, expected: Tensor, label: string, tol = TOL): void {
  expect(actual.data, `${label}: data must be a Float64Array`).toBeInstanceOf(Float64Array);
  expect(Array.from(actual.shape), `${label}: shape`).toEqual(Array.from(expected.shape));
  const err = maxNormRelError(actual.data, expected.data);
  expect(err, `${label}: max-norm relative error`).toBeLessThanOrEqual(tol);
}

export function expectCloseNumber(actual: number, expected: number, label: string, tol = TOL): void {
  const err = maxNormRelError(actual, expected);
  expect(err, `${label}: relative error`).toBeLessThanOrEqual(tol);
}

/**
 * Asserts that `call` throws a ConvcoreError whose message matches `says` and, when `fn`
 * is given, starts with the function's name.
 */
export function expectConvcoreError(call: () => unknown, says: RegExp, fn?: string): void {
  let err: unknown;
  try {
    call();
  } catch (e) {
    err = e;
  }
  expect(err, 'throws a ConvcoreError').toBeInstanceOf(ConvcoreError);
  const msg = (err as Error).message;
  if (fn !== undefined) expect(msg.startsWith(`${fn}: `), msg).toBe(true);
  expect(msg).toMatch(says);
}

export function show(config: object): string {
  return JSON.stringify(config);
}

/**
 * The surface the main entry and the reference share. Caches are opaque: each entry
 * types its own, so they appear here as `unknown` (method syntax keeps both entries
 * assignable to this one interface).
 */
export interface BatchnormOut {
  out: Tensor;
  cache: unknown;
  runningMean: Tensor;
  runningVar: Tensor;
}

export interface Api {
  tensor(data: Float64Array | readonly number[], shape: readonly number[]): Tensor;
  convForward(x: Tensor, w: Tensor, b: Tensor, convParam?: ConvParam): { out: Tensor; cache: unknown };
  convBackward(dout: Tensor, cache: unknown): { dx: Tensor; dw: Tensor; db: Tensor };
  maxPoolForward(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: unknown };
  maxPoolBackward(dout: Tensor, cache: unknown): { dx: Tensor };
  avgPoolForward(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: unknown };
  avgPoolBackward(dout: Tensor, cache: unknown): { dx: Tensor };
  globalAvgPoolForward(x: Tensor): { out: Tensor; cache: unknown };
  globalAvgPoolBackward(dout: Tensor, cache: unknown): { dx: Tensor };
  batchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): BatchnormOut;
  batchnormBackward(dout: Tensor, cache: unknown): { dx: Tensor; dgamma: Tensor; dbeta: Tensor };
  spatialBatchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): BatchnormOut;
  spatialBatchnormBackward(dout: Tensor, cache: unknown): { dx: Tensor; dgamma: Tensor; dbeta: Tensor };
  reluForward(x: Tensor): { out: Tensor; cache: unknown };
  reluBackward(dout: Tensor, cache: unknown): { dx: Tensor };
  affineForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: unknown };
  affineBackward(dout: Tensor, cache: unknown): { dx: Tensor; dw: Tensor; db: Tensor };
  softmaxLoss(scores: Tensor, y: Labels): { loss: number; dscores: Tensor };
  svmLoss(scores: Tensor, y: Labels): { loss: number; dscores: Tensor };
  transpose(x: Tensor, axes?: readonly number[]): Tensor;
}

/** What a failed kernel assertion calls: the module's env.abort, with the message's and the file's addresses. */
export type Abort = (msg: number, file: number, line: number, col: number) => void;

/** The exports of a module instantiated on its own: the kernels by name, and its memory. */
export type ModuleExports = Record<string, (...args: number[]) => number> & { memory: WebAssembly.Memory };

/**
 * Instantiates a build of the module (build/convcore.wasm or build/convcore.debug.wasm) on its
 * own, past src/wasm.ts, and returns its exports. The module imports its memory: it gets a
 * fresh shared one of one page, growable to 4 GiB, as src/wasm.ts gives it (and exports it
 * back as `memory`). `abort` is what a failed assertion of the debug module calls; by default
 * it throws an Error "kernel assertion failed: <message> at <file>:<line>:<col>". A fresh
 * instance runs each kernel as part 0 of 1 with no GEMM workspace: call
 * `set_part(0, 1, work)` before gemm, conv_forward or conv_backward.
 */
export function instantiateModule<T extends object = ModuleExports>(url: URL, abort?: Abort): T & { memory: WebAssembly.Memory } {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const text = (ptr: number): string => {
    if (!ptr) return '';
    const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
    return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
  };
  const fallback: Abort = (msg, file, line, col) => {
    throw new Error(`kernel assertion failed: ${text(msg)} at ${text(file)}:${line}:${col}`);
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(url)), { env: { memory, abort: abort ?? fallback } });
  const exports = instance.exports as unknown as T & { memory: WebAssembly.Memory };
  if (exports.memory !== memory) throw new Error(`${url.pathname} does not export the memory it imports`);
  return exports;
}

/** The error a promise rejects with; fails when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('the promise resolved');
}
