/**
 * The execution core of every model: a chain of layers bound to the model's parameter and
 * buffer blocks, and the blocks of a batch (the input, each layer's output, gradient and
 * caches, the labels, the loss's scratch, a GEMM workspace), made once per batch capacity
 * and thread count. Sequential, ThreeLayerConvNet and FullyConnectedNet each run their
 * layers through one of these, so a layer's forward and backward are the same code in
 * every model and in the functional ops.
 */
import { Tensor, make } from '../tensor.js';
import { kernels, put, take, i32, threadCount } from '../wasm.js';
import { Chain } from '../layers/chain.js';
import { LossKind, lossOn } from '../layers/basic.js';
import { F64, Layer, Run, count } from '../layers/layer.js';
import type { Blocks, ParamSet } from './params.js';

export type { LossKind };

/** A layer with its path (`4.body.0`) in the network. */
export interface Placed {
  path: string;
  layer: Layer;
}

/** Every layer of the tree, children after their parent, with its path. */
export function place(list: readonly Layer[], prefix = '', out: Placed[] = []): Placed[] {
  list.forEach((layer, i) => {
    const path = prefix ? `${prefix}.${i}` : `${i}`;
    out.push({ path, layer });
    for (const [seg, children] of layer.children) place(children, `${path}.${seg}`, out);
  });
  return out;
}

interface Activations {
  capacity: number;
  threads: number;
  x: number; y: number; rowloss: number; dscores: number; work: number;
}

const byModel = new WeakMap<object, Net>();

/** Records the Net a model runs on, for what reads a model's layers (the ONNX export). */
export function registerNet(model: object, net: Net): void {
  byModel.set(model, net);
}

/** The Net a convcore model runs on, or undefined for any other object. */
export function netOf(model: unknown): Net | undefined {
  return model !== null && typeof model === 'object' ? byModel.get(model) : undefined;
}

export class Net {
  private readonly chain: Chain;
  private a: Activations = { capacity: 0, threads: 0, x: 0, y: 0, rowloss: 0, dscores: 0, work: 0 };

  /**
   * `nameOf(path, local)` is the model's name for a layer's parameter or buffer; `buffer`
   * gives a buffer's block by that name. `blocks` holds the batch's blocks (given back
   * with the model's).
   */
  /** Every layer with its path, children after their parent. */
  readonly placed: readonly Placed[];

  constructor(readonly fn: string, readonly layers: readonly Layer[], readonly numClasses: number, readonly loss: LossKind,
    readonly store: ParamSet, readonly nameOf: (path: string, local: string) => string, readonly buffer: (name: string) => number,
    private readonly blocks: Blocks) {
    this.placed = place(layers);
    for (const { path, layer } of this.placed) {
      layer.bind((name) => {
        const p = store.get(nameOf(path, name));
        return { ptr: p.ptr, grad: p.grad };
      }, (name) => buffer(nameOf(path, name)));
    }
    this.chain = new Chain(layers);
  }

  /** The blocks of a batch of N, made once for the largest N seen (and again when the thread count changes). */
  private activations(N: number): Activations {
    const a = this.a;
    const T = threadCount();
    if (N > a.capacity || a.threads !== T) {
      this.blocks.free();
      const cap = Math.max(N, a.capacity);
      const alloc = (bytes: number): number => this.blocks.alloc(this.fn, bytes);
      const inSize = count(this.layers[0].inShape);
      this.a = {
        capacity: cap, threads: T, x: alloc(cap * inSize * F64), y: alloc(cap * 4), rowloss: alloc(cap * F64),
        dscores: alloc(cap * this.numClasses * F64), work: alloc(kernels().gemm_workspace_bytes()),
      };
      this.chain.allocate(cap, T, alloc);
    }
    return this.a;
  }

  /** Runs the layers on x's rows (already checked) in the given mode; returns the run and the scores' address. */
  forward(x: Tensor, train: boolean): { r: Run; scores: number } {
    const N = x.shape[0];
    const a = this.activations(N);
    put(a.x, x.data);
    const r: Run = { k: kernels(), N, train, work: a.work };
    return { r, scores: this.chain.forward(r, a.x) };
  }

  /** Test-mode scores (N, numClasses), copied out. */
  scores(x: Tensor): Tensor {
    const { r, scores } = this.forward(x, false);
    return make(take(scores, r.N * this.numClasses), [r.N, this.numClasses]);
  }

  /** The mean data loss of the scores at `scores` for the labels; dscores is written. */
  dataLoss(r: Run, scores: number, labels: Int32Array): number {
    const a = this.a;
    i32(a.y, r.N).set(labels);
    return lossOn(r.k, this.loss, scores, a.y, a.dscores, a.rowloss, r.N, this.numClasses);
  }

  /** One forward and backward in train mode: returns the data loss; every parameter's gradient is written. */
  trainStep(x: Tensor, labels: Int32Array): number {
    const { r, scores } = this.forward(x, true);
    const data = this.dataLoss(r, scores, labels);
    this.chain.backward(r, this.a.dscores, 0);
    return data;
  }
}
