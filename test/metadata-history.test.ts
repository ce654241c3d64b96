/**
 * Metadata that is never lost, against a local replay of the Civitai API and a real catalog file: the change
 * history field by field, reverts that later syncs keep, the payload archive (each distinct payload once),
 * tombstones for models Civitai no longer knows, and payloads with missing or null fields that must not erase
 * anything.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { preparePayload } from '../src/history/payload-archive.ts';
import { dataOf, type EmptyCatalog, firstErrorCode } from './helpers/catalog.ts';
import { type CatalogHandle, sql } from './helpers/catalog-handle.ts';
import type { CivitaiReplay } from './helpers/civitai-replay.ts';
import { cli } from './helpers/cli.ts';
import { startReplayedServer, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

let replay: CivitaiReplay;
let server: TestServer;
/** The catalog's database, read directly. */
let catalogRows: CatalogHandle;
/** The CLI flags for the catalog (its data directory, and on PostgreSQL its URL). */
let catalogArgs: string[];

beforeAll(async () => {
  let catalog: EmptyCatalog;
  ({ replay, catalog, server } = await startReplayedServer('history-test-key'));
  catalogRows = catalog.handle;
  catalogArgs = catalog.args;
});

/** A model payload as `GET /api/v1/models/:id` serves it; `change` edits the JSON before it is served. */
function modelPayload(id: number, change: (m: Record<string, any>) => void = () => {}): Record<string, any> {
  const model: Record<string, any> = {
    id,
    name: `History model ${id}`,
    description: '<p>First description</p>',
    type: 'LORA',
    nsfw: false,
    poi: false,
    mode: null,
    allowNoCredit: true,
    allowCommercialUse: ['Image'],
    allowDerivatives: true,
    allowDifferentLicense: true,
    creator: { username: 'historian', image: null },
    tags: ['style', 'anime'],
    modelVersions: [
      {
        id: id * 10 + 1,
        modelId: id,
        name: 'v1.0',
        description: '<p>Version one</p>',
        baseModel: 'SDXL 1.0',
        createdAt: '2026-01-01T00:00:00.000Z',
        publishedAt: '2026-01-01T00:00:00.000Z',
        trainedWords: ['hist style', 'ink'],
        downloadUrl: `https://civitai.com/api/download/models/${id * 10 + 1}`,
        stats: { downloadCount: 10, ratingCount: 1, rating: 5 },
        files: [
          {
            id: id * 100 + 1,
            name: `history_${id}.safetensors`,
            sizeKB: 1024,
            type: 'Model',
            primary: true,
            metadata: { format: 'SafeTensor', fp: 'fp16', size: 'pruned' },
            hashes: { SHA256: `${id}`.padStart(64, 'a') },
            downloadUrl: `https://civitai.com/api/download/models/${id * 10 + 1}`,
          },
        ],
        images: [{ id: id * 1000 + 1, url: `https://image.civitai.com/${id}/1.jpeg`, width: 512, height: 768 }],
      },
    ],
  };
  change(model);
  return model;
}

/** The versions of `model` with other download counts and nothing else changed. */
function statsOnly(model: Record<string, any>): Record<string, any>[] {
  return model.modelVersions.map((v: Record<string, any>) => ({ ...v, stats: { ...v.stats, downloadCount: 12345 } }));
}

async function sync(id: number, force = true): Promise<{ status: string }> {
  const data = dataOf(
    await server.graphql<{ syncCivitaiModel: { status: string } }>(
      `mutation($id: Int!, $force: Boolean) { syncCivitaiModel(civitaiId: $id, force: $force) { status } }`,
      { id, force },
    ),
  );
  return data.syncCivitaiModel;
}

const HISTORY = `query($id: Int!) { model(civitaiId: $id) {
  databaseId name description mode removedFromCivitaiAt hasUpdate
  tags { name }
  versions(first: 5) { nodes { databaseId name description triggerWords { word } removedFromCivitaiAt } }
  history(first: 20) { totalCount edges { node { databaseId source detail jobId revertsChangeSetId
    changes { entity entityId field oldValue newValue } } } }
  payloads(first: 10) { origin source kind byteSize storedBytes contentHash }
} }`;

async function historyOf(id: number): Promise<any> {
  return dataOf(await server.graphql<{ model: any }>(HISTORY, { id })).model;
}

function rows(statement: Parameters<CatalogHandle['all']>[0]): Promise<any[]> {
  return catalogRows.all(statement);
}

