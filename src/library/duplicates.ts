/** Duplicate local files from the scan index: grouped by size first (cheap), then SHA-256 — never re-hashed. */
import type { CatalogDatabase } from '../db/catalog-database.ts';

export interface LocalFileShape {
  path: string;
  size: bigint;
  mtimeMs: number;
  modelFileId: number | null;
}

export interface DuplicateGroup {
  sha256: string;
  size: bigint;
  files: LocalFileShape[];
}

export function duplicateGroups(db: CatalogDatabase, limit: number): DuplicateGroup[] {
  const groups = db
    .statement(`SELECT "Size" AS "size", "HashSHA256" AS "sha256", COUNT(*) AS "copies" FROM "LocalFiles"
      WHERE "MissingSince" IS NULL AND "HashSHA256" IS NOT NULL GROUP BY "Size", "HashSHA256" HAVING COUNT(*) > 1
      ORDER BY "Size" * (COUNT(*) - 1) DESC, "HashSHA256" LIMIT ?`)
    .safeIntegers(true)
    .all(limit) as { size: bigint; sha256: string }[];
  const files = db
    .statement(`SELECT "Path" AS "path", "Size" AS "size", "MtimeMs" AS "mtimeMs", "ModelFileId" AS "modelFileId" FROM "LocalFiles"
    WHERE "Size" = ? AND "HashSHA256" = ? AND "MissingSince" IS NULL ORDER BY "Path"`)
    .safeIntegers(true);
  return groups.map((group) => ({
    sha256: group.sha256,
    size: group.size,
    files: (
      files.all(group.size, group.sha256) as {
        path: string;
        size: bigint;
        mtimeMs: number;
        modelFileId: bigint | null;
      }[]
    ).map((f) => ({
      path: f.path,
      size: f.size,
      mtimeMs: Number(f.mtimeMs),
      modelFileId: f.modelFileId === null ? null : Number(f.modelFileId),
    })),
  }));
}
