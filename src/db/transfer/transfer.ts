/**
 * Moving a whole catalog between SQLite and PostgreSQL (`transfer`, `backup` of a PostgreSQL catalog, `seed` on
 * PostgreSQL, the tests' PostgreSQL copies): every table of the plan (`plan.ts`), a bounded batch at a time, from a
 * consistent snapshot of the source into an empty target, then every table read back from the target and compared
 * with the source by row count and content checksum (`checksum.ts`, over the canonical values of `values.ts`, so
 * both engines' rows hash alike). The target keeps nothing unless everything matched:
 *
 * - PostgreSQL target: one transaction (`postgres-side.ts`); a kill, a refused row or a mismatch rolls it back, and
 *   the catalog is empty as before (its migrations applied). Not resumable: a rerun starts over, which is simple
 *   and cannot mix rows of two source states.
 * - SQLite target: a new file renamed into place when complete (`sqlite-side.ts`).
 *
 * Order: the target is checked first (reachable, empty), so a wrong target changes nothing anywhere; then the
 * source is brought to this version's schema the way every command opening a catalog does — a desktop-app file is
 * adopted (additive: our tables and columns added, the app's own untouched); then the target is migrated with its
 * engine's migrations and filled. Sequences continue past the largest copied id (or the source's own counter, when
 * higher), so new rows never collide with copied ones.
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseTarget } from '../../config.ts';
import { AppError } from '../../errors.ts';
import { migrateDatabase, migrationStatus } from '../migrations.ts';
import { withoutPassword } from '../postgres/connection.ts';
import { migratePostgres, postgresMigrationStatus } from '../postgres/migrations.ts';
import { TableChecksum } from './checksum.ts';
import { catalogPlan, type PlannedTable } from './plan.ts';
import { assertPostgresTargetFree, PostgresSide } from './postgres-side.ts';
import { canonicalBatches, DEFAULT_BATCH_ROWS, type ReadSide } from './side.ts';
import { assertSqliteTargetFree, backToRollbackJournal, SqliteSide, SqliteTarget } from './sqlite-side.ts';

export { DEFAULT_BATCH_ROWS };

export interface TransferProgress {
  /** Copying the rows, reading them back, then building the target's search index (models). */
  phase: 'copy' | 'verify' | 'index';
  table: string;
  /** Rows copied (or checked; models indexed) so far, of `total`. */
  done: number;
  total: number;
  /** Rows in the batch just done: never more than the batch size. */
  batchRows: number;
}

export interface TableSummary {
  table: string;
  rows: number;
  /** SHA-256 of the table's canonical content, the same for source and target (see checksum.ts). */
  checksum: string;
}

export interface TransferResult {
  tables: TableSummary[];
  rows: number;
  seconds: number;
  /** What the source holds beyond the catalog and was not copied (`table AppSettings (1 row)`, `column …`). */
  leftBehind: string[];
  /** What bringing the source to this version's schema did (adopting a desktop-app file, migrations applied). */
  sourceMigrations: string[];
  /** Models whose search documents were built in the target (0 when left to the first server, `searchIndex: false`). */
  indexedModels: number;
}

export interface TransferOptions {
  /** Rows per batch at most (fewer when rows are large). */
  batchRows?: number;
  onProgress?: (progress: TransferProgress) => void;
  log?: (line: string) => void;
  /** A SQLite target that exists is replaced whatever it holds (`backup --force`); else only an empty catalog is. */
  overwrite?: boolean;
  /**
   * Build the target's search index once its rows are committed (default true), so its first searches answer at
   * once; else the first server to open it builds it (a backup leaves it so).
   */
  searchIndex?: boolean;
}

type Source = ReadSide & { leftBehind(plan: readonly PlannedTable[]): Promise<string[]>; close(): Promise<void> };

function describeTarget(target: DatabaseTarget): string {
  return target.engine === 'sqlite' ? target.path : target.display;
}

function sameFile(a: string, b: string): boolean {
  const real = (file: string) => (existsSync(file) ? realpathSync(file) : path.resolve(file));
  return real(a) === real(b);
}

