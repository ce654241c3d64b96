/**
 * One seeded catalog served twice — from its SQLite file and from a PostgreSQL copy of it — must answer the same
 * GraphQL requests with identical JSON: lists in every ordering and filter, every page of a keyset walk (cursors
 * included), details with nested connections, look-ups by every hash kind, node(s), creators, tags, facets and
 * statistics. Full-text search finds the same models with the same matched fields and snippets; plain words rank
 * alike (the same JSON, scores and cursors included), phrases and prefixes by each engine's own rank; and the
 * search cost estimate reads the same vocabulary. Then writes: the same mutations through both servers leave them answering alike.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseIdFrom } from '../src/catalog/global-id.ts';
import type { CatalogDatabase } from '../src/db/catalog-database.ts';
import { listMigrations } from '../src/db/migrations.ts';
import { postgresMigrationsSource } from '../src/db/postgres/migrations.ts';
import { openCatalog } from '../src/db/open-catalog.ts';
import { wordPostings } from '../src/db/search.ts';
import { indexForm, tokens } from '../src/search/text.ts';
import { dataOf, seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

const TOKEN = 'equivalence-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let catalog: SeededCatalog;
let onSqlite: TestServer;
let onPostgres: TestServer;

beforeAll(async () => {
  catalog = await seededCatalog();
  onSqlite = await startTestServer({
    dataDir: catalog.dataDir,
    databasePath: catalog.databasePath,
    database: { engine: 'sqlite', path: catalog.databasePath, dataDir: catalog.dataDir },
    apiToken: TOKEN,
  });
  // The PostgreSQL copy is taken now, before either server writes anything.
  onPostgres = await startTestServer({
    dataDir: path.join(tempDir('dn-equivalence-'), 'data'),
    databasePath: catalog.databasePath,
    apiToken: TOKEN,
  });
  expect(onPostgres.config.database?.engine).toBe('postgres');
});

const IMAGE = `id databaseId civitaiId url isNsfw nsfwLevel width height aspectRatio blurHash sortOrder createdAt postId
  username prompt negativePrompt seed steps sampler cfgScale generationModel denoisingStrength likeCount heartCount
  commentCount isPrimary isLocalCacheValid thumbnail { mimeType width height byteSize base64 url }`;
const FILE = `id databaseId civitaiId fileName sizeKB fileType isPrimary format precision sizeType downloadUrl
  pickleScanResult pickleScanMessage virusScanResult scannedAt localPath isLocalFileValid localFileVerifiedAt isSecure
  hashes { autoV1 autoV2 autoV3 sha256 crc32 blake3 }`;
const VERSION = `id databaseId civitaiId name description baseModel baseModelRaw createdAt updatedAt publishedAt
  downloadUrl earlyAccessDays downloadCount ratingCount rating thumbsUpCount thumbsDownCount triggerWordsText
  triggerWords { word order } files { ${FILE} } primaryFile { databaseId } primaryImage { databaseId }
  images(first: 3) { totalCount pageInfo { endCursor hasNextPage } nodes { ${IMAGE} } }`;
const MODEL = `id databaseId civitaiId name description type isNsfw isPoi mode source createdAt updatedAt lastSyncedAt
  allowNoCredit allowCommercialUse allowDerivatives allowDifferentLicense ignoreUpdates hasUpdate removedFromCivitaiAt
  totalDownloads versionCount creator { id username avatarUrl createdAt modelCount } tags { name normalizedName }
  latestVersion { databaseId } primaryImage { databaseId url }`;

const LIST = `query($first: Int, $after: String, $filter: ModelFilter, $orderBy: [ModelOrder!]) {
  models(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
    edges { cursor node { ${MODEL} } } } }`;

/** Asks both servers; their whole responses (status, data, errors) must be the same JSON. */
async function same(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const [a, b] = await Promise.all([
    onSqlite.graphql<Record<string, unknown>>(query, variables, headers),
    onPostgres.graphql<Record<string, unknown>>(query, variables, headers),
  ]);
  expect(a.errors, JSON.stringify(a.errors)).toBeUndefined();
  // Thumbnail URLs name the server that answers; everything else must match byte for byte, keys in the same order.
  const sqliteText = JSON.stringify(a);
  const postgresText = JSON.stringify(b).replaceAll(onPostgres.origin, onSqlite.origin);
  expect(JSON.parse(postgresText)).toEqual(a);
  expect(postgresText).toBe(sqliteText);
  return dataOf(a);
}

const SEARCH = `query($q: String!) { search(query: $q, first: 100) { totalCount
  edges { matchedFields snippet node { databaseId } } } }`;

/**
 * A search on both servers: the same total and the same models, each with the same matched fields and snippet;
 * only the rank (bm25 or ts_rank_cd), and so the order, may differ. Returns the total.
 */