describe('change history', () => {
  it('records exactly the changed fields of v1 → v2, nothing for a repeat, and archives each payload once', async () => {
    const v1 = modelPayload(9101);
    const v2 = modelPayload(9101, (m) => {
      m.description = '<p>Second description</p>';
      m.tags = ['style', 'ink art'];
      m.modelVersions[0].description = '<p>Version one, revised</p>';
      m.modelVersions[0].trainedWords = ['hist style', 'ink', 'brush'];
      m.modelVersions[0].stats.downloadCount = 500; // statistics are not history
    });
    replay.script(
      '/api/v1/models/9101',
      { status: 200, body: v1 },
      { status: 200, body: v2 },
      { status: 200, body: v2 },
      { status: 200, body: modelPayload(9101, (m) => Object.assign(m, v2, { modelVersions: statsOnly(v2) })) },
    );
    expect((await sync(9101)).status).toBe('CREATED');
    expect((await sync(9101)).status).toBe('UPDATED');
    expect((await sync(9101)).status).toBe('UNCHANGED');
    // Only the download count differs: the count is updated, but neither history nor archive grows.
    expect((await sync(9101)).status).toBe('UPDATED');

    const model = await historyOf(9101);
    const sets = model.history.edges.map((e: any) => e.node);
    expect(model.history.totalCount).toBe(2);
    const [update, creation] = sets;
    expect(creation).toMatchObject({ source: 'sync', detail: 'Civitai model 9101' });
    expect(creation.changes).toEqual([
      { entity: 'Model', entityId: model.databaseId, field: '*', oldValue: null, newValue: 'History model 9101' },
    ]);
    const versionId = model.versions.nodes[0].databaseId;
    expect(update.source).toBe('sync');
    expect(update.changes).toEqual(
      expect.arrayContaining([
        {
          entity: 'Model',
          entityId: model.databaseId,
          field: 'Description',
          oldValue: '<p>First description</p>',
          newValue: '<p>Second description</p>',
        },
        {
          entity: 'Model',
          entityId: model.databaseId,
          field: 'Tags',
          oldValue: ['anime', 'style'],
          newValue: ['ink art', 'style'],
        },
        {
          entity: 'ModelVersion',
          entityId: versionId,
          field: 'Description',
          oldValue: '<p>Version one</p>',
          newValue: '<p>Version one, revised</p>',
        },
        {
          entity: 'ModelVersion',
          entityId: versionId,
          field: 'TriggerWords',
          oldValue: ['hist style', 'ink'],
          newValue: ['hist style', 'ink', 'brush'],
        },
      ]),
    );
    expect(update.changes).toHaveLength(4);

    // Two distinct payloads, each stored once however often it was read.
    expect(model.payloads).toHaveLength(2);
    expect(model.payloads.every((p: any) => p.origin === 'civitai' && p.kind === 'model')).toBe(true);
    expect(model.payloads[0].storedBytes).toBeLessThan(model.payloads[0].byteSize);
    const archived = await rows(sql`SELECT "ContentHash" FROM "ModelPayloads" WHERE "ModelId" = ${model.databaseId}`);
    expect(archived).toHaveLength(2);
    expect(new Set(archived.map((r) => r.ContentHash)).size).toBe(2);

    const json = dataOf(
      await server.graphql<{ model: any }>(`{ model(civitaiId: 9101) { payloads(first: 1) { json } } }`),
    ).model.payloads[0].json;
    expect(json).toEqual(v2);
  });

  it('reverts a change set as a user edit that a later sync keeps, and records the revert', async () => {
    const before = await historyOf(9101);
    const update = before.history.edges[0].node;
    const reverted = dataOf(
      await server.graphql<{ revertChange: any }>(
        `mutation($id: Int!) { revertChange(changeSetId: $id) { changeSetId model { description tags { name } } } }`,
        { id: update.databaseId },
      ),
    ).revertChange;
    expect(reverted.model.description).toBe('<p>First description</p>');
    expect(reverted.model.tags.map((t: any) => t.name).sort()).toEqual(['anime', 'style']);

    // Civitai still serves v2: the reverted values stay.
    replay.script('/api/v1/models/9101', {
      status: 200,
      body: modelPayload(9101, (m) => {
        m.description = '<p>Second description</p>';
        m.tags = ['style', 'ink art'];
        m.modelVersions[0].description = '<p>Version one, revised</p>';
        m.modelVersions[0].trainedWords = ['hist style', 'ink', 'brush'];
      }),
    });
    await sync(9101);
    const after = await historyOf(9101);
    expect(after.description).toBe('<p>First description</p>');
    expect(after.versions.nodes[0].description).toBe('<p>Version one</p>');
    expect(after.versions.nodes[0].triggerWords.map((w: any) => w.word)).toEqual(['hist style', 'ink']);
    expect(after.tags.map((t: any) => t.name).sort()).toEqual(['anime', 'style']);
    const revert = after.history.edges.find((e: any) => e.node.source === 'revert').node;
    expect(revert).toMatchObject({ revertsChangeSetId: update.databaseId });
    expect(revert.jobId).toEqual(expect.any(String));
    expect(revert.changes).toHaveLength(4);

    expect(firstErrorCode(await server.graphql(`mutation { revertChange(changeSetId: 987654) { changeSetId } }`))).toBe(
      'NOT_FOUND',
    );
    const creation = after.history.edges.at(-1).node;
    expect(
      firstErrorCode(
        await server.graphql(`mutation($id: Int!) { revertChange(changeSetId: $id) { changeSetId } }`, {
          id: creation.databaseId,
        }),
      ),
    ).toBe('BAD_USER_INPUT');
  });

  it('records user edits with the request id', async () => {
    const model = await historyOf(9101);
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'edit-req-1' },
      body: JSON.stringify({
        query: `mutation($id: ID!) { updateModel(id: $id, input: { name: "Edited name" }) { name } }`,
        variables: {
          id: (await server.graphql<{ model: { id: string } }>(`{ model(civitaiId: 9101) { id } }`)).data!.model.id,
        },
      }),
    });
    expect(response.status).toBe(200);
    const edited = (await historyOf(9101)).history.edges[0].node;
    expect(edited).toMatchObject({ source: 'edit', detail: 'updateModel', jobId: 'edit-req-1' });
    expect(edited.changes).toEqual([
      { entity: 'Model', entityId: model.databaseId, field: 'Name', oldValue: model.name, newValue: 'Edited name' },
    ]);
  });
});

