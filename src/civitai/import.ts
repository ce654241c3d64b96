/**
 * Writes mapped Civitai data into the catalog: an upsert by CivitaiId at every level (model, version, file;
 * images by CivitaiId, else by URL), one write transaction per model, so a failure writes nothing for that
 * model. Concurrent importers (even in other processes) do not collide: on SQLite the transaction holds the file;
 * on PostgreSQL imports of one model take its advisory lock first (`lockModelForImport`), and two models creating
 * the same creator or tag at once end in a unique violation that `write()` answers by running the losing model's
 * transaction again (see `postgres/catalog.ts`). Fields the user edited (Models.UserEditedFields) are left alone. Local-file and thumbnail columns are
 * never touched by an import.
 *
 * Metadata is never made worse: what a payload does not say changes nothing, and only a full model payload (not
 * a version payload, a `.civitai.info` file or an archive's answer) may empty a stored value; an archive's answer
 * only fills what is empty, and no import empties an image's values. Every change is recorded field by field
 * (`ChangeLog`) and the payload archived, in the same transaction.
 */
import type { CatalogDatabase, CatalogTransaction } from '../db/catalog-database.ts';
import type { SqlDialect } from '../db/dialect.ts';
import { insertRow, insertRows, type Row, type RowValues, updateChanged } from '../db/row-writer.ts';
import { creatorByUsername, creatorNameById } from '../db/tables/creators.ts';
import { filesOfVersion, NEW_FILE_DEFAULTS, versionsHoldingFiles } from '../db/tables/model-files.ts';
import { imageKey, imagesOfVersionByKey, lastSortOrder } from '../db/tables/model-images.ts';
import {
  civitaiIdsOfVersion,
  NEW_VERSION_DEFAULTS,
  versionByCivitaiId,
  versionsByCivitaiIds,
} from '../db/tables/model-versions.ts';
import {
  CREATOR_EDIT,
  lockModelForImport,
  modelByCivitaiId,
  NEW_MODEL_DEFAULTS,
  parseUserEdits,
  type ProtectableModelField,
  syncedFromCivitai,
  TAGS_EDIT,
  touchModel,
  triggerWordsEdit,
  withoutProtected,
} from '../db/tables/models.ts';
import { setModelTagNames, tagNamesOf } from '../db/tables/tags.ts';
import { insertTriggerWords, replaceTriggerWords } from '../db/tables/trigger-words.ts';
import { AppError } from '../errors.ts';
import type { MappedFile, MappedImage, MappedModel, MappedVersion } from './mapping.ts';
import { ChangeLog, type ChangeContext, LIST_FIELDS } from '../history/change-log.ts';
import type { ArchivedPayload } from '../history/payload-archive.ts';
import { archivePayload } from '../db/tables/metadata-history.ts';

export type ImportStatus = 'created' | 'updated' | 'unchanged';

export interface ModelImportOutcome {
  civitaiId: number;
  modelId: number;
  name: string;
  status: ImportStatus;
  warnings: string[];
}

/** How one model's import is written and recorded. */
export interface ModelImportContext {
  /** Recorded with the change set: import or sync, where from, which request or job. */
  history: ChangeContext;
  /**
   * A full model payload from Civitai for this model: the only kind that may empty a stored value (a description
   * removed on Civitai). Anything else only fills and updates.
   */
  full: boolean;
  /** The payload to archive with the model. */
  payload?: ArchivedPayload | undefined;
  /** Other payloads read for this import (a sync's version payload before its model's), archived too. */
  alsoRead?: readonly ArchivedPayload[];
  /** Civitai answered with this model: a tombstone (RemovedFromCivitaiAt) it carried is lifted. */
  foundOnCivitai?: boolean;
  /** Civitai answered 404 for the model itself (its version was found): a model synced before is marked removed. */
  modelGoneFromCivitai?: boolean;
  /**
   * The payload is an archive's record of a file Civitai answered 404 for (the archive is asked about nothing else).
   * Two rules follow. Its version is marked removed from Civitai, and so is its model unless Civitai has served the
   * model (`syncedFromCivitai`); Civitai's data was not read, so LastSyncedAt stays. And the copy is stale, partial,
   * with third-party mirror links: it fills what the catalog lacks and replaces nothing already there.
   */
  fromArchive?: boolean;
}

