/**
 * The scanner's catalog side: linking a hashed file to the catalog file it is (or a second copy of it), creating a
 * catalog entry for a file Civitai data does not describe, and marking files that disappeared. Linking runs in the
 * caller's write transaction (a file's index row and its link are written together); the rest opens its own.
 */
import path from 'node:path';
import type { CatalogDatabase, CatalogQueries, CatalogTransaction } from '../db/catalog-database.ts';
import { NEW_VERSION_DEFAULTS, versionById } from '../db/tables/model-versions.ts';
import { ChangeLog } from '../history/change-log.ts';
import type { BaseModelName, ModelTypeName } from '../db/enums.ts';
import { insertRow, type Row, type RowValues, updateChanged } from '../db/row-writer.ts';
import {
  type IndexedLocalFile,
  type LocalFileRow,
  linkLocalFile,
  localFileAt,
  markPathMissing,
  markSeenUnchanged,
  REQUIRED_HASH_COLUMNS,
  setPreviewMtime,
  upsertLocalFile,
} from '../db/tables/local-files.ts';
import {
  exactSizeValues,
  fileById,
  filesWithAnyHash,
  hashKey,
  HASH_FIELDS,
  type OptionalFileColumns,
} from '../db/tables/model-files.ts';
import { NEW_MODEL_DEFAULTS } from '../db/tables/models.ts';
import { insertTriggerWords } from '../db/tables/trigger-words.ts';
import type { FileHashes } from './hashing/file-hasher.ts';

export type { IndexedLocalFile, LocalFileRow };
export { localFilesUnder, localFileAt, storedHashRows } from '../db/tables/local-files.ts';
export { localOnlyModelFile, optionalFileColumns, versionOfFile } from '../db/tables/model-files.ts';
export type { OptionalFileColumns };

export type StoredHashes = Omit<FileHashes, 'safetensorsMetadata' | 'mtimeMs'>;

export function hashesOf(
  row: Pick<
    LocalFileRow,
    'Size' | 'HashSHA256' | 'HashAutoV1' | 'HashAutoV2' | 'HashAutoV3' | 'HashCRC32' | 'HashBLAKE3'
  >,
): StoredHashes | null {
  if (REQUIRED_HASH_COLUMNS.some((column) => !row[column])) return null;
  return {
    size: Number(row.Size),
    sha256: row.HashSHA256!,
    autoV1: row.HashAutoV1,
    autoV2: row.HashAutoV2!,
    autoV3: row.HashAutoV3,
    crc32: row.HashCRC32!,
    blake3: row.HashBLAKE3!,
  };
}

/** All six hash columns from what the scan computed. */
function hashColumns(hashes: StoredHashes): RowValues {
  return Object.fromEntries(
    Object.entries(HASH_FIELDS).map(([field, column]) => [column, hashes[field as keyof typeof HASH_FIELDS]]),
  );
}

/** Hash columns the catalog row lacks, filled from what the scan computed. */
function missingHashes(row: Row, hashes: StoredHashes): RowValues {
  const values: RowValues = {};
  for (const [field, column] of Object.entries(HASH_FIELDS)) {
    const value = hashes[field as keyof typeof HASH_FIELDS];
    if (row[column] === null && value !== null) values[column] = value;
  }
  return values;
}

/** Records what the scan saw of a file (and its hashes when it was read), with any further `values` of its row. */
export function recordLocalFileIn(
  trx: CatalogTransaction,
  seen: { path: string; size: number; mtimeMs: number },
  hashes: StoredHashes | null,
  now: Date,
  values: RowValues = {},
): Promise<LocalFileRow> {
  const row: RowValues = {
    ...values,
    Size: BigInt(seen.size),
    MtimeMs: seen.mtimeMs,
    LastSeenAt: now,
    MissingSince: null,
  };
  if (hashes) Object.assign(row, hashColumns(hashes), { HashedAt: now });
  return upsertLocalFile(trx, seen.path, row, now);
}

export function recordLocalFile(
  db: CatalogDatabase,
  seen: { path: string; size: number; mtimeMs: number },
  hashes: StoredHashes | null,
  now: Date,
): Promise<LocalFileRow> {
  return db.write((trx) => recordLocalFileIn(trx, seen, hashes, now));
}

