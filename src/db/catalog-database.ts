/**
 * The open catalog: one Prisma client (writes and plugin-prisma reads) plus one raw better-sqlite3 connection for
 * the hot read paths the loaders own (scoped counts, per-parent pages, BLOBs, hash lookups) where a prepared
 * statement beats a generated query. Both connections use WAL, so readers never block the writer.
 */
import Database from 'better-sqlite3';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from '../generated/prisma/client.ts';
import { BUSY_TIMEOUT_MS, databaseError } from './database-errors.ts';

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
  readonly prisma: PrismaClient;
  /** Raw connection for loaders; prepare statements once through `statement()`. */
  readonly sql: Database.Database;
  /** Prepared-statement cache keyed by SQL text. */
  statement(sqlText: string): Database.Statement;
  close(): Promise<void>;
}

export interface OpenCatalogOptions {
  /** Called with every SQL statement either connection executes (tests and benchmarks count them). */
  onStatement?: (sqlText: string) => void;
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

/** Opens an already migrated catalog file. */
export async function openCatalogDatabase(databasePath: string, options: OpenCatalogOptions = {}): Promise<CatalogDatabase> {
  const { onStatement } = options;
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
  return {
    path: databasePath,
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
    async close() {
      await prisma.$disconnect();
      sql.close();
    },
  };
}
