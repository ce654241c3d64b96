/**
 * Searches of plain words rank from the project's own postings (src/search/top-k.ts): checked against FTS5's own
 * bm25 ranking of the same catalog (SQLite's `ORDER BY rank`), page by page, forward and backward, with filters and
 * after writes, on either engine (the postgres project runs this file on a PostgreSQL copy of the catalog). The
 * catalog is large enough that common words match several times more models than the first round reads.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CatalogDatabase } from '../src/db/catalog-database.ts';
import { openCatalog } from '../src/db/open-catalog.ts';
import { type ModelFilter, modelFilter } from '../src/db/lists.ts';
import { SEARCH_COLUMNS } from '../src/db/search.ts';
import { FIELD_WEIGHTS } from '../src/search/ranking.ts';
import { refreshSearchIndex } from '../src/search/search-index.ts';
import type { KeyValue } from '../src/catalog/pagination.ts';
import { searchTerms, toMatchExpression } from '../src/search/query.ts';
import { plainWords } from '../src/search/ranking.ts';
import { RAREST_RANKS_FROM_POSTINGS, rankedPageRows } from '../src/search/top-k.ts';
import { dataOf, seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { runOnCatalog, TEST_ENGINE } from './helpers/postgres.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let catalog: SeededCatalog;
let server: TestServer;
/** The seeded SQLite file, whose FTS5 index gives the expected ranking (on both engines: the catalog is a copy). */
let reference: CatalogDatabase;
/** The server's catalog, for the postings' ranking itself (the API lets FTS5 rank SQLite searches with few matches). */
let served: CatalogDatabase;
const statements: string[] = [];

beforeAll(async () => {
  catalog = await seededCatalog({ models: 500, thumbnails: 'none', imagesPerVersion: 2 });
  server = await startTestServer(
    { dataDir: catalog.dataDir, databasePath: catalog.databasePath },
    { onStatement: (sql) => statements.push(sql) },
  );
  reference = await openCatalog({ engine: 'sqlite', path: catalog.databasePath, dataDir: catalog.dataDir });
  await refreshSearchIndex(reference);
  served = server.config.database?.engine === 'postgres' ? await openCatalog(server.config.database) : reference;
  return async () => {
    await reference.close();
    if (served !== reference) await served.close();
  };
}, 120_000);

interface Hit {
  id: number;
  score: number;
}

/** FTS5's ranking of the SQLite file: every match, best first (ties by id), with bm25's score. */
function fts5Ranking(query: string, where = ''): Hit[] {
  return (
    catalog.sql
      .prepare(
        `SELECT s.rowid AS id, -s.rank AS score FROM "ModelSearch" s JOIN "Models" m ON m."Id" = s.rowid
         WHERE "ModelSearch" MATCH ? ${where} ORDER BY s.rank, s.rowid`,
      )
      .all(toMatchExpression(query)) as { id: number | bigint; score: number }[]
  ).map((row) => ({ id: Number(row.id), score: row.score }));
}

interface SearchPage {
  edges: { cursor: string; score: number; node: { databaseId: number } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean };
}

async function searchPage(query: string, args: Record<string, unknown>, filter?: Record<string, unknown>) {
  const { search } = dataOf(
    await server.graphql<{ search: SearchPage }>(
      `query ($query: String!, $first: Int, $after: String, $last: Int, $before: String, $filter: ModelFilter) {
        search(query: $query, first: $first, after: $after, last: $last, before: $before, filter: $filter) {
          edges { cursor score node { databaseId } } pageInfo { hasNextPage hasPreviousPage } } }`,
      { query, ...args, filter },
    ),
  );
  return search;
}

/** Models of the SQLite file whose documents hold `word`. */
const documentsOf = (word: string) =>
  catalog.sql.prepare(`SELECT count(*) FROM "ModelSearchPostings" WHERE "Term" = ?`).pluck().get(word) as number;

/**
 * Another program renames a model, on the server's catalog; on PostgreSQL the same write goes to the reference file
 * too (on SQLite it is the same file).
 */
async function renameModel(id: number, name: string): Promise<void> {
  const rename = `UPDATE "Models" SET "Name" = '${name.replaceAll("'", "''")}' WHERE "Id" = ${id}`;
  await runOnCatalog(server.config, { sqlite: rename, postgres: rename });
  if (server.config.database?.engine === 'postgres')
    await reference.write((trx) => trx.updateTable('Models').set({ Name: name }).where('Id', '=', id).execute());
}

