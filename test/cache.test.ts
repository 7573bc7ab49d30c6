/**
 * Caches are opaque. For every cache kind, on both entries, a caller changes everything it
 * can reach after a forward: the cache token and anything reachable from it, and the
 * arguments it gave the forward (tensors, their data and shapes, the options and the
 * running statistics inside them). It assigns junk to every key and to new ones, deletes,
 * redefines, swaps the prototype, pushes, fills. After each change the backward must give
 * the same result bit for bit as on an untouched cache, or throw a ConvcoreError that names
 * the cache: never other numbers, another shape, or a RuntimeError from linear memory.
 * A kind is one line of KINDS. The public .d.ts must show no cache internals either.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import vm from 'node:vm';
import * as main from '../src/index.js';
import * as ref from '../src/reference/index.js';
import { ConvcoreError } from '../src/errors.js';
import type { Tensor } from '../src/tensor.js';
import { Rng, makeRng, randn, distinct } from './util.js';

// The entries are reached by op name, so that a new op needs no new type here.
type Op = (...args: any[]) => any;
type Entry = Record<string, unknown>;

interface Kind {
  name: string;
  /** The forward's arguments, drawn from r. */
  args(r: Rng): unknown[];
  forward: string;
  backward: string;
}

const kind = (name: string, args: (r: Rng) => unknown[], forward = `${name}Forward`, backward = `${name}Backward`): Kind =>
  ({ name, args, forward, backward });
const positive = (r: Rng, n: number): Tensor => ({ data: Float64Array.from({ length: n }, () => r.uniform(0.5, 2)), shape: [n] });

/** Every cache kind; one line each. */
const KINDS: Kind[] = [
  kind('conv', (r) => [randn(r, [1, 2, 4, 5]), randn(r, [3, 2, 3, 2]), randn(r, [3]), { stride: [2, 1], pad: 1 }]),
  kind('maxPool', (r) => [distinct(r, [2, 2, 4, 6], 0.5, -3), { poolHeight: 2, poolWidth: 2, stride: 2 }]),
  kind('avgPool', (r) => [randn(r, [2, 2, 4, 6]), { poolHeight: 2, poolWidth: 3, stride: 1 }]),
  kind('globalAvgPool', (r) => [randn(r, [2, 3, 4, 5])]),
  kind('depthwise conv', (r) => [randn(r, [1, 2, 4, 5]), randn(r, [4, 1, 3, 2]), randn(r, [4]), { stride: [2, 1], pad: 1, dilation: [1, 2], groups: 2 }],
    'convForward', 'convBackward'),
  kind('batchnorm', (r) => [randn(r, [5, 4]), randn(r, [4]), randn(r, [4]), { mode: 'train', runningMean: randn(r, [4]), runningVar: positive(r, 4) }]),
  kind('spatialBatchnorm', (r) => [randn(r, [2, 3, 2, 3]), randn(r, [3]), randn(r, [3]), { mode: 'test', runningMean: randn(r, [3]), runningVar: positive(r, 3) }]),
  kind('relu', (r) => [randn(r, [3, 4])]),
  kind('affine', (r) => [randn(r, [3, 2, 2]), randn(r, [4, 5]), randn(r, [5])]),
  kind('dropout', (r) => [randn(r, [4, 5]), { mode: 'train', keepProb: 0.6, seed: 3 }]),
  kind('layernorm', (r) => [randn(r, [4, 6]), randn(r, [6]), randn(r, [6]), {}]),
  kind('spatialGroupnorm', (r) => [randn(r, [2, 4, 3, 3]), randn(r, [4]), randn(r, [4]), { groups: 2 }]),
];

const ENTRIES: [string, Entry][] = [['wasm', main as unknown as Entry], ['reference', ref as unknown as Entry]];

// ---------------------------------------------------------------- what a caller can do

