/**
 * Full-text search, facets and library statistics over a real catalog, on either engine (the postgres project runs
 * this file on a PostgreSQL copy of the catalog): ranking by where words match, prefixes and phrases, CJK and
 * accents, hostile query text, the index following imports, edits, deletes and writes by other programs, a
 * constant number of statements per search, facet counts equal to direct SQL, and update detection.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import { encodeNodeId } from '../src/catalog/global-id.ts';
import type { CatalogDatabase } from '../src/db/catalog-database.ts';
import { openCatalog } from '../src/db/open-catalog.ts';
import { dataOf, firstErrorCode, seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { runOnCatalog } from './helpers/postgres.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let catalog: SeededCatalog;
let server: TestServer;
let db: CatalogDatabase;
/** Every SQL statement the server runs. */
const statements: string[] = [];

/** SQL on the catalog the server uses, whichever engine it is on (quoted names: the same text for both). */
async function onCatalog<R = Record<string, unknown>>(
  text: string | { sqlite: string; postgres: string },
  parameters: unknown[] = [],
): Promise<R[]> {
  return runOnCatalog<R>(server.config, typeof text === 'string' ? { sqlite: text, postgres: text } : text, parameters);
}
/** The one value of a one-row, one-column answer, as a number (PostgreSQL gives 64-bit counts as text). */
const one = async (text: string) => Number(Object.values((await onCatalog(text))[0]!)[0]);

const model = (
  id: number,
  name: string,
  extra: Record<string, unknown> = {},
  version: Record<string, unknown> = {},
) => ({
  id,
  name,
  type: 'LORA',
  nsfw: false,
  poi: false,
  tags: [],
  creator: { username: 'searcher' },
  ...extra,
  modelVersions: [
    { id: id * 10, modelId: id, name: 'v1', baseModel: 'SD 1.5', trainedWords: [], files: [], images: [], ...version },
  ],
});

beforeAll(async () => {
  catalog = await seededCatalog();
  server = await startTestServer(
    { dataDir: catalog.dataDir, databasePath: catalog.databasePath },
    { onStatement: (sql) => statements.push(sql) },
  );
  // Imports go to the server's catalog, as another process's would: its triggers note them for the index.
  db = await openCatalog(
    server.config.database ?? { engine: 'sqlite', path: catalog.databasePath, dataDir: catalog.dataDir },
  );
  const payloads = [
    model(90_001, 'Moonlight Castle'),
    model(90_002, 'Harbor Study', { tags: ['Moonlight'] }),
    model(
      90_003,
      'Quiet Sea',
      {},
      { images: [{ url: 'https://image.example.invalid/sea.jpeg', meta: { prompt: 'moonlight over a quiet sea' } }] },
    ),
    model(90_004, '東京 夜景スタイル', { description: '<p>Night views of <b>Tokyo</b> &amp; Osaka</p>' }),
    model(90_005, 'Café Crème Portraits', {}, { trainedWords: ['cremestyle'] }),
    model(90_006, 'NEAR AND OR NOT', { description: 'keywords as names' }),
  ];
  for (const payload of payloads) await importPayload(db, payload, 'search-setup');
  return () => db.close();
});

interface Hit {
  score: number;
  matchedFields: string[];
  snippet: string;
  node: { civitaiId: number | null; name: string };
}
const SEARCH = `query($q: String!, $first: Int, $after: String, $filter: ModelFilter) { search(query: $q, first: $first, after: $after, filter: $filter) {
  totalCount pageInfo { hasNextPage endCursor } edges { cursor score matchedFields snippet node { civitaiId name } } } }`;
const search = async (q: string, variables: Record<string, unknown> = {}) =>
  dataOf(
    await server.graphql<{
      search: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: Hit[] };
    }>(SEARCH, { q, first: 50, ...variables }),
  ).search;

