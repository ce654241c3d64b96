/**
 * Scanning a generated library on disk into a real catalog: files matched by hash (also twice-downloaded copies),
 * sidecars of four tools imported, previews turned into WebP thumbnails, unknown files catalogued from their
 * headers and folders; then a re-scan that reads nothing, and moves and deletions noticed.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import { duplicateGroups } from '../src/library/duplicates.ts';
import { MAX_HEADER_TRIGGER_WORDS } from '../src/library/safetensors-facts.ts';
import { scanLibrary, type ScanProgress } from '../src/library/scan.ts';
import type { CatalogDatabase } from '../src/db/catalog-database.ts';
import { emptyCatalog } from './helpers/catalog.ts';
import { type CatalogHandle, sql } from './helpers/catalog-handle.ts';
import {
  civitaiPayloadFor,
  previewPng,
  randomBytes,
  safetensorsBytes,
  sha256Hex,
  writeFile,
} from './helpers/library.ts';
import { tempDir } from './helpers/temp.ts';

let db: CatalogDatabase;
/** The catalog's database, read directly. */
let rows: CatalogHandle;
let root: string;
const scan = (extra: Partial<Parameters<typeof scanLibrary>[1]> = {}) =>
  scanLibrary(db, { roots: [root], libraryRoots: [root], ...extra });

const KNOWN = 120;
const UNKNOWN = 120;
const knownBytes = (i: number) =>
  safetensorsBytes({ ss_output_name: `known ${i}` }, randomBytes(2048 + i * 16, 1000 + i));
const unknownBytes = (i: number) =>
  safetensorsBytes(
    {
      ss_output_name: `Unknown Style ${i}`,
      ss_base_model_version: i % 2 ? 'sdxl_base_v1-0' : 'sd_v1',
      ss_network_module: 'networks.lora',
      ss_num_train_images: '20',
      ss_tag_frequency: JSON.stringify({ set: { [`unk${i}style`]: 20, background: 4 } }),
    },
    randomBytes(1024 + i, 5000 + i),
  );

