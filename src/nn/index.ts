export { ThreeLayerConvNet } from './three-layer-convnet.js';
export type { ThreeLayerConvNetOptions, ThreeLayerConvNetGrads, ThreeLayerConvNetJSON } from './three-layer-convnet.js';
export { FullyConnectedNet } from './fc-net.js';
export type { FullyConnectedNetOptions, FullyConnectedNetJSON, Normalization } from './fc-net.js';
export { Solver } from './solver.js';
export type { SolverData, SolverOptions, SolverCheckpoint, TrainOptions, EpochReport, LrSchedule, UpdateRuleName, Model, PlainModel } from './solver.js';
