/**
 * The layers floor: each layer's forward and backward on resident buffers (addresses in
 * WebAssembly memory, a geometry record, the kernels), written once. Sequential and the
 * CS231n models run them on their own long-lived blocks; the functional ops run the same
 * family calls (src/layers/<family>.ts) on the per-call arena. Shapes here are per sample:
 * a batch of N adds a leading N.
 */
import type { Kernels } from '../dispatch.js';

/** Where a forward or backward runs: the kernels, the batch, the mode, the caller's GEMM workspace. */
export interface Run {
  k: Kernels;
  N: number;
  train: boolean;
  /** The calling thread's GEMM workspace (gemm_workspace_bytes() bytes). */
  work: number;
}

/** How a parameter starts: a weight drawn by the network's init, zeros (biases, beta) or ones (gamma). */
export type InitKind = 'weight' | 'zeros' | 'ones';

/** A parameter as a layer declares it, under CS231n's name (W, b, gamma, beta). */
export interface ParamDecl {
  name: string;
  shape: readonly number[];
  init: InitKind;
  /** The inputs and outputs each weight connects (for 'he' and 'xavier'). */
  fanIn: number;
  fanOut: number;
  /** Whether the L2 term covers it (the weights W). */
  decay: boolean;
}

/** A buffer (a running statistic): state that is not trained, saved with the parameters. */
export interface BufferDecl {
  name: string;
  shape: readonly number[];
  fill: number;
}

/** A parameter's value and gradient blocks. */
export interface ParamMem {
  ptr: number;
  grad: number;
}

/** Gives out long-lived blocks of the given size in bytes. */
export type Alloc = (bytes: number) => number;

/**
 * A layer of a network, built for its input shape: it knows its output shape, its
 * parameters and buffers, and runs forward and backward on addresses its network gives it.
 */
export interface Layer {
  readonly kind: string;
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  readonly params: readonly ParamDecl[];
  readonly buffers: readonly BufferDecl[];
  /** Sub-networks (a residual's body and shortcut) under their path segment. */
  readonly children: readonly (readonly [string, readonly Layer[]])[];
  /** The output is the input itself (flatten): the network gives it no block of its own. */
  readonly alias: boolean;
  /** A line for summary(): the kind and its settings. */
  describe(): string;
  /**
   * The equivalent PyTorch module, as Python source (`nn.Conv2d(…)`); `list` writes a
   * sub-network (a residual's body or shortcut) as an `nn.Sequential(…)`.
   */
  torch(list: (layers: readonly Layer[]) => string): string;
  /**
   * Adds the layer's test-mode forward to an ONNX graph as standard operators, reading
   * its parameters and buffers by their local names; returns its output's name. `list`
   * adds a sub-network (a residual's body or shortcut).
   */
  onnx(g: OnnxGraph, x: string, value: (local: string) => Float64Array, list: (layers: readonly Layer[], x: string) => string): string;
  /** The layer's spec, for toJSON. */
  spec(): unknown;
  /** Its parameters' and buffers' addresses, given once the network has made them. */
  bind(param: (name: string) => ParamMem, buffer: (name: string) => number): void;
  /**
   * Makes its own blocks (caches, geometry records, scratch) for batches of up to N on T
   * threads. `first`: it is the first layer of its chain that runs, whose backward may be
   * given dx = 0 (none wanted); one that cannot skip dx then makes a block to write it to.
   */
  allocate(N: number, T: number, alloc: Alloc, first: boolean): void;
  /** x (N, ...inShape) -> out (N, ...outShape). */
  forward(r: Run, x: number, out: number): void;
  /**
   * dout (N, ...outShape) -> dx (N, ...inShape), dx = 0 when no gradient is wanted below;
   * the parameters' gradients are written (not added) into their gradient blocks. x and out
   * are what the forward was given and wrote.
   */
  backward(r: Run, x: number, out: number, dout: number, dx: number): void;
}

/** An ONNX attribute: an integer, a float or a list of integers. */
export type OnnxAttr = { i: number } | { f: number } | { ints: readonly number[] };

/** What a layer needs to add itself to an ONNX graph (src/onnx.ts builds it). */
export interface OnnxGraph {
  /** A float32 initializer of the given dims; returns its name. */
  constant(hint: string, dims: readonly number[], values: ArrayLike<number>): string;
  /** An int64 initializer (a shape for Reshape); returns its name. */
  ints(hint: string, values: readonly number[]): string;
  /** A node of the default domain; returns the name of its output. */
  node(op: string, inputs: readonly string[], attrs?: Record<string, OnnxAttr>): string;
}

export const F64 = 8;

export const count = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);
