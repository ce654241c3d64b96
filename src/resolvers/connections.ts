/** Turning pages into Relay connections, with their count computed only when `totalCount` is selected. */
import {
  keyValuesOf,
  type Ordering,
  type Page,
  type PageArgs,
  type PageReads,
  pageWindow,
  toPage,
} from '../catalog/pagination.ts';
import { type ListSource, type RawRow, rootCount, rootPageRows } from '../db/pages.ts';
import type { ShapedQueries } from '../db/shaped.ts';
import type { PageLoaders } from '../loaders/pages.ts';
import type { RowFields } from '../loaders/row-fields.ts';

export function withTotalCount<T>(page: Page<T>, totalCount: () => number | Promise<number>) {
  // Spelled out, not spread: made for every parent of a nested list.
  return { edges: page.edges, pageInfo: page.pageInfo, totalCount };
}

/** A root list as a connection: one keyset page, and its count only if `totalCount` is selected. */
export async function rootConnection<T>(
  queries: ShapedQueries,
  source: ListSource,
  map: (row: RawRow) => T,
  ordering: Ordering,
  args: PageArgs,
) {
  const window = pageWindow(args, ordering);
  const rows = await rootPageRows(queries, source, ordering, window);
  return withTotalCount(toPage(rows, window, ordering, keyValuesOf(ordering), map), () => rootCount(queries, source));
}

/**
 * A nested list (one parent's page, batched with its siblings' by `pages`) as a connection, read as `plan` says
 * (see `nestedPagePlan`).
 */
export async function nestedConnection<T>(
  pages: PageLoaders<T>,
  ordering: Ordering,
  args: PageArgs,
  parentId: number,
  totalCount: () => Promise<number>,
  plan: { fields: RowFields; reads: PageReads },
) {
  const window = pageWindow(args, ordering, plan.reads);
  return withTotalCount(await pages(ordering, window, plan.fields).load(parentId), totalCount);
}
