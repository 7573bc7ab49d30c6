// The kernels. Each takes raw addresses into linear memory and plain integer
// dimensions, allocates nothing, and knows nothing of JavaScript.
export { gemm, gemm_workspace_bytes, gemm_kc } from './gemm';
export { set_part } from './parts';
export { conv_geometry_bytes, pool_geometry_bytes } from './geometry';
export { conv_forward, conv_backward, conv_dw_images, sum_slots } from './conv';
export { conv_winograd_weights, conv_winograd_forward, conv_winograd_dx, winograd_block, winograd_weights_length } from './winograd';
export { depthwise_forward, depthwise_backward } from './depthwise';
export { maxpool_forward, maxpool_backward, avgpool_forward, avgpool_backward, global_avgpool_forward, global_avgpool_backward } from './pool';
export { batchnorm_forward, batchnorm_backward } from './batchnorm';
export { add_values, relu_forward, relu_backward, fill_rows, sum_rows, softmax_loss, softmax_loss_total, svm_loss, svm_loss_total } from './elementwise';
export { transpose_nd } from './transpose';
export { norm_forward, norm_backward, norm_param_grads } from './norm';
export { dropout_forward, dropout_backward } from './dropout';
export { sgd_step, momentum_step, rmsprop_step, adam_step, adamw_step } from './optim';

/** The first free address after the static data: the control block, the resident blocks and the per-call arena lie above it (src/wasm.ts). */
export function heap_base(): usize {
  return __heap_base;
}
export { simd_relaxed } from './fma';
