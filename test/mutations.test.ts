/**
 * Catalog mutations over HTTP on a seeded catalog: each one's effect, its bad input (coded errors, nothing
 * changed), and the API token: mutations need it when set, queries never do, and a server reachable from other
 * machines refuses to start without one.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNodeId } from '../src/catalog/global-id.ts';
import { resolveServerConfig } from '../src/config.ts';
import { assertSafeBinding, startServer } from '../src/server/start.ts';
import { isLoopbackAddress, isLoopbackName } from '../src/server/loopback.ts';
import { hostAllowed } from '../src/server/browser-guards.ts';
import { dataOf, firstErrorCode, seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { type CatalogHandle, catalogHandle, sql } from './helpers/catalog-handle.ts';
import { ownFixture } from './helpers/fixtures.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

const TOKEN = 'a-long-random-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
let catalog: SeededCatalog;
let server: TestServer;
/** The database the server uses (its SQLite file, or its PostgreSQL copy). */
let db: CatalogHandle;
let library: string;
let outside: string;

beforeAll(async () => {
  catalog = await seededCatalog({ models: 8 });
  const root = tempDir('dn-library-');
  library = path.join(root, 'library');
  outside = path.join(root, 'elsewhere');
  mkdirSync(path.join(library, 'loras'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(library, 'loras', 'style.safetensors'), 'weights');
  writeFileSync(path.join(outside, 'secret.safetensors'), 'not yours');
  symlinkSync(path.join(outside, 'secret.safetensors'), path.join(library, 'loras', 'escape.safetensors'));
  server = await startTestServer({
    dataDir: catalog.dataDir,
    databasePath: catalog.databasePath,
    apiToken: TOKEN,
    libraryRoots: [library],
    maxThumbnailUploadBytes: 4096,
  });
  db = catalogHandle(server);
});

const mutate = <T>(query: string, variables?: Record<string, unknown>) => server.graphql<T>(query, variables, AUTH);

describe('API token', () => {
  it('refuses mutations without the token or with a wrong one (401), and runs them with it', async () => {
    const query = 'mutation($id: ID!) { updateModel(id: $id, input: { name: "Renamed" }) { name } }';
    const variables = { id: encodeNodeId('Model', 1) };
    for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: TOKEN }] as Record<
      string,
      string
    >[]) {
      const response = await server.graphql(query, variables, headers);
      expect(response.status).toBe(401);
      expect(firstErrorCode(response)).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(response)).not.toContain(TOKEN);
    }
    expect(await db.value(sql`SELECT "Name" FROM "Models" WHERE "Id" = 1`)).not.toBe('Renamed');
    expect(dataOf(await mutate<{ updateModel: { name: string } }>(query, variables)).updateModel.name).toBe('Renamed');
  });

  it('keeps queries open', async () => {
    expect((await server.graphql('{ model(databaseId: 1) { name } }')).errors).toBeUndefined();
  });

  it('refuses to listen beyond loopback without a token', async () => {
    expect(() => assertSafeBinding({ host: '0.0.0.0', apiToken: null })).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }),
    );
    expect(() => assertSafeBinding({ host: '0.0.0.0', apiToken: TOKEN })).not.toThrow();
    for (const host of ['127.0.0.1', '::1', 'localhost', '127.0.0.2'])
      expect(() => assertSafeBinding({ host, apiToken: null })).not.toThrow();
    const config = resolveServerConfig({ host: '0.0.0.0', port: '0', dataDir: catalog.dataDir }, {});
    await expect(startServer(config)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('DIFFUSION_NEXUS_API_TOKEN'),
    });
    expect(() => resolveServerConfig({}, { DIFFUSION_NEXUS_API_TOKEN: 'short' })).toThrow(/at least 16 characters/);
  });

  it('judges loopback by one rule, and by the address a name really bound to', async () => {
    for (const name of ['localhost', 'app.localhost', '127.0.0.1', '127.8.9.10', '::1', '[::1]'])
      expect(isLoopbackName(name), name).toBe(true);
    for (const name of ['0.0.0.0', '::', 'localhost.example.com', '128.0.0.1', '10.0.0.1'])
      expect(isLoopbackName(name), name).toBe(false);
    // The same rule guards Host headers: a name the bind check accepts is one requests may be addressed to.
    expect(hostAllowed('app.localhost:4000', true)).toBe(true);
    expect(hostAllowed('evil.example:4000', true)).toBe(false);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('192.168.1.2')).toBe(false);
  });
});

