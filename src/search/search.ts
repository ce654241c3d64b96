/**
 * Ranked full-text search over models: bm25 with per-column weights (names first, prompts last), keyset pages
 * over (rank, id), combinable with the usual model filters, with the fields that matched and a highlighted snippet.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowMapper, selectFields } from '../db/row-mapping.ts';
import { JSON_LIST, whereClause, type SqlFragment } from '../db/sql.ts';
import type { Model } from '../generated/prisma/client.ts';
import { modelFilterSql, type ModelFilter } from '../resolvers/catalog/model-query.ts';
import {
  keyColumns,
  keyValuesOf,
  pageWindow,
  toPage,
  windowSql,
  type Ordering,
  type Page,
  type PageArgs,
} from '../catalog/pagination.ts';
import { toMatchExpression } from './query.ts';
import { ensureSearchIndexCurrent, SEARCH_COLUMNS, type SearchColumn } from './search-index.ts';
import { escapeHtml } from './text.ts';

export interface SearchHit {
  model: Model;
  /** Higher is better (negated bm25). */
  score: number;
  /** Highlights are read on first use, for the whole page at once (a second FTS statement). */
  matchedFields(): SearchColumn[];
  /** HTML-escaped text around the best match, matches wrapped in <mark>. */
  snippet(): string;
}

export interface SearchResult extends Page<SearchHit> {
  totalCount: () => number;
}

const OPEN = '\u0001';
const CLOSE = '\u0002';

const SEARCH_ORDERING: Ordering = {
  signature: 'search:RANK',
  keys: [
    { sql: 's.rank', direction: 'ASC' },
    { sql: 'm."Id"', direction: 'ASC' },
  ],
};

function markup(text: string): string {
  return escapeHtml(text).replaceAll(OPEN, '<mark>').replaceAll(CLOSE, '</mark>').replace(/\s+/g, ' ').trim();
}

/** Columns of the page's models: a row-field plan, or every column (null). */
export async function searchModels(
  db: CatalogDatabase,
  query: string,
  args: PageArgs,
  filter: ModelFilter | null | undefined,
  fields: readonly string[] | null = null,
): Promise<SearchResult> {
  const match = toMatchExpression(query);
  await ensureSearchIndexCurrent(db);
  const window = pageWindow(args, SEARCH_ORDERING);
  const { conditions, orderBy } = windowSql(SEARCH_ORDERING, window);
  const base: SqlFragment[] = [{ sql: `"ModelSearch" MATCH ?`, params: [match] }, ...modelFilterSql(filter)];
  const where = whereClause([...base, ...conditions]);
  const map = rowMapper('Model');
  const rows = db
    .statement(`SELECT ${selectFields('Model', 'm', fields)}, ${keyColumns(SEARCH_ORDERING)} FROM "ModelSearch" s JOIN "Models" m ON m."Id" = s.rowid
    ${where.sql} ORDER BY ${orderBy} LIMIT ?`)
    .safeIntegers(false)
    .all(...where.params, window.limit + 1) as Record<string, unknown>[];
  const page = toPage(rows, window, SEARCH_ORDERING, keyValuesOf(SEARCH_ORDERING), (row) => ({
    row,
    score: -Number(row.k0),
  }));
  // Highlights only for the page's rows (computing them for every match would cost as much as the search), and
  // only when a hit's matchedFields or snippet is asked for.
  const ids = page.edges.map((e) => Number(e.node.row.id));
  let marks: Map<number, Record<string, string | number>> | null = null;
  const marksOf = (id: number) => {
    marks ??= new Map(
      (
        db
          .statement(`SELECT rowid AS id, ${SEARCH_COLUMNS.map((_, i) => `highlight("ModelSearch", ${i}, char(1), char(2)) AS h${i}`).join(', ')},
        snippet("ModelSearch", -1, char(1), char(2), '…', 16) AS snippet FROM "ModelSearch" WHERE "ModelSearch" MATCH ? AND rowid IN ${JSON_LIST}`)
          .all(match, JSON.stringify(ids)) as Record<string, string | number>[]
      ).map((r) => [Number(r.id), r]),
    );
    return marks.get(id);
  };
  const edges = page.edges.map((edge) => {
    const id = Number(edge.node.row.id);
    return {
      cursor: edge.cursor,
      node: {
        model: map(edge.node.row),
        score: edge.node.score,
        matchedFields: () => SEARCH_COLUMNS.filter((_, i) => String(marksOf(id)?.[`h${i}`] ?? '').includes(OPEN)),
        snippet: () => markup(String(marksOf(id)?.snippet ?? '')),
      },
    };
  });
  const countWhere = whereClause(base);
  return {
    edges,
    pageInfo: page.pageInfo,
    totalCount: () =>
      Number(
        db
          .statement(`SELECT COUNT(*) FROM "ModelSearch" s JOIN "Models" m ON m."Id" = s.rowid ${countWhere.sql}`)
          .pluck()
          .get(...countWhere.params),
      ),
  };
}
