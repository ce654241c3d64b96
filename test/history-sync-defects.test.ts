/**
 * Review findings on the metadata history of syncs, against a local replay of Civitai and CivArchive and a real
 * catalog: every change set a sync writes names its request, CivArchive's answer is kept as it was read, a sync
 * imports only the payload it asked for, a failed look-up remembers nothing, garbage from Civitai is Civitai's fault,
 * and a model known only from the archive is marked removed from Civitai.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { dataOf, type EmptyCatalog, firstErrorCode } from './helpers/catalog.ts';
import { type CatalogHandle, sql } from './helpers/catalog-handle.ts';
import type { CivitaiReplay } from './helpers/civitai-replay.ts';
import { sharedFixture } from './helpers/fixtures.ts';
import { startReplayedServer, type TestServer } from './helpers/server.ts';

let replay: CivitaiReplay;
let server: TestServer;
let catalogRows: CatalogHandle;

const API_KEY = 'defects-secret-key';

beforeAll(async () => {
  let catalog: EmptyCatalog;
  ({ replay, catalog, server } = await startReplayedServer(API_KEY));
  catalogRows = catalog.handle;
});

/** A small model payload as `GET /api/v1/models/:id` serves it. */
function modelPayload(id: number, change: (m: Record<string, any>) => void = () => {}): Record<string, any> {
  const model: Record<string, any> = {
    id,
    name: `Defect model ${id}`,
    description: '<p>From Civitai</p>',
    type: 'LORA',
    nsfw: false,
    creator: { username: 'reviewer', image: null },
    tags: ['style'],
    modelVersions: [
      {
        id: id * 10 + 1,
        modelId: id,
        name: 'v1.0',
        baseModel: 'SDXL 1.0',
        files: [
          {
            id: id * 100 + 1,
            name: `defect_${id}.safetensors`,
            sizeKB: 1024,
            type: 'Model',
            primary: true,
            hashes: { SHA256: `${id}`.padStart(64, 'b') },
          },
        ],
        images: [],
      },
    ],
  };
  change(model);
  return model;
}

/** The version payload (`GET /api/v1/model-versions/:id`, by-hash) of `modelPayload(id)`'s version. */
function versionPayload(id: number): Record<string, any> {
  const { modelVersions, name, type } = modelPayload(id);
  return { ...modelVersions[0], model: { name, type } };
}

/** CivArchive's answer for a file, shaped as its public clients read `GET /api/sha256/:hash`. */
function archiveAnswer(modelId: number, sha256: string): Record<string, any> {
  return {
    model: {
      name: `Archived model ${modelId}`,
      type: 'LORA',
      nsfw: false,
      description: '<p>Only the archive remembers this</p>',
      tags: ['kept', 'archived'],
      version: {
        id: modelId * 10 + 1,
        modelId,
        name: 'v1',
        baseModel: 'SD 1.5',
        trigger: ['archived word'],
        files: [
          {
            id: modelId * 100 + 1,
            name: `archived_${modelId}.safetensors`,
            sizeKB: 2048,
            type: 'Model',
            sha256,
            mirrors: [
              { filename: `archived_${modelId}.safetensors`, url: 'https://mirror.example/a', deletedAt: null },
            ],
          },
        ],
      },
    },
  };
}

const HISTORY = `query($id: Int!) { model(civitaiId: $id) {
  databaseId description lastSyncedAt removedFromCivitaiAt tags { name }
  versions(first: 5) { nodes { civitaiId removedFromCivitaiAt } }
  history(first: 20) { totalCount edges { node { source detail jobId changes { entity field newValue } } } }
  payloads(first: 10) { origin source kind json }
} }`;

async function historyOf(id: number): Promise<any> {
  return dataOf(await server.graphql<{ model: any }>(HISTORY, { id })).model;
}

async function modelCount(): Promise<number> {
  return Number(await catalogRows.value(sql`SELECT COUNT(*) FROM "Models"`));
}

async function lookups(key: string): Promise<unknown[]> {
  return catalogRows.all(sql`SELECT "Kind", "Status" FROM "CivitaiLookups" WHERE "Key" = ${key}`);
}