beforeAll(async () => {
  ({ db, handle: rows } = await emptyCatalog());
  root = path.join(tempDir('dn-lib-'), 'library');
  // Known files: the catalog has their Civitai data (two files per version).
  const described = Array.from({ length: KNOWN }, (_, i) => ({
    versionId: 60_000 + Math.floor(i / 2),
    fileId: 70_000 + i,
    fileName: `known_${i}.safetensors`,
    bytes: knownBytes(i),
  }));
  for (let m = 0; m < KNOWN / 4; m++) {
    await importPayload(
      db,
      civitaiPayloadFor(50_000 + m, `Known model ${m}`, described.slice(m * 4, m * 4 + 4)),
      'setup',
    );
  }
  for (const [i, file] of described.entries())
    writeFile(path.join(root, 'models', 'loras', `set${i % 5}`, file.fileName), file.bytes);
  // The same file downloaded twice.
  writeFile(path.join(root, 'downloads', 'known_0 (1).safetensors'), described[0]!.bytes);
  // Unknown files, some pickles in an embeddings folder, with previews and A1111 metadata for some.
  for (let i = 0; i < UNKNOWN; i++) {
    const folder = i % 3 === 0 ? path.join(root, 'models', 'embeddings') : path.join(root, 'models', 'Lora', 'mine');
    const name = i % 3 === 0 ? `emb_${i}.pt` : `unknown_${i}.safetensors`;
    writeFile(path.join(folder, name), i % 3 === 0 ? randomBytes(700 + i, 9000 + i) : unknownBytes(i));
    if (i % 10 === 1)
      writeFile(path.join(folder, `${name.replace(/\.\w+$/, '')}.preview.png`), await previewPng(640, 960, i));
    if (i % 10 === 2)
      writeFile(
        path.join(folder, `${name.replace(/\.\w+$/, '')}.json`),
        JSON.stringify({ description: `notes ${i}`, 'activation text': `act${i}, second`, 'sd version': 'SDXL' }),
      );
  }
  // Sidecars of three other tools, describing files the catalog has never seen.
  const sidecarBytes = (n: number) => safetensorsBytes({}, randomBytes(1500 + n, 20_000 + n));
  const info = sidecarBytes(1);
  writeFile(path.join(root, 'models', 'loras', 'helper.safetensors'), info);
  writeFile(
    path.join(root, 'models', 'loras', 'helper.civitai.info'),
    JSON.stringify({
      id: 81_001,
      modelId: 80_001,
      name: 'v1',
      baseModel: 'Pony',
      trainedWords: ['helperword'],
      model: { name: 'From Civitai Helper', type: 'LORA' },
      files: [
        { id: 82_001, name: 'helper.safetensors', type: 'Model', primary: true, hashes: { SHA256: sha256Hex(info) } },
      ],
      images: [],
    }),
  );
  writeFile(path.join(root, 'models', 'loras', 'helper.preview.png'), await previewPng(800, 1200, 77));
  const cm = sidecarBytes(2);
  writeFile(path.join(root, 'models', 'loras', 'matrix.safetensors'), cm);
  writeFile(
    path.join(root, 'models', 'loras', 'matrix.cm-info.json'),
    JSON.stringify({
      ModelId: 80_002,
      ModelName: 'From Stability Matrix',
      ModelType: 'LORA',
      Nsfw: false,
      Tags: ['matrix'],
      VersionId: 81_002,
      VersionName: 'v2',
      BaseModel: 'SD 1.5',
      TrainedWords: ['matrixword'],
      Hashes: { SHA256: sha256Hex(cm), BLAKE3: null },
    }),
  );
  const lm = sidecarBytes(3);
  writeFile(path.join(root, 'models', 'loras', 'manager.safetensors'), lm);
  writeFile(
    path.join(root, 'models', 'loras', 'manager.metadata.json'),
    JSON.stringify({
      file_name: 'manager',
      model_name: 'From LoRA Manager',
      sha256: sha256Hex(lm).toLowerCase(),
      base_model: 'Illustrious',
      tags: ['manager'],
      civitai: {
        id: 81_003,
        modelId: 80_003,
        name: 'v3',
        baseModel: 'Illustrious',
        trainedWords: ['managerword'],
        model: { name: 'From LoRA Manager', type: 'LORA' },
        files: [{ id: 82_003, name: 'manager.safetensors', primary: true, hashes: { SHA256: sha256Hex(lm) } }],
        images: [],
      },
    }),
  );
  writeFile(path.join(root, 'models', 'loras', 'readme.txt'), 'not a model');
});

const count = (query: Parameters<CatalogHandle['value']>[0]) => rows.value<number>(query);

