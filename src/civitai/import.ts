/**
 * Writes mapped Civitai data into the catalog: an upsert by CivitaiId at every level (model, version, file;
 * images by CivitaiId, else by URL), one IMMEDIATE transaction per model, so a failure writes nothing for that
 * model and concurrent importers (even in other processes) serialise instead of colliding on shared creators and
 * tags. Fields the user edited (Models.UserEditedFields) are left alone. Local-file and thumbnail columns are
 * never touched by an import.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { insertRow, updateChanged, type RowValues } from '../db/row-writer.ts';
import { toStoredTimestamp } from '../db/timestamps.ts';
import { AppError } from '../errors.ts';
import type { MappedFile, MappedImage, MappedModel, MappedVersion } from './mapping.ts';

export type ImportStatus = 'created' | 'updated' | 'unchanged';

export interface ModelImportOutcome {
  civitaiId: number;
  modelId: number;
  name: string;
  status: ImportStatus;
  warnings: string[];
}

type Row = Record<string, unknown>;

/** What `UserEditedFields` can protect, and the Models column each name stands for. */
export const PROTECTABLE_MODEL_FIELDS = {
  name: 'Name',
  description: 'Description',
  type: 'Type',
  isNsfw: 'IsNsfw',
  isPoi: 'IsPoi',
} as const;
export type ProtectableModelField = keyof typeof PROTECTABLE_MODEL_FIELDS;
export const TAGS_EDIT = 'tags';
export const triggerWordsEdit = (versionId: number) => `triggerWords:${versionId}`;

export function parseUserEdits(stored: unknown): Set<string> {
  if (typeof stored !== 'string' || stored === '') return new Set();
  try {
    const parsed = JSON.parse(stored) as unknown;
    return new Set(Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : []);
  } catch {
    return new Set();
  }
}

/** Drops keys whose value is undefined ("the payload does not say"). */
function defined(values: Record<string, RowValues[string] | undefined>): RowValues {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as RowValues;
}

function one(db: CatalogDatabase, sql: string, ...params: unknown[]): Row | undefined {
  return db
    .statement(sql)
    .safeIntegers(false)
    .get(...params) as Row | undefined;
}

function upsertCreator(
  db: CatalogDatabase,
  creator: NonNullable<MappedModel['creator']>,
  now: Date,
): { id: number; changed: boolean } {
  const existing = one(
    db,
    `SELECT "Id", "Username", "AvatarUrl" FROM "Creators" WHERE lower("Username") = lower(?) ORDER BY "Id" LIMIT 1`,
    creator.username,
  );
  if (existing) {
    const changed =
      creator.avatarUrl !== null &&
      updateChanged(db, 'Creators', existing.Id as number, existing, { AvatarUrl: creator.avatarUrl });
    return { id: existing.Id as number, changed };
  }
  return {
    id: insertRow(db, 'Creators', { Username: creator.username, AvatarUrl: creator.avatarUrl, CreatedAt: now }),
    changed: true,
  };
}

/** Tag ids for display names, creating missing tags (Name keeps the first spelling seen). */
function tagIds(db: CatalogDatabase, names: readonly string[]): number[] {
  return names.map((name) => {
    const normalized = name.trim().toLowerCase();
    db.statement(
      `INSERT INTO "Tags" ("Name", "NormalizedName") VALUES (?, ?) ON CONFLICT ("NormalizedName") DO NOTHING`,
    ).run(name.trim(), normalized);
    return one(db, `SELECT "Id" FROM "Tags" WHERE "NormalizedName" = ?`, normalized)!.Id as number;
  });
}

/** Makes the model's tags exactly `ids`; returns whether anything changed. */
export function replaceModelTags(db: CatalogDatabase, modelId: number, ids: readonly number[]): boolean {
  const current = new Set(
    db.statement(`SELECT "TagId" FROM "ModelTags" WHERE "ModelId" = ?`).pluck().all(modelId) as number[],
  );
  const wanted = new Set(ids);
  let changed = false;
  for (const id of current) {
    if (!wanted.has(id))
      changed =
        db.statement(`DELETE FROM "ModelTags" WHERE "ModelId" = ? AND "TagId" = ?`).run(modelId, id).changes > 0 ||
        changed;
  }
  for (const id of wanted) {
    if (!current.has(id))
      changed =
        db.statement(`INSERT INTO "ModelTags" ("ModelId", "TagId") VALUES (?, ?)`).run(modelId, id).changes > 0 ||
        changed;
  }
  return changed;
}

