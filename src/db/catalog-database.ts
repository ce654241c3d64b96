/**
 * The open catalog: typed queries (Kysely) over two better-sqlite3 connections to the same WAL-mode file — one
 * for reads, one for writes — so readers never wait for a writer and never see its uncommitted rows.
 *
 * Writes go through `write()`: one transaction at a time in this process, each on the write connection, which
 * nothing else uses, so no other request's statement can land inside it. The wait for another process's write lock
 * (the desktop app, the CLI, a second server) happens asynchronously (see `sqlite/driver.ts`): the event loop keeps
 * serving reads and /health while a writer waits.
 */
import Database from 'better-sqlite3';
import { Kysely, sql, type Transaction } from 'kysely';
import { BUSY_TIMEOUT_MS, databaseError } from './database-errors.ts';
import { type SqlDialect, sqliteDialect } from './dialect.ts';
import { RequestCatalog, type RequestQueries } from './request-catalog.ts';
import type { RequestScope } from './request-scope.ts';
import type { Database as CatalogTables } from './schema.ts';
import { catalogKysely, runShapedDirectly, type ShapedQueries } from './shaped.ts';
import { pollCatalogRevision } from './revision.ts';
import { catalogSqliteDialect, runnerDialect, type StatementRunner, TurnSnapshot } from './sqlite/driver.ts';
import { ReadWorker } from './sqlite/read-worker.ts';

export { BUSY_TIMEOUT_MS };
export type CatalogTransaction = Transaction<CatalogTables>;
/** Typed queries: the read connection, or a write transaction. */
export type CatalogQueries = Kysely<CatalogTables>;

/** Per-connection settings; `journal_mode=WAL` is persistent, the others are re-applied on every open. */
export const CONNECTION_PRAGMAS = [
  'journal_mode = WAL',
  'foreign_keys = ON',
  `busy_timeout = ${BUSY_TIMEOUT_MS}`,
  'synchronous = NORMAL',
] as const;

/**
 * Each connection's page cache: 48 MiB (SQLite's default is 2 MiB, better-sqlite3's 16). A batch of a thousand hash
 * look-ups or a page of nested rows touches pages all over a large catalog; with a small cache each is a system call
 * into the OS cache, and latency grew with catalog size (measured by `npm run bench`, L vs S: at L a 1,000-hash
 * look-up fills about 55 MiB, and a 32 MiB cache made it ~40 % more costly); an import's look-ups and index updates
 * gain the same way. Filled only as used, and counted in the server's resident memory: 64 MiB took the L peak past
 * twice the baseline's, 48 kept the look-up's cost (issue 14).
 */
export const CACHE_PRAGMA = 'cache_size = -49152';

export interface CatalogDatabase {
  readonly path: string;
  /** Typed queries on the read connection. */
  readonly kysely: Kysely<CatalogTables>;
  /**
   * Reads that may run for hundreds of milliseconds (search, facets, statistics), on a worker thread's own read-only
   * connection so the event loop stays free (see `sqlite/read-worker.ts`).
   */
  readonly heavy: Kysely<CatalogTables>;
  /**
   * `kysely` for shaped and compiled statements (`runShaped`, `runCompiled`): a request's view runs them with its
   * stop check without making a Kysely instance (see `StatementTarget`); the catalog itself is `kysely`.
   */
  readonly statements: ShapedQueries;
  /**
   * Where full-text searches run (shaped and compiled statements, as `statements`): `heavy` outside requests and for
   * a request whose searches are estimated to take long (`RequestScope.searchesAreHeavy`), else the read connection.
   */
  readonly searchStatements: ShapedQueries;
  /** Queries on the read connection that never wait for a turn (see `yieldIfBusy`): /health answers while requests compute. */
  readonly probe: Kysely<CatalogTables>;
  /** SQL that differs between engines. */
  readonly dialect: SqlDialect;
  /**
   * Runs `body` in one IMMEDIATE transaction on the write connection, after every earlier `write()` of this process
   * has finished and once no other process holds the write lock (waiting asynchronously, at most the configured
   * lock wait, then DATABASE_LOCKED). All of it commits, or (when it throws) none of it.
   */
  write<T>(body: (trx: CatalogTransaction) => Promise<T>): Promise<T>;
  /**
   * Calls `onChange` soon after the catalog revision (`revision.ts`) changes, whoever wrote, until the returned
   * function is called: SQLite reads the revision every REVISION_POLL_MS, PostgreSQL listens for its NOTIFY on a
   * connection of its own (and calls `onChange` whenever that connection is made again, for what it missed).
   */
  watchRevision(onChange: () => void): () => void;
  /** Rewrites the file without its free pages (after the writes before it), returning the space to the file system. */
  vacuum(): Promise<void>;
  /** This catalog seen by one request: every statement and write first checks that the request is still wanted. */
  forRequest(scope: RequestScope): CatalogDatabase;
  /** The request this view belongs to (a view made by `forRequest`); none outside requests. */
  readonly scope?: RequestScope;
  close(): Promise<void>;
}