async function sameSearch(q: string): Promise<number> {
  type Answer = { search: { totalCount: number; edges: { node: { databaseId: number } }[] } };
  const [a, b] = await Promise.all([
    onSqlite.graphql<Answer>(SEARCH, { q }),
    onPostgres.graphql<Answer>(SEARCH, { q }),
  ]);
  const byId = (answer: Answer) => Object.fromEntries(answer.search.edges.map((edge) => [edge.node.databaseId, edge]));
  const sqlite = dataOf(a);
  expect(b.errors, q).toBeUndefined();
  expect(dataOf(b).search.totalCount, q).toBe(sqlite.search.totalCount);
  expect(byId(dataOf(b)), q).toEqual(byId(sqlite));
  return sqlite.search.totalCount;
}

/**
 * What the cost estimate reads for the words of the catalog (each word, and its first letters as a prefix): the
 * same number of indexed words and documents on both engines, so the same estimates and the same refusals.
 */
async function expectSameVocabulary(): Promise<void> {
  const names = catalog.sql
    .prepare("SELECT group_concat(Name || ' ' || COALESCE(Description, ''), ' ') FROM Models")
    .pluck()
    .get() as string;
  const text = `${names} style light masterpiece safetensors v1 東 京 cafe ørsted`;
  const words = [...new Set(tokens(text).map(indexForm))].flatMap((word) => [
    { word, prefix: false },
    { word: word.slice(0, 2), prefix: true },
  ]);
  expect(words.length).toBeGreaterThan(100);
  const dbs: CatalogDatabase[] = await Promise.all(
    [onSqlite, onPostgres].map((server) => openCatalog(server.config.database!)),
  );
  try {
    const [a, b] = await Promise.all(dbs.map((db) => wordPostings(db, words, 20_000)));
    expect(a!.some((p) => p.docs > 0)).toBe(true);
    expect(b).toEqual(a);
  } finally {
    await Promise.all(dbs.map((db) => db.close()));
  }
}

