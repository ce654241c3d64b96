/**
 * What our migrations created must still be there. The desktop app's EF Core migrations rebuild a table to change
 * a column (copy to `ef_temp_…`, drop, rename), and the rebuilt table has only the columns, indexes and triggers
 * EF knows: a rebuilt ModelFiles loses HashAutoV3, the hash look-up indexes and the search triggers, while
 * `_prisma_migrations` still says every migration is applied. So at every start (`migrateDatabase`) the objects
 * each applied migration added are checked and the missing ones re-created — additively, in one transaction — and
 * `status` lists what is missing.
 */
import Database from 'better-sqlite3';
import type { MigrationFileInfo } from './migrations.ts';
import { advanceSqliteRevision, REVISION_TABLE } from './revision.ts';

export interface OwnedObject {
  kind: 'table' | 'column' | 'index' | 'trigger';
  /** `Table.Column` for a column, else the object's name. */
  name: string;
  table: string;
  /** The statement that re-creates it. */
  sql: string;
  /** The migration that added it. */
  migration: string;
}

interface Snapshot {
  objects: Map<string, { type: string; table: string; sql: string }>;
  columns: Map<string, Map<string, string>>;
}

/** The column as `ALTER TABLE … ADD COLUMN` declares it, from `pragma_table_info`. */
function columnDeclaration(column: { name: string; type: string; notnull: number; dflt_value: string | null }): string {
  const notNull = column.notnull ? ' NOT NULL' : '';
  const fallback = column.dflt_value === null ? '' : ` DEFAULT ${column.dflt_value}`;
  return `"${column.name}" ${column.type}${notNull}${fallback}`;
}

function snapshot(db: Database.Database): Snapshot {
  const rows = db
    .prepare(
      `SELECT type, name, tbl_name AS "table", sql FROM sqlite_master
       WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND type IN ('table', 'index', 'trigger')`,
    )
    .all() as { type: string; name: string; table: string; sql: string }[];
  const virtual = rows.filter((r) => /^CREATE VIRTUAL TABLE/i.test(r.sql)).map((r) => `${r.name}_`);
  // A virtual table's shadow tables come and go with it.
  const own = rows.filter((r) => !virtual.some((prefix) => r.type === 'table' && r.name.startsWith(prefix)));
  const columns = new Map<string, Map<string, string>>();
  for (const row of own.filter((r) => r.type === 'table')) {
    const info = db.prepare(`SELECT name, type, "notnull", dflt_value FROM pragma_table_info(?)`).all(row.name) as {
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
    }[];
    columns.set(row.name, new Map(info.map((c) => [c.name, columnDeclaration(c)])));
  }
  return { objects: new Map(own.map((r) => [r.name, { type: r.type, table: r.table, sql: r.sql }])), columns };
}

const ownedByMigrations = new Map<string, OwnedObject[]>();

/**
 * Every table, column, index and trigger the migrations after the first add, in the order they add them: found
 * by applying the migrations one by one to an in-memory database and comparing its schema before and after each.
 */
export function ownedObjects(migrations: readonly MigrationFileInfo[]): OwnedObject[] {
  const key = migrations.map((m) => `${m.name}:${m.checksum}`).join('|');
  const cached = ownedByMigrations.get(key);
  if (cached) return cached;
  const scratch = new Database(':memory:');
  let owned: OwnedObject[] = [];
  try {
    const [initial, ...later] = migrations;
    if (initial) scratch.exec(initial.sql);
    for (const migration of later) {
      const before = snapshot(scratch);
      scratch.exec(migration.sql);
      const after = snapshot(scratch);
      const added = [...after.objects].filter(([name]) => !before.objects.has(name));
      for (const [name, object] of added.filter(([, o]) => o.type === 'table'))
        owned.push({ kind: 'table', name, table: name, sql: object.sql, migration: migration.name });
      for (const [table, columns] of after.columns) {
        const earlier = before.columns.get(table);
        if (!earlier) continue;
        for (const [column, declaration] of columns)
          if (!earlier.has(column))
            owned.push({
              kind: 'column',
              name: `${table}.${column}`,
              table,
              sql: `ALTER TABLE "${table}" ADD COLUMN ${declaration}`,
              migration: migration.name,
            });
      }
      for (const [name, object] of added.filter(([, o]) => o.type !== 'table'))
        owned.push({
          kind: object.type as 'index' | 'trigger',
          name,
          table: object.table,
          sql: object.sql,
          migration: migration.name,
        });
    }
    // What a later migration dropped again is not owned: re-creating it would undo that migration.
    const final = snapshot(scratch);
    owned = owned.filter((object) =>
      object.kind === 'column'
        ? final.columns.get(object.table)?.has(object.name.slice(object.table.length + 1))
        : final.objects.has(object.name),
    );
  } finally {
    scratch.close();
  }
  ownedByMigrations.set(key, owned);
  return owned;
}

/** The owned objects of the applied migrations that the database lacks. */
export function missingOwnedObjects(
  db: Database.Database,
  owned: readonly OwnedObject[],
  applied: ReadonlySet<string>,
) {
  const live = snapshot(db);
  return owned.filter((object) => {
    if (!applied.has(object.migration)) return false;
    if (object.kind !== 'column') return !live.objects.has(object.name);
    const columns = live.columns.get(object.table);
    return columns !== undefined && !columns.has(object.name.slice(object.table.length + 1));
  });
}

/** Objects of the search index: when one was missing, writes went unseen by it, so every document is rebuilt. */
const SEARCH_OBJECT = /ModelSearch/;
/**
 * Objects of the catalog revision and of the changes per model: when one was missing, writes went unseen by it, so
 * answers cached at the number it still shows may be stale and the changes recorded are incomplete: the revision is
 * raised (and its row made again when the table was gone), and changes are known only from the new number on.
 */
const REVISION_OBJECT = /CatalogRevision|CatalogModelChanges/;

/**
 * Re-creates the owned objects of the applied migrations that the database lacks, in one IMMEDIATE transaction
 * (so what is missing is decided under the write lock: two processes starting at once do not both re-create it).
 * A re-created column starts empty (what it held went with the rebuilt table); a re-created search trigger or table
 * marks every model for re-indexing, a re-created revision trigger raises the revision. Returns what it re-created.
 */
export function repairMissingObjects(
  db: Database.Database,
  owned: readonly OwnedObject[],
  applied: ReadonlySet<string>,
): OwnedObject[] {
  return db
    .transaction(() => {
      const missing = missingOwnedObjects(db, owned, applied);
      for (const object of missing) db.exec(object.sql);
      if (missing.some((object) => SEARCH_OBJECT.test(object.name))) {
        // The postings, lengths, vocabulary and statistics start again with the rebuilt documents (a re-created
        // table lost its rows; the others would count the documents twice).
        db.exec(`DELETE FROM "ModelSearchPostings"; DELETE FROM "ModelSearchLengths"; DELETE FROM "ModelSearchTerms";
          INSERT OR IGNORE INTO "ModelSearchStats" ("Id", "Documents", "Tokens", "ReferenceLength") VALUES (1, 0, 0, 0);
          UPDATE "ModelSearchStats" SET "Documents" = 0, "Tokens" = 0`);
        db.exec(`INSERT OR IGNORE INTO "ModelSearchDirty" ("ModelId") SELECT "Id" FROM "Models"`);
      }
      if (missing.some((object) => REVISION_OBJECT.test(object.name)))
        advanceSqliteRevision(db, { newEpoch: missing.some((object) => object.name === REVISION_TABLE) });
      return missing;
    })
    .immediate();
}
