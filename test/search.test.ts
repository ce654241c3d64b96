/**
 * Full-text search, facets and library statistics over a real catalog: ranking by where words match, prefixes
 * and phrases, CJK and accents, hostile query text, the index following imports, edits, deletes and writes by
 * other programs, facet counts equal to direct SQL, and update detection.
 */
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import { encodeNodeId } from '../src/catalog/global-id.ts';
import { dataOf, firstErrorCode, seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { openCatalogDatabase, type CatalogDatabase } from '../src/db/catalog-database.ts';

let catalog: SeededCatalog;
let server: TestServer;
let db: CatalogDatabase;

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
  db = await openCatalogDatabase(catalog.databasePath);
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
  server = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath });
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
    const named = catalog.sql.prepare(`SELECT CivitaiId FROM Models WHERE Name LIKE '%東京%'`).pluck().all();
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
    ]) {
      const response = await server.graphql(SEARCH, { q: hostile, first: 5 });
      expect(response.status, hostile).toBe(200);
      expect(response.errors, hostile).toBeUndefined();
    }
    expect(catalog.sql.prepare('SELECT COUNT(*) FROM Models').pluck().get()).toBeGreaterThan(0);
    for (const [q, code] of [
      ['', 'BAD_USER_INPUT'],
      ['   "" *** ', 'BAD_USER_INPUT'],
      ['x'.repeat(501), 'LIMIT_EXCEEDED'],
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

describe('search cursors', () => {
  it('belong to their search text: another search refuses them, the same words with other spacing or filters take them', async () => {
    const light = await search('light', { first: 1 });
    const cursor = light.pageInfo.endCursor;
    const other = await server.graphql(SEARCH, { q: 'moonlight', first: 5, after: cursor });
    expect(firstErrorCode(other)).toBe('BAD_USER_INPUT');
    expect(other.errors?.[0]?.message).toMatch(/`after` is not a valid cursor .*another search text/);
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
    const castle = Number(catalog.sql.prepare('SELECT Id FROM Models WHERE CivitaiId = 90001').pluck().get());
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
    const other = new Database(catalog.databasePath);
    other.prepare(`UPDATE Models SET Name = 'Renamed Elsewhere' WHERE CivitaiId = 90005`).run();
    other.close();
    expect(await ids('renamed elsewhere')).toEqual([90_005]);
    await server.graphql(`mutation { deleteModel(id: "${encodeNodeId('Model', castle)}") { id } }`);
    expect(await ids('sunlit')).toEqual([]);
    // Every document equals what a rebuild from the tables gives.
    const names = catalog.sql.prepare('SELECT s.rowid AS id, s.name FROM ModelSearch s ORDER BY s.rowid').all() as {
      id: number;
      name: string;
    }[];
    const models = catalog.sql.prepare('SELECT Id AS id, Name AS name FROM Models ORDER BY Id').all() as {
      id: number;
      name: string;
    }[];
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
    const where = `IsNsfw = 0 AND Type IN ('LORA', 'Checkpoint', 'LoCon')`;
    const sql = (q: string) => catalog.sql.prepare(q).all() as { value: string; count: number }[];
    expect(modelFacets.total).toBe(catalog.sql.prepare(`SELECT COUNT(*) FROM Models WHERE ${where}`).pluck().get());
    expect(modelFacets.byType).toEqual(
      sql(
        `SELECT Type AS value, COUNT(*) AS count FROM Models WHERE ${where} GROUP BY Type ORDER BY count DESC, value`,
      ),
    );
    expect(modelFacets.byBaseModel).toEqual(
      sql(
        `SELECT v.BaseModel AS value, COUNT(DISTINCT v.ModelId) AS count FROM ModelVersions v JOIN Models m ON m.Id = v.ModelId WHERE m.${where.replace(' AND ', ' AND m.')} GROUP BY v.BaseModel ORDER BY count DESC, value`,
      ),
    );
    expect(modelFacets.byNsfw).toEqual([{ value: 'SFW', count: modelFacets.total }]);
    expect(modelFacets.byNsfwLevel.reduce((n: number, f: { count: number }) => n + f.count, 0)).toBe(modelFacets.total);
    expect(modelFacets.byTag).toEqual(
      sql(`SELECT t.Name AS value, COUNT(*) AS count FROM ModelTags mt JOIN Tags t ON t.Id = mt.TagId JOIN Models m ON m.Id = mt.ModelId
      WHERE m.${where.replace(' AND ', ' AND m.')} GROUP BY t.Id ORDER BY count DESC, t.NormalizedName LIMIT 5`),
    );
    expect(modelFacets.byCreator).toEqual(
      sql(
        `SELECT c.Username AS value, COUNT(*) AS count FROM Models m JOIN Creators c ON c.Id = m.CreatorId WHERE m.${where.replace(' AND ', ' AND m.')} GROUP BY c.Id ORDER BY count DESC, lower(c.Username) LIMIT 3`,
      ),
    );
    expect(modelFacets.bySource).toEqual(
      sql(
        `SELECT Source AS value, COUNT(*) AS count FROM Models WHERE ${where} GROUP BY Source ORDER BY count DESC, value`,
      ),
    );
    const withLocal = catalog.sql
      .prepare(
        `SELECT COUNT(*) FROM Models m WHERE m.${where.replace(' AND ', ' AND m.')} AND m.Id IN (SELECT v.ModelId FROM ModelVersions v JOIN ModelFiles f ON f.ModelVersionId = v.Id WHERE f.LocalPath IS NOT NULL AND f.IsLocalFileValid = 1)`,
      )
      .pluck()
      .get() as number;
    expect(modelFacets.byHasLocalFiles).toEqual(
      [
        { value: 'true', count: withLocal },
        { value: 'false', count: modelFacets.total - withLocal },
      ].filter((f) => f.count > 0),
    );
  });

  it('reports library statistics like direct SQL', async () => {
    const { libraryStats } = dataOf(
      await server.graphql<{ libraryStats: Record<string, any> }>(
        '{ libraryStats { models versions files localFilesValid localFilesMissing images thumbnails thumbnailBytes databaseBytes byBaseModel { value count } } }',
      ),
    );
    const one = (q: string) => catalog.sql.prepare(q).pluck().get();
    expect(libraryStats).toMatchObject({
      models: one('SELECT COUNT(*) FROM Models'),
      versions: one('SELECT COUNT(*) FROM ModelVersions'),
      files: one('SELECT COUNT(*) FROM ModelFiles'),
      localFilesValid: one('SELECT COUNT(*) FROM ModelFiles WHERE LocalPath IS NOT NULL AND IsLocalFileValid = 1'),
      localFilesMissing: one('SELECT COUNT(*) FROM ModelFiles WHERE LocalPath IS NOT NULL AND IsLocalFileValid = 0'),
      images: one('SELECT COUNT(*) FROM ModelImages'),
      thumbnails: one('SELECT COUNT(ThumbnailData) FROM ModelImages'),
      thumbnailBytes: String(one('SELECT SUM(length(ThumbnailData)) FROM ModelImages')),
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
    const direct = new Database(catalog.databasePath);
    direct
      .prepare(
        `UPDATE ModelFiles SET LocalPath = '/library/old.safetensors', IsLocalFileValid = 1 WHERE CivitaiId = 91001`,
      )
      .run();
    direct.close();
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
  });
});
