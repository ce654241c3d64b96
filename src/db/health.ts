/** What /health and Query.health report: the database answers, its newest migration, the engine and its version. */
import { sql } from 'kysely';
import type { CatalogDatabase } from './catalog-database.ts';
import type { EngineName } from './dialect.ts';
import { type SearchIndexProgress, searchIndexProgress } from '../search/search-index.ts';

export interface HealthReport {
  ok: boolean;
  schemaVersion: string | null;
  engine: EngineName;
  /** The engine's version: SQLite's library version, or the PostgreSQL server's. */
  serverVersion: string;
  /** SQLite only (empty on PostgreSQL). */
  sqliteVersion: string;
  /** SQLite only (empty on PostgreSQL). */
  journalMode: string;
  /** The search index's build under way, if any (searches answer SEARCH_INDEX_BUILDING while a large one runs). */
  searchIndex: SearchIndexProgress;
}

export async function readHealth(db: CatalogDatabase): Promise<HealthReport> {
  const engine = db.dialect.name;
  const version =
    engine === 'sqlite'
      ? sql<string>`sqlite_version()`.as('version')
      : sql<string>`current_setting('server_version')`.as('version');
  const { version: serverVersion } = await db.probe.selectNoFrom(version).executeTakeFirstOrThrow();
  const migration = await db.probe
    .selectFrom('_prisma_migrations')
    .select('migration_name')
    .where('finished_at', 'is not', null)
    .where('rolled_back_at', 'is', null)
    .orderBy('migration_name', 'desc')
    .limit(1)
    .executeTakeFirst();
  const journal =
    engine === 'sqlite' ? (await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db.probe)).rows : [];
  return {
    ok: true,
    schemaVersion: migration?.migration_name ?? null,
    engine,
    serverVersion,
    sqliteVersion: engine === 'sqlite' ? serverVersion : '',
    journalMode: engine === 'sqlite' ? String(journal[0]?.journal_mode) : '',
    searchIndex: searchIndexProgress(db),
  };
}
