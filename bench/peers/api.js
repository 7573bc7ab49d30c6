// convcore and its reference loops: the same API, so one adapter serves both.
//
// The timed call is the public API call itself. For convcore that includes
// validation and the copies into and out of Wasm memory, as a user pays them.
// A backward is timed on a cache made by one forward call outside the timing.

const data = (r) => Object.fromEntries(Object.entries(r).filter(([, t]) => t && t.data).map(([k, t]) => [k, t.data]));

/** A forward `name` and its backward, the backward timed on the cache of one forward. */
function forwardBackward(api, kind, p, forward, args) {
  if (kind.endsWith('Forward')) return { run: () => api[kind](...args), outputs: (r) => ({ out: r.out.data }) };
  const { cache } = api[forward](...args);
  return { run: () => api[kind](p.dout, cache), outputs: data };
}

/** Calls the API op of `kind` on problem `p` and returns its outputs as arrays. */
function prepareOp(api, kind, p) {
  switch (kind) {
    case 'convForward':
    case 'convBackward':
      return forwardBackward(api, kind, p, 'convForward', [p.x, p.w, p.b, p.param]);
    case 'convBackwardDx': {
      // dx alone: the backward told not to compute dw (db, a sum over dout, comes with it).
      const { cache } = api.convForward(p.x, p.w, p.b, p.param);
      return { run: () => api.convBackward(p.dout, cache, { dw: false }), outputs: (r) => ({ dx: r.dx.data }) };
    }
    case 'maxPoolForward':
    case 'maxPoolBackward':
      return forwardBackward(api, kind, p, 'maxPoolForward', [p.x, p.param]);
    case 'dropoutForward':
    case 'dropoutBackward':
      return forwardBackward(api, kind, p, 'dropoutForward', [p.x, p.param]);
    case 'batchnormForward':
    case 'batchnormBackward':
    case 'spatialBatchnormForward':
    case 'spatialBatchnormBackward':
    case 'layernormForward':
    case 'layernormBackward':
    case 'spatialGroupnormForward':
    case 'spatialGroupnormBackward':
      return forwardBackward(api, kind, p, kind.replace(/Backward$/, 'Forward'), [p.x, p.gamma, p.beta, p.param]);
    case 'sgd':
    case 'sgdMomentum':
    case 'rmsprop':
    case 'adam':
      // One step: the next weights and the next state, the inputs untouched.
      return { run: () => api[kind](p.w, p.dw, p.config[kind]), outputs: (r) => ({ w: r.w.data, ...data(r.config) }) };
    default:
      throw new Error(`unknown op ${kind}`);
  }
}

/** A peer backed by the convcore API. `slow` marks the plain-JS reference, which gets fewer samples. */
export function apiPeer(name, api, { slow = false } = {}) {
  return {
    name,
    slow,
    tolerance: 1e-9, // float64 against float64: only the summation order differs
    prepare: (kind, p) => prepareOp(api, kind, p),
  };
}