describe('first scan', () => {
  let result: ScanProgress;
  beforeAll(async () => {
    const updates: ScanProgress[] = [];
    result = await scan({ concurrency: 2, onProgress: (p) => updates.push(p) });
    expect(updates.at(-1)?.phase).toBe('done');
    expect(updates.some((u) => u.phase === 'hashing')).toBe(true);
  }, 120_000);

  it('hashes every model file once and links the known ones', async () => {
    const files = KNOWN + 1 + UNKNOWN + 3;
    expect(result).toMatchObject({
      filesSeen: files,
      filesHashed: files,
      filesUnchanged: 0,
      linked: KNOWN + 3,
      duplicates: 1,
      newModels: UNKNOWN,
      missing: 0,
    });
    expect(result.problems).toEqual([]);
    expect(await count(sql`SELECT COUNT(*) FROM "LocalFiles"`)).toBe(files);
    expect(
      await count(
        sql`SELECT COUNT(*) FROM "ModelFiles" WHERE "CivitaiId" BETWEEN 70000 AND 70999 AND "LocalPath" IS NOT NULL AND "IsLocalFileValid" = TRUE`,
      ),
    ).toBe(KNOWN + 1);
    const copies = await rows.column<string>(
      sql`SELECT "LocalPath" FROM "ModelFiles" WHERE "CivitaiId" = 70000 ORDER BY "Id"`,
    );
    expect(copies.map((p) => path.basename(p)).sort()).toEqual(['known_0 (1).safetensors', 'known_0.safetensors']);
  });

  it('imported the sidecars of other tools and linked their files', async () => {
    for (const [civitaiId, name, word] of [
      [80_001, 'From Civitai Helper', 'helperword'],
      [80_002, 'From Stability Matrix', 'matrixword'],
      [80_003, 'From LoRA Manager', 'managerword'],
    ] as const) {
      const model = (await rows.first<Record<string, string>>(
        sql`SELECT m."Name", m."Source", f."LocalPath", tw."Word" FROM "Models" m JOIN "ModelVersions" v ON v."ModelId" = m."Id"
        JOIN "ModelFiles" f ON f."ModelVersionId" = v."Id" LEFT JOIN "TriggerWords" tw ON tw."ModelVersionId" = v."Id"
        WHERE m."CivitaiId" = ${civitaiId}`,
      ))!;
      expect(model).toMatchObject({ Name: name, Source: 'CivitaiApi', Word: word });
      expect(model.LocalPath).toMatch(/\.safetensors$/);
    }
  });

  it('catalogued unknown files from their headers, folders and A1111 metadata', async () => {
    const lora = (await rows.first<Record<string, string>>(
      sql`SELECT m."Name", m."Type", m."Source", v."BaseModel", f."Format", f."HashAutoV3" FROM "Models" m
      JOIN "ModelVersions" v ON v."ModelId" = m."Id" JOIN "ModelFiles" f ON f."ModelVersionId" = v."Id"
      WHERE f."FileName" = 'unknown_1.safetensors'`,
    ))!;
    expect(lora).toMatchObject({
      Name: 'Unknown Style 1',
      Type: 'LORA',
      Source: 'LocalFile',
      BaseModel: 'SDXL10',
      Format: 'SafeTensor',
    });
    expect(lora.HashAutoV3).toMatch(/^[0-9A-F]{64}$/);
    const wordsOf = (fileName: string) =>
      rows.column(
        sql`SELECT tw."Word" FROM "TriggerWords" tw JOIN "ModelFiles" f ON f."ModelVersionId" = tw."ModelVersionId"
          WHERE f."FileName" = ${fileName} ORDER BY tw."Order"`,
      );
    expect(await wordsOf('unknown_1.safetensors')).toEqual(['unk1style', 'background']);
    const embedding = await rows.first(
      sql`SELECT m."Name", m."Type", f."Format", f."HashAutoV3" FROM "Models" m JOIN "ModelVersions" v ON v."ModelId" = m."Id"
        JOIN "ModelFiles" f ON f."ModelVersionId" = v."Id" WHERE f."FileName" = 'emb_3.pt'`,
    );
    expect(embedding).toEqual({ Name: 'emb_3', Type: 'TextualInversion', Format: 'PickleTensor', HashAutoV3: null });
    const a1111 = await rows.first(
      sql`SELECT m."Description", v."BaseModel" FROM "Models" m JOIN "ModelVersions" v ON v."ModelId" = m."Id"
        JOIN "ModelFiles" f ON f."ModelVersionId" = v."Id" WHERE f."FileName" = 'unknown_2.safetensors'`,
    );
    expect(a1111).toEqual({ Description: 'notes 2', BaseModel: 'SDXL10' });
    expect(await wordsOf('unknown_2.safetensors')).toEqual(['act2', 'second']);
  });

  it('turned previews into WebP thumbnails within the size budget', async () => {
    const thumbs = await rows.all<{
      ThumbnailData: Buffer;
      ThumbnailWidth: number;
      ThumbnailHeight: number;
      ThumbnailMimeType: string;
      BlurHash: string;
      LocalCachePath: string;
    }>(
      sql`SELECT "ThumbnailData", "ThumbnailWidth", "ThumbnailHeight", "ThumbnailMimeType", "BlurHash", "LocalCachePath"
        FROM "ModelImages" WHERE "ThumbnailData" IS NOT NULL`,
    );
    expect(thumbs).toHaveLength(UNKNOWN / 10 + 1);
    expect(result.thumbnails).toBe(thumbs.length);
    for (const thumb of thumbs) {
      const meta = await sharp(thumb.ThumbnailData).metadata();
      expect(meta.format).toBe('webp');
      expect(Math.max(meta.width!, meta.height!)).toBe(320);
      expect([thumb.ThumbnailWidth, thumb.ThumbnailHeight]).toEqual([meta.width, meta.height]);
      expect(thumb.ThumbnailMimeType).toBe('image/webp');
      expect(thumb.BlurHash).toMatch(/^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{20,}$/);
      expect(existsSync(thumb.LocalCachePath)).toBe(true);
    }
    const average = thumbs.reduce((n, t) => n + t.ThumbnailData.length, 0) / thumbs.length;
    expect(average).toBeLessThanOrEqual(25 * 1024);
  });
});

