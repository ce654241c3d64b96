/**
 * A page of a plain-word search (every word must match) from the project's postings, costing what the page needs
 * rather than what every match would: the threshold algorithm (Fagin) over each word's postings in impact order.
 * Read each word's best `depth` postings; score every model seen there exactly (its postings for all the words);
 * any model not seen scores at most the sum of each word's bound at the last posting read (`scoreBound`). When the
 * page's rows all score above that bound, no unseen model can come before them: done. Otherwise read deeper (×4).
 * A word whose postings run out before `depth` ends it too: every match holds that word, so every match was seen.
 * A search of several words whose rarest word is in few documents skips the rounds: it reads that word's postings
 * and the others' for the same models, every match at once (a model's name: a handful).
 *
 * Models rank by score (higher first), then by id, as the engine's own ranking does; the score is FTS5's bm25
 * (`ranking.ts`). Keyset pages: `rank` is the negated score (lower first), as FTS5's `rank` column.
 */
import type { RawBuilder, SqlBool } from 'kysely';
import type { PageWindow } from '../catalog/pagination.ts';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { yieldIfBusy } from '../db/request-scope.ts';
import type { RowFields } from '../db/row-mapping.ts';
import {
  bestPostings,
  type Match,
  matchesThroughRarest,
  modelRows,
  type Posting,
  type ProbedPosting,
  passingFilters,
  postingsOf,
  type WordRow,
  wordStatistics,
} from '../db/search-postings.ts';
import { KeptAtRevision } from './kept-at-revision.ts';
import { averageLength, flooredIdf, type RankStatistics, scoreBound, termScore } from './ranking.ts';

/** Postings read per word in the first round: twice the rows wanted, at least this many. */
const FIRST_DEPTH = 64;
/**
 * A search of several words whose rarest word is in at most this many times the first round's depth of documents
 * reads all its matches at once (one statement: the rarest word's postings, the others' probed per model), then the
 * page's rows: cheaper than rounds that read each word's best.
 */
const THROUGH_RAREST = 4;
/**
 * On SQLite, a search of several words whose rarest word is in at most this many documents ranks from the postings
 * while their documents are few (`FTS5_RANKS_UP_TO`): a model's name, whose rarest word is in a handful. With more,
 * FTS5 ranks faster: the benchmark's common two-word searches at S (rarest word in 95–109 documents, 830–850 in
 * all) ranked through the postings cost the search scenario a tenth of its throughput.
 */
export const RAREST_RANKS_FROM_POSTINGS = FIRST_DEPTH / 2;
/** Models scored between two chances for other work to run. */
const SCORED_PER_TURN = 5_000;

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
  let depth = Math.max(FIRST_DEPTH, 2 * wanted);
  // Each word read once (a word given twice in two spellings, Café and cafe, counts twice, as in FTS5).
  const distinct = [...new Set(words)];
  const place = words.map((word) => distinct.indexOf(word));
  const pageOf = <R extends Ranked>(round: Round<R>): R[] | null => {
    const found = round.matches.filter(inWindow).sort(byRank);
    if (window.direction === 'forward') {
      // The first `wanted` in the window are final when each outscores every model not seen.
      const sure = found.length >= wanted && -found[wanted - 1]!.rank > round.bound;
      return round.complete || sure ? found.slice(0, wanted) : null;
    }
    // The last ones before `before` are final when every model ranked before it was seen: the bound is below it.
    const sure = end !== null && round.bound < -end.rank;
    return round.complete || sure ? found.slice(-wanted).reverse() : null;
  };
  // Scored with the same statistics throughout, so every round of a request ranks alike.
  const plans = await keptPlans.at(db);
  const planKey = distinct.join('\u0000');
  let plan = plans?.get(planKey);
  if (plan === undefined) {
    // Several words need their statistics now (for the rarest); one word's come with its first round's postings.
    const statistics =
      (await keptStatistics(db, distinct)) ??
      (distinct.length > 1
        ? await readStatistics(db, distinct, await wordStatistics(db.searchStatements, distinct))
        : null);
    if (statistics) {
      plan = rankingPlan(distinct, statistics);
      plans?.set(planKey, plan);
    }
  }
  if (plan === null) return []; // a word no document holds
  if (plan && distinct.length > 1) {
    // Several words: every match holds the rarest. When it is rare enough, its models are all read at once.
    const { scoring, rarest, rarestDocs } = plan;
    if (rarestDocs <= wanted && filters.length === 0) {
      // So few models hold the rarest word that all the matches fit on the page: them and their rows at once.
      const matches = await matchesThroughRarest(db.searchStatements, db.dialect, distinct, rarest, withId(fields));
      const page = pageOf({
        matches: ranked(scoring, place, matches),
        bound: Number.NEGATIVE_INFINITY,
        complete: true,
      })!;
      return page.map((r) => withSortKeys(r.row, r));
    }
    if (rarestDocs <= THROUGH_RAREST * depth) {
      // Every match at once through the rarest word's models, then the page's rows.
      const matches = await matchesThroughRarest(db.searchStatements, db.dialect, distinct, rarest, undefined);
      const passing =
        filters.length > 0 && matches.length > 0
          ? await passingFilters(
              db.searchStatements,
              db.dialect,
              matches.map((m) => m.id),
              filters,
            )
          : null;
      const kept = passing ? matches.filter((m) => passing.has(m.id)) : matches;
      const page = pageOf({ matches: ranked(scoring, place, kept), bound: Number.NEGATIVE_INFINITY, complete: true })!;
      return pageRows(db, page, fields);
    }
  }
  let scoring = plan?.scoring ?? null;
  for (;;) {
    const read = await bestPostings(db.searchStatements, distinct, depth, scoring === null);
    if (!scoring) {
      plan = rankingPlan(distinct, await readStatistics(db, distinct, read.words));
      plans?.set(planKey, plan);
      if (!plan) return []; // a word no document holds
      scoring = plan.scoring;
    }
    const page = pageOf(await rankRound(db, distinct, place, scoring, read.postings, filters, depth));
    if (page) return pageRows(db, page, fields);
    depth *= 4;
  }
}

