/**
 * Library scans at the sizes users have: a tree of N tiny, distinct `.safetensors` files (in folders of 500, as
 * model folders are), scanned into a fresh catalog (first scan: every file hashed and given a local entry), then
 * scanned again with nothing changed (the no-change rescan). Baseline, in the same run and alternating with the
 * rescans: `find <root> -printf '%p %s %T@\n'`, which walks the same tree and reads each file's size and
 * modification time — what any rescan has to do at least.
 *
 * Alone: `node --import tsx bench/scan-bench.ts --files 5000 [--files 50000] [--rounds 5] [--cache-dir DIR]`.
 * The trees are made once and kept in the cache folder (their modification times must stay put between runs).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openCatalogDatabase } from '../src/db/catalog-database.ts';
import { databasePathIn } from '../src/db/data-dir.ts';
import { migrateDatabase } from '../src/db/migrations.ts';
import { SEEN_TIMES_REFRESH_MS, scanLibrary, type ScanProgress } from '../src/library/scan.ts';
import { DEFAULT_CACHE_DIR } from './catalog.ts';

const FILES_PER_FOLDER = 500;

export interface ScanBenchRow {
  files: number;
  /** Seconds of the first scan (hash and index every file), once. */
  firstScanSeconds: number;
  /** Median seconds of a scan that finds nothing changed (its files' seen times not yet due). */
  rescanSeconds: number;
  /** Median seconds of such a scan when the files' seen times are due and rewritten (see `SEEN_TIMES_REFRESH_MS`). */
  refreshSeconds: number;
  /** Median seconds of `find -printf` over the same tree, or null where `find` is missing. */
  findSeconds: number | null;
  /** rescan / find: how many times the baseline's time a no-change rescan takes. */
  rescanRatio: number | null;
  /** SQL statements one no-change rescan ran. */
  rescanStatements: number;
  rounds: number;
}

/** A safetensors file of one tiny tensor whose value is the file's number: distinct weights (AutoV3) in every file. */
function tinySafetensors(index: number): Buffer {
  const header = Buffer.from(JSON.stringify({ w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const weights = Buffer.alloc(8);
  weights.writeDoubleLE(index);
  return Buffer.concat([length, header, weights]);
}

function ensureTree(cacheDir: string, files: number): string {
  const root = path.join(cacheDir, `scan-tree-${files}`);
  const done = path.join(cacheDir, `scan-tree-${files}.done`);
  if (existsSync(done)) return root;
  rmSync(root, { recursive: true, force: true });
  for (let i = 0; i < files; i++) {
    const folder = path.join(root, 'Lora', `set-${String(Math.floor(i / FILES_PER_FOLDER)).padStart(3, '0')}`);
    if (i % FILES_PER_FOLDER === 0) mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, `model-${String(i).padStart(6, '0')}.safetensors`), tinySafetensors(i));
  }
  writeFileSync(done, '');
  return root;
}

function find(root: string): number | null {
  const started = performance.now();
  const run = spawnSync('find', [root, '-printf', '%p %s %T@\\n'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (run.error || run.status !== 0) return null;
  return (performance.now() - started) / 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function check(progress: ScanProgress, files: number, unchanged: boolean): void {
  const expected = unchanged ? progress.filesUnchanged : progress.newModels;
  if (progress.filesSeen !== files || expected !== files || progress.problems.length > 0)
    throw new Error(
      `scan of ${files} files saw ${progress.filesSeen}, ${progress.filesUnchanged} unchanged, ${progress.newModels} new, ` +
        `problems: ${progress.problems.map((p) => p.message).join('; ')}`,
    );
}

export async function runScanBench(
  cacheDir: string,
  sizes: readonly number[],
  rounds: number,
  log: (line: string) => void,
): Promise<ScanBenchRow[]> {
  const rows: ScanBenchRow[] = [];
  for (const files of sizes) {
    const root = ensureTree(cacheDir, files);
    const dataDir = path.join(cacheDir, `scan-catalog-${files}`);
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    const databasePath = databasePathIn(dataDir);
    await migrateDatabase(databasePath);
    let statements = 0;
    const db = await openCatalogDatabase(databasePath, { onStatement: () => statements++ });
    try {
      const options = { roots: [root], libraryRoots: [root] };
      let started = performance.now();
      check(await scanLibrary(db, options), files, false);
      const firstScanSeconds = (performance.now() - started) / 1000;
      log(`scan ${files} files: first scan ${firstScanSeconds.toFixed(2)} s`);
      const rescans: number[] = [];
      const finds: number[] = [];
      let rescanStatements = 0;
      for (let round = 0; round < rounds; round++) {
        statements = 0;
        started = performance.now();
        check(await scanLibrary(db, options), files, true);
        rescans.push((performance.now() - started) / 1000);
        rescanStatements = statements;
        const seconds = find(root);
        if (seconds !== null) finds.push(seconds);
      }
      // The same rescan an hour and more later, each: every file's seen and verified times are rewritten.
      const refreshes: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const now = new Date(Date.now() + (round + 1) * 2 * SEEN_TIMES_REFRESH_MS);
        started = performance.now();
        check(await scanLibrary(db, { ...options, now }), files, true);
        refreshes.push((performance.now() - started) / 1000);
      }
      const rescanSeconds = median(rescans);
      const findSeconds = finds.length ? median(finds) : null;
      const row: ScanBenchRow = {
        files,
        firstScanSeconds,
        rescanSeconds,
        refreshSeconds: median(refreshes),
        findSeconds,
        rescanRatio: findSeconds ? rescanSeconds / findSeconds : null,
        rescanStatements,
        rounds,
      };
      log(
        `scan ${files} files: no-change rescan ${rescanSeconds.toFixed(3)} s (${rescanStatements} statements), ` +
          `find -printf ${findSeconds?.toFixed(3) ?? 'n/a'} s: ${row.rescanRatio?.toFixed(1) ?? 'n/a'} × (median of ${rounds}); ` +
          `with seen times due ${row.refreshSeconds.toFixed(3)} s`,
      );
      rows.push(row);
    } finally {
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return rows;
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntryPoint) {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', multiple: true },
      rounds: { type: 'string', default: '5' },
      'cache-dir': { type: 'string' },
    },
  });
  const sizes = (values.files ?? ['5000']).map(Number);
  await runScanBench(path.resolve(values['cache-dir'] ?? DEFAULT_CACHE_DIR), sizes, Number(values.rounds), (line) =>
    console.log(line),
  );
}
