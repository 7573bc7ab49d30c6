/**
 * What every browser page of the test runs (bundled for the plain pages by esbuild, and
 * by Vite for the consumer app). It loads the module the way the page was told to, then
 * runs every op of the API against the reference loops on random shapes, a centered
 * gradient check and two bad inputs, and returns plain numbers and messages; the assertions
 * are in test/browser.test.ts. No vitest here: this runs in the page.
 */
import type * as Api from '../src/api.js';
import type * as Ref from '../src/reference/index.js';
import type * as Grad from '../src/gradcheck.js';
import type { Tensor } from '../src/tensor.js';
import { makeRng, randn, distinct, size } from './random.js';
import type { Rng } from './random.js';

type Main = typeof Api;
type Reference = typeof Ref;
type Gradcheck = typeof Grad;
type Source = Parameters<Main['init']>[0];

export interface CaseResult { op: string; config: string; err: number; mutated: boolean }
export interface GradResult { name: string; err: number }
export interface ErrorResult { name: string; errorName: string; message: string; isConvcoreError: boolean }
export interface InitAttempt { source: string; ok: boolean; message: string; ms: number }
export interface PageReport {
  userAgent: string;
  beforeInit: string;
  attempts: InitAttempt[];
  cases: CaseResult[];
  gradchecks: GradResult[];
  errors: ErrorResult[];
  afterErrors: number;
  /** The build that ran: simdLevel() once loaded. */
  simd: string;
  ms: number;
}

/**
 * The worst error over pairs of (Wasm result, reference result): the max-norm relative error
 * of convcore/gradcheck, the one the Node tests and the bench use (a NaN or a shape
 * mismatch counts as Infinity); a result whose data is not a Float64Array counts as Infinity.
 */
function worst(grad: Gradcheck, pairs: [Tensor | number, Tensor | number][]): number {
  const err = ([a, b]: [Tensor | number, Tensor | number]): number =>
    typeof a !== 'number' && !(a.data instanceof Float64Array) ? Infinity : grad.maxNormRelError(a, b);
  return Math.max(...pairs.map(err));
}

const snapshot = (ts: Tensor[]): Float64Array[] => ts.map((t) => t.data.slice());
const changed = (ts: Tensor[], before: Float64Array[]): boolean =>
  ts.some((t, i) => t.data.length !== before[i].length || t.data.some((v, k) => !Object.is(v, before[i][k])));

type Pair = number | [number, number];
const pair = (r: Rng, lo: number, hi: number): Pair => (r.next() < 0.3 ? [r.int(lo, hi), r.int(lo, hi)] : r.int(lo, hi));
const hw = (p: Pair): [number, number] => (typeof p === 'number' ? [p, p] : p);