describe('search', () => {
  it('ranks a name match above a tag match above a prompt match, and says which fields matched', async () => {
    const result = await search('moonlight');
    expect(result.edges.map((e) => e.node.civitaiId)).toEqual([90_001, 90_002, 90_003]);
    expect(result.totalCount).toBe(3);
    expect(result.edges.map((e) => e.matchedFields)).toEqual([['NAME'], ['TAGS'], ['PROMPTS']]);
    expect(result.edges[0]!.score).toBeGreaterThan(result.edges[1]!.score);
    expect(result.edges[1]!.score).toBeGreaterThan(result.edges[2]!.score);
    expect(result.edges[0]!.snippet).toBe('<mark>Moonlight</mark> Castle');
  });

  it('supports prefixes and phrases', async () => {
    expect((await search('moonl*')).totalCount).toBe(3);
    expect((await search('moonl')).totalCount).toBe(0);
    expect((await search('"moonlight castle"')).edges.map((e) => e.node.civitaiId)).toEqual([90_001]);
    expect((await search('"castle moonlight"')).totalCount).toBe(0);
    expect((await search('moonlight quiet')).edges.map((e) => e.node.civitaiId)).toEqual([90_003]);
  });

  it('finds CJK names by any part, ignores accents, and strips HTML from descriptions', async () => {
    expect((await search('夜景')).edges.map((e) => e.node.civitaiId)).toEqual([90_004]);
    expect((await search('東京 夜景')).edges.map((e) => e.node.civitaiId)).toEqual([90_004]);
    // The seed uses 東京 in names and prompts too: every model named with it is found, this one among them.
    const tokyo = await search('東京', { first: 100 });
    const named = (
      await onCatalog<{ id: number }>(`SELECT "CivitaiId" AS "id" FROM "Models" WHERE "Name" LIKE '%東京%'`)
    ).map((row) => row.id);
    expect(tokyo.edges.map((e) => e.node.civitaiId)).toEqual(expect.arrayContaining([...named, 90_004]));
    expect(tokyo.edges.every((e) => e.matchedFields.length > 0)).toBe(true);
    expect((await search('tokyo osaka')).edges[0]).toMatchObject({
      node: { civitaiId: 90_004 },
      matchedFields: ['DESCRIPTION'],
    });
    expect((await search('tokyo')).edges[0]!.snippet).not.toMatch(/<b>|&amp;amp;/);
    expect((await search('cafe creme')).edges.map((e) => e.node.civitaiId)).toEqual([90_005]);
    expect((await search('CRÈME')).edges.map((e) => e.node.civitaiId)).toEqual([90_005]);
    expect((await search('cremestyle')).edges[0]!.matchedFields).toEqual(['TRIGGER_WORDS']);
  });

  it('treats operators and punctuation in user text as words, never failing', async () => {
    expect((await search('NEAR AND OR NOT')).edges.map((e) => e.node.civitaiId)).toEqual([90_006]);
    for (const hostile of [
      '"unbalanced',
      'NEAR(a b',
      'name:moonlight',
      "'; DROP TABLE Models; --",
      'moonlight*)',
      '^moonlight',
      '{moonlight}',
      'a\u0000b',
      '🌙 moonlight 🏰',
      '-moonlight +castle',
      // tsquery and LIKE syntax, quotes and backslashes: words on PostgreSQL too, never syntax.
      "'moonlight':* | !castle",
      'moonlight <-> castle',
      'moonlight:A & castle:*B',
      "it's a \\'quoted\\' \\ word",
      '%_ moonlight',
      '\u0000moonlight\u0000',
      `${'(('.repeat(100)}moonlight${'))'.repeat(100)}`,
    ]) {
      const response = await server.graphql(SEARCH, { q: hostile, first: 5 });
      expect(response.status, hostile).toBe(200);
      expect(response.errors, hostile).toBeUndefined();
    }
    expect(await one('SELECT COUNT(*) FROM "Models"')).toBeGreaterThan(0);
    // Operators are words: all of them must match.
    expect((await search('moonlight & !castle')).edges.map((e) => e.node.civitaiId)).toEqual([90_001]);
    expect((await search("'moonlight' | 'harbor'")).edges.map((e) => e.node.civitaiId)).toEqual([90_002]);
    expect((await search('moonlight:*')).totalCount).toBe(3);
    for (const [q, code] of [
      ['', 'BAD_USER_INPUT'],
      ['   "" *** ', 'BAD_USER_INPUT'],
      ['&|!():*<>\\\'"', 'BAD_USER_INPUT'],
      ['\u0000', 'BAD_USER_INPUT'],
      ["\\ '''' \\\\", 'BAD_USER_INPUT'],
      ['x'.repeat(501), 'LIMIT_EXCEEDED'],
      ['moonlight '.repeat(1_000), 'LIMIT_EXCEEDED'],
      [Array.from({ length: 40 }, (_, i) => `w${i}`).join(' '), 'LIMIT_EXCEEDED'],
    ] as const) {
      expect(firstErrorCode(await server.graphql(SEARCH, { q })), q.slice(0, 20)).toBe(code);
    }
  });

  it("pages with cursors and combines with filters; models(filter: { query }) keeps the list's order", async () => {
    const first = await search('light', { first: 3 });
    const all = await search('light', { first: 100 });
    const second = await search('light', { first: 100, after: first.pageInfo.endCursor });
    expect([...first.edges, ...second.edges].map((e) => e.node.name)).toEqual(all.edges.map((e) => e.node.name));
    expect(all.totalCount).toBeGreaterThan(3);
    const filtered = await search('moonlight', { filter: { nameContains: 'castle' } });
    expect(filtered.edges.map((e) => e.node.civitaiId)).toEqual([90_001]);
    const { models } = dataOf(
      await server.graphql<{ models: { nodes: { civitaiId: number }[] } }>(
        `{ models(first: 10, filter: { query: "moonlight" }, orderBy: [{ field: NAME }]) { nodes { civitaiId } } }`,
      ),
    );
    expect(models.nodes.map((n) => n.civitaiId)).toEqual([90_002, 90_001, 90_003]);
  });
});