export function rememberPreview(db: CatalogDatabase, id: number, previewMtimeMs: number | null): Promise<void> {
  return db.write((trx) => setPreviewMtime(trx, id, previewMtimeMs));
}

/**
 * Whether linking this unchanged file again would change nothing but the times it was seen and verified: its index
 * row holds its hashes and its catalog link is settled (decided with the index read: `localFilesUnder`).
 */
export function isSettled(row: IndexedLocalFile): boolean {
  return row.LinkSettled === 1 && row.ModelFileId !== null && row.HasHashes === 1;
}

/** Records, for any number of settled files, that they were seen and verified now (two statements). */
export function recordSettled(db: CatalogDatabase, rows: readonly IndexedLocalFile[], now: Date): Promise<void> {
  if (rows.length === 0) return Promise.resolve();
  return db.write((trx) =>
    markSeenUnchanged(
      trx,
      db.dialect,
      rows.map((row) => row.Id),
      rows.map((row) => row.ModelFileId!),
      now,
    ),
  );
}

/** Marks files of `root` that the scan did not see: the index row, and the catalog file linked to that path. */
export function markMissing(
  db: CatalogDatabase,
  rows: readonly Pick<LocalFileRow, 'Id' | 'Path' | 'MissingSince'>[],
  now: Date,
): Promise<number> {
  return db.write(async (trx) => {
    let count = 0;
    for (const row of rows) {
      if (row.MissingSince !== null) continue;
      await markPathMissing(trx, row, now);
      count++;
    }
    return count;
  });
}

export interface CatalogMatches {
  /** Catalog files with exactly this content. */
  same: Row[];
  /** Catalog files with the same weights (AutoV3) but known to hold other bytes (another SHA-256): another header. */
  lookalikes: Row[];
}

/** Whether a catalog row's SHA-256 (or, lacking it, its AutoV2 — the first ten hex digits of it) agrees with the file's. */
function sha256Agrees(row: Row, hashes: StoredHashes): boolean | null {
  const sha256 = (row.HashSHA256 as string | null)?.toUpperCase();
  if (sha256) return sha256 === hashes.sha256;
  const autoV2 = (row.HashAutoV2 as string | null)?.toUpperCase();
  return autoV2 ? autoV2 === hashes.autoV2 : null;
}

/**
 * Catalog files this content is: by SHA-256 or BLAKE3 (strong, unique), else by a full AutoV3 confirmed by the
 * SHA-256 (an AutoV3 names the weights, not the file: a copy with another header has the same AutoV3), else AutoV2
 * when it names exactly one file (Civitai rows sometimes carry only short hashes).
 */
export async function catalogFilesFor(db: CatalogQueries, hashes: StoredHashes): Promise<CatalogMatches> {
  const v3 = hashes.autoV3?.slice(0, 12);
  // One statement for the four look-ups below; each is then picked out of its rows, in id order.
  const rows = await filesWithAnyHash(db, {
    SHA256: hashes.sha256,
    BLAKE3: hashes.blake3,
    AUTOV2: hashes.autoV2,
    ...(v3 ? { AUTOV3: v3 } : {}),
  });
  const strong = rows.filter((f) => hashKey('SHA256', f) === hashes.sha256 || hashKey('BLAKE3', f) === hashes.blake3);
  if (strong.length > 0) return { same: strong, lookalikes: [] };
  let lookalikes: Row[] = [];
  if (hashes.autoV3) {
    const exact = rows.filter(
      (f) =>
        hashKey('AUTOV3', f) === v3 &&
        ((f.HashAutoV3 as string).length === 12 || (f.HashAutoV3 as string).toUpperCase() === hashes.autoV3),
    );
    const same = exact.filter((f) => sha256Agrees(f, hashes) !== false);
    if (same.length > 0) return { same, lookalikes: [] };
    lookalikes = exact;
  }
  const byV2 = rows.filter((f) => hashKey('AUTOV2', f) === hashes.autoV2);
  return { same: byV2.length === 1 ? byV2 : [], lookalikes };
}

