/**
 * The honest baselines' ranking of a plain-word search (`honest-baseline.ts`, `honest-baseline-pg.ts`): the fastest
 * way a careful engineer finds a search's first page on this catalog, which holds, beside the engine's full-text
 * index, each word's postings in impact order (ModelSearchPostings; what they mean: `src/search/ranking.ts`).
 *
 * - A search whose rarest word is in few documents (a model's name) reads that word's postings and, per model, the
 *   other words' frequencies by primary key: every match at once, with the page's columns.
 * - Several common words whose documents, summed, are few enough (`engineRanksUpTo`): the engine's own index ranks
 *   them faster (on SQLite: FTS5 walks two doclists, where impact order helps little for two unrelated words).
 * - Any other reads each word's best postings until the page's scores beat what a model not read could score (the
 *   threshold algorithm), then the page's rows.
 *
 * Scores are FTS5's bm25 through the product's pure formula helpers (the same double operations, so the answers are
 * byte-equal); the idf comes from the engine's `ln`, as the product's does. Each engine gives only its statements
 * (`PostingsReader`): the plans are the same, the SQL dialects and round trips differ.
 */
import { averageLength, flooredIdf, type RankStatistics, scoreBound, termScore } from '../src/search/ranking.ts';
import type { Row } from './answer-json.ts';

/** A word's statistics: its idf as the engine's `ln` gives it, how many documents hold it. */
export interface WordStatistics {
  idf: number;
  docs: number;
}

/** A posting of word `k` (its place among the distinct words) of a model already seen: what its score needs. */
export interface ProbedPosting {
  k: number;
  id: number;
  frequency: number;
  length: number;
}

/** One of a word's best postings: with its impact, which bounds what the postings below it can score. */
export interface ReadPosting extends ProbedPosting {
  impact: number;
}

/** A model holding every word: its columns (`Id`, `Name`, `Type`), its document's length, each word's frequency. */
export interface MatchRow {
  row: Row;
  length: number;
  frequencies: number[];
}

export interface PostingsReader {
  /**
   * Each distinct word's statistics (null: in no document) and the collection's; and, from an engine where a round
   * trip costs more than the work, the page itself when it is cheap to find there, or else the first round's best
   * postings (`best(words, firstDepth(first))`).
   */
  statistics(
    words: readonly string[],
    searched: readonly string[],
    first: number,
  ): Promise<{ words: (WordStatistics | null)[]; stats: RankStatistics; page?: Row[]; best?: ReadPosting[] }>;
  /**
   * Every model holding all `words`, through the postings of `words[rarest]`, with their columns (asked when the
   * rarest word is in at most `ALL_AT_ONCE` documents; an engine whose `statistics` gives the page then has none).
   */
  matches?(words: readonly string[], rarest: number): Promise<MatchRow[]>;
  /** Each word's `depth` best postings (impact, then model id, both descending). */
  best(words: readonly string[], depth: number): Promise<ReadPosting[]>;
  /** The postings of word k for the models `ids[k]` (per word). */
  postingsOf(words: readonly string[], ids: readonly (readonly number[])[]): Promise<ProbedPosting[]>;
  /** The page's columns by model id. */
  models(ids: readonly number[]): Promise<Row[]>;
}

/** A search whose rarest word is in at most this many documents reads all of its matches at once, with their rows. */
export const ALL_AT_ONCE = 64;
/** Postings read per word in the first round: twice the rows wanted, at least this many. */
const FIRST_DEPTH = 64;

/**
 * The first `first + 1` models matching every word of `words` (in the search's order, repeats included: each counts
 * as FTS5 counts it), best first, as rows with `rank` (the negated score), for `searchAnswer`; null when the
 * engine's own index ranks this search faster (see the header).
 */