/** A word's vocabulary row without its place in a statement; null: no document holds the word. */
type KeptWord = Omit<WordRow, 'k'> | null;

/**
 * Each word's idf and document count with the collection's statistics, per catalog revision (see
 * `KeptAtRevision`; the search has brought the index up to date): a model's name then ranks from two statements
 * (its matches, their rows) besides the revision's read.
 */
const keptWords = new KeptAtRevision<KeptWord>(10_000);

/** The words' rows (`k`: the word's place in `words`) when all are kept at this revision, else null. */
async function keptStatistics(db: CatalogDatabase, words: readonly string[]): Promise<WordRow[] | null> {
  const kept = await keptWords.at(db);
  if (!kept || !words.every((word) => kept.has(word))) return null;
  return words.flatMap((word, k) => {
    const row = kept.get(word);
    return row ? [{ ...row, k }] : [];
  });
}

/** `rows`, read for `words` (`k`: the word's place), kept for this revision; words without a row are in no document. */
async function readStatistics(db: CatalogDatabase, words: readonly string[], rows: WordRow[]): Promise<WordRow[]> {
  const kept = await keptWords.at(db);
  if (kept)
    for (const [k, word] of words.entries()) {
      const row = rows.find((r) => Number(r.k) === k);
      kept.set(
        word,
        row
          ? { idf: row.idf, documents: row.documents, tokens: row.tokens, reference: row.reference, doc: row.doc }
          : null,
      );
    }
  return rows;
}

interface Scoring {
  /** Per distinct word. */
  idf: number[];
  stats: RankStatistics;
}

/** How a search's distinct words rank: their scoring, and the word in fewest documents (every match holds it). */
interface RankingPlan {
  scoring: Scoring;
  /** The rarest word's place among the distinct words, and its documents. */
  rarest: number;
  rarestDocs: number;
}

/**
 * Each search's ranking plan per catalog revision (null: a word no document holds), by its distinct words: made from
 * `keptWords` once, so a name asked again ranks from one look-up instead of a copy of its words' rows, their scoring
 * and a search for the rarest at every request.
 */
const keptPlans = new KeptAtRevision<RankingPlan | null>(10_000);

/** The plan of distinct words from their vocabulary rows (`k`: the word's place), or null when one has none. */
function rankingPlan(distinct: readonly string[], rows: readonly WordRow[]): RankingPlan | null {
  const scoring = scoringOf(distinct.length, rows);
  if (!scoring) return null;
  const counts = distinct.map((_, k) => Number(rows.find((row) => Number(row.k) === k)!.doc));
  const rarest = counts.indexOf(Math.min(...counts));
  return { scoring, rarest, rarestDocs: counts[rarest]! };
}