/** Drops keys whose value is undefined ("the payload does not say"). */
function defined(values: Record<string, RowValues[string] | undefined>): RowValues {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as RowValues;
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || value === '';
}

/** Unless the payload is full, `values` without those that would empty a stored value. */
function neverEmptier(stored: Row, values: RowValues, full: boolean): RowValues {
  if (full) return values;
  return Object.fromEntries(
    Object.entries(values).filter(([column, value]) => !isEmpty(value) || isEmpty(stored[column])),
  );
}

/** What an import writes over a stored row: nothing that empties a value unless `full`, only empty cells from an archive's copy. */
function toWrite(run: { full: boolean; fromArchive: boolean }, stored: Row, values: RowValues): RowValues {
  const kept = neverEmptier(stored, values, run.full);
  if (!run.fromArchive) return kept;
  return Object.fromEntries(Object.entries(kept).filter(([column]) => isEmpty(stored[column])));
}

/** A list (tags, trigger words) to write: an empty one from a partial payload leaves the stored list alone. */
function listToWrite<T>(list: readonly T[] | undefined, full: boolean): readonly T[] | undefined {
  return list === undefined || (!full && list.length === 0) ? undefined : list;
}

async function upsertCreator(
  trx: CatalogTransaction,
  creator: NonNullable<MappedModel['creator']>,
  now: Date,
): Promise<{ id: number; changed: boolean }> {
  const existing = await creatorByUsername(trx, creator.username);
  if (existing) {
    const changed =
      !isEmpty(creator.avatarUrl) &&
      (await updateChanged(trx, 'Creators', existing.Id as number, existing, { AvatarUrl: creator.avatarUrl }));
    return { id: existing.Id as number, changed };
  }
  return {
    id: await insertRow(trx, 'Creators', { Username: creator.username, AvatarUrl: creator.avatarUrl, CreatedAt: now }),
    changed: true,
  };
}