/** Every op of the main entry against the reference, on random shapes. */
function compareOps(cc: Main, ref: Reference, grad: Gradcheck, seed: number): CaseResult[] {
  const r = makeRng(seed);
  const out: CaseResult[] = [];
  const record = (op: string, config: object, inputs: Tensor[], run: () => [Tensor | number, Tensor | number][]): void => {
    const before = snapshot(inputs);
    let err: number;
    try {
      err = worst(grad, run());
    } catch (e) {
      err = Infinity;
      console.warn(`${op} ${JSON.stringify(config)} threw: ${(e as Error).message}`);
    }
    out.push({ op, config: JSON.stringify(config), err, mutated: changed(inputs, before) });
  };

  for (let i = 0; i < 14; i++) {
    const N = r.int(1, 3), C = r.int(1, 4), F = r.int(1, 4), H = r.int(1, 9), W = r.int(1, 9);
    const stride = pair(r, 1, 3), pad = pair(r, 0, 3);
    const [PH, PW] = hw(pad);
    const HH = r.int(1, Math.min(5, H + 2 * PH)), WW = r.int(1, Math.min(5, W + 2 * PW));
    const x = randn(r, [N, C, H, W]), w = randn(r, [F, C, HH, WW]), b = randn(r, [F]);
    const p = { stride, pad };
    record('convForward+convBackward', { x: x.shape, w: w.shape, ...p }, [x, w, b], () => {
      const a = cc.convForward(x, w, b, p), e = ref.convForward(x, w, b, p);
      const dout = randn(r, e.out.shape);
      const ga = cc.convBackward(dout, a.cache), ge = ref.convBackward(dout, e.cache);
      return [[a.out, e.out], [ga.dx, ge.dx], [ga.dw, ge.dw], [ga.db, ge.db]];
    });
  }

  for (let i = 0; i < 10; i++) {
    const H = r.int(1, 9), W = r.int(1, 9);
    const p = { poolHeight: r.int(1, H), poolWidth: r.int(1, W), stride: pair(r, 1, 3) };
    const x = randn(r, [r.int(1, 3), r.int(1, 3), H, W]);
    const max = i % 2 === 0;
    record(max ? 'maxPoolForward+maxPoolBackward' : 'avgPoolForward+avgPoolBackward', { x: x.shape, ...p }, [x], () => {
      const a = max ? cc.maxPoolForward(x, p) : cc.avgPoolForward(x, p);
      const e = max ? ref.maxPoolForward(x, p) : ref.avgPoolForward(x, p);
      const dout = randn(r, e.out.shape);
      const da = max ? cc.maxPoolBackward(dout, a.cache as Api.MaxPoolCache) : cc.avgPoolBackward(dout, a.cache as Api.AvgPoolCache);
      const de = max ? ref.maxPoolBackward(dout, e.cache as Ref.MaxPoolCache) : ref.avgPoolBackward(dout, e.cache as Ref.AvgPoolCache);
      return [[a.out, e.out], [da.dx, de.dx]];
    });
  }

  for (let i = 0; i < 10; i++) {
    const spatial = i % 2 === 1;
    const shape = spatial ? [r.int(1, 4), r.int(1, 4), r.int(1, 5), r.int(1, 5)] : [r.int(2, 8), r.int(1, 6)];
    const D = shape[1];
    const mode = i % 4 < 2 ? 'train' : 'test';
    const running = mode === 'test' || r.next() < 0.5;
    const x = randn(r, shape, 2, 1), gamma = randn(r, [D], 1, 0.5), beta = randn(r, [D]);
    const bn = {
      mode, eps: r.next() < 0.5 ? 1e-5 : 1e-3, momentum: r.next() < 0.5 ? 0.9 : 0.7,
      ...(running ? { runningMean: randn(r, [D]), runningVar: randn(r, [D], 0.2, 1) } : {}),
    } as Api.BatchnormParam;
    const inputs = [x, gamma, beta, ...(running ? [bn.runningMean!, bn.runningVar!] : [])];
    record(spatial ? 'spatialBatchnormForward+Backward' : 'batchnormForward+Backward', { x: shape, mode, running }, inputs, () => {
      const a = spatial ? cc.spatialBatchnormForward(x, gamma, beta, bn) : cc.batchnormForward(x, gamma, beta, bn);
      const e = spatial ? ref.spatialBatchnormForward(x, gamma, beta, bn) : ref.batchnormForward(x, gamma, beta, bn);
      const dout = randn(r, e.out.shape);
      const ga = spatial ? cc.spatialBatchnormBackward(dout, a.cache) : cc.batchnormBackward(dout, a.cache);
      const ge = spatial ? ref.spatialBatchnormBackward(dout, e.cache as never) : ref.batchnormBackward(dout, e.cache as never);
      return [[a.out, e.out], [a.runningMean, e.runningMean], [a.runningVar, e.runningVar],
        [ga.dx, ge.dx], [ga.dgamma, ge.dgamma], [ga.dbeta, ge.dbeta]];
    });
  }

  for (let i = 0; i < 4; i++) {
    const x = randn(r, Array.from({ length: r.int(1, 4) }, () => r.int(1, 6)));
    record('reluForward+reluBackward', { x: x.shape }, [x], () => {
      const a = cc.reluForward(x), e = ref.reluForward(x);
      const dout = randn(r, x.shape);
      return [[a.out, e.out], [cc.reluBackward(dout, a.cache).dx, ref.reluBackward(dout, e.cache).dx]];
    });
  }

  for (let i = 0; i < 5; i++) {
    const xs = [r.int(1, 5), ...Array.from({ length: r.int(1, 3) }, () => r.int(1, 5))];
    const D = size(xs.slice(1)), M = r.int(1, 7);
    const x = randn(r, xs), w = randn(r, [D, M]), b = randn(r, [M]);
    record('affineForward+affineBackward', { x: xs, w: w.shape }, [x, w, b], () => {
      const a = cc.affineForward(x, w, b), e = ref.affineForward(x, w, b);
      const dout = randn(r, e.out.shape);
      const ga = cc.affineBackward(dout, a.cache), ge = ref.affineBackward(dout, e.cache);
      return [[a.out, e.out], [ga.dx, ge.dx], [ga.dw, ge.dw], [ga.db, ge.db]];
    });
  }

  for (let i = 0; i < 4; i++) {
    const N = r.int(1, 6), C = r.int(1, 7);
    const scores = randn(r, [N, C], 3);
    const labels = Array.from({ length: N }, () => r.int(0, C - 1));
    const y = i % 2 === 0 ? labels : Int32Array.from(labels);
    record('softmaxLoss', { scores: scores.shape, y: i % 2 === 0 ? 'number[]' : 'Int32Array' }, [scores], () => {
      const a = cc.softmaxLoss(scores, y), e = ref.softmaxLoss(scores, y);
      return [[a.loss, e.loss], [a.dscores, e.dscores]];
    });
  }

  for (let i = 0; i < 4; i++) {
    const shape = Array.from({ length: r.int(2, 4) }, () => r.int(1, 5));
    const axes = shape.map((_, k) => k);
    for (let k = axes.length - 1; k > 0; k--) {
      const j = r.int(0, k);
      [axes[k], axes[j]] = [axes[j], axes[k]];
    }
    const x = randn(r, shape);
    const given = i === 0 ? undefined : axes;
    record('transpose', { x: shape, axes: given ?? 'reversed' }, [x], () => [[cc.transpose(x, given), ref.transpose(x, given)]]);
  }

  for (let i = 0; i < 4; i++) {
    // Depthwise: groups = C, a channel multiplier of 1 to 3, dilated: the direct kernel.
    const N = r.int(1, 3), C = r.int(2, 4), F = C * r.int(1, 3), H = r.int(3, 12), W = r.int(3, 12);
    const dilation = r.int(1, 2), stride = pair(r, 1, 2), pad = r.int(0, 2);
    const HH = r.int(1, Math.min(3, Math.floor((H + 2 * pad - 1) / dilation) + 1));
    const WW = r.int(1, Math.min(3, Math.floor((W + 2 * pad - 1) / dilation) + 1));
    const x = randn(r, [N, C, H, W]), w = randn(r, [F, 1, HH, WW]), b = randn(r, [F]);
    const p = { stride, pad, dilation, groups: C };
    record('convForward+convBackward depthwise', { x: x.shape, w: w.shape, ...p }, [x, w, b], () => {
      const a = cc.convForward(x, w, b, p), e = ref.convForward(x, w, b, p);
      const dout = randn(r, e.out.shape);
      const ga = cc.convBackward(dout, a.cache), ge = ref.convBackward(dout, e.cache);
      return [[a.out, e.out], [ga.dx, ge.dx], [ga.dw, ge.dw], [ga.db, ge.db]];
    });
  }

  for (let i = 0; i < 3; i++) {
    const N = r.int(1, 6), C = r.int(1, 7);
    const scores = randn(r, [N, C], 2);
    const labels = Array.from({ length: N }, () => r.int(0, C - 1));
    record('svmLoss', { scores: scores.shape }, [scores], () => {
      const a = cc.svmLoss(scores, labels), e = ref.svmLoss(scores, labels);
      return [[a.loss, e.loss], [a.dscores, e.dscores]];
    });
  }

  const data = Array.from({ length: 6 }, () => r.normal());
  record('tensor', { shape: [2, 3] }, [], () => [[cc.tensor(data, [2, 3]), { data: Float64Array.from(data), shape: [2, 3] }]]);
  return out;
}

