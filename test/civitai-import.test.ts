/**
 * Importing into a real catalog file: every level upserted by CivitaiId, re-import a true no-op, updates that
 * remove what disappeared (tags, trigger words) but never duplicate images, one transaction per model, user edits
 * surviving, and concurrent importers in separate processes sharing creators and tags.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import { setModelTags, setTriggerWords, updateModel } from '../src/catalog/edits.ts';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import type { CatalogDatabase } from '../src/db/catalog-database.ts';
import { emptyCatalog } from './helpers/catalog.ts';
import { type CatalogHandle, catalogHandle, sql } from './helpers/catalog-handle.ts';
import { ownFixture } from './helpers/fixtures.ts';
import { freshPostgresDatabase, TEST_ENGINE } from './helpers/postgres.ts';
import { tempDir } from './helpers/temp.ts';
import { CLI } from './helpers/cli.ts';

let db: CatalogDatabase;
/** The catalog's database, read directly (SQLite file or PostgreSQL database). */
let rows: CatalogHandle;

beforeAll(async () => {
  ({ db, handle: rows } = await emptyCatalog());
});

const count = (table: string) => rows.value<number>(sql.raw(`SELECT COUNT(*) FROM "${table}"`));
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

    const before = await rows.dump();
    for (const name of ['model-drift.json', 'version-payload.json', 'models-list.json']) {
      const again = await importPayload(db, ownFixture(name), name);
      expect(again.created + again.updated, name).toBe(0);
    }
    expect(await rows.dump()).toEqual(before);
  });

  it('stored the model with Source CivitaiApi, LastSyncedAt, and shared creators/tags case-insensitively', async () => {
    const model = (await rows.first(sql`SELECT * FROM "Models" WHERE "CivitaiId" = 7001`))!;
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
    expect(await rows.column(sql`SELECT "Username" FROM "Creators" ORDER BY "Id"`)).toEqual(['LanternMaker', 'cutter']);
    expect(
      await rows.column(sql`SELECT "CreatorId" FROM "Models" WHERE "CivitaiId" IN (7001, 7002) ORDER BY "CivitaiId"`),
    ).toEqual([model.CreatorId, model.CreatorId]);
    // "Style" and "style" are one tag whose Name keeps the first spelling seen.
    expect(await rows.all(sql`SELECT "Name", "NormalizedName" FROM "Tags" ORDER BY "Id"`)).toEqual([
      { Name: 'Lighting', NormalizedName: 'lighting' },
      { Name: 'Night Scenes', NormalizedName: 'night scenes' },
      { Name: 'style', NormalizedName: 'style' },
      { Name: 'paper', NormalizedName: 'paper' },
    ]);
  });

  it('stored files, hashes, images with meta, and trigger words exactly', async () => {
    const file = await rows.first(sql`SELECT * FROM "ModelFiles" WHERE "CivitaiId" = 9101`);
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
    // The seed past 2^53 as text: exact on both engines, whatever the driver makes of 64-bit integers.
    const image = await rows.first(
      sql`SELECT CAST("Seed" AS TEXT) AS "Seed", "Steps", "CfgScale", "DenoisingStrength", "NsfwLevel", "IsNsfw",
        "LikeCount", "SortOrder" FROM "ModelImages" WHERE "CivitaiId" = 6101`,
    );
    expect(image).toEqual({
      Seed: '9007199254740993',
      Steps: 30,
      CfgScale: 3.5,
      DenoisingStrength: 0.45,
      NsfwLevel: 'Mature',
      IsNsfw: 1,
      LikeCount: 12,
      SortOrder: 0,
    });
    expect(
      await rows.column(
        sql`SELECT "Word" FROM "TriggerWords" tw JOIN "ModelVersions" v ON v."Id" = tw."ModelVersionId" WHERE v."CivitaiId" = 8101 ORDER BY "Order"`,
      ),
    ).toEqual(['lanternglow', 'warm light']);
    expect(await rows.value(sql`SELECT "EarlyAccessDays" FROM "ModelVersions" WHERE "CivitaiId" = 8101`)).toBe(5);
  });
});

