/**
 * Import throughput: Civitai `/api/v1/models` pages into an empty catalog through the product's import (the same
 * path as the CLI and the GraphQL mutation: mapping, per-model transactional upserts, search index), against the
 * baseline of the same mapping followed by plain INSERTs of the same rows (no look-ups, no upserts).
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { payloadTotals } from '../src/db/tables/metadata-history.ts';
import { openCatalogDatabase } from '../src/db/catalog-database.ts';
import { migrateDatabase } from '../src/db/migrations.ts';
import { CORE_DATABASE_TABLES } from '../src/db/schema.ts';
import { NEW_FILE_DEFAULTS } from '../src/db/tables/model-files.ts';
import { importPayload } from '../src/civitai/batch-import.ts';
import { JsonReader } from '../src/civitai/json-reader.ts';
import { mapModelPayload, type MappedModel } from '../src/civitai/mapping.ts';
import { civitaiModelsPage } from '../src/seed/civitai-payloads.ts';

export interface ImportBenchResult {
  models: number;
  /** From each side's median round. */
  oursModelsPerSecond: number;
  baselineModelsPerSecond: number;
  /** Timed rounds (each side imports `models` once a round). */
  rounds: number;
  /** Median of the rounds' ratios (baseline seconds / ours). */
  ratio: number;
  ratioRange: [number, number];
  /** The payload archive our import kept (the baseline keeps none): JSON and stored (gzip) bytes per model. */
  archive: { jsonBytesPerModel: number; storedBytesPerModel: number };
}

const PAGE_SIZE = 100;

function counts(databasePath: string): Record<string, number> {
  const db = new Database(databasePath, { readonly: true });
  try {
    return Object.fromEntries(
      CORE_DATABASE_TABLES.map((t) => [t, Number(db.prepare(`SELECT COUNT(*) FROM "${t}"`).pluck().get())]),
    );
  } finally {
    db.close();
  }
}

const iso = (date: Date | null | undefined) => date?.toISOString() ?? null;
const flag = (value: boolean | undefined) => (value ? 1 : 0);

