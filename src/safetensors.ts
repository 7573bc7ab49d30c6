/**
 * The safetensors format, read and written: 8 bytes of little-endian u64 N, N bytes of UTF-8
 * JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}},
 * then the data buffer, each tensor's bytes at [begin, end) of it, little-endian, row-major.
 *
 * Reading trusts nothing: the header's length, every entry's dtype, shape and offsets, and
 * the tiling of the buffer (no gap, no overlap) are checked against the bytes given before
 * any tensor is allocated, and every refusal is a ConvcoreError. Writing makes one buffer of
 * the final size and copies each tensor into it once.
 */
import { fail } from './errors.js';
import { Tensor, checkTensor, describe, show, shapeString } from './tensor.js';
import { plainObject, takeOptions } from './nn/options.js';

/** The dtypes fromSafetensors reads (converted to float64). */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32';
/** The dtypes toSafetensors writes, as JavaScript names them: float64 (F64 in the file) or float32 (F32). */
export type SafetensorsWriteDtype = 'float64' | 'float32';

export interface SafetensorsOptions {
  /** How the values are stored: 'float64' (F64, exact, the default) or 'float32' (F32, each rounded to the nearest float32). */
  dtype?: SafetensorsWriteDtype;
  /** Free-form string pairs, written as the header's "__metadata__". */
  metadata?: Record<string, string>;
}

export interface SafetensorsContents {
  /** Every tensor, as float64, in the file's header order. */
  tensors: Record<string, Tensor>;
  /** Each tensor's dtype in the file. */
  dtypes: Record<string, SafetensorsDtype>;
  /** The header's "__metadata__" (empty when it has none). */
  metadata: Record<string, string>;
}

const SIZES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };
const DTYPES = Object.keys(SIZES) as SafetensorsDtype[];
/** The largest header the reader accepts, as the format's own reader does. */
export const MAX_HEADER_BYTES = 100_000_000;
const META = '__metadata__';
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The tensors as a safetensors file: the header (padded with spaces to a multiple of 8
 * bytes, so that every tensor of the data buffer is aligned), then each tensor's values in
 * the order of `tensors`' keys.
 */
export function toSafetensors(tensors: Record<string, Tensor>, options?: SafetensorsOptions): Uint8Array {
  const fn = 'toSafetensors';
  const o = takeOptions(fn, 'options', options, { dtype: 'float64' as unknown, metadata: undefined as unknown });
  if (o.dtype !== 'float64' && o.dtype !== 'float32') fail(`${fn}: options.dtype must be "float64" or "float32", got ${show(o.dtype)}`);
  const dtype = o.dtype === 'float64' ? 'F64' : 'F32';
  const size = SIZES[dtype];
  const record = plainObject(fn, 'tensors', tensors);
  const header: Record<string, unknown> = {};
  if (o.metadata !== undefined) {
    const meta = plainObject(fn, 'options.metadata', o.metadata);
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string') fail(`${fn}: options.metadata.${k} must be a string (safetensors metadata maps strings to strings), got ${show(v)}`);
    }
    header[META] = { ...meta };
  }
  const list: [string, Tensor, number][] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(record)) {
    if (name === META) fail(`${fn}: tensors.${META} is the name safetensors keeps for the metadata; give the tensor another name`);
    const tensor = checkTensor(fn, `tensors.${name}`, t);
    const bytes = tensor.data.length * size;
    Object.defineProperty(header, name, {
      value: { dtype, shape: tensor.shape.slice(), data_offsets: [offset, offset + bytes] }, enumerable: true, writable: true, configurable: true,
    });
    list.push([name, tensor, offset]);
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const N = Math.ceil(json.length / 8) * 8;
  const start = 8 + N;
  const out = new Uint8Array(start + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, N % 2 ** 32, true);
  view.setUint32(4, Math.floor(N / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, start);
  for (const [, t, at] of list) {
    const n = t.data.length;
    if (n === 0) continue;
    if (!LITTLE_ENDIAN) {
      for (let i = 0; i < n; i++) {
        if (dtype === 'F64') view.setFloat64(start + at + i * 8, t.data[i], true);
        else view.setFloat32(start + at + i * 4, t.data[i], true);
      }
    } else if (dtype === 'F64') {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, n * 8), start + at);
    } else {
      new Float32Array(out.buffer, start + at, n).set(t.data);
    }
  }
  return out;
}

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * The tensors of a safetensors file, each as float64: F64 exactly, F32, F16 and BF16 exactly
 * (every value of theirs is a float64), I32 exactly, I64 exactly up to 2⁵³ in magnitude.
 */