/** The words' idf and the statistics (null when a word is in no document: nothing matches). */
function scoringOf(count: number, rows: readonly WordRow[]): Scoring | null {
  const idf: (number | undefined)[] = Array.from({ length: count }, () => undefined);
  for (const row of rows) idf[Number(row.k)] = flooredIdf(Number(row.idf));
  const first = rows[0];
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

interface Round<R extends Ranked = Ranked> {
  matches: R[];
  /** The highest score a model not seen can have. */
  bound: number;
  /** Every match was seen. */
  complete: boolean;
}

/** A model seen: its document's length and its weighted frequency per distinct word (undefined: not known yet). */
interface Seen {
  length: number;
  of: (number | undefined)[];
}

async function rankRound(
  db: CatalogDatabase,
  distinct: readonly string[],
  place: readonly number[],
  { idf, stats }: Scoring,
  postings: readonly Posting[],
  filters: readonly RawBuilder<SqlBool>[],
  depth: number,
): Promise<Round> {
  const read = distinct.map(() => 0);
  const lowest = distinct.map(() => Number.POSITIVE_INFINITY);
  const seen = new Map<number, Seen>();
  const note = (p: ProbedPosting) => {
    const k = Number(p.k);
    const id = Number(p.ModelId);
    let entry = seen.get(id);
    if (!entry) {
      entry = { length: Number(p.Length), of: distinct.map(() => undefined) };
      seen.set(id, entry);
    }
    entry.of[k] = Number(p.Frequency);
  };
  for (const p of postings) {
    const k = Number(p.k);
    read[k]!++;
    lowest[k] = Math.min(lowest[k]!, Number(p.Impact));
    note(p);
  }
  // A word whose postings ran out was read whole: every match holds it, so the matches are among its models.
  const whole = distinct.map((_, k) => read[k]! < depth);
  const complete = whole.some(Boolean);
  const bound = complete
    ? Number.NEGATIVE_INFINITY
    : place.reduce((sum, k) => sum + scoreBound(idf[k]!, lowest[k]!, stats), 0);
  let candidates = [...seen.keys()];
  if (complete) {
    const smallest = whole.reduce(
      (best, isWhole, k) => (isWhole && (best < 0 || read[k]! < read[best]!) ? k : best),
      -1,
    );
    candidates = candidates.filter((id) => seen.get(id)!.of[smallest] !== undefined);
  }
  // Postings not read yet of the candidates (none for a word read whole: a candidate without it does not match).
  const missing = distinct.map((_, k) =>
    whole[k] ? [] : candidates.filter((id) => seen.get(id)!.of[k] === undefined),
  );
  if (missing.some((ids) => ids.length > 0))
    for (const p of await postingsOf(db.searchStatements, db.dialect, distinct, missing)) note(p);
  let ids = candidates.filter((id) => seen.get(id)!.of.every((f) => f !== undefined));
  if (filters.length > 0 && ids.length > 0) {
    const passing = await passingFilters(db.searchStatements, db.dialect, ids, filters);
    ids = ids.filter((id) => passing.has(id));
  }
  const avgdl = averageLength(stats);
  const matches: Ranked[] = [];
  for (const [i, id] of ids.entries()) {
    // A deep round scores tens of thousands: in slices, taking turns with other requests.
    if (i % SCORED_PER_TURN === SCORED_PER_TURN - 1) await yieldIfBusy();
    const entry = seen.get(id)!;
    matches.push({ id, rank: -scoreOf(idf, avgdl, place, entry.of as number[], entry.length) });
  }
  return { matches, bound, complete };
}

/** Matches found whole (every word's frequency known), scored and ranked. */
function ranked({ idf, stats }: Scoring, place: readonly number[], matches: readonly Match[]) {
  const avgdl = averageLength(stats);
  return matches.map((match) => ({
    id: match.id,
    rank: -scoreOf(idf, avgdl, place, match.frequencies, match.matchLength),
    row: match.row,
  }));
}

/**
 * A model's bm25 score from its frequency of each distinct word (`idf` per distinct word, `place`: each word of the
 * search as a distinct one), summed word by word from 0, as FTS5 sums its phrases.
 */
function scoreOf(
  idf: readonly number[],
  avgdl: number,
  place: readonly number[],
  frequencies: readonly number[],
  length: number,
): number {
  let score = 0;
  for (const k of place) score += termScore(idf[k]!, frequencies[k]!, length, avgdl);
  return score;
}

/** A row-field plan with `id` (a page's rows are matched to their models by it). */
function withId(fields: RowFields): RowFields {
  return fields === null ? null : fields.includes('id') ? fields : ['id', ...fields];
}

async function pageRows(db: CatalogDatabase, page: readonly Ranked[], fields: RowFields) {
  if (page.length === 0) return [];
  const rows = await modelRows(
    db.searchStatements,
    db.dialect,
    page.map((r) => r.id),
    withId(fields),
  );
  const byId = new Map(rows.map((row) => [Number(row.id), row]));
  return page.flatMap((r) => {
    const row = byId.get(r.id);
    // A model deleted since its postings were read is not on the page.
    return row ? [withSortKeys(row, r)] : [];
  });
}

/**
 * A page's row with its sort keys (rank, id) as `k0` and `k1`, as `rootPageRows` gives them. Set on the row, which
 * the statement made for this page alone: a copy of each row cost more than reading it.
 */
function withSortKeys(row: Record<string, unknown>, { rank, id }: Ranked): Record<string, unknown> {
  row.k0 = rank;
  row.k1 = id;
  return row;
}
