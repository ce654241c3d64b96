/**
 * Online sync against a local replay of the Civitai API: the API key as Bearer, retries on 429/5xx honouring
 * Retry-After (capped), timeouts, "not on Civitai" remembered, and sync by model, version and hash through the
 * GraphQL mutations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveCivitaiSettings } from '../src/config.ts';
import { createCivitaiClient, retryAfterMs } from '../src/civitai/client.ts';
import { dataOf, firstErrorCode, seededCatalog } from './helpers/catalog.ts';
import { startCivitaiReplay, type CivitaiReplay } from './helpers/civitai-replay.ts';
import { ownFixture } from './helpers/fixtures.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let replay: CivitaiReplay;
let server: TestServer;

const SYNC_FIELDS =
  'status remembered checkedAt warnings model { civitaiId name versions(first: 5) { nodes { civitaiId } } }';

beforeAll(async () => {
  replay = await startCivitaiReplay();
  const catalog = await seededCatalog({ models: 3, thumbnails: 'none' });
  const civitai = createCivitaiClient({
    baseUrl: `${replay.url}/mirror`,
    apiKey: 'test-api-key',
    timeoutMs: 700,
    maxRetries: 2,
    initialBackoffMs: 50,
    maxRetryWaitMs: 1200,
  });
  server = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath }, { civitai });
});

describe('Civitai settings', () => {
  it('defaults to civitai.com, accepts a mirror such as civitai.red, and rejects a non-URL', () => {
    expect(resolveCivitaiSettings({})).toEqual({ baseUrl: 'https://civitai.com', apiKey: null, timeoutMs: 30_000 });
    expect(resolveCivitaiSettings({ CIVITAI_BASE_URL: 'https://civitai.red/', CIVITAI_API_KEY: ' k ' })).toMatchObject({
      baseUrl: 'https://civitai.red',
      apiKey: 'k',
    });
    expect(() => resolveCivitaiSettings({ CIVITAI_BASE_URL: 'civitai' })).toThrow(/must be an http\(s\) URL/);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000 + 5000).toUTCString(), 10_000)).toBe(5000);
    expect(retryAfterMs('soon')).toBeNull();
  });
});

describe('syncCivitaiModel', () => {
  it('retries a 429 after the Retry-After delay, sends the API key, and imports the model', async () => {
    replay.script(
      '/mirror/api/v1/models/7001',
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 200, body: ownFixture('model-drift.json') },
    );
    const response = await server.graphql<{ syncCivitaiModel: any }>(
      `mutation { syncCivitaiModel(civitaiId: 7001) { ${SYNC_FIELDS} } }`,
    );
    expect(dataOf(response).syncCivitaiModel).toMatchObject({
      status: 'CREATED',
      remembered: false,
      model: { civitaiId: 7001, name: 'Lantern Glow Style' },
    });
    const calls = replay.requestsFor('/mirror/api/v1/models/7001');
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950);
    expect(calls.every((c) => c.authorization === 'Bearer test-api-key')).toBe(true);
    const again = dataOf(
      await server.graphql<{ syncCivitaiModel: any }>(`mutation { syncCivitaiModel(civitaiId: 7001) { status } }`),
    );
    expect(again.syncCivitaiModel.status).toBe('UNCHANGED');
  });

  it('caps a long Retry-After and retries 5xx answers', async () => {
    const payload = { ...(ownFixture('model-drift.json') as Record<string, unknown>), id: 7011, modelVersions: [] };
    replay.script(
      '/mirror/api/v1/models/7011',
      { status: 503, headers: { 'retry-after': '3600' } },
      { status: 500 },
      { status: 200, body: payload },
    );
    const started = Date.now();
    const result = dataOf(
      await server.graphql<{ syncCivitaiModel: any }>(`mutation { syncCivitaiModel(civitaiId: 7011) { status } }`),
    );
    expect(result.syncCivitaiModel.status).toBe('CREATED');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(replay.requestsFor('/mirror/api/v1/models/7011')).toHaveLength(3);
  });

  it('gives up with UPSTREAM_ERROR after the retries, and on timeouts, writing nothing', async () => {
    replay.script('/mirror/api/v1/models/7012', { status: 502 });
    const failing = await server.graphql(`mutation { syncCivitaiModel(civitaiId: 7012) { status } }`);
    expect(firstErrorCode(failing)).toBe('UPSTREAM_ERROR');
    expect(failing.errors?.[0]?.message).toMatch(/after 3 attempts \(last: HTTP 502\)/);
    replay.script('/mirror/api/v1/models/7013', { status: 200, body: {}, delayMs: 2000 });
    const slow = await server.graphql(`mutation { syncCivitaiModel(civitaiId: 7013) { status } }`);
    expect(firstErrorCode(slow)).toBe('UPSTREAM_ERROR');
    expect(slow.errors?.[0]?.message).toMatch(/no answer within 700 ms/);
    const none = dataOf(
      await server.graphql<{ a: unknown; b: unknown }>(
        `{ a: model(civitaiId: 7012) { id } b: model(civitaiId: 7013) { id } }`,
      ),
    );
    expect(none).toEqual({ a: null, b: null });
  });

  it('records "not on Civitai" and does not ask again until forced', async () => {
    const first = dataOf(
      await server.graphql<{ syncCivitaiModel: any }>(
        `mutation { syncCivitaiModel(civitaiId: 424242) { status remembered model { id } } }`,
      ),
    );
    expect(first.syncCivitaiModel).toEqual({ status: 'NOT_ON_CIVITAI', remembered: false, model: null });
    const second = dataOf(
      await server.graphql<{ syncCivitaiModel: any }>(
        `mutation { syncCivitaiModel(civitaiId: 424242) { status remembered } }`,
      ),
    );
    expect(second.syncCivitaiModel).toEqual({ status: 'NOT_ON_CIVITAI', remembered: true });
    expect(replay.requestsFor('/mirror/api/v1/models/424242')).toHaveLength(1);
    await server.graphql(`mutation { syncCivitaiModel(civitaiId: 424242, force: true) { status } }`);
    expect(replay.requestsFor('/mirror/api/v1/models/424242')).toHaveLength(2);
  });
});

describe('syncCivitaiVersion and syncByHash', () => {
  it('syncs a version through its whole model, or the version alone when the model is gone', async () => {
    replay.script(
      '/mirror/api/v1/model-versions/8201',
      { status: 500 },
      { status: 200, body: ownFixture('version-payload.json') },
    );
    const result = dataOf(
      await server.graphql<{ syncCivitaiVersion: any }>(
        `mutation { syncCivitaiVersion(civitaiId: 8201) { ${SYNC_FIELDS} } }`,
      ),
    );
    expect(result.syncCivitaiVersion).toMatchObject({
      status: 'CREATED',
      model: { civitaiId: 7002, name: 'Mossy Stone Textures', versions: { nodes: [{ civitaiId: 8201 }] } },
    });
    expect(replay.requestsFor('/mirror/api/v1/models/7002')).toHaveLength(1);
  });

  it('identifies a file by hash and imports its model', async () => {
    const sha = 'E5F6A7B8C9D0E1F2A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F80910';
    const version = {
      ...(ownFixture('model-drift.json') as any).modelVersions[0],
      model: { name: 'Lantern Glow Style', type: 'LORA' },
    };
    replay.script(`/mirror/api/v1/model-versions/by-hash/${sha}`, { status: 200, body: version });
    replay.script('/mirror/api/v1/models/7001', { status: 200, body: ownFixture('model-drift.json') });
    const result = dataOf(
      await server.graphql<{ syncByHash: any }>(
        `mutation { syncByHash(hash: "${sha.toLowerCase()}") { status model { civitaiId } } }`,
      ),
    );
    expect(result.syncByHash).toEqual({ status: 'UNCHANGED', model: { civitaiId: 7001 } });
    const unknown = dataOf(
      await server.graphql<{ syncByHash: any }>(`mutation { syncByHash(hash: "ABCDEF0123") { status } }`),
    );
    expect(unknown.syncByHash.status).toBe('NOT_ON_CIVITAI');
    expect(firstErrorCode(await server.graphql(`mutation { syncByHash(hash: "xyz") { status } }`))).toBe(
      'BAD_USER_INPUT',
    );
  });

  it('imports a by-hash answer only when one of its files carries the hash asked for (CRC32 in either byte order)', async () => {
    const drift = ownFixture('model-drift.json') as any;
    const version = { ...drift.modelVersions[0], model: { name: 'Lantern Glow Style', type: 'LORA' } };
    replay.script('/mirror/api/v1/models/7001', { status: 200, body: drift }, { status: 200, body: drift });
    const sync = (hash: string) =>
      server.graphql<{ syncByHash: any }>(
        `mutation { syncByHash(hash: "${hash}", force: true) { status model { civitaiId } } }`,
      );
    const count = async () =>
      dataOf(await server.graphql<{ libraryStats: any }>('{ libraryStats { models } }')).libraryStats.models;
    const before = await count();

    // The fixture's file has CRC32 85114A0D (Civitai's order) and AutoV3 0123456789AB…: asked as 0D4A1185 (zlib's
    // order) or by the AutoV3 prefix, the answer holds it.
    replay.script('/mirror/api/v1/model-versions/by-hash/0D4A1185', { status: 200, body: version });
    expect(dataOf(await sync('0d4a1185')).syncByHash.model).toEqual({ civitaiId: 7001 });
    replay.script('/mirror/api/v1/model-versions/by-hash/0123456789AB', { status: 200, body: version });
    expect(dataOf(await sync('0123456789ab')).syncByHash.model).toEqual({ civitaiId: 7001 });
    const models = await count();
    expect(models).toBeGreaterThanOrEqual(before);
    const modelFetches = replay.requestsFor('/mirror/api/v1/models/7001').length;

    // The same version answered for a SHA-256 none of its files has: nothing imported, nothing remembered.
    const other = `9303${'B'.repeat(60)}`;
    const wrong = { ...version, id: 8199 };
    replay.script(`/mirror/api/v1/model-versions/by-hash/${other}`, { status: 200, body: wrong });
    const answer = await sync(other.toLowerCase());
    expect(firstErrorCode(answer)).toBe('UPSTREAM_ERROR');
    expect(JSON.stringify(answer)).toContain(other);
    expect(replay.requestsFor('/mirror/api/v1/models/7001')).toHaveLength(modelFetches);
    expect(await count()).toBe(models);
    const versions = dataOf(await server.graphql<{ modelVersion: any }>('{ modelVersion(civitaiId: 8199) { name } }'));
    expect(versions).toEqual({ modelVersion: null });
  });
});
