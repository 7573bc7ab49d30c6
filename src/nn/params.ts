/**
 * The parameters of a model and their gradients, kept in WebAssembly memory for as long as
 * the model lives, so that a training step never copies them in or out: the kernels read
 * the parameters and write the gradients in place, and the update rules step them there.
 * `copies()` hands out fresh arrays and `set()` copies in, so no caller holds model memory.
 */
import { fail } from '../errors.js';
import { Tensor, make, product, checkSameShape, shapeString } from '../tensor.js';
import { allocResident, freeResident, f64, put, take } from '../wasm.js';
import { WorkerExitedError } from '../threads.js';
import { JsonTensor, encodeTensor, decodeTensor } from './serialize.js';
import { plainObject } from './options.js';

const F64 = 8;

/** A model's parameters by name, with their shapes, in the model's order. */
export type ParamShapes = readonly (readonly [name: string, shape: readonly number[]])[];

/** What a model's batches must look like: checkBatch's input shape and flatness, and the label count. */
export interface InputSpec {
  shape: readonly number[];
  flat: boolean;
  numClasses: number;
}

/** A model's toJSON() checked and decoded with nothing allocated; build() makes the model. */
export interface DecodedModel<M> {
  shapes: ParamShapes;
  /** The names and shapes of the model's buffers (ResidentBuffer), when it has any. */
  buffers?: ParamShapes;
  input: InputSpec;
  build(): M;
}

/**
 * Reads toJSON()'s params (or a checkpoint's best parameters or buffers, `what` says which)
 * back: each of `shapes` must be there with its shape, and nothing else. Returns the values
 * in the order of `shapes`.
 */
export function decodeParams(fn: string, name: string, j: unknown, shapes: ParamShapes, owner: string, what = 'parameters'): Float64Array[] {
  const given = plainObject(fn, name, j);
  const names = shapes.map(([n]) => n);
  for (const key of Object.keys(given)) {
    if (!names.includes(key)) fail(`${fn}: ${name} has "${key}", which ${owner} does not have; its ${what} are ${names.length ? names.join(', ') : 'none'}`);
  }
  return shapes.map(([n, shape]) => {
    if (given[n] === undefined) fail(`${fn}: ${name} lacks ${n} ${shapeString(shape)}`);
    return decodeTensor(fn, `${name}.${n}`, given[n], shape).data;
  });
}

interface Param {
  shape: readonly number[];
  n: number;
  ptr: number;
  grad: number;
}

/** Blocks of WebAssembly memory that a model holds; given back by dispose() or when the model is collected. */
export class Blocks {
  private list: [number, number][] = [];

  alloc(fn: string, bytes: number): number {
    const ptr = allocResident(fn, bytes);
    this.list.push([ptr, bytes]);
    return ptr;
  }

  /** Gives back every block. */
  free(): void {
    for (const [ptr, bytes] of this.list) freeResident(ptr, bytes);
    this.list = [];
  }
}

const collected = new FinalizationRegistry<Blocks[]>((owned) => owned.forEach((b) => b.free()));

const stores = new WeakMap<object, ParamSet>();

/**
 * A resident block of a model, besides its parameters, that its outputs depend on and that
 * training changes (batchnorm's running mean or variance): the solver keeps a copy of each
 * with the best parameters.
 */
export interface ResidentBuffer {
  name: string;
  shape: readonly number[];
  ptr: number;
}

/** Copies of a model's parameters and buffers, by name: the best state the solver keeps and puts back. */
export interface ModelState {
  params: Record<string, Tensor>;
  buffers: Record<string, Tensor>;
}

/**
 * What the solver needs of a convcore model; every model registers it when it is made
 * (registerModel). Kept here, not on the model, so that only the solver reaches it.
 */
export interface ResidentModel {
  /** What the model's batches look like. */
  readonly input: InputSpec;
  /** The parameters and their gradients, which the update rules step in place; refuses a disposed or unusable model. */
  store(): ParamSet;
  /**
   * One forward and backward in train mode on already checked input: returns the loss and
   * leaves the gradients in the store's gradient blocks.
   */
  step(x: Tensor, labels: Int32Array): number;
  /** Fresh copies of the parameters and of the buffers. */
  snapshot(): ModelState;
  /** Copies a snapshot's parameters and buffers back in (every name of the model must be in it, with its shape). */
  restore(state: ModelState): void;
}

const residents = new WeakMap<object, ResidentModel>();

/**
 * Registers a model for the solver: what its batches look like, its training step, and its
 * buffers (none by default; read at each call, so they may be made after this).
 */
export function registerModel(model: object, m: {
  input: InputSpec;
  step(x: Tensor, labels: Int32Array): number;
  buffers?: () => readonly ResidentBuffer[];
}): void {
  const buffers = m.buffers ?? ((): readonly ResidentBuffer[] => []);
  residents.set(model, {
    input: m.input,
    store: () => storeOf(model),
    step: m.step,
    snapshot: () => {
      const params = storeOf(model).copies();
      return { params, buffers: Object.fromEntries(buffers().map((b) => [b.name, make(take(b.ptr, product(b.shape)), b.shape)])) };
    },
    restore: (state) => {
      const store = storeOf(model);
      store.load(store.names.map((name) => state.params[name].data));
      for (const b of buffers()) put(b.ptr, state.buffers[b.name].data);
    },
  });
}

