/**
 * A deterministic catalog for tests, benchmarks and demos: creators, models with tags, several versions each,
 * files with every hash, images with generation metadata and real thumbnail bytes, trigger words. It deliberately
 * includes what real databases contain: timestamps in the desktop app's format beside Prisma's, lower-case hashes
 * written by other tools, 64-bit seeds, thumbnails whose stored MIME type is wrong, NSFW and video previews. What
 * a user would compare agrees: files are named after their model and version, a description names the model's
 * first tag, an image's size, thumbnail and BlurHash have one aspect ratio and one look.
 * Rows go in through batched prepared statements in one transaction (seconds for thousands of models).
 */
import { createHash } from 'node:crypto';
import { writeSeedRows } from '../db/seed-writer.ts';
import { BaseModel, ModelType } from '../db/enums.ts';
import { createRandom, type Random } from './random.ts';
import { createThumbnailPool, GENERATION_SIZES } from './thumbnail-pool.ts';

export { type CatalogSize, TEST_CATALOG } from './catalog-size.ts';
import type { CatalogSize } from './catalog-size.ts';

export interface SeedSummary {
  models: number;
  versions: number;
  files: number;
  images: number;
  thumbnails: number;
  thumbnailBytes: number;
  creators: number;
  tags: number;
}

const TAG_WORDS = [
  'style',
  'anime',
  'character',
  'concept',
  'clothing',
  'realistic',
  'landscape',
  'portrait',
  'tool',
  'photography',
  'fantasy',
  'sci-fi',
  'horror',
  'cute',
  'vehicle',
  'architecture',
  'food',
  'animal',
  'celebrity',
  'background',
  'pixel art',
  'watercolor',
  'isometric',
  'cyberpunk',
];
const NAME_WORDS = [
  'Velvet',
  'Neon',
  'Pastel',
  'Ink',
  'Chrome',
  'Moss',
  'Ember',
  'Frost',
  'Lumen',
  'Drift',
  'Aurora',
  'Cobalt',
  'Saffron',
  'Umbra',
  'Quartz',
  'Willow',
  '東京',
  'Café',
  'Ørsted',
  'Nocturne',
];
const NAME_KINDS = [
  'Style',
  'Detailer',
  'Portraits',
  'Landscapes',
  'Mix',
  'Helper',
  'Lighting',
  'Outfit',
  'Character',
  'Concept',
];
const BASE_MODEL_RAW: Partial<Record<string, string>> = {
  SD15: 'SD 1.5',
  SDXL10: 'SDXL 1.0',
  Pony: 'Pony',
  Illustrious: 'Illustrious',
  Flux1D: 'Flux.1 D',
  SD35: 'SD 3.5',
};
const COMMON_TYPES = [
  'LORA',
  'LORA',
  'LORA',
  'LORA',
  'Checkpoint',
  'TextualInversion',
  'LoCon',
  'DoRA',
  'VAE',
  'Controlnet',
  'Upscaler',
] as const;
const COMMON_BASES = ['SD15', 'SDXL10', 'SDXL10', 'Pony', 'Illustrious', 'Flux1D', 'SD35', 'NoobAI'] as const;
const SAMPLERS = ['Euler a', 'DPM++ 2M Karras', 'DPM++ SDE', 'UniPC', 'LCM'];
const NSFW_LEVELS = ['None', 'Soft', 'Mature', 'X'] as const;

