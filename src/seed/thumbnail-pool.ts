/**
 * Real image bytes for seeded thumbnails, made with sharp: smooth gradients with grain, which compress like real
 * previews. `realistic` aims at the product's thumbnail budget (WebP, longest side 320 px, ~15–25 KB); `tiny`
 * keeps test databases small. A few PNG and JPEG entries exercise MIME sniffing.
 */
import sharp from 'sharp';
import { createRandom } from './random.ts';

export type ThumbnailProfile = 'none' | 'tiny' | 'realistic';

export interface PooledThumbnail {
  bytes: Buffer;
  mimeType: 'image/webp' | 'image/png' | 'image/jpeg';
  width: number;
  height: number;
}

const SHAPES: readonly [number, number][] = [
  [2, 3],
  [3, 2],
  [1, 1],
  [3, 4],
  [9, 16],
];

async function render(
  seed: number,
  longest: number,
  format: PooledThumbnail['mimeType'],
  grain: number,
): Promise<PooledThumbnail> {
  const random = createRandom(seed);
  const [a, b] = SHAPES[seed % SHAPES.length]!;
  const width = a >= b ? longest : Math.round((longest * a) / b);
  const height = a >= b ? Math.round((longest * b) / a) : longest;
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
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  const bytes =
    format === 'image/webp'
      ? await image.webp({ quality: 80 }).toBuffer()
      : format === 'image/png'
        ? await image.png().toBuffer()
        : await image.jpeg({ quality: 80 }).toBuffer();
  return { bytes, mimeType: format, width, height };
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
