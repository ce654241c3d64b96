/**
 * User text → search terms, and the terms as an FTS5 MATCH expression that cannot fail to parse (PostgreSQL's
 * tsquery is built from the same terms: `src/db/postgres/text-search.ts`). Words become quoted tokens (so AND, OR, NOT,
 * NEAR, column names and punctuation are plain words), `"…"` keeps a phrase, a trailing `*` makes a prefix, and
 * all terms must match — so a term given twice is looked for once. Anything else the user typed is a separator.
 */
import { AppError, limitExceeded } from '../errors.ts';
import { tokens } from './text.ts';
import { rememberedByText } from '../memo.ts';

export const MAX_QUERY_LENGTH = 500;
export const MAX_QUERY_TERMS = 32;

/** One term of a search: adjacent words (a phrase), the last one a prefix when it ended in `*`. */
export interface SearchTerm {
  readonly words: readonly string[];
  readonly prefix: boolean;
}

function phrase(term: SearchTerm): string {
  return `"${term.words.join(' ')}"${term.prefix ? '*' : ''}`;
}

/**
 * The distinct terms of a search text, in order. A request reads them more than once (its cost estimate, its
 * search), and clients repeat searches: remembered, frozen.
 */
export const searchTerms: (input: string) => readonly SearchTerm[] = rememberedByText(termsOf);

function termsOf(input: string): readonly SearchTerm[] {
  if (input.length > MAX_QUERY_LENGTH) {
    throw limitExceeded(
      `Search text is at most ${MAX_QUERY_LENGTH} characters, got ${input.length}.`,
      MAX_QUERY_LENGTH,
    );
  }
  const terms = new Map<string, SearchTerm>();
  const add = (term: SearchTerm) => {
    if (term.words.length > 0) terms.set(phrase(term), term);
  };
  for (const match of input.matchAll(/"([^"]*)"|(\S+)/g)) {
    if (match[1] !== undefined) add({ words: tokens(match[1]), prefix: false });
    // A word the tokenizer splits ("lo-ra", "東京") must stay adjacent: a phrase.
    else add({ words: tokens(match[2]!), prefix: match[2]!.endsWith('*') });
  }
  if (terms.size === 0) throw new AppError('BAD_USER_INPUT', 'Search text has no words to look for.');
  if (terms.size > MAX_QUERY_TERMS)
    throw limitExceeded(`Search text has at most ${MAX_QUERY_TERMS} words, got ${terms.size}.`, MAX_QUERY_TERMS);
  return Object.freeze([...terms.values()].map((term) => Object.freeze({ ...term, words: Object.freeze(term.words) })));
}

export function matchExpression(terms: readonly SearchTerm[]): string {
  return terms.map(phrase).join(' ');
}

export function toMatchExpression(input: string): string {
  return matchExpression(searchTerms(input));
}
