/**
 * Thumbnail facts and bytes, batched. List queries never read BLOB content: `meta` uses `length()` (SQLite reads
 * it from the record header), and image pages prime it with the same columns. `head` reads a few leading bytes
 * only when a client asks for the sniffed MIME type; `bytes` loads whole BLOBs for `base64`/`dataUri`, counted
 * against a per-request budget.
 */
import type DataLoader from 'dataloader';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { thumbnailBytesById, thumbnailFactsById, thumbnailHeadsById } from '../db/reads.ts';
import { limitExceeded } from '../errors.ts';
import { base64Length, SNIFF_BYTES, type ThumbnailMeta } from '../thumbnails/facts.ts';
import { oneByKey, type RawRow } from './batch.ts';

export function metaFromImageRow(row: RawRow): ThumbnailMeta | null {
  if (row.thumbnailByteSize === null || row.thumbnailByteSize === undefined) return null;
  return {
    imageId: Number(row.id),
    byteSize: Number(row.thumbnailByteSize),
    width: row.thumbnailWidth == null ? null : Number(row.thumbnailWidth),
    height: row.thumbnailHeight == null ? null : Number(row.thumbnailHeight),
    storedMimeType: (row.thumbnailMimeType as string | null) ?? null,
    blurHash: (row.blurHash as string | null) ?? null,
  };
}

export interface ThumbnailLoaderOptions {
  /** Most base64 characters one response may carry (`base64` and `dataUri` together). */
  maxBase64Bytes: number;
}

export function createThumbnailLoaders(db: CatalogDatabase, options: ThumbnailLoaderOptions) {
  let base64Remaining = options.maxBase64Bytes;
  const meta = oneByKey(thumbnailFactsById(db), metaFromImageRow);
  const head = oneByKey(thumbnailHeadsById(db, SNIFF_BYTES), (row) => row.head as Buffer);
  const bytes = oneByKey(thumbnailBytesById(db), (row) => row.bytes as Buffer);
  return {
    meta: meta as DataLoader<number, ThumbnailMeta | null>,
    /** Records what a page already read, so `thumbnail { … }` costs no statement of its own. */
    primeFromImageRows(rows: readonly RawRow[]) {
      for (const row of rows) meta.prime(Number(row.id), metaFromImageRow(row));
    },
    head,
    bytes,
    /** Drops what this request has read about an image's thumbnail (after it was replaced). */
    forget(imageId: number) {
      for (const loader of [meta, head, bytes] as DataLoader<number, unknown>[]) loader.clear(imageId);
    },
    /** Reserves room for `byteSize` bytes as base64 in this response, or fails with LIMIT_EXCEEDED. */
    reserveBase64(byteSize: number) {
      const needed = base64Length(byteSize);
      if (needed > base64Remaining) {
        throw limitExceeded(
          `This response would carry more than ${options.maxBase64Bytes} bytes of base64 thumbnails. ` +
            'Ask for fewer images, or use `thumbnail { url }` and fetch the bytes over HTTP.',
          options.maxBase64Bytes,
        );
      }
      base64Remaining -= needed;
    },
  };
}