/** Values a caller might put anywhere. */
const JUNK: unknown[] = [0, -1, 2 ** 30, NaN, '2', null, [4000, 2, 6, 6], Uint8Array.of(255, 255)];
/** On the forward's arguments, fewer: there the question is only whether the cache kept copies. */
const FEW_JUNK: unknown[] = [2 ** 30, [4000, 2, 6, 6]];
/** Keys a cache might have had, tried on every object reachable from a cache as well as its own keys. */
const EXTRA_KEYS = ['kind', 'forward', 'state', 'g', 'x', 'shape', 'argmax', 'mask', 'cache'];

type Path = PropertyKey[];
interface Site { root: 'cache' | number; path: Path }
interface Change { what: string; apply(o: object): void }

const isIndexed = (o: object): boolean => Array.isArray(o) || ArrayBuffer.isView(o);

/** The keys to try on o: its own, bar most indices of an array (two stand for all), and with `extra` the extras. */
function keysOf(o: object, extra = false): PropertyKey[] {
  const own = Reflect.ownKeys(o).filter((k) => !(isIndexed(o) && typeof k === 'string' && /^\d+$/.test(k) && Number(k) > 1));
  return [...new Set([...own, ...(extra ? EXTRA_KEYS : []), ...(isIndexed(o) ? ['0', 'length'] : [])])];
}

const label = (k: PropertyKey): string => (typeof k === 'symbol' ? k.toString() : String(k));
const showValue = (v: unknown): string => (ArrayBuffer.isView(v) ? v.constructor.name : JSON.stringify(v) ?? String(v));

/**
 * Every change a caller can try on o: all of them on what a cache reaches (`full`), and on
 * the forward's arguments the ones that would show a cache sharing them.
 */
function changes(o: object, full: boolean): Change[] {
  const out: Change[] = [];
  for (const k of keysOf(o, full)) {
    // A length is tried at 0 and 1000 only: 2**30 holes would make any copy of the array hang.
    for (const v of k === 'length' ? [0, 1000] : full ? JUNK : FEW_JUNK) out.push({ what: `[${label(k)}] = ${showValue(v)}`, apply: (t) => { Reflect.set(t, k, v); } });
    out.push({ what: `delete [${label(k)}]`, apply: (t) => { Reflect.deleteProperty(t, k); } });
    if (!full) continue;
    out.push({ what: `defineProperty [${label(k)}] value 2**30`, apply: (t) => { Reflect.defineProperty(t, k, { value: 2 ** 30, writable: true, configurable: true, enumerable: true }); } });
    out.push({ what: `defineProperty [${label(k)}] getter`, apply: (t) => { Reflect.defineProperty(t, k, { get: () => 7, configurable: true, enumerable: true }); } });
  }
  if (full) {
    out.push({ what: 'setPrototypeOf junk', apply: (t) => { Reflect.setPrototypeOf(t, { state: {}, g: { N: 4000 }, kind: 'conv' }); } });
    out.push({ what: 'setPrototypeOf null', apply: (t) => { Reflect.setPrototypeOf(t, null); } });
  }
  if (Array.isArray(o)) {
    out.push(
      { what: 'push(1000)', apply: (t) => { (t as unknown[]).push(1000); } },
      { what: 'pop()', apply: (t) => { (t as unknown[]).pop(); } },
      { what: 'fill(2**30)', apply: (t) => { (t as unknown[]).fill(2 ** 30); } },
      { what: 'reverse()', apply: (t) => { (t as unknown[]).reverse(); } },
      { what: 'splice(0, 1, 4000)', apply: (t) => { (t as unknown[]).splice(0, 1, 4000); } },
    );
  }
  if (ArrayBuffer.isView(o) && !(o instanceof DataView)) {
    type Filled = { fill(v: number): void; reverse(): void; [i: number]: number };
    out.push(
      { what: 'fill(255)', apply: (t) => { (t as unknown as Filled).fill(255); } },
      { what: 'fill(NaN)', apply: (t) => { (t as unknown as Filled).fill(NaN); } },
      { what: '[0] = 2**30', apply: (t) => { (t as unknown as Filled)[0] = 2 ** 30; } },
      { what: 'reverse()', apply: (t) => { (t as unknown as Filled).reverse(); } },
    );
  }
  return out;
}