const hits = (page: SearchPage): Hit[] => page.edges.map((e) => ({ id: e.node.databaseId, score: e.score }));

/** Every hit of a search, page by page forward. */
async function allForward(query: string, first: number, filter?: Record<string, unknown>): Promise<Hit[]> {
  const all: Hit[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await searchPage(query, { first, after }, filter);
    all.push(...hits(page));
    if (!page.pageInfo.hasNextPage) return all;
    after = page.edges.at(-1)!.cursor;
  }
}

/** Words every document holds, most hold, many hold, twice in two spellings, and pairs of them. */
/** Every hit of a search as the postings rank it (`rankedPageRows`), page by page in either direction. */
async function postingsRanking(
  query: string,
  limit: number,
  direction: 'forward' | 'backward',
  filter?: ModelFilter,
): Promise<Hit[]> {
  const words = plainWords(searchTerms(query))!;
  const all: Hit[] = [];
  let cursor: KeyValue[] | null = null;
  for (;;) {
    const rows = await rankedPageRows(
      served,
      words,
      modelFilter(served.dialect, filter),
      {
        direction,
        limit,
        looksAhead: true,
        cursors: true,
        after: direction === 'forward' ? cursor : null,
        before: direction === 'backward' ? cursor : null,
      },
      ['id'],
    );
    const page = rows.slice(0, limit).map((row) => ({ id: Number(row.k1), score: -Number(row.k0) }));
    // Backward pages come last row first, from the end.
    if (direction === 'forward') all.push(...page);
    else all.unshift(...page.reverse());
    if (rows.length <= limit) return all;
    const last = rows[limit - 1]!;
    cursor = [Number(last.k0), Number(last.k1)];
  }
}

const QUERIES = [
  'light',
  'masterpiece light',
  'sdxl',
  'creator style',
  'neon',
  'Neon NEON',
  'cyberpunk neon',
  'portrait',
];

