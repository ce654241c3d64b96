/**
 * The point of the read API: a realistic nested page costs the same small number of SQL statements whatever its
 * size (no N+1), never reads thumbnail BLOBs, and every look-up is served by an index.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Compilable, sql } from 'kysely';
import { encodeNodeId } from '../src/catalog/global-id.ts';
import { HASH_ALGORITHMS } from '../src/catalog/hash-lookup.ts';
import pg from 'pg';
import type { CatalogDatabase } from '../src/db/catalog-database.ts';
import { type ModelFilter, modelList, modelOrdering } from '../src/db/lists.ts';
import { openCatalog } from '../src/db/open-catalog.ts';
import { type AnyDb, table } from '../src/db/refs.ts';
import { toSqlite } from '../src/db/sqlite/driver.ts';
import { hashMatch } from '../src/db/tables/model-files.ts';
import { graphql } from '../src/generated/graphql/index.ts';
import { dataOf, type SeededCatalog } from './helpers/catalog.ts';
import { TEST_ENGINE } from './helpers/postgres.ts';
import { startSeededServer, type TestServer } from './helpers/server.ts';

let catalog: SeededCatalog;
let server: TestServer;
const statements: string[] = [];
const parameters: (readonly unknown[])[] = [];

beforeAll(async () => {
  ({ catalog, server } = await startSeededServer(statements, parameters));
});

const NESTED_PAGE = graphql(`query NestedModelsPage($n: Int!) {
  models(first: $n) {
    edges { cursor node {
      databaseId name type
      creator { username }
      tags { normalizedName }
      versions(first: 5) { nodes {
        databaseId name baseModel
        files { fileName hashes { sha256 } }
        images(first: 3) { nodes { databaseId url thumbnail { url } } }
        triggerWords { word }
      } }
    } }
  }
}`);

function utc(stored: string): string {
  return new Date(stored.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1')).toISOString();
}

/** What the page must contain, assembled from direct SQL. */
function expectedPage(n: number) {
  const sql = catalog.sql;
  const models = (
    sql.prepare(`SELECT Id, Name, Type, CreatedAt, CreatorId FROM Models`).all() as {
      Id: number;
      Name: string;
      Type: string;
      CreatedAt: string;
      CreatorId: number | null;
    }[]
  )
    .sort((a, b) => utc(b.CreatedAt).localeCompare(utc(a.CreatedAt)) || b.Id - a.Id)
    .slice(0, n);
  return models.map((m) => ({
    databaseId: m.Id,
    name: m.Name,
    type: m.Type,
    creator:
      m.CreatorId === null
        ? null
        : { username: sql.prepare(`SELECT Username FROM Creators WHERE Id = ?`).pluck().get(m.CreatorId) },
    tags: (
      sql
        .prepare(
          `SELECT t.NormalizedName FROM ModelTags mt JOIN Tags t ON t.Id = mt.TagId WHERE mt.ModelId = ? ORDER BY t.NormalizedName`,
        )
        .pluck()
        .all(m.Id) as string[]
    ).map((normalizedName) => ({ normalizedName })),
    versions: {
      nodes: (
        sql.prepare(`SELECT Id, Name, BaseModel, CreatedAt FROM ModelVersions WHERE ModelId = ?`).all(m.Id) as {
          Id: number;
          Name: string;
          BaseModel: string;
          CreatedAt: string;
        }[]
      )
        .sort((a, b) => utc(b.CreatedAt).localeCompare(utc(a.CreatedAt)) || b.Id - a.Id)
        .slice(0, 5)
        .map((v) => ({
          databaseId: v.Id,
          name: v.Name,
          baseModel: v.BaseModel,
          files: (
            sql
              .prepare(
                `SELECT FileName, upper(HashSHA256) AS sha FROM ModelFiles WHERE ModelVersionId = ? ORDER BY IsPrimary DESC, Id`,
              )
              .all(v.Id) as { FileName: string; sha: string }[]
          ).map((f) => ({ fileName: f.FileName, hashes: { sha256: f.sha } })),
          images: {
            nodes: (
              sql
                .prepare(
                  `SELECT Id, Url, ThumbnailData IS NOT NULL AS has FROM ModelImages WHERE ModelVersionId = ? ORDER BY SortOrder, Id LIMIT 3`,
                )
                .all(v.Id) as { Id: number; Url: string; has: number }[]
            ).map((i) => ({
              databaseId: i.Id,
              url: i.Url,
              thumbnail: i.has ? { url: `${server.origin}/thumbnails/${i.Id}` } : null,
            })),
          },
          triggerWords: (
            sql
              .prepare(`SELECT Word FROM TriggerWords WHERE ModelVersionId = ? ORDER BY "Order"`)
              .pluck()
              .all(v.Id) as string[]
          ).map((word) => ({ word })),
        })),
    },
  }));
}

