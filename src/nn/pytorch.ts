/**
 * A model as PyTorch sees it: its state dict (PyTorch's names and layouts for the
 * equivalent module), loading one back, and the Python source of that module. One PyTorch
 * module per convcore layer, so that indices and names match: `0.weight`, `1.running_mean`,
 * `4.body.0.weight`, `5.shortcut.0.bias`. Affine's W (D, M) is Linear's weight (M, D)
 * transposed; batchnorm's momentum m is PyTorch's 1 − m.
 */
import { fail } from '../errors.js';
import { Tensor, make, describe, shapeString, checkSameShape } from '../tensor.js';
import { put, take } from '../wasm.js';
import type { Layer } from '../layers/layer.js';
import type { Net } from './net.js';

/** PyTorch's name for each of convcore's local parameter and buffer names. */
const TORCH_NAMES: Record<string, string> = {
  W: 'weight', b: 'bias', gamma: 'weight', beta: 'bias', runningMean: 'running_mean', runningVar: 'running_var',
};

interface Entry {
  /** PyTorch's key, `0.weight`. */
  key: string;
  /** The model's name for it, and whether it is a buffer. */
  name: string;
  buffer: boolean;
  /** convcore's shape, and PyTorch's (affine's W transposed). */
  shape: readonly number[];
  torchShape: readonly number[];
  transpose: boolean;
}

/** Every entry of the state dict, in the module's order. */
function entries(net: Net): Entry[] {
  const out: Entry[] = [];
  for (const { path, layer } of net.placed) {
    const add = (local: string, shape: readonly number[], buffer: boolean): void => {
      const transpose = layer.kind === 'affine' && local === 'W';
      out.push({
        key: `${path}.${TORCH_NAMES[local]}`, name: net.nameOf(path, local), buffer, shape,
        torchShape: transpose ? [shape[1], shape[0]] : shape, transpose,
      });
    };
    for (const d of layer.params) add(d.name, d.shape, false);
    for (const d of layer.buffers) add(d.name, d.shape, true);
  }
  return out;
}

/** (R, C) row-major -> (C, R). */
function transposed(a: Float64Array, R: number, C: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[c * R + r] = a[r * C + c];
  return out;
}

/** The state dict: PyTorch's keys and layouts, copies. Batchnorm's num_batches_tracked is the number of train-mode forwards it has run. */
export function stateDict(net: Net): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const e of entries(net)) {
    const n = e.shape.reduce((p, d) => p * d, 1);
    const ptr = e.buffer ? net.buffer(e.name) : net.store.get(e.name).ptr;
    const data = take(ptr, n);
    out[e.key] = make(e.transpose ? transposed(data, e.shape[0], e.shape[1]) : data, e.torchShape);
    if (e.key.endsWith('.running_var')) {
      const base = e.key.slice(0, -'running_var'.length);
      out[`${base}num_batches_tracked`] = make(new Float64Array([batchesTracked(net, base)]), []);
    }
  }
  return out;
}

function batchesTracked(net: Net, base: string): number {
  const placed = net.placed.find((p) => `${p.path}.` === base);
  return (placed?.layer as { tracked?: number } | undefined)?.tracked ?? 0;
}

/**
 * Loads a state dict (PyTorch's names and layouts); every key and shape is checked before
 * anything is written, and unknown or missing keys are named. `stripPrefix` is removed from
 * every key first (PyTorch's DistributedDataParallel and DataParallel add `module.`).
 */
