/**
 * The geometry records the conv and pool kernels read (assembly/geometry.ts), written from
 * the TypeScript geometry in the field order asc declares (src/bindings.ts RECORDS), so the
 * layout exists once on each side of the boundary.
 */
import { RECORDS } from '../bindings.js';
import { i32 } from '../wasm.js';

type RecordName = keyof typeof RECORDS;

/** Size in bytes of a record of the given kind. */
export function recordBytes(r: RecordName): number {
  return RECORDS[r].length * 4;
}

/** Writes g's fields at ptr (recordBytes(r) bytes there) as the kernels read them. */
export function putRecord<R extends RecordName>(ptr: number, r: R, g: { readonly [F in (typeof RECORDS)[R][number]]: number }): void {
  const fields = RECORDS[r] as readonly (keyof typeof g)[];
  i32(ptr, fields.length).set(fields.map((f) => g[f]));
}