describe('re-scans', () => {
  it('reads no file content when nothing changed', async () => {
    // Same size and mtime, different bytes: a scan that read content would store new hashes. (The mtime is first
    // set to a whole second, which utimes can restore exactly.)
    const file = path.join(root, 'models', 'Lora', 'mine', 'unknown_4.safetensors');
    const when = new Date('2025-06-01T12:00:00Z');
    utimesSync(file, when, when);
    await scan();
    const { size } = statSync(file);
    const indexedHash = () => rows.value(sql`SELECT "HashSHA256" FROM "LocalFiles" WHERE "Path" = ${file}`);
    const before = await indexedHash();
    writeFileSync(file, randomBytes(size, 424242));
    utimesSync(file, when, when);
    const result = await scan();
    expect(result).toMatchObject({
      filesHashed: 0,
      bytesHashed: 0,
      filesUnchanged: result.filesSeen,
      newModels: 0,
      linked: 0,
      missing: 0,
      thumbnails: 0,
      sidecarsImported: 0,
    });
    expect(await indexedHash()).toBe(before);
  });

  it('links an unchanged file again by the hashes its index row holds, without reading it', async () => {
    const file = path.join(root, 'models', 'loras', 'set1', 'known_1.safetensors');
    const linkedRow = () =>
      rows.first(sql`SELECT "Id", "IsLocalFileValid" FROM "ModelFiles" WHERE "LocalPath" = ${file}`);
    const before = await linkedRow();
    expect(before).toMatchObject({ IsLocalFileValid: 1 });
    // Another program takes the link away: the file is unchanged, but its link is no longer settled.
    await rows.value(
      sql`UPDATE "ModelFiles" SET "LocalPath" = NULL, "IsLocalFileValid" = FALSE WHERE "LocalPath" = ${file}`,
    );
    const result = await scan();
    expect(result).toMatchObject({ filesHashed: 0, bytesHashed: 0, filesUnchanged: result.filesSeen, problems: [] });
    expect(await linkedRow()).toEqual(before);
  });

  it('notices moved and deleted files: a move re-links the same row, a deletion marks it invalid', async () => {
    const movedFrom = Array.from({ length: 10 }, (_, i) =>
      path.join(root, 'models', 'loras', `set${(i * 2) % 5}`, `known_${i * 2}.safetensors`),
    );
    const movedTo = movedFrom.map((from) => path.join(root, 'archive', path.basename(from)));
    mkdirSync(path.join(root, 'archive'), { recursive: true });
    const rowsBefore = await Promise.all(
      movedFrom.map((from) => rows.value(sql`SELECT "Id" FROM "ModelFiles" WHERE "LocalPath" = ${from}`)),
    );
    for (const [i, from] of movedFrom.entries()) renameSync(from, movedTo[i]!);
    const deleted = Array.from({ length: 10 }, (_, i) => path.join(root, 'models', 'embeddings', `emb_${i * 3}.pt`));
    for (const file of deleted) rmSync(file);
    const filesBefore = await count(sql`SELECT COUNT(*) FROM "ModelFiles"`);

    const result = await scan();
    // known_0 is still there twice: the one extra copy in the library, though this scan made no new copy row.
    expect(result).toMatchObject({ moved: 10, missing: 20, filesHashed: 10, newModels: 0, duplicates: 1 });
    expect(await count(sql`SELECT COUNT(*) FROM "ModelFiles"`)).toBe(filesBefore);
    for (const [i, to] of movedTo.entries()) {
      expect(
        await rows.value(sql`SELECT "Id" FROM "ModelFiles" WHERE "LocalPath" = ${to} AND "IsLocalFileValid" = TRUE`),
      ).toBe(rowsBefore[i]);
    }
    for (const file of deleted) {
      expect(
        await rows.first(
          sql`SELECT "IsLocalFileValid", "LocalFileVerifiedAt" IS NOT NULL AS checked FROM "ModelFiles" WHERE "LocalPath" = ${file}`,
        ),
      ).toEqual({ IsLocalFileValid: 0, checked: 1 });
      expect(await rows.value(sql`SELECT "MissingSince" IS NOT NULL FROM "LocalFiles" WHERE "Path" = ${file}`)).toBe(1);
    }
  });

  it('refreshes a local-only entry whose file changed, without creating another model', async () => {
    const file = path.join(root, 'models', 'Lora', 'mine', 'unknown_5.safetensors');
    writeFileSync(file, unknownBytes(555));
    const models = await count(sql`SELECT COUNT(*) FROM "Models"`);
    const result = await scan();
    expect(result).toMatchObject({ filesHashed: 1, newModels: 0 });
    expect(await count(sql`SELECT COUNT(*) FROM "Models"`)).toBe(models);
    expect(await rows.value(sql`SELECT "HashSHA256" FROM "ModelFiles" WHERE "LocalPath" = ${file}`)).toBe(
      sha256Hex(unknownBytes(555)),
    );
  });
});