async function runPage(n: number) {
  statements.length = 0;
  parameters.length = 0;
  const data = dataOf(await server.graphql(NESTED_PAGE, { n }));
  return { nodes: data.models.edges.map((e) => e.node), statements: [...statements] };
}

describe('a nested page of models', () => {
  it('issues the same few statements for 5 and for 50 models, and returns what the database holds', async () => {
    const small = await runPage(5);
    const large = await runPage(50);
    expect(small.statements.length).toBeLessThanOrEqual(8);
    expect(large.statements.length).toBe(small.statements.length);
    expect(small.nodes).toEqual(expectedPage(5));
    expect(large.nodes).toEqual(expectedPage(50));
  });

  it("reads a version's page of images, rows and thumbnail facts, in the one statement that picks them", async () => {
    const { statements: sqls } = await runPage(20);
    expect(sqls.filter((sql) => /"ModelImages"/.test(sql))).toHaveLength(1);
  });

  it('reads neither sort keys nor the row after a nested page whose query asks for neither', async () => {
    const { statements: sqls } = await runPage(20);
    const pages = sqls.flatMap((sql, i) => (/ROW_NUMBER\(\)/.test(sql) ? [{ sql, limit: parameters[i]!.at(-1) }] : []));
    // Versions (first: 5) and images (first: 3): cursors and hasNextPage are not selected.
    expect(pages.map((page) => Number(page.limit)).sort()).toEqual([3, 5]);
    for (const page of pages) expect(page.sql).not.toMatch(/as "k0"/);
    // `thumbnail { url }` needs only the thumbnail's presence: none of the facts that IX_ModelImages_VersionPage holds.
    expect(pages.find((page) => /"ModelImages"/.test(page.sql))!.sql).not.toMatch(/ThumbnailWidth|ThumbnailMimeType/);
  });

  it('reads both, and answers them exactly, where pageInfo and cursors are asked for', async () => {
    const modelId = Number(
      catalog.sql
        .prepare('SELECT ModelId FROM ModelVersions GROUP BY ModelId HAVING COUNT(*) > 2 ORDER BY ModelId LIMIT 1')
        .pluck()
        .get(),
    );
    const versionIds = (
      catalog.sql.prepare('SELECT Id, CreatedAt FROM ModelVersions WHERE ModelId = ?').all(modelId) as {
        Id: number;
        CreatedAt: string;
      }[]
    )
      .sort((a, b) => utc(b.CreatedAt).localeCompare(utc(a.CreatedAt)) || b.Id - a.Id)
      .map((v) => v.Id);
    const query = `query($id: Int!, $after: String) { model(databaseId: $id) { versions(first: 2, after: $after) {
      pageInfo { hasNextPage endCursor } edges { cursor node { databaseId } } } } }`;
    statements.length = 0;
    parameters.length = 0;
    type Versions = {
      model: {
        versions: {
          pageInfo: { hasNextPage: boolean; endCursor: string };
          edges: { cursor: string; node: { databaseId: number } }[];
        };
      };
    };
    const first = dataOf(await server.graphql<Versions, object>(query, { id: modelId })).model.versions;
    const page = statements.findIndex((sql) => /ROW_NUMBER\(\)/.test(sql));
    expect(statements[page]).toMatch(/as "k0"/);
    expect(Number(parameters[page]!.at(-1))).toBe(3);
    expect(first.edges.map((e) => e.node.databaseId)).toEqual(versionIds.slice(0, 2));
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.edges[1]!.cursor });
    const second = dataOf(await server.graphql<Versions, object>(query, { id: modelId, after: first.edges[1]!.cursor }))
      .model.versions;
    expect(second.edges.map((e) => e.node.databaseId)).toEqual(versionIds.slice(2, 4));
    expect(second.pageInfo.hasNextPage).toBe(versionIds.length > 4);
    // Asked for through a named fragment, an inline one and an alias: the same answer.
    const viaFragments = dataOf(
      await server.graphql<{ model: { versions: unknown } }, object>(
        `query($id: Int!) { model(databaseId: $id) { versions(first: 2) { ...More edges { ... on ModelVersionEdge {
          at: cursor node { databaseId } } } } } }
         fragment More on ModelVersionConnection { pageInfo { more: hasNextPage endCursor } }`,
        { id: modelId },
      ),
    ).model.versions;
    expect(viaFragments).toEqual({
      pageInfo: { more: true, endCursor: first.pageInfo.endCursor },
      edges: first.edges.map((edge) => ({ at: edge.cursor, node: edge.node })),
    });
  });

  it("answers a page's thumbnail facts from the index where they are asked for", async () => {
    const versionId = Number(
      catalog.sql
        .prepare('SELECT ModelVersionId FROM ModelImages WHERE ThumbnailData IS NOT NULL ORDER BY Id LIMIT 1')
        .pluck()
        .get(),
    );
    const expected = (
      catalog.sql
        .prepare(
          `SELECT Id, ThumbnailWidth AS width, ThumbnailHeight AS height, BlurHash AS blurHash,
             length(ThumbnailData) AS byteSize FROM ModelImages WHERE ModelVersionId = ? ORDER BY SortOrder, Id LIMIT 3`,
        )
        .all(versionId) as {
        Id: number;
        width: number;
        height: number;
        blurHash: string | null;
        byteSize: number | null;
      }[]
    ).map(({ Id, byteSize, ...facts }) => ({
      databaseId: Id,
      thumbnail: byteSize === null ? null : { ...facts, byteSize },
    }));
    statements.length = 0;
    const data = dataOf(
      await server.graphql<{ modelVersion: { images: { nodes: unknown[] } } }, object>(
        `query($id: Int!) { modelVersion(databaseId: $id) { images(first: 3) { nodes {
          databaseId thumbnail { width height blurHash byteSize } } } } }`,
        { id: versionId },
      ),
    );
    expect(data.modelVersion.images.nodes).toEqual(expected);
    expect(statements.filter((sql) => /"ModelImages"/.test(sql))).toHaveLength(1);
    expect(statements.find((sql) => /"ModelImages"/.test(sql))).toMatch(/ThumbnailWidth/);
  });

  it("reads a primary image's row without the thumbnail facts its pick already read", async () => {
    statements.length = 0;
    const data = dataOf(
      await server.graphql<
        { models: { nodes: { primaryImage: { url: string; thumbnail: unknown } | null }[] } },
        object
      >('{ models(first: 5) { nodes { primaryImage { url thumbnail { width height mimeType } } } } }'),
    );
    expect(data.models.nodes.some((m) => m.primaryImage?.thumbnail)).toBe(true);
    const rows = statements.filter((sql) => /"ModelImages"/.test(sql) && /"i"\."Url" as "url"/.test(sql));
    expect(rows).toHaveLength(1);
    expect(rows[0]).not.toMatch(/ThumbnailWidth|ThumbnailHeight|ThumbnailMimeType/);
  });

  it('never reads thumbnail bytes for a list (only their length)', async () => {
    const { statements: sqls } = await runPage(20);
    const readsBlob = sqls.filter((sql) => /ThumbnailData/.test(sql.replace(/length\("i"\."ThumbnailData"\)/g, '')));
    expect(readsBlob).toEqual([]);
  });

  it('counts with scoped GROUP BYs, never a whole-table count, when totalCount is nested', async () => {
    statements.length = 0;
    dataOf(await server.graphql(`{ models(first: 10) { nodes { versions(first: 1) { totalCount } } } }`));
    const counts = statements.filter((sql) => /COUNT\(/.test(sql));
    expect(counts).toHaveLength(1);
    // The parents' ids as one list parameter: a JSON array on SQLite, an array on PostgreSQL.
    expect(counts[0]).toMatch(
      TEST_ENGINE === 'postgres'
        ? /where "v"\."ModelId" = ANY\(\$1\) group by/
        : /where "v"\."ModelId" IN \(SELECT value FROM json_each\(\?\)\) group by/,
    );
  });
});