export function setModelTagNames(db: CatalogDatabase, modelId: number, names: readonly string[]): boolean {
  return replaceModelTags(db, modelId, tagIds(db, names));
}

/** Makes the version's trigger words exactly `words`, in order; returns whether anything changed. */
export function replaceTriggerWords(db: CatalogDatabase, versionId: number, words: readonly string[]): boolean {
  const current = db
    .statement(`SELECT "Word" FROM "TriggerWords" WHERE "ModelVersionId" = ? ORDER BY "Order", "Id"`)
    .pluck()
    .all(versionId) as string[];
  if (current.length === words.length && current.every((w, i) => w === words[i])) return false;
  db.statement(`DELETE FROM "TriggerWords" WHERE "ModelVersionId" = ?`).run(versionId);
  for (const [order, word] of words.entries())
    insertRow(db, 'TriggerWords', { ModelVersionId: versionId, Word: word, Order: order });
  return true;
}

function modelValues(mapped: MappedModel, edits: Set<string>): RowValues {
  const keep = (field: ProtectableModelField, value: RowValues[string] | undefined) =>
    edits.has(field) ? undefined : value;
  return defined({
    Source: 'CivitaiApi',
    Name: keep('name', mapped.name),
    Description: keep('description', mapped.description),
    Type: keep('type', mapped.type),
    IsNsfw: keep('isNsfw', mapped.isNsfw),
    IsPoi: keep('isPoi', mapped.isPoi),
    Mode: mapped.mode,
    AllowNoCredit: mapped.allowNoCredit,
    AllowCommercialUse: mapped.allowCommercialUse,
    AllowDerivatives: mapped.allowDerivatives,
    AllowDifferentLicense: mapped.allowDifferentLicense,
  });
}

/** Version columns; CreatedAt only when Civitai sent one (an existing row keeps its first-seen time otherwise). */
function versionValues(version: MappedVersion, modelId: number): RowValues {
  return defined({
    ModelId: modelId,
    Name: version.name,
    Description: version.description,
    BaseModel: version.baseModel,
    BaseModelRaw: version.baseModelRaw,
    CreatedAt: version.createdAt ?? version.publishedAt ?? undefined,
    UpdatedAt: version.updatedAt,
    PublishedAt: version.publishedAt,
    DownloadUrl: version.downloadUrl,
    EarlyAccessDays: version.earlyAccessDays,
    DownloadCount: version.downloadCount,
    RatingCount: version.ratingCount,
    Rating: version.rating,
    ThumbsUpCount: version.thumbsUpCount,
    ThumbsDownCount: version.thumbsDownCount,
  });
}

function fileValues(file: MappedFile): RowValues {
  return defined({
    CivitaiId: file.civitaiId,
    FileName: file.fileName,
    SizeKB: file.sizeKB,
    FileType: file.fileType,
    IsPrimary: file.isPrimary,
    Format: file.format,
    Precision: file.precision,
    SizeType: file.sizeType,
    DownloadUrl: file.downloadUrl,
    PickleScanResult: file.pickleScanResult,
    PickleScanMessage: file.pickleScanMessage,
    VirusScanResult: file.virusScanResult,
    ScannedAt: file.scannedAt,
    // A hash the payload lacks keeps what a local scan computed.
    HashAutoV1: file.hashes.autoV1 ?? undefined,
    HashAutoV2: file.hashes.autoV2 ?? undefined,
    HashAutoV3: file.hashes.autoV3 ?? undefined,
    HashSHA256: file.hashes.sha256 ?? undefined,
    HashCRC32: file.hashes.crc32 ?? undefined,
    HashBLAKE3: file.hashes.blake3 ?? undefined,
  });
}

function imageValues(image: MappedImage): RowValues {
  return {
    CivitaiId: image.civitaiId,
    Url: image.url,
    IsNsfw: image.isNsfw,
    NsfwLevel: image.nsfwLevel,
    Width: image.width,
    Height: image.height,
    BlurHash: image.blurHash,
    SortOrder: image.sortOrder,
    CreatedAt: image.createdAt,
    PostId: image.postId,
    Username: image.username,
    Prompt: image.prompt,
    NegativePrompt: image.negativePrompt,
    Seed: image.seed,
    Steps: image.steps,
    Sampler: image.sampler,
    CfgScale: image.cfgScale,
    GenerationModel: image.generationModel,
    DenoisingStrength: image.denoisingStrength,
    LikeCount: image.likeCount,
    HeartCount: image.heartCount,
    CommentCount: image.commentCount,
  };
}

