/**
 * What every connection shares: `totalCount` (computed only when selected), page-size complexity, and turning a
 * SQL page into the Relay shape with that count attached.
 */
import { builder } from './builder.ts';
import { yieldIfBusy } from '../db/request-scope.ts';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rootCount, rootPage, type PageSource } from '../loaders/pages.ts';
import type DataLoader from 'dataloader';
import type { RowFields } from '../loaders/row-fields.ts';
import {
  DEFAULT_PAGE_SIZE,
  pageWindow,
  type Ordering,
  type Page,
  type PageArgs,
  type PageWindow,
} from '../catalog/pagination.ts';

builder.globalConnectionField('totalCount', (t) =>
  t.int({
    description: 'Number of items in the whole list (all pages) under the same filters.',
    resolve: (connection) => connection.totalCount(),
  }),
);

/** Complexity of a connection field: what is selected under it costs once per requested item. */
export function pageComplexity(args: { first?: number | null; last?: number | null }) {
  return { field: 1, multiplier: Math.max(1, args.last ?? args.first ?? DEFAULT_PAGE_SIZE) };
}

export function withTotalCount<T>(page: Page<T>, totalCount: () => number | Promise<number>) {
  return { ...page, totalCount };
}

/**
 * A root list as a connection: one keyset page, and its count only if `totalCount` is selected. Each statement
 * waits its turn (`yieldIfBusy`): an operation listing forty root lists must not hold the event loop for all of them.
 */
export async function rootConnection<T>(
  db: CatalogDatabase,
  source: PageSource<T>,
  ordering: Ordering,
  args: PageArgs,
) {
  const window = pageWindow(args, ordering);
  await yieldIfBusy();
  return withTotalCount(rootPage(db, source, ordering, window), async () => {
    await yieldIfBusy();
    return rootCount(db, source);
  });
}

/** A nested list (one parent's page, batched with its siblings' by `pages`) as a connection. */
export async function nestedConnection<T>(
  pages: (ordering: Ordering, window: PageWindow, fields?: RowFields) => DataLoader<number, Page<T>>,
  ordering: Ordering,
  args: PageArgs,
  parentId: number,
  totalCount: () => Promise<number>,
  fields: RowFields = null,
) {
  return withTotalCount(await pages(ordering, pageWindow(args, ordering), fields).load(parentId), totalCount);
}