describe('never worse', () => {
  it('a partial payload with null, empty and missing fields erases nothing', async () => {
    replay.script('/api/v1/models/9102', { status: 200, body: modelPayload(9102) });
    await sync(9102);
    const versionId = 9102 * 10 + 1;
    const [stored] = await rows(
      sql`SELECT "BaseModel", "DownloadUrl" FROM "ModelVersions" WHERE "CivitaiId" = ${versionId}`,
    );
    expect(stored.DownloadUrl).toEqual(expect.any(String));
    // A version payload (as by-hash and .civitai.info carry) with nulls, empties and absences.
    const partial = {
      id: versionId,
      modelId: 9102,
      name: 'v1.0',
      description: null,
      trainedWords: [],
      files: [],
      images: [],
      model: { name: 'History model 9102', type: 'LORA' },
    };
    const imported = dataOf(
      await server.graphql<{ importCivitaiPayload: any }>(
        `mutation($p: JSON!) { importCivitaiPayload(payload: $p) { updated unchanged failed } }`,
        { p: partial },
      ),
    ).importCivitaiPayload;
    expect(imported.failed).toBe(0);
    const model = await historyOf(9102);
    expect(model.description).toBe('<p>First description</p>');
    expect(model.versions.nodes[0].description).toBe('<p>Version one</p>');
    expect(model.versions.nodes[0].triggerWords.map((w: any) => w.word)).toEqual(['hist style', 'ink']);
    expect(model.tags).toHaveLength(2);
    const [version] = await rows(
      sql`SELECT "BaseModel", "DownloadUrl" FROM "ModelVersions" WHERE "CivitaiId" = ${versionId}`,
    );
    expect(version).toEqual({
      BaseModel: 'SDXL10',
      DownloadUrl: `https://civitai.com/api/download/models/${versionId}`,
    });
    expect(model.history.totalCount).toBe(1);
  });

  it('a full model payload leaves absent fields alone, and empties a field it sets to null (recorded)', async () => {
    replay.script(
      '/api/v1/models/9102',
      {
        status: 200,
        body: modelPayload(9102, (m) => {
          delete m.description;
          delete m.tags;
          delete m.modelVersions[0].trainedWords;
        }),
      },
      { status: 200, body: modelPayload(9102, (m) => (m.description = null)) },
    );
    expect((await sync(9102)).status).toBe('UNCHANGED');
    let model = await historyOf(9102);
    expect(model.description).toBe('<p>First description</p>');
    expect(model.tags).toHaveLength(2);
    expect(model.versions.nodes[0].triggerWords).toHaveLength(2);

    expect((await sync(9102)).status).toBe('UPDATED');
    model = await historyOf(9102);
    expect(model.description).toBeNull();
    const cleared = model.history.edges[0].node;
    expect(cleared.changes).toEqual([
      {
        entity: 'Model',
        entityId: model.databaseId,
        field: 'Description',
        oldValue: '<p>First description</p>',
        newValue: null,
      },
    ]);
    await server.graphql(`mutation($id: Int!) { revertChange(changeSetId: $id) { changeSetId } }`, {
      id: cleared.databaseId,
    });
    expect((await historyOf(9102)).description).toBe('<p>First description</p>');
  });

  it('a version payload whose files and images say little leaves the rest of them as stored', async () => {
    replay.script('/api/v1/models/9121', {
      status: 200,
      body: modelPayload(9121, (m) => {
        Object.assign(m.modelVersions[0].files[0], { pickleScanResult: 'Success', virusScanResult: 'Success' });
        m.modelVersions[0].images[0].meta = { prompt: 'an ink portrait' };
      }),
    });
    await sync(9121);
    const versionId = 9121 * 10 + 1;
    const facts = () =>
      rows(sql`SELECT f."SizeKB", f."FileType", f."IsPrimary", f."Format", f."Precision", f."SizeType",
        f."PickleScanResult", f."VirusScanResult", i."Prompt", i."Width"
        FROM "ModelFiles" f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId"
        JOIN "ModelImages" i ON i."ModelVersionId" = v."Id" WHERE v."CivitaiId" = ${versionId}`);
    const before = await facts();
    expect(before[0]).toMatchObject({ SizeKB: 1024, Format: 'SafeTensor', PickleScanResult: 'Success' });
    expect(before[0].Prompt).toBe('an ink portrait');
    // What a by-hash answer or an archive's copy may carry: a file cut to id, name and hashes; an image without meta.
    const partial = {
      id: versionId,
      modelId: 9121,
      name: 'v1.0',
      files: [{ id: 9121 * 100 + 1, name: 'history_9121.safetensors', hashes: { SHA256: '9121'.padStart(64, 'a') } }],
      images: [{ id: 9121 * 1000 + 1, url: 'https://image.civitai.com/9121/1.jpeg', width: 512, height: 768 }],
      model: { name: 'History model 9121', type: 'LORA' },
    };
    const imported = dataOf(
      await server.graphql<{ importCivitaiPayload: any }>(
        `mutation($p: JSON!) { importCivitaiPayload(payload: $p) { updated unchanged failed } }`,
        { p: partial },
      ),
    ).importCivitaiPayload;
    expect(imported).toMatchObject({ failed: 0, unchanged: 1 });
    expect(await facts()).toEqual(before);
    expect((await historyOf(9121)).history.totalCount).toBe(1);
  });

  it('a full model payload whose files and images say little changes none of them', async () => {
    const cut = (m: Record<string, any>) => {
      m.modelVersions[0].files = [
        { id: 9124 * 100 + 1, name: 'history_9124.safetensors', hashes: { SHA256: '9124'.padStart(64, 'a') } },
      ];
      m.modelVersions[0].images = [{ id: 9124 * 1000 + 1, url: 'https://image.civitai.com/9124/1.jpeg' }];
    };
    replay.script(
      '/api/v1/models/9124',
      {
        status: 200,
        body: modelPayload(9124, (m) => {
          m.modelVersions[0].images[0].meta = { prompt: 'a harbour at dusk', seed: 7 };
        }),
      },
      { status: 200, body: modelPayload(9124, cut) },
    );
    await sync(9124);
    const facts = () =>
      rows(sql`SELECT f."IsPrimary", f."SizeKB", f."Format", i."Prompt", i."Seed", i."Width"
        FROM "ModelFiles" f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId"
        JOIN "ModelImages" i ON i."ModelVersionId" = v."Id" WHERE v."CivitaiId" = ${9124 * 10 + 1}`);
    const before = await facts();
    expect(Boolean(Number(before[0].IsPrimary))).toBe(true);
    expect(before[0].Prompt).toBe('a harbour at dusk');
    await sync(9124);
    expect(await facts()).toEqual(before);
    const changed = (await historyOf(9124)).history.edges.flatMap((e: any) => e.node.changes);
    expect(changed.filter((c: any) => c.entity === 'ModelFile')).toEqual([]);
  });

  it('a full model payload moves the primary mark: a file Civitai no longer marks is not the primary', async () => {
    const second = (m: Record<string, any>) =>
      m.modelVersions[0].files.push({
        id: 9122 * 100 + 2,
        name: 'history_9122_b.safetensors',
        sizeKB: 10,
        type: 'Model',
        metadata: { format: 'SafeTensor' },
        hashes: { SHA256: '9122b'.padStart(64, 'b') },
      });
    replay.script(
      '/api/v1/models/9122',
      { status: 200, body: modelPayload(9122, second) },
      {
        status: 200,
        body: modelPayload(9122, (m) => {
          second(m);
          delete m.modelVersions[0].files[0].primary;
          m.modelVersions[0].files[1].primary = true;
        }),
      },
    );
    const primaries = async () =>
      (
        await rows(sql`SELECT "CivitaiId", "IsPrimary" FROM "ModelFiles" WHERE "CivitaiId" IN (912201, 912202)
        ORDER BY "CivitaiId"`)
      ).map((r) => [Number(r.CivitaiId), Boolean(Number(r.IsPrimary))]);
    await sync(9122);
    expect(await primaries()).toEqual([
      [912201, true],
      [912202, false],
    ]);
    expect((await sync(9122)).status).toBe('UPDATED');
    expect(await primaries()).toEqual([
      [912201, false],
      [912202, true],
    ]);
  });

  it('an import that fails writes neither rows, history nor payloads', async () => {
    const counts = async () =>
      (
        await rows(
          sql`SELECT (SELECT COUNT(*) FROM "MetadataChangeSets") AS sets, (SELECT COUNT(*) FROM "ModelPayloads") AS payloads,
           (SELECT COUNT(*) FROM "Models") AS models`,
        )
      )[0];
    const before = await counts();
    // A new model whose version id belongs to model 9101: the import fails after writing the model row.
    const stolen = modelPayload(9103, (m) => {
      m.modelVersions[0].id = 9101 * 10 + 1;
    });
    const result = dataOf(
      await server.graphql<{ importCivitaiPayload: any }>(
        `mutation($p: JSON!) { importCivitaiPayload(payload: $p) { created failed failures { message } } }`,
        { p: stolen },
      ),
    ).importCivitaiPayload;
    expect(result).toMatchObject({ created: 0, failed: 1 });
    expect(await counts()).toEqual(before);
  });
});

