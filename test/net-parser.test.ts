/**
 * The training page's network definitions (examples/browser/net-parser.js): every layer kind
 * and option read as the code writes it and made into the same network, residual lists
 * nested, errors with their line and column, nothing ever evaluated, and formatNet writing a
 * list back in the same syntax. The page's presets build, and the first is the network of
 * `npm start` (examples/digits-net.js).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cc from '../src/index.js';
import { parseNet, toLayers, formatNet, NetParseError, LAYER_ARGS } from '../examples/browser/net-parser.js';
import { PRESETS } from '../examples/browser/net-presets.js';
import { DIGITS_NET, DIGITS_OPTIONS } from '../examples/digits-net.js';

const L = cc.layers;
const made = (text: string) => toLayers(parseNet(text), L);
/** A spec as plain data, whichever build of the library made it. */
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

/** Every layer kind, with every option of each, and both kinds of residual (one nested in the other's body). */
const EVERY_KIND_TEXT = `
  conv(4, 3, { stride: 1, pad: 1, dilation: 1, groups: 1, bias: false }), spatialBatchnorm({ eps: 1e-5, momentum: 0.9 }), relu(),
  residual([conv(4, [3, 1], { pad: [1, 0] }), spatialGroupnorm(2, { eps: 0.001 }), relu(),
            residual([conv(4, 3, { pad: 2, dilation: 2 })])]),
  residual([conv(6, 3, { pad: 1, stride: 2 })], { shortcut: [conv(6, 1, { stride: [2, 2] })] }),
  conv(6, 3, { pad: 1, groups: 6 }),
  maxPool(2, { stride: 1 }), avgPool([2, 2]), globalAvgPool(), flatten(),
  dropout(0.75, { seed: 11 }), batchnorm({ momentum: 0.5 }), layernorm({ eps: 1e-6 }), relu(), affine(5)`;

const EVERY_KIND = [
  L.conv(4, 3, { stride: 1, pad: 1, dilation: 1, groups: 1, bias: false }), L.spatialBatchnorm({ eps: 1e-5, momentum: 0.9 }), L.relu(),
  L.residual([L.conv(4, [3, 1], { pad: [1, 0] }), L.spatialGroupnorm(2, { eps: 0.001 }), L.relu(),
    L.residual([L.conv(4, 3, { pad: 2, dilation: 2 })])]),
  L.residual([L.conv(6, 3, { pad: 1, stride: 2 })], { shortcut: [L.conv(6, 1, { stride: [2, 2] })] }),
  L.conv(6, 3, { pad: 1, groups: 6 }),
  L.maxPool(2, { stride: 1 }), L.avgPool([2, 2]), L.globalAvgPool(), L.flatten(),
  L.dropout(0.75, { seed: 11 }), L.batchnorm({ momentum: 0.5 }), L.layernorm({ eps: 1e-6 }), L.relu(), L.affine(5),
];

/** The NetParseError parseNet throws for `text`. */
function parseError(text: string): NetParseError {
  try {
    parseNet(text);
  } catch (e) {
    expect(e, text).toBeInstanceOf(NetParseError);
    return e as NetParseError;
  }
  throw new Error(`parseNet(${JSON.stringify(text)}) did not throw`);
}

afterEach(() => {
  delete (globalThis as Record<string, unknown>).x;
});

