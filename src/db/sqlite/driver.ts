/**
 * Kysely's driver for the SQLite catalog, over better-sqlite3. Kysely's own SQLite driver prepares every statement
 * anew and sleeps in SQLite's busy handler; this one keeps prepared statements by SQL text, takes the write lock
 * with `BEGIN IMMEDIATE` waiting asynchronously (see `beginImmediate`), lets the event loop run between statements
 * of the read connection (`yieldIfBusy`), and converts parameters to what the catalog stores (see `toSqlite`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type Dialect,
  type Kysely,
} from 'kysely';
import { lockedError } from '../database-errors.ts';
import { yieldIfBusy } from '../request-scope.ts';
import { toStoredTimestamp } from '../timestamps.ts';

/** A parameter as SQLite stores it: booleans as 0/1, instants as ISO-8601 text (see `toStoredTimestamp`). */
export function toSqlite(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return toStoredTimestamp(value);
  return value;
}

export interface ConnectionOptions {
  /** Called with every statement's SQL (tests and benchmarks count them). */
  onStatement?: ((sqlText: string, parameters: readonly unknown[]) => void) | undefined;
  /** Let other work run between statements (the read connection; never inside a write transaction). */
  yieldBetweenStatements: boolean;
  /** How long `BEGIN IMMEDIATE` waits for another process's write lock. */
  lockWaitMs: number;
  databasePath: string;
  busyTimeoutMs: number;
  /** The read connection's turn snapshot (see `TurnSnapshot`); none on the write connection. */
  snapshot?: TurnSnapshot | undefined;
}

/**
 * The read connection's statements of one turn of the event loop in one read transaction. On its own, each
 * statement is a transaction of its own, and in WAL mode beginning and ending one takes the WAL read lock and
 * gives it back (file-lock system calls and a look at the shared WAL index): 5 µs of a 6 µs one-row read in a loop,
 * ~25 µs under load — a name search made four of them. Opened by the turn's first read, ended when the turn
 * ends (`setImmediate`), and at once after every write of this process has committed (`endNow`), so that what a
 * request has written it reads back; another program's write is seen from the next turn on, as if the reads had
 * come a moment earlier. In WAL mode a read transaction blocks no writer, and one ending every turn never holds a
 * checkpoint back for long.
 */
