/**
 * A preview image next to a model file (`<stem>.preview.png` …) becomes the thumbnail of its version's primary
 * image — or, for a version with no images (a local file), its first image. Thumbnails Civitai data already
 * provided are not replaced.
 */
import { pathToFileURL } from 'node:url';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { insertRow, updateChanged } from '../db/row-writer.ts';
import { imagesOfVersion } from '../db/tables/model-images.ts';
import { makeThumbnail } from '../thumbnails/maker.ts';

/** Returns whether a thumbnail was stored. `bytes` are the preview file's (read inside the library roots). */
export async function applyPreview(
  db: CatalogDatabase,
  versionId: number,
  previewPath: string,
  bytes: Buffer,
  now: Date,
  thumbnailSide?: number,
): Promise<boolean> {
  const thumbnail = await makeThumbnail(bytes, { maxSide: thumbnailSide });
  return db.write(async (trx) => {
    const images = await imagesOfVersion(trx, versionId);
    const cached = {
      ThumbnailData: thumbnail.bytes,
      ThumbnailMimeType: thumbnail.mimeType,
      ThumbnailWidth: thumbnail.width,
      ThumbnailHeight: thumbnail.height,
      LocalCachePath: previewPath,
      IsLocalCacheValid: true,
      CachedAt: now,
      CachedFileSize: BigInt(bytes.length),
    };
    const fromThisPreview = images.find((image) => image.LocalCachePath === previewPath);
    const primary = images[0];
    const target = fromThisPreview ?? (primary && primary.ThumbnailData === null ? primary : undefined);
    if (target) {
      return updateChanged(trx, 'ModelImages', Number(target.Id), target, {
        ...cached,
        BlurHash: (target.BlurHash as string | null) ?? thumbnail.blurHash,
      });
    }
    if (primary) return false;
    await insertRow(trx, 'ModelImages', {
      ...cached,
      ModelVersionId: versionId,
      Url: pathToFileURL(previewPath).href,
      IsNsfw: false,
      NsfwLevel: 'None',
      Width: thumbnail.sourceWidth,
      Height: thumbnail.sourceHeight,
      BlurHash: thumbnail.blurHash,
      SortOrder: 0,
      CreatedAt: now,
      LikeCount: 0,
      HeartCount: 0,
      CommentCount: 0,
    });
    return true;
  });
}
