#!/usr/bin/env node
// `npm run build` (also run by `npm install` after generate.mjs): compiles src/ into dist/ with esbuild, one output
// file per source file in the same layout, so that the CLI, `npm start` and the bin run plain JavaScript instead of
// transpiling TypeScript at every start (tsx took ~1.5 s of every start). Nothing is bundled: relative imports
// keep pointing at their neighbours (`./x.ts` becomes `./x.js`), packages stay in node_modules, the workers' `.mjs`
// files are copied beside the modules that start them, and `new URL('../..', import.meta.url)` still names the
// project root because dist/ is as deep as src/.
//
// `ensureBuilt()` is what the bin calls before every run: it compares a fingerprint of src/ (newest modification
// time and number of entries, directories included, so an added, removed or renamed file counts) with the one the
// last build recorded, and rebuilds when they differ. A build goes to a temporary folder that replaces dist/ only
// when complete, so a process starting meanwhile never loads half a build.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = path.join(ROOT, 'src');
export const DIST = path.join(ROOT, 'dist');
const STAMP = '.build-stamp.json';
const THIS_SCRIPT = fileURLToPath(import.meta.url);

/** Files under `dir` (relative paths), and the newest modification time and entry count of the tree. */
function walk(dir, files = [], facts = { newestMs: statSync(dir).mtimeMs, entries: 0 }) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const { mtimeMs } = statSync(full);
    facts.newestMs = Math.max(facts.newestMs, mtimeMs);
    facts.entries++;
    if (entry.isDirectory()) walk(full, files, facts);
    else files.push(path.relative(SRC, full));
  }
  return { files, facts };
}

/** What a build depends on: the sources, and how they are built (this script). */
function fingerprint() {
  const { files, facts } = walk(SRC);
  return {
    files,
    stamp: { newestMs: Math.max(facts.newestMs, statSync(THIS_SCRIPT).mtimeMs), entries: facts.entries },
  };
}

function recordedStamp() {
  try {
    return JSON.parse(readFileSync(path.join(DIST, STAMP), 'utf8'));
  } catch {
    return null;
  }
}

/** Whether dist/ was built from the sources as they are now. */
export function isFresh() {
  const recorded = recordedStamp();
  if (!recorded) return false;
  const { stamp } = fingerprint();
  return recorded.newestMs === stamp.newestMs && recorded.entries === stamp.entries;
}

/** Marks every import external; a relative `.ts` import is pointed at the `.js` file built beside it. */
const keepImports = {
  name: 'keep-imports',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const relative = args.path.startsWith('./') || args.path.startsWith('../');
      return { path: relative ? args.path.replace(/\.ts$/, '.js') : args.path, external: true };
    });
  },
};

export async function build() {
  const started = performance.now();
  // Taken before compiling: a source saved during the build makes the next start rebuild.
  const { files, stamp } = fingerprint();
  const { build: esbuild } = await import('esbuild');
  const out = `${DIST}.tmp-${process.pid}-${Date.now()}`;
  try {
    await esbuild({
      entryPoints: files.filter((f) => f.endsWith('.ts')).map((f) => path.join(SRC, f)),
      outdir: out,
      outbase: SRC,
      bundle: true,
      plugins: [keepImports],
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'error',
    });
    for (const file of files.filter((f) => f.endsWith('.mjs'))) {
      mkdirSync(path.dirname(path.join(out, file)), { recursive: true });
      writeFileSync(path.join(out, file), readFileSync(path.join(SRC, file)));
    }
    writeFileSync(path.join(out, STAMP), JSON.stringify(stamp));
    const old = `${DIST}.old-${process.pid}-${Date.now()}`;
    if (existsSync(DIST)) renameSync(DIST, old);
    renameSync(out, DIST);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return performance.now() - started;
}

/** Rebuilds dist/ when the sources changed since it was built (or it is missing); says so on stderr. */
export async function ensureBuilt() {
  // An installed copy without sources runs the dist/ it came with.
  if (!existsSync(SRC) || isFresh()) return;
  const reason = existsSync(DIST) ? 'src/ changed since dist/ was built' : 'dist/ is missing';
  const ms = await build();
  process.stderr.write(`${reason}: rebuilt dist/ in ${(ms / 1000).toFixed(1)} s\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === THIS_SCRIPT) {
  const ms = await build();
  console.log(`built dist/ in ${(ms / 1000).toFixed(1)} s`);
}
