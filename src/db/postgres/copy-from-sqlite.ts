/**
 * Copies every catalog row of a SQLite file into an empty, migrated PostgreSQL catalog, converting each value to the
 * PostgreSQL column's type (0/1 → boolean, either stored timestamp format → timestamptz, 64-bit integers exactly).
 * Used by `seed` on PostgreSQL (the generator writes SQLite) and by the tests that run on both engines; the
 * `transfer` command of issue 13 is meant to grow from it (batches, progress, checksums).
 */
import Database from 'better-sqlite3';
import type pg from 'pg';
import { AppError } from '../../errors.ts';
import { POSTGRES_EXTERNAL_TABLES } from '../external-tables.ts';
import { parseStoredTimestamp } from '../timestamps.ts';
import { assertReachable, catalogPool } from './connection.ts';
import type { PostgresTarget } from './catalog.ts';

/** Most parameters of one INSERT (PostgreSQL allows 65,535). */
const MAX_PARAMETERS = 30_000;

interface PgColumn {
  table: string;
  column: string;
  type: string;
}

/** The catalog's tables, each after the tables its foreign keys reference. */
async function tablesInInsertOrder(pool: pg.Pool): Promise<string[]> {
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'
     ORDER BY table_name`,
  );
  const { rows: references } = await pool.query<{ child: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
     FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`,
  );
  const unquote = (name: string) => name.replace(/^"|"$/g, '');
  const parents = new Map<string, Set<string>>(tables.map((t) => [t.name, new Set<string>()]));
  for (const r of references)
    if (unquote(r.child) !== unquote(r.parent)) parents.get(unquote(r.child))?.add(unquote(r.parent));
  const ordered: string[] = [];
  const visit = (name: string) => {
    if (ordered.includes(name)) return;
    for (const parent of parents.get(name) ?? []) visit(parent);
    ordered.push(name);
  };
  for (const t of tables) visit(t.name);
  return ordered;
}

function converter(type: string): (value: unknown) => unknown {
  switch (type) {
    case 'boolean':
      return (v) => (v === null ? null : Number(v) !== 0);
    case 'timestamp with time zone':
      return (v) => (v === null ? null : parseStoredTimestamp(v as string | number | bigint));
    case 'bigint':
      return (v) => v;
    case 'integer':
    case 'double precision':
      return (v) => (typeof v === 'bigint' ? Number(v) : v);
    default:
      return (v) => v;
  }
}

/** Copies all rows of `sqlitePath` into `target`, in one transaction; the target's catalog tables must be empty. */
export async function copySqliteCatalogToPostgres(
  sqlitePath: string,
  target: Pick<PostgresTarget, 'url' | 'display'>,
): Promise<Record<string, number>> {
  const source = new Database(sqlitePath, { readonly: true, fileMustExist: true });
  const pool = catalogPool({ ...target, max: 1, applicationName: 'diffusion-nexus-copy' });
  try {
    await assertReachable(pool, target);
    const order = await tablesInInsertOrder(pool);
    const { rows: columnRows } = await pool.query<PgColumn>(
      `SELECT table_name AS table, column_name AS column, data_type AS type FROM information_schema.columns
       WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
    );
    const client = await pool.connect();
    const counts: Record<string, number> = {};
    try {
      await client.query('BEGIN');
      for (const table of order) {
        // The search tables are rebuilt from the rows copied here: the triggers note every copied model.
        if (POSTGRES_EXTERNAL_TABLES.includes(table)) continue;
        const present = new Set(
          (source.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]).map((r) => r.name),
        );
        if (present.size === 0) continue;
        const { rows: existing } = await client.query<{ n: number }>(`SELECT COUNT(*) AS n FROM "${table}"`);
        if (Number(existing[0]!.n) > 0)
          throw new AppError(
            'CONFLICT',
            `${target.display}: table ${table} is not empty; copy only into an empty catalog.`,
          );
        const columns = columnRows.filter((c) => c.table === table && present.has(c.column));
        const convert = columns.map((c) => converter(c.type));
        const select = source.prepare(`SELECT ${columns.map((c) => `"${c.column}"`).join(', ')} FROM "${table}"`);
        select.safeIntegers(true).raw(true);
        const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
        const columnList = columns.map((c) => `"${c.column}"`).join(', ');
        let batch: unknown[][] = [];
        let count = 0;
        const flush = async () => {
          if (batch.length === 0) return;
          const values: unknown[] = [];
          const tuples = batch.map((row) => {
            const slots = row.map((value, i) => {
              values.push(convert[i]!(value));
              return `$${values.length}`;
            });
            return `(${slots.join(', ')})`;
          });
          await client.query(`INSERT INTO "${table}" (${columnList}) VALUES ${tuples.join(', ')}`, values);
          count += batch.length;
          batch = [];
        };
        for (const row of select.iterate() as Iterable<unknown[]>) {
          batch.push(row);
          if (batch.length >= perStatement) await flush();
        }
        await flush();
        counts[table] = count;
        if (columns.some((c) => c.column === 'Id'))
          await client.query(
            `SELECT setval(pg_get_serial_sequence('"${table}"', 'Id'), COALESCE(MAX("Id"), 0) + 1, false) FROM "${table}"`,
          );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    return counts;
  } finally {
    source.close();
    await pool.end();
  }
}
