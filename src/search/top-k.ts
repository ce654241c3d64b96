/**
 * A page of a plain-word search (every word must match) from the project's postings, costing what the page needs
 * rather than what every match would: the threshold algorithm (Fagin) over each word's postings in impact order.
 * Read each word's best `depth` postings; score every model seen there exactly (its postings for all the words);
 * any model not seen scores at most the sum of each word's bound at the last posting read (`scoreBound`). When the
 * page's rows all score above that bound, no unseen model can come before them: done. Otherwise read deeper (×4).
 * A word whose postings run out before `depth` ends it too: every match holds that word, so every match was seen.
 *
 * Models rank by score (higher first), then by id, as the engine's own ranking does; the score is FTS5's bm25
 * (`ranking.ts`). Keyset pages: `rank` is the negated score (lower first), as FTS5's `rank` column.
 */
import type { RawBuilder, SqlBool } from 'kysely';
import type { PageWindow } from '../catalog/pagination.ts';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import type { RowFields } from '../db/row-mapping.ts';
import {
  bestPostings,
  modelRows,
  passingFilters,
  postingsOf,
  type RankedPosting,
} from '../db/search-postings.ts';
import { averageLength, flooredIdf, type RankStatistics, scoreBound, termScore } from './ranking.ts';

/**
 * Postings read per word in the first round, at least (else 4 × the rows wanted): reading a hundred postings costs
 * little more than reading twenty, and a first round that is usually the last keeps the statements few.
 */
const FIRST_DEPTH = 128;

interface Ranked {
  id: number;
  rank: number;
}

/** Whether `a` comes before `b`: lower rank first, then lower id. */
function before(a: Ranked, b: Ranked): boolean {
  return a.rank < b.rank || (a.rank === b.rank && a.id < b.id);
}

function byRank(a: Ranked, b: Ranked): number {
  return a.rank - b.rank || a.id - b.id;
}

/** A cursor's sort keys (rank, id) as a position. */
function position(keys: readonly (string | number)[] | null): Ranked | null {
  return keys ? { rank: Number(keys[0]), id: Number(keys[1]) } : null;
}

/**
 * The models of the page `window` describes, ranked, as rows in query order (forward: from the start; backward:
 * from the end) with their sort keys as `k0` (rank) and `k1` (id), `limit + 1` of them when it looks ahead — what
 * `rootPageRows` gives for a list.
 */
export async function rankedPageRows(
  db: CatalogDatabase,
  words: readonly string[],
  filters: readonly RawBuilder<SqlBool>[],
  window: PageWindow,
  fields: RowFields,
): Promise<Record<string, unknown>[]> {
  const wanted = window.looksAhead ? window.limit + 1 : window.limit;
  const after = position(window.after);
  const end = position(window.before);
  const inWindow = (r: Ranked) => (after === null || before(after, r)) && (end === null || before(r, end));
  let depth = Math.max(FIRST_DEPTH, 4 * wanted);
  // Scored with the first round's statistics throughout, so every round of a request ranks alike.
  let scoring: Scoring | null = null;
  for (;;) {
    const lists = await bestPostings(db.searches, words, depth);
    scoring ??= scoringOf(words, lists);
    if (!scoring) return []; // a word no document holds
    const round = await rankRound(db, words, scoring, lists, filters, depth);
    const found = round.matches.filter(inWindow).sort(byRank);
    let page: Ranked[] | null = null;
    if (window.direction === 'forward') {
      // The first `wanted` in the window are final when each outscores every model not seen.
      const sure = found.length >= wanted && -found[wanted - 1]!.rank > round.bound;
      if (round.complete || sure) page = found.slice(0, wanted);
    } else {
      // The last ones before `before` are final when every model ranked before it was seen: the bound is below it.
      const sure = end !== null && round.bound < -end.rank;
      if (round.complete || sure) page = found.slice(-wanted).reverse();
    }
    if (page) return pageRows(db, page, fields);
    depth *= 4;
  }
}

interface Scoring {
  idf: number[];
  stats: RankStatistics;
}

