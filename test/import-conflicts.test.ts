/**
 * Civitai ids that contradict each other (hardening round 2, finding 10): inside one payload, or between a payload
 * and the catalog. The items involved fail with a message that names the ids; nothing is re-parented, nothing of
 * them is written, and the rest of the payload still imports.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CatalogDatabase } from '../src/db/catalog-database.ts';
import { importPayload } from '../src/civitai/batch-import.ts';
import { emptyCatalog } from './helpers/catalog.ts';
import { type CatalogHandle, sql } from './helpers/catalog-handle.ts';

let db: CatalogDatabase;
/** The catalog's database, read directly. */
let rows: CatalogHandle;

beforeAll(async () => {
  ({ db, handle: rows } = await emptyCatalog());
});

const file = (id: number) => ({
  id,
  name: `file_${id}.safetensors`,
  type: 'Model',
  primary: true,
  sizeKB: 10,
  hashes: {},
});
const version = (id: number, files: object[] = []) => ({
  id,
  name: `v${id}`,
  baseModel: 'SDXL 1.0',
  files,
  images: [],
});
const model = (id: number, versions: object[]) => ({ id, name: `Model ${id}`, type: 'LORA', modelVersions: versions });

const modelOfVersion = (civitaiVersionId: number) =>
  rows.value(
    sql`SELECT m."CivitaiId" FROM "ModelVersions" v JOIN "Models" m ON m."Id" = v."ModelId" WHERE v."CivitaiId" = ${civitaiVersionId}`,
  );

describe('inside one payload', () => {
  it('two models of a list sharing a version id both fail; the others import', async () => {
    const summary = await importPayload(
      db,
      { items: [model(1, [version(10)]), model(2, [version(10)]), model(3, [version(30)])] },
      'list',
    );
    expect(summary).toMatchObject({ created: 1, failed: 2 });
    expect(summary.failures.map((f) => f.civitaiId)).toEqual([1, 2]);
    for (const failure of summary.failures) expect(failure.message).toMatch(/version 10 .*models 1 and 2/);
    expect(await modelOfVersion(10)).toBeUndefined();
    expect(await modelOfVersion(30)).toBe(3);
  });

  it('one file id in two versions fails the model, writing nothing of it', async () => {
    const before = await rows.dump();
    const summary = await importPayload(db, model(4, [version(40, [file(400)]), version(41, [file(400)])]), 'model');
    expect(summary).toMatchObject({ created: 0, failed: 1 });
    expect(summary.failures[0]!.message).toMatch(/file 400 .*versions 40 and 41/);
    expect(await rows.dump()).toEqual(before);
  });
});

describe('ids that are not 32-bit integers', () => {
  it('fail their model with a coded failure whose civitaiId is null, never an internal error', async () => {
    for (const bad of [900_003.5, 2 ** 31, 2 ** 40, 1e300]) {
      const summary = await importPayload(db, { items: [model(bad as number, [version(bad as number)])] }, 'odd-ids');
      expect(summary.outcomes).toEqual([]);
      expect(summary.failures).toHaveLength(1);
      expect(summary.failures[0]).toMatchObject({ civitaiId: null });
      expect(summary.failures[0]!.message).toMatch(/\$\.items\[0\]/);
    }
  });
});

describe('against the catalog', () => {
  it('a version that the catalog holds under another model is not moved', async () => {
    await importPayload(db, model(5, [version(50, [file(500)])]), 'first');
    const summary = await importPayload(db, model(6, [version(50)]), 'second');
    expect(summary).toMatchObject({ failed: 1 });
    expect(summary.failures[0]).toMatchObject({ civitaiId: 6, path: '$.modelVersions[0].id' });
    expect(summary.failures[0]!.message).toMatch(/version 50 belongs to model 5/);
    expect(await modelOfVersion(50)).toBe(5);
  });

  it('a file id that the catalog holds under another version is not copied', async () => {
    const summary = await importPayload(db, model(7, [version(70, [file(500)])]), 'third');
    expect(summary).toMatchObject({ failed: 1 });
    expect(summary.failures[0]!.message).toMatch(/file 500 belongs to version 50/);
    expect(await rows.value(sql`SELECT COUNT(*) FROM "ModelFiles" WHERE "CivitaiId" = 500`)).toBe(1);
  });

  it('re-importing the same payloads is still fine', async () => {
    const summary = await importPayload(db, model(5, [version(50, [file(500)])]), 'again');
    expect(summary).toMatchObject({ unchanged: 1, failed: 0 });
  });
});
