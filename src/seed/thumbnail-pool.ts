/**
 * Real image bytes for seeded thumbnails, made with sharp: smooth gradients with grain, which compress like real
 * previews. `realistic` aims at the product's thumbnail budget (WebP, longest side 320 px, ~15–25 KB); `tiny`
 * keeps test databases small. A few PNG and JPEG entries exercise MIME sniffing. Each is the thumbnail of an image
 * of one of the sizes Stable Diffusion images are generated at, with that image's aspect ratio and a BlurHash of it.
 */
import { blurHashOf, imageCodec } from '../thumbnails/maker.ts';
import { createRandom } from './random.ts';

export type ThumbnailProfile = 'none' | 'tiny' | 'realistic';

export interface PooledThumbnail {
  bytes: Buffer;
  mimeType: 'image/webp' | 'image/png' | 'image/jpeg';
  width: number;
  height: number;
  /** The generated image this is the thumbnail of. */
  source: { width: number; height: number };
  blurHash: string;
}

/** Sizes images are generated at (SDXL buckets): portrait, landscape, square, about 3:4 and about 9:16. */
export const GENERATION_SIZES: readonly (readonly [number, number])[] = [
  [832, 1216],
  [1216, 832],
  [1024, 1024],
  [896, 1152],
  [768, 1344],
];

async function render(
  seed: number,
  longest: number,
  format: PooledThumbnail['mimeType'],
  grain: number,
): Promise<PooledThumbnail> {
  const random = createRandom(seed);
  const [sourceWidth, sourceHeight] = GENERATION_SIZES[seed % GENERATION_SIZES.length]!;
  // The source scaled to fit `longest`, as the thumbnail maker scales (sharp's `fit: 'inside'`).
  const scale = longest / Math.max(sourceWidth, sourceHeight);
  const width = Math.max(1, Math.round(sourceWidth * scale));
  const height = Math.max(1, Math.round(sourceHeight * scale));
  const base = [random.int(0, 255), random.int(0, 255), random.int(0, 255)];
  const tint = [random.int(0, 255), random.int(0, 255), random.int(0, 255)];
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x / width + y / height) / 2;
      const wave = Math.sin((x + seed) / 9) * Math.cos((y - seed) / 13);
      for (let c = 0; c < 3; c++) {
        const value = base[c]! * (1 - t) + tint[c]! * t + wave * 24 + (random.next() - 0.5) * grain;
        pixels[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(value)));
      }
    }
  }
  const image = (await imageCodec())(pixels, { raw: { width, height, channels: 3 } });
  const bytes =
    format === 'image/webp'
      ? await image.webp({ quality: 80 }).toBuffer()
      : format === 'image/png'
        ? await image.png().toBuffer()
        : await image.jpeg({ quality: 80 }).toBuffer();
  return {
    bytes,
    mimeType: format,
    width,
    height,
    source: { width: sourceWidth, height: sourceHeight },
    blurHash: await blurHashOf(bytes),
  };
}

/** `count` distinct thumbnails; every eighth is JPEG or PNG rather than WebP. */
export async function createThumbnailPool(
  profile: ThumbnailProfile,
  count: number,
  seed = 7,
): Promise<PooledThumbnail[]> {
  if (profile === 'none') return [];
  const longest = profile === 'realistic' ? 320 : 24;
  const grain = profile === 'realistic' ? 36 : 8;
  // Legacy desktop thumbnails are JPEG; PNG only where it stays small.
  const oddFormat = (i: number): PooledThumbnail['mimeType'] =>
    i % 16 === 15 || profile === 'realistic' ? 'image/jpeg' : 'image/png';
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      render(seed * 1000 + i, longest, i % 8 === 7 ? oddFormat(i) : 'image/webp', grain),
    ),
  );
}
