/**
 * The SQLite end of a transfer. As a source: one read transaction on a read-only connection, so every batch comes
 * from the same snapshot while the server or the desktop app keeps writing (WAL). As a target: a new file beside
 * the target path (`<target>.partial-<pid>`), migrated with the project's migrations, filled, checked, and renamed
 * to the target only when complete — a killed transfer leaves no target, only a partial file the next transfer
 * removes.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../../errors.ts';
import { BUSY_TIMEOUT_MS, databaseError } from '../database-errors.ts';
import { migrateDatabase, migrationStatus } from '../migrations.ts';
import { NOT_CATALOG_TABLES, type PlannedTable } from './plan.ts';
import { batchSelect, convertRows, type ReadSide, rowsText, type WriteSide } from './side.ts';
import { type Canonical, toSqlite } from './values.ts';

const quote = (name: string) => `"${name}"`;
const FILE_SUFFIXES = ['', '-journal', '-wal', '-shm'];

/** Catalog tables of `plan` holding rows, with their counts (`Models (60 rows)`), on an open connection. */
function tablesWithRows(db: Database.Database, plan: readonly PlannedTable[]): string[] {
  const present = new Set(
    (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name),
  );
  return plan
    .filter((t) => present.has(t.name))
    .map(
      (t) =>
        [
          t.name,
          Number(
            db
              .prepare(`SELECT count(*) FROM ${quote(t.name)}`)
              .pluck()
              .get(),
          ),
        ] as const,
    )
    .filter(([, rows]) => rows > 0)
    .map(([name, rows]) => `${name} (${rowsText(rows)})`);
}

export class SqliteSide implements ReadSide {
  readonly label: string;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();

  private constructor(db: Database.Database, label: string) {
    this.#db = db;
    this.label = label;
    db.defaultSafeIntegers(true);
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Reads on a connection the caller owns (a target reading back what it wrote). */
  static over(db: Database.Database, label: string): SqliteSide {
    return new SqliteSide(db, label);
  }

  /** A read-only snapshot of the catalog at `file` (already migrated), until `close()`. */
  static openSnapshot(file: string): SqliteSide {
    try {
      const db = new Database(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
      db.exec('BEGIN');
      // The snapshot is taken by the transaction's first read.
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      return new SqliteSide(db, file);
    } catch (error) {
      throw databaseError(error, file, 'Reading');
    }
  }

  /** A read, its SQLite failure as a coded error (DATABASE_LOCKED for a file another program holds, …). */
  #read<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw databaseError(error, this.label, 'Reading');
    }
  }

  async count(table: PlannedTable): Promise<number> {
    return this.#read(() =>
      Number(
        this.#statement(`SELECT count(*) FROM ${quote(table.name)}`)
          .pluck()
          .get(),
      ),
    );
  }

  async rowsAfter(table: PlannedTable, after: readonly unknown[] | null, limit: number): Promise<unknown[][]> {
    const statement = this.#statement(batchSelect(table, after !== null, () => '?'));
    return this.#read(() => statement.raw(true).all(...(after ?? []), limit) as unknown[][]);
  }

  async nextId(table: PlannedTable): Promise<number | null> {
    if (table.serial === null || !this.#hasSequenceTable()) return null;
    const seq = this.#statement('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get(table.name);
    return seq === undefined || seq === null ? null : Number(seq) + 1;
  }

  #hasSequenceTable(): boolean {
    return this.#statement(`SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'`).get() !== undefined;
  }

  /**
   * What the file holds beyond the catalog (the desktop app's own tables and columns: settings, LoRA sources,
   * `FileSizeBytes`, …), which a transfer does not copy; with counts, so the user sees what stays behind.
   */
  async leftBehind(plan: readonly PlannedTable[]): Promise<string[]> {
    const tables = (
      this.#statement(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
      ).all() as { name: string }[]
    ).map((r) => r.name);
    const notes: string[] = [];
    for (const name of tables) {
      const planned = plan.find((t) => t.name === name);
      if (!planned) {
        if (NOT_CATALOG_TABLES.includes(name)) continue;
        notes.push(`table ${name} (${rowsText(await this.count({ name } as PlannedTable))})`);
        continue;
      }
      const columns = (this.#statement('SELECT name FROM pragma_table_info(?)').all(name) as { name: string }[])
        .map((r) => r.name)
        .filter((column) => !planned.columns.some((c) => c.name === column));
      for (const column of columns) {
        const values = Number(
          this.#statement(`SELECT count(${quote(column)}) FROM ${quote(name)}`)
            .pluck()
            .get(),
        );
        notes.push(`column ${name}.${column} (${values} value${values === 1 ? '' : 's'})`);
      }
    }
    return notes;
  }

  async close(): Promise<void> {
    if (this.#db.inTransaction) this.#db.exec('COMMIT');
    this.#db.close();
  }
}

