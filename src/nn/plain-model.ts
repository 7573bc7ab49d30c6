/**
 * A model convcore did not make, with CS231n's model interface: `params`, a record of
 * Tensors, and `loss(X)` → scores (N, C), `loss(X, y)` → { loss, grads } with a gradient per
 * parameter. The solver steps it as solver.py does, replacing each entry of `params` with
 * the next value (`self.model.params[p] = next_w`): each parameter and its gradient are
 * copied into resident blocks the solver owns (allocated once, sized by the parameter's
 * shape), the same in-place update rule as for a convcore model runs there, and the result
 * is copied out into a fresh Tensor.
 */
import { fail } from '../errors.js';
import { Tensor, checkTensor, checkSameShape, make, shapeString, describe, show } from '../tensor.js';
import type { Labels } from '../params.js';
import { put, take } from '../wasm.js';
import { WorkerExitedError } from '../threads.js';
import { Blocks, ModelState, ParamShapes } from './params.js';

const F64 = 8;

/** CS231n's model interface, for a model that convcore did not make. */
export interface PlainModel {
  /** The parameters by name; the solver assigns each updated one back (a fresh Tensor). */
  params: Record<string, Tensor>;
  /** loss(X): the scores (N, C); loss(X, y): the loss and a gradient for each parameter. */
  loss(X: Tensor, y?: Labels): Tensor | { loss: number; grads: Record<string, Tensor> };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/**
 * Checks that `model` has CS231n's interface: `params` an object of Tensors, the same object
 * at every read, with writable entries, and `loss` a function. Returns the parameters' names
 * and shapes; nothing is allocated.
 */
export function checkPlainModel(fn: string, model: unknown): ParamShapes {
  if (!isRecord(model)) {
    fail(`${fn}: model must be a convcore model (ThreeLayerConvNet, FullyConnectedNet) or an object with CS231n's model interface (params, loss), got ${describe(model)}`);
  }
  const params = model.params;
  if (!isRecord(params)) fail(`${fn}: model.params must be an object of Tensors keyed by name (CS231n's model.params), got ${describe(params)}`);
  if (model.params !== params) {
    fail(`${fn}: model.params must be the model's own record of its parameters, the same object at every read (the solver assigns each updated parameter to it), got a new object at each read`);
  }
  const names = Object.keys(params);
  if (names.length === 0) fail(`${fn}: model.params must hold at least one Tensor, got an object with no keys`);
  const shapes = names.map((name) => {
    const t = checkTensor(fn, `model.params.${name}`, params[name]);
    const d = Object.getOwnPropertyDescriptor(params, name);
    if (Object.isFrozen(params) || (d && d.set === undefined && d.writable !== true)) {
      fail(`${fn}: model.params.${name} must be writable (the solver assigns each updated parameter to it), got a read-only property`);
    }
    return [name, t.shape.slice()] as const;
  });
  if (typeof model.loss !== 'function') {
    fail(`${fn}: model.loss must be a function (loss(X) → scores, loss(X, y) → { loss, grads }), got ${show(model.loss)}`);
  }
  return shapes;
}

/** One parameter's resident blocks in a training step: its values and its gradient, n float64 each. */
export interface ParamBlock {
  name: string;
  w: number;
  dw: number;
  n: number;
}

/** The solver's side of a plain model: the blocks its parameters are stepped in, and the copies in and out. */
export class PlainTrainee {
  /** Each parameter's blocks for its values and its gradient, in the order of `shapes`. */
  private readonly blocks: { w: number; dw: number; n: number }[];
  /** Why the solver cannot step any more (an update cut short), or null. */
  private broken: string | null = null;
  /** The data are not checked against the model: its loss checks its own input. */
  readonly input = null;

  /** Allocates a block for each parameter and one for its gradient in `owned`. */
  constructor(private readonly model: PlainModel, readonly shapes: ParamShapes, owned: Blocks, fn: string) {
    this.blocks = shapes.map(([, shape]) => {
      const n = shape.reduce((p, s) => p * s, 1);
      return { w: owned.alloc(fn, n * F64), dw: owned.alloc(fn, n * F64), n };
    });
  }