describe('ranking and statements on either engine', () => {
  it('finds every model by its exact name among the first hits, and first when the name is quoted', async () => {
    const models = await onCatalog<{ id: number; name: string }>('SELECT "Id" AS "id", "Name" AS "name" FROM "Models"');
    expect(models.length).toBeGreaterThan(50);
    const hits = async (q: string) =>
      dataOf(
        await server.graphql<{ search: { nodes: { databaseId: number; name: string }[] } }>(
          'query($q: String!) { search(query: $q, first: 5) { nodes { databaseId name } } }',
          { q },
        ),
      ).search.nodes;
    const missed: string[] = [];
    for (const { id, name } of models) {
      // Unquoted, every word must match somewhere: bm25 puts a few names whose words are common elsewhere (in
      // prompts, file names) behind models matching them as often, so the first page is what both engines promise.
      if (!(await hits(name)).some((n) => n.databaseId === id)) missed.push(name);
      // Quoted, the words must be adjacent: models of that name (and their file names) come first.
      const quoted = await hits(`"${name}"`);
      if (quoted[0]?.name !== name || !quoted.some((n) => n.databaseId === id)) missed.push(`"${name}"`);
    }
    expect(missed).toEqual([]);
  });

  it('answers a search with the same statements for 5 rows as for 50, snippets and nested fields included', async () => {
    const page = (first: number) =>
      `{ search(query: "light", first: ${first}) { totalCount pageInfo { hasNextPage } edges { score snippet matchedFields
        node { name creator { username } tags { name } versions(first: 2) { nodes { name } } } } } }`;
    await server.graphql(page(5)); // a connection's one-time set-up (SQLite's vocabulary view) is not per request
    const counted = async (first: number) => {
      statements.length = 0;
      const { search: found } = dataOf(await server.graphql<{ search: { edges: unknown[] } }>(page(first)));
      // The look for models waiting to be indexed depends on the time since the last one (at most a second
      // apart at one revision, see below), not on the page.
      return { rows: found.edges.length, statements: statements.filter((text) => !text.includes('ModelSearchDirty')) };
    };
    const small = await counted(5);
    const large = await counted(50);
    expect(small.rows).toBe(5);
    expect(large.rows).toBeGreaterThan(20);
    expect(large.statements.length).toBe(small.statements.length);
    expect(small.statements.length).toBeLessThanOrEqual(10);
  });
});

