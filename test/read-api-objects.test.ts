/**
 * Every entity over real HTTP on a seeded SQLite file: each column exposed with the right GraphQL type and value
 * (compared with direct SQL), look-ups by each identifier, Relay nodes, computed fields, and coded errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNodeId } from '../src/catalog/global-id.ts';
import { dataOf, firstErrorCode, seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { runOnCatalog } from './helpers/postgres.ts';

let catalog: SeededCatalog;
let server: TestServer;

beforeAll(async () => {
  catalog = await seededCatalog();
  server = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath });
});

/** The instant a stored timestamp (either format) denotes, as the API prints it. */
function iso(stored: string | null): string | null {
  return stored === null ? null : new Date(stored.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1')).toISOString();
}

const MODEL_FIELDS = `id databaseId civitaiId name description type isNsfw isPoi mode source createdAt updatedAt lastSyncedAt
  allowNoCredit allowCommercialUse allowDerivatives allowDifferentLicense`;

describe('Model', () => {
  it('exposes every column with its stored value', async () => {
    const rows = catalog.sql.prepare(`SELECT * FROM Models ORDER BY Id`).all() as Record<string, unknown>[];
    for (const row of [rows[0]!, rows[3]!, rows[10]!]) {
      const { model } = dataOf(
        await server.graphql<{ model: Record<string, unknown> }>(
          `query($id: Int) { model(databaseId: $id) { ${MODEL_FIELDS} } }`,
          { id: row.Id },
        ),
      );
      expect(model).toEqual({
        id: encodeNodeId('Model', row.Id as number),
        databaseId: row.Id,
        civitaiId: row.CivitaiId,
        name: row.Name,
        description: row.Description,
        type: row.Type,
        isNsfw: row.IsNsfw === 1,
        isPoi: row.IsPoi === 1,
        mode: row.Mode,
        source: row.Source,
        createdAt: iso(row.CreatedAt as string),
        updatedAt: iso(row.UpdatedAt as string),
        lastSyncedAt: iso(row.LastSyncedAt as string | null),
        allowNoCredit: row.AllowNoCredit === 1,
        allowCommercialUse: row.AllowCommercialUse,
        allowDerivatives: row.AllowDerivatives === 1,
        allowDifferentLicense: row.AllowDifferentLicense === 1,
      });
    }
  });

  it('is found by id, databaseId and civitaiId alike, and null when absent', async () => {
    const row = catalog.sql.prepare(`SELECT Id, CivitaiId FROM Models WHERE CivitaiId IS NOT NULL LIMIT 1`).get() as {
      Id: number;
      CivitaiId: number;
    };
    const result = dataOf(
      await server.graphql<Record<string, { databaseId: number } | null>>(
        `query($g: ID, $d: Int, $c: Int) {
      a: model(id: $g) { databaseId } b: model(databaseId: $d) { databaseId } c: model(civitaiId: $c) { databaseId } missing: model(databaseId: 999999) { databaseId } }`,
        { g: encodeNodeId('Model', row.Id), d: row.Id, c: row.CivitaiId },
      ),
    );
    expect(result).toEqual({
      a: { databaseId: row.Id },
      b: { databaseId: row.Id },
      c: { databaseId: row.Id },
      missing: null,
    });
  });

  it('requires exactly one identifier', async () => {
    for (const query of ['{ model { name } }', '{ model(databaseId: 1, civitaiId: 100000) { name } }']) {
      const response = await server.graphql(query);
      expect(firstErrorCode(response)).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toMatch(/exactly one of `id`, `databaseId`, `civitaiId`/);
    }
  });

  it('rejects malformed and foreign global IDs with BAD_USER_INPUT, never a 500', async () => {
    for (const [id, pattern] of [
      ['not-an-id!', /not a valid ID/],
      [encodeNodeId('Tag', 1), /belongs to a Tag, not a Model/],
      [Buffer.from('Model:abc').toString('base64'), /not a valid ID/],
    ] as const) {
      const response = await server.graphql('query($id: ID) { model(id: $id) { name } }', { id });
      expect(response.status).toBe(200);
      expect(firstErrorCode(response)).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toMatch(pattern);
    }
  });

  it('computes latestVersion, versionCount, totalDownloads and primaryImage like the database', async () => {
    const modelId = 7;
    const expected = catalog.sql
      .prepare(`SELECT COUNT(*) AS n, SUM(DownloadCount) AS downloads FROM ModelVersions WHERE ModelId = ?`)
      .get(modelId) as { n: number; downloads: number };
    const versions = catalog.sql.prepare(`SELECT Id, CreatedAt FROM ModelVersions WHERE ModelId = ?`).all(modelId) as {
      Id: number;
      CreatedAt: string;
    }[];
    const newest = [...versions].sort((a, b) => iso(b.CreatedAt)!.localeCompare(iso(a.CreatedAt)!) || b.Id - a.Id)[0]!;
    const { model } = dataOf(
      await server.graphql<{
        model: {
          latestVersion: { databaseId: number };
          versionCount: number;
          totalDownloads: number;
          primaryImage: { databaseId: number; isNsfw: boolean; url: string } | null;
        };
      }>(
        `{ model(databaseId: ${modelId}) { latestVersion { databaseId } versionCount totalDownloads primaryImage { databaseId isNsfw url } } }`,
      ),
    );
    expect(model.versionCount).toBe(expected.n);
    expect(model.totalDownloads).toBe(expected.downloads);
    expect(model.latestVersion.databaseId).toBe(newest.Id);
    const images = catalog.sql
      .prepare(`SELECT Id, IsNsfw, Url, SortOrder FROM ModelImages WHERE ModelVersionId = ? ORDER BY SortOrder, Id`)
      .all(newest.Id) as { Id: number; IsNsfw: number; Url: string }[];
    const preferred = images.find((i) => i.IsNsfw === 0 && !i.Url.endsWith('.mp4')) ?? images[0];
    expect(model.primaryImage?.databaseId).toBe(preferred?.Id);
  });
});

describe('ModelVersion, ModelFile, ModelImage, TriggerWord', () => {
  it('exposes version columns, files with grouped upper-case hashes, and computed fields', async () => {
    const version = catalog.sql.prepare(`SELECT * FROM ModelVersions WHERE Id = 12`).get() as Record<string, unknown>;
    const files = catalog.sql
      .prepare(`SELECT * FROM ModelFiles WHERE ModelVersionId = 12 ORDER BY IsPrimary DESC, Id`)
      .all() as Record<string, unknown>[];
    const words = catalog.sql
      .prepare(`SELECT Word FROM TriggerWords WHERE ModelVersionId = 12 ORDER BY "Order"`)
      .pluck()
      .all() as string[];
    const { modelVersion } = dataOf(
      await server.graphql<{ modelVersion: Record<string, any> }>(`{ modelVersion(databaseId: 12) {
      databaseId civitaiId name description baseModel baseModelRaw createdAt updatedAt publishedAt downloadUrl earlyAccessDays downloadCount
      ratingCount rating thumbsUpCount thumbsDownCount model { databaseId } triggerWordsText triggerWords { word order version { databaseId } }
      primaryFile { databaseId }
      files { databaseId civitaiId fileName sizeKB fileType isPrimary format precision sizeType downloadUrl pickleScanResult pickleScanMessage
        virusScanResult scannedAt localPath isLocalFileValid localFileVerifiedAt isSecure version { databaseId }
        hashes { autoV1 autoV2 autoV3 sha256 crc32 blake3 } } } }`),
    );
    expect(modelVersion).toMatchObject({
      databaseId: 12,
      civitaiId: version.CivitaiId,
      name: version.Name,
      description: version.Description,
      baseModel: version.BaseModel,
      baseModelRaw: version.BaseModelRaw,
      createdAt: iso(version.CreatedAt as string),
      updatedAt: iso(version.UpdatedAt as string | null),
      publishedAt: iso(version.PublishedAt as string | null),
      downloadUrl: version.DownloadUrl,
      earlyAccessDays: version.EarlyAccessDays,
      downloadCount: version.DownloadCount,
      ratingCount: version.RatingCount,
      rating: version.Rating,
      thumbsUpCount: version.ThumbsUpCount,
      thumbsDownCount: version.ThumbsDownCount,
      model: { databaseId: version.ModelId },
      triggerWordsText: words.join(', '),
      primaryFile: { databaseId: files[0]!.Id },
    });
    expect(modelVersion.triggerWords.map((w: { word: string }) => w.word)).toEqual(words);
    expect(modelVersion.files).toEqual(
      files.map((f) => ({
        databaseId: f.Id,
        civitaiId: f.CivitaiId,
        fileName: f.FileName,
        sizeKB: f.SizeKB,
        fileType: f.FileType,
        isPrimary: f.IsPrimary === 1,
        format: f.Format,
        precision: f.Precision,
        sizeType: f.SizeType,
        downloadUrl: f.DownloadUrl,
        pickleScanResult: f.PickleScanResult,
        pickleScanMessage: f.PickleScanMessage,
        virusScanResult: f.VirusScanResult,
        scannedAt: iso(f.ScannedAt as string | null),
        localPath: f.LocalPath,
        isLocalFileValid: f.IsLocalFileValid === 1,
        localFileVerifiedAt: iso(f.LocalFileVerifiedAt as string | null),
        isSecure: f.PickleScanResult === 'Success' && f.VirusScanResult === 'Success',
        version: { databaseId: 12 },
        hashes: {
          autoV1: (f.HashAutoV1 as string).toUpperCase(),
          autoV2: (f.HashAutoV2 as string).toUpperCase(),
          autoV3: (f.HashAutoV3 as string | null)?.toUpperCase() ?? null,
          sha256: (f.HashSHA256 as string).toUpperCase(),
          crc32: (f.HashCRC32 as string).toUpperCase(),
          blake3: (f.HashBLAKE3 as string).toUpperCase(),
        },
      })),
    );
  });

  it('exposes image columns with 64-bit seeds exact, and computed fields', async () => {
    const sql = catalog.sql.prepare(`SELECT * FROM ModelImages WHERE Seed > 9007199254740992 LIMIT 1`);
    const row = sql.safeIntegers(true).get() as Record<string, bigint | string | number | null | Buffer>;
    const id = Number(row.Id);
    const { modelImage } = dataOf(
      await server.graphql<{ modelImage: Record<string, unknown> }>(`{ modelImage(databaseId: ${id}) {
      databaseId civitaiId url isNsfw nsfwLevel width height aspectRatio blurHash sortOrder isPrimary createdAt postId username localCachePath
      isLocalCacheValid cachedAt cachedFileSize prompt negativePrompt seed steps sampler cfgScale generationModel denoisingStrength likeCount
      heartCount commentCount version { databaseId } } }`),
    );
    expect(modelImage).toEqual({
      databaseId: id,
      civitaiId: row.CivitaiId === null ? null : Number(row.CivitaiId),
      url: row.Url,
      isNsfw: row.IsNsfw === 1n,
      nsfwLevel: row.NsfwLevel,
      width: Number(row.Width),
      height: Number(row.Height),
      aspectRatio: Number(row.Width) / Number(row.Height),
      blurHash: row.BlurHash,
      sortOrder: Number(row.SortOrder),
      isPrimary: row.SortOrder === 0n,
      createdAt: iso(row.CreatedAt as string),
      postId: Number(row.PostId),
      username: row.Username,
      localCachePath: null,
      isLocalCacheValid: false,
      cachedAt: null,
      cachedFileSize: null,
      prompt: row.Prompt,
      negativePrompt: row.NegativePrompt,
      seed: String(row.Seed),
      steps: Number(row.Steps),
      sampler: row.Sampler,
      cfgScale: row.CfgScale,
      generationModel: row.GenerationModel,
      denoisingStrength: row.DenoisingStrength === null ? null : row.DenoisingStrength,
      likeCount: Number(row.LikeCount),
      heartCount: Number(row.HeartCount),
      commentCount: Number(row.CommentCount),
      version: { databaseId: Number(row.ModelVersionId) },
    });
    expect(BigInt(modelImage.seed as string)).toBe(row.Seed);
  });

  it("reads an enum value a newer desktop app wrote as the enum's fallback", async () => {
    const update = `UPDATE "ModelVersions" SET "BaseModel" = 'QwenImage' WHERE "Id" = 3`;
    await runOnCatalog(server.config, { sqlite: update, postgres: update });
    const { modelVersion } = dataOf(
      await server.graphql<{ modelVersion: { baseModel: string } }>('{ modelVersion(databaseId: 3) { baseModel } }'),
    );
    expect(modelVersion.baseModel).toBe('Other');
  });
});

describe('Creator and Tag', () => {
  it('finds creators by username case-insensitively and counts their models', async () => {
    const row = catalog.sql
      .prepare(
        `SELECT c.Id, c.Username, (SELECT COUNT(*) FROM Models m WHERE m.CreatorId = c.Id) AS n FROM Creators c WHERE Username LIKE 'PixelSmith%' LIMIT 1`,
      )
      .get() as { Id: number; Username: string; n: number };
    const { creator } = dataOf(
      await server.graphql<{
        creator: {
          databaseId: number;
          username: string;
          modelCount: number;
          models: { totalCount: number; nodes: { databaseId: number }[] };
        };
      }>(
        'query($u: String) { creator(username: $u) { databaseId username modelCount models(first: 100) { totalCount nodes { databaseId } } } }',
        { u: row.Username.toUpperCase() },
      ),
    );
    expect(creator).toMatchObject({
      databaseId: row.Id,
      username: row.Username,
      modelCount: row.n,
      models: { totalCount: row.n },
    });
    const ids = catalog.sql.prepare(`SELECT Id FROM Models WHERE CreatorId = ?`).pluck().all(row.Id) as number[];
    expect(creator.models.nodes.map((m) => m.databaseId).sort((a, b) => a - b)).toEqual(ids.sort((a, b) => a - b));
  });

  it('finds tags by any spelling of their name and lists their models', async () => {
    const row = catalog.sql
      .prepare(
        `SELECT t.Id, t.Name, t.NormalizedName, (SELECT COUNT(*) FROM ModelTags mt WHERE mt.TagId = t.Id) AS n FROM Tags t WHERE t.Name <> t.NormalizedName LIMIT 1`,
      )
      .get() as { Id: number; Name: string; NormalizedName: string; n: number };
    const { tag } = dataOf(
      await server.graphql<{
        tag: {
          databaseId: number;
          name: string;
          normalizedName: string;
          modelCount: number;
          models: { totalCount: number; edges: unknown[] };
        };
      }>(
        'query($n: String) { tag(name: $n) { databaseId name normalizedName modelCount models(first: 3) { totalCount edges { cursor } } } }',
        { n: `  ${row.NormalizedName.toUpperCase()} ` },
      ),
    );
    expect(tag).toMatchObject({
      databaseId: row.Id,
      name: row.Name,
      normalizedName: row.NormalizedName,
      modelCount: row.n,
      models: { totalCount: row.n },
    });
    expect(tag.models.edges).toHaveLength(Math.min(3, row.n));
  });
});

describe('Relay nodes', () => {
  it('resolves node and nodes for every type, keeping order, null for missing rows', async () => {
    const ids = [
      encodeNodeId('Model', 1),
      encodeNodeId('ModelVersion', 2),
      encodeNodeId('ModelFile', 3),
      encodeNodeId('ModelImage', 4),
      encodeNodeId('Creator', 1),
      encodeNodeId('Tag', 2),
      encodeNodeId('TriggerWord', 1),
      encodeNodeId('Model', 999999),
    ];
    const { nodes } = dataOf(
      await server.graphql<{ nodes: ({ __typename: string; id: string } | null)[] }>(
        'query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }',
        { ids },
      ),
    );
    expect(nodes.map((n) => n?.__typename ?? null)).toEqual([
      'Model',
      'ModelVersion',
      'ModelFile',
      'ModelImage',
      'Creator',
      'Tag',
      'TriggerWord',
      null,
    ]);
    expect(nodes.slice(0, 7).map((n) => n?.id)).toEqual(ids.slice(0, 7));
    const { node } = dataOf(
      await server.graphql<{ node: { name: string } }>('query($id: ID!) { node(id: $id) { ... on Model { name } } }', {
        id: ids[0],
      }),
    );
    expect(node.name).toBe(catalog.sql.prepare('SELECT Name FROM Models WHERE Id = 1').pluck().get());
  });

  it('rejects a malformed node ID with BAD_USER_INPUT', async () => {
    const response = await server.graphql('{ node(id: "%%%") { id } }');
    expect(response.status).toBe(200);
    expect(firstErrorCode(response)).toBe('BAD_USER_INPUT');
  });
});
