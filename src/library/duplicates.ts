/** Duplicate local files from the scan index: grouped by size first (cheap), then SHA-256 — never re-hashed. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { copiesOf, duplicatedContents, duplicateTotals } from '../db/tables/local-files.ts';

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

/** The `limit` contents with the most bytes wasted on extra copies, largest first. */
export async function duplicateGroups(db: CatalogDatabase, limit: number): Promise<DuplicateGroup[]> {
  const groups: DuplicateGroup[] = [];
  for (const content of await duplicatedContents(db.kysely, limit)) {
    const size = BigInt(content.size);
    const files = await copiesOf(db.kysely, content.size, content.sha256);
    groups.push({
      sha256: content.sha256,
      size,
      files: files.map((f) => ({ path: f.Path, size, mtimeMs: Number(f.MtimeMs), modelFileId: f.ModelFileId })),
    });
  }
  return groups;
}

/** What `duplicateGroups` would list without a limit, counted: contents held more than once, and their extra copies. */
export function duplicateCounts(db: CatalogDatabase): Promise<{ contents: number; extraCopies: number }> {
  return duplicateTotals(db.kysely);
}