export function loadStateDict(fn: string, net: Net, sd: unknown, options?: unknown): void {
  if (sd === null || typeof sd !== 'object' || Array.isArray(sd)) fail(`${fn}: stateDict must be an object of Tensors keyed by PyTorch's names, got ${describe(sd)}`);
  let prefix = '';
  if (options !== undefined) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) fail(`${fn}: options must be an object { stripPrefix }, got ${describe(options)}`);
    for (const k of Object.keys(options)) if (k !== 'stripPrefix') fail(`${fn}: options has an unknown key ${JSON.stringify(k)}; the valid key is stripPrefix`);
    const p = (options as { stripPrefix?: unknown }).stripPrefix;
    if (p !== undefined && typeof p !== 'string') fail(`${fn}: stripPrefix must be a string, got ${describe(p)}`);
    prefix = (p as string | undefined) ?? '';
  }
  const given = new Map<string, unknown>();
  for (const [k, v] of Object.entries(sd as Record<string, unknown>)) given.set(prefix && k.startsWith(prefix) ? k.slice(prefix.length) : k, v);
  const want = entries(net);
  const known = new Set(want.map((e) => e.key));
  for (const e of want) if (e.key.endsWith('.running_var')) known.add(`${e.key.slice(0, -'running_var'.length)}num_batches_tracked`);
  const unknown = [...given.keys()].filter((k) => !known.has(k));
  const missing = want.filter((e) => !given.has(e.key)).map((e) => e.key);
  if (unknown.length || missing.length) {
    const parts = [unknown.length ? `unknown keys ${unknown.map((k) => JSON.stringify(k)).join(', ')}` : '',
      missing.length ? `missing keys ${missing.map((k) => JSON.stringify(k)).join(', ')}` : ''].filter((p) => p);
    const hint = prefix === '' && unknown.some((k) => k.startsWith('module.')) ? ' (a state dict saved from DistributedDataParallel: pass { stripPrefix: \'module.\' })' : '';
    fail(`${fn}: the state dict does not match the network: ${parts.join('; ')}${hint}`);
  }
  const values = want.map((e) => {
    const t = checkSameShape(fn, e.key, given.get(e.key), e.torchShape, `PyTorch's shape ${shapeString(e.torchShape)} for ${e.key}`);
    return e.transpose ? transposed(t.data, e.torchShape[0], e.torchShape[1]) : t.data;
  });
  const tracked = [...given.entries()].filter(([k]) => k.endsWith('.num_batches_tracked'));
  for (const [k, v] of tracked) {
    const t = v as Tensor;
    if (t === null || typeof t !== 'object' || !(t.data instanceof Float64Array) || t.data.length !== 1 || !Number.isSafeInteger(t.data[0]) || t.data[0] < 0) {
      fail(`${fn}: ${k} must be one non-negative integer, got ${describe(v)}`);
    }
  }
  want.forEach((e, i) => put(e.buffer ? net.buffer(e.name) : net.store.get(e.name).ptr, values[i]));
  for (const [k, v] of tracked) {
    const placed = net.placed.find((p) => `${p.path}.num_batches_tracked` === k);
    if (placed) (placed.layer as { tracked?: number }).tracked = (v as Tensor).data[0];
  }
}

/** Python source that assigns `model`, the PyTorch module equivalent to the network. */
export function toPyTorch(net: Net, title: string): string {
  const list = (layers: readonly Layer[], indent: string): string => {
    const inner = `${indent}    `;
    return `nn.Sequential(\n${layers.map((l) => `${inner}${l.torch((sub) => list(sub, inner))},`).join('\n')}\n${indent})`;
  };
  return [
    `# ${title}: the PyTorch module equivalent to the convcore network, one module per layer,`,
    '# so that its state dict has the same keys as convcore\'s stateDict(). Its scores equal',
    '# convcore\'s test-mode scores after model.double().eval() and model.load_state_dict(...).',
    'import torch',
    'from torch import nn',
    '',
    '',
    'class Affine(nn.Linear):',
    '    """convcore\'s affine layer: Linear on the input flattened to (N, D)."""',
    '',
    '    def forward(self, x):',
    '        return super().forward(x.flatten(1))',
    '',
    '',
    'class Residual(nn.Module):',
    '    """out = body(x) + shortcut(x), the shortcut the identity when it is None."""',
    '',
    '    def __init__(self, body, shortcut=None):',
    '        super().__init__()',
    '        self.body = body',
    '        self.shortcut = shortcut',
    '',
    '    def forward(self, x):',
    '        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))',
    '',
    '',
    `model = ${list(net.layers, '')}`,
    '',
  ].join('\n');
}