/** Source and target must be one catalog on each engine (BAD_USER_INPUT otherwise: the command line is wrong). */
function assertTwoEngines(from: DatabaseTarget, to: DatabaseTarget): void {
  if (from.engine !== to.engine) return;
  const same =
    from.engine === 'sqlite' && to.engine === 'sqlite'
      ? sameFile(from.path, to.path)
      : describeTarget(from) === describeTarget(to);
  throw new AppError(
    'BAD_USER_INPUT',
    same
      ? `The source and the target are the same catalog (${describeTarget(from)}).`
      : `transfer moves a catalog between SQLite and PostgreSQL, and both ${describeTarget(from)} and ` +
          `${describeTarget(to)} are ${from.engine === 'sqlite' ? 'SQLite files (copy one with backup)' : 'PostgreSQL databases (copy one with pg_dump)'}.`,
  );
}

/** Brings the source to this version's schema, as every command opening a catalog does; refuses what is no catalog. */
async function migrateSource(from: DatabaseTarget, log: (line: string) => void): Promise<string[]> {
  const notes: string[] = [];
  const note = (line: string) => {
    notes.push(line);
    log(line);
  };
  if (from.engine === 'sqlite') {
    if (!existsSync(from.path)) throw new AppError('NOT_FOUND', `There is no catalog database at ${from.path}.`);
    if (migrationStatus(from.path).kind === 'empty')
      throw new AppError('NOT_FOUND', `${from.path} holds no catalog (it has no tables).`);
    await migrateDatabase(from.path, { log: note });
  } else {
    const status = await postgresMigrationStatus(from);
    if (status.kind === 'empty')
      throw new AppError('NOT_FOUND', `${from.display} holds no catalog (it has no tables).`);
    await migratePostgres(from, { log: note });
  }
  return notes;
}

function openSource(from: DatabaseTarget, plan: readonly PlannedTable[]): Promise<Source> | Source {
  return from.engine === 'sqlite' ? SqliteSide.openSnapshot(from.path) : PostgresSide.openSnapshot(from, plan);
}

/** Copies the catalog `from` into the empty catalog `to` on the other engine; see the top of this file. */
export async function transferCatalog(
  from: DatabaseTarget,
  to: DatabaseTarget,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const started = performance.now();
  try {
    return await transfer(from, to, options, started);
  } catch (error) {
    if (error instanceof AppError) throw error;
    // Anything else (a driver's message) goes out without either URL's password.
    let message = error instanceof Error ? error.message : String(error);
    for (const end of [from, to]) if (end.engine === 'postgres') message = withoutPassword(message, end.url);
    throw new AppError(
      'TRANSFER_FAILED',
      `Transferring ${describeTarget(from)} to ${describeTarget(to)} failed: ${message}. Nothing was kept.`,
    );
  }
}