export function fromSafetensors(bytes: Uint8Array | ArrayBuffer): Record<string, Tensor> {
  return read('fromSafetensors', bytes).tensors;
}

/** fromSafetensors with what else the file says: each tensor's dtype in the file, and the header's metadata. */
export function readSafetensors(bytes: Uint8Array | ArrayBuffer): SafetensorsContents {
  return read('readSafetensors', bytes);
}

function read(fn: string, bytes: Uint8Array | ArrayBuffer): SafetensorsContents {
  let b: Uint8Array;
  if (bytes instanceof Uint8Array) b = bytes;
  else if (bytes instanceof ArrayBuffer) b = new Uint8Array(bytes);
  else fail(`${fn}: bytes must be a Uint8Array (a Node Buffer is one) or an ArrayBuffer, got ${describe(bytes)}`);
  if (b.length < 8) fail(`${fn}: bytes is truncated: ${b.length} bytes, fewer than the 8 that hold the header's length`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const lo = view.getUint32(0, true), hi = view.getUint32(4, true);
  const N = hi * 2 ** 32 + lo;   // exact below 2⁵³, and refused above 100 MB anyway
  if (N > MAX_HEADER_BYTES) fail(`${fn}: the header's length is ${hi === 0 ? N : `${N} (about)`} bytes, over the ${MAX_HEADER_BYTES} (100 MB) a safetensors header may have`);
  if (8 + N > b.length) fail(`${fn}: bytes is truncated: the first 8 bytes give a header of ${N} bytes, but only ${b.length - 8} follow them`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(8, 8 + N)));
  } catch (e) {
    fail(`${fn}: the header (bytes 8 to ${8 + N}) must be UTF-8 JSON, got text that is not (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail(`${fn}: the header must be a JSON object {name: {dtype, shape, data_offsets}, "__metadata__": {…}}, got ${describe(header)}`);
  }
  const start = 8 + N;
  const length = b.length - start;
  const metadata: [string, string][] = [];
  const entries: Entry[] = [];
  for (const [name, e] of Object.entries(header as Record<string, unknown>)) {
    if (name === META) {
      if (e === null || typeof e !== 'object' || Array.isArray(e)) fail(`${fn}: the header's ${META} must be an object of strings, got ${describe(e)}`);
      for (const [k, v] of Object.entries(e as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`${fn}: the header's ${META}.${k} must be a string, got ${describe(v)}`);
        metadata.push([k, v]);
      }
      continue;
    }
    entries.push(checkEntry(fn, name, e, length));
  }
  // The tensors tile the data buffer: sorted by offset, each begins where the previous ends.
  const sorted = entries.slice().sort((x, y) => x.begin - y.begin || x.end - y.end);
  let at = 0, prev = '';
  for (const e of sorted) {
    if (e.begin < at) fail(`${fn}: tensor ${show(e.name)} at bytes [${e.begin}, ${e.end}) of the data buffer overlaps tensor ${show(prev)}, which ends at ${at}`);
    if (e.begin > at) fail(`${fn}: bytes [${at}, ${e.begin}) of the data buffer belong to no tensor (a gap before tensor ${show(e.name)}); safetensors tensors cover the buffer without gaps`);
    at = e.end;
    prev = e.name;
  }
  if (at !== length) fail(`${fn}: the data buffer has ${length} bytes but its tensors end at byte ${at}; ${length - at} bytes belong to no tensor (a truncated or padded file)`);
  // Only now, every size checked against the bytes given, is anything allocated.
  const tensors: [string, Tensor][] = entries.map((e) => [e.name, { data: decode(b, start + e.begin, e), shape: e.shape }]);
  return {
    tensors: Object.fromEntries(tensors),
    dtypes: Object.fromEntries(entries.map((e) => [e.name, e.dtype])),
    metadata: Object.fromEntries(metadata),
  };
}

