// Sequential: the whole network's gradient against a numerical one, with every layer kind;
// equal, bit for bit, to the same layers chained through the functional ops; its errors at
// construction, naming the layer; its JSON round trip; predict and evaluate.
import { describe, it, expect } from 'vitest';
import * as cc from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { maxNormRelError } from '../src/gradcheck.js';
import { expectConvcoreError, makeRng, randn } from './util.js';

const L = cc.layers;

/** The numerical gradient of net.loss(X, y).loss with respect to every entry of parameter `name`. */
function numericParamGrad(net: cc.Sequential, X: Tensor, y: number[], name: string, h = 1e-5): Float64Array {
  const p = net.params[name];
  const g = new Float64Array(p.data.length);
  for (let i = 0; i < p.data.length; i++) {
    const v = p.data[i];
    p.data[i] = v + h;
    net.setParams({ [name]: p });
    const fp = net.loss(X, y).loss;
    p.data[i] = v - h;
    net.setParams({ [name]: p });
    const fm = net.loss(X, y).loss;
    p.data[i] = v;
    g[i] = (fp - fm) / (2 * h);
  }
  net.setParams({ [name]: p });
  return g;
}

function expectGradients(net: cc.Sequential, X: Tensor, y: number[], tol: number): void {
  const { grads } = net.loss(X, y);
  const names = Object.keys(net.params);
  expect(Object.keys(grads).sort()).toEqual(names.slice().sort());
  for (const name of names) {
    const err = maxNormRelError(grads[name].data, numericParamGrad(net, X, y, name));
    expect(err, `${name}: max-norm relative error of the gradient`).toBeLessThan(tol);
  }
}

/** A network of every layer kind: dilated, grouped and depthwise convs, both residual kinds (one with a strided shortcut), every pool and norm, seeded dropout. */
function everyKind(loss: 'softmax' | 'svm', seed: number): cc.Sequential {
  return new cc.Sequential([
    // No bias before a batchnorm: it would cancel it (and its true gradient, 0, is all noise).
    L.conv(4, 3, { pad: 1, bias: false }), L.spatialBatchnorm(), L.relu(),
    L.residual([L.conv(4, 3, { pad: 2, dilation: 2, bias: false }), L.spatialGroupnorm(2), L.relu()]),
    L.residual([L.conv(6, 3, { pad: 1, stride: 2 })], { shortcut: [L.conv(6, 1, { stride: 2 })] }),
    L.conv(6, 3, { pad: 1, groups: 6 }), L.conv(6, [3, 1], { pad: [1, 0], groups: 2 }),
    L.maxPool(2, { stride: 1 }), L.avgPool(2),
    L.globalAvgPool(), L.flatten(), L.dropout(0.75, { seed: 11 }), L.batchnorm(), L.layernorm(), L.relu(), L.affine(5),
  ], { inputShape: [2, 9, 9], loss, reg: 0.05, seed });
}

describe('Sequential: the gradient of the whole network', () => {
  it('every layer kind, softmax loss, L2 term: every parameter within 1e-6 of a numerical gradient', () => {
    const net = everyKind('softmax', 3);
    const r = makeRng(21);
    const X = randn(r, [4, 2, 9, 9]);
    expectGradients(net, X, [0, 3, 1, 4], 1e-6);
    net.dispose();
  });

  it('a first layer that cannot skip dx (flatten, relu, batchnorm, pools, dropout, a residual): the same loss on every call, and gradients within 1e-6', () => {
    const firsts: [cc.LayerSpec[], number[]][] = [
      [[L.flatten(), L.batchnorm(), L.relu(), L.affine(3)], [2, 3, 3]],
      [[L.relu(), L.conv(2, 3, { pad: 1 }), L.affine(3)], [2, 3, 3]],
      [[L.spatialBatchnorm(), L.maxPool(2, { stride: 1 }), L.affine(3)], [2, 3, 3]],
      [[L.avgPool(2, { stride: 1 }), L.dropout(0.7, { seed: 2 }), L.affine(3)], [2, 3, 3]],
      [[L.residual([L.conv(2, 3, { pad: 1 }), L.relu()]), L.globalAvgPool(), L.layernorm(), L.affine(3)], [2, 3, 3]],
    ];
    firsts.forEach(([list, shape], i) => {
      const net = new cc.Sequential(list, { inputShape: shape, seed: 10 + i });
      const X = randn(makeRng(60 + i), [4, ...shape]);
      const y = [0, 1, 2, 1];
      const first = net.loss(X, y).loss;
      expect(net.loss(X, y).loss, `network ${i}: a second call`).toBe(first);
      expectGradients(net, X, y, 1e-6);
      net.dispose();
    });
  });

  it('svm loss on conv, maxPool, flatten, affine', () => {
    const net = new cc.Sequential([L.conv(3, 3, { pad: 1 }), L.maxPool(2), L.flatten(), L.affine(4)], { inputShape: [1, 6, 6], loss: 'svm', seed: 5 });
    const r = makeRng(22);
    const X = randn(r, [5, 1, 6, 6]);
    expectGradients(net, X, [0, 1, 2, 3, 0], 1e-6);
    net.dispose();
  });
});

