/**
 * The scanner's database side: the LocalFiles index, linking a hashed file to the catalog file it is (or a
 * second copy of it), creating a catalog entry for a file Civitai data does not describe, and marking files that
 * disappeared. Every function runs in one IMMEDIATE transaction.
 */
import path from 'node:path';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { insertRow, updateChanged, type RowValues } from '../db/row-writer.ts';
import { toStoredTimestamp } from '../db/timestamps.ts';
import type { BaseModelName, ModelTypeName } from '../db/enums.ts';
import type { FileHashes } from './hashing/file-hasher.ts';
import { replaceTriggerWords } from '../civitai/import.ts';

type Row = Record<string, unknown>;

export interface LocalFileRow {
  Id: number;
  Path: string;
  Size: number;
  MtimeMs: number;
  HashSHA256: string | null;
  HashAutoV1: string | null;
  HashAutoV2: string | null;
  HashAutoV3: string | null;
  HashCRC32: string | null;
  HashBLAKE3: string | null;
  MissingSince: string | null;
  SidecarMtimeMs: number | null;
  PreviewMtimeMs: number | null;
  ModelFileId: number | null;
}

export type StoredHashes = Omit<FileHashes, 'safetensorsMetadata' | 'mtimeMs'>;

export function hashesOf(row: LocalFileRow): StoredHashes | null {
  if (!row.HashSHA256 || !row.HashAutoV2 || !row.HashCRC32 || !row.HashBLAKE3) return null;
  return {
    size: Number(row.Size),
    sha256: row.HashSHA256,
    autoV1: row.HashAutoV1,
    autoV2: row.HashAutoV2,
    autoV3: row.HashAutoV3,
    crc32: row.HashCRC32,
    blake3: row.HashBLAKE3,
  };
}

/** LocalFiles rows below `root` (prefix range on the unique Path index). */
export function localFilesUnder(db: CatalogDatabase, root: string): LocalFileRow[] {
  const prefix = root.endsWith(path.sep) ? root : `${root}${path.sep}`;
  return db
    .statement(`SELECT * FROM "LocalFiles" WHERE "Path" >= ? AND "Path" < ?`)
    .safeIntegers(false)
    .all(prefix, `${prefix}\uffff`) as LocalFileRow[];
}

export function localFileAt(db: CatalogDatabase, filePath: string): LocalFileRow | undefined {
  return db.statement(`SELECT * FROM "LocalFiles" WHERE "Path" = ?`).safeIntegers(false).get(filePath) as
    | LocalFileRow
    | undefined;
}

/** Records what the scan saw of a file (and its hashes when it was read). */
export function recordLocalFile(
  db: CatalogDatabase,
  seen: { path: string; size: number; mtimeMs: number },
  hashes: StoredHashes | null,
  now: Date,
): Promise<LocalFileRow> {
  return db.write(() => {
    const values: RowValues = { Size: BigInt(seen.size), MtimeMs: seen.mtimeMs, LastSeenAt: now, MissingSince: null };
    if (hashes) {
      Object.assign(values, {
        HashSHA256: hashes.sha256,
        HashAutoV1: hashes.autoV1,
        HashAutoV2: hashes.autoV2,
        HashAutoV3: hashes.autoV3,
        HashCRC32: hashes.crc32,
        HashBLAKE3: hashes.blake3,
        HashedAt: now,
      });
    }
    const existing = localFileAt(db, seen.path);
    if (existing) updateChanged(db, 'LocalFiles', existing.Id, { ...existing }, values);
    else insertRow(db, 'LocalFiles', { ...values, Path: seen.path, FirstSeenAt: now });
    return localFileAt(db, seen.path)!;
  });
}

export function rememberSidecarAndPreview(
  db: CatalogDatabase,
  id: number,
  sidecarMtimeMs: number | null,
  previewMtimeMs: number | null,
): Promise<void> {
  return db.write(() => {
    db.statement(`UPDATE "LocalFiles" SET "SidecarMtimeMs" = ?, "PreviewMtimeMs" = ? WHERE "Id" = ?`).run(
      sidecarMtimeMs,
      previewMtimeMs,
      id,
    );
  });
}

/** Marks files of `root` that the scan did not see: the index row, and the catalog file linked to that path. */
export function markMissing(db: CatalogDatabase, rows: readonly LocalFileRow[], now: Date): Promise<number> {
  return db.write(() => {
    let count = 0;
    for (const row of rows) {
      if (row.MissingSince !== null) continue;
      db.statement(`UPDATE "LocalFiles" SET "MissingSince" = ? WHERE "Id" = ?`).run(toStoredTimestamp(now), row.Id);
      db.statement(
        `UPDATE "ModelFiles" SET "IsLocalFileValid" = 0, "LocalFileVerifiedAt" = ? WHERE "LocalPath" = ?`,
      ).run(toStoredTimestamp(now), row.Path);
      count++;
    }
    return count;
  });
}

