/**
 * How a search of plain words ranks, computed from the project's own postings (ModelSearchPostings, one row per word
 * and model) the same way on both engines: FTS5's bm25 — the formula, the column weights and the statistics SQLite's
 * `bm25()` uses, so SQLite answers exactly as FTS5 ranked before, and PostgreSQL ranks as SQLite does.
 *
 * A model's score for words w₁…wₙ (all must match) is Σᵢ idf(wᵢ) · f·(k1+1) / (f + k1·(1 − b + b·D/avgdl)), where f
 * is the word's frequency weighted by field (each occurrence adds its field's weight), D the document's length in
 * tokens (all fields), avgdl the average length and idf(w) = ln((N − n + 0.5) / (n + 0.5)) for n of N documents
 * holding w (at least 1e-6). A term's part grows with f / ((1 − b)·avgdl + b·D): each posting stores that ratio
 * with avgdl frozen at a reference length A (its "impact"), so a word's postings in impact order are its models in
 * score order, and the score of any model below a posting is bounded (`scoreBound`) — top-k search stops there.
 */
import type { SearchColumn, SearchDocument } from '../db/search.ts';
import { rememberedByObject } from '../memo.ts';
import type { SearchTerm } from './query.ts';
import { documentTokens, indexForm } from './text.ts';

/**
 * Each field's weight, in the index's column order: the weights the AddModelSearch migration gave FTS5's bm25
 * (a test reads them back from the FTS5 table's configuration).
 */
export const FIELD_WEIGHTS: Readonly<Record<SearchColumn, number>> = {
  name: 10,
  tags: 6,
  triggerWords: 6,
  creator: 4,
  fileNames: 3,
  versionNames: 2,
  baseModels: 2,
  description: 1,
  prompts: 0.3,
};

/** bm25's constants, as FTS5 fixes them. */
const K1 = 1.2;
const B = 0.75;
/** idf's floor, as FTS5's (a word in more than half the documents still counts a little). */
const MIN_IDF = 1e-6;

/**
 * FTS5 ranks a search in time that grows with its matches (it scores every one); on SQLite, plain words whose
 * documents, summed over the words, are at most this many rank there — with the same scores to the last bit, so the
 * plan chosen changes no answer and no cursor — and more rank from the postings.
 */
export const FTS5_RANKS_UP_TO = 1_500;

/**
 * The longest word kept in the postings, in UTF-8 bytes (PostgreSQL's b-tree takes entries of about 2.7 KB). A
 * search for a longer word, which no name or tag holds, goes through the engine's own index.
 */
export const MAX_POSTING_WORD_BYTES = 2_047;

export function postingWord(word: string): boolean {
  return word.length * 3 <= MAX_POSTING_WORD_BYTES || Buffer.byteLength(word) <= MAX_POSTING_WORD_BYTES;
}

/**
 * The words of a search made of single words only (no phrase, no prefix), as the index holds them: those rank from
 * the postings (`top-k.ts`), at a cost that does not grow with the matches. Null for any other search, which the
 * engine's own index ranks. Per parsed search: a request asks several times.
 */
export const plainWords = rememberedByObject((terms: readonly SearchTerm[]): readonly string[] | null => {
  if (terms.some((term) => term.prefix || term.words.length !== 1)) return null;
  const words = terms.map((term) => indexForm(term.words[0]!));
  return words.every(postingWord) ? words : null;
});

/**
 * What a search's cursors belong to (see `scopedOrdering`): its words when they are plain — ranked alike on both
 * engines and by either plan, so a cursor is the same everywhere — else the engine's own match text.
 */
export function rankScope(terms: readonly SearchTerm[], match: string): string {
  const words = plainWords(terms);
  return words ? `words ${words.join(' ')}` : match;
}

/** A document as the postings hold it: its length in tokens and each word's weighted frequency. */
export interface DocumentPostings {
  length: number;
  frequencies: Map<string, number>;
}

/**
 * The words of a search document with their weighted frequencies, summed occurrence by occurrence in field order
 * (the order FTS5 adds them in, so the sums round alike), and its length in tokens.
 */
export function documentPostings(doc: SearchDocument, columns: readonly SearchColumn[]): DocumentPostings {
  const frequencies = new Map<string, number>();
  let length = 0;
  for (const column of columns) {
    const weight = FIELD_WEIGHTS[column];
    for (const token of documentTokens(doc[column])) {
      length++;
      const word = indexForm(token);
      frequencies.set(word, (frequencies.get(word) ?? 0) + weight);
    }
  }
  return { length, frequencies };
}

/** What a posting is ordered by: its part of the score grows with it (see the header). */
export function postingImpact(frequency: number, length: number, referenceLength: number): number {
  return frequency / ((1 - B) * referenceLength + B * length);
}

/** The collection's statistics a score needs. */
export interface RankStatistics {
  documents: number;
  tokens: number;
  /** The average length the stored impacts were computed with (A). */
  referenceLength: number;
}

export function averageLength(stats: RankStatistics): number {
  return stats.documents > 0 ? stats.tokens / stats.documents : 1;
}

/** idf as FTS5 floors it; `ln` is the engine's (SQLite's and PostgreSQL's `ln`, C's log: FTS5's own). */
export function flooredIdf(idf: number): number {
  return idf <= 0 ? MIN_IDF : idf;
}

/** One word's part of a model's score, written as FTS5 computes it (the same operations, so the same doubles). */
export function termScore(idf: number, frequency: number, length: number, avgdl: number): number {
  return idf * ((frequency * (K1 + 1.0)) / (frequency + K1 * (1 - B + (B * length) / avgdl)));
}

/**
 * The most a word adds to the score of any model whose posting's impact is at most `impact`. With the current
 * average length L instead of the reference A, f / ((1 − b)·L + b·D) ≤ impact · max(1, A / L); a word's part is
 * idf · (k1+1) · u·L / (u·L + k1) for u that ratio. A hair above, so rounding never makes a bound too low.
 */
export function scoreBound(idf: number, impact: number, stats: RankStatistics): number {
  const avgdl = averageLength(stats);
  const u = impact * Math.max(1, stats.referenceLength / avgdl);
  return idf * (K1 + 1) * ((u * avgdl) / (u * avgdl + K1)) * (1 + 1e-9);
}