export class TurnSnapshot {
  readonly #sql: Database.Database;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  readonly #rollback: Database.Statement;
  #endScheduled = false;
  /** Results of statements that read the same in one snapshot (see `readsTheSameInASnapshot`), until it ends. */
  readonly #kept = new Map<CompiledQuery, unknown[]>();
  readonly #endAtTurnEnd = () => {
    this.#endScheduled = false;
    this.endNow();
  };

  constructor(sql: Database.Database) {
    this.#sql = sql;
    this.#begin = sql.prepare('BEGIN');
    this.#commit = sql.prepare('COMMIT');
    this.#rollback = sql.prepare('ROLLBACK');
  }

  /** Before a read: the turn's transaction, opened if none is. */
  enter(): void {
    if (this.#sql.inTransaction) return;
    // A transaction SQLite ended by itself (an error can roll one back) took its snapshot's kept rows with it.
    this.#kept.clear();
    this.#begin.run();
    if (!this.#endScheduled) {
      this.#endScheduled = true;
      setImmediate(this.#endAtTurnEnd);
    }
  }

  /** Ends the snapshot now (the next read opens a new one): after a write, before a statement that writes or closes. */
  endNow(): void {
    this.#kept.clear();
    if (!this.#sql.inTransaction) return;
    try {
      this.#commit.run();
    } catch (error) {
      // A read transaction has nothing to commit; should ending it fail, it is given up, not left open.
      if (!this.#sql.inTransaction) return;
      this.#rollback.run();
      if (this.#sql.inTransaction) throw error;
    }
  }

  /** The rows of `compiled` in this snapshot: read by `read` the first time. */
  keptRows(compiled: CompiledQuery, read: () => unknown[]): unknown[] {
    let rows = this.#kept.get(compiled);
    if (!rows) {
      rows = read();
      this.#kept.set(compiled, rows);
    }
    return rows;
  }
}

const sameInASnapshot = new WeakSet<CompiledQuery>();

/**
 * Marks a compiled statement without parameters whose rows one snapshot always gives alike, so that the read
 * connection reads it once per turn (`TurnSnapshot`) however many requests ask: the catalog revision, which a search
 * reads at the start of every request. The rows are shared: read them, never change them.
 */
export function readsTheSameInASnapshot(compiled: CompiledQuery): CompiledQuery {
  sameInASnapshot.add(compiled);
  return compiled;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Runs compiled statements; `beforeStatement` is called right before one starts (a request's stop check). */
export interface StatementRunner {
  run<R>(compiled: CompiledQuery, beforeStatement?: () => void): Promise<QueryResult<R>>;
}

class CatalogConnection implements DatabaseConnection, StatementRunner {
  readonly #sql: Database.Database;
  readonly #options: ConnectionOptions;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(sql: Database.Database, options: ConnectionOptions) {
    this.#sql = sql;
    this.#options = options;
  }

  /** A statement of the catalog's queries: prepared once, and reported to `onStatement` at every run. */
  statement(sqlText: string, parameters: readonly unknown[] = []): Database.Statement {
    this.#options.onStatement?.(sqlText, parameters);
    return this.#prepared(sqlText);
  }

  /** Prepared once per SQL text (better-sqlite3's `prepare()`, `pragma()` and `exec()` prepare at every call). */
  #prepared(sqlText: string): Database.Statement {
    let statement = this.#statements.get(sqlText);
    if (!statement) {
      statement = this.#sql.prepare(sqlText);
      this.#statements.set(sqlText, statement);
    }
    return statement;
  }

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return this.run<R>(compiled);
  }

  async run<R>(compiled: CompiledQuery, beforeStatement?: () => void): Promise<QueryResult<R>> {
    if (this.#options.yieldBetweenStatements) await yieldIfBusy();
    // After the wait for a turn: a request stopped meanwhile runs nothing more.
    beforeStatement?.();
    const snapshot = this.#options.snapshot;
    if (snapshot && sameInASnapshot.has(compiled)) {
      snapshot.enter();
      return { rows: snapshot.keptRows(compiled, () => this.statement(compiled.sql).all()) as R[] };
    }
    const statement = this.statement(compiled.sql, compiled.parameters);
    const parameters = compiled.parameters.map(toSqlite);
    if (statement.reader) {
      snapshot?.enter();
      return { rows: statement.all(parameters) as R[] };
    }
    snapshot?.endNow();
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered (the catalog reads bounded pages)
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('The catalog does not stream query results.');
  }

  /**
   * BEGIN IMMEDIATE without SQLite's busy handler (which sleeps on the event loop): tried at once, then again after
   * short asynchronous pauses until the lock wait has passed (then DATABASE_LOCKED).
   */
  async beginImmediate(): Promise<void> {
    const until = performance.now() + this.#options.lockWaitMs;
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      this.#prepared('PRAGMA busy_timeout = 0').run();
      try {
        this.#prepared('BEGIN IMMEDIATE').run();
        return;
      } catch (error) {
        if (!isBusy(error)) throw error;
        if (performance.now() >= until) throw lockedError(this.#options.databasePath, this.#options.lockWaitMs);
      } finally {
        this.#prepared(`PRAGMA busy_timeout = ${this.#options.busyTimeoutMs}`).run();
      }
      await sleep(pause);
    }
  }

  endTransaction(outcome: 'COMMIT' | 'ROLLBACK'): void {
    if (outcome === 'COMMIT' || this.#sql.inTransaction) this.#prepared(outcome).run();
  }
}

/** A runner as a Kysely connection, checking `check` right before each statement runs (a request's stop). */
class CheckedConnection implements DatabaseConnection {
  readonly #inner: StatementRunner;
  readonly #check: () => void;

  constructor(inner: StatementRunner, check: () => void) {
    this.#inner = inner;
    this.#check = check;
  }

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return this.#inner.run<R>(compiled, this.#check);
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered (the catalog reads bounded pages)
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('The catalog does not stream query results.');
  }
}

class CatalogDriver implements Driver {
  readonly connection: CatalogConnection;

  constructor(connection: CatalogConnection) {
    this.connection = connection;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.connection;
  }

  async beginTransaction(): Promise<void> {
    await this.connection.beginImmediate();
  }

  async commitTransaction(): Promise<void> {
    this.connection.endTransaction('COMMIT');
  }

  async rollbackTransaction(): Promise<void> {
    this.connection.endTransaction('ROLLBACK');
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {}
}

/** Kysely's SQLite dialect (compiler, adapter) with the catalog's driver over an open connection. */
export function catalogSqliteDialect(sql: Database.Database, options: ConnectionOptions): CatalogDialect {
  return dialectOver(new CatalogConnection(sql, options));
}

export interface CatalogDialect extends Dialect {
  /**
   * The same connection (and its prepared statements), with `check` run right before every statement. `signal`
   * (the request's) lets an engine that runs statements elsewhere stop one under way; SQLite's run synchronously.
   */
  checked(check: () => void, signal?: AbortSignal): CatalogDialect;
  /** Runs one compiled statement exactly as a Kysely instance over this dialect would (see `shaped.ts`). */
  run<R>(compiled: CompiledQuery): Promise<QueryResult<R>>;
  /** `checked(check, signal).run(compiled)`, without making a dialect (a request's statements: `StatementTarget`). */
  runChecked<R>(compiled: CompiledQuery, check: () => void, signal?: AbortSignal): Promise<QueryResult<R>>;
}

/** A driver for reads only: transactions run through `write()` on the write connection. */
function readOnlyDriver(connection: () => DatabaseConnection): Driver {
  return {
    init: async () => {},
    acquireConnection: async () => connection(),
    beginTransaction: () => {
      throw new Error('Transactions run through write().');
    },
    commitTransaction: async () => {},
    rollbackTransaction: async () => {},
    releaseConnection: async () => {},
    destroy: async () => {},
  };
}

function sqliteDialectWith(
  driver: Driver,
  checked: (check: () => void) => CatalogDialect,
  run: CatalogDialect['run'],
  runChecked: CatalogDialect['runChecked'],
): CatalogDialect {
  return {
    checked,
    run,
    runChecked,
    createDriver: () => driver,
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createAdapter: () => new SqliteAdapter(),
    createIntrospector: (db: Kysely<unknown>) => new SqliteIntrospector(db),
  };
}

function dialectOver(connection: CatalogConnection, check?: () => void): CatalogDialect {
  const driver = check ? readOnlyDriver(() => new CheckedConnection(connection, check)) : new CatalogDriver(connection);
  return sqliteDialectWith(
    driver,
    (next) => dialectOver(connection, next),
    (compiled) => connection.run(compiled, check),
    (compiled, next) => connection.run(compiled, next),
  );
}

/** Kysely's SQLite dialect over any statement runner (the read worker), for reads. */
export function runnerDialect(runner: StatementRunner, check: () => void = () => {}): CatalogDialect {
  return sqliteDialectWith(
    readOnlyDriver(() => new CheckedConnection(runner, check)),
    (next) => runnerDialect(runner, next),
    (compiled) => runner.run(compiled, check),
    (compiled, next) => runner.run(compiled, next),
  );
}