const HASH_FIELDS: [keyof StoredHashes, string][] = [
  ['sha256', 'HashSHA256'],
  ['blake3', 'HashBLAKE3'],
  ['autoV1', 'HashAutoV1'],
  ['autoV2', 'HashAutoV2'],
  ['crc32', 'HashCRC32'],
  ['autoV3', 'HashAutoV3'],
];

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
export function catalogFilesFor(db: CatalogDatabase, hashes: StoredHashes): CatalogMatches {
  const strong = db
    .statement(
      `SELECT * FROM "ModelFiles" f WHERE upper(f."HashSHA256") = ? OR upper(f."HashBLAKE3") = ? ORDER BY f."Id"`,
    )
    .safeIntegers(false)
    .all(hashes.sha256, hashes.blake3) as Row[];
  if (strong.length > 0) return { same: strong, lookalikes: [] };
  let lookalikes: Row[] = [];
  if (hashes.autoV3) {
    const byV3 = db
      .statement(`SELECT * FROM "ModelFiles" f WHERE upper(substr(f."HashAutoV3", 1, 12)) = ? ORDER BY f."Id"`)
      .safeIntegers(false)
      .all(hashes.autoV3.slice(0, 12)) as Row[];
    const exact = byV3.filter(
      (f) => (f.HashAutoV3 as string).length === 12 || (f.HashAutoV3 as string).toUpperCase() === hashes.autoV3,
    );
    const same = exact.filter((f) => sha256Agrees(f, hashes) !== false);
    if (same.length > 0) return { same, lookalikes: [] };
    lookalikes = exact;
  }
  const byV2 = db
    .statement(`SELECT * FROM "ModelFiles" f WHERE upper(f."HashAutoV2") = ? ORDER BY f."Id"`)
    .safeIntegers(false)
    .all(hashes.autoV2) as Row[];
  return { same: byV2.length === 1 ? byV2 : [], lookalikes };
}

/**
 * A file with the weights of catalog file `lookalike` but other bytes: recorded as another file of the same
 * version, under its own name and with its own hashes (never the look-alike's).
 */
export function linkAsVariant(
  db: CatalogDatabase,
  localFileId: number,
  file: { path: string; fileName: string },
  hashes: StoredHashes,
  lookalike: Row,
  now: Date,
): Promise<number> {
  return db.write(() => {
    const modelFileId = insertRow(db, 'ModelFiles', {
      ModelVersionId: lookalike.ModelVersionId as number,
      FileName: file.fileName,
      SizeKB: hashes.size / 1024,
      FileType: lookalike.FileType as string,
      IsPrimary: false,
      Format: lookalike.Format as string,
      Precision: lookalike.Precision as string,
      SizeType: lookalike.SizeType as string,
      PickleScanResult: 'Pending',
      VirusScanResult: 'Pending',
      ...ownHashes(hashes),
      LocalPath: file.path,
      IsLocalFileValid: true,
      LocalFileVerifiedAt: now,
    });
    db.statement(`UPDATE "LocalFiles" SET "ModelFileId" = ? WHERE "Id" = ?`).run(modelFileId, localFileId);
    return modelFileId;
  });
}

/** All six hash columns from what the scan computed. */
function ownHashes(hashes: StoredHashes): RowValues {
  return Object.fromEntries(HASH_FIELDS.map(([field, column]) => [column, hashes[field]])) as RowValues;
}

/** Hash columns the catalog row lacks, filled from what the scan computed. */
function missingHashes(row: Row, hashes: StoredHashes): RowValues {
  const values: RowValues = {};
  for (const [field, column] of HASH_FIELDS) {
    if (row[column] === null && hashes[field] !== null) values[column] = hashes[field] as string;
  }
  return values;
}

export type LinkOutcome = 'already-linked' | 'linked' | 'moved' | 'duplicate-copy';

function isPathMissing(db: CatalogDatabase, localPath: string, seenPaths: ReadonlySet<string>): boolean {
  if (seenPaths.has(localPath)) return false;
  const row = localFileAt(db, localPath);
  return row?.MissingSince !== null && row?.MissingSince !== undefined;
}

/**
 * Links the file at `filePath` to one of `candidates` (catalog rows with its hash): the row already pointing here;
 * else a row with no local copy, or whose copy disappeared (a move); else a new row copying the first candidate
 * (the same file downloaded twice keeps two rows).
 */