describe('one read path', () => {
  it('reads a model once when node(id), nodes(ids) and model(databaseId) all name it in one request', async () => {
    const id = Number(catalog.sql.prepare('SELECT Id FROM Models ORDER BY Id LIMIT 1').pluck().get());
    const row = catalog.sql.prepare('SELECT Name, Description FROM Models WHERE Id = ?').get(id) as {
      Name: string;
      Description: string | null;
    };
    const globalId = encodeNodeId('Model', id);
    statements.length = 0;
    const data = dataOf(
      await server.graphql<{
        node: { name: string };
        nodes: { name: string }[];
        model: { name: string; description: string | null };
      }>(
        `query($gid: ID!, $id: Int!) { node(id: $gid) { ... on Model { name } } nodes(ids: [$gid]) { ... on Model { name } }
          model(databaseId: $id) { name description } }`,
        { gid: globalId, id },
      ),
    );
    expect(data.node.name).toBe(row.Name);
    expect(data.nodes[0]!.name).toBe(row.Name);
    expect(data.model).toEqual({ name: row.Name, description: row.Description });
    expect(statements.filter((sql) => /from "Models"/i.test(sql))).toHaveLength(1);
  });
});

/**
 * The plans of the server's engine. PostgreSQL chooses by cost, and on the small test catalog a sequential scan is
 * cheapest whatever the indexes; with sequential scans priced out of reach it takes an index wherever one can serve
 * the statement — the expression indexes only where the statement's expression is the indexed one — so a
 * "Seq Scan" left in the plan means no index can.
 */
