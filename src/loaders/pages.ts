/**
 * Pages of children per parent for nested connections: one statement per page shape and batch of parents (see
 * `partitionedPageRows`), turned into Relay pages.
 */
import DataLoader from 'dataloader';
import { keyValuesOf, type Ordering, type Page, type PageWindow, toPage } from '../catalog/pagination.ts';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { type PartitionedSource, partitionedPageRows, type RawRow } from '../db/pages.ts';
import { type RowFields, rowFieldsKey } from './row-fields.ts';

export type PageLoaders<T> = (
  ordering: Ordering,
  window: PageWindow,
  fields?: RowFields,
) => DataLoader<number, Page<T>>;

/** A window as text (asked for by every parent of a nested list: cheaper than JSON of the whole window). */
function windowKey(window: PageWindow): string {
  const cursor = (values: PageWindow['after']) => (values === null ? '' : JSON.stringify(values));
  return `${window.direction}|${window.limit}|${window.looksAhead}|${window.cursors}|${cursor(window.after)}|${cursor(window.before)}`;
}

/**
 * Per-parent page loaders memoised by their arguments (and row-field plan): every parent that asks for the same
 * page shape within a request shares one loader, and so one statement. `onRows` sees each batch's rows.
 */
export function partitionedPages<T>(
  db: CatalogDatabase,
  source: PartitionedSource | ((fields: RowFields) => PartitionedSource),
  map: (row: RawRow) => T,
  onRows?: (rows: RawRow[]) => void,
): PageLoaders<T> {
  const made = new Map<string, DataLoader<number, Page<T>>>();
  return (ordering, window, fields = null) => {
    const key = `${ordering.signature}|${windowKey(window)}|${rowFieldsKey(fields)}`;
    let loader = made.get(key);
    if (!loader) {
      const resolved = typeof source === 'function' ? source(fields) : source;
      const keyValues = keyValuesOf(ordering);
      loader = new DataLoader(async (parents) => {
        const rows = await partitionedPageRows(db, resolved, ordering, window, parents);
        onRows?.(rows);
        const byParent = new Map<number, RawRow[]>();
        for (const row of rows) {
          const parent = Number(row.parentKey);
          let list = byParent.get(parent);
          if (!list) byParent.set(parent, (list = []));
          list.push(row);
        }
        return parents.map((parent) => toPage(byParent.get(parent) ?? [], window, ordering, keyValues, map));
      });
      made.set(key, loader);
    }
    return loader;
  };
}