export function linkToCatalog(
  db: CatalogDatabase,
  localFileId: number,
  filePath: string,
  hashes: StoredHashes,
  candidates: readonly Row[],
  seenPaths: ReadonlySet<string>,
  now: Date,
): Promise<{ modelFileId: number; outcome: LinkOutcome }> {
  return db.write(() => {
    const verified: RowValues = { LocalPath: filePath, IsLocalFileValid: true, LocalFileVerifiedAt: now };
    const here = candidates.find((c) => c.LocalPath === filePath);
    const free =
      candidates.find((c) => c.LocalPath === null) ??
      candidates.find((c) => isPathMissing(db, c.LocalPath as string, seenPaths));
    let target: Row;
    let outcome: LinkOutcome;
    if (here) [target, outcome] = [here, 'already-linked'];
    else if (free) [target, outcome] = [free, free.LocalPath === null ? 'linked' : 'moved'];
    else {
      const original = candidates[0]!;
      const { Id: _id, ...copy } = original;
      const id = insertRow(db, 'ModelFiles', {
        ...(copy as RowValues),
        IsPrimary: false,
        ...verified,
        ...ownHashes(hashes),
      });
      target = { ...original, Id: id, LocalPath: filePath };
      outcome = 'duplicate-copy';
    }
    const modelFileId = target.Id as number;
    updateChanged(db, 'ModelFiles', modelFileId, target, { ...verified, ...missingHashes(target, hashes) });
    db.statement(`UPDATE "LocalFiles" SET "ModelFileId" = ? WHERE "Id" = ?`).run(modelFileId, localFileId);
    return { modelFileId, outcome };
  });
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
export function createLocalModel(
  db: CatalogDatabase,
  localFileId: number,
  filePath: string,
  hashes: StoredHashes,
  facts: LocalModelFacts,
  now: Date,
): Promise<number> {
  return db.write(() => {
    const modelId = insertRow(db, 'Models', {
      Name: facts.name,
      Description: facts.description,
      Type: facts.type,
      IsNsfw: false,
      IsPoi: false,
      Mode: 'Available',
      Source: 'LocalFile',
      CreatedAt: now,
      UpdatedAt: now,
      AllowNoCredit: true,
      AllowCommercialUse: 'None',
      AllowDerivatives: true,
      AllowDifferentLicense: true,
    });
    const versionId = insertRow(db, 'ModelVersions', {
      ModelId: modelId,
      Name: 'Local file',
      BaseModel: facts.baseModel,
      BaseModelRaw: facts.baseModelRaw,
      CreatedAt: facts.fileMtime,
      EarlyAccessDays: 0,
      DownloadCount: 0,
      RatingCount: 0,
      Rating: 0,
      ThumbsUpCount: 0,
      ThumbsDownCount: 0,
    });
    replaceTriggerWords(db, versionId, facts.triggerWords);
    const modelFileId = insertRow(db, 'ModelFiles', {
      ModelVersionId: versionId,
      FileName: facts.fileName,
      SizeKB: hashes.size / 1024,
      FileType: 'Model',
      IsPrimary: true,
      Format: facts.format,
      Precision: 'Unknown',
      SizeType: 'Unknown',
      PickleScanResult: 'Pending',
      VirusScanResult: 'Pending',
      HashSHA256: hashes.sha256,
      HashAutoV1: hashes.autoV1,
      HashAutoV2: hashes.autoV2,
      HashAutoV3: hashes.autoV3,
      HashCRC32: hashes.crc32,
      HashBLAKE3: hashes.blake3,
      LocalPath: filePath,
      IsLocalFileValid: true,
      LocalFileVerifiedAt: now,
    });
    db.statement(`UPDATE "LocalFiles" SET "ModelFileId" = ? WHERE "Id" = ?`).run(modelFileId, localFileId);
    return modelFileId;
  });
}

/** The catalog file a LocalFiles row points at, if its model was created from this local file alone. */
export function localOnlyModelFile(db: CatalogDatabase, modelFileId: number): Row | undefined {
  return db
    .statement(`SELECT f.*, m."Id" AS "OwnerModelId" FROM "ModelFiles" f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId"
    JOIN "Models" m ON m."Id" = v."ModelId" WHERE f."Id" = ? AND m."Source" = 'LocalFile' AND m."CivitaiId" IS NULL`)
    .safeIntegers(false)
    .get(modelFileId) as Row | undefined;
}

/** A local-only model's file whose content changed: keep the entry, refresh its hashes. */
export function refreshLocalOnlyHashes(
  db: CatalogDatabase,
  modelFileId: number,
  hashes: StoredHashes,
  now: Date,
): Promise<void> {
  return db.write(() => {
    const row = db.statement(`SELECT * FROM "ModelFiles" WHERE "Id" = ?`).safeIntegers(false).get(modelFileId) as Row;
    updateChanged(db, 'ModelFiles', modelFileId, row, {
      HashSHA256: hashes.sha256,
      HashAutoV1: hashes.autoV1,
      HashAutoV2: hashes.autoV2,
      HashAutoV3: hashes.autoV3,
      HashCRC32: hashes.crc32,
      HashBLAKE3: hashes.blake3,
      SizeKB: hashes.size / 1024,
      IsLocalFileValid: true,
      LocalFileVerifiedAt: now,
    });
  });
}

export function versionOfFile(db: CatalogDatabase, modelFileId: number): number | null {
  const row = db
    .statement(`SELECT "ModelVersionId" AS "versionId" FROM "ModelFiles" WHERE "Id" = ?`)
    .get(modelFileId) as { versionId: number } | undefined;
  return row?.versionId ?? null;
}
