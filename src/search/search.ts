/**
 * Ranked full-text search over models with per-field weights (names first, prompts last): plain words by bm25 from
 * the project's postings on both engines (`top-k.ts`), phrases and prefixes by the engine's index (FTS5's bm25,
 * PostgreSQL's ts_rank_cd); keyset pages over (rank, id), combinable with the usual model filters, with the fields
 * that matched and a highlighted snippet.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { type ModelFilter, modelFilter } from '../db/lists.ts';
import { rootCount, rootPageRows } from '../db/pages.ts';
import { type RowFields, rowMapper } from '../db/row-mapping.ts';
import {
  documentTexts,
  highlights,
  matchText,
  SEARCH_COLUMNS,
  SEARCH_ORDERING,
  type SearchColumn,
  searchSource,
} from '../db/search.ts';
import type { Model } from '../generated/prisma/client.ts';
import {
  keyValuesOf,
  type Ordering,
  type Page,
  type PageArgs,
  pageWindow,
  scopedOrdering,
  toPage,
} from '../catalog/pagination.ts';
import type { Highlighted } from './highlight.ts';
import { RequestWorker } from '../worker-requests.ts';
import { type SearchTerm, searchTerms } from './query.ts';
import { ensureSearchIndexCurrent } from './search-index.ts';
import { vocabularyCounts, vocabularyWords } from './cost.ts';
import { FTS5_RANKS_UP_TO, plainWords, rankScope } from './ranking.ts';
import { escapeHtml } from './text.ts';
import { rememberedByObject } from '../memo.ts';
import { RAREST_RANKS_FROM_POSTINGS, rankedPageRows } from './top-k.ts';

export { SEARCH_COLUMNS };

export interface SearchHit {
  model: Model;
  /** Higher is better (bm25, or ts_rank_cd for a phrase or prefix on PostgreSQL). */
  score: number;
  /** Highlights are read on first use, for the whole page at once (a second statement). */
  matchedFields(): Promise<SearchColumn[]>;
  /** HTML-escaped text around the best match, matches wrapped in <mark>. */
  snippet(): Promise<string>;
}

export interface SearchResult extends Page<SearchHit> {
  totalCount: () => Promise<number>;
}

const OPEN = '\u0001';
const CLOSE = '\u0002';

function markup(text: string): string {
  return escapeHtml(text).replaceAll(OPEN, '<mark>').replaceAll(CLOSE, '</mark>').replace(/\s+/g, ' ').trim();
}

/** What a hit shows of its match: the fields that matched, and the snippet with OPEN/CLOSE around matches. */
interface Marks {
  fields: SearchColumn[];
  snippet: string;
}

/** Highlights of a page's documents by `highlight.ts`'s rules, on a worker thread (see `highlight.worker.mjs`). */
const highlightWorker = new RequestWorker<
  { terms: readonly SearchTerm[]; documents: string[][]; open: string; close: string },
  { marks: Highlighted[] }
>(new URL('./highlight.worker.mjs', import.meta.url), 'highlight worker');

/** The page's marks, by model id: FTS5's highlight() and snippet() on SQLite, the same rules over the texts elsewhere. */
async function pageMarks(
  db: CatalogDatabase,
  match: string,
  terms: readonly SearchTerm[],
  ids: readonly number[],
): Promise<Map<number, Marks>> {
  if (db.dialect.name === 'sqlite') {
    const rows = await highlights(db, match, ids, OPEN, CLOSE);
    return new Map(
      rows.map((row) => [
        Number(row.id),
        {
          fields: SEARCH_COLUMNS.filter((_, i) => String(row[`h${i}`] ?? '').includes(OPEN)),
          snippet: String(row.snippet ?? ''),
        },
      ]),
    );
  }
  const rows = await documentTexts(db, ids);
  const { marks } = await highlightWorker.run({
    terms,
    documents: rows.map((row) => SEARCH_COLUMNS.map((column) => String(row[column]))),
    open: OPEN,
    close: CLOSE,
  });
  return new Map(
    rows.map((row, i) => {
      const { matched, snippet } = marks[i]!;
      return [Number(row.id), { fields: SEARCH_COLUMNS.filter((_, k) => matched[k]), snippet }];
    }),
  );
}

