// Work splitting. An op runs as `parts` parts, each computed by whichever thread claims it
// (src/threads.ts); every thread runs the same kernel with the same arguments after
// set_part has told its instance which part it is. Globals are per instance, so each
// thread has its own PART, PARTS and WORK.
//
// A part owns a contiguous range of the op's outputs and computes each of them exactly as
// one thread would, in the same order: results are bit-identical for every part count.
// Where values written by several parts are added up (conv_dw_images' slots, softmax_loss's
// row terms, norm_backward's per-row partial sums), a separate step adds them in the order
// one thread would (sum_slots, softmax_loss_total, norm_param_grads).

let PART: i32 = 0;
let PARTS: i32 = 1;
let WORK: usize = 0;

/** Makes this instance compute part `part` of `parts`, with `work` as its own GEMM workspace. */
export function set_part(part: i32, parts: i32, work: usize): void {
  assert(parts > 0 && part >= 0 && part < parts, 'set_part: part outside [0, parts)');
  PART = part;
  PARTS = parts;
  WORK = work;
}

/** This instance's part. */
// @ts-ignore: decorator
@inline
export function part(): i32 {
  return PART;
}

/** The number of parts of the running op. */
// @ts-ignore: decorator
@inline
export function parts(): i32 {
  return PARTS;
}

/** This part's GEMM workspace (gemm_workspace_bytes() bytes, 64-byte aligned). */
// @ts-ignore: decorator
@inline
export function workspace(): usize {
  return WORK;
}

/**
 * The start of range p when [0, total) is cut into n contiguous ranges at multiples of
 * `align` (the last range takes what is left). With p = n it is total.
 */
// @ts-ignore: decorator
@inline
export function cut_of(total: i32, align: i32, p: i32, n: i32): i32 {
  const units = (<i64>total + align - 1) / align;
  const u = units * <i64>p / <i64>n;
  return <i32>min(u * align, <i64>total);
}

/** The start of this op's range p of [0, total) cut into PARTS ranges. */
// @ts-ignore: decorator
@inline
export function cut(total: i32, align: i32, p: i32): i32 {
  return cut_of(total, align, p, PARTS);
}

/** The first index of this part's range of [0, total), cut at multiples of align. */
// @ts-ignore: decorator
@inline
export function lo(total: i32, align: i32 = 1): i32 {
  return cut(total, align, PART);
}

/** One past the last index of this part's range of [0, total), cut at multiples of align. */
// @ts-ignore: decorator
@inline
export function hi(total: i32, align: i32 = 1): i32 {
  return cut(total, align, PART + 1);
}
