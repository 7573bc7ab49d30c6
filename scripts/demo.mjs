#!/usr/bin/env node
// `npm run demo`: serves the demo page (examples/browser/) on 127.0.0.1 and prints its URL.
// The page imports the self-contained dist/convcore.browser.js and the reference loops,
// which this script bundles for the browser into build/browser/ (esbuild, a second or less).
// The training page (train.html) fetches the digits from /data/digits.bin, which
// scripts/pack-digits.mjs packs into build/digits/ when it is missing or stale.
// Every response carries the two cross-origin isolation headers (COOP same-origin, COEP
// require-corp), so that the pages can run convcore on several threads.
// Options: --port N (or PORT=N; default 8080, any free port if that one is taken).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root, bundlePath, buildSupportBundles } from './build-browser.mjs';
import { startServer, CROSS_ORIGIN_ISOLATION } from './static-server.mjs';
import { ensureDigits, digitsPath } from './pack-digits.mjs';

/** Starts the demo server; returns the server of static-server.mjs (url, requests, close). */
export async function startDemo({ port = 0, supportDir = join(root, 'build', 'browser') } = {}) {
  if (!existsSync(bundlePath)) {
    throw new Error(`demo: ${bundlePath} is missing; run \`npm run build\` first`);
  }
  await buildSupportBundles(supportDir);
  ensureDigits();
  const mounts = {
    '/': join(root, 'examples', 'browser'),
    '/dist/': join(root, 'dist'),
    '/support/': supportDir,
    '/data/': dirname(digitsPath),
  };
  try {
    return await startServer({ mounts, port, headers: CROSS_ORIGIN_ISOLATION });
  } catch (e) {
    if (e.code !== 'EADDRINUSE' || port === 0) throw e;
    console.error(`demo: port ${port} is taken, using a free one`);
    return startServer({ mounts, port: 0, headers: CROSS_ORIGIN_ISOLATION });
  }
}

function portArg() {
  const i = process.argv.indexOf('--port');
  const v = i >= 0 ? process.argv[i + 1] : process.env.PORT;
  const n = v === undefined ? 8080 : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`demo: --port must be an integer in [0, 65535], got ${v}`);
  return n;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const server = await startDemo({ port: portArg() });
    console.log(`convcore demo: ${server.url}/`);
    console.log('Press Ctrl+C to stop.');
    const stop = () => server.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
