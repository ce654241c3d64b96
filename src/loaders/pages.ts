/**
 * Keyset pages in SQL: a root page (`LIMIT n + 1`), and per-parent pages for nested connections, where the limit
 * applies to each parent inside one statement (`ROW_NUMBER() OVER (PARTITION BY parent …)`), never by loading
 * every child and slicing in memory.
 */
import DataLoader from 'dataloader';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { JSON_LIST, whereClause, type SqlFragment } from '../db/sql.ts';
import {
  keyColumns,
  keyValuesOf,
  toPage,
  windowSql,
  type Ordering,
  type Page,
  type PageWindow,
} from '../catalog/pagination.ts';
import { allRows, type RawRow } from './sql-batch.ts';
import { rowFieldsKey, type RowFields } from './row-fields.ts';
import { yieldIfBusy } from '../db/request-scope.ts';

export interface PageSource<T> {
  /** Columns to select (e.g. `selectList('ModelVersion', 'v')`). */
  select: string;
  /** FROM clause with joins and aliases. */
  from: string;
  /** Conditions every row must meet (filters). */
  where?: SqlFragment[];
  map: (row: RawRow) => T;
  safeIntegers?: boolean;
}

/** One page of a root list. */
export function rootPage<T>(
  db: CatalogDatabase,
  source: PageSource<T>,
  ordering: Ordering,
  window: PageWindow,
): Page<T> {
  const { conditions, orderBy } = windowSql(ordering, window);
  const where = whereClause([...(source.where ?? []), ...conditions]);
  const sql = `SELECT ${source.select}, ${keyColumns(ordering)} FROM ${source.from} ${where.sql} ORDER BY ${orderBy} LIMIT ?`;
  const found = allRows(db, sql, [...where.params, window.limit + 1], { safeIntegers: source.safeIntegers ?? false });
  return toPage(found, window, ordering, keyValuesOf(ordering), source.map);
}

/** Counts a root list's rows under the same filters. */
export function rootCount(db: CatalogDatabase, source: Pick<PageSource<unknown>, 'from' | 'where'>): number {
  const where = whereClause(source.where ?? []);
  return Number(allRows(db, `SELECT COUNT(*) AS "n" FROM ${source.from} ${where.sql}`, where.params)[0]!.n);
}

export interface PartitionedSource<T> extends PageSource<T> {
  /** SQL expression of the parent key, e.g. `v."ModelId"`. */
  parent: string;
  /**
   * The table whose rows are paged, with the alias `select` uses, and its primary key: the window runs over keys
   * only and the picked rows are joined back, so long texts and BLOB lengths are read for the page, never copied
   * through the window's sorter for every child.
   */
  rows: { table: string; id: string };
  /** Called with every batch's nodes (e.g. to prime other loaders with columns selected alongside). */
  onNodes?: (rows: RawRow[]) => void;
}

/** A loader of pages per parent id, for one ordering and window (one per distinct field arguments). */
export function partitionedPageLoader<T>(
  db: CatalogDatabase,
  source: PartitionedSource<T>,
  ordering: Ordering,
  window: PageWindow,
): DataLoader<number, Page<T>> {
  const { conditions, orderBy } = windowSql(ordering, window);
  const where = whereClause([
    { sql: `${source.parent} IN ${JSON_LIST}`, params: [] },
    ...(source.where ?? []),
    ...conditions,
  ]);
  const picked =
    `SELECT ${source.rows.id} AS "rowId", ${keyColumns(ordering)}, ${source.parent} AS "parentKey", ` +
    `ROW_NUMBER() OVER (PARTITION BY ${source.parent} ORDER BY ${orderBy}) AS "rowNumber" FROM ${source.from} ${where.sql}`;
  const sql =
    `SELECT ${source.select}, p.* FROM (${picked}) p JOIN ${source.rows.table} ON ${source.rows.id} = p."rowId" ` +
    `WHERE p."rowNumber" <= ? ORDER BY p."parentKey", p."rowNumber"`;
  const keyValues = keyValuesOf(ordering);
  return new DataLoader(async (parents) => {
    await yieldIfBusy();
    const found = allRows(db, sql, [JSON.stringify(parents), ...where.params, window.limit + 1], {
      safeIntegers: source.safeIntegers ?? false,
    });
    source.onNodes?.(found);
    const byParent = new Map<number, RawRow[]>();
    for (const row of found) {
      const parent = Number(row.parentKey);
      let list = byParent.get(parent);
      if (!list) byParent.set(parent, (list = []));
      list.push(row);
    }
    return parents.map((parent) => toPage(byParent.get(parent) ?? [], window, ordering, keyValues, source.map));
  });
}

/**
 * Per-parent page loaders memoised by their arguments (and row-field plan): every parent that asks for the same
 * page shape within a request shares one loader, and so one statement.
 */
export function partitionedPages<T>(
  db: CatalogDatabase,
  source: PartitionedSource<T> | ((fields: RowFields) => PartitionedSource<T>),
): (ordering: Ordering, window: PageWindow, fields?: RowFields) => DataLoader<number, Page<T>> {
  const made = new Map<string, DataLoader<number, Page<T>>>();
  return (ordering, window, fields = null) => {
    const key = `${ordering.signature}|${JSON.stringify(window)}|${rowFieldsKey(fields)}`;
    let loader = made.get(key);
    if (!loader)
      made.set(
        key,
        (loader = partitionedPageLoader(db, typeof source === 'function' ? source(fields) : source, ordering, window)),
      );
    return loader;
  };
}