describe('net-parser: what it reads', () => {
  it("knows exactly the library's layer functions, with their numbers of arguments", () => {
    expect(Object.keys(LAYER_ARGS).sort()).toEqual(Object.keys(L).sort());
    for (const [kind, f] of Object.entries(L)) expect(LAYER_ARGS[kind as keyof typeof LAYER_ARGS], kind).toBe(f.length);
  });

  it('every layer kind and option gives the specs the code gives, and the same network', () => {
    const kinds = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        if ('kind' in v) kinds.add((v as { kind: string }).kind);
        Object.values(v).forEach(walk);
      }
    };
    walk(EVERY_KIND);
    expect([...kinds].sort(), 'the test list holds every kind').toEqual(Object.keys(L).sort());

    const specs = made(EVERY_KIND_TEXT);
    expect(specs).toEqual(EVERY_KIND);
    // parseNet's own output is plain data ({ kind, args }), as a worker gets it.
    expect(structuredClone(parseNet(EVERY_KIND_TEXT))).toEqual(plain(EVERY_KIND));
    const options = { inputShape: [2, 9, 9], seed: 5 };
    const a = new cc.Sequential(specs, options);
    const b = new cc.Sequential(EVERY_KIND, options);
    expect(a.summary()).toBe(b.summary());
    expect(a.toJSON()).toEqual(b.toJSON());
    a.dispose();
    b.dispose();
  });

  it('nested lists: residual bodies and shortcuts, in any depth', () => {
    const text = 'residual([residual([relu(), residual([relu()], { shortcut: [relu()] })])], { shortcut: [] })';
    expect(made(text)).toEqual([L.residual([L.residual([L.relu(), L.residual([L.relu()], { shortcut: [L.relu()] })])], { shortcut: [] })]);
  });

  it('the list bare or in [ ], layers.conv or conv, comments, trailing commas, line breaks, signs and exponents', () => {
    const want = [L.conv(8, [3, 5], { pad: [1, 2] }), L.dropout(0.5), L.affine(10)];
    for (const text of [
      'conv(8, [3, 5], { pad: [1, 2] }), dropout(0.5), affine(10)',
      '[conv(8, [3, 5], { pad: [1, 2] }), dropout(.5), affine(10),]',
      '[\n  layers.conv(8, [3, 5], { pad: [1, 2], }),\n  layers.dropout(5e-1),\n  layers.affine(1e1),\n]\n',
      '// the first block\nconv(8,[3,5],{pad:[1,2]}) /* then */ , dropout(0.50), affine(10.0) // end',
    ]) expect(made(text), text).toEqual(want);
    expect(parseNet('conv(-1, -2.5e-3, { pad: - 4 })')).toEqual([{ kind: 'conv', args: [-1, -0.0025, { pad: -4 }] }]);
    expect(parseNet('conv(8, 3, { bias: true }), conv(8, 3, { bias: false })').map((s) => s.args[2])).toEqual([{ bias: true }, { bias: false }]);
    expect(parseNet('')).toEqual([]);
    expect(parseNet('  // nothing\n')).toEqual([]);
    expect(parseNet('[]')).toEqual([]);
  });

  it('reads what it is given and leaves the checking to the library: the construction error names the layer', () => {
    // Options and values the library refuses are read as written; new Sequential says what is wrong.
    expect(parseNet('conv(8, 3, { padding: 1 })')).toEqual([{ kind: 'conv', args: [8, 3, { padding: 1 }] }]);
    const build = (text: string) => () => new cc.Sequential(made(text), { inputShape: [1, 28, 28] });
    expect(build('conv(8, 3), relu(), maxPool(40), affine(10)')).toThrow(/^Sequential: layer 2 \(maxPool\): a 40x40 window does not fit an input of 26x26$/);
    expect(build('conv(8, 3, { padding: 1 }), affine(10)')).toThrow(/^Sequential: layer 0 \(conv\): an unknown option "padding"/);
    expect(build('conv(8), affine(10)')).toThrow(/^Sequential: layer 0 \(conv\): kernel is missing/);
    expect(build('residual([conv(4, 3)]), affine(10)')).toThrow(/^Sequential: layer 0 \(residual\): the body gives \(4,26,26\)/);
    expect(build('')).toThrow(/^Sequential: layers must be a non-empty array/);
    expect(build('conv(8, 3), relu()')).toThrow(/end with affine\(numClasses\)$/);
    for (const text of ['conv(8, 3), relu(), maxPool(40), affine(10)', 'conv(8, 3, { padding: 1 }), affine(10)']) {
      expect(build(text)).toThrow(cc.ConvcoreError);
    }
  });
});

