// Types of bench/report.js, for the tests that read its output.

export interface Timing { ms: number; samples?: number; scaledFrom?: number; note?: string }
export interface Missing { na: string; mismatch?: boolean }
/** A convcore time on the pool: ms, and how many of its ops ran in more than one part. */
export interface PoolTiming { ms: number; samples?: number; splits?: number }

export interface BenchRow {
  label: string;
  kind: string;
  family: string;
  shapeName?: string;
  shape: string;
  flops?: number;
  convcore: Timing & { rounds?: number; pool: PoolTiming; kernel: Partial<Timing & Missing & { rounds: number; pool: PoolTiming; copy: Timing }>; relaxed?: Timing };
  peers: Record<string, Partial<Timing & Missing>>;
}

export interface BenchDoc {
  quick: boolean;
  quickImages?: number;
  /** The --only text the run was given. */
  only?: string;
  /** The pool's thread count, the calling thread included. */
  threads: number;
  machine: { cpu: string; cores: number; os: string; node: string; v8: string; date: string };
  /** The plain multiply-add peak and, where the relaxed build ran, the FMA peak. */
  peak: { gflops: number; start: number; end: number; runs: number; fma?: number; fmaStart?: number; fmaEnd?: number };
  sampling: { rule: string };
  peers: string[];
  peerNames: string[];
  rows: BenchRow[];
}

/** A table row: each column's name mapped to the text it shows. */
export type Cells = Record<string, string>;
export interface Target { what: string; target: string; values: Record<string, number>; met: boolean; text: string }

export function threadColumns(n: number): { ms: string; x: string; kms: string; kx: string };
export function columns(peerNames: string[], threads: number, relaxed?: boolean): string[];
export const RELAXED_COLUMNS: string[];
export function heading(column: string): string;
export function value(cell: string | undefined): number | undefined;
export function halfUnit(cell: string | undefined): number;
export function tableRows(doc: BenchDoc, notes?: string[]): Cells[];
export function acceptance(cells: Cells[], threads: number): Target[];
export function report(doc: BenchDoc): { md: string; cells: Cells[]; targets: Target[] };
export function peerNoteLines(rows: BenchRow[], names: string[], notes: string[], nameOf?: (r: BenchRow) => string): string[];