/** The words' idf and the statistics, from the postings read (null when a word has none: nothing matches). */
function scoringOf(words: readonly string[], lists: readonly RankedPosting[]): Scoring | null {
  const idf: (number | undefined)[] = words.map(() => undefined);
  for (const posting of lists) idf[Number(posting.k)] ??= flooredIdf(Number(posting.idf));
  const first = lists[0];
  if (!first || idf.some((value) => value === undefined)) return null;
  return {
    idf: idf as number[],
    stats: {
      documents: Number(first.documents),
      tokens: Number(first.tokens),
      referenceLength: Number(first.reference),
    },
  };
}

interface Round {
  matches: Ranked[];
  /** The highest score a model not seen can have. */
  bound: number;
  /** Every match was seen. */
  complete: boolean;
}

async function rankRound(
  db: CatalogDatabase,
  words: readonly string[],
  { idf, stats }: Scoring,
  lists: readonly RankedPosting[],
  filters: readonly RawBuilder<SqlBool>[],
  depth: number,
): Promise<Round> {
  const queries = db.searches;
  const read = words.map(() => 0);
  const lowest = words.map(() => Number.POSITIVE_INFINITY);
  for (const posting of lists) {
    const k = Number(posting.k);
    read[k]!++;
    lowest[k] = Math.min(lowest[k]!, Number(posting.Impact));
  }
  const complete = read.some((count) => count < depth);
  const bound = complete ? Number.NEGATIVE_INFINITY : idf.reduce((sum, w, k) => sum + scoreBound(w, lowest[k]!, stats), 0);
  // Each model seen: its weighted frequency per word, and its length.
  const frequencies = new Map<number, { length: number; of: (number | undefined)[] }>();
  const note = (k: number, id: number, frequency: number, length: number) => {
    let entry = frequencies.get(id);
    if (!entry) {
      entry = { length, of: words.map(() => undefined) };
      frequencies.set(id, entry);
    }
    entry.of[k] = frequency;
  };
  if (words.length === 1) for (const p of lists) note(0, Number(p.ModelId), Number(p.Frequency), Number(p.Length));
  else {
    // A word may be given twice in different spellings (Café, cafe): FTS5 counts it twice, so does this.
    const places = new Map<string, number[]>();
    words.forEach((word, k) => places.set(word, [...(places.get(word) ?? []), k]));
    const ids = [...new Set(lists.map((p) => Number(p.ModelId)))];
    for (const p of await postingsOf(queries, db.dialect, [...places.keys()], ids))
      for (const k of places.get(p.Term) ?? []) note(k, Number(p.ModelId), Number(p.Frequency), Number(p.Length));
  }
  let ids = [...frequencies].filter(([, entry]) => entry.of.every((f) => f !== undefined)).map(([id]) => id);
  if (filters.length > 0 && ids.length > 0) {
    const passing = await passingFilters(queries, db.dialect, ids, filters);
    ids = ids.filter((id) => passing.has(id));
  }
  const avgdl = averageLength(stats);
  const matches = ids.map((id) => {
    const entry = frequencies.get(id)!;
    // Summed word by word from 0, as FTS5 sums its phrases.
    let score = 0;
    for (let k = 0; k < words.length; k++) score += termScore(idf[k]!, entry.of[k]!, entry.length, avgdl);
    return { id, rank: -1.0 * score };
  });
  return { matches, bound, complete };
}

async function pageRows(db: CatalogDatabase, page: readonly Ranked[], fields: RowFields) {
  if (page.length === 0) return [];
  const rows = await modelRows(
    db.searches,
    db.dialect,
    page.map((r) => r.id),
    fields === null ? null : fields.includes('id') ? fields : ['id', ...fields],
  );
  const byId = new Map(rows.map((row) => [Number(row.id), row]));
  return page.flatMap((r) => {
    const row = byId.get(r.id);
    // A model deleted since its postings were read is not on the page.
    return row ? [{ ...row, k0: r.rank, k1: r.id }] : [];
  });
}
