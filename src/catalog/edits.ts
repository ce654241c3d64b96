/**
 * Edits a user (or frontend) makes to the catalog, each one transaction on the write connection. Edits to
 * fields Civitai also provides are recorded in Models.UserEditedFields so a later sync leaves them alone, and
 * every change in the metadata history (source "edit"), in the same transaction.
 */
import type { CatalogDatabase, CatalogTransaction } from '../db/catalog-database.ts';
import { isEnumMember, ModelMode, type ModelModeName, ModelType, type ModelTypeName } from '../db/enums.ts';
import { type Row, type RowValues, updateChanged } from '../db/row-writer.ts';
import { fileById, HASH_FIELDS, type HashField } from '../db/tables/model-files.ts';
import { deleteImageRow, imageRow } from '../db/tables/model-images.ts';
import { versionById } from '../db/tables/model-versions.ts';
import {
  deleteModelRow,
  markEdited,
  modelById,
  PROTECTABLE_MODEL_FIELDS,
  type ProtectableModelField,
  setIgnoreUpdatesOf,
  TAGS_EDIT,
  touchModel,
  triggerWordsEdit,
} from '../db/tables/models.ts';
import { setModelTagNames, tagNamesOf } from '../db/tables/tags.ts';
import { replaceTriggerWords } from '../db/tables/trigger-words.ts';
import { AppError, isAppError, limitExceeded } from '../errors.ts';
import { resolveLibraryPath } from '../library/library-paths.ts';
import { sniffImageMimeType } from '../thumbnails/facts.ts';
import { blurHashOf, checkedImageSize, imageCodec, makeThumbnail } from '../thumbnails/maker.ts';
import { type HashAlgorithm, parseHashQuery } from './hash-lookup.ts';
import { ChangeLog, LIST_FIELDS } from '../history/change-log.ts';

/** Who asked for an edit: the request id recorded with its change set. */
export interface EditOrigin {
  jobId?: string | null;
}

function editLog(what: string, by: EditOrigin): ChangeLog {
  return new ChangeLog({ source: 'edit', detail: what, jobId: by.jobId ?? null });
}

async function found(row: Promise<Row | undefined>, what: string, id: number): Promise<Row> {
  const value = await row;
  if (!value) throw new AppError('NOT_FOUND', `No ${what} with database id ${id}.`);
  return value;
}

function text(value: string, field: string, max: number, allowEmpty = false): string {
  const trimmed = value.trim();
  if (!allowEmpty && trimmed === '') throw new AppError('BAD_USER_INPUT', `\`${field}\` must not be empty.`);
  if (trimmed.length > max)
    throw new AppError('BAD_USER_INPUT', `\`${field}\` is at most ${max} characters, got ${trimmed.length}.`);
  return trimmed;
}

export interface ModelEdit {
  name?: string | null;
  description?: string | null;
  type?: string | null;
  isNsfw?: boolean | null;
  isPoi?: boolean | null;
  mode?: string | null;
}

/** Applies the given fields (null/absent = leave as is; `description: ""` clears it). */
export async function updateModel(
  db: CatalogDatabase,
  modelId: number,
  edit: ModelEdit,
  by: EditOrigin = {},
  now = new Date(),
): Promise<void> {
  const values: RowValues = {};
  if (edit.name != null) values.Name = text(edit.name, 'name', 1000);
  if (edit.description != null) values.Description = text(edit.description, 'description', 200_000, true) || null;
  if (edit.type != null) {
    if (!isEnumMember(ModelType, edit.type))
      throw new AppError('BAD_USER_INPUT', `\`type\` must be one of ${ModelType.members.join(', ')}.`);
    values.Type = edit.type satisfies ModelTypeName;
  }
  if (edit.mode != null) {
    if (!isEnumMember(ModelMode, edit.mode))
      throw new AppError('BAD_USER_INPUT', `\`mode\` must be one of ${ModelMode.members.join(', ')}.`);
    values.Mode = edit.mode satisfies ModelModeName;
  }
  if (edit.isNsfw != null) values.IsNsfw = edit.isNsfw;
  if (edit.isPoi != null) values.IsPoi = edit.isPoi;
  await db.write(async (trx) => {
    const row = await found(modelById(trx, modelId), 'model', modelId);
    const log = editLog('updateModel', by);
    if (!(await updateChanged(trx, 'Models', modelId, row, values, log.column))) return;
    const edited = (Object.keys(PROTECTABLE_MODEL_FIELDS) as ProtectableModelField[]).filter(
      (field) => values[PROTECTABLE_MODEL_FIELDS[field]] !== undefined,
    );
    await markEdited(trx, row, edited);
    await touchModel(trx, modelId, now);
    await log.write(trx, modelId, now);
  });
}