/**
 * The words to rank from the project's postings (`top-k.ts`), or null for the engine's own index (phrases and
 * prefixes always). Plain words rank from the postings on PostgreSQL. On SQLite they do for one word (its best
 * postings are the page: 160–180 µs for a common word on either benchmark catalog, where FTS5 scores every match,
 * 400–450 µs at 1,000 models), and, from the vocabulary counts the cost estimate keeps per catalog revision, when
 * their documents, summed, are many, or when there are several words and the rarest is in few documents — a model's
 * name: FTS5 opens a cursor per word and walks every word's whole doclist for its idf however few models match
 * (160–230 µs a name on the 1,000-model benchmark catalog), where the postings read the rarest word's models and the
 * others' for those (two indexed reads, about 120 µs). Both rank with the same scores to the last bit, so the plan
 * chosen changes no answer and no cursor.
 */
async function rankedFromPostings(
  db: CatalogDatabase,
  terms: readonly SearchTerm[],
): Promise<readonly string[] | null> {
  const words = plainWords(terms);
  if (!words || db.dialect.name !== 'sqlite' || new Set(words).size === 1) return words;
  // Plain words: the vocabulary's words of `terms` are these, none a prefix.
  const docs = (await vocabularyCounts(db, vocabularyWords(terms))).map((count) => count.docs);
  if (docs.reduce((sum, count) => sum + count, 0) > FTS5_RANKS_UP_TO) return words;
  return new Set(words).size > 1 && Math.min(...docs) <= RAREST_RANKS_FROM_POSTINGS ? words : null;
}

/** A search's match text for the engine and the ordering its cursors are made for. */
interface PreparedSearch {
  match: string;
  ordering: Ordering;
}

/** Per parsed search and engine: a request would make them anew. */
const preparedSearches = rememberedByObject((_: readonly SearchTerm[]) => new Map<string, PreparedSearch>());

function preparedSearch(dialect: CatalogDatabase['dialect'], terms: readonly SearchTerm[]): PreparedSearch {
  const byEngine = preparedSearches(terms);
  let prepared = byEngine.get(dialect.name);
  if (!prepared) {
    const match = matchText(dialect, terms);
    // A rank is a rank only for these words: a cursor of another search would land anywhere. Filters may change
    // between pages (the same words rank the same), so only the words bind the cursor.
    prepared = { match, ordering: scopedOrdering(SEARCH_ORDERING, rankScope(terms, match)) };
    byEngine.set(dialect.name, prepared);
  }
  return prepared;
}

/** Columns of the page's models: a row-field plan, or every column (null). */
export async function searchModels(
  db: CatalogDatabase,
  query: string,
  args: PageArgs,
  filter: ModelFilter | null | undefined,
  fields: RowFields = null,
): Promise<SearchResult> {
  const terms = searchTerms(query);
  const { match, ordering } = preparedSearch(db.dialect, terms);
  await ensureSearchIndexCurrent(db);
  const window = pageWindow(args, ordering);
  const filters = modelFilter(db.dialect, filter);
  // The engine's own search, as a query to page or count: built only when one is (a name ranks from the postings).
  let source: ReturnType<typeof searchSource> | undefined;
  const sourceOf = () => {
    source ??= searchSource(db.dialect, match, filters, fields);
    return source;
  };
  const map = rowMapper('Model');
  const words = await rankedFromPostings(db, terms);
  const rows = words
    ? await rankedPageRows(db, words, filters, window, fields)
    : await rootPageRows(db.searchStatements, sourceOf(), ordering, window);
  const page = toPage(rows, window, ordering, keyValuesOf(ordering), (row) => ({
    row,
    score: -Number(row.k0),
  }));
  // Highlights only for the page's rows (computing them for every match would cost as much as the search), and
  // only when a hit's matchedFields or snippet is asked for.
  let marks: Promise<Map<number, Marks>> | null = null;
  const marksOf = async (id: number) => {
    marks ??= pageMarks(
      db,
      match,
      terms,
      page.edges.map((e) => Number(e.node.row.id)),
    );
    return (await marks).get(id);
  };
  const edges = page.edges.map((edge) => {
    const id = Number(edge.node.row.id);
    return {
      cursor: edge.cursor,
      node: {
        model: map(edge.node.row),
        score: edge.node.score,
        matchedFields: async () => (await marksOf(id))?.fields ?? [],
        snippet: async () => markup((await marksOf(id))?.snippet ?? ''),
      },
    };
  });
  return { edges, pageInfo: page.pageInfo, totalCount: () => rootCount(db.searchStatements, sourceOf()) };
}