describe('tombstones', () => {
  it('keeps every row of a model Civitai answers 404 for, shows it, and lifts it on the next successful sync', async () => {
    replay.script('/api/v1/models/9104', { status: 200, body: modelPayload(9104) }, { status: 404 });
    await sync(9104);
    const before = (
      await rows(
        sql`SELECT COUNT(*) AS n FROM "ModelVersions" v JOIN "Models" m ON m."Id" = v."ModelId" WHERE m."CivitaiId" = 9104`,
      )
    )[0].n;
    expect((await sync(9104)).status).toBe('REMOVED_FROM_CIVITAI');
    const removed = await historyOf(9104);
    expect(removed.removedFromCivitaiAt).toEqual(expect.any(String));
    expect(removed.versions.nodes).toHaveLength(before);
    expect(removed.history.edges[0].node.changes).toEqual([
      {
        entity: 'Model',
        entityId: removed.databaseId,
        field: 'RemovedFromCivitaiAt',
        oldValue: null,
        newValue: removed.removedFromCivitaiAt,
      },
    ]);
    const listed = dataOf(
      await server.graphql<any>(`{
        models(filter: { removedFromCivitai: true }) { nodes { civitaiId } }
        modelFacets { byRemovedFromCivitai { value count } }
        libraryStats { removedFromCivitai }
      }`),
    );
    expect(listed.models.nodes).toEqual([{ civitaiId: 9104 }]);
    expect(listed.modelFacets.byRemovedFromCivitai).toContainEqual({ value: 'true', count: 1 });
    expect(listed.libraryStats.removedFromCivitai).toBe(1);

    replay.script('/api/v1/models/9104', { status: 200, body: modelPayload(9104) });
    expect((await sync(9104)).status).toBe('UPDATED');
    const back = await historyOf(9104);
    expect(back.removedFromCivitaiAt).toBeNull();
    expect(back.history.edges[0].node.changes[0]).toMatchObject({ field: 'RemovedFromCivitaiAt', newValue: null });
  });

  it('counts archived and taken-down models as removed, and never reports updates for them', async () => {
    replay.script('/api/v1/models/9105', {
      status: 200,
      body: modelPayload(9105, (m) => {
        m.mode = 'TakenDown';
      }),
    });
    await sync(9105);
    const model = await historyOf(9105);
    expect(model.mode).toBe('TakenDown');
    expect(model.hasUpdate).toBe(false);
    const ids = dataOf(
      await server.graphql<any>(`{ models(filter: { removedFromCivitai: true }) { nodes { civitaiId } } }`),
    ).models.nodes.map((n: any) => n.civitaiId);
    expect(ids).toContain(9105);
  });

  it('lifts Archived when Civitai serves the model again without a mode (as it serves an available model)', async () => {
    replay.script(
      '/api/v1/models/9123',
      { status: 200, body: modelPayload(9123, (m) => (m.mode = 'Archived')) },
      { status: 200, body: modelPayload(9123, (m) => delete m.mode) },
    );
    await sync(9123);
    expect((await historyOf(9123)).mode).toBe('Archived');
    expect((await sync(9123)).status).toBe('UPDATED');
    const back = await historyOf(9123);
    expect(back.mode).toBe('Available');
    expect(back.history.edges[0].node.changes).toContainEqual(
      expect.objectContaining({ field: 'Mode', oldValue: 'Archived', newValue: 'Available' }),
    );
    const ids = dataOf(
      await server.graphql<any>(`{ models(filter: { removedFromCivitai: true }) { nodes { civitaiId } } }`),
    ).models.nodes.map((n: any) => n.civitaiId);
    expect(ids).not.toContain(9123);
  });

  it('does not mark a model never synced when Civitai does not know it', async () => {
    expect((await sync(9199)).status).toBe('NOT_ON_CIVITAI');
  });
});