describe('Sequential equals the same layers chained through the functional ops, bit for bit', () => {
  const same = (a: ArrayLike<number>, b: ArrayLike<number>, label: string): void => {
    expect(a.length, label).toBe(b.length);
    let diff = 0;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) diff++;
    expect(diff, `${label}: values that differ`).toBe(0);
  };

  it('conv − spatial batchnorm − relu − max pool − conv − relu − max pool − affine, softmax', () => {
    const net = new cc.Sequential([
      L.conv(4, 3, { pad: 1 }), L.spatialBatchnorm(), L.relu(), L.maxPool(2),
      L.conv(5, 3, { pad: 1 }), L.relu(), L.maxPool(2), L.affine(3),
    ], { inputShape: [2, 8, 8], seed: 7 });
    const r = makeRng(30);
    const X = randn(r, [6, 2, 8, 8]);
    const y = [0, 1, 2, 0, 1, 2];
    const p = net.params;
    const { loss, grads } = net.loss(X, y);
    // The same through the ops.
    const c1 = cc.convForward(X, p['0.W'], p['0.b'], { pad: 1 });
    const bn = cc.spatialBatchnormForward(c1.out, p['1.gamma'], p['1.beta'], { mode: 'train' });
    const r1 = cc.reluForward(bn.out);
    const m1 = cc.maxPoolForward(r1.out, { poolHeight: 2, poolWidth: 2 });
    const c2 = cc.convForward(m1.out, p['4.W'], p['4.b'], { pad: 1 });
    const r2 = cc.reluForward(c2.out);
    const m2 = cc.maxPoolForward(r2.out, { poolHeight: 2, poolWidth: 2 });
    const a = cc.affineForward(m2.out, p['7.W'], p['7.b']);
    const s = cc.softmaxLoss(a.out, y);
    same([loss], [s.loss], 'loss');
    const da = cc.affineBackward(s.dscores, a.cache);
    const dm2 = cc.maxPoolBackward(da.dx, m2.cache);
    const dr2 = cc.reluBackward(dm2.dx, r2.cache);
    const dc2 = cc.convBackward(dr2.dx, c2.cache);
    const dm1 = cc.maxPoolBackward(dc2.dx, m1.cache);
    const dr1 = cc.reluBackward(dm1.dx, r1.cache);
    const dbn = cc.spatialBatchnormBackward(dr1.dx, bn.cache);
    const dc1 = cc.convBackward(dbn.dx, c1.cache, { dx: false });
    const want: Record<string, Tensor> = {
      '0.W': dc1.dw, '0.b': dc1.db, '1.gamma': dbn.dgamma, '1.beta': dbn.dbeta, '4.W': dc2.dw, '4.b': dc2.db, '7.W': da.dw, '7.b': da.db,
    };
    for (const [name, t] of Object.entries(want)) same(grads[name].data, t.data, name);
    same(net.buffers['1.runningMean'].data, bn.runningMean.data, 'running mean');
    same(net.buffers['1.runningVar'].data, bn.runningVar.data, 'running variance');
    // Test mode: the running statistics.
    const t1 = cc.spatialBatchnormForward(c1.out, p['1.gamma'], p['1.beta'], { mode: 'test', runningMean: bn.runningMean, runningVar: bn.runningVar });
    const tr = cc.maxPoolForward(cc.reluForward(t1.out).out, { poolHeight: 2, poolWidth: 2 }).out;
    const t2 = cc.maxPoolForward(cc.reluForward(cc.convForward(tr, p['4.W'], p['4.b'], { pad: 1 }).out).out, { poolHeight: 2, poolWidth: 2 }).out;
    same((net.loss(X) as Tensor).data, cc.affineForward(t2, p['7.W'], p['7.b']).out.data, 'test-mode scores');
    net.dispose();
  });

  it('residual (identity and strided shortcut), depthwise and dilated conv, groupnorm, layernorm, dropout, global pool, svm', () => {
    const net = new cc.Sequential([
      L.conv(4, 3, { pad: 1 }),
      L.residual([L.conv(4, 3, { pad: 2, dilation: 2 }), L.relu()]),
      L.residual([L.conv(6, 3, { pad: 1, stride: 2, groups: 2 })], { shortcut: [L.conv(6, 1, { stride: 2 })] }),
      L.spatialGroupnorm(3), L.conv(6, 3, { pad: 1, groups: 6 }), L.globalAvgPool(), L.dropout(0.6, { seed: 4 }), L.layernorm(), L.affine(3),
    ], { inputShape: [2, 7, 7], loss: 'svm', seed: 8 });
    const r = makeRng(31);
    const X = randn(r, [3, 2, 7, 7]);
    const y = [2, 0, 1];
    const p = net.params;
    const { loss, grads } = net.loss(X, y);
    const add = (a: Tensor, b: Tensor): Tensor => ({ data: a.data.map((v, i) => v + b.data[i]), shape: a.shape });
    const c0 = cc.convForward(X, p['0.W'], p['0.b'], { pad: 1 });
    const b1 = cc.convForward(c0.out, p['1.body.0.W'], p['1.body.0.b'], { pad: 2, dilation: 2 });
    const b1r = cc.reluForward(b1.out);
    const o1 = add(b1r.out, c0.out);
    const b2 = cc.convForward(o1, p['2.body.0.W'], p['2.body.0.b'], { pad: 1, stride: 2, groups: 2 });
    const s2 = cc.convForward(o1, p['2.shortcut.0.W'], p['2.shortcut.0.b'], { stride: 2 });
    const o2 = add(b2.out, s2.out);
    const gn = cc.spatialGroupnormForward(o2, p['3.gamma'], p['3.beta'], { groups: 3 });
    const dw = cc.convForward(gn.out, p['4.W'], p['4.b'], { pad: 1, groups: 6 });
    const gp = cc.globalAvgPoolForward(dw.out);
    const dr = cc.dropoutForward(gp.out, { mode: 'train', keepProb: 0.6, seed: 4 });
    const ln = cc.layernormForward(dr.out, p['7.gamma'], p['7.beta']);
    const af = cc.affineForward(ln.out, p['8.W'], p['8.b']);
    const sv = cc.svmLoss(af.out, y);
    same([loss], [sv.loss], 'loss');
    const daf = cc.affineBackward(sv.dscores, af.cache);
    const dln = cc.layernormBackward(daf.dx, ln.cache);
    const ddr = cc.dropoutBackward(dln.dx, dr.cache);
    const dgp = cc.globalAvgPoolBackward(ddr.dx, gp.cache);
    const ddw = cc.convBackward(dgp.dx, dw.cache);
    const dgn = cc.spatialGroupnormBackward(ddw.dx, gn.cache);
    const db2 = cc.convBackward(dgn.dx, b2.cache);
    const ds2 = cc.convBackward(dgn.dx, s2.cache);
    const do1 = add(db2.dx, ds2.dx);
    const db1r = cc.reluBackward(do1, b1r.cache);
    const db1 = cc.convBackward(db1r.dx, b1.cache);
    const dc0in = add(db1.dx, do1);
    const dc0 = cc.convBackward(dc0in, c0.cache, { dx: false });
    const want: Record<string, Tensor> = {
      '0.W': dc0.dw, '0.b': dc0.db, '1.body.0.W': db1.dw, '1.body.0.b': db1.db, '2.body.0.W': db2.dw, '2.body.0.b': db2.db,
      '2.shortcut.0.W': ds2.dw, '2.shortcut.0.b': ds2.db, '3.gamma': dgn.dgamma, '3.beta': dgn.dbeta, '4.W': ddw.dw, '4.b': ddw.db,
      '7.gamma': dln.dgamma, '7.beta': dln.dbeta, '8.W': daf.dw, '8.b': daf.db,
    };
    expect(Object.keys(grads).sort()).toEqual(Object.keys(want).sort());
    for (const [name, t] of Object.entries(want)) same(grads[name].data, t.data, name);
    net.dispose();
  });
});

