/**
 * Direct access to the database a test server uses — its SQLite file, or in the `postgres` project its PostgreSQL
 * database — so tests check (and, where a test is about it, change) rows behind the API on either engine.
 *
 * `db` is Kysely typed with the catalog's generated tables, so most checks are written once for both engines.
 * Raw statements go through Kysely's `sql` tag: its values become `?` or `$n` as the engine wants; identifiers must
 * be double-quoted (PostgreSQL folds unquoted ones to lower case) and booleans written `TRUE`/`FALSE` (SQLite reads
 * them as 1/0). On PostgreSQL the connections are the catalog's own pools (`src/db/postgres/connection.ts`), which
 * read booleans as 0/1, `timestamptz` as the stored text and counts as numbers — rows read as the SQLite file's do.
 */
import Database from 'better-sqlite3';
import { type Compilable, Kysely, PostgresDialect, type RawBuilder, SqliteDialect, sql } from 'kysely';
import { atFileEnd } from './file-end.ts';
import type { DatabaseTarget } from '../../src/config.ts';
import { catalogPool } from '../../src/db/postgres/connection.ts';
import { type Database as CatalogTables, CORE_DATABASE_TABLES } from '../../src/db/schema.ts';

export { sql };

/** Where a catalog is: a test server's config, or the server itself. */
export type CatalogLocation =
  | { databasePath: string; database?: DatabaseTarget | undefined }
  | { config: { databasePath: string; database?: DatabaseTarget | undefined } };

type Statement<R> = RawBuilder<R> | Compilable<R>;

function isRawBuilder<R>(statement: Statement<R>): statement is RawBuilder<R> {
  return (statement as { isRawBuilder?: unknown }).isRawBuilder === true;
}

export interface CatalogHandle {
  readonly engine: 'sqlite' | 'postgres';
  /** Typed queries on the catalog, on its engine. */
  readonly db: Kysely<CatalogTables>;
  /** Every row of a statement. */
  all<R = Record<string, unknown>>(statement: Statement<unknown>): Promise<R[]>;
  /** The first row, or undefined. */
  first<R = Record<string, unknown>>(statement: Statement<unknown>): Promise<R | undefined>;
  /** The first column of the first row (undefined when there is no row). */
  value<T = unknown>(statement: Statement<unknown>): Promise<T>;
  /** The first column of every row. */
  column<T = unknown>(statement: Statement<unknown>): Promise<T[]>;
  /**
   * Every row of every catalog table, and how far each id sequence has gone (`sqlite_sequence`, PostgreSQL's
   * sequences): an id spent by an insert that wrote no row still shows. For before/after comparisons on one engine.
   */
  dump(): Promise<Record<string, unknown[]>>;
  /**
   * A value that changes whenever another connection commits a change to the catalog — no row written, not even
   * with the values it had, and no id spent: SQLite's `data_version`; on PostgreSQL every row version's `xmin` (an
   * UPDATE writes a new row version even when nothing differs) and the sequences.
   */
  changeMark(): Promise<unknown>;
  close(): Promise<void>;
}

/** The Core Database's catalog tables: what `dump`, the checksums and the SQLite dumps compare. */
export const CATALOG_TABLES = CORE_DATABASE_TABLES;

/**
 * The next turn of the event loop. A SQLite catalog's reads of one turn share one snapshot (`TurnSnapshot`), so
 * another connection's write is seen by them from the next turn on, as any other program's: a test writing through
 * its own connection lets a turn pass before the catalog reads (the handle's statements do).
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Opens the catalog `location` (a test server or its config) uses; closed after the file's tests. */
export function catalogHandle(location: CatalogLocation): CatalogHandle {
  const config = 'config' in location ? location.config : location;
  const target = config.database;
  const postgres = target?.engine === 'postgres';
  const db = postgres
    ? new Kysely<CatalogTables>({
        dialect: new PostgresDialect({
          pool: catalogPool({ url: target.url, display: target.display, max: 2, applicationName: 'dn-test-handle' }),
        }),
      })
    : new Kysely<CatalogTables>({ dialect: new SqliteDialect({ database: new Database(config.databasePath) }) });

  const all = async <R>(statement: Statement<unknown>): Promise<R[]> => {
    const compiled = isRawBuilder(statement) ? statement.compile(db) : statement.compile();
    const rows = (await db.executeQuery(compiled)).rows as R[];
    if (!postgres) await nextTurn();
    return rows;
  };

  const value = async <T>(statement: Statement<unknown>): Promise<T> => {
    const row = (await all(statement))[0] as Record<string, unknown> | undefined;
    return (row === undefined ? undefined : Object.values(row)[0]) as T;
  };
  const sequences = async (): Promise<unknown[]> =>
    postgres
      ? await Promise.all(
          (
            await column<string>(
              sql.raw("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"),
            )
          ).map(async (name) => ({
            name,
            // `pg_sequences.last_value` is NULL until the first nextval(); the sequence itself says where it is.
            ...(await all<object>(sql.raw(`SELECT last_value, is_called FROM "${name}"`)))[0],
          })),
        )
      : await all(sql.raw('SELECT name, seq FROM sqlite_sequence ORDER BY 1'));
  const column = async <T>(statement: Statement<unknown>): Promise<T[]> =>
    (await all(statement)).map((row) => Object.values(row as Record<string, unknown>)[0] as T);

  let closed = false;
  const handle: CatalogHandle = {
    engine: postgres ? 'postgres' : 'sqlite',
    db,
    all,
    async first<R>(statement: Statement<unknown>) {
      return (await all<R>(statement))[0];
    },
    value,
    column,
    async dump() {
      const tables = await Promise.all(
        CATALOG_TABLES.map(
          async (table) => [table, await all(sql.raw(`SELECT * FROM "${table}" ORDER BY 1, 2`))] as const,
        ),
      );
      return { ...Object.fromEntries(tables), sequences: await sequences() };
    },
    async changeMark() {
      if (!postgres) return value(sql.raw('PRAGMA data_version'));
      const tables = await column<string>(
        sql.raw("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"),
      );
      const versions = await Promise.all(
        tables.map((table) => value(sql.raw(`SELECT string_agg(xmin::text, ',' ORDER BY xmin::text) FROM "${table}"`))),
      );
      return { versions, sequences: await sequences() };
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
  atFileEnd(() => handle.close());
  return handle;
}
