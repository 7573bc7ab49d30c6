// A network as PyTorch sees it: the state dict's names and layouts, loading one back (every
// key and shape checked, DistributedDataParallel's prefix stripped), and the Python source
// of the equivalent module, whose scores, where PyTorch is installed, equal convcore's to 1e-10.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as cc from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectConvcoreError, makeRng, randn } from './util.js';

const L = cc.layers;

function everyKind(seed: number): cc.Sequential {
  return new cc.Sequential([
    L.conv(4, 3, { pad: 1, bias: false }), L.spatialBatchnorm(), L.relu(),
    L.residual([L.conv(4, 3, { pad: 2, dilation: 2 }), L.spatialGroupnorm(2), L.relu()]),
    L.residual([L.conv(6, 3, { pad: 1, stride: 2 })], { shortcut: [L.conv(6, 1, { stride: 2 })] }),
    L.conv(6, 3, { pad: 1, groups: 6 }), L.conv(6, [3, 1], { pad: [1, 0], groups: 2 }),
    L.maxPool(2, { stride: 1 }), L.avgPool(2), L.globalAvgPool(), L.flatten(), L.dropout(0.75), L.batchnorm(), L.layernorm(), L.relu(), L.affine(5),
  ], { inputShape: [2, 9, 9], seed });
}

/** Moves the running statistics away from their start, so that the test-mode scores depend on them. */
function trained(net: cc.Sequential): cc.Sequential {
  const r = makeRng(3);
  for (let i = 0; i < 3; i++) net.loss(randn(r, [4, 2, 9, 9], 2, 0.5), [0, 1, 2, 3]);
  return net;
}

describe('stateDict', () => {
  it('has PyTorch\'s names and layouts: weight, bias, running_mean, running_var, num_batches_tracked; Linear\'s weight transposed', () => {
    const net = trained(everyKind(1));
    const sd = net.stateDict();
    const p = net.params, b = net.buffers;
    expect(Object.keys(sd)).toEqual([
      '0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked',
      '3.body.0.weight', '3.body.0.bias', '3.body.1.weight', '3.body.1.bias',
      '4.body.0.weight', '4.body.0.bias', '4.shortcut.0.weight', '4.shortcut.0.bias',
      '5.weight', '5.bias', '6.weight', '6.bias',
      '12.weight', '12.bias', '12.running_mean', '12.running_var', '12.num_batches_tracked', '13.weight', '13.bias', '15.weight', '15.bias',
    ]);
    expect(Array.from(sd['0.weight'].data)).toEqual(Array.from(p['0.W'].data));
    expect(sd['6.weight'].shape).toEqual([6, 3, 3, 1]);
    expect(Array.from(sd['1.running_var'].data)).toEqual(Array.from(b['1.runningVar'].data));
    expect(Array.from(sd['1.num_batches_tracked'].data)).toEqual([3]);
    // Linear's weight is (M, D): W (D, M) transposed.
    const W = p['15.W'];
    expect(sd['15.weight'].shape).toEqual([5, 6]);
    for (let d = 0; d < 6; d++) for (let m = 0; m < 5; m++) expect(sd['15.weight'].data[m * 6 + d]).toBe(W.data[d * 5 + m]);
    net.dispose();
  });

  it('loadStateDict puts every value back, bit for bit, into a network made with another seed', () => {
    const a = trained(everyKind(1));
    const b = everyKind(2);
    b.loadStateDict(a.stateDict());
    for (const [name, t] of Object.entries(a.params)) expect(Array.from(b.params[name].data), name).toEqual(Array.from(t.data));
    for (const [name, t] of Object.entries(a.buffers)) expect(Array.from(b.buffers[name].data), name).toEqual(Array.from(t.data));
    const X = randn(makeRng(4), [3, 2, 9, 9]);
    expect(Array.from((b.loss(X) as Tensor).data)).toEqual(Array.from((a.loss(X) as Tensor).data));
    a.dispose();
    b.dispose();
  });

  it('names unknown and missing keys, checks every shape first, and strips DistributedDataParallel\'s prefix', () => {
    const a = everyKind(1);
    const sd = a.stateDict();
    const before = a.params['0.W'].data.slice();
    const prefixed = Object.fromEntries(Object.entries(sd).map(([k, v]) => [`module.${k}`, v]));
    expectConvcoreError(() => a.loadStateDict(prefixed), /^Sequential\.loadStateDict: the state dict does not match the network: unknown keys "module\.0\.weight", .*; missing keys "0\.weight", .*\(a state dict saved from DistributedDataParallel: pass \{ stripPrefix: 'module\.' \}\)$/);
    a.loadStateDict(prefixed, { stripPrefix: 'module.' });
    const { ['3.body.0.bias']: _, ...missing } = sd;
    expectConvcoreError(() => a.loadStateDict(missing), /^Sequential\.loadStateDict: the state dict does not match the network: missing keys "3\.body\.0\.bias"$/);
    const wrong = { ...sd, '15.weight': cc.tensor(new Float64Array(30), [6, 5]), '0.weight': cc.tensor(new Float64Array(72).fill(7), [4, 2, 3, 3]) };
    expectConvcoreError(() => a.loadStateDict(wrong), /15\.weight/);
    expect(Array.from(a.params['0.W'].data), 'nothing written from a refused state dict').toEqual(Array.from(before));
    expectConvcoreError(() => a.loadStateDict({ ...sd, extra: sd['0.weight'] }), /unknown keys "extra"/);
    expectConvcoreError(() => a.loadStateDict(sd, { prefix: 'x' } as never), /unknown key "prefix"; the valid key is stripPrefix/);
    a.dispose();
  });

  it('the CS231n models map to their equivalent Sequential', () => {
    const tlc = new cc.ThreeLayerConvNet({ inputDim: [1, 8, 8], numFilters: 3, filterSize: 3, hiddenDim: 7, numClasses: 4, seed: 1 });
    const sd = tlc.stateDict();
    expect(Object.keys(sd)).toEqual(['0.weight', '0.bias', '3.weight', '3.bias', '5.weight', '5.bias']);
    expect(Array.from(sd['0.weight'].data)).toEqual(Array.from(tlc.params.W1.data));
    expect(sd['3.weight'].shape).toEqual([7, 48]);
    const fc = new cc.FullyConnectedNet({ hiddenDims: [6], inputDim: 5, numClasses: 3, normalization: 'batchnorm', seed: 2 });
    expect(Object.keys(fc.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '3.weight', '3.bias']);
    const other = new cc.FullyConnectedNet({ hiddenDims: [6], inputDim: 5, numClasses: 3, normalization: 'batchnorm', seed: 3 });
    other.loadStateDict(fc.stateDict());
    expect(Array.from(other.params.W2.data)).toEqual(Array.from(fc.params.W2.data));
    for (const m of [tlc, fc, other]) m.dispose();
  });
});

