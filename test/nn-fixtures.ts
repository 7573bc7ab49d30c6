/** Small problems and models for the tests of the models, the solver and their loaders. */
import type { Tensor } from '../src/tensor.js';
import { makeRng, randn } from './util.js';

export function labels(n: number, classes: number, seed: number): number[] {
  const r = makeRng(seed);
  return Array.from({ length: n }, () => r.int(0, classes - 1));
}

export interface SmallData {
  XTrain: Tensor;
  yTrain: number[];
  XVal: Tensor;
  yVal: number[];
}

/** 60 training and 20 validation images of 1x8x8 in 4 classes. */
export function smallProblem(seed: number): { data: SmallData } {
  const r = makeRng(seed);
  return {
    data: { XTrain: randn(r, [60, 1, 8, 8]), yTrain: labels(60, 4, seed + 1), XVal: randn(r, [20, 1, 8, 8]), yVal: labels(20, 4, seed + 2) },
  };
}

/** A ThreeLayerConvNet for smallProblem's images (add a seed). */
export const convOpts = { inputDim: [1, 8, 8] as [number, number, number], numFilters: 4, filterSize: 3, hiddenDim: 16, numClasses: 4, weightScale: 1e-2 };