function syncModel(id: number, headers: Record<string, string> = {}) {
  return server.graphql<any>(
    `mutation($id: Int!) { syncCivitaiModel(civitaiId: $id, force: true) { status model { civitaiId } } }`,
    { id },
    headers,
  );
}

function syncVersion(id: number, headers: Record<string, string> = {}) {
  return server.graphql<any>(
    `mutation($id: Int!) { syncCivitaiVersion(civitaiId: $id, force: true) { status model { civitaiId } } }`,
    { id },
    headers,
  );
}

function syncHash(hash: string, force = true, headers: Record<string, string> = {}) {
  return server.graphql<any>(
    `mutation($h: String!, $f: Boolean) { syncByHash(hash: $h, force: $f) { status remembered fromArchive model { civitaiId } } }`,
    { h: hash, f: force },
    headers,
  );
}

describe('A: syncs record their request id', () => {
  it('in the change sets of model, version and hash syncs, removal marks and archive imports', async () => {
    replay.script('/api/v1/models/9301', { status: 200, body: modelPayload(9301) }, { status: 404 });
    dataOf(await syncModel(9301, { 'x-request-id': 'req-model-sync' }));
    dataOf(await syncModel(9301, { 'x-request-id': 'req-model-gone' }));
    const model = await historyOf(9301);
    expect(model.history.edges.map((e: any) => [e.node.source, e.node.jobId])).toEqual([
      ['sync', 'req-model-gone'],
      ['sync', 'req-model-sync'],
    ]);

    replay.script(`/api/v1/model-versions/${9302 * 10 + 1}`, { status: 200, body: versionPayload(9302) });
    replay.script('/api/v1/models/9302', { status: 200, body: modelPayload(9302) });
    dataOf(await syncVersion(9302 * 10 + 1, { 'x-request-id': 'req-version-sync' }));
    expect((await historyOf(9302)).history.edges[0].node.jobId).toBe('req-version-sync');

    const sha = '9303'.padStart(64, 'b'); // the file hash of modelPayload(9303)
    replay.script(`/api/v1/model-versions/by-hash/${sha.toUpperCase()}`, { status: 200, body: versionPayload(9303) });
    replay.script('/api/v1/models/9303', { status: 200, body: modelPayload(9303) });
    dataOf(await syncHash(sha, true, { 'x-request-id': 'req-hash-sync' }));
    expect((await historyOf(9303)).history.edges[0].node.jobId).toBe('req-hash-sync');

    const archived = 'cd'.repeat(32);
    replay.script(`/api/v1/model-versions/by-hash/${archived.toUpperCase()}`, { status: 404 });
    replay.script(`/archive/api/sha256/${archived}`, { status: 200, body: archiveAnswer(9304, archived) });
    expect(dataOf(await syncHash(archived, true, { 'x-request-id': 'req-archive' })).syncByHash).toMatchObject({
      fromArchive: true,
      model: { civitaiId: 9304 },
    });
    expect((await historyOf(9304)).history.edges[0].node.jobId).toBe('req-archive');
  });
});

describe("B: CivArchive's answer is kept as it was read", () => {
  it('archives the raw answer (origin archive) and keeps its description and tags on the model', async () => {
    const sha = 'ef'.repeat(32);
    const answer = archiveAnswer(9311, sha);
    replay.script(`/api/v1/model-versions/by-hash/${sha.toUpperCase()}`, { status: 404 });
    replay.script(`/archive/api/sha256/${sha}`, { status: 200, body: answer });
    expect(dataOf(await syncHash(sha)).syncByHash).toMatchObject({ status: 'CREATED', fromArchive: true });
    const model = await historyOf(9311);
    expect(model.payloads).toHaveLength(1);
    expect(model.payloads[0]).toMatchObject({ origin: 'archive', source: `CivArchive sha256 ${sha.toUpperCase()}` });
    expect(model.payloads[0].json).toEqual(answer);
    expect(model.description).toBe('<p>Only the archive remembers this</p>');
    expect(model.tags.map((t: any) => t.name).sort()).toEqual(['archived', 'kept']);
  });
});