describe('Sequential: errors at construction name the layer by index and kind', () => {
  const at = (layers: cc.LayerSpec[], says: RegExp, inputShape: number[] = [1, 8, 8], extra: object = {}): void =>
    expectConvcoreError(() => new cc.Sequential(layers, { inputShape, ...extra }), says, 'Sequential');

  it('a window larger than its map', () => {
    at([L.conv(2, 3), L.maxPool(2), L.maxPool(4), L.affine(2)], /^Sequential: layer 2 \(maxPool\): a 4x4 window does not fit an input of 3x3$/);
  });
  it('a kernel that does not fit, dilated', () => {
    at([L.conv(2, 3, { dilation: 4 }), L.affine(2)], /^Sequential: layer 0 \(conv\): a 3x3 kernel dilated by 4,4 \(spanning 9x9\) does not fit an input of 8x8 padded by 0,0$/);
  });
  it('a residual body that changes the shape without a matching shortcut', () => {
    at([L.residual([L.conv(4, 3, { pad: 1 })]), L.affine(2)], /^Sequential: layer 0 \(residual\): the body gives \(4,8,8\) per example but the identity shortcut keeps \(1,8,8\); give a shortcut that matches, such as conv\(4, 1, \{ stride \}\)$/);
    at([L.relu(), L.residual([L.conv(4, 3, { pad: 1, stride: 2 })], { shortcut: [L.conv(4, 1)] }), L.affine(2)],
      /^Sequential: layer 1 \(residual\): the body gives \(4,4,4\) per example but its shortcut gives \(4,8,8\)$/);
  });
  it('a layer inside a residual is named by its path', () => {
    at([L.residual([L.maxPool(9)]), L.affine(2)], /^Sequential: layer 0\.body\.0 \(maxPool\): a 9x9 window does not fit an input of 8x8$/);
  });
  it('groups that do not divide C', () => {
    at([L.conv(4, 3, { groups: 3 }), L.affine(2)], /^Sequential: layer 0 \(conv\): groups 3 does not divide the 1 channels of its input$/);
    at([L.conv(4, 3), L.spatialGroupnorm(3), L.affine(2)], /^Sequential: layer 1 \(spatialGroupnorm\): groups 3 does not divide the 4 channels of its input$/);
  });
  it('an unknown option key', () => {
    at([L.conv(4, 3, { padding: 1 } as never), L.affine(2)], /^Sequential: layer 0 \(conv\): an unknown option "padding"; the valid ones are stride, pad, dilation, groups, bias$/);
    at([L.affine(2)], /^Sequential: options has an unknown key "lr"; the valid keys are inputShape, loss, reg, init, seed$/, [3], { lr: 1 });
  });
  it('affine with no size', () => {
    at([L.relu(), (L.affine as (n?: number) => cc.LayerSpec)()], /^Sequential: layer 1 \(affine\): affine needs its number of outputs, as in affine\(10\)$/);
  });
  it('a last layer that gives no scores, a bad loss, init or input shape, something that is not a layer', () => {
    at([L.conv(2, 3)], /^Sequential: the last layer gives \(2,6,6\) per example, not scores; end with affine\(numClasses\)$/);
    at([L.affine(2)], /^Sequential: loss must be 'softmax' or 'svm', got "hinge"$/, [3], { loss: 'hinge' });
    at([L.affine(2)], /^Sequential: init must be 'he', 'xavier' or \{ weightScale \}/, [3], { init: 'glorot' });
    at([L.affine(2)], /^Sequential: inputShape must be one example's shape, \[C, H, W\] or \[D\] of positive integers, got \[2,2\]$/, [2, 2]);
    at([L.relu(), { kind: 'softmax', args: [] } as never], /^Sequential: layer 1: must be a layer made by layers\.conv, layers\.relu, …/);
  });
  it('bad input to loss names the expected input shape', () => {
    const net = new cc.Sequential([L.affine(2)], { inputShape: [3], seed: 1 });
    expectConvcoreError(() => net.loss(randn(makeRng(1), [2, 4])), /^Sequential\.loss: X must have shape \(N,3\) to match inputShape, got \(2,4\)$/);
    expectConvcoreError(() => net.loss(randn(makeRng(1), [2, 3]), [0, 2]), /^Sequential\.loss: y\[1\] must be an integer label in \[0, 2\), got 2$/);
    net.dispose();
  });
});

describe('Sequential: JSON, predict, evaluate, params and buffers', () => {
  it('toJSON and fromJSON keep every float64 and every buffer exactly', () => {
    const net = everyKind('softmax', 9);
    const r = makeRng(40);
    const X = randn(r, [3, 2, 9, 9]);
    net.loss(X, [0, 1, 2]); // moves the running statistics
    const b = net.params['4.body.0.b'];
    b.data.set([-0, NaN, Infinity, -Infinity]);
    net.setParams({ '4.body.0.b': b });
    const back = cc.Sequential.fromJSON(JSON.parse(JSON.stringify(net.toJSON())));
    for (const [name, t] of Object.entries(net.params)) t.data.forEach((v, i) => expect(Object.is(back.params[name].data[i], v), `${name}[${i}]`).toBe(true));
    for (const [name, t] of Object.entries(net.buffers)) t.data.forEach((v, i) => expect(Object.is(back.buffers[name].data[i], v), `${name}[${i}]`).toBe(true));
    expect(back.summary()).toBe(net.summary());
    expectConvcoreError(() => cc.Sequential.fromJSON(JSON.stringify(net.toJSON())), /JSON\.parse it first/, 'Sequential.fromJSON');
    net.dispose();
    back.dispose();
  });

  it('predict is the argmax of the test-mode scores, in batches that do not resize the blocks; evaluate agrees', () => {
    const net = new cc.Sequential([L.conv(3, 3, { pad: 1 }), L.spatialBatchnorm(), L.relu(), L.globalAvgPool(), L.affine(4)], { inputShape: [2, 5, 5], seed: 2 });
    const r = makeRng(41);
    const X = randn(r, [23, 2, 5, 5]);
    const scores = net.loss(X) as Tensor;
    const argmax = Array.from({ length: 23 }, (_, n) => {
      let best = 0;
      for (let c = 1; c < 4; c++) if (scores.data[n * 4 + c] > scores.data[n * 4 + best]) best = c;
      return best;
    });
    expect(Array.from(net.predict(X, { batchSize: 5 }))).toEqual(argmax);
    expect(Array.from(net.predict(X))).toEqual(argmax);
    const y = argmax.map((c, i) => (i % 3 === 0 ? (c + 1) % 4 : c));
    const e = net.evaluate(X, y, { batchSize: 7 });
    expect(e.accuracy).toBe(y.filter((c, i) => c === argmax[i]).length / 23);
    expect(e.loss).toBeCloseTo(cc.softmaxLoss(scores, y).loss, 12);
    net.dispose();
  });

  it('setParams and setBuffers check names and shapes; a disposed network says so', () => {
    const net = new cc.Sequential([L.batchnorm(), L.affine(2)], { inputShape: [3], seed: 1 });
    expectConvcoreError(() => net.setParams({ '1.V': cc.tensor([1], [1]) }), /has no parameter "1\.V"/);
    expectConvcoreError(() => net.setBuffers({ '0.runningMean': cc.tensor([1, 2], [2]) }), /0\.runningMean/);
    net.setBuffers({ '0.runningMean': cc.tensor([1, 2, 3], [3]) });
    expect(Array.from(net.buffers['0.runningMean'].data)).toEqual([1, 2, 3]);
    net.dispose();
    expectConvcoreError(() => net.params, /disposed/);
  });

  it('init: he, xavier and { weightScale } give the standard deviations they name; the seed decides the weights', () => {
    const make = (init: cc.InitKind, seed = 1): Float64Array =>
      new cc.Sequential([L.affine(400)], { inputShape: [200], init, seed }).params['0.W'].data;
    const std = (a: Float64Array): number => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(std(make('he'))).toBeCloseTo(Math.sqrt(2 / 200), 3);
    expect(std(make('xavier'))).toBeCloseTo(Math.sqrt(2 / 600), 3);
    expect(std(make({ weightScale: 0.01 }))).toBeCloseTo(0.01, 4);
    expect(Array.from(make('he', 5))).toEqual(Array.from(make('he', 5)));
    expect(Array.from(make('he', 5))).not.toEqual(Array.from(make('he', 6)));
  });
});

describe('Sequential with the Solver', () => {
  const problem = () => {
    const r = makeRng(50);
    const X = randn(r, [60, 1, 6, 6]);
    const y = Array.from({ length: 60 }, (_, i) => (X.data[i * 36] > 0 ? 1 : 0) + (X.data[i * 36 + 7] > 0 ? 2 : 0));
    return { XTrain: X, yTrain: y, XVal: X, yVal: y };
  };
  const net = () => new cc.Sequential([L.conv(4, 3, { pad: 1, bias: false }), L.spatialBatchnorm(), L.relu(), L.maxPool(2), L.affine(4)],
    { inputShape: [1, 6, 6], seed: 3 });

  it('trains it in place; the best state it restores (running statistics included) scores the bestValAcc it reports', () => {
    const data = problem();
    const model = net();
    const s = new cc.Solver(model, data, { updateRule: 'adam', optimConfig: { learningRate: 5e-3 }, batchSize: 10, numEpochs: 4, verbose: false, seed: 1 });
    const before = model.params['4.W'].data.slice();
    s.train();
    expect(Array.from(model.params['4.W'].data)).not.toEqual(Array.from(before));
    expect(s.bestValAcc, 'it learned something (chance is 0.25)').toBeGreaterThan(0.4);
    expect(s.checkAccuracy(data.XVal, data.yVal)).toBe(s.bestValAcc);
    expect(model.evaluate(data.XVal, data.yVal).accuracy).toBe(s.bestValAcc);
    s.dispose();
    model.dispose();
  });

  it('a checkpoint resumes a Sequential to the same bits as a run that never stopped', () => {
    const data = problem();
    const opts = { updateRule: 'rmsprop' as const, batchSize: 10, numEpochs: 3, verbose: false, seed: 2 };
    const a = net();
    const sa = new cc.Solver(a, data, opts);
    sa.train();
    const b = net();
    const sb = new cc.Solver(b, data, opts);
    sb.train({ iterations: 8 });
    const resumed = cc.Solver.fromCheckpoint(JSON.parse(JSON.stringify(sb.checkpoint())), data);
    resumed.train();
    expect(resumed.lossHistory).toEqual(sa.lossHistory);
    for (const [name, t] of Object.entries(a.params)) expect(Array.from(resumed.model.params[name].data), name).toEqual(Array.from(t.data));
    for (const [name, t] of Object.entries(a.buffers)) expect(Array.from((resumed.model as cc.Sequential).buffers[name].data), name).toEqual(Array.from(t.data));
    for (const x of [sa, sb, resumed]) x.dispose();
    for (const m of [a, b, resumed.model]) m.dispose();
  });
});