/** Centered numerical gradients of L = Σ out·dout against the backward passes of the main entry. */
function gradientChecks(cc: Main, grad: Gradcheck, seed: number): GradResult[] {
  const r = makeRng(seed);
  const res: GradResult[] = [];
  const check = (name: string, analytic: Tensor, f: (t: Tensor) => Tensor, at: Tensor, dout: Tensor): void => {
    res.push({ name, err: grad.relError(analytic, grad.numericGradient(f, at, dout)) });
  };

  const x = randn(r, [2, 3, 5, 6]), w = randn(r, [4, 3, 3, 2]), b = randn(r, [4]);
  const cp = { stride: [2, 1] as [number, number], pad: 1 };
  const conv = cc.convForward(x, w, b, cp);
  const dconvOut = randn(r, conv.out.shape);
  const dconv = cc.convBackward(dconvOut, conv.cache);
  check('convBackward dx', dconv.dx, (t) => cc.convForward(t, w, b, cp).out, x, dconvOut);
  check('convBackward dw', dconv.dw, (t) => cc.convForward(x, t, b, cp).out, w, dconvOut);
  check('convBackward db', dconv.db, (t) => cc.convForward(x, w, t, cp).out, b, dconvOut);

  const px = distinct(r, [2, 2, 5, 6], 0.01, -1);
  const pp = { poolHeight: 2, poolWidth: 3, stride: [1, 2] as [number, number] };
  const pool = cc.maxPoolForward(px, pp);
  const dpoolOut = randn(r, pool.out.shape);
  check('maxPoolBackward dx', cc.maxPoolBackward(dpoolOut, pool.cache).dx, (t) => cc.maxPoolForward(t, pp).out, px, dpoolOut);

  const bx = randn(r, [2, 3, 2, 3], 2, 1), gamma = randn(r, [3], 1, 0.5), beta = randn(r, [3]);
  const bp = { mode: 'train' as const };
  const bn = cc.spatialBatchnormForward(bx, gamma, beta, bp);
  const dbnOut = randn(r, bn.out.shape);
  const dbn = cc.spatialBatchnormBackward(dbnOut, bn.cache);
  check('spatialBatchnormBackward dx', dbn.dx, (t) => cc.spatialBatchnormForward(t, gamma, beta, bp).out, bx, dbnOut);
  check('spatialBatchnormBackward dgamma', dbn.dgamma, (t) => cc.spatialBatchnormForward(bx, t, beta, bp).out, gamma, dbnOut);
  check('spatialBatchnormBackward dbeta', dbn.dbeta, (t) => cc.spatialBatchnormForward(bx, gamma, t, bp).out, beta, dbnOut);
  return res;
}

