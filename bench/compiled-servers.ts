/**
 * The bench's own servers (the baselines, bare yoga) compiled to plain JavaScript before they start, as our server
 * runs from dist/: under `node --import tsx` each process also ran tsx's loader (a second thread with its own heap:
 * an idle process took 88 MB of memory under tsx against 43 MB without), which made the baselines' peak memory — the
 * yardstick of the memory target — larger and their start slower than the same program's.
 *
 * Each server is bundled with the bench files it imports; what it imports from src/ is the module compiled in dist/
 * (built first when stale, as `npm start` does), so a worker started by that code finds its file where it would for
 * our server. Written under node_modules/.cache, where packages resolve as they do for the sources and nothing is
 * added to the clone's files.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { DIST, ensureBuilt } from '../scripts/build.mjs';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';

const SRC = path.join(PROJECT_ROOT, 'src');
const OUT_DIR = path.join(PROJECT_ROOT, 'node_modules', '.cache', 'diffusion-nexus-bench');

/** The servers the bench starts, by their source. */
export const BENCH_SERVERS = ['bench/baseline-server.ts', 'bench/yoga-floor-server.ts'] as const;
export type BenchServer = (typeof BENCH_SERVERS)[number];

let compiled: Promise<void> | null = null;

/** An import of a module under src/ points at its compiled file in dist/ (absolute: the output lives elsewhere). */
const srcFromDist: Plugin = {
  name: 'src-from-dist',
  setup(build) {
    build.onResolve({ filter: /\.ts$/ }, (args) => {
      const file = path.resolve(args.resolveDir, args.path);
      const relative = path.relative(SRC, file);
      if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
      return { path: pathToFileURL(path.join(DIST, relative.replace(/\.ts$/, '.js'))).href, external: true };
    });
  },
};

/** The compiled file of one of the bench's servers (all are compiled once per run). */
export async function compiledBenchServer(server: BenchServer): Promise<string> {
  compiled ??= (async () => {
    await ensureBuilt();
    const { build } = await import('esbuild');
    await build({
      entryPoints: BENCH_SERVERS.map((entry) => path.join(PROJECT_ROOT, entry)),
      outdir: OUT_DIR,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      packages: 'external',
      plugins: [srcFromDist],
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'error',
    });
  })();
  await compiled;
  return path.join(OUT_DIR, `${path.basename(server, '.ts')}.mjs`);
}