export interface OpenCatalogOptions {
  /** Called with every SQL statement either connection executes, and its parameters (tests and benchmarks count them). */
  onStatement?: (sqlText: string, parameters: readonly unknown[]) => void;
  /**
   * How long a write waits for another process's write lock — on PostgreSQL, how long any statement waits for each
   * lock on rows or tables another connection holds (default BUSY_TIMEOUT_MS).
   */
  lockWaitMs?: number;
}

function openConnection(databasePath: string): Database.Database {
  try {
    const db = new Database(databasePath, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    for (const pragma of CONNECTION_PRAGMAS) db.pragma(pragma);
    db.pragma(CACHE_PRAGMA);
    return db;
  } catch (error) {
    throw databaseError(error, databasePath, 'Opening');
  }
}

/** Opens an already migrated catalog file. */
export async function openCatalogDatabase(
  databasePath: string,
  options: OpenCatalogOptions = {},
): Promise<CatalogDatabase> {
  const { onStatement } = options;
  const lockWaitMs = options.lockWaitMs ?? BUSY_TIMEOUT_MS;
  const readConnection = openConnection(databasePath);
  let writeConnection: Database.Database;
  try {
    writeConnection = openConnection(databasePath);
  } catch (error) {
    readConnection.close();
    throw error;
  }
  const connection = { onStatement, lockWaitMs, databasePath, busyTimeoutMs: BUSY_TIMEOUT_MS };
  const snapshot = new TurnSnapshot(readConnection);
  const readDialect = catalogSqliteDialect(readConnection, { ...connection, snapshot, yieldBetweenStatements: true });
  const kysely = catalogKysely(readDialect);
  const readWorker = new ReadWorker({
    databasePath,
    busyTimeoutMs: BUSY_TIMEOUT_MS,
    pragmas: [CACHE_PRAGMA],
    onStatement,
  });
  const heavyDialect = runnerDialect(readWorker);
  const heavy = catalogKysely(heavyDialect);
  const probe = catalogKysely(
    catalogSqliteDialect(readConnection, { ...connection, snapshot, yieldBetweenStatements: false }),
  );
  const writeDialect = catalogSqliteDialect(writeConnection, { ...connection, yieldBetweenStatements: false });
  const writer = new Kysely<CatalogTables>({ dialect: writeDialect });
  // Writes of this process, one after another (a promise chain; a failed write does not break the chain).
  let writes: Promise<unknown> = Promise.resolve();

  // The read worker computes off the event loop: the request's turn goes to the next one while it waits.
  const onReadWorker = (scope: RequestScope): StatementRunner => ({
    run: (compiled, before) => scope.away(() => readWorker.run(compiled, before)),
  });
  const requestQueries: RequestQueries = {
    // Checked right before each statement, after its wait for a turn: a stopped request runs nothing more.
    reads: (scope) =>
      catalogKysely(
        readDialect.checked(() => scope.throwIfStopped()),
        kysely,
      ),
    runRead: (scope, compiled) => readDialect.runChecked(compiled, () => scope.throwIfStopped()),
    heavy: (scope) =>
      catalogKysely(
        runnerDialect(onReadWorker(scope), () => scope.throwIfStopped()),
        heavy,
      ),
    runHeavy: (scope, compiled) => onReadWorker(scope).run(compiled, () => scope.throwIfStopped()),
    // Waiting for earlier writes or another program's write lock is not computing: the turn goes meanwhile.
    write: (scope, body) => scope.away(() => db.write(body)),
  };
  const db: CatalogDatabase = {
    path: databasePath,
    kysely,
    heavy,
    statements: kysely,
    searchStatements: heavy,
    probe,
    dialect: sqliteDialect,
    write<T>(body: (trx: CatalogTransaction) => Promise<T>): Promise<T> {
      // The write connection runs one transaction at a time and nothing else, so the transaction's shaped statements
      // may go straight to it (an import runs some 35 a model).
      const run = () => writer.transaction().execute((trx) => body(runShapedDirectly(trx, writeDialect.run)));
      // Ended before the caller goes on: its next read opens a snapshot holding what it wrote.
      const result = writes.then(run, run).finally(() => snapshot.endNow());
      writes = result.catch(() => undefined);
      return result;
    },
    watchRevision: (onChange) => pollCatalogRevision(db, onChange),
    vacuum() {
      const run = async () => {
        snapshot.endNow();
        await sql`VACUUM`.execute(writer);
      };
      const result = writes.then(run, run);
      writes = result.catch(() => undefined);
      return result;
    },
    forRequest: (scope) => new RequestCatalog(db, requestQueries, scope),
    async close() {
      await writes;
      await Promise.all([kysely.destroy(), heavy.destroy(), probe.destroy(), writer.destroy(), readWorker.close()]);
      snapshot.endNow();
      readConnection.close();
      writeConnection.close();
    },
  };
  return db;
}