  private get names(): string {
    return this.shapes.map(([n]) => n).join(', ');
  }

  /** model.params, each parameter still there with the shape it had when the solver was made. */
  private params(fn: string): Record<string, Tensor> {
    const params = this.model.params as unknown;
    if (!isRecord(params)) fail(`${fn}: model.params must be an object of Tensors keyed by name, got ${describe(params)}`);
    for (const [name, shape] of this.shapes) {
      if (params[name] === undefined) fail(`${fn}: model.params lacks ${name}, which it had when the solver was made (its parameters were ${this.names})`);
      checkSameShape(fn, `model.params.${name}`, params[name], shape, 'its shape when the solver was made');
    }
    return params as Record<string, Tensor>;
  }

  /**
   * Calls model.loss(X, y) and checks what it returns; then copies each parameter and its
   * gradient in, steps them all with `update` (given every block at once, for a global norm), and assigns the results to model.params only once
   * every parameter is stepped. Returns the loss.
   */
  step(fn: string, X: Tensor, y: Int32Array, update: (blocks: readonly ParamBlock[]) => void): number {
    if (this.broken !== null) fail(this.broken);
    const out = this.model.loss(X, y) as unknown;
    if (!isRecord(out)) fail(`${fn}: model.loss(X, y) must return { loss, grads }, got ${describe(out)}`);
    const { loss, grads } = out;
    if (typeof loss !== 'number') fail(`${fn}: model.loss(X, y).loss must be a number, got ${show(loss)}`);
    if (!isRecord(grads)) fail(`${fn}: model.loss(X, y).grads must be an object of Tensors keyed by parameter name, got ${describe(grads)}`);
    const params = this.params(fn);
    for (const [name, shape] of this.shapes) {
      if (grads[name] === undefined) fail(`${fn}: model.loss(X, y).grads lacks ${name}; it must hold a gradient for each of model.params (${this.names})`);
      checkSameShape(fn, `model.loss(X, y).grads.${name}`, grads[name], shape, `the shape of model.params.${name}`);
    }
    const next: Tensor[] = [];
    try {
      const blocks = this.shapes.map(([name], i) => {
        const b = this.blocks[i];
        put(b.w, params[name].data);
        put(b.dw, (grads[name] as Tensor).data);
        return { name, w: b.w, dw: b.dw, n: b.n };
      });
      update(blocks);
      this.shapes.forEach(([, shape], i) => { next.push(make(take(this.blocks[i].w, this.blocks[i].n), shape)); });
    } catch (e) {
      if (e instanceof WorkerExitedError) {
        this.broken = `${fn}: this solver's update was cut short (${e.message}), so its optimizer state may be half-updated; `
          + 'the model\'s parameters were left as they were before the step; make a new Solver, or dispose() this one';
      }
      throw e;
    }
    this.shapes.forEach(([name], i) => { params[name] = next[i]; });
    return loss;
  }

  /** model.loss(X), checked to be scores of shape (rows of X, C). */
  scores(fn: string, X: Tensor): Tensor {
    const scores = this.model.loss(X) as unknown;
    const N = X.shape[0];
    const t = checkTensor(fn, 'model.loss(X)', scores);
    if (t.shape.length !== 2 || t.shape[0] !== N) {
      fail(`${fn}: model.loss(X) must return scores of shape (N, C) with N = ${N}, the rows of the X it was given, got ${shapeString(t.shape)}`);
    }
    return t;
  }

  /** Copies of model.params (the buffers: none the solver knows of). */
  snapshot(fn: string): ModelState {
    const params = this.params(fn);
    return { params: Object.fromEntries(this.shapes.map(([name, shape]) => [name, make(params[name].data.slice(), shape)])), buffers: {} };
  }

  /** Assigns fresh copies of a snapshot's parameters to model.params. */
  restore(fn: string, state: ModelState): void {
    const params = this.params(fn);
    for (const [name, shape] of this.shapes) params[name] = make(state.params[name].data.slice(), shape);
  }
}