describe('updateModel, setModelTags, setTriggerWords, deleteModel', () => {
  it('updates the given fields and marks them as user edits', async () => {
    const result = dataOf(
      await mutate<{ updateModel: Record<string, unknown> }>(
        `mutation($id: ID!) {
      updateModel(id: $id, input: { name: "  Edited  ", description: "", type: Checkpoint, isNsfw: true }) { name description type isNsfw updatedAt } }`,
        { id: encodeNodeId('Model', 2) },
      ),
    );
    expect(result.updateModel).toMatchObject({ name: 'Edited', description: null, type: 'Checkpoint', isNsfw: true });
    expect(JSON.parse(await db.value<string>(sql`SELECT "UserEditedFields" FROM "Models" WHERE "Id" = 2`))).toEqual([
      'description',
      'isNsfw',
      'name',
      'type',
    ]);
  });

  it('rejects bad edits with codes and changes nothing', async () => {
    const before = await db.dump();
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'mutation($id: ID!) { updateModel(id: $id, input: { name: "   " }) { id } }',
        { id: encodeNodeId('Model', 3) },
        'BAD_USER_INPUT',
      ],
      [
        'mutation($id: ID!) { updateModel(id: $id, input: { name: "x" }) { id } }',
        { id: encodeNodeId('Model', 99999) },
        'NOT_FOUND',
      ],
      [
        'mutation($id: ID!) { updateModel(id: $id, input: { name: "x" }) { id } }',
        { id: encodeNodeId('Tag', 1) },
        'BAD_USER_INPUT',
      ],
      ['mutation($id: ID!) { updateModel(id: $id, input: { name: "x" }) { id } }', { id: 'nope' }, 'BAD_USER_INPUT'],
      [
        'mutation($id: ID!) { setModelTags(id: $id, tags: ["ok", " "]) { id } }',
        { id: encodeNodeId('Model', 3) },
        'BAD_USER_INPUT',
      ],
      [
        'mutation($id: ID!, $t: [String!]!) { setModelTags(id: $id, tags: $t) { id } }',
        { id: encodeNodeId('Model', 3), t: Array.from({ length: 101 }, (_, i) => `t${i}`) },
        'LIMIT_EXCEEDED',
      ],
      [
        'mutation($id: ID!) { setTriggerWords(id: $id, words: ["ok"]) { id } }',
        { id: encodeNodeId('ModelVersion', 99999) },
        'NOT_FOUND',
      ],
      ['mutation($id: ID!) { deleteModel(id: $id) { id } }', { id: encodeNodeId('Model', 99999) }, 'NOT_FOUND'],
    ];
    for (const [query, variables, code] of cases)
      expect(firstErrorCode(await mutate(query, variables)), query).toBe(code);
    const badEnum = await mutate('mutation($id: ID!) { updateModel(id: $id, input: { type: NOT_A_TYPE }) { id } }', {
      id: encodeNodeId('Model', 3),
    });
    expect(badEnum.errors?.[0]?.message).toMatch(/NOT_A_TYPE/);
    expect(await db.dump()).toEqual(before);
  });

  it('replaces tags (sharing existing ones) and trigger words', async () => {
    const tags = dataOf(
      await mutate<{ setModelTags: { tags: { name: string; normalizedName: string }[] } }>(
        'mutation($id: ID!) { setModelTags(id: $id, tags: ["STYLE", "Brand New", "brand new"]) { tags { name normalizedName } } }',
        { id: encodeNodeId('Model', 3) },
      ),
    );
    expect(tags.setModelTags.tags.map((t) => t.normalizedName)).toEqual(['brand new', 'style']);
    expect(await db.value(sql`SELECT COUNT(*) FROM "Tags" WHERE "NormalizedName" = 'style'`)).toBe(1);
    const versionId = await db.value<number>(sql`SELECT "Id" FROM "ModelVersions" WHERE "ModelId" = 3 LIMIT 1`);
    const words = dataOf(
      await mutate<{ setTriggerWords: { triggerWordsText: string } }>(
        'mutation($id: ID!) { setTriggerWords(id: $id, words: ["b word", " a word "]) { triggerWordsText } }',
        { id: encodeNodeId('ModelVersion', versionId) },
      ),
    );
    expect(words.setTriggerWords.triggerWordsText).toBe('b word, a word');
  });

  it('deletes a model with everything under it', async () => {
    const versionIds = await db.column<number>(sql`SELECT "Id" FROM "ModelVersions" WHERE "ModelId" = 4`);
    const result = dataOf(
      await mutate<{ deleteModel: { id: string; databaseId: number } }>(
        'mutation($id: ID!) { deleteModel(id: $id) { id databaseId } }',
        { id: encodeNodeId('Model', 4) },
      ),
    );
    expect(result.deleteModel).toEqual({ id: encodeNodeId('Model', 4), databaseId: 4 });
    expect(versionIds.length).toBeGreaterThan(0);
    const left = (table: 'ModelFiles' | 'ModelImages' | 'TriggerWords') =>
      db.value(
        db.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .where('ModelVersionId', 'in', versionIds),
      );
    expect([await left('ModelFiles'), await left('ModelImages'), await left('TriggerWords')]).toEqual([0, 0, 0]);
    expect(await db.value(sql`SELECT COUNT(*) FROM "ModelTags" WHERE "ModelId" = 4`)).toBe(0);
  });
});