/** The objects reachable from `root` through own properties (values only: no getter is called), with their paths. */
function reachable(root: object): { path: Path; o: object }[] {
  const seen = new Set<object>();
  const out: { path: Path; o: object }[] = [];
  const visit = (o: object, path: Path): void => {
    if (seen.has(o) || path.length > 4) return;
    seen.add(o);
    out.push({ path, o });
    for (const k of Reflect.ownKeys(o)) {
      const d = Reflect.getOwnPropertyDescriptor(o, k);
      if (d && 'value' in d && d.value !== null && (typeof d.value === 'object' || typeof d.value === 'function')) visit(d.value, [...path, k]);
    }
    const proto = Reflect.getPrototypeOf(o);
    if (proto !== null && !isBuiltinPrototype(proto)) visit(proto, [...path, '__proto__']);
  };
  visit(root, []);
  return out;
}

function isBuiltinPrototype(p: object): boolean {
  return [Object, Array, Function, Float64Array, Float32Array, Int32Array, Uint8Array, Map, Set, WeakMap]
    .some((C) => C.prototype === p || Object.getPrototypeOf(C.prototype) === p);
}

function resolve(o: unknown, path: Path): object | undefined {
  let t = o;
  for (const k of path) {
    if (t === null || (typeof t !== 'object' && typeof t !== 'function')) return undefined;
    t = k === '__proto__' ? Reflect.getPrototypeOf(t as object) : (t as Record<PropertyKey, unknown>)[k];
  }
  return t !== null && (typeof t === 'object' || typeof t === 'function') ? (t as object) : undefined;
}

// ---------------------------------------------------------------- the attack

type Result = Record<string, Tensor>;

/** A deep copy of plain objects, arrays and typed arrays. */
function clone<T>(v: T): T {
  if (ArrayBuffer.isView(v)) return (v as unknown as { slice(): T }).slice();
  if (Array.isArray(v)) return v.map(clone) as T;
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T;
  return v;
}

interface Trial { cache: unknown; args: unknown[]; dout: Tensor }

/** A forward on a fresh copy of `args`: its cache, the arguments it was given and a dout. */
function trial(entry: Entry, k: Kind, args: unknown[], seed: number): Trial {
  const given = clone(args);
  const res = (entry[k.forward] as Op)(...given);
  return { cache: res.cache, args: given, dout: randn(makeRng(seed), res.out.shape) };
}

/**
 * fn() with a deadline: a changed cache may send a backward into a loop of 2^30 steps,
 * which would hang the test instead of failing it. Run under node:vm's timeout, a call
 * that outlives the deadline is stopped (plain JS and Wasm alike) with an error.
 */
const guard = vm.createContext({ run: (): unknown => undefined });
const callRun = new vm.Script('run()');
const DEADLINE_MS = 5000;
function withDeadline<T>(fn: () => T): T {
  guard.run = fn;
  return callRun.runInContext(guard, { timeout: DEADLINE_MS }) as T;
}
const timedOut = (e: unknown): boolean => (e as { code?: string })?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';

function sameBits(a: Result, b: Result): string | null {
  const ka = Object.keys(a).sort().join();
  const kb = Object.keys(b).sort().join();
  if (ka !== kb) return `results {${ka}} instead of {${kb}}`;
  for (const key of Object.keys(b)) {
    if (!Array.isArray(a[key].shape) || a[key].shape.length !== b[key].shape.length || a[key].shape.join() !== b[key].shape.join()) return `${key} of shape (${a[key].shape}) instead of (${b[key].shape})`;
    if (a[key].data.length !== b[key].data.length) return `${key} of length ${a[key].data.length} instead of ${b[key].data.length}`;
    for (let i = 0; i < b[key].data.length; i++) {
      if (!Object.is(a[key].data[i], b[key].data[i])) return `${key}[${i}] = ${a[key].data[i]} instead of ${b[key].data[i]}`;
    }
  }
  return null;
}

/**
 * Every change at every reachable site, each on a fresh forward: the findings, one line for
 * each change after which the backward computed something else or failed otherwise than
 * with a ConvcoreError naming the cache.
 */
