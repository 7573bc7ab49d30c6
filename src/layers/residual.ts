/**
 * A residual block: out = body(x) + shortcut(x), the shortcut the identity unless given
 * (for a body that changes the shape: a strided or wider conv). The body and the shortcut
 * are chains of layers on their own blocks; the sum is one pass (add_values), and so is
 * the gradient at the input, the sum of the two branches' (or of the body's and dout).
 */
import { fail } from '../errors.js';
import type { Kernels } from '../dispatch.js';
import { Chain } from './chain.js';
import { Alloc, F64, Layer, OnnxGraph, Run, count } from './layer.js';
import { Base } from './basic.js';

/** out = a + b over n values. */
export function addOn(k: Kernels, a: number, b: number, out: number, n: number): void {
  k.add_values(a, b, out, n);
}

type BuildList = (list: unknown, inShape: readonly number[], where: (i: number, kind: string) => string,
  ctx: { draw: () => number }, listName: string) => Layer[];

export class Residual extends Base {
  private readonly body: Chain;
  private readonly shortcut: Chain | null;
  private m = { dxBody: 0, dxShortcut: 0 };

  private constructor(inShape: readonly number[], body: Layer[], shortcut: Layer[] | null, spec: unknown) {
    super('residual', inShape, body[body.length - 1].outShape, spec);
    this.body = new Chain(body);
    this.shortcut = shortcut ? new Chain(shortcut) : null;
    this.skipsDx = true;
    this.children = [['body', body], ...(shortcut ? [['shortcut', shortcut] as const] : [])];
  }

  /** Builds the body and the shortcut from inShape and checks that their outputs match. */
  static build(where: string, inShape: readonly number[], body: unknown, shortcut: unknown, ctx: { draw: () => number }, buildList: BuildList, spec: unknown): Residual {
    const base = where.replace(/ \(residual\)$/, "");
    const name = (part: string) => (i: number, kind: string): string => `${base}.${part}.${i} (${kind})`;
    if (!Array.isArray(body) || body.length === 0) fail(`${where}: the body must be a non-empty array of layers`);
    const b = buildList(body, inShape, name('body'), ctx, `${where}: the body`);
    const out = b[b.length - 1].outShape;
    const s = shortcut === undefined ? null : buildList(shortcut, inShape, name('shortcut'), ctx, `${where}: the shortcut`);
    if (s !== null && s.length === 0) fail(`${where}: the shortcut must be a non-empty array of layers (leave it out for the identity)`);
    const sOut = s ? s[s.length - 1].outShape : inShape;
    if (sOut.join(',') !== out.join(',')) {
      const what = s ? `its shortcut gives (${sOut.join(',')})` : `the identity shortcut keeps (${inShape.join(',')}); give a shortcut that matches, such as conv(${out[0]}, 1, { stride })`;
      fail(`${where}: the body gives (${out.join(',')}) per example but ${what}`);
    }
    if (b.every((l) => l.alias)) fail(`${where}: the body must hold a layer that computes something (not only flatten)`);
    if (s && s.every((l) => l.alias)) fail(`${where}: the shortcut must hold a layer that computes something (leave it out for the identity)`);
    return new Residual(inShape, b, s, spec);
  }

  torch(list: (layers: readonly Layer[]) => string): string {
    return `Residual(${list(this.body.layers)}, ${this.shortcut ? list(this.shortcut.layers) : 'None'})`;
  }

  onnx(g: OnnxGraph, x: string, _value: (local: string) => Float64Array, list: (layers: readonly Layer[], x: string) => string): string {
    const b = list(this.body.layers, x);
    return g.node('Add', [b, this.shortcut ? list(this.shortcut.layers, x) : x]);
  }

  describe(): string {
    return this.shortcut ? 'residual, with a shortcut' : 'residual';
  }

  allocate(N: number, T: number, alloc: Alloc, first: boolean): void {
    super.allocate(N, T, alloc, first);
    this.body.allocate(N, T, alloc, true);
    this.shortcut?.allocate(N, T, alloc, true);
    // The branches always get a block for their dx (their layers are sized for one), summed into dx when it is wanted.
    const n = N * count(this.inShape) * F64;
    this.m = { dxBody: alloc(n), dxShortcut: this.shortcut ? alloc(n) : 0 };
  }

  forward(r: Run, x: number, out: number): void {
    const b = this.body.forward(r, x);
    const s = this.shortcut ? this.shortcut.forward(r, x) : x;
    addOn(r.k, b, s, out, r.N * count(this.outShape));
  }

  backward(r: Run, _x: number, _out: number, dout: number, dx: number): void {
    const n = r.N * count(this.inShape);
    this.body.backward(r, dout, this.m.dxBody);
    this.shortcut?.backward(r, dout, this.m.dxShortcut);
    if (dx === 0) return;
    addOn(r.k, this.m.dxBody, this.shortcut ? this.m.dxShortcut : dout, dx, n);
  }
}
