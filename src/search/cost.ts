/**
 * What a search will cost, estimated from the index's own term statistics before it runs. FTS5 reads every
 * matching document of every term to rank (and to count), and for highlights (`snippet`, `matchedFields`) it reads
 * a prefix term's whole expansion again for each row shown — "l* l* l* …" or thirty-two short prefixes made one
 * request stall the server for minutes. Estimates are in microseconds of this machine's work, fitted on the
 * benchmark catalogs; requests whose searches would cost more than the limits below are refused up front.
 * PostgreSQL's GIN index does the same reads (every posting of a term to rank and count, a prefix's expansion on
 * each scan) and its highlights tokenize the page's texts; it takes the same estimate, from its own vocabulary
 * table, which is not fitted separately.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { type VocabularyWord, wordPostings } from '../db/search.ts';
import type { SearchTerm } from './query.ts';
import { ensureSearchIndexCurrent } from './search-index.ts';
import { indexForm } from './text.ts';
import { KeptAtRevision } from './kept-at-revision.ts';
import { rememberedByObject } from '../memo.ts';

export const SEARCH_COST_LIMITS = {
  /** One search (one statement's worth of work): ~0.4 s. */
  perSearchUs: 400_000,
  /** A search estimated above this runs on the read worker (below it, the round trip would cost more). */
  offloadAboveUs: 10_000,
  /** All searches of one request. */
  perRequestUs: 1_500_000,
} as const;

/** Fitted: ranking or counting reads each posting once; a shown row's highlights cost a base plus a re-read of prefix expansions. */
const US_PER_POSTING = 0.4;
const HIGHLIGHT_BASE_US_PER_ROW = 150;
const HIGHLIGHT_US_PER_PREFIX_POSTING = 0.1;
/** A prefix expanding to more index terms than this is costed as unbounded. */
const MAX_EXPANSION_SCAN = 20_000;

export interface SearchCostInput {
  terms: readonly SearchTerm[];
  /** Rows shown with highlights (0 when neither `snippet` nor `matchedFields` is asked for). */
  highlightedRows: number;
  /** How many statements read the whole match (a page, its count, each facet). */
  passes: number;
}

type Postings = { terms: number; docs: number };

/**
 * Each word's expansions and documents, per catalog revision (see `KeptAtRevision`): a search then costs one read
 * of the revision instead of a walk of the vocabulary (a fifth of a search's time for a name with few matches).
 */
const keptPostings = new KeptAtRevision<Postings>(10_000);

/** A search's words as the vocabulary holds them, and their keys in `keptPostings`. */
export interface VocabularyWords {
  words: readonly VocabularyWord[];
  keys: readonly string[];
}

/** A search's words as the vocabulary holds them; per parsed search, so folded and keyed once. */
export const vocabularyWords = rememberedByObject((terms: readonly SearchTerm[]): VocabularyWords => {
  const words = terms.flatMap((term) =>
    term.words.map((word, i) => ({ word: indexForm(word), prefix: term.prefix && i === term.words.length - 1 })),
  );
  return { words, keys: words.map(({ word, prefix }) => `${prefix ? '*' : '='}${word}`) };
});

/** Each word's expansions and documents, from the vocabulary, kept per catalog revision (see `keptPostings`). */
export async function vocabularyCounts(db: CatalogDatabase, { words, keys }: VocabularyWords): Promise<Postings[]> {
  const kept = await keptPostings.at(db);
  if (!kept) return wordPostings(db, words, MAX_EXPANSION_SCAN);
  const postings = keys.map((key) => kept.get(key));
  const missing: number[] = [];
  for (const [i, known] of postings.entries()) if (!known) missing.push(i);
  if (missing.length > 0) {
    await ensureSearchIndexCurrent(db);
    const found = await wordPostings(
      db,
      missing.map((i) => words[i]!),
      MAX_EXPANSION_SCAN,
    );
    // Answered from what was read, not from the memo: keeping one may drop the others (see `KeptByKey`).
    for (const [k, i] of missing.entries()) {
      postings[i] = found[k]!;
      kept.set(keys[i]!, found[k]!);
    }
  }
  return postings as Postings[];
}

/** Estimated microseconds of work for a search. */
export async function estimateSearchCost(db: CatalogDatabase, input: SearchCostInput): Promise<number> {
  const counted = vocabularyWords(input.terms);
  const postings = await vocabularyCounts(db, counted);
  let all = 0;
  let prefixed = 0;
  for (const [i, { terms, docs }] of postings.entries()) {
    const count = terms >= MAX_EXPANSION_SCAN ? Number.MAX_SAFE_INTEGER : docs;
    all += count;
    if (counted.words[i]!.prefix) prefixed += count;
  }
  return (
    input.passes * all * US_PER_POSTING +
    input.highlightedRows * (HIGHLIGHT_BASE_US_PER_ROW + prefixed * HIGHLIGHT_US_PER_PREFIX_POSTING)
  );
}