describe('index use', () => {
  const postgres = TEST_ENGINE === 'postgres';
  let db: CatalogDatabase;
  let client: pg.Client | undefined;
  beforeAll(async () => {
    db = await openCatalog(server.config.database ?? { engine: 'sqlite', path: catalog.databasePath, dataDir: null });
    if (server.config.database?.engine === 'postgres') {
      client = new pg.Client({ connectionString: server.config.database.url });
      await client.connect();
      await client.query('SET enable_seqscan = off');
    }
    return async () => {
      await client?.end();
      await db.close();
    };
  });
  const plan = async (query: Compilable) => {
    const { sql, parameters } = query.compile();
    if (client)
      return (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, [...parameters])).rows
        .map((r) => r['QUERY PLAN'].trim())
        .join(' | ');
    return (catalog.sql.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters.map(toSqlite)) as { detail: string }[])
      .map((r) => r.detail)
      .join(' | ');
  };
  /** Served by the index `name` (a regular expression source). */
  const usesIndex = (name: string) =>
    postgres ? new RegExp(`Index (Only )?Scan (Backward )?(using|on) "?${name}"?`) : new RegExp(`USING INDEX ${name}`);
  const f = table('ModelFiles', 'f');
  const anyDb = () => db.kysely as AnyDb;

  it.each(HASH_ALGORITHMS)('looks %s hashes up through an index', async (algorithm) => {
    const query = anyDb()
      .selectFrom(f.item)
      .selectAll()
      .where(db.dialect.inList(hashMatch(algorithm, f), ['AB']));
    const planned = await plan(query);
    expect(planned).toMatch(
      postgres ? usesIndex('IX_ModelFiles_Hash\\w+') : /SEARCH f USING INDEX IX_ModelFiles_Hash\w+/,
    );
    expect(planned).not.toMatch(/Seq Scan/);
  });

  it('serves the default model order and creation-time filters from the UTC expression index', async () => {
    const ordering = modelOrdering(db.dialect, null);
    const list = modelList(db.dialect, null, null);
    const ordered = list
      .from(anyDb())
      .select(list.select)
      .orderBy(sql.join(ordering.keys.map((k) => sql`${k.expression} ${sql.raw(k.direction)}`)))
      .limit(21);
    expect(await plan(ordered)).toMatch(
      postgres ? usesIndex('IX_Models_CreatedAtUtc') : /SCAN m USING INDEX IX_Models_CreatedAtUtc/,
    );
    const after = modelList(db.dialect, { createdAfter: new Date('2025-01-01T00:00:00Z') }, null);
    const filtered = after.from(anyDb()).select(after.select);
    expect(await plan(filtered)).toMatch(usesIndex('IX_Models_CreatedAtUtc'));
    expect(filtered.compile().sql).toContain(
      postgres ? `"dn_utc_text"("m"."CreatedAt")` : `strftime('%Y-%m-%dT%H:%M:%fZ', "m"."CreatedAt")`,
    );
  });

  it('filters by type, tag and creator through indexes', async () => {
    for (const filter of [
      { types: ['LORA'] },
      { tags: ['style'] },
      { creator: 'creator_1' },
      { baseModels: ['SD15'] },
    ] as ModelFilter[]) {
      const list = modelList(db.dialect, filter, ['id']);
      const planned = await plan(list.from(anyDb()).select(list.select));
      if (postgres) expect(planned, JSON.stringify(filter)).not.toMatch(/Seq Scan/);
      expect(planned, JSON.stringify(filter)).toMatch(
        postgres ? /Index (Only )?Scan/ : /USING (COVERING )?INDEX (IX_|sqlite_autoindex)/,
      );
    }
  });
});