describe('net-parser: errors with their position', () => {
  // [text, the offset of the error, line, column, the message after "line L, column C: "]
  const CASES: [string, number, number, number, RegExp][] = [
    ['relu(); globalThis.x = 1', 6, 1, 7, /^unexpected ";": a definition holds only layer calls/],
    ['relu()\nglobalThis.x = 1', 7, 2, 1, /^expected ',' or the end of the definition after a layer, found globalThis$/],
    ['relu(), alert(1)', 8, 1, 9, /^unknown layer alert; the layers are conv, maxPool, .*, residual$/],
    ['relu(), constructor()', 8, 1, 9, /^unknown layer constructor;/],
    ['relu(), __proto__()', 8, 1, 9, /^unknown layer __proto__;/],
    ['relu(), toString()', 8, 1, 9, /^unknown layer toString;/],
    ['relu(), layers.eval("x")', 15, 1, 16, /^unknown layer eval;/],
    ['relu', 4, 1, 5, /^expected '\(' after relu, found the end of the definition/],
    ['relu(), affine', 14, 1, 15, /^expected '\(' after affine/],
    ['conv(8, 3x3)', 9, 1, 10, /^a number cannot be followed by "x" \(write 3 or \[3, 3\], not 3x3\)$/],
    ['conv(8, 3, { pad: 1 + 1 })', 20, 1, 21, /^unexpected "\+"/],
    ['conv(8, 3, { pad: (1) })', 18, 1, 19, /^expected a value \(a number, true, false, an array, \{ options \} or a layer\), found '\('$/],
    ['conv(8, 3, { "pad": 1 })', 13, 1, 14, /^unexpected string: no layer takes one$/],
    ['conv(8, 3, { pad: `1` })', 18, 1, 19, /^unexpected string/],
    ['conv(8, 3, { pad 1 })', 17, 1, 18, /^expected ':' after the option name pad, found the number 1$/],
    ['conv(8, 3, { pad: 1, pad: 2 })', 21, 1, 22, /^the option pad is given twice$/],
    ['conv(8, 3, { 1: 2 })', 13, 1, 14, /^expected an option name such as pad, found the number 1$/],
    ['conv(8, 3, { pad: 1 }', 21, 1, 22, /^expected ',' or '\)' after an argument of conv, found the end of the definition$/],
    ['conv(8 3)', 7, 1, 8, /^expected ',' or '\)' after an argument of conv, found the number 3$/],
    ['conv(8, [3, 3)', 13, 1, 14, /^expected ',' or '\]' after an array entry, found '\)'$/],
    ['conv(8, 3,, 1)', 10, 1, 11, /^expected a value .*, found ','$/],
    ['relu(1)', 5, 1, 6, /^relu takes no arguments, got 1$/],
    ['affine(10, 2)', 11, 1, 12, /^affine takes at most 1 argument, got 2$/],
    ['conv(8, 3, {}, 4)', 15, 1, 16, /^conv takes at most 3 arguments, got 4$/],
    ['conv(8, 3, { pad: -x })', 19, 1, 20, /^expected a number after '-', found x$/],
    ['conv(8, 3, { pad: null })', 18, 1, 19, /^unknown layer null;/],
    ['conv(8, 3, { pad: undefined })', 18, 1, 19, /^unknown layer undefined;/],
    ['conv(8, 3, { pad: Infinity })', 18, 1, 19, /^unknown layer Infinity;/],
    ['conv(8, 1.5.3)', 11, 1, 12, /^a number cannot be followed by "\."/],
    ['8, relu()', 0, 1, 1, /^expected a layer such as relu\(\) or conv\(8, 3\), found the number 8$/],
    ['true', 0, 1, 1, /^expected a layer such as relu\(\) or conv\(8, 3\), found true$/],
    ['[relu()], relu()', 8, 1, 9, /^expected the end of the definition after the \], found ','$/],
    ['[relu()', 7, 1, 8, /^expected ',' or '\]' after a layer, found the end of the definition$/],
    ['relu())', 6, 1, 7, /^expected ',' or the end of the definition after a layer, found '\)'$/],
    ['layers.', 7, 1, 8, /^expected a layer name after 'layers\.', found the end of the definition$/],
    ['relu(),\n  conv(8, 3),\n  /* an open comment', 24, 3, 3, /^a comment \/\* … is never closed with \*\/$/],
    ['relu(),\n\n    maxPool(2; 2)', 22, 3, 14, /^unexpected ";"/],
    ['relu() => 1', 7, 1, 8, /^unexpected "="/],
    ['relu()\u00a0; x', 7, 1, 8, /^unexpected ";"/],
    ['relu(), import("x")', 8, 1, 9, /^unknown layer import;/],
  ];

  it.each(CASES)('%j: at offset %i (line %i, column %i)', (text, position, line, column, message) => {
    const e = parseError(text);
    expect({ position: e.position, line: e.line, column: e.column }).toEqual({ position, line, column });
    expect(e.message.startsWith(`line ${line}, column ${column}: `), e.message).toBe(true);
    expect(e.message.slice(`line ${line}, column ${column}: `.length)).toMatch(message);
  });

  it('nesting past 32 levels is an error, not a stack overflow', () => {
    const deep = (n: number) => `conv(8, ${'['.repeat(n)}3${']'.repeat(n)})`;
    expect(parseNet(deep(30))[0].kind).toBe('conv');
    const e = parseError(deep(40));
    expect(e.message).toMatch(/nested more than 32 levels deep$/);
    expect(parseError(deep(100_000)).message).toMatch(/nested more than 32 levels deep$/);
  });

  it('a definition must be a string', () => {
    expect(() => parseNet(42 as unknown as string)).toThrow(TypeError);
  });
});

