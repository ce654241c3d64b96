/**
 * Uploaded thumbnails are bounded in pixels and re-encoded to the catalog's thumbnail size (hardening round 2,
 * finding 11): a small file that decodes to a huge image is refused from its header, and several uploads at once
 * neither stall the server nor take its memory.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_IMAGE_PIXELS } from '../src/config.ts';
import { seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { catalogChecksum } from './helpers/db-checksum.ts';
import { startChildServer, whileProbingHealth, type ChildServer } from './helpers/hostile.ts';

let catalog: SeededCatalog;
let server: ChildServer;

beforeAll(async () => {
  catalog = await seededCatalog({ models: 4, thumbnails: 'none' });
  server = await startChildServer(catalog.dataDir);
}, 60_000);

const SET =
  'mutation($id: ID!, $b: String!) { setImageThumbnail(id: $id, base64: $b) { databaseId thumbnail { mimeType width height byteSize } } }';
const imageId = (n: number) => Buffer.from(`ModelImage:${n}`).toString('base64');

/** Uploads `bytes` as image `n`'s thumbnail (to the file's shared server unless told). */
async function upload(n: number, bytes: Buffer, to: ChildServer = server) {
  const response = await fetch(to.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: SET, variables: { id: imageId(n), b: bytes.toString('base64') } }),
  });
  return (await response.json()) as {
    data?: any;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

/** Whether the server process has libvips (sharp's image codec) mapped. */
const hasImageCodec = (pid: number) => /libvips/.test(readFileSync(`/proc/${pid}/maps`, 'utf8'));

describe('the image codec', () => {
  it('is loaded by the first image decoded, not by start-up or by serving stored thumbnails', async () => {
    const withThumbnails = await seededCatalog({ models: 2, thumbnails: 'tiny' });
    const reader = await startChildServer(withThumbnails.dataDir);
    try {
      const page = await fetch(reader.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query:
            '{ models(first: 2) { nodes { versions { nodes { images { nodes { databaseId thumbnail { url } } } } } } } }',
        }),
      }).then((r) => r.json() as Promise<any>);
      const image = page.data.models.nodes[0].versions.nodes[0].images.nodes[0];
      const stored = await fetch(image.thumbnail.url);
      expect(stored.status).toBe(200);
      expect((await stored.arrayBuffer()).byteLength).toBeGreaterThan(0);
      expect(hasImageCodec(reader.pid)).toBe(false);

      const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#336699' } })
        .png()
        .toBuffer();
      const answer = await upload(image.databaseId, png, reader);
      expect(answer.data?.setImageThumbnail.thumbnail, JSON.stringify(answer.errors)).toMatchObject({
        width: 64,
        height: 48,
      });
      expect(hasImageCodec(reader.pid)).toBe(true);
    } finally {
      await reader.stop();
    }
  });
});

describe('setImageThumbnail', () => {
  it('refuses a 16000 × 16000 PNG of 776 KB from its header, storing nothing', async () => {
    const huge = await sharp({ create: { width: 16000, height: 16000, channels: 3, background: '#808080' } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    expect(huge.length).toBeLessThan(1024 * 1024);
    const before = await catalogChecksum(server.catalog);
    const started = performance.now();
    const answer = await upload(1, huge);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: MAX_IMAGE_PIXELS });
    expect(await catalogChecksum(server.catalog)).toBe(before);
  });

  it('refuses a 12-megapixel AVIF of a few hundred bytes (decoded whole, it gets a quarter of the budget)', async () => {
    const avif = await sharp({ create: { width: 4000, height: 3000, channels: 4, background: '#33669980' } })
      .avif({ effort: 0, quality: 30 })
      .toBuffer();
    expect(avif.length).toBeLessThan(4096);
    const before = await catalogChecksum(server.catalog);
    const rssBefore = server.rssMiB();
    const answer = await upload(1, avif);
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: MAX_IMAGE_PIXELS / 4 });
    expect(answer.errors?.[0]?.message).toMatch(/AVIF/);
    expect(server.rssMiB() - rssBefore).toBeLessThan(50);
    expect(await catalogChecksum(server.catalog)).toBe(before);
  });

  it('four AVIF uploads just inside their budget at once: memory stays bounded', async () => {
    const avif = await sharp({ create: { width: 3000, height: 3000, channels: 4, background: '#33669980' } })
      .avif({ effort: 0, quality: 30 })
      .toBuffer();
    const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => upload(12 + i, avif)));
    for (const answer of answers) expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
    expect(server.peakRssMiB()).toBeLessThan(800);
  });

  it('refuses formats thumbnails are not made from (SVG, TIFF), storing nothing', async () => {
    const before = await catalogChecksum(server.catalog);
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>',
    );
    const tiff = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
      .tiff()
      .toBuffer();
    for (const bytes of [svg, tiff]) {
      const answer = await upload(1, bytes);
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    expect(await catalogChecksum(server.catalog)).toBe(before);
  });

  it('re-encodes an upload to the thumbnail size', async () => {
    const photo = await sharp({ create: { width: 2400, height: 1600, channels: 3, background: '#336699' } })
      .jpeg()
      .toBuffer();
    const answer = await upload(2, photo);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.setImageThumbnail.thumbnail).toMatchObject({ mimeType: 'image/webp', width: 320, height: 213 });
    expect(answer.data.setImageThumbnail.thumbnail.byteSize).toBeLessThan(20_000);
  });

  it('eight large uploads at once: bounded memory, /health keeps answering', async () => {
    const noisy = await sharp(Buffer.from(Array.from({ length: 3000 * 2000 * 3 }, (_, i) => (i * 7919) % 251)), {
      raw: { width: 3000, height: 2000, channels: 3 },
    })
      .jpeg({ quality: 60 })
      .toBuffer();
    expect(noisy.length).toBeLessThan(2 * 1024 * 1024);
    const { result, health } = await whileProbingHealth(server.origin, () =>
      Promise.all(Array.from({ length: 8 }, (_, i) => upload(3 + i, noisy))),
    );
    for (const answer of result)
      expect(answer.data?.setImageThumbnail.thumbnail, JSON.stringify(answer.errors)).toMatchObject({
        mimeType: 'image/webp',
        width: 320,
      });
    expect(health.maxMs).toBeLessThan(1000);
    expect(server.peakRssMiB()).toBeLessThan(700);
  });
});
