/**
 * The kernels as the wrappers call them (src/kernels.ts): each call runs as as many parts
 * as the pool has threads when it holds enough work to pay for them, otherwise as one part
 * on the calling thread. Part 0 runs in the caller's GEMM workspace; the other parts in the
 * pool's (src/threads.ts).
 */
import type { Kernels } from './kernels.js';
import { RawKernels, partsFor, runParts, setKernelNames } from './threads.js';

/**
 * Where ops start to split. An op runs as min(threads, ⌊units / per part⌋) parts, so each
 * part holds at least this much work; below that one thread does it all, since starting a
 * part costs a few microseconds (and tens when a worker must be woken).
 *   MACS: multiply-adds of a GEMM or a convolution (2^19, about 50 µs at 20 GFLOP/s);
 *   VALUES: values read or written by a memory-bound op (2^15 float64, 256 KiB).
 */
export const MACS_PER_PART = 1 << 19;
export const VALUES_PER_PART = 1 << 15;

type Units = (a: number[], i32: (ptr: number, n: number) => Int32Array) => number;

interface Spec {
  /** Index, in the wrapper's arguments, of the GEMM workspace (not passed to the kernel). */
  work?: number;
  /** The kernel keeps no scratch per part, so it may run as more parts than threads (see partsFor). */
  chunked?: boolean;
  units: Units;
  perPart: number;
}

/** The convolution's multiply-adds from its geometry record (N,C,H,W,F,HH,WW,SH,SW,PH,PW,H2,W2). */
const convMacs = (g: Int32Array): number => g[0] * g[4] * g[11] * g[12] * g[1] * g[5] * g[6];
/** The values of a pooling's input from its geometry record (N,C,H,W,…). */
const poolValues = (g: Int32Array): number => g[0] * g[1] * g[2] * g[3];
const CONV_FIELDS = 13;
const POOL_FIELDS = 10;

/** The kernels that run in parts, in the order the workers index them. */
const SPECS: [string, Spec][] = [
  ['gemm', { work: 12, units: (a) => a[2] * a[3] * a[4], perPart: MACS_PER_PART }],
  ['conv_forward', { work: 4, units: (a, i32) => convMacs(i32(a[4], CONV_FIELDS)), perPart: MACS_PER_PART }],
  ['conv_backward', { work: 8, units: (a, i32) => 2 * convMacs(i32(a[8], CONV_FIELDS)), perPart: MACS_PER_PART }],
  ['conv_dw_images', { work: 4, units: (a, i32) => convMacs(i32(a[4], CONV_FIELDS)), perPart: MACS_PER_PART }],
  ['sum_slots', { chunked: true, units: (a) => a[2] * a[3], perPart: VALUES_PER_PART }],
  ['maxpool_forward', { chunked: true, units: (a, i32) => poolValues(i32(a[3], POOL_FIELDS)), perPart: VALUES_PER_PART }],
  ['maxpool_backward', { chunked: true, units: (a, i32) => poolValues(i32(a[3], POOL_FIELDS)), perPart: VALUES_PER_PART }],
  ['avgpool_forward', { chunked: true, units: (a, i32) => poolValues(i32(a[2], POOL_FIELDS)), perPart: VALUES_PER_PART }],
  ['avgpool_backward', { chunked: true, units: (a, i32) => poolValues(i32(a[2], POOL_FIELDS)), perPart: VALUES_PER_PART }],
  ['batchnorm_forward', { chunked: true, units: (a) => a[10] * a[11] * a[12], perPart: VALUES_PER_PART }],
  ['batchnorm_backward', { chunked: true, units: (a) => a[8] * a[9] * a[10], perPart: VALUES_PER_PART }],
  ['relu_forward', { chunked: true, units: (a) => a[2], perPart: VALUES_PER_PART }],
  ['relu_backward', { chunked: true, units: (a) => a[3], perPart: VALUES_PER_PART }],
  ['fill_rows', { chunked: true, units: (a) => a[2] * a[3], perPart: VALUES_PER_PART }],
  ['sum_rows', { chunked: true, units: (a) => a[2] * a[3], perPart: VALUES_PER_PART }],
  // exp and log per value: about eight times a copy's cost.
  ['softmax_loss', { chunked: true, units: (a) => 8 * a[4] * a[5], perPart: VALUES_PER_PART }],
  ['transpose_nd', {
    units: (a, i32) => i32(a[3], a[2]).reduce((p, d) => p * d, 1),
    perPart: VALUES_PER_PART,
  }],
  ['norm_forward', { chunked: true, units: (a) => a[6] * a[8] * a[9], perPart: VALUES_PER_PART }],
  ['norm_backward', { chunked: true, units: (a) => a[6] * a[8] * a[9], perPart: VALUES_PER_PART }],
  ['norm_param_grads', { chunked: true, units: (a) => a[5] * a[7] * a[8], perPart: VALUES_PER_PART }],
  ['dropout_forward', { chunked: true, units: (a) => 4 * a[3], perPart: VALUES_PER_PART }],
  ['dropout_backward', { chunked: true, units: (a) => a[3], perPart: VALUES_PER_PART }],
  ['sgd_step', { chunked: true, units: (a) => a[2], perPart: VALUES_PER_PART }],
  ['momentum_step', { chunked: true, units: (a) => a[3], perPart: VALUES_PER_PART }],
  ['rmsprop_step', { chunked: true, units: (a) => 2 * a[3], perPart: VALUES_PER_PART }],
  ['adam_step', { chunked: true, units: (a) => 2 * a[4], perPart: VALUES_PER_PART }],
];