describe('linkLocalFile and unlinkLocalFile', () => {
  const fileId = () =>
    db.value<number>(sql`SELECT "Id" FROM "ModelFiles" WHERE "LocalPath" IS NULL ORDER BY "Id" LIMIT 1`);
  const LINK =
    'mutation($id: ID!, $p: String!, $h: FileHashesInput) { linkLocalFile(id: $id, path: $p, hashes: $h) { localPath isLocalFileValid localFileVerifiedAt hashes { sha256 autoV2 } } }';

  it('links a file inside the library roots, checking and filling hashes', async () => {
    const id = await fileId();
    const stored = await db.value<string>(sql`SELECT "HashSHA256" FROM "ModelFiles" WHERE "Id" = ${id}`);
    const file = path.join(library, 'loras', 'style.safetensors');
    const result = dataOf(
      await mutate<{ linkLocalFile: Record<string, any> }>(LINK, {
        id: encodeNodeId('ModelFile', id),
        p: file,
        h: { sha256: stored.toLowerCase() },
      }),
    );
    expect(result.linkLocalFile).toMatchObject({
      localPath: file,
      isLocalFileValid: true,
      hashes: { sha256: stored.toUpperCase() },
    });
    expect(result.linkLocalFile.localFileVerifiedAt).not.toBeNull();
    const unlinked = dataOf(
      await mutate<{ unlinkLocalFile: Record<string, unknown> }>(
        'mutation($id: ID!) { unlinkLocalFile(id: $id) { localPath isLocalFileValid localFileVerifiedAt } }',
        { id: encodeNodeId('ModelFile', id) },
      ),
    );
    expect(unlinked.unlinkLocalFile).toEqual({ localPath: null, isLocalFileValid: false, localFileVerifiedAt: null });
  });

  it('refuses paths outside the roots, traversal, escaping symlinks, NUL bytes, relative and missing paths, and wrong hashes', async () => {
    const id = encodeNodeId('ModelFile', await fileId());
    const before = await db.dump();
    const cases: [string, Record<string, string> | undefined, string][] = [
      [path.join(outside, 'secret.safetensors'), undefined, 'FORBIDDEN'],
      [`${library}/loras/../../elsewhere/secret.safetensors`, undefined, 'FORBIDDEN'],
      [path.join(library, 'loras', 'escape.safetensors'), undefined, 'FORBIDDEN'],
      [`${library}/loras/style.safetensors\u0000.txt`, undefined, 'BAD_USER_INPUT'],
      ['loras/style.safetensors', undefined, 'BAD_USER_INPUT'],
      [path.join(library, 'loras', 'missing.safetensors'), undefined, 'NOT_FOUND'],
      [path.join(library, 'loras'), undefined, 'BAD_USER_INPUT'],
      [path.join(library, 'loras', 'style.safetensors'), { sha256: '0'.repeat(64) }, 'BAD_USER_INPUT'],
      [path.join(library, 'loras', 'style.safetensors'), { autoV2: 'zz' }, 'BAD_USER_INPUT'],
    ];
    for (const [p, h, code] of cases) expect(firstErrorCode(await mutate(LINK, { id, p, h })), p).toBe(code);
    expect(await db.dump()).toEqual(before);
  });
});

