// Types of bench/training-report.js, for the tests that read its output.

export interface TrainingPeer {
  ms: number;
  samples: number[];
  check: { before: number; after: number; steps: number };
  scoresError?: number;
  scaledFrom?: number;
}

export interface TrainingResult {
  spec: { inputDim: number[]; numFilters: number; filterSize: number; hiddenDim: number; numClasses: number; batchSize: number };
  learningRate: number;
  quick: boolean;
  peers: Record<'convcore' | 'convnetjs' | 'tfjs-cpu', TrainingPeer>;
  peerInfo: Record<'convnetjs' | 'tfjs-cpu', string>;
  kernels: { sumMs: number; calls: number; stepsPerSample: number; byKernel: { name: string; calls: number; ms: number }[] };
  /** convcore's step on the pool of `count` threads (peers.convcore is its step on one thread). */
  threads: { count: number; ms: number; samples: number[]; identicalSteps: number; splitsPerStep: number };
  seconds?: number;
}

/** A table row: each column's name mapped to the text it shows. */
export type Cells = Record<string, string>;
export interface TrainingTarget { what: string; target: string; values: Record<string, number>; met: boolean; text: string }

export const SECTION: string;
export const PEER_COLUMNS: string[];
export const STEP_COLUMNS: string[];
export const THREAD_COLUMNS: string[];
export function trainingCells(result: TrainingResult): { peers: Cells[]; step: Cells; threads: Cells[] };
export function trainingTargets(cells: { peers: Cells[]; step: Cells; threads: Cells[] }): TrainingTarget[];
export function trainingReport(result: TrainingResult): { md: string; cells: { peers: Cells[]; step: Cells; threads: Cells[] }; targets: TrainingTarget[] };
/** The disagreements between the printed numbers of a training section; none when it is consistent. */
export function checkTraining(md: string): string[];
