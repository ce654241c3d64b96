/**
 * Thumbnails as the catalog stores them: WebP, longest side 320 px (configurable), quality 80 — about 10–25 KB for
 * a typical preview — plus a BlurHash placeholder. Used for preview files, cached images, uploads and downloads.
 */
import sharp from 'sharp';
import { encode } from 'blurhash';
import { AppError } from '../errors.ts';

export interface ThumbnailOptions {
  /** Longest side in pixels (default 320, or DIFFUSION_NEXUS_THUMBNAIL_SIZE). */
  maxSide?: number;
  quality?: number;
}

export interface MadeThumbnail {
  bytes: Buffer;
  mimeType: 'image/webp';
  width: number;
  height: number;
  /** Placeholder for the full image (4×3 components). */
  blurHash: string;
  /** Size of the source image. */
  sourceWidth: number;
  sourceHeight: number;
}

export function defaultThumbnailSide(): number {
  const value = Number(process.env.DIFFUSION_NEXUS_THUMBNAIL_SIZE);
  return Number.isInteger(value) && value >= 32 && value <= 2048 ? value : 320;
}

/** Decodes any image sharp reads (first frame of animations) into a thumbnail; BAD_USER_INPUT if it is no image. */
export async function makeThumbnail(source: Buffer | string, options: ThumbnailOptions = {}): Promise<MadeThumbnail> {
  const maxSide = options.maxSide ?? defaultThumbnailSide();
  try {
    const image = sharp(source, { failOn: 'error', animated: false }).rotate();
    const meta = await image.metadata();
    const { data, info } = await image.clone().resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: options.quality ?? 80, effort: 4 }).toBuffer({ resolveWithObject: true });
    const tiny = await sharp(data).resize(32, 32, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const blurHash = encode(new Uint8ClampedArray(tiny.data), tiny.info.width, tiny.info.height, 4, 3);
    return {
      bytes: data, mimeType: 'image/webp', width: info.width, height: info.height, blurHash,
      sourceWidth: meta.autoOrient?.width ?? meta.width ?? info.width, sourceHeight: meta.autoOrient?.height ?? meta.height ?? info.height,
    };
  } catch (error) {
    throw new AppError('BAD_USER_INPUT', `Not a readable image${typeof source === 'string' ? ` (${source})` : ''}: ${(error as Error).message}`);
  }
}