function attack(entry: Entry, k: Kind, seed: number): { findings: string[]; tried: number; sites: number } {
  const backward = entry[k.backward] as Op;
  const args = k.args(makeRng(seed));
  const base = trial(entry, k, args, seed + 1);
  const want = backward(base.dout, base.cache) as Result;
  const template = trial(entry, k, args, seed + 1);
  const sites: Site[] = [
    ...reachable(template.cache as object).map(({ path }) => ({ root: 'cache' as const, path })),
    ...template.args.flatMap((a, i) => (a !== null && typeof a === 'object' ? reachable(a).map(({ path }) => ({ root: i, path })) : [])),
  ];
  const findings: string[] = [];
  let tried = 0;
  for (const site of sites) {
    const where = `${site.root === 'cache' ? 'cache' : `argument ${site.root}`}${site.path.map((p) => `.${label(p)}`).join('')}`;
    const target = resolve(site.root === 'cache' ? template.cache : template.args[site.root], site.path);
    if (target === undefined) continue;
    for (const c of changes(target, site.root === 'cache')) {
      const t = trial(entry, k, args, seed + 1);
      const o = resolve(site.root === 'cache' ? t.cache : t.args[site.root], site.path);
      if (o === undefined) continue;
      try {
        c.apply(o);
      } catch {
        // Refused (a frozen token, a read-only property): the caller got nowhere.
      }
      tried++;
      try {
        const diff = sameBits(withDeadline(() => backward(t.dout, t.cache)) as Result, want);
        if (diff !== null) findings.push(`${where} ${c.what}: ${diff}`);
      } catch (e) {
        if (timedOut(e)) {
          // Stopped mid-call, the module may be left in any state: this finding is the last.
          findings.push(`${where} ${c.what}: the backward had not returned after ${DEADLINE_MS} ms`);
          return { findings, tried, sites: sites.length };
        }
        const ok = e instanceof ConvcoreError && /\bcache\b/.test(e.message);
        if (!ok) findings.push(`${where} ${c.what}: ${(e as Error)?.name} ${(e as Error)?.message}`);
      }
    }
  }
  return { findings, tried, sites: sites.length };
}

describe('a changed cache cannot change what the backward computes', () => {
  for (const [entryName, entry] of ENTRIES) {
    KINDS.forEach((k, i) => {
      const present = typeof entry[k.forward] === 'function' && typeof entry[k.backward] === 'function';
      it.skipIf(!present)(`${entryName}: ${k.name} (every reachable field of the cache and of the forward's arguments)`, () => {
        const { findings, tried, sites } = attack(entry, k, 13000 + 10 * i);
        expect(sites, 'the cache token and the arguments were reached').toBeGreaterThan(k.args(makeRng(0)).length);
        expect(tried).toBeGreaterThan(100);
        expect(findings).toEqual([]);
      });
    });
  }

  it('every cache is a frozen token with nothing reachable but its name', () => {
    for (const [entryName, entry] of ENTRIES) {
      for (const k of KINDS) {
        if (typeof entry[k.forward] !== 'function') continue;
        const { cache } = trial(entry, k, k.args(makeRng(1)), 2);
        expect(Object.isFrozen(cache), `${entryName} ${k.name}`).toBe(true);
        const values = Reflect.ownKeys(cache as object).map((key) => (cache as Record<PropertyKey, unknown>)[key]);
        expect(values.every((v) => typeof v === 'string'), `${entryName} ${k.name}: ${Reflect.ownKeys(cache as object).map(label)}`).toBe(true);
      }
    }
  });

  it('would catch a leaky cache: a token frozen one level deep, holding the caller\'s array', () => {
    // A relu whose cache keeps a reference to x.data inside a frozen object: the shallow
    // freeze the review found. The attack must find both ways in.
    const leaky: Entry = {
      reluForward: (x: Tensor) => ({
        out: { data: x.data.map((v) => Math.max(v, 0)), shape: x.shape.slice() },
        cache: Object.freeze({ kind: 'relu', state: { x: x.data, shape: x.shape } }),
      }),
      reluBackward: (dout: Tensor, cache: { state: { x: Float64Array; shape: number[] } }) => ({
        dx: { data: dout.data.map((d, i) => (cache.state.x[i] > 0 ? d : 0)), shape: cache.state.shape },
      }),
    };
    const { findings } = attack(leaky, KINDS.find((k) => k.name === 'relu')!, 5);
    expect(findings.some((f) => f.startsWith('cache.state.x fill')), findings.slice(0, 5).join('\n')).toBe(true);
    expect(findings.some((f) => f.startsWith('cache.state.shape push')), findings.slice(0, 5).join('\n')).toBe(true);
    expect(findings.some((f) => f.startsWith('argument 0.data fill')), findings.slice(0, 5).join('\n')).toBe(true);
  });

  it('every op with a cache is in KINDS', () => {
    for (const [entryName, entry] of ENTRIES) {
      const forwards = Object.keys(entry).filter((n) => n.endsWith('Forward') && typeof entry[n.replace(/Forward$/, 'Backward')] === 'function');
      expect(forwards.filter((f) => !KINDS.some((k) => k.forward === f)), entryName).toEqual([]);
    }
  });
});