describe('two copies of one LoRA, in a library of their own', () => {
  // kohya's tag counts per dataset folder, no `ss_num_train_images`: the most frequent tags, summed, are the words.
  const tagFrequency = {
    '10_neon': {
      'neon glow': 10,
      city: 4,
      night: 4,
      ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`rare${i + 1}`, 1])),
    },
    '5_extra': { city: 3, ' neon glow ': 5, bokeh: 4, broken: 'many', negative: -3 },
  };
  const neon = safetensorsBytes(
    { ss_network_module: 'networks.lora', ss_tag_frequency: JSON.stringify(tagFrequency) },
    randomBytes(1600, 4242),
  );
  let own: CatalogDatabase;
  let ownRows: CatalogHandle;
  let lib: string;
  let first: ScanProgress;
  const scanOwn = () => scanLibrary(own, { roots: [lib], libraryRoots: [lib] });

  beforeAll(async () => {
    ({ db: own, handle: ownRows } = await emptyCatalog());
    lib = path.join(tempDir('dn-lib-copies-'), 'library');
    writeFile(path.join(lib, 'loras', 'neon_test_lora.safetensors'), neon);
    writeFile(path.join(lib, 'loras', 'neon_test_lora_copy.safetensors'), neon);
    first = await scanOwn();
  });

  it("names each copy's row after its own file", async () => {
    expect(first.problems).toEqual([]);
    const files = await ownRows.all<{ LocalPath: string; FileName: string }>(
      sql`SELECT "LocalPath", "FileName" FROM "ModelFiles" ORDER BY "LocalPath"`,
    );
    expect(files.map((r) => path.basename(r.LocalPath))).toEqual([
      'neon_test_lora.safetensors',
      'neon_test_lora_copy.safetensors',
    ]);
    for (const row of files) expect(row.FileName).toBe(path.basename(row.LocalPath));
  });

  it('reports the extra copies in the library on every scan, as duplicateFiles lists them', async () => {
    const groups = await duplicateGroups(own, 100);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.files).toHaveLength(2);
    expect(first).toMatchObject({ newModels: 1, duplicates: 1, duplicateGroups: 1 });
    const again = await scanOwn();
    expect(again).toMatchObject({ filesUnchanged: 2, newModels: 0, duplicates: 1, duplicateGroups: 1 });
    expect(await duplicateGroups(own, 100)).toEqual(groups);
  });

  it('takes trigger words from the most frequent tags of ss_tag_frequency, summed over datasets', async () => {
    const words = await ownRows.column(
      sql`SELECT DISTINCT tw."Word", tw."Order" FROM "TriggerWords" tw ORDER BY tw."Order"`,
    );
    // Ties in order of the tag; only the first MAX_HEADER_TRIGGER_WORDS; counts that are not positive numbers ignored.
    expect(words).toEqual([
      'neon glow',
      'city',
      'bokeh',
      'night',
      'rare1',
      'rare2',
      'rare3',
      'rare4',
      'rare5',
      'rare6',
    ]);
    expect(words).toHaveLength(MAX_HEADER_TRIGGER_WORDS);
  });
});