/** `full`: a full model payload from Civitai, which leaves `mode` out for a model that is available. */
function modelValues(mapped: MappedModel, edits: Set<string>, full: boolean): RowValues {
  const keep = (field: ProtectableModelField, value: RowValues[string] | undefined) =>
    edits.has(field) ? undefined : value;
  return defined({
    Source: 'CivitaiApi',
    Name: keep('name', mapped.name),
    Description: keep('description', mapped.description),
    Type: keep('type', mapped.type),
    IsNsfw: keep('isNsfw', mapped.isNsfw),
    IsPoi: keep('isPoi', mapped.isPoi),
    Mode: keep('mode', mapped.mode ?? (full ? 'Available' : undefined)),
    AllowNoCredit: keep('allowNoCredit', mapped.allowNoCredit),
    AllowCommercialUse: keep('allowCommercialUse', mapped.allowCommercialUse),
    AllowDerivatives: keep('allowDerivatives', mapped.allowDerivatives),
    AllowDifferentLicense: keep('allowDifferentLicense', mapped.allowDifferentLicense),
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

/**
 * A file's columns the payload gives. Civitai marks only the primary file (`primary: true`) and leaves the key out
 * for the others: when a version's payload names its primary file (`primaryNamed`), an unmarked one is not it;
 * when it names none, IsPrimary is left as stored.
 */
function fileValues(file: MappedFile, primaryNamed: boolean): RowValues {
  return defined({
    CivitaiId: file.civitaiId,
    FileName: file.fileName,
    SizeKB: file.sizeKB,
    FileType: file.fileType,
    IsPrimary: file.isPrimary ?? (primaryNamed ? false : undefined),
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

/** A new file row's values. */
function newFileValues(file: MappedFile, versionId: number): RowValues {
  return { ...NEW_FILE_DEFAULTS, ...fileValues(file, false), ModelVersionId: versionId, IsLocalFileValid: false };
}

/**
 * Rows given the same columns (a payload may leave a nullable one unsaid for one file and not another), so they
 * go in with one statement: an unsaid column of a new row is NULL either way.
 */
function sameColumns(rows: RowValues[]): RowValues[] {
  const columns = new Set(rows.flatMap((row) => Object.keys(row)));
  return rows.map((row) => {
    const full: RowValues = {};
    for (const column of columns) full[column] = row[column] ?? null;
    return full;
  });
}

/** One model's import in progress: its transaction and what governs and records its writes. */
interface ImportRun {
  trx: CatalogTransaction;
  dialect: SqlDialect;
  /** What the user edited (Models.UserEditedFields): left alone. */
  edits: Set<string>;
  now: Date;
  log: ChangeLog;
  full: boolean;
  foundOnCivitai: boolean;
  /** See `ModelImportContext.fromArchive`: it marks removals and only fills. */
  fromArchive: boolean;
  /** The model is new: its creation is the one change recorded, not that of each of its versions. */
  modelCreated: boolean;
  /** The payload's versions already in the catalog, by Civitai id (read once for the whole model). */
  storedVersions: Map<number, Row>;
  /** Which versions hold each of the payload's Civitai file ids (read once for the whole model). */
  fileHolders: Map<number, number[]>;
}

/** Upserts a version's files; `fresh`: the version was created by this import (no rows to look up). */
async function syncFiles(
  run: ImportRun,
  versionId: number,
  files: readonly MappedFile[],
  fresh: boolean,
): Promise<boolean> {
  const { trx } = run;
  for (const file of files) {
    const holders = file.civitaiId === null ? undefined : run.fileHolders.get(file.civitaiId);
    const elsewhere = holders?.find((holder) => holder !== versionId);
    if (elsewhere !== undefined) {
      const owner = await civitaiIdsOfVersion(trx, elsewhere);
      throw conflict(
        `${file.path}.id`,
        `file ${file.civitaiId} belongs to version ${owner.version ?? '(local)'} of model ${owner.model ?? '(local)'} ` +
          'in the catalog; it is not copied to another version.',
      );
    }
  }
  if (fresh) {
    await insertRows(trx, 'ModelFiles', sameColumns(files.map((file) => newFileValues(file, versionId))));
    return files.length > 0;
  }
  let changed = false;
  const primaryNamed = files.some((file) => file.isPrimary === true);
  for (const file of files) {
    const values = fileValues(file, primaryNamed);
    // The same file can be linked twice (downloaded to two places): every row of it gets Civitai's facts.
    const rows = await filesOfVersion(trx, versionId, file);
    if (rows.length === 0) {
      const id = await insertRow(trx, 'ModelFiles', newFileValues(file, versionId));
      run.log.created('ModelFile', id, file.fileName);
      changed = true;
    }
    for (const row of rows) {
      const id = row.Id as number;
      const wanted = toWrite(run, row, withoutProtected(values, run.edits, 'ModelFiles', id));
      changed = (await updateChanged(trx, 'ModelFiles', id, row, wanted, run.log.column)) || changed;
    }
  }
  return changed;
}

/** An image's values that may replace stored ones: none that would empty one, and no size the payload left out. */
function knownImageValues(stored: Row, values: RowValues, fillOnly: boolean): RowValues {
  const known = toWrite({ full: false, fromArchive: fillOnly }, stored, values);
  // The mapping reads a missing or unreadable size as 0, which never replaces a known one.
  for (const column of ['Width', 'Height']) if (known[column] === 0) delete known[column];
  return known;
}

/**
 * Upserts images into a version (by `imageKey`: Civitai id, else URL); `fresh`: the version was created by this
 * import. `appendAfter` shifts new images' SortOrder past existing ones (and existing ones keep theirs). An image
 * that appears twice in `images` is written once, with the later one's values. New images go in with one statement.
 * A stored prompt or other image value is never emptied, whatever the payload (image changes are not in the history,
 * so an emptied one could not be had back); with `fillOnly` (an archive's copy) only empty ones are filled.
 */
async function syncImages(
  trx: CatalogTransaction,
  versionId: number,
  images: readonly MappedImage[],
  fresh: boolean,
  fillOnly: boolean,
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
    if (row)
      changed =
        (await updateChanged(trx, 'ModelImages', Number(row.Id), row, knownImageValues(row, values, fillOnly))) ||
        changed;
    else inserts.push({ ...values, ModelVersionId: versionId, IsLocalCacheValid: false });
  }
  await insertRows(trx, 'ModelImages', inserts);
  return changed || inserts.length > 0;
}

async function syncVersion(run: ImportRun, modelId: number, version: MappedVersion): Promise<boolean> {
  const { trx } = run;
  const row = run.storedVersions.get(version.civitaiId);
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
  const words = listToWrite(version.trainedWords, run.full);
  if (row) {
    versionId = row.Id as number;
    const wanted = toWrite(run, row, withoutProtected(values, run.edits, 'ModelVersions', versionId));
    if (run.foundOnCivitai && row.RemovedFromCivitaiAt != null) wanted.RemovedFromCivitaiAt = null;
    if (run.fromArchive && row.RemovedFromCivitaiAt == null) wanted.RemovedFromCivitaiAt = run.now;
    changed = await updateChanged(trx, 'ModelVersions', versionId, row, wanted, run.log.column);
    if (words !== undefined && !run.edits.has(triggerWordsEdit(versionId))) {
      const before = await replaceTriggerWords(trx, versionId, words, { onlyIfNone: run.fromArchive });
      if (before !== null) {
        run.log.value('ModelVersion', versionId, LIST_FIELDS.triggerWords, before, words);
        changed = true;
      }
    }
  } else {
    versionId = await insertRow(trx, 'ModelVersions', {
      ...NEW_VERSION_DEFAULTS,
      CreatedAt: run.now,
      ...values,
      CivitaiId: version.civitaiId,
      ...(run.fromArchive ? { RemovedFromCivitaiAt: run.now } : {}),
    });
    if (!run.modelCreated) run.log.created('ModelVersion', versionId, version.name);
    await insertTriggerWords(trx, versionId, words ?? []);
    changed = true;
  }
  changed = (await syncFiles(run, versionId, version.files, fresh)) || changed;
  changed = (await syncImages(trx, versionId, version.images, fresh, run.fromArchive)) || changed;
  return changed;
}

async function importInTransaction(
  trx: CatalogTransaction,
  dialect: SqlDialect,
  mapped: MappedModel,
  now: Date,
  context: ModelImportContext,
): Promise<ModelImportOutcome> {
  await lockModelForImport(trx, dialect, mapped.civitaiId);
  const existing = await modelByCivitaiId(trx, mapped.civitaiId);
  const edits = parseUserEdits(existing?.UserEditedFields);
  const log = new ChangeLog(context.history);
  const fileIds = mapped.versions.flatMap((v) => v.files.flatMap((f) => (f.civitaiId === null ? [] : [f.civitaiId])));
  const run: ImportRun = {
    trx,
    dialect,
    edits,
    now,
    log,
    full: context.full,
    foundOnCivitai: context.foundOnCivitai ?? false,
    fromArchive: context.fromArchive ?? false,
    modelCreated: !existing,
    storedVersions: await versionsByCivitaiIds(
      trx,
      dialect,
      mapped.versions.map((v) => v.civitaiId),
    ),
    fileHolders: await versionsHoldingFiles(trx, dialect, fileIds),
  };
  let changed = false;
  let creatorId: number | undefined;
  if (mapped.creator && !edits.has(CREATOR_EDIT)) {
    const creator = await upsertCreator(trx, mapped.creator, now);
    creatorId = creator.id;
    changed = creator.changed;
  }
  let modelId: number;
  let status: ImportStatus;
  const values = modelValues(mapped, edits, run.full);
  if (existing) {
    modelId = existing.Id as number;
    const wanted = toWrite(run, existing, defined({ ...values, CreatorId: creatorId }));
    // Only the model's own payload says the model is back (a version payload comes without it).
    if (run.foundOnCivitai && run.full && existing.RemovedFromCivitaiAt != null) wanted.RemovedFromCivitaiAt = null;
    // Civitai answered 404 for a model it had served; or an archive's record is all there is of a model Civitai never
    // served (one it served may still be there with other versions: its own sync says).
    const modelGone = context.modelGoneFromCivitai
      ? syncedFromCivitai(existing)
      : run.fromArchive && !syncedFromCivitai(existing);
    if (modelGone && existing.RemovedFromCivitaiAt == null) wanted.RemovedFromCivitaiAt = now;
    if (wanted.CreatorId !== undefined && wanted.CreatorId !== existing.CreatorId)
      log.value(
        'Model',
        modelId,
        LIST_FIELDS.creator,
        await creatorNameById(trx, existing.CreatorId as number | null),
        mapped.creator?.username ?? null,
      );
    changed = (await updateChanged(trx, 'Models', modelId, existing, wanted, log.column)) || changed;
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
      ...(run.fromArchive ? { RemovedFromCivitaiAt: now } : { LastSyncedAt: now }),
      CreatorId: creatorId ?? null,
    });
    log.created('Model', modelId, name);
    status = 'created';
  }
  const tags = listToWrite(mapped.tags, run.full);
  // An archive's copy gives tags to a model that has none, and replaces none.
  const tagsStay = run.fromArchive && existing !== undefined && (await tagNamesOf(trx, modelId)).length > 0;
  if (tags !== undefined && !edits.has(TAGS_EDIT) && !tagsStay) {
    const before = await setModelTagNames(trx, modelId, tags);
    if (before !== null) {
      if (existing) log.value('Model', modelId, LIST_FIELDS.tags, before, await tagNamesOf(trx, modelId));
      changed = true;
    }
  }
  for (const version of mapped.versions) changed = (await syncVersion(run, modelId, version)) || changed;
  if (status === 'updated') {
    if (changed) await touchModel(trx, modelId, now, !run.fromArchive);
    else status = 'unchanged';
  }
  if (context.payload) await archivePayload(trx, modelId, context.payload, now, status === 'created');
  for (const payload of context.alsoRead ?? []) await archivePayload(trx, modelId, payload, now);
  await log.write(trx, modelId, now);
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
  context: ModelImportContext = { history: { source: 'import' }, full: true },
): Promise<ModelImportOutcome> {
  return db.write((trx) => importInTransaction(trx, db.dialect, mapped, now, context));
}

export interface ImagesImportOutcome {
  versionCivitaiId: number;
  versionId: number;
  status: ImportStatus;
  images: number;
}

/**
 * Imports a page of `GET /api/v1/images` into one version (those items do not say which version they show):
 * existing images are updated in place, new ones go after the version's current images. The page is archived
 * with the version's model.
 */
export function importImagesIntoVersion(
  db: CatalogDatabase,
  versionCivitaiId: number,
  images: readonly MappedImage[],
  payload?: ArchivedPayload,
  now: Date = new Date(),
): Promise<ImagesImportOutcome> {
  return db.write(async (trx): Promise<ImagesImportOutcome> => {
    const version = await versionByCivitaiId(trx, versionCivitaiId);
    if (!version)
      throw new AppError(
        'NOT_FOUND',
        `No model version with Civitai id ${versionCivitaiId} in the catalog; import the version (or its model) first.`,
      );
    const versionId = version.Id as number;
    // Images have no unique key: an images page imported into this version by two processes at once would add
    // every new image twice. The model's import lock orders them (and orders them with imports of the model).
    const owner = await civitaiIdsOfVersion(trx, versionId);
    if (owner.model !== null) await lockModelForImport(trx, db.dialect, owner.model);
    const changed = await syncImages(trx, versionId, images, false, false, await lastSortOrder(trx, versionId));
    if (payload) await archivePayload(trx, version.ModelId as number, payload, now);
    return { versionCivitaiId, versionId, status: changed ? 'updated' : 'unchanged', images: images.length };
  });
}
