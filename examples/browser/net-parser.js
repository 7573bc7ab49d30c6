// The training page's network definitions: a list of layers written as in the code,
//
//   conv(8, 3, { pad: 1 }), spatialBatchnorm(), relu(), maxPool(2), affine(10)
//
// read by a small parser of its own. It knows numbers (a leading minus allowed), true and
// false, arrays, object literals with identifier keys, the calls of the `layers` functions
// (written bare or as layers.conv(…)) and comments; nothing is ever evaluated, and anything
// else (a name that is not a layer, a string, an operator, a second statement) is an error
// that gives its line and column. The list may be wrapped in [ ], as in the code.
//
// parseNet(text) gives the layer calls as { kind, args } (what the `layers` functions
// return, and what a model's toJSON() writes), plain data that can be posted to a worker;
// toLayers(list, layers) makes them with the library's own functions, layers[kind](...args),
// so that `new Sequential` checks them and names the layer that does not fit.
// formatNet(list) writes such a list back in the same syntax.

/** Each layer function and how many arguments it takes at most (the rest are optional or checked by the library). */
export const LAYER_ARGS = {
  conv: 3, maxPool: 2, avgPool: 2, globalAvgPool: 0, batchnorm: 1, spatialBatchnorm: 1, layernorm: 1,
  spatialGroupnorm: 2, dropout: 2, relu: 0, flatten: 0, affine: 1, residual: 2,
};

const KINDS = Object.keys(LAYER_ARGS);
/** Arrays, objects and calls nested deeper than this are refused (a definition needs a few levels). */
const MAX_DEPTH = 32;

/** A definition that cannot be read: `position` is the offset in the text, `line` and `column` count from 1. */
export class NetParseError extends Error {
  constructor(text, position, message) {
    const before = text.slice(0, position).split('\n');
    const line = before.length;
    const column = before[before.length - 1].length + 1;
    super(`line ${line}, column ${column}: ${message}`);
    this.name = 'NetParseError';
    this.position = position;
    this.line = line;
    this.column = column;
  }
}

const isIdStart = (c) => /[A-Za-z_$]/.test(c);
const isIdPart = (c) => /[A-Za-z0-9_$]/.test(c);
const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const PUNCTUATION = '()[]{},:.-';

/**
 * The token at `i` in `text` and where the next one starts: { type: 'id' | 'number' |
 * 'punct' | 'end', value, start, end }. Tokens are read one at a time, as the parser asks,
 * so the first error in reading order is the one reported.
 */
function lex(text, i) {
  for (;;) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('/*', i)) {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) throw new NetParseError(text, i, 'a comment /* … is never closed with */');
      i = close + 2;
    } else break;
  }
  if (i >= text.length) return { type: 'end', value: '', start: text.length, end: text.length };
  const c = text[i];
  const start = i;
  if (isIdStart(c)) {
    while (i < text.length && isIdPart(text[i])) i++;
    return { type: 'id', value: text.slice(start, i), start, end: i };
  }
  const m = /[0-9.]/.test(c) ? NUMBER.exec(text.slice(i, i + 400)) : null;
  if (m) {
    i += m[0].length;
    if (i < text.length && (isIdPart(text[i]) || text[i] === '.')) {
      throw new NetParseError(text, i, `a number cannot be followed by ${JSON.stringify(text[i])} (write 3 or [3, 3], not 3x3)`);
    }
    return { type: 'number', value: Number(m[0]), start, end: i };
  }
  if (PUNCTUATION.includes(c)) return { type: 'punct', value: c, start, end: i + 1 };
  if (c === '"' || c === "'" || c === '`') throw new NetParseError(text, i, 'unexpected string: no layer takes one');
  throw new NetParseError(text, i, `unexpected ${JSON.stringify(c)}: a definition holds only layer calls, numbers, true, false, arrays and { key: value } options`);
}

function describeToken(t) {
  if (t.type === 'end') return 'the end of the definition';
  if (t.type === 'id') return t.value;
  if (t.type === 'number') return `the number ${t.value}`;
  return `'${t.value}'`;
}

/** A recursive-descent reader over the tokens. */
class Reader {
  constructor(text) {
    this.text = text;
    this.current = lex(text, 0);
  }

  get peek() {
    return this.current;
  }

  next() {
    const t = this.current;
    if (t.type !== 'end') this.current = lex(this.text, t.end);
    return t;
  }

  fail(token, message) {
    throw new NetParseError(this.text, token.start, message);
  }

  isPunct(value) {
    return this.peek.type === 'punct' && this.peek.value === value;
  }

  expect(value, context) {
    const t = this.next();
    if (t.type !== 'punct' || t.value !== value) this.fail(t, `expected '${value}' ${context}, found ${describeToken(t)}`);
    return t;
  }

  /** Items separated by commas (a trailing comma allowed) up to the closing `close` (not consumed). */
  items(close, what, item) {
    const out = [];
    while (!this.isPunct(close)) {
      if (close === 'end' && this.peek.type === 'end') break;
      out.push(item());
      if (this.isPunct(',')) {
        this.next();
        continue;
      }
      const t = this.peek;
      const atClose = close === 'end' ? t.type === 'end' : t.type === 'punct' && t.value === close;
      if (!atClose) this.fail(t, `expected ',' or ${close === 'end' ? 'the end of the definition' : `'${close}'`} after ${what}, found ${describeToken(t)}`);
    }
    return out;
  }

