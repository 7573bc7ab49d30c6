// The relaxed build beside the plain one, in one process: the bench's main copy of convcore
// runs the plain build (bench/threads.js: init({ simd: 'plain' })), and a second copy of the
// package's dist/, imported from another path so that it has a runtime and a memory of its
// own, runs the relaxed build. The two are then timed in alternating turns on the same
// problems (bench/measure.js), so that both see the same drift of the machine's speed.

import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as convcore from 'convcore';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const COPY = fileURLToPath(new URL('../build/bench-relaxed/', import.meta.url));

/** The relaxed copy of convcore, loaded and checked, or null where the engine has no relaxed SIMD. */
export async function loadRelaxed() {
  if (!convcore.relaxedSimdSupported()) return null;
  rmSync(COPY, { recursive: true, force: true });
  cpSync(DIST, COPY, { recursive: true });
  const lib = await import(pathToFileURL(`${COPY}index.js`).href);
  if (lib === convcore) throw new Error('bench: the relaxed copy of convcore is the main one');
  await lib.init({ simd: 'relaxed' });
  if (lib.simdLevel() !== 'relaxed' || convcore.simdLevel() !== 'plain') {
    throw new Error(`bench: the copies run the ${convcore.simdLevel()} and the ${lib.simdLevel()} build; expected plain and relaxed`);
  }
  return lib;
}
