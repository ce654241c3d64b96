/**
 * Thumbnails: the HTTP route (real Content-Type, strong ETag, 304, HEAD, clean errors) and the GraphQL fields
 * (absolute URL, sniffed MIME type, base64/dataUri from one batched statement, per-response budget).
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNodeId } from '../src/catalog/global-id.ts';
import { sniffImageMimeType } from '../src/thumbnails/facts.ts';
import { blurHashOf } from '../src/thumbnails/maker.ts';
import { dataOf, firstErrorCode, seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { type CatalogHandle, catalogHandle, sql } from './helpers/catalog-handle.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let catalog: SeededCatalog;
let server: TestServer;
/** The server's database (its SQLite file, or its PostgreSQL copy), read directly. */
let db: CatalogHandle;
const statements: string[] = [];

interface ThumbRow {
  Id: number;
  ThumbnailData: Buffer;
  ThumbnailMimeType: string;
  ThumbnailWidth: number;
  ThumbnailHeight: number;
}

beforeAll(async () => {
  catalog = await seededCatalog();
  server = await startTestServer(
    { dataDir: catalog.dataDir, databasePath: catalog.databasePath },
    { onStatement: (text) => statements.push(text) },
  );
  db = catalogHandle(server);
});

const withThumbnail = () =>
  db.all<ThumbRow>(
    sql`SELECT "Id", "ThumbnailData", "ThumbnailMimeType", "ThumbnailWidth", "ThumbnailHeight" FROM "ModelImages"
      WHERE "ThumbnailData" IS NOT NULL ORDER BY "Id"`,
  );
/** A row whose stored MIME type disagrees with its bytes (the seed plants some). */
const mislabelled = async () =>
  (await withThumbnail()).find((r) => sniffImageMimeType(r.ThumbnailData) !== r.ThumbnailMimeType)!;
const withoutThumbnail = () =>
  db.value<number>(sql`SELECT "Id" FROM "ModelImages" WHERE "ThumbnailData" IS NULL ORDER BY "Id" LIMIT 1`);
const thumbnailOf = (id: number) => db.value<Buffer>(sql`SELECT "ThumbnailData" FROM "ModelImages" WHERE "Id" = ${id}`);

