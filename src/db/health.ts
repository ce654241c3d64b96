import type { CatalogDatabase } from './catalog-database.ts';

export interface HealthReport {
  ok: boolean;
  schemaVersion: string | null;
  sqliteVersion: string;
  journalMode: string;
}

/** One round-trip per fact, on the raw connection: health must not depend on the ORM being healthy. */
export function readHealth(db: CatalogDatabase): HealthReport {
  const { version } = db.statement('SELECT sqlite_version() AS version').get() as { version: string };
  const migration = db
    .statement(
      `SELECT migration_name AS name FROM _prisma_migrations
      WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name DESC LIMIT 1`,
    )
    .get() as { name: string } | undefined;
  const journalMode = String(db.sql.pragma('journal_mode', { simple: true }));
  return { ok: true, schemaVersion: migration?.name ?? null, sqliteVersion: version, journalMode };
}