describe('an unchanged re-import', () => {
  // A catalog of its own: the images page here would change what the other tests' catalog holds.
  let own: CatalogDatabase;
  let ownRows: CatalogHandle;
  beforeAll(async () => {
    ({ db: own, handle: ownRows } = await emptyCatalog());
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
    const before = await ownRows.dump();
    // Changes whenever another connection commits a change: no row (not even rewritten as it was), no id spent.
    const markBefore = await ownRows.changeMark();
    await importAll();
    expect(await ownRows.dump()).toEqual(before);
    expect(await ownRows.changeMark()).toEqual(markBefore);
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
    const images = await count('ModelImages');
    const summary = await importPayload(db, payload, 'update');
    expect(summary).toMatchObject({ updated: 1, created: 0, failed: 0 });
    expect(await count('ModelImages')).toBe(images);
    expect(await rows.value(sql`SELECT "Name" FROM "Models" WHERE "CivitaiId" = 7001`)).toBe('Lantern Glow Style II');
    expect(
      await rows.column(
        sql`SELECT t."NormalizedName" FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId" JOIN "Models" m ON m."Id" = mt."ModelId" WHERE m."CivitaiId" = 7001`,
      ),
    ).toEqual(['lighting']);
    expect(
      await rows.column(
        sql`SELECT "Word" FROM "TriggerWords" tw JOIN "ModelVersions" v ON v."Id" = tw."ModelVersionId" WHERE v."CivitaiId" = 8101`,
      ),
    ).toEqual(['lanternglow2']);
    expect(await rows.value(sql`SELECT "Steps" FROM "ModelImages" WHERE "CivitaiId" = 6101`)).toBe(40);
    expect(
      await rows.value(
        sql`SELECT "Width" FROM "ModelImages" WHERE "Url" = 'https://image.example.invalid/lantern/2.mp4'`,
      ),
    ).toBe(640);
    // A hash the payload no longer carries keeps its stored value.
    expect(await rows.value(sql`SELECT "HashAutoV2" FROM "ModelFiles" WHERE "CivitaiId" = 9101`)).toBe('E5F6A7B8C9');
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
    const images = () =>
      rows.all(
        sql`SELECT i."CivitaiId", i."Url", i."Width", i."Height", i."SortOrder" FROM "ModelImages" i
           JOIN "ModelVersions" v ON v."Id" = i."ModelVersionId" WHERE v."CivitaiId" = 8901 ORDER BY i."Id"`,
      );
    const expected = [
      { CivitaiId: 6901, Url: byId.url, Width: 111, Height: byId.height, SortOrder: 3 },
      { CivitaiId: null, Url: byUrl.url, Width: byUrl.width, Height: 222, SortOrder: 4 },
      expect.objectContaining({ Url: version.images[2].url, SortOrder: 2 }),
    ];
    expect(await importPayload(db, payload, 'twice')).toMatchObject({ created: 1, failed: 0 });
    expect(await images()).toEqual(expected);

    // Into the existing version: still one row each, updated to the later listing.
    version.images[3].width = 333;
    expect(await importPayload(db, payload, 'twice again')).toMatchObject({ updated: 1, failed: 0 });
    expect(await images()).toEqual([{ ...expected[0], Width: 333 }, expected[1], expected[2]]);
    expect(await importPayload(db, payload, 'twice, unchanged')).toMatchObject({ unchanged: 1 });
  });

  it('leaves what the user edited, and updates the rest', async () => {
    const modelId = await rows.value<number>(sql`SELECT "Id" FROM "Models" WHERE "CivitaiId" = 7001`);
    const versionId = await rows.value<number>(sql`SELECT "Id" FROM "ModelVersions" WHERE "CivitaiId" = 8101`);
    await updateModel(db, modelId, { name: 'My Lantern', isNsfw: false });
    await setModelTags(db, modelId, ['favourites']);
    await setTriggerWords(db, versionId, ['my trigger']);
    const payload = clone(ownFixture('model-drift.json')) as any;
    payload.description = '<p>New description from Civitai</p>';
    await importPayload(db, payload, 'sync after edits');
    const model = (await rows.first(
      sql`SELECT "Name", "IsNsfw", "Description", "UserEditedFields" FROM "Models" WHERE "Id" = ${modelId}`,
    ))!;
    expect(model).toMatchObject({ Name: 'My Lantern', IsNsfw: 0, Description: '<p>New description from Civitai</p>' });
    expect(JSON.parse(model.UserEditedFields as string)).toEqual([
      'isNsfw',
      'name',
      'tags',
      `triggerWords:${versionId}`,
    ]);
    expect(
      await rows.column(
        sql`SELECT t."Name" FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId" WHERE mt."ModelId" = ${modelId}`,
      ),
    ).toEqual(['favourites']);
    expect(await rows.column(sql`SELECT "Word" FROM "TriggerWords" WHERE "ModelVersionId" = ${versionId}`)).toEqual([
      'my trigger',
    ]);
  });
});