describe('what a search costs is estimated from the vocabulary once per catalog revision', () => {
  it('reads the revision instead of the vocabulary for words estimated since the last write, and again after one', async () => {
    // The estimate's reads of the vocabulary (each word's expansions and documents, as "terms" and "docs"); a ranked
    // page reads its words' idf in statements of its own.
    const vocabularyReads = () =>
      statements.filter(
        (text) => /^\s*select/i.test(text) && text.includes('ModelSearchTerms') && text.includes('as "terms"'),
      ).length;
    await search('harbor study');
    statements.length = 0;
    await search('study harbor');
    expect(vocabularyReads()).toBe(0);
    expect(statements.some((text) => text.includes('"CatalogRevision"'))).toBe(true);
    // A word not estimated yet is read; the others are not read again.
    statements.length = 0;
    expect((await search('harbor study zzyzx')).totalCount).toBe(0);
    expect(vocabularyReads()).toBe(1);
    // A write by another program raises the revision: the next estimate reads the vocabulary again, from the index
    // as the write left it.
    await onCatalog(`UPDATE "Models" SET "Description" = 'harbor study zzyzx' WHERE "CivitaiId" = 90006`);
    statements.length = 0;
    expect((await search('harbor study zzyzx')).edges.map((e) => e.node.civitaiId)).toEqual([90_006]);
    expect(vocabularyReads()).toBe(1);
  });
});