setKernelNames(SPECS.map(([name]) => name));

const index = new Map(SPECS.map(([name], i) => [name, i]));

/** The wrappers' kernels over the raw exports of one instance. */
export function facade(raw: RawKernels, i32: (ptr: number, n: number) => Int32Array): Kernels {
  const k: Record<string, unknown> = {
    heap_base: raw.heap_base,
    gemm_workspace_bytes: raw.gemm_workspace_bytes,
    gemm_kc: raw.gemm_kc,
    conv_geometry_bytes: raw.conv_geometry_bytes,
    pool_geometry_bytes: raw.pool_geometry_bytes,
  };
  SPECS.forEach(([name, spec], op) => {
    const w = spec.work;
    k[name] = (...args: number[]): unknown => {
      // The rest array is this call's own: the workspace is taken out of it in place.
      const work = w === undefined ? 0 : args.splice(w, 1)[0];
      return runParts(raw, op, args, partsFor(spec.units(args, i32), spec.perPart, spec.chunked), work);
    };
  });
  const run = (name: string, a: number[]): unknown => {
    const spec = SPECS[index.get(name)!][1];
    return runParts(raw, index.get(name)!, a, partsFor(spec.units(a, i32), spec.perPart, spec.chunked), 0);
  };
  // softmax_loss: the rows in parts, then their terms summed in row order on this thread.
  k.softmax_loss = (scores: number, y: number, dscores: number, rowloss: number, N: number, C: number): number => {
    run('softmax_loss', [scores, y, dscores, rowloss, N, C]);
    return (raw.softmax_loss_total as (p: number, n: number) => number)(rowloss, N);
  };
  // norm_backward: dx by rows and dgamma, dbeta by channels. With L = 1 the channel sums
  // read dout and go first, since dx may overwrite dout (a model's backward runs in place);
  // with L > 1 they read the partial sums the rows leave.
  k.norm_backward = (dout: number, xhat: number, gamma: number, invstd: number, dx: number,
    dgamma: number, dbeta: number, partial: number, R: number, G: number, Cg: number, L: number): void => {
    if (L === 1) run('norm_param_grads', [dout, xhat, partial, dgamma, dbeta, R, G, Cg, L]);
    run('norm_backward', [dout, xhat, gamma, invstd, dx, partial, R, G, Cg, L]);
    if (L !== 1) run('norm_param_grads', [dout, xhat, partial, dgamma, dbeta, R, G, Cg, L]);
  };
  return k as unknown as Kernels;
}