describe('versions gone from Civitai', () => {
  it('marks a version Civitai answers 404 for, and a model gone while its version is still served', async () => {
    replay.script('/api/v1/models/9106', { status: 200, body: modelPayload(9106) });
    await sync(9106);
    const versionId = 9106 * 10 + 1;
    replay.script(`/api/v1/model-versions/${versionId}`, { status: 404 });
    const gone = dataOf(
      await server.graphql<any>(`mutation($id: Int!) { syncCivitaiVersion(civitaiId: $id, force: true) { status } }`, {
        id: versionId,
      }),
    );
    expect(gone.syncCivitaiVersion.status).toBe('REMOVED_FROM_CIVITAI');
    let model = await historyOf(9106);
    expect(model.versions.nodes[0].removedFromCivitaiAt).toEqual(expect.any(String));
    expect(model.removedFromCivitaiAt).toBeNull();

    // The version is back, but its model answers 404: the version's mark is lifted, the model is marked, together.
    const { modelVersions, ...modelFields } = modelPayload(9106);
    replay.script(`/api/v1/model-versions/${versionId}`, {
      status: 200,
      body: { ...modelVersions[0], model: { name: modelFields.name, type: modelFields.type } },
    });
    replay.script('/api/v1/models/9106', { status: 404 });
    await server.graphql(`mutation($id: Int!) { syncCivitaiVersion(civitaiId: $id, force: true) { status } }`, {
      id: versionId,
    });
    model = await historyOf(9106);
    expect(model.versions.nodes[0].removedFromCivitaiAt).toBeNull();
    expect(model.removedFromCivitaiAt).toEqual(expect.any(String));
    const latest = model.history.edges[0].node;
    expect(latest.changes.map((c: any) => `${c.entity}.${c.field}`).sort()).toEqual([
      'Model.RemovedFromCivitaiAt',
      'ModelVersion.RemovedFromCivitaiAt',
    ]);
  });
});

