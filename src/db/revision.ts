/**
 * The catalog revision: one number that every write to the tables GraphQL answers are made of raises, whoever
 * writes — this server, the CLI, another instance, the desktop app (another SQLite connection that knows nothing of
 * us), any SQL client — because triggers maintain it (the AddCatalogRevision migrations of both engines). An answer
 * computed after reading revision N is current for as long as the revision is N, which is what ETags and the
 * response cache rely on (`src/server/revision-cache.ts`).
 *
 * Covered: the eight catalog tables, the scan index (`LocalFiles`: duplicate files), the payload archive and the
 * metadata history (`Model.payloads`, `Model.history`). Not covered: `Downloads` (progress is written many times a
 * second; the fields reading it are never cached), `CivitaiLookups` (read by mutations only), the search tables
 * (rebuilt from covered tables, which raised the number already) and `_prisma_migrations`.
 *
 * `epoch` names the database's line of numbers: random when the table is made, new after a restore, so that one
 * (epoch, revision) pair never stands for two different catalogs — a restore brings back an older number, a
 * transfer target and its source count independently.
 */
import type Database from 'better-sqlite3';
import { CompiledQuery } from 'kysely';
import type { CatalogDatabase } from './catalog-database.ts';
import type { RequestScope } from './request-scope.ts';
import { runCompiled } from './shaped.ts';
import { readsTheSameInASnapshot } from './sqlite/driver.ts';
import { CORE_DATABASE_TABLES } from './schema.ts';

export interface CatalogRevision {
  revision: number;
  epoch: string;
}

export const REVISION_TABLE = 'CatalogRevision';

/** The tables whose writes raise the revision: each carries the AddCatalogRevision triggers. */
export const TABLES_RAISING_REVISION = [
  ...CORE_DATABASE_TABLES,
  'LocalFiles',
  'ModelPayloads',
  'MetadataChangeSets',
  'MetadataChanges',
] as const;

/** PostgreSQL's NOTIFY channel: announced once per transaction that wrote a covered table (empty payload). */
export const REVISION_CHANNEL = 'dn_catalog_revision';

/**
 * The same text on both engines, compiled once: the read is one statement by primary key, nothing else (on SQLite
 * once per turn of the event loop, whose reads share a snapshot).
 */
const READ_REVISION = readsTheSameInASnapshot(
  CompiledQuery.raw(`SELECT "Revision", "Epoch" FROM "${REVISION_TABLE}" WHERE "Id" = 1`),
);

/** The current revision, or null when the row is missing (a restore of an older backup is being migrated). */
export async function readCatalogRevision(db: CatalogDatabase): Promise<CatalogRevision | null> {
  const { rows } = await runCompiled<{ Revision: number | bigint | string; Epoch: string }>(
    db.statements,
    READ_REVISION,
  );
  const row = rows[0];
  return row ? { revision: Number(row.Revision), epoch: row.Epoch } : null;
}

/** One text naming a revision of one catalog (its epoch and number): a key that changes when either does. */
export function revisionStamp(read: CatalogRevision): string {
  return `${read.epoch}:${read.revision}`;
}

/**
 * The revision as one request sees it: read at its first use in the request and kept there (a search wants it for
 * its cost estimate, its vocabulary and its index check: one statement instead of three); read at every call
 * outside requests.
 */
export function requestCatalogRevision(db: CatalogDatabase): Promise<CatalogRevision | null> {
  return scopedCatalogRevision(db, db.scope);
}

/**
 * `requestCatalogRevision` for code that holds the request's scope but not a view of the catalog for it (the
 * persisted-query cache reads the revision before the request's context exists): read through `db` and kept in
 * `scope`, so the request's own reads find it there.
 */
export function scopedCatalogRevision(
  db: CatalogDatabase,
  scope: RequestScope | undefined,
): Promise<CatalogRevision | null> {
  if (!scope) return readCatalogRevision(db);
  scope.catalogRevision ??= readCatalogRevision(db);
  return scope.catalogRevision;
}

/**
 * SQLite, on a connection of its own (restore, schema repair): raises the revision past `atLeast` and past where it
 * stands, and with `newEpoch` starts a new line of numbers (a restore). Creates the row when it is missing.
 */
export function advanceSqliteRevision(db: Database.Database, options: { atLeast?: number; newEpoch: boolean }): void {
  const epoch = options.newEpoch ? 'lower(hex(randomblob(16)))' : '"Epoch"';
  db.prepare(
    `INSERT INTO "${REVISION_TABLE}" ("Id", "Revision", "Epoch") SELECT 1, 0, lower(hex(randomblob(16)))
     WHERE NOT EXISTS (SELECT 1 FROM "${REVISION_TABLE}" WHERE "Id" = 1)`,
  ).run();
  db.prepare(
    `UPDATE "${REVISION_TABLE}" SET "Revision" = max("Revision", ?) + 1, "Epoch" = ${epoch} WHERE "Id" = 1`,
  ).run(options.atLeast ?? 0);
  // Changes per model (src/db/catalog-changes.ts) are known from the new number on: writes before it went unseen
  // (a trigger was missing) or belong to another line of numbers. Absent before the AddCatalogModelChanges migration.
  const tracksChanges = db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = 'ChangesFrom'`).get(REVISION_TABLE);
  if (tracksChanges) db.prepare(`UPDATE "${REVISION_TABLE}" SET "ChangesFrom" = "Revision" WHERE "Id" = 1`).run();
}

/**
 * How often a SQLite catalog's revision is read while someone follows changes: writes by other programs (the CLI,
 * the desktop app) announce themselves nowhere else. One statement by primary key, and nothing while nobody follows.
 */
export const REVISION_POLL_MS = 250;

/**
 * Calls `onChange` whenever the revision read every REVISION_POLL_MS differs from the last one read (SQLite's
 * `watchRevision`). Returns the function that stops it. A failed read is tried again at the next tick.
 */
export function pollCatalogRevision(db: CatalogDatabase, onChange: () => void): () => void {
  let last: CatalogRevision | null = null;
  let reading = false;
  const tick = async () => {
    if (reading) return;
    reading = true;
    try {
      const now = await readCatalogRevision(db);
      // The first read signals too: what was written before the watch began and after the caller last looked.
      if (now && (!last || now.revision !== last.revision || now.epoch !== last.epoch)) onChange();
      last = now ?? last;
    } catch {
      // The file is busy or being replaced (a restore): the next tick reads again.
    } finally {
      reading = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), REVISION_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** SQLite: the revision of a file's open connection, or null where the table or its row is missing. */
export function sqliteRevision(db: Database.Database): CatalogRevision | null {
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(REVISION_TABLE);
  if (!exists) return null;
  const row = db.prepare(`SELECT "Revision", "Epoch" FROM "${REVISION_TABLE}" WHERE "Id" = 1`).get() as
    | { Revision: number | bigint; Epoch: string }
    | undefined;
  return row ? { revision: Number(row.Revision), epoch: row.Epoch } : null;
}