describe('what a search reads besides its page', () => {
  const reads = (table: string) => statements.filter((text) => text.includes(`"${table}"`)).length;

  it('reads the revision once a request, and ModelSearchDirty only when the revision moved', async () => {
    await search('harbor study');
    statements.length = 0;
    await search('study harbor');
    // The cost estimate, the vocabulary and the index check share the request's one read of the revision; the index
    // was found current at this revision by the search before.
    expect(reads('CatalogRevision')).toBe(1);
    expect(reads('ModelSearchDirty')).toBe(0);
    // A write raises the revision: the next search looks for marked models again, and finds the write.
    await onCatalog(`UPDATE "Models" SET "Description" = 'harbor study qwyjibo' WHERE "CivitaiId" = 90006`);
    statements.length = 0;
    expect((await search('qwyjibo')).edges.map((e) => e.node.civitaiId)).toEqual([90_006]);
    expect(reads('ModelSearchDirty')).toBeGreaterThan(0);
  });

  it('ranks from the word statistics kept at this revision, and reads them again after a write', async () => {
    // Each word's idf and the collection's statistics come from ModelSearchTerms joined to ModelSearchStats.
    const ranked = async (q: string) => (await search(q)).edges.map((e) => e.node.civitaiId);
    const first = await ranked('harbor study');
    statements.length = 0;
    expect(await ranked('harbor study')).toEqual(first);
    expect(reads('ModelSearchStats')).toBe(0);
    await onCatalog(`UPDATE "Models" SET "Description" = 'harbor study harbor study' WHERE "CivitaiId" = 90006`);
    statements.length = 0;
    const after = await ranked('harbor study');
    expect(reads('ModelSearchStats')).toBeGreaterThan(0);
    expect(after).toContain(90_006);
  });

  it('sees a mark made without a write to a catalog table (another process migrating) within a second', async () => {
    const id = await one('SELECT "Id" FROM "Models" WHERE "CivitaiId" = 90006');
    await search('harbor');
    await onCatalog(`INSERT INTO "ModelSearchDirty" ("ModelId") VALUES (${id})`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await search('harbor');
    expect(await one('SELECT COUNT(*) FROM "ModelSearchDirty"')).toBe(0);
  });
});

describe('search cursors', () => {
  it('belong to their search text: another search refuses them, the same words with other spacing or filters take them', async () => {
    const light = await search('light', { first: 1 });
    const cursor = light.pageInfo.endCursor;
    const other = await server.graphql(SEARCH, { q: 'moonlight', first: 5, after: cursor });
    expect(firstErrorCode(other)).toBe('BAD_USER_INPUT');
    expect(other.errors?.[0]?.message).toMatch(/`after` is not a valid cursor .*another search text/);
    // A search has no orderBy: the hint names what binds its cursors.
    expect(other.errors?.[0]?.message).toMatch(/same search, for the same words\.$/);
    const before = await server.graphql(
      'query($q: String!, $b: String) { search(query: $q, last: 1, before: $b) { totalCount } }',
      { q: 'moonlight', b: cursor },
    );
    expect(before.errors?.[0]?.message).toMatch(/`before` is not a valid cursor .*another search text/);
    // The same terms (spacing and repeats aside) make the same match: the cursor's rank still means what it meant.
    const all = await search('light', { first: 100 });
    const rest = await search('  light light ', { first: 100, after: cursor });
    expect(rest.edges.map((e) => e.node.name)).toEqual(all.edges.slice(1).map((e) => e.node.name));
    await search('light', { after: cursor, filter: { nsfw: 'EXCLUDE' } });
    // A list's cursor is no search's, and the other way round.
    const { models } = dataOf(
      await server.graphql<{ models: { pageInfo: { endCursor: string } } }>(
        '{ models(first: 1) { pageInfo { endCursor } } }',
      ),
    );
    const fromList = await server.graphql(SEARCH, { q: 'light', after: models.pageInfo.endCursor });
    expect(fromList.errors?.[0]?.message).toMatch(/another ordering/);
    const intoList = await server.graphql('query($a: String) { models(first: 1, after: $a) { totalCount } }', {
      a: cursor,
    });
    expect(firstErrorCode(intoList)).toBe('BAD_USER_INPUT');
  });
});

describe('the index follows every write', () => {
  const ids = async (q: string) => (await search(q)).edges.map((e) => e.node.civitaiId);

  it('after edits, tag changes, imports, deletes and writes by another program', async () => {
    const castle = await one('SELECT "Id" FROM "Models" WHERE "CivitaiId" = 90001');
    const auth = {};
    await server.graphql(
      `mutation { updateModel(id: "${encodeNodeId('Model', castle)}", input: { name: "Sunlit Keep" }) { id } }`,
      {},
      auth,
    );
    expect(await ids('moonlight')).toEqual([90_002, 90_003]);
    expect(await ids('sunlit keep')).toEqual([90_001]);
    await server.graphql(
      `mutation { setModelTags(id: "${encodeNodeId('Model', castle)}", tags: ["fortress"]) { id } }`,
    );
    expect(await ids('fortress')).toEqual([90_001]);
    await importPayload(db, model(90_002, 'Harbor Study', { tags: ['Daylight'] }), 'update');
    expect(await ids('moonlight')).toEqual([90_003]);
    expect(await ids('daylight')).toEqual([90_002]);
    await onCatalog(`UPDATE "Models" SET "Name" = 'Renamed Elsewhere' WHERE "CivitaiId" = 90005`);
    expect(await ids('renamed elsewhere')).toEqual([90_005]);
    await server.graphql(`mutation { deleteModel(id: "${encodeNodeId('Model', castle)}") { id } }`);
    expect(await ids('sunlit')).toEqual([]);
    // Every document equals what a rebuild from the tables gives.
    const names = await onCatalog<{ id: number; name: string }>({
      sqlite: 'SELECT s.rowid AS id, s.name FROM ModelSearch s ORDER BY s.rowid',
      postgres: 'SELECT "ModelId" AS "id", "name" FROM "ModelSearch" ORDER BY "ModelId"',
    });
    const models = await onCatalog<{ id: number; name: string }>(
      'SELECT "Id" AS "id", "Name" AS "name" FROM "Models" ORDER BY "Id"',
    );
    expect(names.map((n) => [n.id, n.name.replace(/\s+/g, ' ').trim()])).toEqual(
      models.map((m) => [
        m.id,
        m.name
          .replace(/([\u3040-\u30ff\u4e00-\u9fff])/g, ' $1 ')
          .replace(/\s+/g, ' ')
          .trim(),
      ]),
    );
  });
});

describe('facets and statistics', () => {
  it('count like direct SQL, for the current filter', async () => {
    const filter = { nsfw: 'EXCLUDE', types: ['LORA', 'Checkpoint', 'LoCon'] };
    const { modelFacets } = dataOf(
      await server.graphql<{ modelFacets: Record<string, any> }>(
        `query($f: ModelFilter) { modelFacets(filter: $f) {
      total byType { value count } byBaseModel { value count } byNsfw { value count } byNsfwLevel { value count } byTag(top: 5) { value count }
      byCreator(top: 3) { value count } bySource { value count } byHasLocalFiles { value count } } }`,
        { f: filter },
      ),
    );
    const where = `m."IsNsfw" = FALSE AND m."Type" IN ('LORA', 'Checkpoint', 'LoCon')`;
    const counts = async (q: string) =>
      (await onCatalog<{ value: string; count: unknown }>(q)).map((r) => ({ value: r.value, count: Number(r.count) }));
    expect(modelFacets.total).toBe(await one(`SELECT COUNT(*) FROM "Models" m WHERE ${where}`));
    expect(modelFacets.byType).toEqual(
      await counts(
        `SELECT m."Type" AS "value", COUNT(*) AS "count" FROM "Models" m WHERE ${where} GROUP BY m."Type" ORDER BY 2 DESC, 1`,
      ),
    );
    expect(modelFacets.byBaseModel).toEqual(
      await counts(
        `SELECT v."BaseModel" AS "value", COUNT(DISTINCT v."ModelId") AS "count" FROM "ModelVersions" v JOIN "Models" m ON m."Id" = v."ModelId" WHERE ${where} GROUP BY v."BaseModel" ORDER BY 2 DESC, 1`,
      ),
    );
    expect(modelFacets.byNsfw).toEqual([{ value: 'SFW', count: modelFacets.total }]);
    expect(modelFacets.byNsfwLevel.reduce((n: number, f: { count: number }) => n + f.count, 0)).toBe(modelFacets.total);
    expect(modelFacets.byTag).toEqual(
      await counts(`SELECT t."Name" AS "value", COUNT(*) AS "count" FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId" JOIN "Models" m ON m."Id" = mt."ModelId"
      WHERE ${where} GROUP BY t."Id" ORDER BY 2 DESC, t."NormalizedName" LIMIT 5`),
    );
    expect(modelFacets.byCreator).toEqual(
      await counts(
        `SELECT c."Username" AS "value", COUNT(*) AS "count" FROM "Models" m JOIN "Creators" c ON c."Id" = m."CreatorId" WHERE ${where} GROUP BY c."Id" ORDER BY 2 DESC, lower(c."Username") LIMIT 3`,
      ),
    );
    expect(modelFacets.bySource).toEqual(
      await counts(
        `SELECT m."Source" AS "value", COUNT(*) AS "count" FROM "Models" m WHERE ${where} GROUP BY m."Source" ORDER BY 2 DESC, 1`,
      ),
    );
    const withLocal = await one(
      `SELECT COUNT(*) FROM "Models" m WHERE ${where} AND m."Id" IN (SELECT v."ModelId" FROM "ModelVersions" v JOIN "ModelFiles" f ON f."ModelVersionId" = v."Id" WHERE f."LocalPath" IS NOT NULL AND f."IsLocalFileValid" = TRUE)`,
    );
    expect(modelFacets.byHasLocalFiles).toEqual(
      [
        { value: 'true', count: withLocal },
        { value: 'false', count: modelFacets.total - withLocal },
      ].filter((f) => f.count > 0),
    );
  });

  it('count the models a search finds, under the same filters as the search', async () => {
    const facets = `query($f: ModelFilter) { modelFacets(filter: $f) { total byType { value count } byTag(top: 50) { value count } } }`;
    for (const filter of [
      { query: 'light' },
      { query: 'light', nsfw: 'EXCLUDE' },
      { query: 'style', types: ['LORA'] },
    ]) {
      const { query, ...rest } = filter;
      const { search: found } = dataOf(
        await server.graphql<{ search: { totalCount: number; nodes: { databaseId: number }[] } }>(
          'query($q: String!, $f: ModelFilter) { search(query: $q, first: 100, filter: $f) { totalCount nodes { databaseId } } }',
          { q: query, f: rest },
        ),
      );
      const ids = found.nodes.map((n) => n.databaseId);
      expect(ids).toHaveLength(found.totalCount);
      const { modelFacets } = dataOf(await server.graphql<{ modelFacets: Record<string, any> }>(facets, { f: filter }));
      expect(found.totalCount, JSON.stringify(filter)).toBeGreaterThan(1);
      expect(modelFacets.total).toBe(found.totalCount);
      const types = await onCatalog<{ value: string; count: unknown }>(
        `SELECT "Type" AS "value", COUNT(*) AS "count" FROM "Models" WHERE "Id" IN (${ids.join(', ')}) GROUP BY "Type" ORDER BY 2 DESC, 1`,
      );
      expect(modelFacets.byType).toEqual(types.map((r) => ({ value: r.value, count: Number(r.count) })));
    }
  });

  it('reports library statistics like direct SQL', async () => {
    const { libraryStats } = dataOf(
      await server.graphql<{ libraryStats: Record<string, any> }>(
        '{ libraryStats { models versions files localFilesValid localFilesMissing images thumbnails thumbnailBytes databaseBytes byBaseModel { value count } } }',
      ),
    );
    expect(libraryStats).toMatchObject({
      models: await one('SELECT COUNT(*) FROM "Models"'),
      versions: await one('SELECT COUNT(*) FROM "ModelVersions"'),
      files: await one('SELECT COUNT(*) FROM "ModelFiles"'),
      localFilesValid: await one(
        'SELECT COUNT(*) FROM "ModelFiles" WHERE "LocalPath" IS NOT NULL AND "IsLocalFileValid" = TRUE',
      ),
      localFilesMissing: await one(
        'SELECT COUNT(*) FROM "ModelFiles" WHERE "LocalPath" IS NOT NULL AND "IsLocalFileValid" = FALSE',
      ),
      images: await one('SELECT COUNT(*) FROM "ModelImages"'),
      thumbnails: await one('SELECT COUNT("ThumbnailData") FROM "ModelImages"'),
      thumbnailBytes: String(await one('SELECT SUM(length("ThumbnailData")) FROM "ModelImages"')),
    });
    expect(Number(libraryStats.databaseBytes)).toBeGreaterThan(100_000);
    expect(libraryStats.byBaseModel.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(
      libraryStats.versions,
    );
  });
});

describe('update check', () => {
  it('flags a newer Civitai version than the newest local one, unless ignored', async () => {
    const payload = model(
      91_000,
      'Update Me',
      {},
      {
        createdAt: '2025-01-01T00:00:00.000Z',
        files: [{ id: 91_001, name: 'old.safetensors', hashes: { SHA256: 'AB'.repeat(32) } }],
      },
    );
    await importPayload(db, payload, 'update-check');
    await onCatalog(
      `UPDATE "ModelFiles" SET "LocalPath" = '/library/old.safetensors', "IsLocalFileValid" = TRUE WHERE "CivitaiId" = 91001`,
    );
    const query = '{ model(civitaiId: 91000) { id hasUpdate ignoreUpdates } }';
    expect(dataOf(await server.graphql<{ model: { hasUpdate: boolean } }>(query)).model.hasUpdate).toBe(false);
    payload.modelVersions.push({
      ...payload.modelVersions[0]!,
      id: 910_001,
      name: 'v2',
      createdAt: '2025-06-01T00:00:00.000Z',
      files: [],
    } as never);
    await importPayload(db, payload, 'update-check');
    const flagged = dataOf(await server.graphql<{ model: { id: string; hasUpdate: boolean } }>(query)).model;
    expect(flagged.hasUpdate).toBe(true);
    const listed = dataOf(
      await server.graphql<{ models: { nodes: { civitaiId: number }[] } }>(
        '{ models(first: 100, filter: { hasUpdate: true }) { nodes { civitaiId } } }',
      ),
    );
    expect(listed.models.nodes.map((n) => n.civitaiId)).toContain(91_000);
    await server.graphql(`mutation { setIgnoreUpdates(id: "${flagged.id}", ignore: true) { id } }`);
    expect(dataOf(await server.graphql<{ model: Record<string, boolean> }>(query)).model).toMatchObject({
      hasUpdate: false,
      ignoreUpdates: true,
    });
    const after = dataOf(
      await server.graphql<{ models: { nodes: { civitaiId: number }[] } }>(
        '{ models(first: 100, filter: { hasUpdate: true }) { nodes { civitaiId } } }',
      ),
    );
    expect(after.models.nodes.map((n) => n.civitaiId)).not.toContain(91_000);

    // The newer version is gone from Civitai (a sync had a 404 for it): nothing there to update to.
    await server.graphql(`mutation { setIgnoreUpdates(id: "${flagged.id}", ignore: false) { id } }`);
    expect(dataOf(await server.graphql<{ model: { hasUpdate: boolean } }>(query)).model.hasUpdate).toBe(true);
    await onCatalog(
      `UPDATE "ModelVersions" SET "RemovedFromCivitaiAt" = '2026-01-01T00:00:00.000Z' WHERE "CivitaiId" = 910001`,
    );
    expect(dataOf(await server.graphql<{ model: { hasUpdate: boolean } }>(query)).model.hasUpdate).toBe(false);
  });
});
