/**
 * The search's word rules, which both engines share: SQLite's FTS5 tokenizer (unicode61, remove_diacritics 2) reads
 * document text itself, while PostgreSQL's documents and queries are tokenized and folded by `src/search/text.ts`.
 * For the engines to find the same models, the two must split and fold text alike — checked here letter by letter
 * against SQLite’s own tokenizer (fed, like the index, text whose CJK characters are spaced apart).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SEARCH_COLUMNS } from '../src/db/search.ts';
import { highlight } from '../src/search/highlight.ts';
import { matchExpression, searchTerms } from '../src/search/query.ts';
import { createRandom } from '../src/seed/random.ts';
import { indexForm, spaceCjk, tokens } from '../src/search/text.ts';

/** Every token FTS5 stores for each text, in order (an in-memory table and its per-instance vocabulary). */
function fts5Tokens(texts: readonly string[]): string[][] {
  const db = new Database(':memory:');
  try {
    db.exec(`CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 2');
      CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');`);
    const insert = db.prepare('INSERT INTO t (rowid, x) VALUES (?, ?)');
    db.transaction(() => {
      for (const [i, text] of texts.entries()) insert.run(i + 1, text);
    })();
    const found: string[][] = texts.map(() => []);
    for (const row of db.prepare('SELECT doc, term FROM v ORDER BY doc, "offset"').iterate() as Iterable<{
      doc: number;
      term: string;
    }>)
      found[row.doc - 1]!.push(row.term);
    return found;
  } finally {
    db.close();
  }
}

const ours = (text: string) => tokens(text).map(indexForm);

/** Code point ranges of scripts whose letters Unicode 6.1 (SQLite's tables) already had. */
const RANGES: [number, number][] = [
  [0x20, 0x24f], // Latin, Latin-1, Latin Extended-A and -B, punctuation
  [0x300, 0x36f], // combining diacritical marks
  [0x386, 0x3ff], // Greek
  [0x400, 0x4ff], // Cyrillic
  [0x5d0, 0x5ea], // Hebrew letters
  [0x1e00, 0x1eff], // Latin Extended Additional (ạ, ẞ…)
  [0x2000, 0x2065], // general punctuation (the bidi isolates after it came in Unicode 6.3)
  [0x3000, 0x30ff], // CJK punctuation, hiragana, katakana
  [0x4e00, 0x9fcb], // CJK ideographs
  [0xac00, 0xd7a3], // Hangul syllables
  [0xff01, 0xffdc], // full-width and half-width forms
];

describe('tokens and indexForm agree with SQLite’s unicode61 tokenizer', () => {
  it('for every letter, digit, mark and separator of the common scripts, alone and inside a word', () => {
    const texts: string[] = [];
    for (const [from, to] of RANGES)
      for (let code = from; code <= to; code++) {
        const c = String.fromCodePoint(code);
        texts.push(c, `a${c}b`, `Ab ${c}${c} x`);
      }
    const expected = fts5Tokens(texts.map(spaceCjk));
    const differ = texts.flatMap((text, i) =>
      JSON.stringify(ours(text)) === JSON.stringify(expected[i]) ? [] : [`${JSON.stringify(text)}: ${expected[i]}`],
    );
    expect(differ.slice(0, 20)).toEqual([]);
  });

  it('for decomposed accents, case pairs and real names', () => {
    const texts = [
      'e\u0301cole Cre\u0300me',
      'École CRÈME Ørsted Straße ẞ İstanbul ſtyle µ ΣΊΣΥΦΟΣ',
      'Привет ЁЛКА йогурт',
      '東京 夜景スタイル 한국어',
      'lo-ra v1.5 file_name.safetensors it’s 1girl',
      '\u0301abc a\u0338b ɑ\u0303 ö\u0308',
    ];
    const expected = fts5Tokens(texts.map(spaceCjk));
    for (const [i, text] of texts.entries()) expect(ours(text), text).toEqual(expected[i]);
  });
});

describe('highlight agrees with FTS5’s highlight() and snippet()', () => {
  const WORDS = ['moon', 'moonlight', 'castle', 'Café', 'crème', 'sea', 'pixel', 'art', 'style', '東京', 'v1', 'lo'];
  const GLUE = [' ', ' ', ' ', ', ', '. ', ': ', ' | ', '_', '-', '\n', '.', '  '];

  it('marks the same fields and gives the same snippet, for random documents and searches', () => {
    const random = createRandom(7);
    const text = (max: number) =>
      spaceCjk(
        Array.from({ length: random.int(0, max) }, () => random.pick(WORDS) + random.pick(GLUE))
          .join('')
          .trim(),
      );
    const db = new Database(':memory:');
    try {
      db.exec(`CREATE VIRTUAL TABLE s USING fts5(${SEARCH_COLUMNS.map((c) => `"${c}"`).join(', ')},
        tokenize = 'unicode61 remove_diacritics 2')`);
      const insert = db.prepare(`INSERT INTO s (rowid, ${SEARCH_COLUMNS.map((c) => `"${c}"`).join(', ')})
        VALUES (?, ${SEARCH_COLUMNS.map(() => '?').join(', ')})`);
      const docs = Array.from({ length: 300 }, (_, i) => {
        const texts = SEARCH_COLUMNS.map((_, c) => text(c >= 7 ? 60 : 6));
        insert.run(i + 1, ...texts);
        return texts;
      });
      const marks = SEARCH_COLUMNS.map((_, i) => `highlight(s, ${i}, '[', ']') AS h${i}`).join(', ');
      const query = db.prepare(
        `SELECT rowid AS id, ${marks}, snippet(s, -1, '[', ']', '…', 16) AS snippet FROM s WHERE s MATCH ? ORDER BY rowid`,
      );
      let compared = 0;
      for (const q of ['moon', 'moon*', 'castle moon', '"pixel art"', '"pixel ar"*', 'cafe creme', 'lo* sea', '東京']) {
        const terms = searchTerms(q);
        for (const row of query.all(matchExpression(terms)) as Record<string, string | number>[]) {
          const ours = highlight(terms, docs[Number(row.id) - 1]!, '[', ']');
          const theirs = SEARCH_COLUMNS.map((_, i) => String(row[`h${i}`]).includes('['));
          expect({ q, id: row.id, matched: ours.matched, snippet: ours.snippet }).toEqual({
            q,
            id: row.id,
            matched: theirs,
            snippet: row.snippet,
          });
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(300);
    } finally {
      db.close();
    }
  });
});
