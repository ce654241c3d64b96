/** What /health and Query.health report: the database answers, its newest migration, SQLite's version and mode. */
import { sql } from 'kysely';
import type { CatalogDatabase } from './catalog-database.ts';

export interface HealthReport {
  ok: boolean;
  schemaVersion: string | null;
  sqliteVersion: string;
  journalMode: string;
}

export async function readHealth(db: CatalogDatabase): Promise<HealthReport> {
  const { version } = await db.probe
    .selectNoFrom(sql<string>`sqlite_version()`.as('version'))
    .executeTakeFirstOrThrow();
  const migration = await db.probe
    .selectFrom('_prisma_migrations')
    .select('migration_name')
    .where('finished_at', 'is not', null)
    .where('rolled_back_at', 'is', null)
    .orderBy('migration_name', 'desc')
    .limit(1)
    .executeTakeFirst();
  const journal = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db.probe);
  return {
    ok: true,
    schemaVersion: migration?.migration_name ?? null,
    sqliteVersion: version,
    journalMode: String(journal.rows[0]?.journal_mode),
  };
}