export async function setIgnoreUpdates(db: CatalogDatabase, modelId: number, ignore: boolean): Promise<void> {
  if (!(await db.write((trx) => setIgnoreUpdatesOf(trx, modelId, ignore))))
    throw new AppError('NOT_FOUND', `No model with database id ${modelId}.`);
}

export async function deleteModel(db: CatalogDatabase, modelId: number): Promise<void> {
  if (!(await db.write((trx) => deleteModelRow(trx, modelId))))
    throw new AppError('NOT_FOUND', `No model with database id ${modelId}.`);
}

export const MAX_TAGS = 100;
export const MAX_TRIGGER_WORDS = 100;

export async function setModelTags(
  db: CatalogDatabase,
  modelId: number,
  names: readonly string[],
  by: EditOrigin = {},
  now = new Date(),
): Promise<void> {
  if (names.length > MAX_TAGS)
    throw limitExceeded(`A model has at most ${MAX_TAGS} tags, got ${names.length}.`, MAX_TAGS);
  const cleaned = names.map((name, i) => text(name, `tags[${i}]`, 200));
  const unique = cleaned.filter(
    (name, i) => cleaned.findIndex((other) => other.toLowerCase() === name.toLowerCase()) === i,
  );
  await db.write(async (trx) => {
    const row = await found(modelById(trx, modelId), 'model', modelId);
    const before = await setModelTagNames(trx, modelId, unique);
    await markEdited(trx, row, [TAGS_EDIT]);
    if (before === null) return;
    await touchModel(trx, modelId, now);
    const log = editLog('setModelTags', by);
    log.value('Model', modelId, LIST_FIELDS.tags, before, await tagNamesOf(trx, modelId));
    await log.write(trx, modelId, now);
  });
}

export async function setTriggerWords(
  db: CatalogDatabase,
  versionId: number,
  words: readonly string[],
  by: EditOrigin = {},
  now = new Date(),
): Promise<void> {
  if (words.length > MAX_TRIGGER_WORDS)
    throw limitExceeded(
      `A version has at most ${MAX_TRIGGER_WORDS} trigger words, got ${words.length}.`,
      MAX_TRIGGER_WORDS,
    );
  const cleaned = words.map((word, i) => text(word, `words[${i}]`, 500));
  await db.write(async (trx) => {
    const version = await found(versionById(trx, versionId), 'model version', versionId);
    const modelId = version.ModelId as number;
    const before = await replaceTriggerWords(trx, versionId, cleaned);
    await markEdited(trx, (await modelById(trx, modelId))!, [triggerWordsEdit(versionId)]);
    if (before === null) return;
    await touchModel(trx, modelId, now);
    const log = editLog('setTriggerWords', by);
    log.value('ModelVersion', versionId, LIST_FIELDS.triggerWords, before, cleaned);
    await log.write(trx, modelId, now);
  });
}

export type HashInput = Partial<Record<HashField, string | null>>;

const ALGORITHMS: Record<HashField, HashAlgorithm> = {
  autoV1: 'AUTOV1',
  autoV2: 'AUTOV2',
  autoV3: 'AUTOV3',
  sha256: 'SHA256',
  crc32: 'CRC32',
  blake3: 'BLAKE3',
};

/**
 * Links a file on disk to a catalog file. Given hashes must agree with the ones already stored (a mismatch means
 * the wrong file) and fill the ones missing.
 */
export async function linkLocalFile(
  db: CatalogDatabase,
  fileId: number,
  inputPath: string,
  hashes: HashInput,
  roots: readonly string[],
  by: EditOrigin = {},
  now = new Date(),
): Promise<void> {
  const realPath = await resolveLibraryPath(inputPath, roots, 'file');
  const given: RowValues = {};
  for (const [key, value] of Object.entries(hashes) as [keyof HashInput, string | null | undefined][]) {
    if (value == null) continue;
    given[HASH_FIELDS[key]] = parseHashQuery(value, ALGORITHMS[key]).hash;
  }
  await db.write(async (trx) => {
    const row = await found(fileById(trx, fileId), 'model file', fileId);
    for (const [column, value] of Object.entries(given)) {
      const stored = (row[column] as string | null)?.toUpperCase();
      if (
        stored &&
        stored !== value &&
        !(column === 'HashAutoV3' && (stored.startsWith(value as string) || (value as string).startsWith(stored)))
      ) {
        throw new AppError(
          'BAD_USER_INPUT',
          `The given ${column.replace('Hash', '')} ${String(value)} does not match the catalog's ${stored} for file ${fileId}: this is not the same file.`,
        );
      }
    }
    const log = editLog('linkLocalFile', by);
    await updateChanged(
      trx,
      'ModelFiles',
      fileId,
      row,
      { ...given, LocalPath: realPath, IsLocalFileValid: true, LocalFileVerifiedAt: now },
      log.column,
    );
    await log.write(trx, await modelIdOfFile(trx, row), now);
  });
}

