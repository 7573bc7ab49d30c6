// convcore and its reference loops: the same API, so one adapter serves both.
//
// The timed call is the public API call itself. For convcore that includes
// validation and the copies into and out of Wasm memory, as a user pays them.
// A backward is timed on a cache made by one forward call outside the timing.

/** Calls the API op of `kind` on problem `p` and returns its outputs as arrays. */
function prepareOp(api, kind, p) {
  switch (kind) {
    case 'convForward':
      return { run: () => api.convForward(p.x, p.w, p.b, p.param), outputs: (r) => ({ out: r.out.data }) };
    case 'convBackward': {
      const { cache } = api.convForward(p.x, p.w, p.b, p.param);
      const outputs = (r) => ({ dx: r.dx.data, dw: r.dw.data, db: r.db.data });
      return { run: () => api.convBackward(p.dout, cache), outputs };
    }
    case 'maxPoolForward':
      return { run: () => api.maxPoolForward(p.x, p.param), outputs: (r) => ({ out: r.out.data }) };
    case 'maxPoolBackward': {
      const { cache } = api.maxPoolForward(p.x, p.param);
      return { run: () => api.maxPoolBackward(p.dout, cache), outputs: (r) => ({ dx: r.dx.data }) };
    }
    case 'batchnormForward':
    case 'spatialBatchnormForward':
      return { run: () => api[kind](p.x, p.gamma, p.beta, p.param), outputs: (r) => ({ out: r.out.data }) };
    case 'batchnormBackward':
    case 'spatialBatchnormBackward': {
      const forward = kind === 'batchnormBackward' ? api.batchnormForward : api.spatialBatchnormForward;
      const { cache } = forward(p.x, p.gamma, p.beta, p.param);
      const outputs = (r) => ({ dx: r.dx.data, dgamma: r.dgamma.data, dbeta: r.dbeta.data });
      return { run: () => api[kind](p.dout, cache), outputs };
    }
    default:
      throw new Error(`unknown op ${kind}`);
  }
}

/**
 * A peer backed by the convcore API. `slow` marks the plain-JS reference, which
 * gets fewer samples. Neither API has a dx-only entry point: for convcore, run.js
 * shows its full backward in the dx row (see the table notes).
 */
export function apiPeer(name, api, { slow = false } = {}) {
  return {
    name,
    slow,
    tolerance: 1e-9, // float64 against float64: only the summation order differs
    prepare(kind, p) {
      if (kind === 'convBackwardDx') return { na: 'no dx-only op' };
      return prepareOp(api, kind, p);
    },
  };
}
