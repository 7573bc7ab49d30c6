// Types of bench/consistency.js.
import type { Cells } from './report.js';

export function parse(md: string): {
  peak: string | undefined; headerThreads: number | undefined; threads: number | undefined;
  keys: string[]; cells: Cells[]; peerNames: string[]; targets: string[];
};
/** The disagreements between the printed numbers of a benchmark document; none when it is consistent. */
export function checkConsistency(md: string): string[];