/**
 * A file with the weights of catalog file `lookalike` but other bytes: recorded as another file of the same
 * version, under its own name and with its own hashes (never the look-alike's).
 */
export async function linkAsVariant(
  trx: CatalogTransaction,
  localFileId: number,
  file: { path: string; fileName: string },
  hashes: StoredHashes,
  lookalike: Row,
  columns: OptionalFileColumns,
  { now, ...stamp }: ScanStamp,
): Promise<number> {
  const modelFileId = await insertRow(trx, 'ModelFiles', {
    ModelVersionId: lookalike.ModelVersionId as number,
    FileName: file.fileName,
    SizeKB: hashes.size / 1024,
    ...exactSizeValues(hashes.size, columns),
    FileType: lookalike.FileType as string,
    IsPrimary: false,
    Format: lookalike.Format as string,
    Precision: lookalike.Precision as string,
    SizeType: lookalike.SizeType as string,
    PickleScanResult: 'Pending',
    VirusScanResult: 'Pending',
    ...hashColumns(hashes),
    LocalPath: file.path,
    IsLocalFileValid: true,
    LocalFileVerifiedAt: now,
  });
  await linkLocalFile(trx, localFileId, modelFileId);
  const log = scanLog(file.path, stamp);
  log.created('ModelFile', modelFileId, file.fileName);
  await writeScanLog(trx, log, lookalike.ModelVersionId as number, now);
  return modelFileId;
}

/** When a scan writes, and the job it belongs to (null: none named); a download's link of its file says so. */
export interface ScanStamp {
  now: Date;
  jobId: string | null;
  source?: 'scan' | 'download';
}

/** The history of what a scan (or a download) changed at `filePath`, under its job. */
function scanLog(filePath: string, { jobId, source = 'scan' }: Omit<ScanStamp, 'now'>): ChangeLog {
  return new ChangeLog({ source, detail: filePath, jobId });
}

/** Writes a scan's change set (when it changed anything) under the model of `versionId`. */
async function writeScanLog(trx: CatalogTransaction, log: ChangeLog, versionId: number, now: Date): Promise<void> {
  if (log.isEmpty) return;
  await log.write(trx, (await versionById(trx, versionId))!.ModelId as number, now);
}

export type LinkOutcome = 'already-linked' | 'linked' | 'moved' | 'duplicate-copy';

async function isPathMissing(db: CatalogQueries, localPath: string, seenPaths: ReadonlySet<string>): Promise<boolean> {
  if (seenPaths.has(localPath)) return false;
  const row = await localFileAt(db, localPath);
  return row?.MissingSince !== null && row?.MissingSince !== undefined;
}

/**
 * Links the file at `filePath` to one of `candidates` (catalog rows with its hash): the row already pointing here;
 * else a row with no local copy, or whose copy disappeared (a move); else a new row copying the first candidate
 * (the same file downloaded twice keeps two rows), named after its own file: the copy's name is not the original's.
 */
export async function linkToCatalog(
  trx: CatalogTransaction,
  localFileId: number,
  filePath: string,
  hashes: StoredHashes,
  candidates: readonly Row[],
  seenPaths: ReadonlySet<string>,
  columns: OptionalFileColumns,
  { now, ...stamp }: ScanStamp,
): Promise<{ modelFileId: number; outcome: LinkOutcome }> {
  const verified: RowValues = { LocalPath: filePath, IsLocalFileValid: true, LocalFileVerifiedAt: now };
  const here = candidates.find((c) => c.LocalPath === filePath);
  let free = candidates.find((c) => c.LocalPath === null);
  for (const c of candidates) {
    if (free) break;
    if (await isPathMissing(trx, c.LocalPath as string, seenPaths)) free = c;
  }
  let target: Row;
  let outcome: LinkOutcome;
  if (here) [target, outcome] = [here, 'already-linked'];
  else if (free) [target, outcome] = [free, free.LocalPath === null ? 'linked' : 'moved'];
  else {
    const original = candidates[0]!;
    const { Id: _id, ...copy } = original;
    const id = await insertRow(trx, 'ModelFiles', {
      ...(copy as RowValues),
      FileName: path.basename(filePath),
      IsPrimary: false,
      ...verified,
      ...hashColumns(hashes),
    });
    target = { ...original, Id: id, LocalPath: filePath };
    outcome = 'duplicate-copy';
  }
  const modelFileId = target.Id as number;
  const log = scanLog(filePath, stamp);
  if (outcome === 'duplicate-copy') log.created('ModelFile', modelFileId, path.basename(filePath));
  // The size is the file's own, known exactly here: filled also on rows linked before the column existed.
  await updateChanged(
    trx,
    'ModelFiles',
    modelFileId,
    target,
    { ...verified, ...missingHashes(target, hashes), ...exactSizeValues(hashes.size, columns) },
    outcome === 'duplicate-copy' ? undefined : log.column,
  );
  await linkLocalFile(trx, localFileId, modelFileId);
  await writeScanLog(trx, log, target.ModelVersionId as number, now);
  return { modelFileId, outcome };
}