/** The Civitai ids of the version and model a catalog row belongs to, for conflict messages. */
function ownerOf(db: CatalogDatabase, versionId: number): { version: unknown; model: unknown } {
  return one(
    db,
    `SELECT v."CivitaiId" AS "version", m."CivitaiId" AS "model" FROM "ModelVersions" v JOIN "Models" m ON m."Id" = v."ModelId"
    WHERE v."Id" = ?`,
    versionId,
  ) as { version: unknown; model: unknown };
}

function syncFiles(db: CatalogDatabase, versionId: number, files: readonly MappedFile[]): boolean {
  let changed = false;
  for (const file of files) {
    if (file.civitaiId !== null) {
      const elsewhere = one(
        db,
        `SELECT "ModelVersionId" AS "versionId" FROM "ModelFiles" WHERE "CivitaiId" = ? AND "ModelVersionId" <> ? LIMIT 1`,
        file.civitaiId,
        versionId,
      );
      if (elsewhere) {
        const owner = ownerOf(db, elsewhere.versionId as number);
        throw new AppError(
          'CONFLICT',
          `${file.path}.id: file ${file.civitaiId} belongs to version ${owner.version ?? '(local)'} of model ${owner.model ?? '(local)'} ` +
            'in the catalog; it is not copied to another version.',
          { path: `${file.path}.id` },
        );
      }
    }
    const values = fileValues(file);
    // The same file can be linked twice (downloaded to two places): every row of it gets Civitai's facts.
    const rows = (
      file.civitaiId !== null
        ? db
            .statement(`SELECT * FROM "ModelFiles" WHERE "ModelVersionId" = ? AND "CivitaiId" = ?`)
            .all(versionId, file.civitaiId)
        : db
            .statement(
              `SELECT * FROM "ModelFiles" WHERE "ModelVersionId" = ? AND "CivitaiId" IS NULL AND "FileName" = ?`,
            )
            .all(versionId, file.fileName)
    ) as Row[];
    if (rows.length === 0) {
      insertRow(db, 'ModelFiles', { ...values, ModelVersionId: versionId, IsLocalFileValid: false });
      changed = true;
    }
    for (const row of rows) changed = updateChanged(db, 'ModelFiles', row.Id as number, row, values) || changed;
  }
  return changed;
}

/** Upserts images into a version (by CivitaiId, else URL). `appendAfter` shifts new images' SortOrder past existing ones. */
function syncImages(db: CatalogDatabase, versionId: number, images: readonly MappedImage[], appendAfter = -1): boolean {
  let changed = false;
  const select = db
    .statement(
      `SELECT * FROM "ModelImages" WHERE "ModelVersionId" = ? AND (("CivitaiId" IS NOT NULL AND "CivitaiId" = ?) OR ("CivitaiId" IS NULL AND "Url" = ?)) ORDER BY "Id" LIMIT 1`,
    )
    .safeIntegers(true);
  for (const image of images) {
    const row = select.get(versionId, image.civitaiId, image.url) as Row | undefined;
    const values = imageValues(image);
    if (!row) {
      insertRow(db, 'ModelImages', {
        ...values,
        SortOrder: appendAfter + 1 + image.sortOrder,
        ModelVersionId: versionId,
        IsLocalCacheValid: false,
      });
      changed = true;
    } else {
      changed =
        updateChanged(
          db,
          'ModelImages',
          Number(row.Id),
          row,
          appendAfter >= 0 ? { ...values, SortOrder: Number(row.SortOrder) } : values,
        ) || changed;
    }
  }
  return changed;
}

function syncVersion(
  db: CatalogDatabase,
  modelId: number,
  version: MappedVersion,
  edits: Set<string>,
  now: Date,
): boolean {
  const row = one(db, `SELECT * FROM "ModelVersions" WHERE "CivitaiId" = ?`, version.civitaiId);
  if (row && row.ModelId !== modelId) {
    const owner = ownerOf(db, row.Id as number);
    throw new AppError(
      'CONFLICT',
      `${version.path}.id: version ${version.civitaiId} belongs to model ${owner.model ?? '(local)'} in the catalog; ` +
        'it is not moved to another model.',
      { path: `${version.path}.id` },
    );
  }
  const values = versionValues(version, modelId);
  let changed: boolean;
  let versionId: number;
  if (row) {
    versionId = row.Id as number;
    changed = updateChanged(db, 'ModelVersions', versionId, row, values);
  } else {
    versionId = insertRow(db, 'ModelVersions', { CreatedAt: now, ...values, CivitaiId: version.civitaiId });
    changed = true;
  }
  if (!edits.has(triggerWordsEdit(versionId)))
    changed = replaceTriggerWords(db, versionId, version.trainedWords) || changed;
  changed = syncFiles(db, versionId, version.files) || changed;
  changed = syncImages(db, versionId, version.images) || changed;
  return changed;
}

