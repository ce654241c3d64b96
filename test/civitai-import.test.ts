/**
 * Importing into a real catalog file: every level upserted by CivitaiId, re-import a true no-op, updates that
 * remove what disappeared (tags, trigger words) but never duplicate images, one transaction per model, user edits
 * surviving, and concurrent importers in separate processes sharing creators and tags.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import { setModelTags, setTriggerWords, updateModel } from '../src/catalog/edits.ts';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import type { CatalogDatabase } from '../src/db/catalog-database.ts';
import { dumpCatalog, emptyCatalog } from './helpers/catalog.ts';
import { ownFixture } from './helpers/fixtures.ts';
import { tempDir } from './helpers/temp.ts';

let db: CatalogDatabase;
let databasePath: string;
let sql: Database.Database;

beforeAll(async () => {
  ({ db, databasePath } = await emptyCatalog());
  sql = new Database(databasePath, { readonly: true });
  return () => sql.close();
});

const count = (table: string) => sql.prepare(`SELECT COUNT(*) FROM "${table}"`).pluck().get() as number;
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('first import and re-import', () => {
  it('creates every row, then changes nothing when the same payloads come again', async () => {
    const first = await importPayload(db, ownFixture('model-drift.json'), 'model-drift.json');
    expect(first).toMatchObject({ created: 1, updated: 0, unchanged: 0, failed: 0 });
    expect(first.outcomes[0]!.warnings).toEqual(['model type "SuperLoraV9" is not known: stored as Other']);
    const version = await importPayload(db, ownFixture('version-payload.json'), 'version-payload.json');
    expect(version).toMatchObject({ created: 1, failed: 0 });
    const list = await importPayload(db, ownFixture('models-list.json'), 'models-list.json');
    expect(list).toMatchObject({ created: 2, failed: 1 });
    expect(list.failures[0]).toMatchObject({ civitaiId: null, name: 'Broken Item', path: '$.items[1].id' });

    const before = dumpCatalog(sql);
    for (const name of ['model-drift.json', 'version-payload.json', 'models-list.json']) {
      const again = await importPayload(db, ownFixture(name), name);
      expect(again.created + again.updated, name).toBe(0);
    }
    expect(dumpCatalog(sql)).toEqual(before);
  });

  it('stored the model with Source CivitaiApi, LastSyncedAt, and shared creators/tags case-insensitively', () => {
    const model = sql.prepare(`SELECT * FROM Models WHERE CivitaiId = 7001`).get() as Record<string, unknown>;
    expect(model).toMatchObject({
      Name: 'Lantern Glow Style',
      Type: 'Other',
      IsNsfw: 1,
      Mode: 'Archived',
      Source: 'CivitaiApi',
      AllowCommercialUse: 'Rent',
      AllowNoCredit: 0,
    });
    expect(model.LastSyncedAt).toEqual(model.CreatedAt);
    // "lanternmaker" in the version payload is the same creator as "LanternMaker".
    expect(sql.prepare(`SELECT Username FROM Creators ORDER BY Id`).pluck().all()).toEqual(['LanternMaker', 'cutter']);
    expect(sql.prepare(`SELECT CreatorId FROM Models WHERE CivitaiId IN (7001, 7002)`).pluck().all()).toEqual([
      model.CreatorId,
      model.CreatorId,
    ]);
    // "Style" and "style" are one tag whose Name keeps the first spelling seen.
    expect(sql.prepare(`SELECT Name, NormalizedName FROM Tags ORDER BY Id`).all()).toEqual([
      { Name: 'Lighting', NormalizedName: 'lighting' },
      { Name: 'Night Scenes', NormalizedName: 'night scenes' },
      { Name: 'style', NormalizedName: 'style' },
      { Name: 'paper', NormalizedName: 'paper' },
    ]);
  });

  it('stored files, hashes, images with meta, and trigger words exactly', () => {
    const file = sql.prepare(`SELECT * FROM ModelFiles WHERE CivitaiId = 9101`).get() as Record<string, unknown>;
    expect(file).toMatchObject({
      FileName: 'lantern_glow_flux.safetensors',
      SizeKB: 18000.5,
      Precision: 'BF16',
      SizeType: 'Pruned',
      Format: 'SafeTensor',
      IsPrimary: 1,
      HashAutoV1: 'A1B2C3D4',
      HashAutoV2: 'E5F6A7B8C9',
      HashCRC32: '85114A0D',
      LocalPath: null,
      IsLocalFileValid: 0,
      HashAutoV3: '0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF',
    });
    const image = sql.prepare(`SELECT * FROM ModelImages WHERE CivitaiId = 6101`).safeIntegers(true).get() as Record<
      string,
      unknown
    >;
    expect(image).toMatchObject({
      Seed: 9007199254740993n,
      Steps: 30n,
      CfgScale: 3.5,
      DenoisingStrength: 0.45,
      NsfwLevel: 'Mature',
      IsNsfw: 1n,
      LikeCount: 12n,
      SortOrder: 0n,
    });
    expect(
      sql
        .prepare(
          `SELECT Word FROM TriggerWords tw JOIN ModelVersions v ON v.Id = tw.ModelVersionId WHERE v.CivitaiId = 8101 ORDER BY "Order"`,
        )
        .pluck()
        .all(),
    ).toEqual(['lanternglow', 'warm light']);
    expect(sql.prepare(`SELECT EarlyAccessDays FROM ModelVersions WHERE CivitaiId = 8101`).pluck().get()).toBe(5);
  });
});

describe('an unchanged re-import', () => {
  // A catalog of its own: the images page here would change what the other tests' catalog holds.
  let own: CatalogDatabase;
  let ownSql: Database.Database;
  beforeAll(async () => {
    const catalog = await emptyCatalog();
    own = catalog.db;
    ownSql = new Database(catalog.databasePath, { readonly: true });
    return () => ownSql.close();
  });

  it('writes nothing at all when every payload, an images page included, comes again', async () => {
    const payloads: [string, number | null][] = [
      ['model-drift.json', null],
      ['version-payload.json', null],
      ['models-list.json', null],
      ['images-page.json', 8301],
    ];
    const importAll = async () => {
      for (const [name, imagesVersionCivitaiId] of payloads)
        await importPayload(own, ownFixture(name), name, { imagesVersionCivitaiId });
    };
    await importAll();
    const before = dumpCatalog(ownSql);
    // Changes whenever another connection commits a change to the file: no row, no index entry, no id spent.
    const dataVersion = () => ownSql.pragma('data_version', { simple: true });
    const versionBefore = dataVersion();
    await importAll();
    expect(dumpCatalog(ownSql)).toEqual(before);
    expect(dataVersion()).toBe(versionBefore);
  });
});

describe('updated payloads', () => {
  it('update rows in place, remove tags and trigger words no longer present, and never duplicate images', async () => {
    const payload = clone(ownFixture('model-drift.json')) as any;
    payload.name = 'Lantern Glow Style II';
    payload.tags = ['Lighting'];
    payload.modelVersions[0].trainedWords = ['lanternglow2'];
    payload.modelVersions[0].images[0].meta.steps = 40;
    payload.modelVersions[0].images[1].width = 640; // the image without id is matched by URL
    payload.modelVersions[0].files[0].hashes = { SHA256: payload.modelVersions[0].files[0].hashes.SHA256 };
    const images = count('ModelImages');
    const summary = await importPayload(db, payload, 'update');
    expect(summary).toMatchObject({ updated: 1, created: 0, failed: 0 });
    expect(count('ModelImages')).toBe(images);
    expect(sql.prepare(`SELECT Name FROM Models WHERE CivitaiId = 7001`).pluck().get()).toBe('Lantern Glow Style II');
    expect(
      sql
        .prepare(
          `SELECT t.NormalizedName FROM ModelTags mt JOIN Tags t ON t.Id = mt.TagId JOIN Models m ON m.Id = mt.ModelId WHERE m.CivitaiId = 7001`,
        )
        .pluck()
        .all(),
    ).toEqual(['lighting']);
    expect(
      sql
        .prepare(
          `SELECT Word FROM TriggerWords tw JOIN ModelVersions v ON v.Id = tw.ModelVersionId WHERE v.CivitaiId = 8101`,
        )
        .pluck()
        .all(),
    ).toEqual(['lanternglow2']);
    expect(sql.prepare(`SELECT Steps FROM ModelImages WHERE CivitaiId = 6101`).pluck().get()).toBe(40);
    expect(
      sql
        .prepare(`SELECT Width FROM ModelImages WHERE Url = 'https://image.example.invalid/lantern/2.mp4'`)
        .pluck()
        .get(),
    ).toBe(640);
    // A hash the payload no longer carries keeps its stored value.
    expect(sql.prepare(`SELECT HashAutoV2 FROM ModelFiles WHERE CivitaiId = 9101`).pluck().get()).toBe('E5F6A7B8C9');
  });

  it('stores an image listed twice in one version once, with the later listing (new and existing versions)', async () => {
    const payload = clone(ownFixture('model-drift.json')) as any;
    payload.id = 7901;
    payload.modelVersions = [payload.modelVersions[0]];
    const version = payload.modelVersions[0];
    version.id = 8901;
    for (const [i, file] of version.files.entries()) file.id = 9900 + i;
    const [byId, byUrl] = version.images;
    byId.id = 6901;
    byUrl.width = 640;
    version.images.push({ ...clone(byId), width: 111 }, { ...clone(byUrl), height: 222 });
    const rows = () =>
      sql
        .prepare(
          `SELECT i.CivitaiId, i.Url, i.Width, i.Height, i.SortOrder FROM ModelImages i
           JOIN ModelVersions v ON v.Id = i.ModelVersionId WHERE v.CivitaiId = 8901 ORDER BY i.Id`,
        )
        .all();
    const expected = [
      { CivitaiId: 6901, Url: byId.url, Width: 111, Height: byId.height, SortOrder: 3 },
      { CivitaiId: null, Url: byUrl.url, Width: byUrl.width, Height: 222, SortOrder: 4 },
      expect.objectContaining({ Url: version.images[2].url, SortOrder: 2 }),
    ];
    expect(await importPayload(db, payload, 'twice')).toMatchObject({ created: 1, failed: 0 });
    expect(rows()).toEqual(expected);

    // Into the existing version: still one row each, updated to the later listing.
    version.images[3].width = 333;
    expect(await importPayload(db, payload, 'twice again')).toMatchObject({ updated: 1, failed: 0 });
    expect(rows()).toEqual([{ ...expected[0], Width: 333 }, expected[1], expected[2]]);
    expect(await importPayload(db, payload, 'twice, unchanged')).toMatchObject({ unchanged: 1 });
  });

  it('leaves what the user edited, and updates the rest', async () => {
    const modelId = sql.prepare(`SELECT Id FROM Models WHERE CivitaiId = 7001`).pluck().get() as number;
    const versionId = sql.prepare(`SELECT Id FROM ModelVersions WHERE CivitaiId = 8101`).pluck().get() as number;
    await updateModel(db, modelId, { name: 'My Lantern', isNsfw: false });
    await setModelTags(db, modelId, ['favourites']);
    await setTriggerWords(db, versionId, ['my trigger']);
    const payload = clone(ownFixture('model-drift.json')) as any;
    payload.description = '<p>New description from Civitai</p>';
    await importPayload(db, payload, 'sync after edits');
    const model = sql
      .prepare(`SELECT Name, IsNsfw, Description, UserEditedFields FROM Models WHERE Id = ?`)
      .get(modelId) as Record<string, unknown>;
    expect(model).toMatchObject({ Name: 'My Lantern', IsNsfw: 0, Description: '<p>New description from Civitai</p>' });
    expect(JSON.parse(model.UserEditedFields as string)).toEqual([
      'isNsfw',
      'name',
      'tags',
      `triggerWords:${versionId}`,
    ]);
    expect(
      sql
        .prepare(`SELECT t.Name FROM ModelTags mt JOIN Tags t ON t.Id = mt.TagId WHERE mt.ModelId = ?`)
        .pluck()
        .all(modelId),
    ).toEqual(['favourites']);
    expect(sql.prepare(`SELECT Word FROM TriggerWords WHERE ModelVersionId = ?`).pluck().all(versionId)).toEqual([
      'my trigger',
    ]);
  });
});

describe('transactions', () => {
  it('writes nothing of a model that fails half-way, and carries on with the next one', async () => {
    const writer = new Database(databasePath);
    writer.exec(
      `CREATE TRIGGER test_fail_image BEFORE INSERT ON ModelImages WHEN NEW.Url LIKE '%/explode.jpeg' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`,
    );
    try {
      const bad = clone(ownFixture('model-drift.json')) as any;
      bad.id = 7100;
      bad.modelVersions = [
        { ...bad.modelVersions[1], id: 8199, images: [{ url: 'https://image.example.invalid/explode.jpeg' }] },
      ];
      const good = clone(ownFixture('models-list.json')) as any;
      good.items = [
        bad,
        { ...good.items[0], id: 7101, modelVersions: [{ ...good.items[0].modelVersions[0], id: 8198 }] },
      ];
      const before = { models: count('Models'), versions: count('ModelVersions'), tags: count('ModelTags') };
      const summary = await importPayload(db, good, 'list with a failing model');
      expect(summary).toMatchObject({ created: 1, failed: 1 });
      expect(summary.failures[0]).toMatchObject({ civitaiId: 7100, message: expect.stringContaining('disk on fire') });
      expect(sql.prepare(`SELECT COUNT(*) FROM Models WHERE CivitaiId = 7100`).pluck().get()).toBe(0);
      expect(sql.prepare(`SELECT COUNT(*) FROM ModelVersions WHERE CivitaiId = 8199`).pluck().get()).toBe(0);
      expect(count('Models')).toBe(before.models + 1);
    } finally {
      writer.exec('DROP TRIGGER test_fail_image');
      writer.close();
    }
  });

  it('imports from several processes at once without unique-constraint failures or duplicates', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const files = Array.from({ length: 4 }, (_, p) => {
      const items = Array.from({ length: 15 }, (_, i) => ({
        id: 20_000 + p * 100 + i,
        name: `Shared ${p}-${i}`,
        type: 'LORA',
        nsfw: false,
        poi: false,
        creator: { username: i % 2 ? 'SharedCreator' : 'sharedcreator' },
        tags: ['Shared Tag', `tag-${i % 3}`, 'ANOTHER'],
        modelVersions: [
          {
            id: 30_000 + p * 100 + i,
            modelId: 20_000 + p * 100 + i,
            name: 'v1',
            baseModel: 'SD 1.5',
            trainedWords: ['w'],
            files: [],
            images: [],
          },
        ],
      }));
      const file = path.join(dir, `batch-${p}.json`);
      writeFileSync(file, JSON.stringify({ items, metadata: {} }));
      return file;
    });
    const run = (file: string) =>
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'import', file, '--data-dir', dataDir],
        { cwd: PROJECT_ROOT },
      );
    await run(files[0]!); // creates the database first
    const results = await Promise.all(files.slice(1).map(run));
    for (const result of results) expect(result.stdout).toMatch(/imported 15, updated 0, unchanged 0, failed 0/);
    const check = new Database(path.join(dataDir, 'Diffusion_Nexus-core.db'), { readonly: true });
    expect(check.prepare('SELECT COUNT(*) FROM Models').pluck().get()).toBe(60);
    expect(check.prepare('SELECT Username FROM Creators').pluck().all()).toHaveLength(1);
    expect(check.prepare('SELECT NormalizedName FROM Tags ORDER BY 1').pluck().all()).toEqual([
      'another',
      'shared tag',
      'tag-0',
      'tag-1',
      'tag-2',
    ]);
    expect(check.prepare('SELECT COUNT(*) FROM ModelTags').pluck().get()).toBe(180);
    check.close();
  });
});

describe('bad input', () => {
  it("rejects a payload that is not Civitai's and writes nothing", async () => {
    const before = dumpCatalog(sql);
    await expect(importPayload(db, { hello: 'world' }, 'junk')).rejects.toMatchObject({ code: 'NOT_CIVITAI_PAYLOAD' });
    await expect(importPayload(db, 'just a string', 'junk')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const wrongType = clone(ownFixture('model-drift.json')) as any;
    wrongType.modelVersions[0].files[0].sizeKB = '18 MB';
    const summary = await importPayload(db, wrongType, 'wrong type');
    expect(summary.failures[0]).toMatchObject({ civitaiId: 7001, path: '$.modelVersions[0].files[0].sizeKB' });
    expect(dumpCatalog(sql)).toEqual(before);
  });

  it('imports an images page into the version it names, and refuses one without a version', async () => {
    await expect(importPayload(db, ownFixture('images-page.json'), 'images')).resolves.toMatchObject({ failed: 1 });
    const summary = await importPayload(db, ownFixture('images-page.json'), 'images', { imagesVersionCivitaiId: 8301 });
    expect(summary.imageBatches).toEqual([
      expect.objectContaining({ versionCivitaiId: 8301, images: 1, status: 'updated' }),
    ]);
    expect(
      sql.prepare(`SELECT NsfwLevel, Seed, DenoisingStrength, PostId FROM ModelImages WHERE CivitaiId = 6301`).get(),
    ).toEqual({ NsfwLevel: 'Mature', Seed: 123456789, DenoisingStrength: 0.3, PostId: 4242 });
    const again = await importPayload(db, ownFixture('images-page.json'), 'images', { imagesVersionCivitaiId: 8301 });
    expect(again.imageBatches[0]!.status).toBe('unchanged');
  });
});