/** The solver's view of a model convcore made, or undefined for any other object. */
export function residentOf(model: unknown): ResidentModel | undefined {
  return model !== null && typeof model === 'object' ? residents.get(model) : undefined;
}

/** The parameters of a model, kept out of the model object so that no caller reaches them. */
export function storeOf(model: object): ParamSet {
  const s = stores.get(model);
  if (!s) fail('convcore: not a model made by ThreeLayerConvNet or FullyConnectedNet, or one already disposed');
  if (s.broken !== null) fail(s.broken);
  return s;
}

/** Gives back the WebAssembly memory a model holds; the model cannot be used afterwards. */
export function disposeModel(model: object, extra: Blocks[]): void {
  const s = stores.get(model);
  if (!s) return;
  s.blocks.free();
  extra.forEach((b) => b.free());
  stores.delete(model);
  collected.unregister(model);
}

export class ParamSet {
  private readonly params = new Map<string, Param>();
  readonly blocks = new Blocks();
  /** Why the model cannot be used any more (an in-place step cut short), or null. */
  broken: string | null = null;

  /**
   * Runs a step that updates the model in place (its parameters, running statistics or
   * gradients). When a worker thread exits while it holds part of one of its ops, the step
   * is left half-done; the model is then marked unusable, and every later call says so,
   * rather than go on from half-updated values.
   */
  guard<T>(what: string, step: () => T): T {
    try {
      return step();
    } catch (e) {
      if (e instanceof WorkerExitedError) {
        this.broken = `${this.owner}: this model's ${what} was cut short (${e.message}), so its parameters or running statistics may be half-updated; `
          + 'make it again from its toJSON() or a checkpoint, or dispose() it';
      }
      throw e;
    }
  }

  /** `extra` are the model's other blocks (activations), given back with these when the model is collected. */
  constructor(private readonly owner: string, model: object, extra: Blocks[] = []) {
    stores.set(model, this);
    collected.register(model, [this.blocks, ...extra], model);
  }

  /** Allocates a parameter (before anything is drawn: a model too large fails here) and fills it with init. */
  add(name: string, shape: readonly number[], init: () => number): void {
    const n = shape.reduce((p, s) => p * s, 1);
    const ptr = this.blocks.alloc(this.owner, n * F64);
    const grad = this.blocks.alloc(this.owner, n * F64);
    const w = f64(ptr, n);
    for (let i = 0; i < n; i++) w[i] = init();
    f64(grad, n).fill(0);
    this.params.set(name, { shape: shape.slice(), n, ptr, grad });
  }

  get names(): string[] {
    return [...this.params.keys()];
  }

  get(name: string): Param {
    return this.params.get(name)!;
  }

  /** A fresh copy of one parameter as a Tensor. */
  copy(name: string): Tensor {
    const p = this.get(name);
    return make(take(p.ptr, p.n), p.shape);
  }

  copies(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const name of this.params.keys()) out[name] = this.copy(name);
    return out;
  }

  /** Fresh copies of the gradients the last training call left. */
  gradCopies(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, p] of this.params) out[name] = make(take(p.grad, p.n), p.shape);
    return out;
  }

  /** Copies in the given parameters; every name and shape is checked before anything is written. */
  set(fn: string, given: unknown): void {
    if (given === null || typeof given !== 'object' || Array.isArray(given)) fail(`${fn}: params must be an object of Tensors keyed by name, got ${given === null ? 'null' : typeof given}`);
    const entries = Object.entries(given as Record<string, unknown>);
    for (const [name, t] of entries) {
      const p = this.params.get(name);
      if (!p) fail(`${fn}: ${this.owner} has no parameter "${name}"; its parameters are ${this.names.join(', ')}`);
      checkSameShape(fn, name, t, p.shape, `the shape of ${this.owner}'s ${name}`);
    }
    for (const [name, t] of entries) put(this.get(name).ptr, (t as Tensor).data);
  }

  toJSON(): Record<string, JsonTensor> {
    const out: Record<string, JsonTensor> = {};
    for (const name of this.params.keys()) out[name] = encodeTensor(this.copy(name));
    return out;
  }

  /** Copies in every parameter's values, given in the order of `shapes` (as decodeParams returns them). */
  load(values: readonly Float64Array[]): void {
    this.names.forEach((name, i) => put(this.get(name).ptr, values[i]));
  }

  /**
   * 0.5·reg·Σw² over the named weights; when `grads` is set, reg·w is added to their
   * gradient blocks. Read and written through views made here, after every kernel ran.
   */
  l2(names: readonly string[], reg: number, grads: boolean): number {
    // With reg = 0 the term is 0 for finite weights; a non-finite weight already makes the loss NaN or infinite.
    if (reg === 0) return 0;
    let s = 0;
    for (const name of names) {
      const p = this.get(name);
      const w = f64(p.ptr, p.n);
      let t = 0;
      for (let i = 0; i < w.length; i++) t += w[i] * w[i];
      s += t;
      if (grads) {
        const g = f64(p.grad, p.n);
        for (let i = 0; i < w.length; i++) g[i] += reg * w[i];
      }
    }
    return 0.5 * reg * s;
  }
}