describe('C: a sync imports only the payload it asked for', () => {
  it('refuses a models list, another model or a version as the answer for model X, writing nothing', async () => {
    const list = sharedFixture('models-list-textualinversion-2023.json') as { items: { id: number }[] };
    const before = await modelCount();
    const wrongAnswers: [unknown, RegExp][] = [
      [list, /a list of 3 items/],
      [modelPayload(9322), /model 9322/],
      [versionPayload(9321), /version 93211/],
    ];
    for (const [body, named] of wrongAnswers) {
      replay.script('/api/v1/models/9321', { status: 200, body });
      const response = await syncModel(9321);
      expect(firstErrorCode(response)).toBe('UPSTREAM_ERROR');
      expect(response.errors![0]!.message).toMatch(named);
      expect(response.errors![0]!.message).toContain('/api/v1/models/9321');
    }
    expect(await modelCount()).toBe(before);
    for (const item of list.items)
      expect(dataOf(await server.graphql<any>(`{ model(civitaiId: ${item.id}) { id } }`)).model).toBeNull();
  });

  it("refuses another version, a model or a list as a version's answer, and another model as its model", async () => {
    const before = await modelCount();
    const real = sharedFixture('model-version-1255556.json') as { id: number; modelId: number };
    for (const body of [real, modelPayload(9331), sharedFixture('models-list-textualinversion-2023.json')]) {
      replay.script(`/api/v1/model-versions/${9331 * 10 + 1}`, { status: 200, body });
      const response = await syncVersion(9331 * 10 + 1);
      expect(firstErrorCode(response)).toBe('UPSTREAM_ERROR');
      expect(response.errors![0]!.message).toContain(`/api/v1/model-versions/${9331 * 10 + 1}`);
    }
    // The version is right, but its model's answer is another model.
    replay.script(`/api/v1/model-versions/${9332 * 10 + 1}`, { status: 200, body: versionPayload(9332) });
    replay.script('/api/v1/models/9332', { status: 200, body: sharedFixture('model-215485.json') });
    const response = await syncVersion(9332 * 10 + 1);
    expect(firstErrorCode(response)).toBe('UPSTREAM_ERROR');
    expect(response.errors![0]!.message).toMatch(/model 215485/);
    expect(await modelCount()).toBe(before);
  });
});

describe('D: a failed look-up remembers nothing', () => {
  it('asks Civitai and the archive again after the archive answered garbage', async () => {
    const sha = '0d'.repeat(32);
    const byHash = `/api/v1/model-versions/by-hash/${sha.toUpperCase()}`;
    const archive = `/archive/api/sha256/${sha}`;
    replay.script(byHash, { status: 404 });
    replay.script(
      archive,
      { status: 200, raw: '<html><body>Bad gateway</body></html>', headers: { 'content-type': 'text/html' } },
      { status: 200, body: archiveAnswer(9341, sha) },
    );
    const failed = await syncHash(sha, false);
    expect(firstErrorCode(failed)).toBe('UPSTREAM_ERROR');
    expect(await lookups(sha.toUpperCase())).toEqual([]);
    expect(dataOf(await syncHash(sha, false)).syncByHash).toMatchObject({
      status: 'CREATED',
      remembered: false,
      fromArchive: true,
      model: { civitaiId: 9341 },
    });
    expect(replay.requestsFor(byHash)).toHaveLength(2);
    expect(replay.requestsFor(archive)).toHaveLength(2);
  });

  it('remembers the miss once Civitai and the archive both answered', async () => {
    const sha = '0e'.repeat(32);
    replay.script(`/api/v1/model-versions/by-hash/${sha.toUpperCase()}`, { status: 404 });
    replay.script(`/archive/api/sha256/${sha}`, { status: 404 });
    expect(dataOf(await syncHash(sha, false)).syncByHash).toMatchObject({
      status: 'NOT_ON_CIVITAI',
      remembered: false,
    });
    expect(dataOf(await syncHash(sha, false)).syncByHash).toMatchObject({ status: 'NOT_ON_CIVITAI', remembered: true });
    expect(replay.requestsFor(`/archive/api/sha256/${sha}`)).toHaveLength(1);
  });
});