export async function rankFromPostings(
  reader: PostingsReader,
  words: readonly string[],
  first: number,
  engineRanksUpTo: number,
): Promise<Row[] | null> {
  const distinct = [...new Set(words)];
  const place = words.map((word) => distinct.indexOf(word));
  const read = await reader.statistics(distinct, words, first);
  if (read.words.some((w) => w === null)) return [];
  if (read.page) return read.page;
  const idf = read.words.map((w) => flooredIdf(w!.idf));
  const avgdl = averageLength(read.stats);
  const score = (frequencies: readonly number[], length: number) => {
    let sum = 0;
    for (const k of place) sum += termScore(idf[k]!, frequencies[k]!, length, avgdl);
    return sum;
  };
  const wanted = first + 1;
  const docs = read.words.map((w) => w!.docs);
  const rarest = docs.indexOf(Math.min(...docs));
  if (docs[rarest]! > ALL_AT_ONCE && distinct.length > 1 && docs.reduce((sum, n) => sum + n, 0) <= engineRanksUpTo)
    return null;
  if (docs[rarest]! <= ALL_AT_ONCE && reader.matches) {
    const matches = await reader.matches(distinct, rarest);
    const ranked: Ranked[] = matches.map((m, i) => ({
      id: Number(m.row.Id),
      rank: -score(m.frequencies, m.length),
      i,
    }));
    return ranked
      .sort(byRank)
      .slice(0, wanted)
      .map((r) => withRank(matches[r.i]!.row, r.rank));
  }
  let best = read.best;
  for (let depth = firstDepth(first); ; depth *= 4) {
    best ??= await reader.best(distinct, depth);
    const page = await thresholdRound(reader, distinct, place, idf, read.stats, score, wanted, depth, best);
    if (page) return pageRows(reader, page);
    best = undefined;
  }
}

/** Postings read per word in the first round of a page of `first`. */
export function firstDepth(first: number): number {
  return Math.max(FIRST_DEPTH, 2 * (first + 1));
}

/** A model ranked: lower rank first, then lower id (`i`: its place in what was read). */
interface Ranked {
  id: number;
  rank: number;
  i: number;
}

function byRank(a: Ranked, b: Ranked): number {
  return a.rank - b.rank || a.id - b.id;
}

function withRank(row: Row, rank: number): Row {
  row.rank = rank;
  return row;
}

async function pageRows(reader: PostingsReader, page: readonly Ranked[]): Promise<Row[]> {
  const rows = new Map((await reader.models(page.map((r) => r.id))).map((row) => [Number(row.Id), row]));
  return page.map((r) => withRank(rows.get(r.id)!, r.rank));
}

/** One round at `depth`, from each word's `best` postings: the page (ids and ranks) when it is sure, else null. */
async function thresholdRound(
  reader: PostingsReader,
  distinct: readonly string[],
  place: readonly number[],
  idf: readonly number[],
  stats: RankStatistics,
  score: (frequencies: readonly number[], length: number) => number,
  wanted: number,
  depth: number,
  best: readonly ReadPosting[],
): Promise<Ranked[] | null> {
  const count = distinct.map(() => 0);
  const lowest = distinct.map(() => Number.POSITIVE_INFINITY);
  const seen = new Map<number, { length: number; of: (number | undefined)[] }>();
  const note = (p: ProbedPosting) => {
    let entry = seen.get(p.id);
    if (!entry) seen.set(p.id, (entry = { length: p.length, of: distinct.map(() => undefined) }));
    entry.of[p.k] = p.frequency;
  };
  for (const p of best) {
    count[p.k]!++;
    lowest[p.k] = Math.min(lowest[p.k]!, p.impact);
    note(p);
  }
  // A word read to its end: every match holds it, so every match was seen.
  const whole = count.findIndex((n) => n < depth);
  let candidates = [...seen.keys()];
  if (whole >= 0) candidates = candidates.filter((id) => seen.get(id)!.of[whole] !== undefined);
  // Postings not read yet of the candidates (none for a word read whole: a candidate without it does not match).
  const missing = distinct.map((_, k) =>
    count[k]! < depth ? [] : candidates.filter((id) => seen.get(id)!.of[k] === undefined),
  );
  if (missing.some((ids) => ids.length > 0)) for (const p of await reader.postingsOf(distinct, missing)) note(p);
  const found: Ranked[] = [];
  for (const id of candidates) {
    const entry = seen.get(id)!;
    if (entry.of.every((f) => f !== undefined))
      found.push({ id, rank: -score(entry.of as number[], entry.length), i: found.length });
  }
  found.sort(byRank);
  if (whole >= 0) return found.slice(0, wanted);
  const bound = place.reduce((sum, k) => sum + scoreBound(idf[k]!, lowest[k]!, stats), 0);
  return found.length >= wanted && -found[wanted - 1]!.rank > bound ? found.slice(0, wanted) : null;
}
