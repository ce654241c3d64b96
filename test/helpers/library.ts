/**
 * Generated model libraries on disk: safetensors files with real headers, other model files, sidecars in the
 * formats of other tools, and preview images — deterministic for a seed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { createRandom } from '../../src/seed/random.ts';

export function randomBytes(size: number, seed: number): Buffer {
  const random = createRandom(seed);
  const bytes = Buffer.allocUnsafe(Math.ceil(size / 4) * 4);
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(Math.floor(random.next() * 0x1_0000_0000), i);
  return bytes.subarray(0, size);
}

/** A safetensors file: u64 LE header length, JSON header (with `__metadata__`), then tensor bytes. */
export function safetensorsBytes(metadata: Record<string, string>, payload: Buffer): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      __metadata__: metadata,
      'lora_unet.weight': { dtype: 'F16', shape: [payload.length / 2], data_offsets: [0, payload.length] },
    }),
  );
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([length, header, payload]);
}

export function writeFile(file: string, bytes: Buffer | string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  return file;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').toUpperCase();
}

/** A preview picture with enough detail to compress like a real one. */
export async function previewPng(width: number, height: number, seed: number): Promise<Buffer> {
  const random = createRandom(seed);
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++)
        pixels[(y * width + x) * 3 + c] = (x * (c + 1) + y * (3 - c) + Math.floor(random.next() * 40)) & 0xff;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** A Civitai model payload describing files by their bytes (so a scan can match them by hash). */
export function civitaiPayloadFor(
  modelId: number,
  name: string,
  files: { versionId: number; fileId: number; fileName: string; bytes: Buffer }[],
) {
  const versions = new Map<number, typeof files>();
  for (const file of files) versions.set(file.versionId, [...(versions.get(file.versionId) ?? []), file]);
  return {
    id: modelId,
    name,
    type: 'LORA',
    nsfw: false,
    poi: false,
    tags: ['generated'],
    creator: { username: 'library-test' },
    modelVersions: [...versions].map(([versionId, versionFiles]) => ({
      id: versionId,
      modelId,
      name: `v${versionId}`,
      baseModel: 'SDXL 1.0',
      trainedWords: [`word${versionId}`],
      files: versionFiles.map((f, i) => ({
        id: f.fileId,
        name: f.fileName,
        sizeKB: f.bytes.length / 1024,
        type: 'Model',
        primary: i === 0,
        metadata: { format: 'SafeTensor' },
        hashes: { SHA256: sha256Hex(f.bytes), AutoV2: sha256Hex(f.bytes).slice(0, 10) },
      })),
      images: [],
    })),
  };
}