describe('transactions', () => {
  it('writes nothing of a model that fails half-way, and carries on with the next one', async () => {
    // A statement that fails inside the import's transaction: a trigger refusing one image, in each engine's SQL.
    if (rows.engine === 'postgres') {
      await rows.all(
        sql`CREATE FUNCTION test_fail_image() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          IF NEW."Url" LIKE '%/explode.jpeg' THEN RAISE EXCEPTION 'disk on fire'; END IF; RETURN NEW; END $$`,
      );
      await rows.all(
        sql`CREATE TRIGGER test_fail_image BEFORE INSERT ON "ModelImages" FOR EACH ROW EXECUTE FUNCTION test_fail_image()`,
      );
    } else {
      await rows.all(
        sql`CREATE TRIGGER test_fail_image BEFORE INSERT ON ModelImages WHEN NEW.Url LIKE '%/explode.jpeg' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`,
      );
    }
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
      const before = { models: await count('Models') };
      const summary = await importPayload(db, good, 'list with a failing model');
      expect(summary).toMatchObject({ created: 1, failed: 1 });
      expect(summary.failures[0]).toMatchObject({ civitaiId: 7100, message: expect.stringContaining('disk on fire') });
      expect(await rows.value(sql`SELECT COUNT(*) FROM "Models" WHERE "CivitaiId" = 7100`)).toBe(0);
      expect(await rows.value(sql`SELECT COUNT(*) FROM "ModelVersions" WHERE "CivitaiId" = 8199`)).toBe(0);
      expect(await count('Models')).toBe(before.models + 1);
    } finally {
      await rows.all(
        rows.engine === 'postgres'
          ? sql`DROP TRIGGER test_fail_image ON "ModelImages"`
          : sql`DROP TRIGGER test_fail_image`,
      );
    }
  });

  it('imports from several processes at once without unique-constraint failures or duplicates', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    // The CLI's own catalog: the data directory's SQLite file, or a fresh PostgreSQL database (empty: the first
    // import migrates it).
    const postgres = TEST_ENGINE === 'postgres' ? await freshPostgresDatabase() : undefined;
    const target = postgres ? ['--database-url', postgres.url] : [];
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
      promisify(execFile)(process.execPath, [...CLI, 'import', file, '--data-dir', dataDir, ...target], {
        cwd: PROJECT_ROOT,
      });
    await run(files[0]!); // creates the database first
    const results = await Promise.all(files.slice(1).map(run));
    for (const result of results) expect(result.stdout).toMatch(/imported 15, updated 0, unchanged 0, failed 0/);
    const check = catalogHandle({ databasePath: path.join(dataDir, 'Diffusion_Nexus-core.db'), database: postgres });
    expect(await check.value(sql`SELECT COUNT(*) FROM "Models"`)).toBe(60);
    expect(await check.column(sql`SELECT "Username" FROM "Creators"`)).toHaveLength(1);
    expect(await check.column(sql`SELECT "NormalizedName" FROM "Tags" ORDER BY 1`)).toEqual([
      'another',
      'shared tag',
      'tag-0',
      'tag-1',
      'tag-2',
    ]);
    expect(await check.value(sql`SELECT COUNT(*) FROM "ModelTags"`)).toBe(180);
    await check.close();
  });
});

describe('bad input', () => {
  it("rejects a payload that is not Civitai's and writes nothing", async () => {
    const before = await rows.dump();
    await expect(importPayload(db, { hello: 'world' }, 'junk')).rejects.toMatchObject({ code: 'NOT_CIVITAI_PAYLOAD' });
    await expect(importPayload(db, 'just a string', 'junk')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const wrongType = clone(ownFixture('model-drift.json')) as any;
    wrongType.modelVersions[0].files[0].sizeKB = '18 MB';
    const summary = await importPayload(db, wrongType, 'wrong type');
    expect(summary.failures[0]).toMatchObject({ civitaiId: 7001, path: '$.modelVersions[0].files[0].sizeKB' });
    expect(await rows.dump()).toEqual(before);
  });

  it('imports an images page into the version it names, and refuses one without a version', async () => {
    await expect(importPayload(db, ownFixture('images-page.json'), 'images')).resolves.toMatchObject({ failed: 1 });
    const summary = await importPayload(db, ownFixture('images-page.json'), 'images', { imagesVersionCivitaiId: 8301 });
    expect(summary.imageBatches).toEqual([
      expect.objectContaining({ versionCivitaiId: 8301, images: 1, status: 'updated' }),
    ]);
    expect(
      await rows.first(
        sql`SELECT "NsfwLevel", "Seed", "DenoisingStrength", "PostId" FROM "ModelImages" WHERE "CivitaiId" = 6301`,
      ),
    ).toEqual({ NsfwLevel: 'Mature', Seed: 123456789, DenoisingStrength: 0.3, PostId: 4242 });
    const again = await importPayload(db, ownFixture('images-page.json'), 'images', { imagesVersionCivitaiId: 8301 });
    expect(again.imageBatches[0]!.status).toBe('unchanged');
  });
});