describe('GET /thumbnails/:id', () => {
  it('serves the bytes with the sniffed Content-Type, a strong ETag and cache headers', async () => {
    const row = await mislabelled();
    expect(row).toBeDefined();
    const response = await fetch(`${server.origin}/thumbnails/${row.Id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(sniffImageMimeType(row.ThumbnailData));
    expect(response.headers.get('content-length')).toBe(String(row.ThumbnailData.length));
    expect(response.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(row.ThumbnailData);
  });

  it('answers 304 to a matching If-None-Match (strong, weak or in a list) and 200 otherwise', async () => {
    const row = (await withThumbnail())[0]!;
    const url = `${server.origin}/thumbnails/${row.Id}`;
    const etag = (await fetch(url)).headers.get('etag')!;
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const response = await fetch(url, { headers: { 'if-none-match': ifNoneMatch } });
      expect(response.status, ifNoneMatch).toBe(304);
      expect(response.headers.get('etag')).toBe(etag);
      expect((await response.arrayBuffer()).byteLength).toBe(0);
    }
    expect((await fetch(url, { headers: { 'if-none-match': '"stale"' } })).status).toBe(200);
  });

  it('answers HEAD with the headers and no body', async () => {
    const row = (await withThumbnail())[1]!;
    const response = await fetch(`${server.origin}/thumbnails/${row.Id}`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(row.ThumbnailData.length));
    expect((await response.arrayBuffer()).byteLength).toBe(0);
    const missing = await fetch(`${server.origin}/thumbnails/99999999`, { method: 'HEAD' });
    expect(missing.status).toBe(404);
    expect(Number(missing.headers.get('content-length'))).toBeGreaterThan(0);
    expect((await missing.arrayBuffer()).byteLength).toBe(0);
  });

  it('gives clean coded errors for unknown ids, images without thumbnail, bad ids and other methods', async () => {
    const without = await withoutThumbnail();
    for (const [path, status, code] of [
      ['/thumbnails/99999999', 404, 'NOT_FOUND'],
      [`/thumbnails/${without}`, 404, 'NOT_FOUND'],
      ['/thumbnails/abc', 400, 'BAD_USER_INPUT'],
      ['/thumbnails/-1', 400, 'BAD_USER_INPUT'],
      ['/thumbnails/', 400, 'BAD_USER_INPUT'],
    ] as const) {
      const response = await fetch(`${server.origin}${path}`);
      expect(response.status, path).toBe(status);
      expect(await response.json()).toMatchObject({ error: { code } });
    }
    const post = await fetch(`${server.origin}/thumbnails/1`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('serves a stored thumbnail of no bytes as such (200, empty), not as a missing one', async () => {
    const id = await withoutThumbnail();
    const set = (bytes: Buffer | null) =>
      db.db
        .updateTable('ModelImages')
        .set({ ThumbnailData: bytes, ThumbnailMimeType: bytes ? 'image/png' : null })
        .where('Id', '=', id)
        .execute();
    await set(Buffer.alloc(0));
    try {
      const response = await fetch(`${server.origin}/thumbnails/${id}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('0');
      expect(response.headers.get('content-type')).toBe('image/png');
      expect(response.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
      expect((await response.arrayBuffer()).byteLength).toBe(0);
    } finally {
      await set(null);
    }
  });
});

describe('ModelImage.thumbnail', () => {
  it('describes the stored thumbnail, with an absolute URL and the sniffed MIME type; null without one', async () => {
    const row = await mislabelled();
    const without = await withoutThumbnail();
    const data = dataOf(
      await server.graphql<Record<string, { thumbnail: Record<string, unknown> | null }>>(
        `query($a: Int, $b: Int) {
      a: modelImage(databaseId: $a) { thumbnail { url mimeType width height byteSize base64 dataUri } }
      b: modelImage(databaseId: $b) { thumbnail { url } } }`,
        { a: row.Id, b: without },
      ),
    );
    const mime = sniffImageMimeType(row.ThumbnailData)!;
    expect(data.a!.thumbnail).toEqual({
      url: `${server.origin}/thumbnails/${row.Id}`,
      mimeType: mime,
      width: row.ThumbnailWidth,
      height: row.ThumbnailHeight,
      byteSize: row.ThumbnailData.length,
      base64: row.ThumbnailData.toString('base64'),
      dataUri: `data:${mime};base64,${row.ThumbnailData.toString('base64')}`,
    });
    expect(data.b!.thumbnail).toBeNull();
    const response = await fetch((data.a!.thumbnail as { url: string }).url);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(row.ThumbnailData);
  });

  it("carries the image's BlurHash beside the thumbnail, read with the page (no statement of its own)", async () => {
    type Image = { databaseId: number; thumbnail: { blurHash: string | null } | null };
    statements.length = 0;
    const data = dataOf(
      await server.graphql<{ modelVersions: { nodes: { images: { nodes: Image[] } }[] } }>(
        '{ modelVersions(first: 10) { nodes { images(first: 4) { nodes { databaseId thumbnail { blurHash } } } } } }',
      ),
    );
    // Read by the images page with the other thumbnail facts, by no statement of its own.
    const reads = statements.filter((text) => text.includes('BlurHash'));
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatch(/"thumbnailByteSize".*ROW_NUMBER\(\) OVER/);
    const images = data.modelVersions.nodes.flatMap((v) => v.images.nodes);
    const withThumbnail = images.filter((image) => image.thumbnail !== null);
    expect(withThumbnail.length).toBeGreaterThan(0);
    for (const image of images) {
      const row = (await db.first<{ BlurHash: string | null; ThumbnailData: Buffer | null }>(
        sql`SELECT "BlurHash", "ThumbnailData" FROM "ModelImages" WHERE "Id" = ${image.databaseId}`,
      ))!;
      expect(image.thumbnail === null, String(image.databaseId)).toBe(row.ThumbnailData === null);
      if (image.thumbnail) expect(image.thumbnail.blurHash, String(image.databaseId)).toBe(row.BlurHash);
    }

    // By id, through the thumbnail loaders rather than a page: the same placeholder as the image's own field.
    const one = withThumbnail[0]!;
    const byId = dataOf(
      await server.graphql<{ modelImage: { blurHash: string | null; thumbnail: { blurHash: string | null } } }>(
        'query($id: Int) { modelImage(databaseId: $id) { blurHash thumbnail { blurHash } } }',
        { id: one.databaseId },
      ),
    );
    expect(byId.modelImage.thumbnail.blurHash).toBe(one.thumbnail!.blurHash);
    expect(byId.modelImage.blurHash).toBe(one.thumbnail!.blurHash);
  });

  it('loads the bytes of every image in a response with one statement', async () => {
    statements.length = 0;
    const data = dataOf(
      await server.graphql<{
        modelVersions: {
          nodes: { images: { nodes: { databaseId: number; thumbnail: { base64: string } | null }[] } }[];
        };
      }>('{ modelVersions(first: 10) { nodes { images(first: 4) { nodes { databaseId thumbnail { base64 } } } } } }'),
    );
    const reads = statements.filter((text) => /"ThumbnailData" as "bytes"/.test(text));
    expect(reads).toHaveLength(1);
    const images = data.modelVersions.nodes.flatMap((v) => v.images.nodes);
    expect(images.length).toBeGreaterThan(20);
    for (const image of images.filter((i) => i.thumbnail)) {
      const bytes = await thumbnailOf(image.databaseId);
      expect(image.thumbnail!.base64).toBe(bytes.toString('base64'));
    }
  });
});

describe('an uploaded thumbnail', () => {
  it("gives an image without a BlurHash one made from the thumbnail, and leaves an image's own alone", async () => {
    // The last two images with thumbnails: the tests above read the first ones.
    const [own, none] = await db.all<{ Id: number; BlurHash: string }>(
      sql`SELECT "Id", "BlurHash" FROM "ModelImages" WHERE "BlurHash" IS NOT NULL ORDER BY "Id" DESC LIMIT 2`,
    );
    // As rows another program wrote without one.
    await db.all(sql`UPDATE "ModelImages" SET "BlurHash" = NULL WHERE "Id" = ${none!.Id}`);
    const png = await sharp({ create: { width: 20, height: 30, channels: 3, background: '#c04020' } })
      .png()
      .toBuffer();
    const answers = [];
    for (const image of [own!, none!]) {
      const answer = dataOf(
        await server.graphql<{ setImageThumbnail: { blurHash: string | null; thumbnail: { blurHash: string } } }>(
          'mutation($id: ID!, $b: String!) { setImageThumbnail(id: $id, base64: $b) { blurHash thumbnail { blurHash } } }',
          { id: encodeNodeId('ModelImage', image.Id), b: png.toString('base64') },
        ),
      );
      answers.push(answer.setImageThumbnail);
    }
    expect(answers[0]).toEqual({ blurHash: own!.BlurHash, thumbnail: { blurHash: own!.BlurHash } });
    const made = await blurHashOf(await thumbnailOf(none!.Id));
    expect(answers[1]).toEqual({ blurHash: made, thumbnail: { blurHash: made } });
  });
});

describe('base64 budget', () => {
  it('refuses a response that would carry more base64 than configured, with LIMIT_EXCEEDED', async () => {
    const small = await startTestServer({
      dataDir: catalog.dataDir,
      databasePath: catalog.databasePath,
      maxBase64Bytes: 600,
    });
    const response = await small.graphql(
      '{ modelVersions(first: 20) { nodes { images(first: 5) { nodes { thumbnail { dataUri } } } } } }',
    );
    expect(firstErrorCode(response)).toBe('LIMIT_EXCEEDED');
    expect(response.errors?.[0]?.message).toMatch(/more than 600 bytes of base64/);
    const fine = await small.graphql(
      '{ modelVersions(first: 20) { nodes { images(first: 5) { nodes { thumbnail { url byteSize } } } } } }',
    );
    expect(fine.errors).toBeUndefined();
  });
});