describe('net-parser: nothing is evaluated', () => {
  it('code around or inside a definition is an error and never runs', () => {
    for (const text of [
      'relu(); globalThis.x = 1',
      'relu()\nglobalThis.x = 1',
      'relu(), (globalThis.x = 1)',
      'conv(8, 3, { pad: globalThis.x = 1 })',
      'conv(8, 3, { pad: (() => { globalThis.x = 1; return 1; })() })',
      'conv(8, 3, { get pad() { globalThis.x = 1; return 1; } })',
      'conv(8, 3, { [(globalThis.x = 1, "pad")]: 1 })',
      'conv(8, 3, { ...{ pad: 1 } })',
      'relu(), Function("globalThis.x = 1")()',
      'relu(), eval("globalThis.x = 1")',
      '`${globalThis.x = 1}`',
      'relu(), new Function("globalThis.x = 1")',
    ]) {
      expect(() => parseNet(text), text).toThrow(NetParseError);
      expect((globalThis as Record<string, unknown>).x, text).toBeUndefined();
    }
  });

  it('a key named __proto__ is an own option (the library refuses it), never the prototype', () => {
    const [spec] = parseNet('conv(8, 3, { __proto__: { pad: 1 } })');
    const o = spec.args[2] as Record<string, unknown>;
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.keys(o)).toEqual(['__proto__']);
    expect(o.pad).toBeUndefined();
    const made2 = toLayers([spec], L);
    expect(Object.keys(made2[0].args[2] as object)).toEqual(['__proto__']);
    expect(() => new cc.Sequential([...made2, L.affine(10)], { inputShape: [1, 8, 8] })).toThrow(/layer 0 \(conv\): an unknown option "__proto__"/);
  });

  it('the module has no eval, Function, import() or other way to run text', () => {
    const source = readFileSync(join(__dirname, '..', 'examples', 'browser', 'net-parser.js'), 'utf8');
    const code = source.replace(/\/\/.*$/gm, '');
    for (const re of [/\beval\s*\(/, /\bFunction\s*\(/, /\bimport\s*\(/, /\bsetTimeout\b/, /\bnew\s+Worker\b/, /\bimport\s/]) {
      expect(code, String(re)).not.toMatch(re);
    }
  });
});

describe('formatNet', () => {
  it('writes a list back in the same syntax: parsing it gives the list again', () => {
    const text = formatNet(EVERY_KIND);
    expect(made(text)).toEqual(EVERY_KIND);
    expect(text.split('\n')).toHaveLength(EVERY_KIND.length);
    expect(formatNet([L.conv(8, 3, { pad: 1 }), L.relu(), L.residual([L.relu()], { shortcut: [] }), L.affine(10)]))
      .toBe('conv(8, 3, { pad: 1 }),\nrelu(),\nresidual([relu()], { shortcut: [] }),\naffine(10)');
    expect(formatNet([{ kind: 'conv', args: [-0, 1e-7, { bias: false }] }])).toBe('conv(-0, 1e-7, { bias: false })');
    // The list a model's toJSON() holds, too.
    const net = new cc.Sequential(EVERY_KIND, { inputShape: [2, 9, 9], seed: 1 });
    expect(made(formatNet(net.toJSON().layers))).toEqual(EVERY_KIND);
    net.dispose();
  });

  it('refuses what the syntax cannot write', () => {
    expect(() => formatNet([{ kind: 'conv', args: [8, NaN] }])).toThrow(/NaN cannot be written/);
    expect(() => formatNet([{ kind: 'conv', args: [8, 3, { 'a-b': 1 }] }])).toThrow(/the option name "a-b" cannot be written/);
    expect(() => formatNet([{ kind: 'conv', args: [8, null] }])).toThrow(/null cannot be written/);
    expect(() => formatNet([{ kind: 'nope', args: [] }])).toThrow(/is not a layer/);
    expect(() => formatNet('relu()' as unknown as [])).toThrow(/must be an array/);
  });
});

describe("the page's presets", () => {
  it('each is read and builds a classifier of the 28x28 digits', () => {
    expect(PRESETS.length).toBeGreaterThanOrEqual(2);
    expect(new Set(PRESETS.map((p) => p.id)).size).toBe(PRESETS.length);
    for (const p of PRESETS) {
      const net = new cc.Sequential(made(p.text), { inputShape: [1, 28, 28], seed: 0 });
      expect(net.numClasses, p.id).toBe(10);
      net.dispose();
    }
    expect(PRESETS.some((p) => p.text.includes('residual(')), 'a preset with a residual block').toBe(true);
  });

  it("the first is npm start's network (examples/digits-net.js)", () => {
    expect(plain(made(PRESETS[0].text))).toEqual(plain(DIGITS_NET));
    expect(DIGITS_OPTIONS.inputShape).toEqual([1, 28, 28]);
  });
});
