/**
 * Writes mapped Civitai data into the catalog: an upsert by CivitaiId at every level (model, version, file;
 * images by CivitaiId, else by URL), one IMMEDIATE transaction per model, so a failure writes nothing for that
 * model and concurrent importers (even in other processes) serialise instead of colliding on shared creators and
 * tags. Fields the user edited (Models.UserEditedFields) are left alone. Local-file and thumbnail columns are
 * never touched by an import.
 */
import type { CatalogDatabase, CatalogTransaction } from '../db/catalog-database.ts';
import type { SqlDialect } from '../db/dialect.ts';
import { insertRow, insertRows, type Row, type RowValues, updateChanged } from '../db/row-writer.ts';
import { creatorByUsername } from '../db/tables/creators.ts';
import { filesOfVersion, versionsHoldingFiles } from '../db/tables/model-files.ts';
import { imageKey, imagesOfVersionByKey, lastSortOrder } from '../db/tables/model-images.ts';
import { civitaiIdsOfVersion, versionByCivitaiId } from '../db/tables/model-versions.ts';
import {
  modelByCivitaiId,
  NEW_MODEL_DEFAULTS,
  parseUserEdits,
  type ProtectableModelField,
  TAGS_EDIT,
  touchModel,
  triggerWordsEdit,
} from '../db/tables/models.ts';
import { setModelTagNames } from '../db/tables/tags.ts';
import { insertTriggerWords, replaceTriggerWords } from '../db/tables/trigger-words.ts';
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

/** Drops keys whose value is undefined ("the payload does not say"). */
function defined(values: Record<string, RowValues[string] | undefined>): RowValues {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as RowValues;
}

