/**
 * The open catalog: one Prisma client (plugin-prisma reads) plus one raw better-sqlite3 connection for everything
 * else — the loaders' hot read paths (scoped counts, per-parent pages, BLOBs, hash look-ups) and every write. Both
 * connections use WAL, so readers never block the writer.
 *
 * Writes go through `write()`: one transaction at a time in this process (a synchronous body between BEGIN
 * IMMEDIATE and COMMIT, so no other request's statement can land inside it), and the wait for another process's
 * write lock (the desktop app, the CLI, a second server) happens asynchronously — the event loop keeps serving
 * reads and /health while a writer waits, instead of sleeping inside SQLite's busy handler.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Kysely, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs } from 'kysely';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from '../generated/prisma/client.ts';
import { BUSY_TIMEOUT_MS, databaseError, lockedError } from './database-errors.ts';
import type { RequestScope } from './request-scope.ts';
import { type SqlDialect, sqliteDialect } from './dialect.ts';
import type { Database as CatalogTables } from './schema.ts';
import { catalogSqliteDialect } from './sqlite/driver.ts';

export { BUSY_TIMEOUT_MS };

/** Per-connection settings; `journal_mode=WAL` is persistent, the others are re-applied on every open. */
export const CONNECTION_PRAGMAS = [
  'journal_mode = WAL',
  'foreign_keys = ON',
  `busy_timeout = ${BUSY_TIMEOUT_MS}`,
  'synchronous = NORMAL',
] as const;

/**
 * The read connection's page cache: 64 MiB (SQLite's default is 2 MiB). A batch of a thousand hash look-ups or a
 * page of nested rows touches pages all over a large catalog; with the default cache each is a system call into
 * the OS cache, and latency grew with catalog size (measured by `npm run bench`, L vs S). Filled only as used.
 */
export const READ_CACHE_PRAGMA = 'cache_size = -65536';

export interface CatalogDatabase {
  readonly path: string;
  /** Typed queries on the read connection (see `sqlite/driver.ts`). */
  readonly kysely: Kysely<CatalogTables>;
  /** SQL that differs between engines. */
  readonly dialect: SqlDialect;
  readonly prisma: PrismaClient;
  /** Raw connection for loaders; prepare statements once through `statement()`. */
  readonly sql: Database.Database;
  /** Prepared-statement cache keyed by SQL text. */
  statement(sqlText: string): Database.Statement;
  /**
   * Runs `body` in one IMMEDIATE transaction, after every earlier `write()` of this process has finished and once
   * no other process holds the write lock (waiting asynchronously, at most the configured lock wait, then
   * DATABASE_LOCKED). `body` is synchronous: all of it commits, or (when it throws) none of it.
   */
  write<T>(body: () => T): Promise<T>;
  /** This catalog seen by one request: every statement and write first checks that the request is still wanted. */
  forRequest(scope: RequestScope): CatalogDatabase;
  close(): Promise<void>;
}

export interface OpenCatalogOptions {
  /** Called with every SQL statement either connection executes (tests and benchmarks count them). */
  onStatement?: (sqlText: string) => void;
  /** How long a write waits for another process's write lock (default BUSY_TIMEOUT_MS). */
  lockWaitMs?: number;
}

function applyPragmas(db: Database.Database): void {
  for (const pragma of CONNECTION_PRAGMAS) db.pragma(pragma);
}

function openRaw(databasePath: string): Database.Database {
  try {
    const db = new Database(databasePath, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    applyPragmas(db);
    db.pragma(READ_CACHE_PRAGMA);
    return db;
  } catch (error) {
    throw databaseError(error, databasePath, 'Opening');
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * BEGIN IMMEDIATE without SQLite's busy handler (which sleeps on the event loop): tried at once, then again after
 * short asynchronous pauses until `waitMs` has passed.
 */
async function beginImmediate(sql: Database.Database, databasePath: string, waitMs: number): Promise<void> {
  const until = performance.now() + waitMs;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    sql.pragma('busy_timeout = 0');
    try {
      sql.exec('BEGIN IMMEDIATE');
      return;
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (performance.now() >= until) throw lockedError(databasePath, waitMs);
    } finally {
      sql.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
    await sleep(pause);
  }
}

/** Every query of a request first checks that the request is still wanted. */
class StopWithScope implements KyselyPlugin {
  readonly #scope: RequestScope;

  constructor(scope: RequestScope) {
    this.#scope = scope;
  }

  transformQuery(args: PluginTransformQueryArgs) {
    this.#scope.throwIfStopped();
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs) {
    return args.result;
  }
}

/** Opens an already migrated catalog file. */
export async function openCatalogDatabase(
  databasePath: string,
  options: OpenCatalogOptions = {},
): Promise<CatalogDatabase> {
  const { onStatement } = options;
  const lockWaitMs = options.lockWaitMs ?? BUSY_TIMEOUT_MS;
  const sql = openRaw(databasePath);
  const adapter = new PrismaBetterSqlite3({ url: `file:${databasePath}`, timeout: BUSY_TIMEOUT_MS });
  const prisma = onStatement
    ? new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] })
    : new PrismaClient({ adapter });
  if (onStatement) (prisma as PrismaClient<'query'>).$on('query', (event) => onStatement(event.query));
  try {
    await prisma.$connect();
    for (const pragma of CONNECTION_PRAGMAS) await prisma.$queryRawUnsafe(`PRAGMA ${pragma}`);
  } catch (error) {
    sql.close();
    throw databaseError(error, databasePath, 'Opening');
  }
  const statements = new Map<string, Database.Statement>();
  const kysely = new Kysely<CatalogTables>({
    dialect: catalogSqliteDialect(sql, { onStatement, yieldBetweenStatements: true, lockWaitMs, databasePath, busyTimeoutMs: BUSY_TIMEOUT_MS }),
  });
  // Writes of this process, one after another (a promise chain; a failed write does not break the chain).
  let writes: Promise<unknown> = Promise.resolve();

  const db: CatalogDatabase = {
    path: databasePath,
    kysely,
    dialect: sqliteDialect,
    prisma,
    sql,
    statement(sqlText) {
      let statement = statements.get(sqlText);
      if (!statement) {
        statement = sql.prepare(sqlText);
        statements.set(sqlText, statement);
      }
      if (onStatement) onStatement(sqlText);
      return statement;
    },
    write<T>(body: () => T): Promise<T> {
      const run = async (): Promise<T> => {
        await beginImmediate(sql, databasePath, lockWaitMs);
        try {
          const result = body();
          sql.exec('COMMIT');
          return result;
        } catch (error) {
          if (sql.inTransaction) sql.exec('ROLLBACK');
          throw error;
        }
      };
      const result = writes.then(run, run);
      writes = result.catch(() => undefined);
      return result;
    },
    forRequest(scope) {
      return {
        ...db,
        kysely: kysely.withPlugin(new StopWithScope(scope)),
        statement(sqlText) {
          scope.throwIfStopped();
          return db.statement(sqlText);
        },
        write(body) {
          scope.throwIfStopped();
          return db.write(body);
        },
      };
    },
    async close() {
      await writes;
      await prisma.$disconnect();
      sql.close();
    },
  };
  return db;
}
