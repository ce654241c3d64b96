/**
 * How PostgreSQL's search index holds the words SQLite's FTS5 index holds. PostgreSQL's own parser cannot do it:
 * it keeps `file_v2.safetensors` as one word, and under the C character classes the catalog needs it folds case
 * for ASCII only. So words are split and folded in code, by the rules SQLite's tokenizer follows
 * (`src/search/text.ts`), and handed over ready-made: a document as a `tsvector` literal, a search as a `tsquery`
 * literal. Neither parses user text as syntax — every word is quoted — and no extension (unaccent) is needed.
 */
import type { SearchTerm } from '../../search/query.ts';
import { documentTokens, indexForm } from '../../search/text.ts';
import type { SearchColumn, SearchDocument } from '../search.ts';

type WeightClass = 'A' | 'B' | 'C' | 'D';

/**
 * Each field's weight class. A tsvector has four classes where FTS5's bm25 takes a weight per column (10, 6, 6, 4,
 * 3, 2, 2, 1, 0.3): the fields keep their order of importance, and the ones with close weights share a class.
 * Long fields come last, where positions past the tsvector's limit are clamped (see `documentVector`).
 */
const WEIGHT_CLASSES: Readonly<Record<SearchColumn, WeightClass>> = {
  name: 'A',
  tags: 'B',
  triggerWords: 'B',
  creator: 'C',
  fileNames: 'C',
  versionNames: 'C',
  baseModels: 'C',
  description: 'D',
  prompts: 'D',
};

/** The classes' weights for ts_rank_cd, in its order {D, C, B, A}: bm25's, scaled to the name's 1.0. */
export const RANK_WEIGHTS = '{0.1, 0.3, 0.6, 1.0}';

/**
 * How ts_rank_cd scales for a document's length: 1 divides by 1 + log(words), as bm25 ranks a match in a short
 * document above the same match in a long one.
 */
export const RANK_NORMALIZATION = 1;

/** PostgreSQL's limits: the highest word position, positions kept per word, bytes of one word and of all words. */
const MAX_POSITION = 16_383;
const MAX_POSITIONS_PER_WORD = 256;
const MAX_WORD_BYTES = 2_047;
const MAX_WORDS_BYTES = 1_048_575;

/** A lexeme in a tsvector or tsquery literal: quoted, so no character of it is syntax. */
function lexeme(word: string): string {
  return `'${word.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/** The longest start of `word` that PostgreSQL takes as a lexeme (whole characters). */
function fitWord(word: string): string {
  if (Buffer.byteLength(word) <= MAX_WORD_BYTES) return word;
  let fitted = '';
  let bytes = 0;
  for (const c of word) {
    bytes += Buffer.byteLength(c);
    if (bytes > MAX_WORD_BYTES) break;
    fitted += c;
  }
  return fitted;
}

export interface DocumentVector {
  /** The `tsvector` literal. */
  vector: string;
}

/**
 * A document's `tsvector`: every word of every field at its position, with its field's weight class. Fields are
 * laid out one after another with a gap of one position, so a phrase never matches across two fields (FTS5 never
 * matches one across columns). Words longer than PostgreSQL takes are cut (a search word, at most 500 characters,
 * can still match them as a prefix); positions past 16,383 share the last one, and a word keeps its first 256.
 */
export function documentVector(doc: SearchDocument): DocumentVector {
  const positions = new Map<string, string[]>();
  let wordBytes = 0;
  let position = 0;
  for (const [column, weight] of Object.entries(WEIGHT_CLASSES) as [SearchColumn, WeightClass][]) {
    for (const token of documentTokens(doc[column])) {
      position = Math.min(position + 1, MAX_POSITION);
      const word = fitWord(indexForm(token));
      let list = positions.get(word);
      if (!list) {
        // A document too large for one tsvector keeps the words that fit (a megabyte of distinct words).
        wordBytes += Buffer.byteLength(word) + 8;
        if (wordBytes > MAX_WORDS_BYTES) continue;
        list = [];
        positions.set(word, list);
      }
      const at = `${position}${weight}`;
      if (list.length < MAX_POSITIONS_PER_WORD && list.at(-1) !== at) list.push(at);
    }
    position = Math.min(position + 1, MAX_POSITION);
  }
  const parts: string[] = [];
  for (const [word, list] of positions) parts.push(`${lexeme(word)}:${list.join(',')}`);
  return { vector: parts.join(' ') };
}

/**
 * A search as a `tsquery`: every term must match (`&`); a term's words are adjacent (`<->`), its last one a prefix
 * (`:*`) when it ended in `*` — what the same terms mean to FTS5 (`matchExpression` in src/search/query.ts).
 */
export function searchQuery(terms: readonly SearchTerm[]): string {
  const phrases = terms.map((term) =>
    term.words
      .map((word, i) => `${lexeme(fitWord(indexForm(word)))}${term.prefix && i === term.words.length - 1 ? ':*' : ''}`)
      .join(' <-> '),
  );
  return phrases.map((phrase) => `(${phrase})`).join(' & ');
}
