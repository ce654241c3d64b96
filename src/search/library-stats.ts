/** The catalog at a glance: counts, local files present and missing, thumbnails and their bytes, sizes on disk. */
import { statSync } from 'node:fs';
import type { CatalogDatabase } from '../db/catalog-database.ts';

export interface LibraryStats {
  models: number;
  versions: number;
  files: number;
  localFilesValid: number;
  localFilesMissing: number;
  localBytes: number;
  images: number;
  thumbnails: number;
  thumbnailBytes: number;
  databaseBytes: number;
  byBaseModel: { value: string; count: number }[];
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export function libraryStats(db: CatalogDatabase): LibraryStats {
  const counts = db
    .statement(`SELECT
      (SELECT COUNT(*) FROM "Models") AS models,
      (SELECT COUNT(*) FROM "ModelVersions") AS versions,
      (SELECT COUNT(*) FROM "ModelFiles") AS files,
      (SELECT COUNT(*) FROM "ModelFiles" WHERE "LocalPath" IS NOT NULL AND "IsLocalFileValid" = 1) AS localFilesValid,
      (SELECT COUNT(*) FROM "ModelFiles" WHERE "LocalPath" IS NOT NULL AND "IsLocalFileValid" = 0) AS localFilesMissing,
      (SELECT COALESCE(SUM("SizeKB"), 0) * 1024 FROM "ModelFiles" WHERE "LocalPath" IS NOT NULL AND "IsLocalFileValid" = 1) AS localBytes,
      (SELECT COUNT(*) FROM "ModelImages") AS images,
      (SELECT COUNT("ThumbnailData") FROM "ModelImages") AS thumbnails,
      (SELECT COALESCE(SUM(length("ThumbnailData")), 0) FROM "ModelImages") AS thumbnailBytes`)
    .get() as Omit<LibraryStats, 'databaseBytes' | 'byBaseModel'>;
  const byBaseModel = db
    .statement(
      `SELECT "BaseModel" AS value, COUNT(*) AS count FROM "ModelVersions" GROUP BY "BaseModel" ORDER BY count DESC, value`,
    )
    .all() as { value: string; count: number }[];
  return {
    ...counts,
    localBytes: Math.round(counts.localBytes),
    // The WAL holds recent writes not yet checkpointed into the main file.
    databaseBytes: fileSize(db.path) + fileSize(`${db.path}-wal`),
    byBaseModel,
  };
}
