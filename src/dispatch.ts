/**
 * The kernels as the wrappers call them: the module's exports as asc declares them
 * (src/bindings.ts, generated from asc's own declarations), each of the kernels below run
 * in parts on the thread pool when it holds enough work to pay for them, otherwise as one
 * part on the calling thread. A kernel that uses a GEMM workspace takes the calling
 * thread's as one more argument, last; the pool has its own for the other parts. Every
 * argument the dispatch reads is looked up by its name in asc's declaration, so a kernel
 * whose signature changes fails `tsc`, not a test.
 */
import { PARAMS, RECORDS, RawExports } from './bindings.js';
import type { Pool, RawKernels } from './threads.js';

/**
 * Where ops start to split. An op runs as min(threads, ⌊units / per part⌋) parts, so each
 * part holds at least this much work; below that one thread does it all, since starting a
 * part costs a few microseconds (and tens when a worker must be woken).
 *   MACS: multiply-adds of a GEMM or a convolution (2^19, about 50 µs at 20 GFLOP/s);
 *   VALUES: values read or written by a memory-bound op (2^15 float64, 256 KiB).
 */
export const MACS_PER_PART = 1 << 19;
export const VALUES_PER_PART = 1 << 15;

type Name = keyof typeof PARAMS;
/** A kernel's parameters by name → their position in its argument list. */
type Index<K extends Name> = { readonly [P in (typeof PARAMS)[K][number]]: number };
type Record_ = keyof typeof RECORDS;
/** Reads field `f` of the geometry record of kind `r` at `ptr` (zero for a record outside memory: the kernel's check reports it). */
type I32Reader = (ptr: number, n: number) => Int32Array;
export type FieldReader = <R extends Record_>(r: R, ptr: number, f: (typeof RECORDS)[R][number]) => number;

interface Spec<K extends Name> {
  /** The kernel takes one part's GEMM workspace (through set_part): the wrappers pass the caller's, last. */
  work?: true;
  /** The kernel keeps no scratch per part, so it may run as more parts than threads (Pool.partsFor). */
  chunked?: true;
  perPart: number;
  /** The op's work in units of perPart, from its arguments (and the records and arrays they point to). */
  units(a: readonly number[], at: Index<K>, field: FieldReader, i32: I32Reader): number;
}

/** The convolution's multiply-adds, from its geometry record: each output sums (C/G)·HH·WW products. */
const convMacs = (ptr: number, field: FieldReader): number =>
  (['N', 'F', 'H2', 'W2', 'C', 'HH', 'WW'] as const).reduce((p, f) => p * field('ConvGeom', ptr, f), 1)
    / Math.max(1, field('ConvGeom', ptr, 'G'));
/** The product of two fields of a conv geometry record. */
const field2 = (field: FieldReader, ptr: number, a: 'F' | 'C', b: 'F' | 'C'): number => field('ConvGeom', ptr, a) * field('ConvGeom', ptr, b);
/**
 * The direct depthwise kernels run at about a quarter of the GEMM's multiply-adds per second
 * (every product loads its input; nothing is reused from registers), so a part of a quarter
 * of the GEMM's multiply-adds takes about as long.
 */
const DIRECT_MACS_PER_PART = MACS_PER_PART / 4;
/** The values of a pooling's input, from its geometry record. */
const poolValues = (ptr: number, field: FieldReader): number =>
  (['N', 'C', 'H', 'W'] as const).reduce((p, f) => p * field('PoolGeom', ptr, f), 1);