async function transfer(
  from: DatabaseTarget,
  to: DatabaseTarget,
  options: TransferOptions,
  started: number,
): Promise<TransferResult> {
  assertTwoEngines(from, to);
  const plan = catalogPlan();
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const log = options.log ?? (() => {});
  const progress = options.onProgress ?? (() => {});
  if (to.engine === 'postgres') await assertPostgresTargetFree(to, plan);
  else if (!options.overwrite) assertSqliteTargetFree(to.path, plan);
  const sourceMigrations = await migrateSource(from, log);
  const source = await openSource(from, plan);
  try {
    const leftBehind = await source.leftBehind(plan);
    if (to.engine === 'postgres') await migratePostgres(to, { log });
    const target =
      to.engine === 'postgres'
        ? await PostgresSide.openTarget(to, plan, source.label)
        : await SqliteTarget.create(to.path, source.label, plan);
    const summaries: TableSummary[] = [];
    let total = 0;
    try {
      const counts = new Map<string, number>();
      for (const table of plan) counts.set(table.name, await source.count(table));
      total = [...counts.values()].reduce((a, b) => a + b, 0);

      let done = 0;
      const copied = new Map<string, { rows: number; checksum: string }>();
      for (const table of plan) {
        const checksum = new TableChecksum();
        let lastKey = 0;
        // One batch is written while the next is read: the target's server works while this process reads and
        // converts. At most two batches are in memory.
        let writing: Promise<void> = Promise.resolve();
        for await (const batch of canonicalBatches(source, table, batchRows)) {
          for (const row of batch.rows) checksum.add(row);
          await writing;
          writing = target.insert(table, batch.rows).then(() => {
            done += batch.rows.length;
            progress({ phase: 'copy', table: table.name, done, total, batchRows: batch.rows.length });
          });
          // Awaited before the next batch is written; until then a failure must not count as unhandled.
          writing.catch(() => {});
          if (table.serial !== null) lastKey = Number(batch.rows.at(-1)![table.keyIndexes[0]!]);
        }
        await writing;
        copied.set(table.name, { rows: checksum.rows, checksum: checksum.digest() });
        if (table.serial !== null)
          await target.setNextId(table, Math.max(lastKey + 1, (await source.nextId(table)) ?? 1));
      }

      let checked = 0;
      const mismatches: string[] = [];
      for (const table of plan) {
        const checksum = new TableChecksum();
        for await (const batch of canonicalBatches(target, table, batchRows)) {
          for (const row of batch.rows) checksum.add(row);
          checked += batch.rows.length;
          progress({ phase: 'verify', table: table.name, done: checked, total, batchRows: batch.rows.length });
        }
        const expected = copied.get(table.name)!;
        const found = { rows: checksum.rows, checksum: checksum.digest() };
        summaries.push({ table: table.name, ...expected });
        // The source's count was taken in the same snapshot: a difference there would be a reading error.
        if (
          found.rows !== expected.rows ||
          found.checksum !== expected.checksum ||
          expected.rows !== counts.get(table.name)
        )
          mismatches.push(
            `${table.name}: ${counts.get(table.name)} rows counted and ${expected.rows} read (checksum ${expected.checksum.slice(0, 16)}) ` +
              `in the source, ${found.rows} rows (checksum ${found.checksum.slice(0, 16)}) in the target`,
          );
      }
      if (mismatches.length > 0)
        throw new AppError(
          'TRANSFER_MISMATCH',
          `After copying, ${target.label} does not hold what ${source.label} holds — ${mismatches.join('; ')}. ` +
            'Nothing was kept.',
          { tables: mismatches.map((m) => m.slice(0, m.indexOf(':'))) },
        );
      if (target instanceof PostgresSide) await target.commit();
      else await target.commit({ overwrite: options.overwrite ?? false });
    } catch (error) {
      await target.abort();
      throw error;
    }
    const indexedModels = options.searchIndex === false ? 0 : await buildSearchIndex(to, progress, log);
    return {
      tables: summaries,
      rows: total,
      seconds: (performance.now() - started) / 1000,
      leftBehind,
      sourceMigrations,
      indexedModels,
    };
  } finally {
    await source.close();
  }
}

/**
 * The committed target's search documents, built as a server would build them at start (the copy's triggers listed
 * every model). The catalog is complete without them: when this fails, the first server to open it builds the rest.
 */
async function buildSearchIndex(
  to: DatabaseTarget,
  progress: (p: TransferProgress) => void,
  log: (line: string) => void,
): Promise<number> {
  const [{ openCatalog }, { refreshSearchIndex }] = await Promise.all([
    import('../open-catalog.ts'),
    import('../../search/search-index.ts'),
  ]);
  let db: Awaited<ReturnType<typeof openCatalog>> | undefined;
  let previous = 0;
  try {
    db = await openCatalog(to);
    return await refreshSearchIndex(db, {
      onProgress: (done, total) => {
        progress({ phase: 'index', table: 'ModelSearch', done, total, batchRows: done - previous });
        previous = done;
      },
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    log(
      `The copy is complete, but building its search index stopped (${to.engine === 'postgres' ? withoutPassword(reason, to.url) : reason}); ` +
        'the first server to open it builds the rest.',
    );
    return previous;
  } finally {
    await db?.close();
    if (to.engine === 'sqlite') backToRollbackJournal(to.path);
  }
}

/**
 * Row counts and content checksums of every catalog table of a catalog at this version's schema, from one
 * snapshot, computed exactly as a transfer computes them. Changes nothing.
 */
export async function catalogChecksums(
  catalog: DatabaseTarget,
  options: { batchRows?: number } = {},
): Promise<TableSummary[]> {
  const plan = catalogPlan();
  const source = await openSource(catalog, plan);
  try {
    const summaries: TableSummary[] = [];
    for (const table of plan) {
      const checksum = new TableChecksum();
      for await (const batch of canonicalBatches(source, table, options.batchRows ?? DEFAULT_BATCH_ROWS))
        for (const row of batch.rows) checksum.add(row);
      summaries.push({ table: table.name, rows: checksum.rows, checksum: checksum.digest() });
    }
    return summaries;
  } finally {
    await source.close();
  }
}
