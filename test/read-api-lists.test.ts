/**
 * Connections over a seeded catalog: complete, duplicate-free keyset paging in both directions for every
 * ordering (including timestamps stored in two formats), every filter equal to direct SQL, totalCount, and
 * coded errors for bad page arguments and cursors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { dataOf, firstErrorCode, seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let catalog: SeededCatalog;
let server: TestServer;

beforeAll(async () => {
  catalog = await seededCatalog();
  server = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath });
});

interface ModelsPage {
  models: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
    nodes: { databaseId: number }[];
  };
}

const PAGE_QUERY = `query($first: Int, $after: String, $last: Int, $before: String, $filter: ModelFilter, $orderBy: [ModelOrder!]) {
  models(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { databaseId } } }`;

async function allForward(variables: Record<string, unknown>, pageSize: number): Promise<number[]> {
  const ids: number[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const { models }: ModelsPage = dataOf(
      await server.graphql<ModelsPage>(PAGE_QUERY, { ...variables, first: pageSize, after }),
    );
    ids.push(...models.nodes.map((n) => n.databaseId));
    expect(models.pageInfo.hasPreviousPage).toBe(after !== null);
    if (!models.pageInfo.hasNextPage) return ids;
    after = models.pageInfo.endCursor;
  }
  throw new Error('paging did not end');
}

async function allBackward(variables: Record<string, unknown>, pageSize: number): Promise<number[]> {
  const pages: number[][] = [];
  let before: string | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const { models }: ModelsPage = dataOf(
      await server.graphql<ModelsPage>(PAGE_QUERY, { ...variables, last: pageSize, before }),
    );
    pages.unshift(models.nodes.map((n) => n.databaseId));
    if (!models.pageInfo.hasPreviousPage) return pages.flat();
    before = models.pageInfo.startCursor;
  }
  throw new Error('paging did not end');
}

/** Sortable UTC text of a stored timestamp, computed in JS independently of the SQL under test. */
function utc(stored: string): string {
  return new Date(stored.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1')).toISOString();
}

function expectedOrder(order: string): number[] {
  const rows = catalog.sql
    .prepare(
      `SELECT m.Id, m.Name, m.CreatedAt, m.UpdatedAt, (SELECT COALESCE(SUM(DownloadCount), 0) FROM ModelVersions v WHERE v.ModelId = m.Id) AS downloads FROM Models m`,
    )
    .all() as { Id: number; Name: string; CreatedAt: string; UpdatedAt: string; downloads: number }[];
  const compare: Record<string, (a: (typeof rows)[number], b: (typeof rows)[number]) => number> = {
    CREATED_AT_DESC: (a, b) => utc(b.CreatedAt).localeCompare(utc(a.CreatedAt)) || b.Id - a.Id,
    UPDATED_AT_ASC: (a, b) => utc(a.UpdatedAt).localeCompare(utc(b.UpdatedAt)) || a.Id - b.Id,
    NAME_ASC: (a, b) =>
      a.Name.toLowerCase() < b.Name.toLowerCase() ? -1 : a.Name.toLowerCase() > b.Name.toLowerCase() ? 1 : a.Id - b.Id,
    DOWNLOADS_DESC: (a, b) => b.downloads - a.downloads || b.Id - a.Id,
  };
  return rows.sort(compare[order]).map((r) => r.Id);
}

describe('models ordering and paging', () => {
  it.each([
    ['CREATED_AT_DESC', undefined],
    ['UPDATED_AT_ASC', [{ field: 'UPDATED_AT', direction: 'ASC' }]],
    ['NAME_ASC', [{ field: 'NAME' }]],
    ['DOWNLOADS_DESC', [{ field: 'DOWNLOADS' }]],
  ])("pages %s completely, forward and backward, in the database's order", async (order, orderBy) => {
    const expected = expectedOrder(order);
    expect(expected.length).toBe(catalog.summary.models);
    expect(await allForward({ orderBy }, 7)).toEqual(expected);
    expect(await allBackward({ orderBy }, 9)).toEqual(expected);
  });

  it('orders rows of both timestamp formats on the same day correctly', async () => {
    const rows = catalog.sql.prepare(`SELECT Id, CreatedAt FROM Models`).all() as { Id: number; CreatedAt: string }[];
    expect(rows.some((r) => r.CreatedAt.includes(' '))).toBe(true);
    expect(rows.some((r) => r.CreatedAt.includes('T'))).toBe(true);
    const { models } = dataOf(await server.graphql<ModelsPage>(PAGE_QUERY, { first: 100 }));
    expect(models.nodes.map((n) => n.databaseId)).toEqual(expectedOrder('CREATED_AT_DESC'));
  });

  it('defaults to 20 per page, allows 100, refuses more and other bad arguments with codes', async () => {
    expect(dataOf(await server.graphql<ModelsPage>(PAGE_QUERY, {})).models.nodes).toHaveLength(20);
    expect(dataOf(await server.graphql<ModelsPage>(PAGE_QUERY, { first: 100 })).models.nodes).toHaveLength(
      Math.min(100, catalog.summary.models),
    );
    expect(firstErrorCode(await server.graphql(PAGE_QUERY, { first: 101 }))).toBe('LIMIT_EXCEEDED');
    expect(firstErrorCode(await server.graphql(PAGE_QUERY, { first: -1 }))).toBe('BAD_USER_INPUT');
    expect(firstErrorCode(await server.graphql(PAGE_QUERY, { first: 5, last: 5 }))).toBe('BAD_USER_INPUT');
    expect(firstErrorCode(await server.graphql(PAGE_QUERY, { first: 5, after: 'garbage!' }))).toBe('BAD_USER_INPUT');
    expect(
      firstErrorCode(
        await server.graphql(PAGE_QUERY, {
          first: 5,
          after: Buffer.from('dn1:["models:CREATED_AT.DESC",1]').toString('base64url'),
        }),
      ),
    ).toBe('BAD_USER_INPUT');
    const byName = dataOf(await server.graphql<ModelsPage>(PAGE_QUERY, { first: 2, orderBy: [{ field: 'NAME' }] }))
      .models.pageInfo.endCursor;
    const foreign = await server.graphql(PAGE_QUERY, { first: 2, after: byName });
    expect(firstErrorCode(foreign)).toBe('BAD_USER_INPUT');
    expect(foreign.errors?.[0]?.message).toMatch(/another ordering/);
    expect(firstErrorCode(await server.graphql(PAGE_QUERY, { orderBy: [{ field: 'NAME' }, { field: 'NAME' }] }))).toBe(
      'BAD_USER_INPUT',
    );
  });
});

describe('models filters', () => {
  const ids = (sql: string, ...params: unknown[]) =>
    new Set(
      catalog.sql
        .prepare(sql)
        .pluck()
        .all(...params) as number[],
    );
  const cases: [string, Record<string, unknown>, () => Set<number>][] = [
    [
      'types',
      { types: ['LORA', 'Checkpoint'] },
      () => ids(`SELECT Id FROM Models WHERE Type IN ('LORA', 'Checkpoint')`),
    ],
    [
      'baseModels',
      { baseModels: ['Pony'] },
      () => ids(`SELECT DISTINCT ModelId FROM ModelVersions WHERE BaseModel = 'Pony'`),
    ],
    ['nsfw EXCLUDE', { nsfw: 'EXCLUDE' }, () => ids(`SELECT Id FROM Models WHERE IsNsfw = 0`)],
    ['nsfw ONLY', { nsfw: 'ONLY' }, () => ids(`SELECT Id FROM Models WHERE IsNsfw = 1`)],
    [
      'creator (any case)',
      { creator: 'PIXELSMITH0' },
      () => ids(`SELECT m.Id FROM Models m JOIN Creators c ON c.Id = m.CreatorId WHERE c.Username = 'PixelSmith0'`),
    ],
    [
      'tags ALL',
      { tags: ['Style', ' anime '], tagsMode: 'ALL' },
      () =>
        ids(
          `SELECT mt.ModelId FROM ModelTags mt JOIN Tags t ON t.Id = mt.TagId WHERE t.NormalizedName IN ('style', 'anime') GROUP BY mt.ModelId HAVING COUNT(*) = 2`,
        ),
    ],
    [
      'tags ANY',
      { tags: ['style', 'anime'], tagsMode: 'ANY' },
      () =>
        ids(
          `SELECT DISTINCT mt.ModelId FROM ModelTags mt JOIN Tags t ON t.Id = mt.TagId WHERE t.NormalizedName IN ('style', 'anime')`,
        ),
    ],
    ['source', { source: ['LocalFile'] }, () => ids(`SELECT Id FROM Models WHERE Source = 'LocalFile'`)],
    [
      'hasLocalFiles true',
      { hasLocalFiles: true },
      () =>
        ids(
          `SELECT DISTINCT v.ModelId FROM ModelVersions v JOIN ModelFiles f ON f.ModelVersionId = v.Id WHERE f.LocalPath IS NOT NULL AND f.IsLocalFileValid = 1`,
        ),
    ],
    [
      'hasLocalFiles false',
      { hasLocalFiles: false },
      () =>
        ids(
          `SELECT Id FROM Models WHERE Id NOT IN (SELECT v.ModelId FROM ModelVersions v JOIN ModelFiles f ON f.ModelVersionId = v.Id WHERE f.LocalPath IS NOT NULL AND f.IsLocalFileValid = 1)`,
        ),
    ],
    ['nameContains', { nameContains: 'MIX' }, () => ids(`SELECT Id FROM Models WHERE Name LIKE '%mix%'`)],
    ['nameContains with wildcards', { nameContains: '%_' }, () => new Set()],
    [
      'combined',
      { types: ['LORA'], nsfw: 'EXCLUDE', hasLocalFiles: true },
      () =>
        ids(
          `SELECT Id FROM Models WHERE Type = 'LORA' AND IsNsfw = 0 AND Id IN (SELECT v.ModelId FROM ModelVersions v JOIN ModelFiles f ON f.ModelVersionId = v.Id WHERE f.LocalPath IS NOT NULL AND f.IsLocalFileValid = 1)`,
        ),
    ],
  ];

  it.each(cases)('%s returns exactly the matching models, with their totalCount', async (_name, filter, expected) => {
    const want = expected();
    const { models } = dataOf(await server.graphql<ModelsPage>(PAGE_QUERY, { first: 100, filter }));
    expect(new Set(models.nodes.map((n) => n.databaseId))).toEqual(want);
    expect(models.totalCount).toBe(want.size);
  });

  it('filters by creation time across both timestamp formats', async () => {
    const rows = catalog.sql.prepare(`SELECT Id, CreatedAt FROM Models`).all() as { Id: number; CreatedAt: string }[];
    const pivot = rows.map((r) => utc(r.CreatedAt)).sort()[Math.floor(rows.length / 2)]!;
    const after = new Set(rows.filter((r) => utc(r.CreatedAt) > pivot).map((r) => r.Id));
    const { models } = dataOf(
      await server.graphql<ModelsPage>(PAGE_QUERY, { first: 100, filter: { createdAfter: pivot } }),
    );
    expect(new Set(models.nodes.map((n) => n.databaseId))).toEqual(after);
    const before = dataOf(
      await server.graphql<ModelsPage>(PAGE_QUERY, { first: 100, filter: { createdBefore: pivot } }),
    ).models.totalCount;
    expect(before + after.size + 1).toBe(rows.length);
  });

  it('refuses oversized filters and bad dates with codes', async () => {
    expect(firstErrorCode(await server.graphql(PAGE_QUERY, { filter: { nameContains: 'x'.repeat(500) } }))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(
      firstErrorCode(
        await server.graphql(PAGE_QUERY, { filter: { tags: Array.from({ length: 150 }, (_, i) => `t${i}`) } }),
      ),
    ).toBe('LIMIT_EXCEEDED');
    const badDate = await server.graphql(PAGE_QUERY, { filter: { createdAfter: 'yesterday' } });
    expect(badDate.errors?.[0]?.message).toMatch(/ISO-8601/);
  });
});

describe('other connections', () => {
  it("lists a model's versions newest first and a version's images in display order, with counts", async () => {
    const { model } = dataOf(
      await server.graphql<{
        model: {
          versions: {
            totalCount: number;
            nodes: {
              databaseId: number;
              images: { totalCount: number; nodes: { databaseId: number; sortOrder: number }[] };
            }[];
          };
        };
      }>(
        `{ model(databaseId: 5) { versions(first: 2) { totalCount nodes { databaseId images(first: 2) { totalCount nodes { databaseId sortOrder } } } } } }`,
      ),
    );
    const versions = catalog.sql.prepare(`SELECT Id, CreatedAt FROM ModelVersions WHERE ModelId = 5`).all() as {
      Id: number;
      CreatedAt: string;
    }[];
    const newestFirst = versions
      .sort((a, b) => utc(b.CreatedAt).localeCompare(utc(a.CreatedAt)) || b.Id - a.Id)
      .map((v) => v.Id);
    expect(model.versions.totalCount).toBe(versions.length);
    expect(model.versions.nodes.map((v) => v.databaseId)).toEqual(newestFirst.slice(0, 2));
    for (const version of model.versions.nodes) {
      const images = catalog.sql
        .prepare(`SELECT Id FROM ModelImages WHERE ModelVersionId = ? ORDER BY SortOrder, Id`)
        .pluck()
        .all(version.databaseId);
      expect(version.images.totalCount).toBe(images.length);
      expect(version.images.nodes.map((i) => i.databaseId)).toEqual(images.slice(0, 2));
    }
  });

  it('pages modelVersions with filters, tags by prefix and creators by prefix', async () => {
    const { modelVersions } = dataOf(
      await server.graphql<{ modelVersions: { totalCount: number } }>(
        `{ modelVersions(filter: { baseModels: [SDXL10], hasLocalFiles: true }) { totalCount } }`,
      ),
    );
    const expectedVersions = catalog.sql
      .prepare(
        `SELECT COUNT(*) FROM ModelVersions v WHERE BaseModel = 'SDXL10' AND Id IN (SELECT ModelVersionId FROM ModelFiles WHERE LocalPath IS NOT NULL AND IsLocalFileValid = 1)`,
      )
      .pluck()
      .get();
    expect(modelVersions.totalCount).toBe(expectedVersions);

    const { tags } = dataOf(
      await server.graphql<{ tags: { nodes: { normalizedName: string }[] } }>(
        `{ tags(nameStartsWith: "C", first: 50) { nodes { normalizedName } } }`,
      ),
    );
    const expectedTags = catalog.sql
      .prepare(`SELECT NormalizedName FROM Tags WHERE NormalizedName LIKE 'c%' ORDER BY NormalizedName`)
      .pluck()
      .all();
    expect(tags.nodes.map((t) => t.normalizedName)).toEqual(expectedTags);

    const { creators } = dataOf(
      await server.graphql<{ creators: { totalCount: number; nodes: { username: string }[] } }>(
        `{ creators(usernameStartsWith: "pixel", first: 50) { totalCount nodes { username } } }`,
      ),
    );
    const expectedCreators = catalog.sql
      .prepare(`SELECT Username FROM Creators WHERE lower(Username) LIKE 'pixel%' ORDER BY lower(Username), Id`)
      .pluck()
      .all();
    expect(creators.nodes.map((c) => c.username)).toEqual(expectedCreators);
    expect(creators.totalCount).toBe(expectedCreators.length);
  });
});
