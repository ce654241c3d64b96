/**
 * Keeping stored thumbnails healthy: statistics, generating missing ones (from cached files, or downloaded when
 * allowed), and pruning — images beyond the first N of a version, thumbnails over a byte budget (re-encoded,
 * else dropped), orphan rows — with the bytes reclaimed reported. VACUUM returns the space to the file system.
 */
import { existsSync } from 'node:fs';
import { databaseBytes } from '../db/stats.ts';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { updateChanged } from '../db/row-writer.ts';
import { imageRow } from '../db/tables/model-images.ts';
import {
  cachedFilesWithoutThumbnail,
  clearThumbnail,
  deleteOrphanImages,
  dropThumbnailsBeyond,
  imageSources,
  thumbnailHeads,
  thumbnailTotals,
  thumbnailsOver,
} from '../db/thumbnails.ts';
import { AppError, limitExceeded } from '../errors.ts';
import { makeThumbnail, type MadeThumbnail } from './maker.ts';
import { sniffImageMimeType } from './facts.ts';
import { readRegularFile } from '../library/library-files.ts';

export interface ThumbnailStats {
  images: number;
  withThumbnail: number;
  totalBytes: number;
  averageBytes: number;
  largestBytes: number;
  byMimeType: { mimeType: string; count: number; bytes: number }[];
  /** Images without a thumbnail whose cached file exists (generate can fill them offline). */
  generatableOffline: number;
  databaseBytes: number;
}

export async function thumbnailStats(db: CatalogDatabase): Promise<ThumbnailStats> {
  const totals = await thumbnailTotals(db.kysely);
  const byMime = new Map<string, { count: number; bytes: number }>();
  for (const { head, bytes } of await thumbnailHeads(db.kysely)) {
    const mime = sniffImageMimeType(head) ?? 'unknown';
    const entry = byMime.get(mime) ?? { count: 0, bytes: 0 };
    byMime.set(mime, { count: entry.count + 1, bytes: entry.bytes + bytes });
  }
  const cachedPaths = await cachedFilesWithoutThumbnail(db.kysely);
  return {
    ...totals,
    averageBytes: totals.withThumbnail ? Math.round(totals.totalBytes / totals.withThumbnail) : 0,
    byMimeType: [...byMime].map(([mimeType, v]) => ({ mimeType, ...v })).sort((a, b) => b.bytes - a.bytes),
    generatableOffline: cachedPaths.filter((p) => existsSync(p)).length,
    databaseBytes: await databaseBytes(db, { wal: false }),
  };
}

export interface GenerateOptions {
  /** Download images that have no cached file. */
  online?: boolean;
  /** Regenerate thumbnails that exist too (from the cached file). */
  force?: boolean;
  /** Fetch for downloads (tests pass their own). */
  fetchImpl?: typeof fetch;
  onProgress?: (done: number, total: number) => void;
  /** Longest side of the thumbnails made (DEFAULT_THUMBNAIL_SIDE when not given). */
  thumbnailSide?: number;
}

export interface GenerateResult {
  generated: number;
  failed: { imageId: number; message: string }[];
  skipped: number;
}

const MAX_DOWNLOAD_BYTES = 32 * 1024 * 1024;