function checkEntry(fn: string, name: string, e: unknown, length: number): Entry {
  const at = `tensor ${show(name)}`;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) fail(`${fn}: ${at} must be an object {dtype, shape, data_offsets}, got ${describe(e)}`);
  const o = e as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') fail(`${fn}: ${at} has an unknown key ${show(k)}; the valid keys are dtype, shape, data_offsets`);
  }
  const dtype = o.dtype;
  if (typeof dtype !== 'string' || !(DTYPES as string[]).includes(dtype)) {
    fail(`${fn}: ${at}: dtype must be one of ${DTYPES.join(', ')} (the dtypes convcore reads), got ${describe(dtype)}`);
  }
  const shape = o.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`${fn}: ${at}: shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  const offsets = o.data_offsets;
  const ok = Array.isArray(offsets) && offsets.length === 2 && offsets.every((x) => Number.isSafeInteger(x))
    && offsets[0] >= 0 && offsets[0] <= offsets[1] && offsets[1] <= length;
  if (!ok) {
    fail(`${fn}: ${at}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end ≤ ${length} (the data buffer's length), got ${Array.isArray(offsets) ? `[${offsets.map(show).join(', ')}]` : describe(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  const size = SIZES[dtype as SafetensorsDtype];
  // The element count, stopped as soon as it passes what the buffer can hold.
  let count = (shape as number[]).includes(0) ? 0 : 1;
  for (const d of count === 0 ? [] : shape as number[]) {
    count *= d;
    if (count * size > length) break;
  }
  if (count * size !== end - begin) {
    fail(`${fn}: ${at}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape ${shapeString(shape as number[])} of ${dtype} needs ${count * size > length ? `more than the ${length} of the data buffer` : count * size}`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: (shape as number[]).slice(), begin, end };
}

/** float16 bits → value, for all 65536 patterns (made on first use). */
let halfTable: Float64Array | null = null;

function halfValues(): Float64Array {
  if (halfTable) return halfTable;
  const t = new Float64Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac === 0 ? sign * Infinity : NaN;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = t;
  return t;
}

/** A tensor's values as float64, from its little-endian bytes at `abs` of b. */
function decode(b: Uint8Array, abs: number, e: Entry): Float64Array {
  const n = (e.end - e.begin) / SIZES[e.dtype];
  const out = new Float64Array(n);
  if (n === 0) return out;
  const pos = b.byteOffset + abs;
  // Views need an aligned start on a little-endian host; otherwise the bytes are read one value at a time.
  if (LITTLE_ENDIAN && pos % SIZES[e.dtype] === 0) {
    const buf = b.buffer;
    switch (e.dtype) {
      case 'F64': out.set(new Float64Array(buf, pos, n)); break;
      case 'F32': out.set(new Float32Array(buf, pos, n)); break;
      case 'I32': out.set(new Int32Array(buf, pos, n)); break;
      case 'F16': {
        const h = new Uint16Array(buf, pos, n), t = halfValues();
        for (let i = 0; i < n; i++) out[i] = t[h[i]];
        break;
      }
      case 'BF16': {
        const h = new Uint16Array(buf, pos, n);
        const u = new Uint32Array(n);
        for (let i = 0; i < n; i++) u[i] = h[i] << 16;
        out.set(new Float32Array(u.buffer));
        break;
      }
      case 'I64': {
        const w = new Int32Array(buf, pos, 2 * n);
        for (let i = 0; i < n; i++) out[i] = w[2 * i + 1] * 4294967296 + (w[2 * i] >>> 0);
        break;
      }
    }
    return out;
  }
  const v = new DataView(b.buffer, pos, e.end - e.begin);
  const t = e.dtype === 'F16' ? halfValues() : null;
  for (let i = 0; i < n; i++) {
    switch (e.dtype) {
      case 'F64': out[i] = v.getFloat64(i * 8, true); break;
      case 'F32': out[i] = v.getFloat32(i * 4, true); break;
      case 'I32': out[i] = v.getInt32(i * 4, true); break;
      case 'F16': out[i] = t![v.getUint16(i * 2, true)]; break;
      case 'BF16': {
        const x = new DataView(new ArrayBuffer(4));
        x.setUint32(0, v.getUint16(i * 2, true) << 16);
        out[i] = x.getFloat32(0);
        break;
      }
      case 'I64': out[i] = v.getInt32(i * 8 + 4, true) * 4294967296 + v.getUint32(i * 8, true); break;
    }
  }
  return out;
}