/** The kernels that run in parts, in the order the workers index them. */
const SPECS: { [K in Name]?: Spec<K> } = {
  gemm: { work: true, units: (a, at) => a[at.M] * a[at.N] * a[at.K], perPart: MACS_PER_PART },
  conv_forward: { work: true, units: (a, at, f) => convMacs(a[at.g], f), perPart: MACS_PER_PART },
  conv_backward: { work: true, units: (a, at, f) => 2 * convMacs(a[at.g], f), perPart: MACS_PER_PART },
  conv_dw_images: { work: true, units: (a, at, f) => convMacs(a[at.g], f), perPart: MACS_PER_PART },
  // Winograd F(2x2,3x3): 16 multiply-adds per 2x2 tile instead of 36, and the transforms.
  conv_winograd_weights: { chunked: true, units: (a, at, f) => 16 * field2(f, a[at.g], 'F', 'C'), perPart: VALUES_PER_PART },
  conv_winograd_forward: { work: true, units: (a, at, f) => convMacs(a[at.g], f) / 2, perPart: MACS_PER_PART },
  conv_winograd_dx: { work: true, units: (a, at, f) => convMacs(a[at.g], f) / 2, perPart: MACS_PER_PART },
  sum_slots: { chunked: true, units: (a, at) => a[at.count] * a[at.len], perPart: VALUES_PER_PART },
  depthwise_forward: { chunked: true, units: (a, at, f) => convMacs(a[at.g], f), perPart: DIRECT_MACS_PER_PART },
  depthwise_backward: { chunked: true, units: (a, at, f) => 2 * convMacs(a[at.g], f), perPart: DIRECT_MACS_PER_PART },
  maxpool_forward: { chunked: true, units: (a, at, f) => poolValues(a[at.g], f), perPart: VALUES_PER_PART },
  maxpool_backward: { chunked: true, units: (a, at, f) => poolValues(a[at.g], f), perPart: VALUES_PER_PART },
  avgpool_forward: { chunked: true, units: (a, at, f) => poolValues(a[at.g], f), perPart: VALUES_PER_PART },
  avgpool_backward: { chunked: true, units: (a, at, f) => poolValues(a[at.g], f), perPart: VALUES_PER_PART },
  global_avgpool_forward: { chunked: true, units: (a, at) => a[at.R] * a[at.L], perPart: VALUES_PER_PART },
  global_avgpool_backward: { chunked: true, units: (a, at) => a[at.R] * a[at.L], perPart: VALUES_PER_PART },
  batchnorm_forward: { chunked: true, units: (a, at) => a[at.G] * a[at.D] * a[at.L], perPart: VALUES_PER_PART },
  batchnorm_backward: { chunked: true, units: (a, at) => a[at.G] * a[at.D] * a[at.L], perPart: VALUES_PER_PART },
  add_values: { chunked: true, units: (a, at) => a[at.n], perPart: VALUES_PER_PART },
  relu_forward: { chunked: true, units: (a, at) => a[at.n], perPart: VALUES_PER_PART },
  relu_backward: { chunked: true, units: (a, at) => a[at.n], perPart: VALUES_PER_PART },
  fill_rows: { chunked: true, units: (a, at) => a[at.N] * a[at.M], perPart: VALUES_PER_PART },
  sum_rows: { chunked: true, units: (a, at) => a[at.N] * a[at.M], perPart: VALUES_PER_PART },
  // exp and log per value: about eight times a copy's cost.
  softmax_loss: { chunked: true, units: (a, at) => 8 * a[at.N] * a[at.C], perPart: VALUES_PER_PART },
  svm_loss: { chunked: true, units: (a, at) => a[at.N] * a[at.C], perPart: VALUES_PER_PART },
  transpose_nd: { units: (a, at, _, i32) => i32(a[at.shape], a[at.rank]).reduce((p, d) => p * d, 1), perPart: VALUES_PER_PART },
  norm_forward: { chunked: true, units: (a, at) => a[at.R] * a[at.Cg] * a[at.L], perPart: VALUES_PER_PART },
  norm_backward: { chunked: true, units: (a, at) => a[at.R] * a[at.Cg] * a[at.L], perPart: VALUES_PER_PART },
  norm_param_grads: { chunked: true, units: (a, at) => a[at.R] * a[at.Cg] * a[at.L], perPart: VALUES_PER_PART },
  dropout_forward: { chunked: true, units: (a, at) => 4 * a[at.n], perPart: VALUES_PER_PART },
  dropout_backward: { chunked: true, units: (a, at) => a[at.n], perPart: VALUES_PER_PART },
  sgd_step: { chunked: true, units: (a, at) => a[at.n], perPart: VALUES_PER_PART },
  momentum_step: { chunked: true, units: (a, at) => a[at.n], perPart: VALUES_PER_PART },
  rmsprop_step: { chunked: true, units: (a, at) => 2 * a[at.n], perPart: VALUES_PER_PART },
  adam_step: { chunked: true, units: (a, at) => 2 * a[at.n], perPart: VALUES_PER_PART },
  adamw_step: { chunked: true, units: (a, at) => 2 * a[at.n], perPart: VALUES_PER_PART },
};

type Split = { [K in Name]: (typeof SPECS)[K] extends undefined ? never : K }[Name];
type WorkKernel = 'gemm' | 'conv_forward' | 'conv_backward' | 'conv_dw_images' | 'conv_winograd_forward' | 'conv_winograd_dx';
type Fn<K extends Name> = RawExports[K];
/** A kernel that takes the calling thread's GEMM workspace as one more argument, last. */
type WithWork<F> = F extends (...a: infer P) => infer R ? (...a: [...P, work: number]) => R : never;