describe('payload export', () => {
  it('writes each archived payload of a model as its JSON, and keeps identical files on a second run', async () => {
    const dir = path.join(tempDir('dn-payloads-'), 'out');
    const first = await cli(['payloads', 'export', '9101', dir, '--civitai', ...catalogArgs]);
    expect(first.code, first.stderr).toBe(0);
    const files = readdirSync(dir).sort();
    // v1 and v2: v2 served again with other download counts is not kept again.
    expect(files).toHaveLength(2);
    expect(files.every((f) => /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ_civitai_[0-9a-f]{12}\.json$/.test(f))).toBe(true);
    const names = files.map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')).description);
    expect(names.sort()).toEqual(['<p>First description</p>', '<p>Second description</p>']);
    const again = await cli(['payloads', 'export', '9101', dir, '--civitai', ...catalogArgs]);
    expect(again.stdout).toContain('0 written, 2 already there');
    const missing = await cli(['payloads', 'export', '999999', dir, ...catalogArgs]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('NOT_FOUND');
    expect((await cli(['payloads', 'export', 'x', dir, ...catalogArgs])).code).toBe(2);
  });
});

describe('archive fallback (CivArchive)', () => {
  const sha256 = 'c0ffee'.padEnd(64, '7');

  /** An answer shaped as public CivArchive clients read `GET /api/sha256/:hash`. */
  const archived = {
    model: {
      name: 'Archived LoRA',
      type: 'LORA',
      nsfw: false,
      description: '<p>Kept by the archive</p>',
      tags: ['kept'],
      username: 'gone_creator',
      version: {
        id: 91071,
        modelId: 9107,
        name: 'v2',
        baseModel: 'SD 1.5',
        trigger: ['archived word'],
        files: [
          {
            id: 910701,
            name: 'archived_lora.safetensors',
            sizeKB: 2048,
            type: 'Model',
            sha256,
            mirrors: [{ filename: 'archived_lora.safetensors', url: 'https://mirror.example/a', deletedAt: null }],
          },
        ],
      },
    },
  };

  it('imports what the archive knows of a SHA-256 Civitai answers 404 for, marked as from the archive', async () => {
    replay.script(`/api/v1/model-versions/by-hash/${sha256.toUpperCase()}`, { status: 404 });
    replay.script(`/archive/api/sha256/${sha256}`, { status: 200, body: archived });
    const result = dataOf(
      await server.graphql<any>(
        `mutation($h: String!) { syncByHash(hash: $h, force: true) { status fromArchive model { civitaiId name
          versions(first: 1) { nodes { name baseModel triggerWords { word } files { fileName hashes { sha256 } } } } } } }`,
        { h: sha256 },
      ),
    ).syncByHash;
    expect(result).toMatchObject({
      status: 'CREATED',
      fromArchive: true,
      model: { civitaiId: 9107, name: 'Archived LoRA' },
    });
    expect(result.model.versions.nodes[0]).toEqual({
      name: 'v2',
      baseModel: 'SD15',
      triggerWords: [{ word: 'archived word' }],
      files: [{ fileName: 'archived_lora.safetensors', hashes: { sha256: sha256.toUpperCase() } }],
    });
    // The archive never gets the Civitai key.
    expect(replay.requestsFor(`/archive/api/sha256/${sha256}`).at(-1)!.authorization).toBeUndefined();
    const model = await historyOf(9107);
    expect(model.payloads).toEqual([
      expect.objectContaining({
        origin: 'archive',
        source: `CivArchive sha256 ${sha256.toUpperCase()}`,
        kind: 'version',
      }),
    ]);
    expect(model.history.edges[0].node).toMatchObject({
      source: 'sync',
      detail: `CivArchive sha256 ${sha256.toUpperCase()}`,
    });
  });

  it("fills from the archive only what the catalog lacks: Civitai's own data stays", async () => {
    replay.script('/api/v1/models/9125', { status: 200, body: modelPayload(9125) });
    await sync(9125);
    const own = '9125'.padStart(64, 'a');
    const before = await historyOf(9125);
    const fileRow = () =>
      rows(sql`SELECT "FileName", "DownloadUrl", "SizeKB" FROM "ModelFiles" WHERE "CivitaiId" = ${9125 * 100 + 1}`);
    const fileBefore = await fileRow();
    replay.script(`/api/v1/model-versions/by-hash/${own.toUpperCase()}`, { status: 404 });
    replay.script(`/archive/api/sha256/${own}`, {
      status: 200,
      body: {
        model: {
          name: 'Renamed by the archive',
          type: 'LORA',
          description: '<p>Another description</p>',
          tags: ['archived tag'],
          version: {
            id: 9125 * 10 + 1,
            modelId: 9125,
            name: 'v1.0 (archived)',
            trigger: ['other word'],
            files: [
              {
                id: 9125 * 100 + 1,
                name: 'renamed.safetensors',
                sizeKB: 1,
                sha256: own,
                mirrors: [{ filename: 'renamed.safetensors', url: 'https://mirror.example/b', deletedAt: null }],
              },
            ],
          },
        },
      },
    });
    const result = dataOf(
      await server.graphql<any>(`mutation($h: String!) { syncByHash(hash: $h, force: true) { status fromArchive } }`, {
        h: own,
      }),
    ).syncByHash;
    expect(result.fromArchive).toBe(true);
    const after = await historyOf(9125);
    expect(after.name).toBe(before.name);
    expect(after.description).toBe(before.description);
    expect(after.tags).toEqual(before.tags);
    expect(after.versions.nodes[0].name).toBe('v1.0');
    expect(after.versions.nodes[0].triggerWords).toEqual(before.versions.nodes[0].triggerWords);
    expect(await fileRow()).toEqual(fileBefore);
  });

  it('does not take an archive answer about another file', async () => {
    const asked = 'feed'.padEnd(64, '1');
    replay.script(`/api/v1/model-versions/by-hash/${asked.toUpperCase()}`, { status: 404 });
    replay.script(`/archive/api/sha256/${asked}`, { status: 200, body: archived });
    const models = async () => (await rows(sql`SELECT COUNT(*) AS n FROM "Models"`))[0].n;
    const count = await models();
    const result = dataOf(
      await server.graphql<any>(`mutation($h: String!) { syncByHash(hash: $h, force: true) { status } }`, {
        h: asked,
      }),
    ).syncByHash;
    expect(result.status).toBe('NOT_ON_CIVITAI');
    expect(await models()).toBe(count);
  });

  it('answers NOT_ON_CIVITAI when the archive does not know the hash or answers in a shape it cannot read', async () => {
    const unknown = 'abad1dea'.padEnd(64, '0');
    replay.script(`/api/v1/model-versions/by-hash/${unknown.toUpperCase()}`, { status: 404 });
    replay.script(
      `/archive/api/sha256/${unknown}`,
      { status: 404 },
      { status: 200, body: { files: [{ source: 'x' }] } },
    );
    for (let i = 0; i < 2; i++) {
      const result = dataOf(
        await server.graphql<any>(
          `mutation($h: String!) { syncByHash(hash: $h, force: true) { status fromArchive } }`,
          {
            h: unknown,
          },
        ),
      ).syncByHash;
      expect(result).toEqual({ status: 'NOT_ON_CIVITAI', fromArchive: false });
    }
  });
});

describe('review findings', () => {
  it('archives the version payload a version sync reads, beside its model payload', async () => {
    const model = modelPayload(9108);
    const { modelVersions, ...rest } = model;
    const versionPayload = { ...modelVersions[0], model: { name: rest.name, type: rest.type } };
    replay.script(`/api/v1/model-versions/${9108 * 10 + 1}`, { status: 200, body: versionPayload });
    replay.script('/api/v1/models/9108', { status: 200, body: model });
    await server.graphql(`mutation($id: Int!) { syncCivitaiVersion(civitaiId: $id, force: true) { status } }`, {
      id: 9108 * 10 + 1,
    });
    const kinds = (await historyOf(9108)).payloads.map((p: any) => `${p.origin}:${p.kind}`).sort();
    expect(kinds).toEqual(['civitai:model', 'civitai:version']);
  });

  it('asks Civitai again about a removed model without force, and lifts the mark when it is back', async () => {
    replay.script('/api/v1/models/9109', { status: 200, body: modelPayload(9109) }, { status: 404 });
    await sync(9109);
    expect((await sync(9109, false)).status).toBe('REMOVED_FROM_CIVITAI');
    const again = dataOf(
      await server.graphql<any>(
        `mutation { syncCivitaiModel(civitaiId: 9109) { status remembered model { civitaiId } } }`,
      ),
    ).syncCivitaiModel;
    expect(again).toEqual({ status: 'REMOVED_FROM_CIVITAI', remembered: false, model: { civitaiId: 9109 } });
    replay.script('/api/v1/models/9109', { status: 200, body: modelPayload(9109) });
    expect((await sync(9109, false)).status).toBe('UPDATED');
    expect((await historyOf(9109)).removedFromCivitaiAt).toBeNull();
  });

  it('refuses oversized payload pages and forged history cursors with codes', async () => {
    const tooMany = await server.graphql(`{ model(civitaiId: 9101) { payloads(first: 1000) { kind } } }`);
    expect(firstErrorCode(tooMany)).toBe('LIMIT_EXCEEDED');
    for (const forged of [
      ['history', 'a'],
      ['history', 1.5],
      ['history', -3],
    ]) {
      const cursor = Buffer.from(`dn1:${JSON.stringify(forged)}`).toString('base64url');
      const response = await server.graphql(
        `query($c: String) { model(civitaiId: 9101) { history(first: 1, after: $c) { totalCount } } }`,
        { c: cursor },
      );
      expect(firstErrorCode(response), JSON.stringify(forged)).toBe('BAD_USER_INPUT');
    }
  });

  it('exports only into a folder: a file or a missing parent is a one-line coded error', async () => {
    const base = tempDir('dn-payloads-bad-');
    const file = path.join(base, 'plain.txt');
    writeFileSync(file, 'x');
    for (const target of [file, path.join(base, 'missing', 'deeper')]) {
      const run = await cli(['payloads', 'export', '9101', target, '--civitai', ...catalogArgs]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^error \[BAD_USER_INPUT\]/);
    }
  });
});

describe('preparing a payload for the archive', () => {
  it('keeps the JSON exactly, long strings (cut surrogate pairs included) too, and hashes it without statistics', async () => {
    const long = `${'a'.repeat(256 * 1024 - 1)}😀${'é"\\\n'.repeat(100_000)}`;
    const payload = { id: 1, description: long, stats: { downloadCount: 5 }, list: [1, 'two', null, { x: true }] };
    const prepared = await preparePayload(payload, 'model', 'file', 'test');
    const text = gunzipSync(prepared.body).toString('utf8');
    expect(JSON.parse(text)).toEqual(payload);
    expect(prepared.byteSize).toBe(Buffer.byteLength(text));
    const recount = await preparePayload({ ...payload, stats: { downloadCount: 6 } }, 'model', 'file', 'test');
    expect(recount.contentHash).toBe(prepared.contentHash);
    const edited = await preparePayload({ ...payload, id: 2 }, 'model', 'file', 'test');
    expect(edited.contentHash).not.toBe(prepared.contentHash);
  });

  it('hashes a small payload (prepared in-line) and a large one (on the worker) by the same rule', async () => {
    const statsFree = (value: unknown) =>
      createHash('sha256')
        .update(JSON.stringify(value, (key, item) => (key === 'stats' ? undefined : item)))
        .digest('hex');
    for (const length of [10, 300 * 1024]) {
      const payload = {
        id: 7,
        stats: { downloadCount: 1 },
        modelVersions: [{ id: 8, description: 'ü'.repeat(length), stats: { rating: 4.5 } }],
      };
      const prepared = await preparePayload(payload, 'model', 'file', 'test');
      expect(prepared.contentHash, `${length} characters`).toBe(statsFree(payload));
      expect(JSON.parse(gunzipSync(prepared.body).toString('utf8'))).toEqual(payload);
    }
  });
});