/** True while process `pid` runs (EPERM: it runs, as another user). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Partial files a killed transfer or backup left beside `file` (`<file>.partial-<pid>…` of a process now gone). */
export function removeStalePartials(file: string): string[] {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.partial-`;
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^\d+/.exec(name.slice(prefix.length))?.[0]);
    if (!pid || pid === process.pid || running(pid)) continue;
    rmSync(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Refuses a target file that exists and is not an empty catalog (TARGET_NOT_EMPTY, naming what it holds); an empty
 * catalog (one `npm start` created, say) may be replaced. Changes nothing.
 */
export function assertSqliteTargetFree(file: string, plan: readonly PlannedTable[]): void {
  if (!existsSync(file)) return;
  const refuse = (what: string) =>
    new AppError(
      'TARGET_NOT_EMPTY',
      `${file} ${what}; a transfer writes only a new file or an empty catalog. Choose another file, or move it away.`,
    );
  if (!statSync(file).isFile()) throw refuse('is not a file');
  let kind: string;
  try {
    kind = migrationStatus(file).kind;
  } catch {
    throw refuse('exists and is not a catalog database');
  }
  if (kind === 'empty') return;
  if (kind === 'foreign') throw refuse('holds tables of something other than a catalog');
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    const filled = tablesWithRows(db, plan);
    if (filled.length > 0) throw refuse(`already holds a catalog: ${filled.join(', ')}`);
  } finally {
    db.close();
  }
}

/**
 * A finished target opened once more as a server opens it (to build its search index, which turns WAL on) goes back
 * to rollback-journal mode: again one self-contained file, no `-wal` or `-shm` beside it. A program that opened it
 * meanwhile keeps it in WAL mode, which is as good.
 */
export function backToRollbackJournal(file: string): void {
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { fileMustExist: true, timeout: 0 });
    db.pragma('journal_mode = DELETE');
  } catch {
    // Busy: someone else has it open.
  } finally {
    db?.close();
  }
}

/** A new catalog file that takes the target's name when complete (see the top of this file). */
export class SqliteTarget implements WriteSide {
  readonly label: string;
  readonly #file: string;
  readonly #partial: string;
  readonly #source: string;
  readonly #plan: readonly PlannedTable[];
  #db: Database.Database | null;
  readonly #reader: SqliteSide;
  readonly #inserts = new Map<string, Database.Statement>();

  private constructor(
    file: string,
    partial: string,
    source: string,
    plan: readonly PlannedTable[],
    db: Database.Database,
  ) {
    this.#file = file;
    this.#partial = partial;
    this.#source = source;
    this.#plan = plan;
    this.#db = db;
    this.label = file;
    // Reading back for the checks uses the same connection.
    this.#reader = SqliteSide.over(db, file);
  }

  /** Creates `<file>.partial-<pid>` with the project's migrations (removing stale partial files first). */
  static async create(file: string, source: string, plan: readonly PlannedTable[]): Promise<SqliteTarget> {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    removeStalePartials(file);
    const partial = `${file}.partial-${process.pid}`;
    for (const suffix of FILE_SUFFIXES) rmSync(`${partial}${suffix}`, { force: true });
    try {
      await migrateDatabase(partial);
      const db = new Database(partial, { fileMustExist: true });
      // Nothing else opens this file, and a failed transfer deletes it: no journal, no syncs until the end.
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('foreign_keys = ON');
      return new SqliteTarget(file, partial, source, plan, db);
    } catch (error) {
      for (const suffix of FILE_SUFFIXES) rmSync(`${partial}${suffix}`, { force: true });
      throw databaseError(error, partial, 'Creating');
    }
  }

  #open(): Database.Database {
    if (!this.#db) throw new Error('the target file is closed');
    return this.#db;
  }

  count(table: PlannedTable): Promise<number> {
    return this.#reader.count(table);
  }

  rowsAfter(table: PlannedTable, after: readonly unknown[] | null, limit: number): Promise<unknown[][]> {
    return this.#reader.rowsAfter(table, after, limit);
  }

  nextId(table: PlannedTable): Promise<number | null> {
    return this.#reader.nextId(table);
  }

  async insert(table: PlannedTable, rows: readonly (readonly Canonical[])[]): Promise<void> {
    const db = this.#open();
    let insert = this.#inserts.get(table.name);
    if (!insert) {
      insert = db.prepare(
        `INSERT INTO ${quote(table.name)} (${table.columns.map((c) => quote(c.name)).join(', ')}) ` +
          `VALUES (${table.columns.map(() => '?').join(', ')})`,
      );
      this.#inserts.set(table.name, insert);
    }
    const values = convertRows(this.#source, table, rows, toSqlite);
    const statement = insert;
    try {
      db.transaction(() => {
        for (const row of values) statement.run(...row);
      })();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT'))
        throw new AppError(
          'INVALID_SOURCE_ROW',
          `${this.#source}: a row of ${table.name} breaks a rule of the catalog (${(error as Error).message}). ` +
            'Nothing was kept; fix the row and run again.',
          { table: table.name },
        );
      throw databaseError(error, this.#partial, 'Writing');
    }
  }

  async setNextId(table: PlannedTable, next: number): Promise<void> {
    const db = this.#open();
    // AUTOINCREMENT's counter is the last id handed out; inserting ids already raised it to the largest one.
    const last = next - 1;
    const updated = db.prepare('UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?').run(last, table.name);
    if (updated.changes === 0 && last > 0)
      db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table.name, last);
  }

  /**
   * Completes the file: it goes to rollback-journal mode (one self-contained file; a server turns WAL on when it
   * opens it), is flushed to disk, and takes the target's name. An empty catalog at the target is replaced only when
   * no other program has it open.
   */
  async commit(options: { overwrite: boolean }): Promise<void> {
    this.#open().close();
    this.#db = null;
    try {
      const db = new Database(this.#partial, { fileMustExist: true });
      try {
        db.pragma('journal_mode = DELETE');
      } finally {
        db.close();
      }
      const fd = openSync(this.#partial, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      if (existsSync(this.#file)) this.#prepareReplacement(options.overwrite);
      renameSync(this.#partial, this.#file);
      const dir = openSync(path.dirname(path.resolve(this.#file)), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    } catch (error) {
      this.#removePartial();
      throw error;
    }
  }

  /**
   * Before the new file takes the name of an existing one: no other program may have it open (leaving WAL mode
   * needs every other connection gone), its WAL must be gone (SQLite would replay a leftover `-wal` into the new
   * file), and unless `overwrite` (backup --force) it must still be an empty catalog.
   */
  #prepareReplacement(overwrite: boolean): void {
    let db: Database.Database | null = null;
    try {
      db = new Database(this.#file, { fileMustExist: true, timeout: 0 });
      db.pragma('journal_mode = DELETE');
    } catch (error) {
      db?.close();
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code))
        throw new AppError(
          'DATABASE_LOCKED',
          `${this.#file} is open in another program (a server?); stop it and run again. Nothing was written.`,
        );
      // Not a database (only `overwrite` gets here with one): it has no WAL of its own to replay.
      db = null;
    }
    try {
      if (db && !overwrite) {
        const filled = tablesWithRows(db, this.#plan);
        if (filled.length > 0) throw new AppError('TARGET_NOT_EMPTY', `${this.#file} was written to meanwhile.`);
      }
    } finally {
      db?.close();
    }
    for (const suffix of ['-wal', '-shm']) rmSync(`${this.#file}${suffix}`, { force: true });
  }

  #removePartial(): void {
    for (const suffix of FILE_SUFFIXES) rmSync(`${this.#partial}${suffix}`, { force: true });
  }

  async abort(): Promise<void> {
    this.#db?.close();
    this.#db = null;
    this.#removePartial();
  }
}
