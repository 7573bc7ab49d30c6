// Types of bench/networks-report.js, for the tests that read its output.
import type { BenchRow, Cells } from './report.js';

export interface StepTiming { ms: number; samples: number[]; stepsPerSample?: number }

export interface NetworksResult {
  quick: boolean;
  /** The pool's thread count. */
  threads: number;
  learningRate: number;
  batchSize: number;
  /** The header's peak, GFLOP/s. */
  peak: number;
  /** How the networks stepped: through the Solver, or through bench/networks.js's copy of Solver.step. */
  stepVia?: 'solver' | 'resident';
  net816?: {
    spec: string;
    sequential: StepTiming;
    functional: StepTiming;
    pool: { ms: number; samples: number[]; splitsPerStep: number };
    kernels: { sumMs: number; calls: number; byKernel: { name: string; calls: number; ms: number }[] };
    identicalSteps: number;
  };
  threeLayer?: {
    convnet: StepTiming;
    replica: StepTiming;
    pool: { ms: number; samples: number[]; splitsPerStep: number };
    stepsPerSample: number;
    identicalSteps: number;
  };
  conv?: {
    rows: BenchRow[];
    /** The f64x2 copy's arrays; its time is each depthwise row's convcore.kernel.copy, from the kernel's turns. */
    copy?: { values: number; shape: number[] };
  };
}

export interface NetworksCells {
  net816?: Cells[];
  step?: Cells[];
  threeLayer?: Cells[];
  threads?: Cells[];
  conv?: Cells[];
  convNotes?: string[];
}
export interface NetworksTarget { what: string; target: string; value: number | undefined; met: boolean; text: string }

export const SECTION: string;
export const CONV_PEERS: string[];
export const NET816_COLUMNS: string[];
export const STEP_COLUMNS: string[];
export const THREE_LAYER_COLUMNS: string[];
export function threadCols(n: number): string[];
export function convColumns(n: number): string[];
export function networksCells(result: NetworksResult): NetworksCells;
export function networksTargets(tables: NetworksCells): NetworksTarget[];
export function networksReport(result: NetworksResult): { md: string; cells: NetworksCells; targets: NetworksTarget[] };
export function sectionPeak(md: string): string | undefined;
export function sectionThreads(md: string): number | undefined;
/** The disagreements between the printed numbers of a networks section; none when it is consistent. */
export function checkNetworks(md: string): string[];