function caught(cc: Main, name: string, f: () => unknown): ErrorResult {
  try {
    f();
  } catch (e) {
    const err = e as Error;
    return { name, errorName: String(err?.name), message: String(err?.message), isConvcoreError: e instanceof cc.ConvcoreError };
  }
  return { name, errorName: '', message: '(no error was thrown)', isConvcoreError: false };
}

function badInputs(cc: Main): ErrorResult[] {
  const zeros = (shape: number[]): Tensor => cc.tensor(new Float64Array(size(shape)), shape);
  return [
    caught(cc, 'conv channels', () => cc.convForward(zeros([2, 4, 5, 5]), zeros([2, 3, 3, 3]), zeros([2]), { stride: 1, pad: 1 })),
    caught(cc, 'pool window', () => cc.maxPoolForward(zeros([1, 1, 2, 2]), { poolHeight: 3, poolWidth: 3, stride: 2 })),
  ];
}

function describe(source: Source): string {
  if (source === undefined) return '(default)';
  if (typeof source === 'string' || source instanceof URL) return String(source);
  if (typeof source === 'object' && source !== null && 'wasm' in source) return describe(source.wasm as Source);
  if (source instanceof WebAssembly.Module) return 'WebAssembly.Module';
  return ArrayBuffer.isView(source) || source instanceof ArrayBuffer ? 'bytes' : typeof source;
}

/**
 * Runs a page: an op before init() (must throw and say so), then each init attempt in turn
 * (a bad one first where the page tests the error; attempts after the first success are
 * skipped), then the comparisons, the gradient checks and the bad inputs, then one more op
 * to show the module is still usable after the errors.
 */
export async function runPage(cc: Main, ref: Reference, grad: Gradcheck, sources: Source[], seed = 1): Promise<PageReport> {
  const t0 = performance.now();
  const beforeInit = caught(cc, 'before init', () => cc.reluForward(cc.tensor([1, -1], [2]))).message;
  const attempts: InitAttempt[] = [];
  for (const source of sources) {
    const s = performance.now();
    try {
      await cc.init(source);
      await cc.init(); // idempotent: resolves at once and keeps the loaded module
      attempts.push({ source: describe(source), ok: true, message: '', ms: performance.now() - s });
      break;
    } catch (e) {
      attempts.push({ source: describe(source), ok: false, message: String((e as Error)?.message), ms: performance.now() - s });
    }
  }
  const report: PageReport = {
    userAgent: navigator.userAgent, beforeInit, attempts, cases: [], gradchecks: [], errors: [], afterErrors: NaN, simd: '', ms: 0,
  };
  if (attempts.some((a) => a.ok)) {
    report.simd = cc.simdLevel();
    report.cases = compareOps(cc, ref, grad, seed);
    report.gradchecks = gradientChecks(cc, grad, seed + 1000);
    report.errors = badInputs(cc);
    report.afterErrors = compareOps(cc, ref, grad, seed + 2000).reduce((m, c) => Math.max(m, c.err), 0);
  }
  report.ms = performance.now() - t0;
  return report;
}
