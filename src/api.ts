// The public API, shared by the Node and browser entries.
export type { Tensor } from './tensor.js';
export { tensor } from './tensor.js';
export type { Pair, ConvParam, ConvBackwardParam, PoolParam, BatchnormParam, BatchnormMode, Labels } from './params.js';
export { ConvcoreError } from './errors.js';
export { init, releaseMemory, memoryStats, shutdownThreads, threadCount, simdLevel, relaxedSimdSupported } from './wasm.js';
export { WorkerExitedError } from './threads.js';
export type { WasmSource, WasmModule, FetchResponse, InitOptions, SimdLevel } from './wasm.js';
export { convForward, convBackward } from './conv.js';
export type { ConvCache } from './conv.js';
export { maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward, globalAvgPoolForward, globalAvgPoolBackward } from './pool.js';
export type { MaxPoolCache, AvgPoolCache, GlobalAvgPoolCache } from './pool.js';
export { batchnormForward, batchnormBackward, spatialBatchnormForward, spatialBatchnormBackward } from './batchnorm.js';
export type { BatchnormCache, BatchnormResult } from './batchnorm.js';
export { reluForward, reluBackward, affineForward, affineBackward, softmaxLoss, svmLoss } from './elementwise.js';
export type { ReluCache, AffineCache } from './elementwise.js';
export { transpose } from './transpose.js';
export { dropoutForward, dropoutBackward } from './dropout.js';
export type { DropoutParam, DropoutMode, DropoutCache } from './dropout.js';
export { layernormForward, layernormBackward, spatialGroupnormForward, spatialGroupnormBackward } from './norm.js';
export type { LayernormParam, GroupnormParam, LayernormCache, SpatialGroupnormCache } from './norm.js';
export { sgd, sgdMomentum, rmsprop, adam, adamw } from './optim.js';
export type { SgdConfig, SgdMomentumConfig, RmspropConfig, AdamConfig, AdamWConfig, UpdateResult } from './optim.js';
export { ThreeLayerConvNet, FullyConnectedNet, Solver } from './nn/index.js';
export type {
  ThreeLayerConvNetOptions, ThreeLayerConvNetGrads, ThreeLayerConvNetJSON, FullyConnectedNetOptions, FullyConnectedNetJSON,
  Normalization, SolverData, SolverOptions, SolverCheckpoint, TrainOptions, EpochReport, LrSchedule, UpdateRuleName, Model, PlainModel,
} from './nn/index.js';
export { Sequential } from './nn/sequential.js';
export type { SequentialOptions, SequentialJSON, LossKind, InitKind } from './nn/sequential.js';
export { layers } from './nn/layers.js';
export type {
  LayerSpec, LayerKind, ConvLayerOptions, PoolLayerOptions, BatchnormLayerOptions, NormLayerOptions, DropoutLayerOptions, ResidualOptions,
} from './nn/layers.js';
export { toSafetensors, fromSafetensors, readSafetensors } from './safetensors.js';
export type { SafetensorsDtype, SafetensorsWriteDtype, SafetensorsOptions, SafetensorsContents } from './safetensors.js';