function importInTransaction(db: CatalogDatabase, mapped: MappedModel, now: Date): ModelImportOutcome {
  const existing = one(db, `SELECT * FROM "Models" WHERE "CivitaiId" = ?`, mapped.civitaiId);
  const edits = parseUserEdits(existing?.UserEditedFields);
  let changed = false;
  let creatorId: number | undefined;
  if (mapped.creator) {
    const creator = upsertCreator(db, mapped.creator, now);
    creatorId = creator.id;
    changed = creator.changed;
  }
  let modelId: number;
  let status: ImportStatus;
  const values = modelValues(mapped, edits);
  if (existing) {
    modelId = existing.Id as number;
    changed = updateChanged(db, 'Models', modelId, existing, defined({ ...values, CreatorId: creatorId })) || changed;
    status = 'updated';
  } else {
    const name = mapped.name ?? mapped.versions[0]?.name;
    if (!name)
      throw new AppError(
        'BAD_USER_INPUT',
        `Model ${mapped.civitaiId} has no name in this payload and is not in the catalog yet.`,
      );
    modelId = insertRow(db, 'Models', {
      Type: 'Other',
      IsNsfw: false,
      IsPoi: false,
      Mode: 'Available',
      AllowNoCredit: true,
      AllowCommercialUse: 'None',
      AllowDerivatives: true,
      AllowDifferentLicense: true,
      ...values,
      Name: name,
      CivitaiId: mapped.civitaiId,
      CreatedAt: now,
      UpdatedAt: now,
      LastSyncedAt: now,
      CreatorId: creatorId ?? null,
    });
    status = 'created';
  }
  if (mapped.tags !== undefined && !edits.has(TAGS_EDIT))
    changed = setModelTagNames(db, modelId, mapped.tags) || changed;
  for (const version of mapped.versions) changed = syncVersion(db, modelId, version, edits, now) || changed;
  if (status === 'updated') {
    if (changed)
      db.statement(`UPDATE "Models" SET "UpdatedAt" = ?, "LastSyncedAt" = ? WHERE "Id" = ?`).run(
        toStoredTimestamp(now),
        toStoredTimestamp(now),
        modelId,
      );
    else status = 'unchanged';
  }
  return {
    civitaiId: mapped.civitaiId,
    modelId,
    name: mapped.name ?? (existing?.Name as string | undefined) ?? '',
    status,
    warnings: mapped.warnings,
  };
}

/** Imports one model in one IMMEDIATE transaction: all of it, or (on any error) none of it. */
export function importMappedModel(
  db: CatalogDatabase,
  mapped: MappedModel,
  now: Date = new Date(),
): Promise<ModelImportOutcome> {
  return db.write(() => importInTransaction(db, mapped, now));
}

export interface ImagesImportOutcome {
  versionCivitaiId: number;
  versionId: number;
  status: ImportStatus;
  images: number;
}

/**
 * Imports a page of `GET /api/v1/images` into one version (those items do not say which version they show):
 * existing images are updated in place, new ones go after the version's current images.
 */
export function importImagesIntoVersion(
  db: CatalogDatabase,
  versionCivitaiId: number,
  images: readonly MappedImage[],
): Promise<ImagesImportOutcome> {
  return db.write((): ImagesImportOutcome => {
    const version = one(db, `SELECT "Id" FROM "ModelVersions" WHERE "CivitaiId" = ?`, versionCivitaiId);
    if (!version)
      throw new AppError(
        'NOT_FOUND',
        `No model version with Civitai id ${versionCivitaiId} in the catalog; import the version (or its model) first.`,
      );
    const versionId = version.Id as number;
    const last = one(
      db,
      `SELECT COALESCE(MAX("SortOrder"), -1) AS "last" FROM "ModelImages" WHERE "ModelVersionId" = ?`,
      versionId,
    )!.last as number;
    const changed = syncImages(db, versionId, images, last);
    return { versionCivitaiId, versionId, status: changed ? 'updated' : 'unchanged', images: images.length };
  });
}