// ---------------------------------------------------------------- the declarations

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

/**
 * A consumer of the declarations tsc emits for the package: for every `*Forward` of each
 * entry, the keys of its cache's type, bar the brand symbol, must be exactly the kind
 * ('kind' on the main entry, 'forward' on the reference); otherwise the error names the
 * forwards whose cache shows more. The last line reads a field of a conv cache: it must be
 * the one error, or the check above proves nothing.
 */
const CONSUMER = `
import type * as M from './decl/index.js';
import type * as R from './decl/reference/index.js';
type Forwards<T> = { [K in keyof T as K extends \`\${string}Forward\` ? K : never]: T[K] };
type CacheOf<F> = F extends (...a: any[]) => { cache: infer C } ? C : never;
type Is<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Showing<T, Allowed> = { [K in keyof Forwards<T>]: Is<Exclude<keyof CacheOf<Forwards<T>[K]>, symbol>, Allowed> extends true ? never : K }[keyof Forwards<T>];
export const mainShowsOnlyTheKind: [Showing<typeof M, 'kind'>] extends [never] ? true : Showing<typeof M, 'kind'> = true;
export const referenceShowsOnlyTheForward: [Showing<typeof R, 'forward'>] extends [never] ? true : Showing<typeof R, 'forward'> = true;
export const someForwards: [keyof Forwards<typeof M>] extends [never] ? false : true = true;
declare const c: ReturnType<typeof M.convForward>['cache'];
export const g: unknown = c.g;
`;

describe('the public declarations expose no cache internals', () => {
  it('every forward\'s cache type has only its kind (declarations emitted as npm run build emits them)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convcore-decl-'));
    try {
      const tsc = join(root, 'node_modules', '.bin', 'tsc');
      // The package's own tsconfig, declarations only, into a temporary directory.
      await run(tsc, ['-p', join(root, 'tsconfig.json'), '--emitDeclarationOnly', '--declaration', '--outDir', join(dir, 'decl')], { cwd: root })
        .catch((e) => { throw new Error(`tsc could not emit the declarations:\n${e.stdout}${e.stderr}`); });
      writeFileSync(join(dir, 'consumer.ts'), CONSUMER);
      const options = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'es2022', '--moduleResolution', 'bundler'];
      const out = await run(tsc, [...options, join(dir, 'consumer.ts')], { cwd: dir }).then(() => '', (e) => `${e.stdout}${e.stderr}`);
      const errors = out.trim().split('\n').filter((l) => /error TS/.test(l));
      expect(errors, out).toHaveLength(1);
      const line = CONSUMER.split('\n').findIndex((l) => l.includes('c.g')) + 1;
      expect(errors[0], 'reading a conv cache\'s field must not compile').toMatch(new RegExp(`consumer\\.ts\\(${line},\\d+\\): error TS2339: Property 'g' does not exist`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
