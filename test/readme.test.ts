/**
 * The README and the docs say what the repository holds: the README stays short and links
 * the full API, the architecture and the benchmark's table; its benchmark summary is the one
 * bench/results.md gives; its bundle size is the built bundle's; its set-up and test
 * commands are the ones .ci/run runs; and every file, link and anchor the docs cite exists.
 * The size check reads dist/, which `npm test` builds first.
 */
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { root, measureBundle, sizeText, SIZE_START, SIZE_END } from '../scripts/build-browser.mjs';
import { summary, summaryIn } from '../bench/summary.js';

const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const readme = read('README.md');
const DOCS = ['README.md', 'docs/api.md', 'docs/ARCHITECTURE.md'];
const tracked = new Set(execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean));

/** The commands of the first ```sh block after `heading`. */
function shBlock(md: string, heading: string): string[] {
  const at = md.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`no heading ${heading}`);
  const block = /```sh\n([\s\S]*?)```/.exec(md.slice(at));
  return block ? block[1].split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean) : [];
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchorsOf(md: string): Set<string> {
  return new Set(md.split('\n').filter((l) => /^#{1,6} /.test(l)).map((l) => anchor(l.replace(/^#+ /, ''))));
}

describe('the README', () => {
  it('is under 400 lines and links the full API, the architecture and the benchmark table', () => {
    expect(readme.split('\n').length).toBeLessThan(400);
    for (const doc of ['docs/api.md', 'docs/ARCHITECTURE.md', 'bench/results.md']) {
      expect(readme, doc).toContain(`](${doc}`);
    }
  });

  it("holds bench/results.md's summary, numbers as printed there", () => {
    const held = summaryIn(readme);
    expect(held, 'README.md has the bench-summary markers').not.toBeNull();
    expect(held).toBe(summary(read('bench/results.md')));
    // One copy of the full table: the README holds none of its rows beyond the summary's.
    const rows = read('bench/results.md').split('\n').filter((l) => l.startsWith('| '));
    expect(rows.filter((l) => readme.includes(l))).toEqual([]);
  });

  it('states the size of the inlined bundle that the build made', () => {
    expect(existsSync(join(root, 'dist/convcore.browser.js')), 'dist/ is built (npm run build)').toBe(true);
    const i = readme.indexOf(SIZE_START);
    const j = readme.indexOf(SIZE_END);
    expect(i, 'README.md has the bundle-size markers').toBeGreaterThanOrEqual(0);
    expect(readme.slice(i + SIZE_START.length, j)).toBe(sizeText(measureBundle()));
  });

  it('gives the set-up and test commands .ci/run runs, and the scripts it names exist', () => {
    const ci = read('.ci/run');
    const ciCommands = ci.split('\n').map((l) => l.trim()).filter((l) => /^(npm|apt-get) /.test(l));
    const setUp = shBlock(readme, '## Set up');
    // The same test commands, in the same order; npm install in the README is npm ci in CI.
    expect(ciCommands.filter((c) => c.startsWith('npm '))).toEqual(setUp.map((c) => (c === 'npm install' ? 'npm ci' : c)));
    expect(setUp).toEqual(['npm install', 'npm test', 'npm run test:relaxed', 'npm run test:bench']);
    // Chromium: CI installs it only where the README's path lacks it, with the README's command.
    expect(ci).toContain('if [ ! -x /usr/bin/chromium ]; then');
    expect(ciCommands).toContain('apt-get install -y chromium');
    expect(readme).toContain('`apt-get install -y chromium`');
    expect(readme).toContain('`npm ci`');
    const scripts = Object.keys(JSON.parse(read('package.json')).scripts);
    for (const doc of [...DOCS, '.ci/run']) {
      for (const [, name] of read(doc).matchAll(/npm run ([\w:-]+)/g)) expect(scripts, `npm run ${name} in ${doc}`).toContain(name);
    }
    for (const cmd of ['npm start', 'npm test']) expect(readme).toContain(cmd);
  });
});

describe('the docs', () => {
  it('link only files and headings that exist', () => {
    for (const doc of DOCS) {
      const md = read(doc);
      for (const [, target] of md.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [path, hash] = target.split('#');
        const file = path ? normalize(join(dirname(doc), path)) : doc;
        expect(tracked.has(file) || existsSync(join(root, file)), `${doc} links ${target}`).toBe(true);
        if (hash && file.endsWith('.md')) expect(anchorsOf(read(file)), `${doc} links ${target}`).toContain(hash);
      }
    }
  });

  it("name only the repository's own files", () => {
    // A path in backticks under one of the repository's folders must be a tracked file or folder.
    const folders = ['assembly', 'src', 'test', 'bench', 'examples', 'scripts', 'docs'];
    const paths = new RegExp(`\`((?:${folders.join('|')})/[\\w./-]*[\\w/])\``, 'g');
    const trackedDirs = new Set([...tracked].flatMap((f) => f.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/'))));
    for (const doc of DOCS) {
      for (const [, p] of read(doc).matchAll(paths)) {
        const path = p.replace(/\/$/, '');
        // Built files (build/, dist/) and the .quick results are not tracked; everything else is.
        if (/(^|\/)(build|dist)\//.test(path) || /results\.quick\./.test(path)) continue;
        expect(tracked.has(path) || trackedDirs.has(path), `${doc} names ${p}`).toBe(true);
      }
    }
  });

  it('the sources cite no document the repository lacks', () => {
    const sources = [...tracked].filter((f) => /^(assembly|src|test|bench|examples|scripts|docs|\.ci)\//.test(f) && /\.(ts|js|mjs|md)$|^\.ci\//.test(f));
    expect(sources.length).toBeGreaterThan(50);
    for (const f of sources) {
      const text = read(f);
      // Capitalized documents (README.md, ARCHITECTURE.md, ...) and anything under docs/.
      for (const [name] of text.matchAll(/\b(?:docs\/[\w-]+|[A-Z][A-Z_]+)\.md\b/g)) {
        const found = tracked.has(name) || [...tracked].some((t) => t.endsWith(`/${name}`));
        expect(found, `${f} cites ${name}`).toBe(true);
      }
    }
  });
});
