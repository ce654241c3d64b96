/**
 * Thumbnails as the catalog stores them: WebP, longest side 320 px (configurable), quality 80 — about 10–25 KB for
 * a typical preview — plus a BlurHash placeholder. Used for preview files, cached images, uploads and downloads.
 * Images are bounded in pixels before they are decoded (a 776 KB PNG can decode to 16000 × 16000), and at most
 * two are decoded at once, so uploads and scans cannot take the server's memory.
 */
import type Sharp from 'sharp';
import { encode } from 'blurhash';
import { DEFAULT_THUMBNAIL_SIDE, MAX_IMAGE_PIXELS } from '../config.ts';
import { AppError, isAppError, limitExceeded } from '../errors.ts';

export interface ThumbnailOptions {
  /** Longest side in pixels (the configured `thumbnailSide`; DEFAULT_THUMBNAIL_SIDE when not given). */
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

let loaded: Promise<typeof Sharp> | undefined;

/**
 * sharp, loaded on the first image decoded or made rather than at start-up: libvips is several MiB of resident code
 * and about 80 ms of every start, and a server that only answers reads never decodes an image (stored thumbnails are
 * sent as they are).
 */
export function imageCodec(): Promise<typeof Sharp> {
  loaded ??= import('sharp').then(({ default: sharp }) => {
    // libvips' operation cache would keep decoded pixels of large images alive after their thumbnail is made.
    sharp.cache(false);
    return sharp;
  });
  return loaded;
}

/** Decodes at a time: each can hold a full-size bitmap (up to MAX_IMAGE_PIXELS × 4 bytes). */
const MAX_DECODES = 2;
let decoding = 0;
const waiting: (() => void)[] = [];

async function oneDecodeAtATime<T>(work: () => Promise<T>): Promise<T> {
  if (decoding >= MAX_DECODES) await new Promise<void>((resolve) => waiting.push(resolve));
  decoding++;
  try {
    return await work();
  } finally {
    decoding--;
    waiting.shift()?.();
  }
}

/**
 * Formats thumbnails are made from, and what decoding one costs in memory per pixel relative to JPEG/PNG/WebP/GIF:
 * AVIF (sharp reports it as `heif`) is decoded whole, with no shrink-on-load, at about 20–27 bytes per pixel
 * (measured), so it gets a quarter of the pixel budget. Anything else — SVG (a renderer, with filters that run for
 * minutes), TIFF, PDF, RAW — is refused: no preview Civitai or a model folder holds needs them.
 */
const DECODE_COST: Readonly<Record<string, number>> = { jpeg: 1, png: 1, webp: 1, gif: 1, heif: 4 };
const FORMAT_NAMES = 'JPEG, PNG, WebP, GIF or AVIF';

/** The image's pixel size from its header (nothing decoded); LIMIT_EXCEEDED past its format's pixel budget. */
export async function checkedImageSize(
  source: Buffer,
): Promise<{ width: number; height: number; format: string | undefined }> {
  const sharp = await imageCodec();
  const meta = await sharp(source, { failOn: 'error', limitInputPixels: false }).metadata();
  const cost = meta.format === undefined ? undefined : DECODE_COST[meta.format];
  if (cost === undefined)
    throw new AppError(
      'BAD_USER_INPUT',
      `Thumbnails are made from ${FORMAT_NAMES} images, not ${meta.format ?? 'this'}.`,
    );
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.height ?? 0;
  const maxPixels = Math.floor(MAX_IMAGE_PIXELS / cost);
  if (width * height > maxPixels) {
    throw limitExceeded(
      `The image is ${width} × ${height} pixels; at most ${maxPixels} pixels of ${meta.format === 'heif' ? 'AVIF' : 'this format'} are decoded.`,
      maxPixels,
    );
  }
  return { width, height, format: meta.format };
}

/** The BlurHash placeholder (4×3 components) of a thumbnail-sized image, computed from a 32 px copy of it. */
export async function blurHashOf(image: Buffer): Promise<string> {
  const sharp = await imageCodec();
  const tiny = await sharp(image)
    .resize(32, 32, { fit: 'inside' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return encode(new Uint8ClampedArray(tiny.data), tiny.info.width, tiny.info.height, 4, 3);
}

/** Decodes any image sharp reads (first frame of animations) into a thumbnail; BAD_USER_INPUT if it is no image. */
export async function makeThumbnail(source: Buffer, options: ThumbnailOptions = {}): Promise<MadeThumbnail> {
  const maxSide = options.maxSide ?? DEFAULT_THUMBNAIL_SIDE;
  try {
    const { width: sourceWidth, height: sourceHeight } = await checkedImageSize(source);
    const sharp = await imageCodec();
    return await oneDecodeAtATime(async () => {
      const image = sharp(source, { failOn: 'error', animated: false, limitInputPixels: MAX_IMAGE_PIXELS }).rotate();
      const { data, info } = await image
        .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: options.quality ?? 80, effort: 4 })
        .toBuffer({ resolveWithObject: true });
      return {
        bytes: data,
        mimeType: 'image/webp' as const,
        width: info.width,
        height: info.height,
        blurHash: await blurHashOf(data),
        sourceWidth,
        sourceHeight,
      };
    });
  } catch (error) {
    if (isAppError(error)) throw error;
    throw new AppError('BAD_USER_INPUT', `Not a readable image: ${(error as Error).message}`);
  }
}