/** An image's bytes from its http(s) URL (at most MAX_DOWNLOAD_BYTES, 30 s). */
export async function downloadImage(url: string, fetchImpl: typeof fetch = fetch): Promise<Buffer> {
  if (!/^https?:\/\//i.test(url)) throw new AppError('BAD_USER_INPUT', `not an http(s) URL: ${url}`);
  const response = await fetchImpl(url, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new AppError('UPSTREAM_ERROR', `HTTP ${response.status} for ${url}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > MAX_DOWNLOAD_BYTES)
    throw limitExceeded(`${url} is larger than ${MAX_DOWNLOAD_BYTES} bytes`, MAX_DOWNLOAD_BYTES);
  return bytes;
}

/** Stores a made thumbnail on an image row (its BlurHash only where the row has none). */
export function storeThumbnail(db: CatalogDatabase, imageId: number, thumbnail: MadeThumbnail): Promise<void> {
  return db.write(async (trx) => {
    const row = await imageRow(trx, imageId);
    if (!row) return;
    await updateChanged(trx, 'ModelImages', imageId, row, {
      ThumbnailData: thumbnail.bytes,
      ThumbnailMimeType: thumbnail.mimeType,
      ThumbnailWidth: thumbnail.width,
      ThumbnailHeight: thumbnail.height,
      ...(row.BlurHash === null ? { BlurHash: thumbnail.blurHash } : {}),
    });
  });
}

export async function generateThumbnails(db: CatalogDatabase, options: GenerateOptions = {}): Promise<GenerateResult> {
  const rows = await imageSources(db.kysely, options.force ?? false);
  const result: GenerateResult = { generated: 0, failed: [], skipped: 0 };
  for (const [index, row] of rows.entries()) {
    try {
      const source =
        row.cachePath && existsSync(row.cachePath)
          ? (await readRegularFile(row.cachePath, MAX_DOWNLOAD_BYTES)).bytes
          : options.online
            ? await downloadImage(row.url, options.fetchImpl ?? fetch)
            : null;
      if (source === null) result.skipped++;
      else {
        await storeThumbnail(db, row.id, await makeThumbnail(source, { maxSide: options.thumbnailSide }));
        result.generated++;
      }
    } catch (error) {
      result.failed.push({ imageId: row.id, message: (error as Error).message });
    }
    options.onProgress?.(index + 1, rows.length);
  }
  return result;
}

export interface PruneOptions {
  /** Keep thumbnails only for the first N images (by SortOrder) of each version. */
  keepPerVersion?: number | null;
  /** Re-encode thumbnails larger than this; drop them if still larger. */
  maxBytes?: number | null;
  vacuum?: boolean;
  /** Longest side of re-encoded thumbnails (DEFAULT_THUMBNAIL_SIDE when not given). */
  thumbnailSide?: number;
}

export interface PruneResult {
  droppedBeyondKeep: number;
  reencoded: number;
  droppedOversized: number;
  orphanRowsDeleted: number;
  bytesReclaimed: number;
  databaseBytesBefore: number;
  databaseBytesAfter: number;
}

export async function pruneThumbnails(db: CatalogDatabase, options: PruneOptions): Promise<PruneResult> {
  const result: PruneResult = {
    droppedBeyondKeep: 0,
    reencoded: 0,
    droppedOversized: 0,
    orphanRowsDeleted: 0,
    bytesReclaimed: 0,
    databaseBytesBefore: await databaseBytes(db, { wal: false }),
    databaseBytesAfter: 0,
  };
  // Rows whose version is gone (possible in databases written with foreign keys off).
  const orphans = await db.write(deleteOrphanImages);
  result.orphanRowsDeleted = orphans.n;
  result.bytesReclaimed += orphans.bytes;
  const keep = options.keepPerVersion;
  if (keep != null) {
    const dropped = await db.write((trx) => dropThumbnailsBeyond(trx, keep));
    result.droppedBeyondKeep = dropped.n;
    result.bytesReclaimed += dropped.bytes;
  }
  if (options.maxBytes != null) {
    for (const row of await thumbnailsOver(db.kysely, options.maxBytes)) {
      const smaller = await makeThumbnail(row.bytes, { maxSide: options.thumbnailSide }).catch(() => null);
      if (smaller && smaller.bytes.length <= options.maxBytes) {
        await storeThumbnail(db, row.id, smaller);
        result.reencoded++;
        result.bytesReclaimed += row.bytes.length - smaller.bytes.length;
      } else {
        await db.write((trx) => clearThumbnail(trx, row.id));
        result.droppedOversized++;
        result.bytesReclaimed += row.bytes.length;
      }
    }
  }
  if (options.vacuum) await db.vacuum();
  result.databaseBytesAfter = await databaseBytes(db, { wal: false });
  return result;
}