async function upsertCreator(
  trx: CatalogTransaction,
  creator: NonNullable<MappedModel['creator']>,
  now: Date,
): Promise<{ id: number; changed: boolean }> {
  const existing = await creatorByUsername(trx, creator.username);
  if (existing) {
    const changed =
      creator.avatarUrl !== null &&
      (await updateChanged(trx, 'Creators', existing.Id as number, existing, { AvatarUrl: creator.avatarUrl }));
    return { id: existing.Id as number, changed };
  }
  return {
    id: await insertRow(trx, 'Creators', { Username: creator.username, AvatarUrl: creator.avatarUrl, CreatedAt: now }),
    changed: true,
  };
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

function conflict(path: string, message: string): AppError {
  return new AppError('CONFLICT', `${path}: ${message}`, { path });
}

/** Upserts a version's files; `fresh`: the version was created by this import (no rows to look up). */
async function syncFiles(
  trx: CatalogTransaction,
  dialect: SqlDialect,
  versionId: number,
  files: readonly MappedFile[],
  fresh: boolean,
): Promise<boolean> {
  const ids = files.flatMap((file) => (file.civitaiId === null ? [] : [file.civitaiId]));
  const holders = await versionsHoldingFiles(trx, dialect, ids, versionId);
  for (const file of files) {
    const elsewhere = file.civitaiId === null ? undefined : holders.get(file.civitaiId);
    if (elsewhere !== undefined) {
      const owner = await civitaiIdsOfVersion(trx, elsewhere);
      throw conflict(
        `${file.path}.id`,
        `file ${file.civitaiId} belongs to version ${owner.version ?? '(local)'} of model ${owner.model ?? '(local)'} ` +
          'in the catalog; it is not copied to another version.',
      );
    }
  }
  let changed = false;
  for (const file of files) {
    const values = fileValues(file);
    // The same file can be linked twice (downloaded to two places): every row of it gets Civitai's facts.
    const rows = fresh ? [] : await filesOfVersion(trx, versionId, file);
    if (rows.length === 0) {
      await insertRow(trx, 'ModelFiles', { ...values, ModelVersionId: versionId, IsLocalFileValid: false });
      changed = true;
    }
    for (const row of rows)
      changed = (await updateChanged(trx, 'ModelFiles', row.Id as number, row, values)) || changed;
  }
  return changed;
}

/**
 * Upserts images into a version (by `imageKey`: Civitai id, else URL); `fresh`: the version was created by this
 * import. `appendAfter` shifts new images' SortOrder past existing ones (and existing ones keep theirs). An image
 * that appears twice in `images` is written once, with the later one's values. New images go in with one statement.
 */
async function syncImages(
  trx: CatalogTransaction,
  versionId: number,
  images: readonly MappedImage[],
  fresh: boolean,
  appendAfter = -1,
): Promise<boolean> {
  const stored = fresh ? new Map<string, Row>() : await imagesOfVersionByKey(trx, versionId);
  const wanted = new Map<string, RowValues>();
  for (const image of images) {
    const key = imageKey(image);
    const earlier = wanted.get(key);
    const row = stored.get(key);
    const sortOrder =
      appendAfter < 0
        ? image.sortOrder
        : row
          ? Number(row.SortOrder)
          : ((earlier?.SortOrder as number | undefined) ?? appendAfter + 1 + image.sortOrder);
    wanted.set(key, { ...imageValues(image), SortOrder: sortOrder });
  }
  let changed = false;
  const inserts: RowValues[] = [];
  for (const [key, values] of wanted) {
    const row = stored.get(key);
    if (row) changed = (await updateChanged(trx, 'ModelImages', Number(row.Id), row, values)) || changed;
    else inserts.push({ ...values, ModelVersionId: versionId, IsLocalCacheValid: false });
  }
  await insertRows(trx, 'ModelImages', inserts);
  return changed || inserts.length > 0;
}

async function syncVersion(
  trx: CatalogTransaction,
  dialect: SqlDialect,
  modelId: number,
  version: MappedVersion,
  edits: Set<string>,
  now: Date,
): Promise<boolean> {
  const row = await versionByCivitaiId(trx, version.civitaiId);
  if (row && row.ModelId !== modelId) {
    const owner = await civitaiIdsOfVersion(trx, row.Id as number);
    throw conflict(
      `${version.path}.id`,
      `version ${version.civitaiId} belongs to model ${owner.model ?? '(local)'} in the catalog; it is not moved to another model.`,
    );
  }
  const values = versionValues(version, modelId);
  const fresh = !row;
  let changed: boolean;
  let versionId: number;
  if (row) {
    versionId = row.Id as number;
    changed = await updateChanged(trx, 'ModelVersions', versionId, row, values);
  } else {
    versionId = await insertRow(trx, 'ModelVersions', { CreatedAt: now, ...values, CivitaiId: version.civitaiId });
    changed = true;
  }
  if (fresh) await insertTriggerWords(trx, versionId, version.trainedWords);
  else if (!edits.has(triggerWordsEdit(versionId)))
    changed = (await replaceTriggerWords(trx, versionId, version.trainedWords)) || changed;
  changed = (await syncFiles(trx, dialect, versionId, version.files, fresh)) || changed;
  changed = (await syncImages(trx, versionId, version.images, fresh)) || changed;
  return changed;
}

async function importInTransaction(
  trx: CatalogTransaction,
  dialect: SqlDialect,
  mapped: MappedModel,
  now: Date,
): Promise<ModelImportOutcome> {
  const existing = await modelByCivitaiId(trx, mapped.civitaiId);
  const edits = parseUserEdits(existing?.UserEditedFields);
  let changed = false;
  let creatorId: number | undefined;
  if (mapped.creator) {
    const creator = await upsertCreator(trx, mapped.creator, now);
    creatorId = creator.id;
    changed = creator.changed;
  }
  let modelId: number;
  let status: ImportStatus;
  const values = modelValues(mapped, edits);
  if (existing) {
    modelId = existing.Id as number;
    changed =
      (await updateChanged(trx, 'Models', modelId, existing, defined({ ...values, CreatorId: creatorId }))) || changed;
    status = 'updated';
  } else {
    const name = mapped.name ?? mapped.versions[0]?.name;
    if (!name)
      throw new AppError(
        'BAD_USER_INPUT',
        `Model ${mapped.civitaiId} has no name in this payload and is not in the catalog yet.`,
      );
    modelId = await insertRow(trx, 'Models', {
      ...NEW_MODEL_DEFAULTS,
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
    changed = (await setModelTagNames(trx, modelId, mapped.tags)) || changed;
  for (const version of mapped.versions)
    changed = (await syncVersion(trx, dialect, modelId, version, edits, now)) || changed;
  if (status === 'updated') {
    if (changed) await touchModel(trx, modelId, now, true);
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
  return db.write((trx) => importInTransaction(trx, db.dialect, mapped, now));
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
  return db.write(async (trx): Promise<ImagesImportOutcome> => {
    const version = await versionByCivitaiId(trx, versionCivitaiId);
    if (!version)
      throw new AppError(
        'NOT_FOUND',
        `No model version with Civitai id ${versionCivitaiId} in the catalog; import the version (or its model) first.`,
      );
    const versionId = version.Id as number;
    const changed = await syncImages(trx, versionId, images, false, await lastSortOrder(trx, versionId));
    return { versionCivitaiId, versionId, status: changed ? 'updated' : 'unchanged', images: images.length };
  });
}