export interface LocalModelFacts {
  name: string;
  type: ModelTypeName;
  description: string | null;
  baseModel: BaseModelName;
  baseModelRaw: string | null;
  triggerWords: string[];
  fileName: string;
  format: 'SafeTensor' | 'PickleTensor' | 'Other';
  fileMtime: Date;
}

/** A catalog entry (model, version, file) for a file no Civitai data describes (Source = LocalFile). */
export async function createLocalModel(
  trx: CatalogTransaction,
  localFileId: number,
  filePath: string,
  hashes: StoredHashes,
  facts: LocalModelFacts,
  columns: OptionalFileColumns,
  { now, ...stamp }: ScanStamp,
): Promise<number> {
  const modelId = await insertRow(trx, 'Models', {
    ...NEW_MODEL_DEFAULTS,
    Name: facts.name,
    Description: facts.description,
    Type: facts.type,
    Source: 'LocalFile',
    CreatedAt: now,
    UpdatedAt: now,
  });
  const versionId = await insertRow(trx, 'ModelVersions', {
    ...NEW_VERSION_DEFAULTS,
    ModelId: modelId,
    Name: 'Local file',
    BaseModel: facts.baseModel,
    BaseModelRaw: facts.baseModelRaw,
    CreatedAt: facts.fileMtime,
  });
  await insertTriggerWords(trx, versionId, facts.triggerWords);
  const modelFileId = await insertRow(trx, 'ModelFiles', {
    ModelVersionId: versionId,
    FileName: facts.fileName,
    SizeKB: hashes.size / 1024,
    ...exactSizeValues(hashes.size, columns),
    FileType: 'Model',
    IsPrimary: true,
    Format: facts.format,
    Precision: 'Unknown',
    SizeType: 'Unknown',
    PickleScanResult: 'Pending',
    VirusScanResult: 'Pending',
    ...hashColumns(hashes),
    LocalPath: filePath,
    IsLocalFileValid: true,
    LocalFileVerifiedAt: now,
  });
  await linkLocalFile(trx, localFileId, modelFileId);
  const log = scanLog(filePath, stamp);
  log.created('Model', modelId, facts.name);
  await log.write(trx, modelId, now);
  return modelFileId;
}

/** A local-only model's file whose content changed: keep the entry, refresh its hashes. */
export async function refreshLocalOnlyHashes(
  trx: CatalogTransaction,
  modelFileId: number,
  hashes: StoredHashes,
  columns: OptionalFileColumns,
  { now, ...stamp }: ScanStamp,
): Promise<void> {
  const row = await fileById(trx, modelFileId);
  if (!row) return;
  const log = scanLog(row.LocalPath as string, stamp);
  await updateChanged(
    trx,
    'ModelFiles',
    modelFileId,
    row,
    {
      ...hashColumns(hashes),
      SizeKB: hashes.size / 1024,
      ...exactSizeValues(hashes.size, columns),
      IsLocalFileValid: true,
      LocalFileVerifiedAt: now,
    },
    log.column,
  );
  await writeScanLog(trx, log, row.ModelVersionId as number, now);
}
