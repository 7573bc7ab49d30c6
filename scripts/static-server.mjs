// A small static file server for the browser test and the demo (node:http, no dependencies).
// It serves a few mounted directories and in-memory pages, on 127.0.0.1 only, and logs every
// request so a test can check which files a page fetched.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

/**
 * The headers that make a page cross-origin isolated, which convcore's threads need in a
 * browser (SharedArrayBuffer between the page and its workers): on every response.
 */
export const CROSS_ORIGIN_ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/**
 * Starts a server. `mounts` maps a URL prefix ending in '/' to a directory, for example
 * { '/dist/': '/repo/dist' }; `pages` maps an exact path to { body, type }. A directory
 * request serves its index.html. `headers` are added to every response (for example the two
 * that make a page cross-origin isolated, CROSS_ORIGIN_ISOLATION). Returns { url, port,
 * requests, close() }, where requests holds { method, path, status } for every request answered.
 */
export async function startServer({ mounts = {}, pages = {}, port = 0, host = '127.0.0.1', headers = {} } = {}) {
  const requests = [];
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);

  async function answer(path) {
    if (Object.hasOwn(pages, path)) {
      const p = pages[path];
      return { status: 200, type: p.type ?? TYPES['.html'], body: p.body };
    }
    const prefix = prefixes.find((m) => path.startsWith(m));
    if (prefix === undefined) return null;
    const dir = mounts[prefix];
    const file = normalize(join(dir, path.slice(prefix.length)));
    if (file !== dir && !file.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return null;
    let target = file;
    try {
      if ((await stat(target)).isDirectory()) target = join(target, 'index.html');
      return { status: 200, type: TYPES[extname(target)] ?? 'application/octet-stream', body: await readFile(target) };
    } catch {
      return null;
    }
  }

  const server = createServer(async (req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      path = req.url;
    }
    const found = req.method === 'GET' || req.method === 'HEAD' ? await answer(path) : null;
    const status = found ? found.status : 404;
    requests.push({ method: req.method, path, status });
    if (!found) {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
      res.end(`not found: ${path}\n`);
      return;
    }
    res.writeHead(status, { ...headers, 'content-type': found.type, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : found.body);
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = server.address().port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