describe('the same answers from SQLite and PostgreSQL', () => {
  it('lists every model in every ordering, page after page, with the same cursors', async () => {
    for (const field of ['CREATED_AT', 'UPDATED_AT', 'NAME', 'DOWNLOADS']) {
      for (const direction of ['ASC', 'DESC']) {
        let after: string | null = null;
        let pages = 0;
        do {
          const data = (await same(LIST, { first: 17, after, orderBy: [{ field, direction }] })) as {
            models: { pageInfo: { endCursor: string | null; hasNextPage: boolean } };
          };
          after = data.models.pageInfo.hasNextPage ? data.models.pageInfo.endCursor : null;
          pages++;
        } while (after !== null);
        expect(pages, `${field} ${direction}`).toBeGreaterThan(1);
      }
    }
  });

  it('filters alike', async () => {
    const filters: Record<string, unknown>[] = [
      { nsfw: 'EXCLUDE' },
      { nsfw: 'ONLY' },
      { types: ['LORA', 'Checkpoint'] },
      { baseModels: ['SDXL10', 'SD15'] },
      { hasLocalFiles: true },
      { hasLocalFiles: false },
      { nameContains: 'MIX' },
      { nameContains: '%_' },
      { createdAfter: '2025-01-01T00:00:00Z' },
      { createdBefore: '2025-06-01T00:00:00.000Z' },
      { tags: ['style', 'character'], tagsMode: 'ALL' },
      { tags: ['style', 'character'], tagsMode: 'ANY' },
      { source: ['CivitaiApi'] },
      { hasUpdate: true },
      { creator: 'CREATOR_3' },
      { removedFromCivitai: false },
    ];
    for (const filter of filters) await same(LIST, { first: 50, filter });
  });

  it('details with nested connections, by id, databaseId and civitaiId', async () => {
    const ids = (await same('{ models(first: 10) { nodes { id databaseId civitaiId } } }')) as {
      models: { nodes: { id: string; databaseId: number; civitaiId: number | null }[] };
    };
    for (const { id, databaseId, civitaiId } of ids.models.nodes) {
      await same(
        `query($id: ID) { model(id: $id) { ${MODEL} versions(first: 5) { totalCount pageInfo { endCursor }
        nodes { ${VERSION} } } } }`,
        { id },
      );
      await same('query($d: Int) { model(databaseId: $d) { databaseId name } }', { d: databaseId });
      if (civitaiId !== null) await same('query($c: Int) { model(civitaiId: $c) { databaseId } }', { c: civitaiId });
    }
    await same(
      '{ modelVersions(first: 30, orderBy: [{ field: CREATED_AT }]) { totalCount edges { cursor node { databaseId name createdAt } } } }',
    );
  });

  it('hash look-ups of every kind, in either letter case and CRC32 byte order', async () => {
    const files = catalog.sql
      .prepare(
        `SELECT HashAutoV1, HashAutoV2, HashAutoV3, HashSHA256, HashCRC32, HashBLAKE3 FROM ModelFiles ORDER BY Id LIMIT 12`,
      )
      .all() as Record<string, string | null>[];
    const hashes: string[] = [];
    for (const row of files) {
      for (const value of Object.values(row)) if (value) hashes.push(value, value.toLowerCase());
      const crc = row.HashCRC32;
      if (crc) hashes.push(crc.match(/../g)!.reverse().join(''));
    }
    const query = `query($h: [String!]!) { filesByHashes(hashes: $h) { hash algorithm file { ${FILE} version { databaseId } } files { databaseId } } }`;
    await same(query, { h: hashes.slice(0, 1000) });
    for (const [algorithm, column] of [
      ['SHA256', 'HashSHA256'],
      ['AUTOV2', 'HashAutoV2'],
      ['CRC32', 'HashCRC32'],
      ['BLAKE3', 'HashBLAKE3'],
    ] as const) {
      const hash = files.find((f) => f[column])![column]!;
      await same('query($h: String!, $a: HashAlgorithm) { fileByHash(hash: $h, algorithm: $a) { databaseId } }', {
        h: hash.toLowerCase(),
        a: algorithm,
      });
    }
  });

  it('nodes, creators, tags, images', async () => {
    const ids = (await same(
      '{ models(first: 5) { nodes { id creator { id } latestVersion { id primaryImage { id } } } } }',
    )) as {
      models: {
        nodes: {
          id: string;
          creator: { id: string } | null;
          latestVersion: { id: string; primaryImage: { id: string } | null } | null;
        }[];
      };
    };
    const all = ids.models.nodes.flatMap((n) => [
      n.id,
      n.creator?.id,
      n.latestVersion?.id,
      n.latestVersion?.primaryImage?.id,
    ]);
    await same('query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }', { ids: all.filter(Boolean) });
    await same(
      '{ creators(first: 20) { totalCount edges { cursor node { username modelCount models(first: 3) { nodes { databaseId } } } } } }',
    );
    await same('{ creators(first: 20, usernameStartsWith: "CREATOR_1") { nodes { username } } }');
    await same('{ tags(first: 30) { totalCount edges { cursor node { name normalizedName modelCount } } } }');
    await same('{ tags(first: 30, nameStartsWith: "s") { nodes { name } } }');
    await same(`{ modelImage(databaseId: 3) { ${IMAGE} } }`);
  });

  it('thumbnails over HTTP: the same bytes, type and ETag, and 304 for the ETag', async () => {
    const ids = catalog.sql
      .prepare('SELECT Id FROM ModelImages WHERE ThumbnailData IS NOT NULL ORDER BY Id LIMIT 5')
      .pluck()
      .all() as number[];
    expect(ids.length).toBeGreaterThan(0);
    for (const id of [...ids, 999_999]) {
      const [a, b] = await Promise.all(
        [onSqlite, onPostgres].map((server) => fetch(`${server.origin}/thumbnails/${id}`)),
      );
      expect(b!.status, String(id)).toBe(a!.status);
      expect(b!.headers.get('content-type')).toBe(a!.headers.get('content-type'));
      expect(b!.headers.get('etag')).toBe(a!.headers.get('etag'));
      expect(Buffer.from(await b!.arrayBuffer())).toEqual(Buffer.from(await a!.arrayBuffer()));
      if (a!.status === 200) {
        const again = await fetch(`${onPostgres.origin}/thumbnails/${id}`, {
          headers: { 'if-none-match': a!.headers.get('etag')! },
        });
        expect(again.status).toBe(304);
      }
    }
  });

  it('health names the engine', async () => {
    const query = '{ health { ok engine schemaVersion sqliteVersion } }';
    expect(dataOf(await onSqlite.graphql(query))).toMatchObject({ health: { ok: true, engine: 'sqlite' } });
    expect(dataOf(await onPostgres.graphql(query))).toMatchObject({
      health: {
        ok: true,
        engine: 'postgres',
        schemaVersion: listMigrations(postgresMigrationsSource().dir).at(-1)!.name,
        sqliteVersion: '',
      },
    });
    const response = await fetch(`${onPostgres.origin}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', engine: 'postgres' });
    // The size on disk is the server's own measure of the database.
    const { libraryStats } = dataOf(
      await onPostgres.graphql<{ libraryStats: { databaseBytes: string } }>('{ libraryStats { databaseBytes } }'),
    );
    expect(Number(libraryStats.databaseBytes)).toBeGreaterThan(1_000_000);
  });

  it('facets and library statistics', async () => {
    await same(`{ modelFacets { byType { value count } byBaseModel { value count } byCreator { value count }
      byHasLocalFiles { value count } byNsfw { value count } } }`);
    await same(`{ modelFacets(filter: { nsfw: EXCLUDE }) { byType { value count } byBaseModel { value count } } }`);
    await same(
      '{ libraryStats { models versions files images localFilesMissing localBytes byBaseModel { value count } } }',
    );
  });

  it('full-text search: the same models for every exact-name query, with the same matched fields and snippets', async () => {
    const names = catalog.sql.prepare('SELECT Name FROM Models ORDER BY Id').pluck().all() as string[];
    const queries = [
      ...names,
      ...names.map((name) => `"${name}"`),
      'light',
      'style*',
      'neon light',
      '"pixel art"',
      'café',
      'CAFE',
      '東京',
      'v1 safetensors',
      'sdxl',
      'l* m*',
      '"masterpiece, pixel art"',
    ];
    for (const q of queries) await sameSearch(q);
    // Where a search has one hit, its order is unambiguous: the whole answer is the same JSON, cursors aside.
    let single = 0;
    for (const name of names) {
      const one = (await sameSearch(`"${name}"`)) === 1;
      if (one) {
        single++;
        await same(
          `query($q: String!) { search(query: $q, first: 5) { totalCount pageInfo { hasNextPage hasPreviousPage }
            edges { matchedFields snippet node { ${MODEL} } } nodes { databaseId } } }`,
          { q: `"${name}"` },
        );
      }
    }
    expect(single).toBeGreaterThan(10);
    // Plain words rank alike on both engines (bm25, to the last bit): the whole answer is the same JSON, scores,
    // order and cursors included, page after page (SQLite lets FTS5 rank the searches with few matches: the same).
    for (const q of ['light', 'neon light', 'v1 safetensors', 'sdxl', 'café', 'CAFE', 'masterpiece light style']) {
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const page = (await same(
          `query($q: String!, $after: String) { search(query: $q, first: 9, after: $after) { totalCount
            pageInfo { hasNextPage endCursor } edges { cursor score matchedFields node { databaseId } } } }`,
          { q, after },
        )) as { search: { pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
        pages++;
        if (!page.search.pageInfo.hasNextPage) break;
        after = page.search.pageInfo.endCursor;
      }
      if (q === 'light') expect(pages).toBeGreaterThan(2);
    }
    // A list filtered by a search keeps the list's own order (and cursors); facets count the same models.
    for (const field of ['NAME', 'DOWNLOADS', 'CREATED_AT']) {
      await same(LIST, { first: 20, filter: { query: 'light' }, orderBy: [{ field }] });
      await same(LIST, {
        first: 20,
        filter: { query: 'style*', nsfw: 'EXCLUDE' },
        orderBy: [{ field, direction: 'DESC' }],
      });
    }
    await same(`{ modelFacets(filter: { query: "light" }) { total byType { value count } byBaseModel { value count }
      byTag(top: 10) { value count } byCreator { value count } byNsfwLevel { value count } } }`);
  });

  it('the search cost estimate reads the same vocabulary', async () => {
    await expectSameVocabulary();
  });

  it('answers the same after the same mutations through each server', async () => {
    const write = (query: string, variables: Record<string, unknown>) => same(query, variables, AUTH);
    const { models } = (await same('{ models(first: 3) { nodes { id versions(first: 1) { nodes { id } } } } }')) as {
      models: { nodes: { id: string; versions: { nodes: { id: string }[] } }[] };
    };
    const [first, second] = models.nodes;
    await write(
      'mutation($id: ID!) { updateModel(id: $id, input: { name: "Renamed on both", isNsfw: true }) { name isNsfw } }',
      {
        id: first!.id,
      },
    );
    await write('mutation($id: ID!) { setModelTags(id: $id, tags: ["Fresh Tag", "style"]) { tags { name } } }', {
      id: second!.id,
    });
    // updatedAt is now's clock on each server: everything else must match.
    const unclocked = MODEL.replace(' updatedAt ', ' ');
    const list = LIST.replace(MODEL, unclocked);
    await same(list, { first: 50, orderBy: [{ field: 'NAME' }] });
    await same(list, { first: 50, filter: { tags: ['fresh tag'] } });
    await same(list, { first: 50, filter: { nsfw: 'ONLY' } });
    await same(`query($id: ID!) { model(id: $id) { ${unclocked} history(first: 5) { totalCount } } }`, {
      id: first!.id,
    });
    // The search indexes followed the writes alike.
    const retagged = catalog.sql
      .prepare('SELECT Name FROM Models WHERE Id = ?')
      .pluck()
      .get(databaseIdFrom(second!.id, 'Model')) as string;
    for (const q of ['"Renamed on both"', 'fresh tag', 'renamed', retagged])
      expect(await sameSearch(q), q).toBeGreaterThan(0);
    await expectSameVocabulary();
  });
});
