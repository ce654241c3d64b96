/**
 * User text → an FTS5 MATCH expression that cannot fail to parse. Words become quoted tokens (so AND, OR, NOT,
 * NEAR, column names and punctuation are plain words), `"…"` keeps a phrase, a trailing `*` makes a prefix, and
 * all terms must match. Anything else the user typed is a separator.
 */
import { AppError } from '../../errors.ts';
import { tokens } from './text.ts';

export const MAX_QUERY_LENGTH = 500;
export const MAX_QUERY_TERMS = 32;

function phrase(words: string[], prefix: boolean): string {
  return `"${words.join(' ')}"${prefix ? '*' : ''}`;
}

export function toMatchExpression(input: string): string {
  if (input.length > MAX_QUERY_LENGTH) {
    throw new AppError('LIMIT_EXCEEDED', `Search text is at most ${MAX_QUERY_LENGTH} characters, got ${input.length}.`, { limit: MAX_QUERY_LENGTH });
  }
  const terms: string[] = [];
  for (const match of input.matchAll(/"([^"]*)"|(\S+)/g)) {
    if (match[1] !== undefined) {
      const words = tokens(match[1]);
      if (words.length > 0) terms.push(phrase(words, false));
      continue;
    }
    const raw = match[2]!;
    const words = tokens(raw);
    if (words.length === 0) continue;
    // A word the tokenizer splits ("lo-ra", "東京") must stay adjacent: a phrase.
    terms.push(phrase(words, /\*$/.test(raw)));
  }
  if (terms.length === 0) throw new AppError('BAD_USER_INPUT', 'Search text has no words to look for.');
  if (terms.length > MAX_QUERY_TERMS) {
    throw new AppError('LIMIT_EXCEEDED', `Search text has at most ${MAX_QUERY_TERMS} words, got ${terms.length}.`, { limit: MAX_QUERY_TERMS });
  }
  return terms.join(' ');
}

/** The condition for `models(filter: { query })`: models whose search document matches. */
export function searchFilterSql(query: string, m = 'm'): { sql: string; params: unknown[] } {
  return { sql: `${m}."Id" IN (SELECT rowid FROM "ModelSearch" WHERE "ModelSearch" MATCH ?)`, params: [toMatchExpression(query)] };
}
