/**
 * Start-up: how long the CLI takes to answer `--help`, and `serve` to listen on the demo catalog, against what
 * starting Node itself costs (`node -e ''`), alternating in the same run. Both go through the bin as users run it
 * (dist/, rebuilt first when stale: a warm-up run does that). `--with-tsx` adds the way it ran before dist/
 * (`node --import tsx src/cli/main.ts --help`) for comparison.
 *
 * Alone: `node --import tsx bench/startup-bench.ts [--rounds 9] [--with-tsx] [--cache-dir DIR]`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { DEFAULT_CACHE_DIR } from './catalog.ts';

const BIN = path.join(PROJECT_ROOT, 'bin', 'diffusion-nexus.js');

export interface StartupRow {
  name: string;
  title: string;
  /** Median milliseconds. */
  oursMs: number;
  /** Median milliseconds of `node -e ''` in the same rounds. */
  nodeMs: number;
  /** ours / node: how many Node start-ups this costs. */
  ratio: number;
  rounds: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function timed(args: string[]): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${run.stderr}`);
  return performance.now() - started;
}

/** Milliseconds from spawning `serve` until it prints its URL; the server is then stopped. */
function timeToListening(dataDir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', dataDir], { cwd: PROJECT_ROOT });
    let output = '';
    let listening: number | null = null;
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (listening === null && /listening on http/.test(output)) {
        listening = performance.now() - started;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', reject);
    child.on('close', () =>
      listening === null ? reject(new Error(`serve did not start: ${output}`)) : resolve(listening),
    );
  });
}

export async function runStartupBench(
  cacheDir: string,
  rounds: number,
  withTsx: boolean,
  log: (line: string) => void,
): Promise<StartupRow[]> {
  // The demo catalog (`seed` with its defaults), made once.
  const dataDir = path.join(cacheDir, 'startup-demo');
  if (!existsSync(path.join(dataDir, 'seeded'))) {
    mkdirSync(dataDir, { recursive: true });
    timed([BIN, 'seed', '--data-dir', dataDir]);
    spawnSync('touch', [path.join(dataDir, 'seeded')]);
  }
  timed([BIN, '--help']); // builds dist/ when it is stale, so no round pays for that
  const node: number[] = [];
  const help: number[] = [];
  const serve: number[] = [];
  const tsx: number[] = [];
  for (let round = 0; round < rounds; round++) {
    node.push(timed(['-e', '']));
    help.push(timed([BIN, '--help']));
    serve.push(await timeToListening(dataDir));
    if (withTsx) tsx.push(timed(['--import', 'tsx', 'src/cli/main.ts', '--help']));
  }
  const nodeMs = median(node);
  const row = (name: string, title: string, values: number[]): StartupRow => ({
    name,
    title,
    oursMs: median(values),
    nodeMs,
    ratio: median(values) / nodeMs,
    rounds,
  });
  const rows = [
    row('help', '`diffusion-nexus --help` (the bin, dist/)', help),
    row('serve', '`diffusion-nexus serve` until listening, demo catalog', serve),
  ];
  if (withTsx) rows.push(row('help-tsx', '`node --import tsx src/cli/main.ts --help` (before dist/)', tsx));
  for (const r of rows)
    log(`start-up ${r.name}: ${r.oursMs.toFixed(0)} ms, node -e '' ${r.nodeMs.toFixed(0)} ms: ${r.ratio.toFixed(1)} ×`);
  return rows;
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntryPoint) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '9' },
      'with-tsx': { type: 'boolean', default: false },
      'cache-dir': { type: 'string' },
    },
  });
  await runStartupBench(
    path.resolve(values['cache-dir'] ?? DEFAULT_CACHE_DIR),
    Number(values.rounds),
    values['with-tsx'] ?? false,
    (line) => console.log(line),
  );
}