/**
 * The kernels as the wrappers call them: every export as asc declares it, the GEMM
 * kernels with the caller's workspace last, softmax_loss and svm_loss returning the loss, and
 * norm_backward with the channel sums (dgamma, dbeta) it runs through norm_param_grads.
 */
export type Kernels = { [K in Exclude<Name, WorkKernel | 'softmax_loss' | 'svm_loss' | 'norm_backward'>]: Fn<K> }
  & { [K in WorkKernel]: WithWork<Fn<K>> }
  & {
    /** Returns the loss; rowloss is N float64 of scratch. */
    softmax_loss(scores: number, y: number, dscores: number, rowloss: number, N: number, C: number): number;
    /** Returns the loss; rowloss is N float64 of scratch. */
    svm_loss(scores: number, y: number, dscores: number, rowloss: number, N: number, C: number): number;
    /** partial: R·Cg·2 float64 of scratch when L > 1 (unused, may be 0, when L = 1). */
    norm_backward(dout: number, xhat: number, gamma: number, invstd: number, dx: number, dgamma: number, dbeta: number,
      partial: number, R: number, G: number, Cg: number, L: number): void;
  };

/** The names of the kernels a part can run, by op index (the workers look them up once). */
export const KERNEL_NAMES: readonly Split[] = Object.keys(SPECS) as Split[];

function indexOf<K extends Name>(name: K): Index<K> {
  return Object.fromEntries(PARAMS[name].map((p, i) => [p, i])) as unknown as Index<K>;
}

/** Field positions of each geometry record. */
const FIELD = Object.fromEntries(Object.entries(RECORDS).map(([r, fields]) => [r, Object.fromEntries(fields.map((f, i) => [f, i]))])) as {
  [R in Record_]: { [F in (typeof RECORDS)[R][number]]: number }
};

/**
 * The wrappers' kernels over the raw exports of one instance. `i32(ptr, n)` reads n i32 at
 * ptr (zeros outside memory), for the geometry records the dispatch sizes an op by.
 */
export function facade(raw: RawExports, pool: Pool, i32: I32Reader): Kernels {
  const field: FieldReader = (r, ptr, f) => i32(ptr, RECORDS[r].length)[(FIELD[r] as Record<string, number>)[f]];
  const runner = raw as unknown as RawKernels;
  const k: Record<string, unknown> = { ...raw };
  KERNEL_NAMES.forEach((name, op) => {
    const spec = SPECS[name] as Spec<typeof name>;
    const at = indexOf(name);
    const nparams = PARAMS[name].length;
    k[name] = (...args: number[]): unknown => {
      // The rest array is this call's own: the workspace, if any, is taken off its end.
      const work = spec.work ? args.pop()! : 0;
      if (args.length !== nparams) throw new Error(`convcore: ${name} called with ${args.length} arguments, its declaration has ${nparams}`);
      const parts = pool.partsFor(spec.units(args, at as never, field, i32), spec.perPart, spec.chunked === true);
      return pool.run(runner, op, args, parts, work);
    };
  });
  const softmaxParts = k.softmax_loss as (...a: number[]) => void;
  const svmParts = k.svm_loss as (...a: number[]) => void;
  const normRows = k.norm_backward as (...a: number[]) => void;
  const normSums = k.norm_param_grads as Kernels['norm_param_grads'];
  // softmax_loss: the rows in parts, then their terms summed in row order on this thread.
  k.softmax_loss = (scores: number, y: number, dscores: number, rowloss: number, N: number, C: number): number => {
    softmaxParts(scores, y, dscores, rowloss, N, C);
    return raw.softmax_loss_total(rowloss, N);
  };
  // svm_loss: the same, its row sums of margins added in row order on this thread.
  k.svm_loss = (scores: number, y: number, dscores: number, rowloss: number, N: number, C: number): number => {
    svmParts(scores, y, dscores, rowloss, N, C);
    return raw.svm_loss_total(rowloss, N);
  };
  // norm_backward: dx by rows and dgamma, dbeta by channels. With L = 1 the channel sums
  // read dout and go first, since dx may overwrite dout (a model's backward runs in place);
  // with L > 1 they read the partial sums the rows leave.
  k.norm_backward = (dout: number, xhat: number, gamma: number, invstd: number, dx: number,
    dgamma: number, dbeta: number, partial: number, R: number, G: number, Cg: number, L: number): void => {
    if (L === 1) normSums(dout, xhat, partial, dgamma, dbeta, R, G, Cg, L);
    normRows(dout, xhat, gamma, invstd, dx, partial, R, G, Cg, L);
    if (L !== 1) normSums(dout, xhat, partial, dgamma, dbeta, R, G, Cg, L);
  };
  return k as unknown as Kernels;
}