describe('setImageThumbnail and deleteModelImage', () => {
  const SET =
    'mutation($id: ID!, $b: String!) { setImageThumbnail(id: $id, base64: $b) { thumbnail { mimeType width height byteSize } } }';

  it('stores a valid image with its facts, also from a data: URI', async () => {
    const webp = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#336699' } })
      .webp()
      .toBuffer();
    const result = dataOf(
      await mutate<{ setImageThumbnail: { thumbnail: Record<string, unknown> } }>(SET, {
        id: encodeNodeId('ModelImage', 1),
        b: `data:image/webp;base64,${webp.toString('base64')}`,
      }),
    );
    expect(result.setImageThumbnail.thumbnail).toEqual({
      mimeType: 'image/webp',
      width: 40,
      height: 30,
      byteSize: webp.length,
    });
    expect(await db.value(sql`SELECT "ThumbnailData" FROM "ModelImages" WHERE "Id" = 1`)).toEqual(webp);
  });

  it('refuses what is not an image, a broken image, bad base64 and oversized uploads, changing nothing', async () => {
    const png = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const big = await sharp({ create: { width: 400, height: 400, channels: 3, background: '#123' } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    const before = await db.dump();
    const cases: [string, string][] = [
      [Buffer.from('#!/bin/sh\necho not an image').toString('base64'), 'BAD_USER_INPUT'],
      [png.subarray(0, 40).toString('base64'), 'BAD_USER_INPUT'],
      ['%%% not base64 %%%', 'BAD_USER_INPUT'],
      [big.toString('base64'), 'LIMIT_EXCEEDED'],
    ];
    for (const [b, code] of cases)
      expect(firstErrorCode(await mutate(SET, { id: encodeNodeId('ModelImage', 2), b })), code).toBe(code);
    expect(
      firstErrorCode(await mutate(SET, { id: encodeNodeId('ModelImage', 999999), b: png.toString('base64') })),
    ).toBe('NOT_FOUND');
    expect(await db.dump()).toEqual(before);
  });

  it('deletes an image', async () => {
    const result = dataOf(
      await mutate<{ deleteModelImage: { databaseId: number } }>(
        `mutation { deleteModelImage(id: "${encodeNodeId('ModelImage', 3)}") { databaseId } }`,
      ),
    );
    expect(result.deleteModelImage.databaseId).toBe(3);
    expect(await db.value(sql`SELECT COUNT(*) FROM "ModelImages" WHERE "Id" = 3`)).toBe(0);
  });
});

describe('importCivitaiPayload', () => {
  it('imports a payload sent as JSON and reports per-model results', async () => {
    const result = dataOf(
      await mutate<{ importCivitaiPayload: any }>(
        `mutation($p: JSON!) { importCivitaiPayload(payload: $p) {
      created updated unchanged failed failures { civitaiId name path message } models { civitaiId status warnings model { name tags { name } } } } }`,
        { p: ownFixture('models-list.json') },
      ),
    );
    expect(result.importCivitaiPayload).toMatchObject({
      created: 2,
      failed: 1,
      failures: [{ name: 'Broken Item', path: '$.items[1].id' }],
    });
    expect(result.importCivitaiPayload.models.map((m: any) => m.model.name)).toEqual(['Paper Cutout', 'Ink Wash']);
    const junk = await mutate('mutation { importCivitaiPayload(payload: { hello: "world" }) { created } }');
    expect(firstErrorCode(junk)).toBe('NOT_CIVITAI_PAYLOAD');
    expect(junk.errors?.[0]?.message).toMatch(/not a Civitai payload/);
  });
});
