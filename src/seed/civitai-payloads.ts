/**
 * Deterministic Civitai `/api/v1/models` items (benchmark and tests), shaped like the real API's (the fields
 * the mapping reads, nested the same way), at the benchmark catalog's storage shape: 5 versions, 2 files with
 * every hash, 5 images with generation metadata.
 */
import { createHash } from 'node:crypto';

const TYPES = ['LORA', 'LORA', 'LORA', 'Checkpoint', 'TextualInversion', 'LoCon'];
const BASES = ['SD 1.5', 'SDXL 1.0', 'Pony', 'Illustrious', 'Flux.1 D'];
const WORDS = ['neon', 'velvet', 'moss', 'ember', 'frost', 'lumen', 'drift', 'aurora', 'cobalt', 'quartz'];

function hex(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length).toUpperCase();
}

export function civitaiModelItem(index: number): Record<string, unknown> {
  const modelId = 3_000_000 + index;
  const word = WORDS[index % WORDS.length]!;
  const created = Date.UTC(2024, 0, 1) + index * 3_600_000;
  return {
    id: modelId,
    name: `Bench ${word} ${index}`,
    description: `<p>A benchmark model about <b>${word}</b> number ${index}.</p>`,
    type: TYPES[index % TYPES.length],
    nsfw: index % 9 === 0,
    poi: false,
    mode: null,
    allowNoCredit: true,
    allowCommercialUse: ['Image', 'Rent'],
    allowDerivatives: true,
    allowDifferentLicense: index % 2 === 0,
    creator: { username: `bench_creator_${index % 97}`, image: null },
    tags: [word, 'style', `tag ${index % 40}`],
    modelVersions: Array.from({ length: 5 }, (_, v) => {
      const versionId = 40_000_000 + index * 10 + v;
      const versionCreated = new Date(created + v * 86_400_000).toISOString();
      return {
        id: versionId,
        modelId,
        name: `v${v + 1}.0`,
        description: v === 0 ? null : `<p>Changes in v${v + 1}</p>`,
        baseModel: BASES[(index + v) % BASES.length],
        createdAt: versionCreated,
        updatedAt: versionCreated,
        publishedAt: versionCreated,
        trainedWords: [`${word} style`, `trigger${index}_${v}`],
        downloadUrl: `https://civitai.example.invalid/api/download/models/${versionId}`,
        stats: {
          downloadCount: (index * 37 + v) % 50_000,
          ratingCount: v,
          rating: 4.5,
          thumbsUpCount: 10 + v,
          thumbsDownCount: 0,
        },
        files: Array.from({ length: 2 }, (_, f) => {
          const key = `${versionId}:${f}`;
          return {
            id: 80_000_000 + index * 100 + v * 10 + f,
            name: `bench_${index}_v${v + 1}${f ? '_training' : ''}.safetensors`,
            sizeKB: 140_000 + f * 1000 + v,
            type: f === 0 ? 'Model' : 'Training Data',
            primary: f === 0,
            metadata: { fp: 'fp16', size: 'pruned', format: 'SafeTensor' },
            pickleScanResult: 'Success',
            pickleScanMessage: 'No Pickle imports',
            virusScanResult: 'Success',
            scannedAt: versionCreated,
            hashes: {
              AutoV1: hex(`v1:${key}`, 8),
              AutoV2: hex(`sha:${key}`, 10),
              SHA256: hex(`sha:${key}`, 64),
              CRC32: hex(`crc:${key}`, 8),
              BLAKE3: hex(`b3:${key}`, 64),
              AutoV3: hex(`v3:${key}`, 64),
            },
            downloadUrl: `https://civitai.example.invalid/api/download/models/${versionId}?type=${f}`,
          };
        }),
        images: Array.from({ length: 5 }, (_, i) => ({
          id: 120_000_000 + index * 100 + v * 10 + i,
          url: `https://image.example.invalid/${versionId}/${i}.jpeg`,
          nsfwLevel: i === 4 ? 2 : 1,
          width: 832,
          height: 1216,
          hash: 'U9G9BnR,GI%N00kC4-s:5soz4TMx?wV@^*o#',
          createdAt: versionCreated,
          postId: 7_000_000 + index,
          username: `bench_creator_${index % 97}`,
          stats: { likeCount: i * 3, heartCount: i, commentCount: 0 },
          meta: {
            prompt: `masterpiece, ${word}, detailed ${i}`,
            negativePrompt: 'lowres, blurry',
            seed: 1_000_000 + index * 5 + i,
            steps: 28,
            sampler: 'DPM++ 2M Karras',
            cfgScale: 6.5,
            Model: 'sd_xl_base_1.0',
          },
        })),
      };
    }),
  };
}

/** A `/api/v1/models` page of items `from` … `from + count - 1`. */
export function civitaiModelsPage(from: number, count: number): Record<string, unknown> {
  return {
    items: Array.from({ length: count }, (_, i) => civitaiModelItem(from + i)),
    metadata: { totalItems: count },
  };
}
