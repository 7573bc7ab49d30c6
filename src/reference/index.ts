/**
 * The reference: plain float64 loops that follow the maths literally. They are the
 * oracle the Wasm kernels are tested against and the baseline they are timed against,
 * and they are written to be read. Same names and signatures as the main entry.
 */
export { tensor } from '../tensor.js';
export type { Tensor } from '../tensor.js';
export type { Pair, ConvParam, ConvBackwardParam, PoolParam, BatchnormMode, BatchnormParam, Labels } from '../params.js';
export { ConvcoreError } from '../errors.js';
export { convForward, convBackward } from './conv.js';
export type { ConvCache } from './conv.js';
export { maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward, globalAvgPoolForward, globalAvgPoolBackward } from './pool.js';
export type { MaxPoolCache, AvgPoolCache, GlobalAvgPoolCache } from './pool.js';
export { batchnormForward, batchnormBackward, spatialBatchnormForward, spatialBatchnormBackward } from './batchnorm.js';
export type { BatchnormCache, SpatialBatchnormCache, BatchnormResult } from './batchnorm.js';
export { reluForward, reluBackward, affineForward, affineBackward, softmaxLoss, svmLoss } from './elementwise.js';
export type { ReluCache, AffineCache } from './elementwise.js';
export { transpose } from './transpose.js';
export { dropoutForward, dropoutBackward } from './dropout.js';
export type { DropoutParam, DropoutMode, DropoutCache } from './dropout.js';
export { layernormForward, layernormBackward, spatialGroupnormForward, spatialGroupnormBackward } from './norm.js';
export type { LayernormParam, GroupnormParam, LayernormCache, SpatialGroupnormCache } from './norm.js';
export { sgd, sgdMomentum, rmsprop, adam, adamw } from './optim.js';
export type { SgdConfig, SgdMomentumConfig, RmspropConfig, AdamConfig, UpdateResult } from './optim.js';