describe('plain-word searches rank as FTS5 ranks', () => {
  it('gives the same models in the same order with the same scores, page after page', async () => {
    let many = 0;
    for (const query of QUERIES) {
      const expected = fts5Ranking(query);
      if (expected.length > 300) many++;
      expect(await allForward(query, 50), query).toEqual(expected);
      // A first page alone, small: the same rows.
      expect(hits(await searchPage(query, { first: 3 })), query).toEqual(expected.slice(0, 3));
    }
    // Words matching several times more models than a first round reads (128 postings a word).
    expect(many).toBeGreaterThan(1);
    // The postings' own ranking, whichever plan the API took: the same, forward and backward, in pages of any size.
    for (const query of QUERIES) {
      const expected = fts5Ranking(query);
      expect(await postingsRanking(query, 50, 'forward'), query).toEqual(expected);
      expect(await postingsRanking(query, 7, 'forward'), query).toEqual(expected);
      expect(await postingsRanking(query, 40, 'backward'), query).toEqual(expected);
    }
    expect(fts5Ranking('zzyzx')).toEqual([]);
    expect(await allForward('zzyzx', 10)).toEqual([]);
  });

  it('pages backward from a cursor to the same rows', async () => {
    const expected = fts5Ranking('sdxl');
    const forward = await searchPage('sdxl', { first: 40 });
    const back = await searchPage('sdxl', { last: 7, before: forward.edges[30]!.cursor });
    expect(hits(back)).toEqual(expected.slice(23, 30));
    expect(back.pageInfo.hasPreviousPage).toBe(true);
    const atStart = await searchPage('sdxl', { last: 10, before: forward.edges[4]!.cursor });
    expect(hits(atStart)).toEqual(expected.slice(0, 4));
    expect(atStart.pageInfo.hasPreviousPage).toBe(false);
    // The last rows of all, without a cursor.
    expect(hits(await searchPage('sdxl', { last: 5 }))).toEqual(expected.slice(-5));
  });

  it('keeps the ranking under filters, and takes a cursor across a filter change', async () => {
    const lora = fts5Ranking('neon', `AND m."Type" = 'LORA'`);
    expect(lora.length).toBeGreaterThan(20);
    expect(await allForward('neon', 25, { types: ['LORA'] })).toEqual(lora);
    const unfiltered = await searchPage('neon', { first: 10 });
    const cursor = unfiltered.edges.at(-1)!.cursor;
    const last = hits(unfiltered).at(-1)!;
    const after = hits(await searchPage('neon', { first: 5, after: cursor }, { types: ['LORA'] }));
    expect(after).toEqual(
      lora.filter((h) => h.score < last.score || (h.score === last.score && h.id > last.id)).slice(0, 5),
    );
  });

  it("ranks a model's name from the postings, as FTS5 would, without an FTS5 statement on SQLite either", async () => {
    // A name of several words, one of them rare (its number): FTS5 would walk every word's doclist for its idf. A
    // name whose rarest word is in more documents than RAREST_RANKS_FROM_POSTINGS ranks with FTS5 on SQLite, which
    // is then the cheaper plan, with the same scores.
    const names = catalog.sql
      .prepare(`SELECT "Name" FROM "Models" WHERE "Name" NOT GLOB '*[^ -~]*' AND "Id" % 50 = 7 ORDER BY "Id"`)
      .pluck()
      .all() as string[];
    expect(names.length).toBeGreaterThan(3);
    let onePass = 0;
    let fromPostings = 0;
    for (const name of names) {
      const expected = fts5Ranking(name);
      expect(expected.length, name).toBeGreaterThan(0);
      const rarest = Math.min(...plainWords(searchTerms(name))!.map(documentsOf));
      statements.length = 0;
      expect(await allForward(name, 20), name).toEqual(expected);
      const matchStatements = statements.filter((sql) => /\bMATCH\b/i.test(sql));
      if (TEST_ENGINE === 'sqlite' && rarest > RAREST_RANKS_FROM_POSTINGS) {
        expect(matchStatements.length, name).toBeGreaterThan(0);
        continue;
      }
      expect(matchStatements, name).toEqual([]);
      fromPostings++;
      // Asked again (its words' statistics kept now): when its rarest word is in no more models than the page
      // shows, all its matches are read with their rows at once.
      if (rarest > 20) continue;
      onePass++;
      statements.length = 0;
      expect(hits(await searchPage(name, { first: 20 })), name).toEqual(expected.slice(0, 20));
      const reads = statements.filter((sql) => /^\s*(select|with)\b/i.test(sql) && !sql.includes('"CatalogRevision"'));
      expect(reads, name).toHaveLength(1);
      expect(reads[0], name).toMatch(/"ModelSearchPostings".*"Models"/s);
    }
    expect(fromPostings).toBeGreaterThan(2);
    expect(onePass).toBeGreaterThan(1);
  });

  it('ranks one word from its postings however many or few models hold it, without an FTS5 statement', async () => {
    // Its best postings are its page (one word's score follows its impact): on the 1,000-model benchmark catalog
    // 160-180 µs a common word, where FTS5 scores every match first (400-450 µs).
    const number = catalog.sql
      .prepare(
        `SELECT "Term" FROM "ModelSearchPostings" WHERE "Term" GLOB '[0-9]*' GROUP BY "Term" HAVING count(*) < 5`,
      )
      .pluck()
      .get() as string;
    for (const query of ['light', 'sdxl', 'Neon NEON', 'portrait', number]) {
      const expected = fts5Ranking(query);
      expect(expected.length, query).toBeGreaterThan(0);
      statements.length = 0;
      expect(await allForward(query, 50), query).toEqual(expected);
      expect(
        statements.filter((sql) => /\bMATCH\b/i.test(sql)),
        query,
      ).toEqual([]);
    }
  });

  it('ranks all the matches at once through a rarest word in a few dozen models, with filters too', async () => {
    // A common word and a word in 40-200 models: more than a page holds, few enough to read every match at once
    // (the rarest word's postings, the other's probed per model), then the page's rows.
    const wordIn = (low: number, high: number) =>
      catalog.sql
        .prepare(`SELECT "term" FROM "ModelSearchTerms" WHERE "doc" BETWEEN ? AND ? AND "term" GLOB '[a-z]*' LIMIT 1`)
        .pluck()
        .get(low, high) as string;
    const query = `${wordIn(300, 1_000)} ${wordIn(40, 200)}`;
    const expected = fts5Ranking(query);
    expect(expected.length, query).toBeGreaterThan(20);
    expect(await postingsRanking(query, 20, 'forward'), query).toEqual(expected);
    expect(await postingsRanking(query, 15, 'backward'), query).toEqual(expected);
    const lora = fts5Ranking(query, `AND m."Type" = 'LORA'`);
    expect(lora.length, query).toBeGreaterThan(0);
    expect(lora.length, query).toBeLessThan(expected.length);
    expect(await postingsRanking(query, 10, 'forward', { types: ['LORA'] }), query).toEqual(lora);
  });

  it('reads a constant number of statements for a page of 5 and of 50', async () => {
    const count = async (first: number) => {
      await searchPage('sdxl', { first });
      statements.length = 0;
      await searchPage('sdxl', { first });
      return statements.length;
    };
    expect(await count(50)).toBe(await count(5));
  });

  it('follows writes: the postings, lengths, vocabulary and statistics stay those of the documents', async () => {
    const on = (text: string) => runOnCatalog(server.config, { sqlite: text, postgres: text });
    const [first] = fts5Ranking('portrait').slice(-1);
    // Another program renames the last match: it now leads.
    await renameModel(first!.id, 'Portrait Portrait Study');
    const page = hits(await searchPage('portrait', { first: 5 }));
    await refreshSearchIndex(reference);
    expect(page).toEqual(fts5Ranking('portrait').slice(0, 5));
    expect(page[0]!.id).toBe(first!.id);
    const number = async (text: string) => Number(Object.values((await on(text))[0]!)[0]);
    expect(await number(`SELECT COUNT(*) FROM "ModelSearchLengths"`)).toBe(
      await number(`SELECT COUNT(*) FROM "Models"`),
    );
    expect(await number(`SELECT "Documents" FROM "ModelSearchStats"`)).toBe(
      await number(`SELECT COUNT(*) FROM "Models"`),
    );
    expect(await number(`SELECT "Tokens" FROM "ModelSearchStats"`)).toBe(
      await number(`SELECT SUM("Length") FROM "ModelSearchLengths"`),
    );
    expect(
      await number(`SELECT COUNT(*) FROM (SELECT "Term", COUNT(*) AS n FROM "ModelSearchPostings" GROUP BY "Term") p
        FULL JOIN "ModelSearchTerms" t ON t."term" = p."Term" WHERE p.n IS DISTINCT FROM t."doc"`),
    ).toBe(0);
  });

  it("ranks a model's name anew once a write changes how many models hold its words", async () => {
    // A name's ranking (its words' idf, the collection's lengths, its rarest word) is kept per catalog revision:
    // asked again after two other models take the name, it must score as FTS5 scores the catalog now.
    const name = (
      catalog.sql
        .prepare(`SELECT "Name" FROM "Models" WHERE "Name" NOT GLOB '*[^ -~]*' AND "Id" % 50 = 9 ORDER BY "Id"`)
        .pluck()
        .all() as string[]
    ).find((n) => Math.min(...plainWords(searchTerms(n))!.map(documentsOf)) <= 5)!;
    expect(name).toBeDefined();
    const before = fts5Ranking(name);
    expect(hits(await searchPage(name, { first: 20 }))).toEqual(before);
    expect(hits(await searchPage(name, { first: 20 }))).toEqual(before);
    const others = (
      catalog.sql.prepare(`SELECT "Id" FROM "Models" ORDER BY "Id" DESC LIMIT 30`).pluck().all() as number[]
    )
      .filter((id) => !before.some((hit) => hit.id === id))
      .slice(0, 2);
    for (const id of others) await renameModel(id, `${name} Copy`);
    const page = hits(await searchPage(name, { first: 20 }));
    await refreshSearchIndex(reference);
    const after = fts5Ranking(name);
    expect(after.length).toBe(before.length + 2);
    expect(page).toEqual(after);
  });

  it("weighs fields as FTS5's configured bm25 does", () => {
    const rank = catalog.sql.prepare(`SELECT v FROM "ModelSearch_config" WHERE k = 'rank'`).pluck().get();
    expect(rank).toBe(`bm25(${SEARCH_COLUMNS.map((c) => FIELD_WEIGHTS[c].toFixed(1)).join(', ')})`);
  });
});