export async function unlinkLocalFile(db: CatalogDatabase, fileId: number, by: EditOrigin = {}): Promise<void> {
  await db.write(async (trx) => {
    const row = await found(fileById(trx, fileId), 'model file', fileId);
    const log = editLog('unlinkLocalFile', by);
    await updateChanged(
      trx,
      'ModelFiles',
      fileId,
      row,
      { LocalPath: null, IsLocalFileValid: false, LocalFileVerifiedAt: null },
      log.column,
    );
    await log.write(trx, await modelIdOfFile(trx, row), new Date());
  });
}

async function modelIdOfFile(trx: CatalogTransaction, file: Row): Promise<number> {
  return (await versionById(trx, file.ModelVersionId as number))!.ModelId as number;
}

/** Decodes strict base64 (padding optional, no other characters). */
export function decodeBase64(input: string, maxBytes: number): Buffer {
  const compact = input.replace(/^data:[^;,]+;base64,/, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1)
    throw new AppError('BAD_USER_INPUT', '`base64` is not valid base64.');
  if (Math.floor((compact.length * 3) / 4) > maxBytes + 3) {
    throw limitExceeded(`Thumbnails are at most ${maxBytes} bytes.`, maxBytes);
  }
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length > maxBytes)
    throw limitExceeded(`Thumbnails are at most ${maxBytes} bytes, got ${bytes.length}.`, maxBytes);
  return bytes;
}

/**
 * Stores an uploaded thumbnail. The image is checked whole (its pixels decoded) and bounded in size from its header;
 * one larger than the thumbnail size is re-encoded to it (WebP), one within it is kept as sent.
 */
export async function setImageThumbnail(
  db: CatalogDatabase,
  imageId: number,
  base64: string,
  limits: { maxBytes: number; thumbnailSide: number },
): Promise<void> {
  const bytes = decodeBase64(base64, limits.maxBytes);
  const mimeType = sniffImageMimeType(bytes);
  if (!mimeType || bytes.length === 0)
    throw new AppError('BAD_USER_INPUT', 'The thumbnail is not a WebP, PNG, JPEG, GIF or AVIF image.');
  let stored: { bytes: Buffer; mimeType: string; width: number; height: number; blurHash: string };
  try {
    const { width, height } = await checkedImageSize(bytes);
    if (!width || !height) throw new AppError('BAD_USER_INPUT', 'The thumbnail has no dimensions.');
    const side = limits.thumbnailSide;
    if (width > side || height > side) {
      const made = await makeThumbnail(bytes, { maxSide: side });
      stored = {
        bytes: made.bytes,
        mimeType: made.mimeType,
        width: made.width,
        height: made.height,
        blurHash: made.blurHash,
      };
    } else {
      // Decoding the pixels proves the image is whole, not just a valid header.
      await (await imageCodec())(bytes, { failOn: 'error' }).stats();
      stored = { bytes, mimeType, width, height, blurHash: await blurHashOf(bytes) };
    }
  } catch (error) {
    if (isAppError(error)) throw error;
    throw new AppError(
      'BAD_USER_INPUT',
      `The thumbnail could not be decoded as ${mimeType}: ${(error as Error).message}`,
    );
  }
  await db.write(async (trx) => {
    const row = await found(imageRow(trx, imageId), 'model image', imageId);
    await updateChanged(trx, 'ModelImages', imageId, row, {
      ThumbnailData: stored.bytes,
      ThumbnailMimeType: stored.mimeType,
      ThumbnailWidth: stored.width,
      ThumbnailHeight: stored.height,
      // A placeholder for clients (Thumbnail.blurHash) where the image has none; Civitai's, of the full image, stays.
      ...(row.BlurHash === null ? { BlurHash: stored.blurHash } : {}),
    });
  });
}

export async function deleteModelImage(db: CatalogDatabase, imageId: number): Promise<void> {
  if (!(await db.write((trx) => deleteImageRow(trx, imageId))))
    throw new AppError('NOT_FOUND', `No model image with database id ${imageId}.`);
}