/** The baseline writer: the mapped rows, inserted as they are, one transaction per model. */
function createPlainWriter(db: Database.Database) {
  const creatorId = db.prepare(`SELECT "Id" FROM "Creators" WHERE "Username" = ?`).pluck();
  const insertCreator = db.prepare(`INSERT INTO "Creators" ("Username", "AvatarUrl", "CreatedAt") VALUES (?, ?, ?)`);
  const tagId = db.prepare(`SELECT "Id" FROM "Tags" WHERE "NormalizedName" = ?`).pluck();
  const insertTag = db.prepare(`INSERT INTO "Tags" ("Name", "NormalizedName") VALUES (?, ?)`);
  const insertModel =
    db.prepare(`INSERT INTO "Models" ("CivitaiId", "Name", "Description", "Type", "IsNsfw", "IsPoi", "Mode", "Source", "CreatedAt",
    "UpdatedAt", "LastSyncedAt", "AllowNoCredit", "AllowCommercialUse", "AllowDerivatives", "AllowDifferentLicense", "CreatorId")
    VALUES (?, ?, ?, ?, ?, ?, ?, 'CivitaiApi', ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertModelTag = db.prepare(`INSERT INTO "ModelTags" ("ModelId", "TagId") VALUES (?, ?)`);
  const insertVersion =
    db.prepare(`INSERT INTO "ModelVersions" ("CivitaiId", "ModelId", "Name", "Description", "BaseModel", "BaseModelRaw",
    "CreatedAt", "UpdatedAt", "PublishedAt", "DownloadUrl", "EarlyAccessDays", "DownloadCount", "RatingCount", "Rating", "ThumbsUpCount",
    "ThumbsDownCount") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertWord = db.prepare(`INSERT INTO "TriggerWords" ("ModelVersionId", "Word", "Order") VALUES (?, ?, ?)`);
  const insertFile =
    db.prepare(`INSERT INTO "ModelFiles" ("CivitaiId", "ModelVersionId", "FileName", "SizeKB", "FileType", "IsPrimary", "Format",
    "Precision", "SizeType", "DownloadUrl", "PickleScanResult", "PickleScanMessage", "VirusScanResult", "ScannedAt", "HashAutoV1", "HashAutoV2",
    "HashSHA256", "HashCRC32", "HashBLAKE3", "HashAutoV3", "IsLocalFileValid") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`);
  const insertImage =
    db.prepare(`INSERT INTO "ModelImages" ("CivitaiId", "ModelVersionId", "Url", "IsNsfw", "NsfwLevel", "Width", "Height",
    "BlurHash", "SortOrder", "CreatedAt", "PostId", "Username", "IsLocalCacheValid", "Prompt", "NegativePrompt", "Seed", "Steps", "Sampler",
    "CfgScale", "GenerationModel", "DenoisingStrength", "LikeCount", "HeartCount", "CommentCount")
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const now = new Date().toISOString();

  return db.transaction((model: MappedModel) => {
    let creator: number | null = null;
    if (model.creator) {
      creator =
        (creatorId.get(model.creator.username) as number | undefined) ??
        Number(insertCreator.run(model.creator.username, model.creator.avatarUrl, now).lastInsertRowid);
    }
    const modelId = Number(
      insertModel.run(
        model.civitaiId,
        model.name ?? '',
        model.description ?? null,
        model.type ?? 'Other',
        flag(model.isNsfw),
        flag(model.isPoi),
        model.mode ?? 'Available',
        now,
        now,
        now,
        flag(model.allowNoCredit),
        model.allowCommercialUse ?? 'None',
        flag(model.allowDerivatives),
        flag(model.allowDifferentLicense),
        creator,
      ).lastInsertRowid,
    );
    for (const name of new Set(model.tags ?? [])) {
      const normalized = name.trim().toLowerCase();
      const tag =
        (tagId.get(normalized) as number | undefined) ?? Number(insertTag.run(name, normalized).lastInsertRowid);
      insertModelTag.run(modelId, tag);
    }
    for (const version of model.versions) {
      const versionId = Number(
        insertVersion.run(
          version.civitaiId,
          modelId,
          version.name,
          version.description ?? null,
          version.baseModel ?? 'Other',
          version.baseModelRaw ?? null,
          iso(version.createdAt) ?? now,
          iso(version.updatedAt),
          iso(version.publishedAt),
          version.downloadUrl ?? null,
          version.earlyAccessDays ?? 0,
          version.downloadCount ?? 0,
          version.ratingCount ?? 0,
          version.rating ?? 0,
          version.thumbsUpCount ?? 0,
          version.thumbsDownCount ?? 0,
        ).lastInsertRowid,
      );
      for (const [order, word] of (version.trainedWords ?? []).entries()) insertWord.run(versionId, word, order);
      for (const file of version.files) {
        insertFile.run(
          file.civitaiId,
          versionId,
          file.fileName,
          file.sizeKB ?? NEW_FILE_DEFAULTS.SizeKB,
          file.fileType ?? NEW_FILE_DEFAULTS.FileType,
          flag(file.isPrimary),
          file.format ?? NEW_FILE_DEFAULTS.Format,
          file.precision ?? NEW_FILE_DEFAULTS.Precision,
          file.sizeType ?? NEW_FILE_DEFAULTS.SizeType,
          file.downloadUrl ?? null,
          file.pickleScanResult ?? NEW_FILE_DEFAULTS.PickleScanResult,
          file.pickleScanMessage ?? null,
          file.virusScanResult ?? NEW_FILE_DEFAULTS.VirusScanResult,
          iso(file.scannedAt),
          file.hashes.autoV1,
          file.hashes.autoV2,
          file.hashes.sha256,
          file.hashes.crc32,
          file.hashes.blake3,
          file.hashes.autoV3,
        );
      }
      for (const image of version.images) {
        insertImage.run(
          image.civitaiId,
          versionId,
          image.url,
          flag(image.isNsfw),
          image.nsfwLevel,
          image.width,
          image.height,
          image.blurHash,
          image.sortOrder,
          iso(image.createdAt),
          image.postId,
          image.username,
          image.prompt,
          image.negativePrompt,
          image.seed,
          image.steps,
          image.sampler,
          image.cfgScale,
          image.generationModel,
          image.denoisingStrength,
          image.likeCount,
          image.heartCount,
          image.commentCount,
        );
      }
    }
  });
}

/** One timed import of `pages` into a copy of `template`, by the product (ours) or by the plain writer. */
async function importOnce(
  side: 'ours' | 'baseline',
  template: string,
  target: string,
  pages: readonly unknown[],
): Promise<{ seconds: number; created: number }> {
  copyFileSync(template, target);
  if (side === 'ours') {
    const db = await openCatalogDatabase(target);
    try {
      const start = performance.now();
      let created = 0;
      for (const page of pages) {
        const summary = await importPayload(db, structuredClone(page), 'bench');
        if (summary.failures.length > 0) throw new Error(`import failed: ${JSON.stringify(summary.failures[0])}`);
        created += summary.created;
      }
      return { seconds: (performance.now() - start) / 1000, created };
    } finally {
      await db.close();
    }
  }
  const raw = new Database(target);
  try {
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
    const write = createPlainWriter(raw);
    const start = performance.now();
    let created = 0;
    for (const page of pages) {
      for (const item of (structuredClone(page) as { items: unknown[] }).items) {
        write(mapModelPayload(new JsonReader(item)));
        created++;
      }
    }
    return { seconds: (performance.now() - start) / 1000, created };
  } finally {
    raw.close();
  }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * Both sides import the same pages `rounds` times into fresh copies of one empty catalog, after an untimed warm-up
 * of one page each; the order alternates round by round (the first of a pair ran on a cooler cache and a colder
 * WAL). The ratio is the median of the rounds' ratios: one round of 1,000 models varied 0.48–0.71 on an idle machine.
 */
export async function runImportBench(
  cacheDir: string,
  models: number,
  rounds: number,
  log: (line: string) => void,
): Promise<ImportBenchResult> {
  const dir = path.join(cacheDir, 'tmp-import');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const template = path.join(dir, 'template.db');
  await migrateDatabase(template, { log: () => {} });
  const oursPath = path.join(dir, 'ours.db');
  const baselinePath = path.join(dir, 'baseline.db');
  const pages = Array.from({ length: Math.ceil(models / PAGE_SIZE) }, (_, p) =>
    civitaiModelsPage(p * PAGE_SIZE, Math.min(PAGE_SIZE, models - p * PAGE_SIZE)),
  );

  try {
    const warmUp = [civitaiModelsPage(models, Math.min(PAGE_SIZE, models))];
    await importOnce('ours', template, oursPath, warmUp);
    await importOnce('baseline', template, baselinePath, warmUp);
    const perRound: { ours: number; baseline: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['ours', 'baseline'] as const) : (['baseline', 'ours'] as const);
      const seconds = { ours: 0, baseline: 0 };
      for (const side of order) {
        const run = await importOnce(side, template, side === 'ours' ? oursPath : baselinePath, pages);
        if (run.created !== models) throw new Error(`${side} import created ${run.created} of ${models} models`);
        seconds[side] = run.seconds;
      }
      perRound.push(seconds);
    }

    const oursCounts = counts(oursPath);
    const baselineCounts = counts(baselinePath);
    if (JSON.stringify(oursCounts) !== JSON.stringify(baselineCounts)) {
      throw new Error(
        `import wrote different rows: ours ${JSON.stringify(oursCounts)}, baseline ${JSON.stringify(baselineCounts)}`,
      );
    }
    const db = await openCatalogDatabase(oursPath);
    const totals = await payloadTotals(db.kysely);
    await db.close();
    const ratios = perRound.map((r) => r.baseline / r.ours);
    const result: ImportBenchResult = {
      models,
      rounds,
      oursModelsPerSecond: models / median(perRound.map((r) => r.ours)),
      baselineModelsPerSecond: models / median(perRound.map((r) => r.baseline)),
      ratio: median(ratios),
      ratioRange: [Math.min(...ratios), Math.max(...ratios)],
      archive: {
        jsonBytesPerModel: totals.jsonBytes / Math.max(1, totals.models),
        storedBytesPerModel: totals.storedBytes / Math.max(1, totals.models),
      },
    };
    log(
      `  import     ours ${result.oursModelsPerSecond.toFixed(0)} models/s | baseline ${result.baselineModelsPerSecond.toFixed(0)} models/s | ratio ${result.ratio.toFixed(2)} (median of ${rounds}: ${ratios.map((r) => r.toFixed(2)).join(' ')}) | archive ${(result.archive.storedBytesPerModel / 1024).toFixed(1)} KiB/model (JSON ${(result.archive.jsonBytesPerModel / 1024).toFixed(1)} KiB)`,
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