/** Every third row in the desktop app's timestamp format, the rest in Prisma's. */
function storedTimestamp(date: Date, index: number): string {
  const iso = date.toISOString();
  return index % 3 === 0 ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}4567+00:00` : iso.replace('Z', '+00:00');
}

function hex(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length).toUpperCase();
}

function modelName(random: Random, index: number): string {
  return `${random.pick(NAME_WORDS)} ${random.pick(NAME_KINDS)} ${index}`;
}

/** A file name stem from a model name, as people name their files: words (any script) joined by underscores. */
function fileStem(name: string): string {
  return name.replace(/[^\p{L}\p{N}]+/gu, '_');
}

const EPOCH = Date.UTC(2023, 0, 1);
const SPAN_MS = Date.UTC(2026, 9, 1) - EPOCH;

/** Seeds an empty, migrated catalog file. Deterministic for a given size and seed. */
export async function seedCatalog(databasePath: string, size: CatalogSize, seed = 1): Promise<SeedSummary> {
  const random = createRandom(seed);
  const pool = await createThumbnailPool(size.thumbnails, 24, seed);
  const summary: SeedSummary = {
    models: 0,
    versions: 0,
    files: 0,
    images: 0,
    thumbnails: 0,
    thumbnailBytes: 0,
    creators: 0,
    tags: 0,
  };
  writeSeedRows(databasePath, (insert) => {
    const creatorIds: number[] = [];
    for (let c = 0; c < size.creators; c++) {
      const username = c % 4 === 0 ? `PixelSmith${c}` : `creator_${c}`;
      creatorIds.push(
        insert.creator(
          username,
          c % 2 ? `https://avatars.example.invalid/${c}.png` : null,
          storedTimestamp(new Date(EPOCH + c * 86_400_000), c),
        ),
      );
    }
    const tagIds: number[] = [];
    const tagNames: string[] = [];
    for (let t = 0; t < size.tags; t++) {
      const name = t < TAG_WORDS.length ? TAG_WORDS[t]! : `tag ${t}`;
      const display = t % 5 === 0 ? name.toUpperCase() : name;
      tagIds.push(insert.tag(display, name.toLowerCase()));
      tagNames.push(name);
    }
    summary.creators = creatorIds.length;
    summary.tags = tagIds.length;

    let versionCounter = 0;
    let fileCounter = 0;
    let imageCounter = 0;
    for (let m = 0; m < size.models; m++) {
      const created = new Date(EPOCH + Math.floor(random.next() * SPAN_MS));
      const updated = new Date(created.getTime() + random.int(0, 90) * 86_400_000);
      const type = m % 17 === 16 ? random.pick(ModelType.members) : random.pick(COMMON_TYPES);
      const isLocalOnly = m % 11 === 10;
      const name = modelName(random, m);
      const tags = Array.from(
        { length: tagIds.length === 0 ? 0 : 1 + (m % 4) },
        (_, t) => (m * 7 + t * 5) % tagIds.length,
      );
      const modelId = insert.model(
        isLocalOnly ? null : 100_000 + m,
        name,
        // About what the model's first tag says it is about.
        m % 6 === 0 || tags.length === 0 ? null : `<p>A ${type} for <b>${tagNames[tags[0]!]}</b> images.</p>`,
        type,
        random.chance(0.15) ? 1 : 0,
        m % 23 === 22 ? 'Archived' : 'Available',
        isLocalOnly ? 'LocalFile' : 'CivitaiApi',
        storedTimestamp(created, m),
        storedTimestamp(updated, m + 1),
        isLocalOnly ? null : storedTimestamp(updated, m),
        random.chance(0.7) ? 1 : 0,
        random.pick(['None', 'Image', 'Rent', 'Sell']),
        1,
        random.chance(0.5) ? 1 : 0,
        m % 9 === 8 || creatorIds.length === 0 ? null : creatorIds[m % creatorIds.length]!,
      );
      summary.models++;
      for (const t of tags) insert.modelTag(modelId, tagIds[t]!);

      for (let v = 0; v < size.versionsPerModel; v++) {
        const versionIndex = versionCounter++;
        const vCreated = new Date(created.getTime() + v * 7 * 86_400_000 + random.int(0, 86_400_000));
        const baseModel = versionIndex % 29 === 28 ? random.pick(BaseModel.members) : random.pick(COMMON_BASES);
        const versionId = insert.version(
          isLocalOnly ? null : 500_000 + versionIndex,
          modelId,
          `v${v + 1}.0`,
          v === 0 ? null : `Changes in v${v + 1}`,
          baseModel,
          BASE_MODEL_RAW[baseModel] ?? baseModel,
          storedTimestamp(vCreated, versionIndex),
          v % 2 ? storedTimestamp(vCreated, versionIndex + 1) : null,
          storedTimestamp(vCreated, versionIndex + 2),
          isLocalOnly ? null : `https://civitai.example.invalid/api/download/models/${500_000 + versionIndex}`,
          versionIndex % 13 === 0 ? 3 : 0,
          random.int(0, 250_000),
          random.int(0, 500),
          Math.round(random.next() * 50) / 10,
          random.int(0, 5000),
          random.int(0, 50),
        );
        summary.versions++;
        for (let w = 0; w < versionIndex % 4; w++) insert.trigger(versionId, `trigger ${versionIndex}-${w}`, w);

        for (let f = 0; f < size.filesPerVersion; f++) {
          const fileIndex = fileCounter++;
          const sha = hex(`sha:${seed}:${fileIndex}`, 64);
          // Other tools store lower-case hex; the catalog must find those rows too.
          const stored = (value: string) => (fileIndex % 7 === 3 ? value.toLowerCase() : value);
          const isLocal = fileIndex % 5 < 2;
          insert.file(
            isLocalOnly ? null : 900_000 + fileIndex,
            versionId,
            `${fileStem(name)}_v${v + 1}${f ? `_part${f}` : ''}.safetensors`,
            Math.round(random.next() * 2_000_000 * 100) / 100,
            f === 0 ? 'Model' : 'Training Data',
            f === 0 ? 1 : 0,
            f === 0 ? 'SafeTensor' : 'Other',
            random.pick(['FP16', 'FP32', 'BF16', 'Unknown']),
            random.pick(['Full', 'Pruned', 'Unknown']),
            isLocalOnly
              ? null
              : `https://civitai.example.invalid/api/download/models/${500_000 + versionIndex}?file=${f}`,
            'Success',
            'No Pickle imports',
            fileIndex % 19 === 0 ? 'Pending' : 'Success',
            storedTimestamp(vCreated, fileIndex),
            stored(hex(`v1:${seed}:${fileIndex}`, 8)),
            stored(sha.slice(0, 10)),
            stored(sha),
            stored(hex(`crc:${seed}:${fileIndex}`, 8)),
            stored(hex(`b3:${seed}:${fileIndex}`, 64)),
            f === 0 ? stored(hex(`v3:${seed}:${fileIndex}`, 64)) : null,
            isLocal ? `/library/models/${type}/${modelId}-${versionId}-${f}.safetensors` : null,
            isLocal && fileIndex % 10 !== 1 ? 1 : 0,
            isLocal ? storedTimestamp(vCreated, fileIndex) : null,
          );
          summary.files++;
        }

        for (let i = 0; i < size.imagesPerVersion; i++) {
          const imageIndex = imageCounter++;
          const level = imageIndex % 6 === 1 ? random.pick(NSFW_LEVELS.slice(1)) : 'None';
          const isVideo = imageIndex % 10 === 0;
          // The generated image: its size and placeholder are those of its pooled thumbnail, stored or not.
          const look = pool.length > 0 ? pool[imageIndex % pool.length]! : null;
          const [width, height] = look
            ? [look.source.width, look.source.height]
            : GENERATION_SIZES[imageIndex % GENERATION_SIZES.length]!;
          const thumbnail = imageIndex % 9 !== 4 ? look : null;
          const seedValue =
            imageIndex % 8 === 0 ? 9_007_199_254_740_993n + BigInt(imageIndex) : BigInt(random.int(0, 4_294_967_295));
          insert.image(
            isLocalOnly ? null : 2_000_000 + imageIndex,
            versionId,
            `https://image.example.invalid/${imageIndex}/width=450/${imageIndex}.${isVideo ? 'mp4' : 'jpeg'}`,
            level === 'None' ? 0 : 1,
            level,
            width,
            height,
            look?.blurHash ?? null,
            i,
            storedTimestamp(vCreated, imageIndex),
            300_000 + versionIndex,
            `creator_${m % 7}`,
            thumbnail?.bytes ?? null,
            thumbnail ? (imageIndex % 12 === 5 ? 'image/jpeg' : thumbnail.mimeType) : null, // some stored types are wrong
            thumbnail?.width ?? null,
            thumbnail?.height ?? null,
            `masterpiece, ${random.pick(TAG_WORDS)}, ${random.pick(NAME_WORDS)} light`,
            'lowres, blurry',
            seedValue,
            random.int(4, 40),
            random.pick(SAMPLERS),
            Math.round(random.next() * 100) / 10,
            'sd_xl_base_1.0',
            imageIndex % 4 === 0 ? 0.45 : null,
            random.int(0, 900),
            random.int(0, 300),
            random.int(0, 40),
          );
          summary.images++;
          if (thumbnail) {
            summary.thumbnails++;
            summary.thumbnailBytes += thumbnail.bytes.length;
          }
        }
      }
    }
  });
  return summary;
}