describe("E: garbage from Civitai is Civitai's fault", () => {
  it('answers UPSTREAM_ERROR naming Civitai and the path (never the key) for [], null and {}', async () => {
    const sha = '0f'.repeat(32);
    const calls: [string, () => Promise<any>][] = [
      ['/api/v1/models/9351', () => syncModel(9351)],
      ['/api/v1/model-versions/93511', () => syncVersion(93511)],
      [`/api/v1/model-versions/by-hash/${sha.toUpperCase()}`, () => syncHash(sha)],
    ];
    for (const body of [[], null, {}])
      for (const [path, call] of calls) {
        replay.script(path, { status: 200, body });
        const response = await call();
        const message = response.errors?.[0]?.message ?? '';
        expect(firstErrorCode(response), `${path} ${JSON.stringify(body)}`).toBe('UPSTREAM_ERROR');
        expect(message).toMatch(/^Civitai /);
        expect(message).toContain(path);
        expect(message).not.toContain(API_KEY);
        expect(message).not.toMatch(/^\$/);
      }
  });
});

describe('F: a model known only from the archive is marked removed from Civitai', () => {
  it('marks the model and its version, does not claim a Civitai sync, and lifts the mark when Civitai has it', async () => {
    const sha = '1a'.repeat(32);
    replay.script(`/api/v1/model-versions/by-hash/${sha.toUpperCase()}`, { status: 404 });
    replay.script(`/archive/api/sha256/${sha}`, { status: 200, body: archiveAnswer(9361, sha) });
    dataOf(await syncHash(sha));
    const model = await historyOf(9361);
    expect(model.removedFromCivitaiAt).toEqual(expect.any(String));
    expect(model.versions.nodes).toEqual([{ civitaiId: 93611, removedFromCivitaiAt: model.removedFromCivitaiAt }]);
    expect(model.lastSyncedAt).toBeNull();
    const listed = dataOf(
      await server.graphql<any>(`{
        models(filter: { removedFromCivitai: true }, first: 100) { nodes { civitaiId } }
        modelFacets { byRemovedFromCivitai { value count } }
        libraryStats { removedFromCivitai }
      }`),
    );
    expect(listed.models.nodes).toContainEqual({ civitaiId: 9361 });
    const removedCount = listed.models.nodes.length;
    expect(listed.libraryStats.removedFromCivitai).toBe(removedCount);
    expect(listed.modelFacets.byRemovedFromCivitai).toContainEqual({ value: 'true', count: removedCount });

    // Civitai answers 404 for the model itself: it is (still) removed, not unknown.
    replay.script('/api/v1/models/9361', { status: 404 }, { status: 200, body: modelPayload(9361) });
    expect(dataOf(await syncModel(9361)).syncCivitaiModel).toMatchObject({
      status: 'REMOVED_FROM_CIVITAI',
      model: { civitaiId: 9361 },
    });
    // Civitai serves it again: the mark is lifted and the sync recorded.
    expect(dataOf(await syncModel(9361)).syncCivitaiModel.status).toBe('UPDATED');
    const back = await historyOf(9361);
    expect(back.removedFromCivitaiAt).toBeNull();
    expect(back.lastSyncedAt).toEqual(expect.any(String));
  });

  it('marks only the version when the archive adds a version to a model Civitai still serves', async () => {
    replay.script('/api/v1/models/9362', { status: 200, body: modelPayload(9362) });
    dataOf(await syncModel(9362));
    const synced = await historyOf(9362);
    const sha = '1b'.repeat(32);
    const answer = archiveAnswer(9362, sha);
    answer.model.version.id = 93629;
    answer.model.version.files[0].id = 936209;
    replay.script(`/api/v1/model-versions/by-hash/${sha.toUpperCase()}`, { status: 404 });
    replay.script(`/archive/api/sha256/${sha}`, { status: 200, body: answer });
    expect(dataOf(await syncHash(sha)).syncByHash).toMatchObject({ status: 'UPDATED', fromArchive: true });
    const model = await historyOf(9362);
    expect(model.removedFromCivitaiAt).toBeNull();
    expect(model.lastSyncedAt).toBe(synced.lastSyncedAt);
    const versions = Object.fromEntries(model.versions.nodes.map((v: any) => [v.civitaiId, v.removedFromCivitaiAt]));
    expect(versions).toEqual({ 93621: null, 93629: expect.any(String) });
  });
});