  /** The whole definition: a list of layer calls, bare or in [ ]. */
  net() {
    const bracketed = this.isPunct('[');
    if (bracketed) this.next();
    const list = this.items(bracketed ? ']' : 'end', 'a layer', () => this.layer(1));
    if (bracketed) this.next();
    const t = this.peek;
    if (t.type !== 'end') this.fail(t, `expected the end of the definition after ${bracketed ? 'the ]' : 'the layers'}, found ${describeToken(t)}`);
    return list;
  }

  /** A layer call where a layer must be. */
  layer(depth) {
    const t = this.peek;
    if (t.type !== 'id' || t.value === 'true' || t.value === 'false') this.fail(t, `expected a layer such as relu() or conv(8, 3), found ${describeToken(t)}`);
    return this.call(depth);
  }

  /** kind(args…) or layers.kind(args…). */
  call(depth) {
    let t = this.next();
    if (t.value === 'layers' && this.isPunct('.')) {
      this.next();
      t = this.next();
      if (t.type !== 'id') this.fail(t, `expected a layer name after 'layers.', found ${describeToken(t)}`);
    }
    const kind = t.value;
    if (!Object.hasOwn(LAYER_ARGS, kind)) this.fail(t, `unknown layer ${kind}; the layers are ${KINDS.join(', ')}`);
    if (!this.isPunct('(')) this.fail(this.peek, `expected '(' after ${kind}, found ${describeToken(this.peek)} (a layer is a call: ${kind}(…))`);
    this.next();
    const argTokens = [];
    const args = this.items(')', `an argument of ${kind}`, () => {
      argTokens.push(this.peek);
      return this.value(depth + 1);
    });
    this.next();
    const most = LAYER_ARGS[kind];
    if (args.length > most) {
      this.fail(argTokens[most], `${kind} takes ${most === 0 ? 'no arguments' : `at most ${most} argument${most > 1 ? 's' : ''}`}, got ${args.length}`);
    }
    return { kind, args };
  }

  value(depth) {
    const t = this.peek;
    if (depth > MAX_DEPTH) this.fail(t, `nested more than ${MAX_DEPTH} levels deep`);
    if (t.type === 'number') {
      this.next();
      return t.value;
    }
    if (t.type === 'punct' && t.value === '-') {
      this.next();
      const n = this.next();
      if (n.type !== 'number') this.fail(n, `expected a number after '-', found ${describeToken(n)}`);
      return -n.value;
    }
    if (t.type === 'id') {
      if (t.value === 'true' || t.value === 'false') {
        this.next();
        return t.value === 'true';
      }
      return this.call(depth);
    }
    if (t.type === 'punct' && t.value === '[') {
      this.next();
      const list = this.items(']', 'an array entry', () => this.value(depth + 1));
      this.next();
      return list;
    }
    if (t.type === 'punct' && t.value === '{') {
      this.next();
      const obj = {};
      this.items('}', 'an option', () => {
        const key = this.next();
        if (key.type !== 'id') this.fail(key, `expected an option name such as pad, found ${describeToken(key)}`);
        if (Object.hasOwn(obj, key.value)) this.fail(key, `the option ${key.value} is given twice`);
        this.expect(':', `after the option name ${key.value}`);
        // defineProperty: a key such as __proto__ is an own property, as JSON.parse makes it, never the prototype.
        Object.defineProperty(obj, key.value, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
      });
      this.next();
      return obj;
    }
    return this.fail(t, `expected a value (a number, true, false, an array, { options } or a layer), found ${describeToken(t)}`);
  }
}

/** The layer calls of a definition, as { kind, args }; a NetParseError (with its position) when it cannot be read. */
export function parseNet(text) {
  if (typeof text !== 'string') throw new TypeError(`parseNet: the definition must be a string, got ${typeof text}`);
  return new Reader(text).net();
}

const isCall = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.kind === 'string' && Object.hasOwn(LAYER_ARGS, v.kind)
  && Array.isArray(v.args) && Object.keys(v).length === 2;

/**
 * Makes what parseNet gave with the library's functions: each call { kind, args } becomes
 * layers[kind](...args) (its arguments made first, so residual's lists too). `layers` is
 * the library's `layers` object.
 */
export function toLayers(list, layers) {
  const make = (v) => {
    if (Array.isArray(v)) return v.map(make);
    if (isCall(v)) return layers[v.kind](...v.args.map(make));
    if (v !== null && typeof v === 'object') {
      const out = {};
      for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: make(x), enumerable: true, writable: true, configurable: true });
      return out;
    }
    return v;
  };
  if (!Array.isArray(list)) throw new TypeError('toLayers: the list must be an array of { kind, args }');
  return list.map(make);
}

/** One value in the definition syntax; an Error for what the syntax cannot write. */
function formatValue(v) {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`formatNet: ${v} cannot be written (only finite numbers)`);
    return Object.is(v, -0) ? '-0' : String(v);
  }
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  if (isCall(v)) return `${v.kind}(${v.args.map(formatValue).join(', ')})`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    return `{ ${entries.map(([k, x]) => {
      if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k)) throw new Error(`formatNet: the option name ${JSON.stringify(k)} cannot be written`);
      return `${k}: ${formatValue(x)}`;
    }).join(', ')} }`;
  }
  throw new Error(`formatNet: ${v === null ? 'null' : typeof v} cannot be written`);
}

/** A list of layer calls ({ kind, args }, as layers.* or toJSON() give them) in the definition syntax, one layer a line. */
export function formatNet(list) {
  if (!Array.isArray(list)) throw new Error('formatNet: the list must be an array of layers');
  return list.map((s) => {
    if (!isCall(s)) throw new Error(`formatNet: ${JSON.stringify(s)} is not a layer`);
    return formatValue(s);
  }).join(',\n');
}
