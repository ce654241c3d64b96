/**
 * What a transfer copies: the catalog's tables, each after the tables it references, with every column's kind of
 * value and the key rows are read in order of. Taken from the project's own SQLite migrations, run on an in-memory
 * database — the one description of the catalog both engines are checked against (`prisma/postgres` must agree,
 * and the PostgreSQL side checks it column by column). Declared types are read from there rather than from the
 * file being copied, because a desktop-app file declares booleans as INTEGER and timestamps as TEXT.
 *
 * SQLite-only derived tables (the FTS5 search index and its dirty list, `external-tables.ts`) are not in the plan:
 * on a SQLite target the search triggers list every copied model as changed, and the index is built from the rows
 * when a server starts (or before the first search). `_prisma_migrations` belongs to each engine's own migrations.
 */
import Database from 'better-sqlite3';
import { AppError } from '../../errors.ts';
import { EXTERNAL_TABLES, POSTGRES_EXTERNAL_TABLES } from '../external-tables.ts';
import { listMigrations } from '../migrations.ts';
import { MIGRATIONS_DIR } from '../project-paths.ts';
import { MODEL_CHANGES_TABLE } from '../catalog-changes.ts';
import { REVISION_TABLE } from '../revision.ts';

/** How values of a column are compared and converted (see `values.ts`). */
export type ColumnKind = 'int4' | 'int8' | 'float8' | 'boolean' | 'timestamp' | 'text' | 'bytes';

/** Declared types of the SQLite migrations (Prisma's SQLite types) → kinds. */
const KIND_OF_DECLARED_TYPE: Readonly<Record<string, ColumnKind>> = {
  INTEGER: 'int4',
  BIGINT: 'int8',
  REAL: 'float8',
  BOOLEAN: 'boolean',
  DATETIME: 'timestamp',
  TEXT: 'text',
  BLOB: 'bytes',
};

export interface PlannedColumn {
  name: string;
  kind: ColumnKind;
}

export interface PlannedTable {
  name: string;
  columns: readonly PlannedColumn[];
  /** The primary key's columns, in key order: rows are read in this order, in batches after the last key read. */
  key: readonly string[];
  /** Positions of `key` in `columns`. */
  keyIndexes: readonly number[];
  /** The integer key a sequence numbers (`Id`; AUTOINCREMENT on SQLite, SERIAL on PostgreSQL), else null. */
  serial: string | null;
}

/**
 * Tables that are no catalog content: the migration history, each engine's search tables (rebuilt from the
 * catalog rows: the triggers note every copied model), and the catalog revision with the changes per model counted
 * in it (each database counts its own writes under its own epoch: copying the number would let one revision name
 * two catalogs; the target's triggers note every copied model as created).
 */
export const NOT_CATALOG_TABLES: readonly string[] = [
  '_prisma_migrations',
  REVISION_TABLE,
  MODEL_CHANGES_TABLE,
  ...new Set([...EXTERNAL_TABLES, ...POSTGRES_EXTERNAL_TABLES]),
];

let cached: readonly PlannedTable[] | null = null;

export function catalogPlan(): readonly PlannedTable[] {
  cached ??= buildPlan();
  return cached;
}

function buildPlan(): PlannedTable[] {
  const scratch = new Database(':memory:');
  try {
    for (const migration of listMigrations(MIGRATIONS_DIR)) scratch.exec(migration.sql);
    const tables = (
      scratch
        .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
        .all() as { name: string; sql: string }[]
    ).filter((t) => !NOT_CATALOG_TABLES.includes(t.name));
    const parents = new Map<string, string[]>();
    const planned = new Map<string, PlannedTable>();
    for (const table of tables) {
      const info = scratch.prepare('SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid').all(table.name) as {
        name: string;
        type: string;
        pk: number;
      }[];
      const columns = info.map((c) => {
        const kind = KIND_OF_DECLARED_TYPE[c.type.toUpperCase()];
        if (!kind)
          throw new AppError('TRANSFER_FAILED', `${table.name}.${c.name} has a type transfers do not know: ${c.type}.`);
        return { name: c.name, kind };
      });
      const key = info
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name);
      const keyIndexes = key.map((name) => columns.findIndex((c) => c.name === name));
      if (key.length === 0 || keyIndexes.some((i) => !['int4', 'int8'].includes(columns[i]!.kind)))
        throw new AppError('TRANSFER_FAILED', `${table.name} has no integer primary key to read it in order by.`);
      planned.set(table.name, {
        name: table.name,
        columns,
        key,
        keyIndexes,
        serial: key.length === 1 && /\bAUTOINCREMENT\b/i.test(table.sql) ? key[0]! : null,
      });
      parents.set(
        table.name,
        (scratch.prepare('SELECT "table" FROM pragma_foreign_key_list(?)').all(table.name) as { table: string }[])
          .map((r) => r.table)
          .filter((parent) => parent !== table.name),
      );
    }
    const ordered: PlannedTable[] = [];
    const visit = (name: string) => {
      if (ordered.some((t) => t.name === name)) return;
      for (const parent of parents.get(name) ?? []) visit(parent);
      ordered.push(planned.get(name)!);
    };
    for (const table of tables) visit(table.name);
    return ordered;
  } finally {
    scratch.close();
  }
}