describe('toPyTorch', () => {
  it('writes one module per layer, with the settings of each', () => {
    const src = everyKind(1).toPyTorch();
    for (const line of [
      'nn.Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=False),',
      'nn.BatchNorm2d(4, eps=0.00001, momentum=0.1),',
      'nn.Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(2, 2), dilation=(2, 2), groups=1, bias=True),',
      'nn.GroupNorm(2, 4, eps=0.00001),',
      'nn.Conv2d(6, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=6, bias=True),',
      'nn.MaxPool2d(kernel_size=(2, 2), stride=(1, 1)),', 'nn.AvgPool2d(kernel_size=(2, 2), stride=(2, 2)),',
      'nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()),', 'nn.Dropout(p=0.25),', 'nn.BatchNorm1d(6, eps=0.00001, momentum=0.1),',
      'nn.LayerNorm(6, eps=0.00001),', 'Affine(6, 5),',
    ]) expect(src).toContain(line);
    expect(src).toMatch(/Residual\(nn\.Sequential\(\n\s+nn\.Conv2d\(4, 6, kernel_size=\(3, 3\), stride=\(2, 2\)[^\n]*\n\s+\), nn\.Sequential\(\n\s+nn\.Conv2d\(4, 6, kernel_size=\(1, 1\), stride=\(2, 2\)/);
  });

  // Debian's python3-torch installs into the system Python, which another python3 on the PATH may hide.
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0);
  const hasTorch = python !== undefined;

  it.skipIf(!hasTorch)('where PyTorch is installed: the module with the state dict gives convcore\'s test-mode scores to 1e-10', () => {
    const net = trained(everyKind(5));
    const X = randn(makeRng(6), [3, 2, 9, 9]);
    const scores = net.loss(X) as Tensor;
    const dir = mkdtempSync(join(tmpdir(), 'convcore-torch-'));
    try {
      // The state dict goes through a safetensors file, read by a reader of the format's own
      // (an 8-byte little-endian header length, the JSON header, the data), as PyTorch would load it.
      writeFileSync(join(dir, 'model.safetensors'), cc.toSafetensors(net.stateDict(), { dtype: 'float64' }));
      writeFileSync(join(dir, 'model.py'), net.toPyTorch());
      writeFileSync(join(dir, 'x.json'), JSON.stringify({ shape: X.shape, data: Array.from(X.data) }));
      const script = [
        'import json, struct, sys, torch', `sys.path.insert(0, ${JSON.stringify(dir)})`, 'from model import model',
        `b = open(${JSON.stringify(join(dir, 'model.safetensors'))}, "rb").read()`,
        'n = struct.unpack("<Q", b[:8])[0]; header = json.loads(b[8:8 + n]); data = b[8 + n:]',
        'sd = {k: torch.frombuffer(bytearray(data[v["data_offsets"][0]:v["data_offsets"][1]]), dtype=torch.float64).reshape(v["shape"])',
        '      for k, v in header.items() if k != "__metadata__"}',
        'sd = {k: (v.long() if k.endswith("num_batches_tracked") else v) for k, v in sd.items()}',
        `x = json.load(open(${JSON.stringify(join(dir, 'x.json'))}))`,
        'model.double().eval(); model.load_state_dict(sd)',
        'print(json.dumps(model(torch.tensor(x["data"], dtype=torch.float64).reshape(x["shape"])).detach().flatten().tolist()))',
      ].join('\n');
      const res = spawnSync(python!, ['-c', script], { encoding: 'utf8' });
      expect(res.stderr).toBe('');
      const torchScores = JSON.parse(res.stdout) as number[];
      let diff = 0, scale = 0;
      torchScores.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - scores.data[i])); scale = Math.max(scale, Math.abs(scores.data[i])); });
      expect(diff / scale).toBeLessThan(1e-10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      net.dispose();
    }
  }, 60_000);
});
