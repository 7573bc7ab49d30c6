/**
 * A list of layers run one after another on resident blocks: each layer's output block and
 * the gradient block at its output, made once per batch capacity. Sequential is a chain
 * with a loss on top; a residual's body and shortcut are chains. A layer whose output is its
 * input (flatten) gets no blocks: its output, and the gradient there, are its input's.
 */
import { fail } from '../errors.js';
import { Alloc, F64, Layer, Run, count } from './layer.js';

export class Chain {
  /** Per layer: its output block and the gradient block at its output (−1 for an alias). */
  private outs: number[] = [];
  private grads: number[] = [];
  private x = 0;

  constructor(readonly layers: readonly Layer[]) {}

  /** Whether every layer is an alias (the chain's output is its input). */
  get identity(): boolean {
    return this.layers.every((l) => l.alias);
  }

  /**
   * Makes every block for batches of up to N on T threads. `inputGrad`: backward is always
   * given a dx (a residual's branches); otherwise it is given 0 (a network's input), and the
   * first layer makes what it needs for that (see Layer.allocate).
   */
  allocate(N: number, T: number, alloc: Alloc, inputGrad = false): void {
    this.outs = [];
    this.grads = [];
    const last = this.real(this.layers.length - 1);
    const first = this.layers.findIndex((l) => !l.alias);
    this.layers.forEach((l, i) => {
      const n = N * count(l.outShape) * F64;
      this.outs.push(l.alias ? -1 : alloc(n));
      // The last real layer's output gradient is the dout the caller gives.
      this.grads.push(l.alias || i === last ? -1 : alloc(n));
      l.allocate(N, T, alloc, i === first && !inputGrad);
    });
  }

  /** The last layer at or before i that is not an alias (−1: none; the boundary is the chain's input). */
  private real(i: number): number {
    while (i >= 0 && this.layers[i].alias) i--;
    return i;
  }

  private outAt(i: number): number {
    const j = this.real(i);
    return j < 0 ? this.x : this.outs[j];
  }

  private gradAt(i: number, dout: number, dx: number): number {
    const j = this.real(i);
    if (j < 0) return dx;
    return j === this.real(this.layers.length - 1) ? dout : this.grads[j];
  }

  /** Runs every layer on x; returns the address of the output. */
  forward(r: Run, x: number): number {
    this.x = x;
    this.layers.forEach((l, i) => {
      if (!l.alias) l.forward(r, this.outAt(i - 1), this.outs[i]);
    });
    return this.outAt(this.layers.length - 1);
  }

  /**
   * Back from dout (the gradient at the output) to dx (at the input; 0 when none is wanted,
   * which skips the first layer's dx). Every layer's parameter gradients are written.
   */
  backward(r: Run, dout: number, dx: number): void {
    if (this.identity) fail('convcore: a chain of layers that only reshape has no backward of its own');
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i];
      if (!l.alias) l.backward(r, this.outAt(i - 1), this.outs[i], this.gradAt(i, dout, dx), this.gradAt(i - 1, dout, dx));
    }
  }
}
